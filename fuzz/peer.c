/* SPDX-License-Identifier: MIT */
/* The hostile-peer model behind SHMK_LOAD_* in fuzz builds; see fuzz.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <stdint.h>

#include "fuzz.h"

static const uint8_t *peer_script;
static size_t peer_len, peer_pos, peer_writes;

void shmk_fuzz_peer_start(const uint8_t *script, size_t len)
{
	peer_script = script;
	peer_len = len;
	peer_pos = 0;
	peer_writes = 0;
}

void shmk_fuzz_peer_stop(void)
{
	peer_script = NULL;
	peer_len = peer_pos = 0;
}

size_t shmk_fuzz_peer_writes(void)
{
	return peer_writes;
}

/* Called by SHMK_LOAD_* before every shared load (internal.h). */
void shmk_fuzz_peer_before_load(volatile void *p, size_t n)
{
	if (!peer_script || peer_pos >= peer_len)
		return;
	uint8_t ctl = peer_script[peer_pos++];
	if (!(ctl & 0x80) || peer_len - peer_pos < n)
		return;
	/* The peer's store: same width as the load, so never torn.  Our own
	 * view may be read-only (a reader's ring mapping) while the peer's is
	 * writable: process_vm_writev honours our protection and fails instead
	 * of faulting; then write through a briefly writable view of the page. */
	struct iovec src = { (void *)(peer_script + peer_pos), n }, dst = { (void *)p, n };
	if (process_vm_writev(getpid(), &src, 1, &dst, 1, 0) != (ssize_t)n) {
		long ps = sysconf(_SC_PAGESIZE);
		uintptr_t a = (uintptr_t)p & ~(uintptr_t)(ps - 1);
		size_t span = ((uintptr_t)p + n - a + (size_t)ps - 1) & ~(size_t)(ps - 1);
		if (mprotect((void *)a, span, PROT_READ | PROT_WRITE))
			return; /* the peer cannot write this either (read-only file) */
		memcpy((void *)p, peer_script + peer_pos, n);
		mprotect((void *)a, span, PROT_READ);
	}
	peer_pos += n;
	peer_writes++;
}
