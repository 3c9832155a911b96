/* SPDX-License-Identifier: MIT */
/*
 * A deliberately broken validator, built only to prove that the hostile-peer
 * model finds double fetches: it bounds `idx` with one load and indexes with
 * a second.  conformance/checks/fuzz-planted.sh requires libFuzzer to crash
 * it within 60 s.  Never linked into anything else.
 */
#include <string.h>

#include "fuzz.h"
#include "internal.h"

struct planted_hdr {
	uint32_t idx;
	uint8_t table[12];
};

const char *const shmk_fuzz_clauses[] = { NULL };

static int planted_lookup(struct planted_hdr *h, uint8_t *out)
{
	if (SHMK_LOAD_U32(&h->idx) >= sizeof(h->table))
		return -1;
	*out = h->table[SHMK_LOAD_U32(&h->idx)];	/* the planted second fetch */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < sizeof(struct planted_hdr))
		return 0;
	/* exactly sized, so the wild index is an ASan heap overflow */
	struct planted_hdr *h = malloc(sizeof(*h));
	uint8_t v;

	memcpy(h, data, sizeof(*h));
	shmk_fuzz_peer_start(data + sizeof(*h), size - sizeof(*h));
	planted_lookup(h, &v);
	shmk_fuzz_peer_stop();
	free(h);
	return 0;
}
