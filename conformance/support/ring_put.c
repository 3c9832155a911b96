/* SPDX-License-Identifier: MIT */
/* One ring message through any of the three write paths (support.h). */
#include <string.h>
#include <sys/uio.h>

#include "shmkit/ring.h"
#include "support.h"

int t_ring_put(struct shmk_ring_writer *w, int how, const void *buf, size_t n, int parts)
{
	const uint8_t *b = buf;

	if (how == 0)
		return shmk_ring_write(w, buf, n);
	if (how == 1) {
		struct iovec v[SHMK_RING_MAX_IOV];
		int cnt = parts < 1 ? 1 : parts > SHMK_RING_MAX_IOV ? SHMK_RING_MAX_IOV : parts;
		size_t off = 0;
		/* each piece half of what is left, the last one the rest */
		for (int s = 0; s < cnt; s++) {
			size_t part = s == cnt - 1 ? n - off : (n - off) / 2;
			v[s].iov_base = (void *)(b + off);
			v[s].iov_len = part;
			off += part;
		}
		return shmk_ring_writev(w, v, cnt);
	}
	void *p;
	int rc = shmk_ring_reserve(w, n, &p);
	if (!rc) {
		memcpy(p, buf, n);
		rc = shmk_ring_commit(w);
	}
	return rc;
}
