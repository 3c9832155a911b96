/* SPDX-License-Identifier: MIT */
/* The hostile-peer model behind SHMK_LOAD_* in fuzz builds; see fuzz.h. */
#include <string.h>

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
	/* The peer's store: same width as the load, so never torn. */
	memcpy((void *)p, peer_script + peer_pos, n);
	peer_pos += n;
	peer_writes++;
}
