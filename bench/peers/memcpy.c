/* SPDX-License-Identifier: MIT */
/*
 * peers/memcpy.c - memcpy of S bytes within one process (warm caches for
 * small S; 1 MiB exceeds L2 on most machines): the cost any copy-in API
 * pays on top of its synchronisation.
 */
#include <stdlib.h>

#include "../common.h"
#include "peers.h"

static void bm_memcpy(gbs_state *st, void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	unsigned char *src = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
	unsigned char *dst = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
	if (!src || !dst) {
		gbs_skip_with_error(st, "alloc");
		free(src);
		free(dst);
		return;
	}
	memset(src, 0x5a, n);
	memset(dst, 0, n);
	while (gbs_keep_running(st)) {
		memcpy(dst, src, n);
		/* keep the copy: the compiler may not drop it */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	gbs_set_items_processed(st, gbs_iterations(st));
	gbs_set_bytes_processed(st, gbs_iterations(st) * (int64_t)n);
	free(src);
	free(dst);
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = {8, 64, 256, 4096, 65536, 1048576};
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
		gbs_register(&(struct gbs_bench){
			.name = bc_name("peers/memcpy/%zu/single", sz[i]), .fn = bm_memcpy,
			.arg = (void *)(uintptr_t)sz[i], .module = "peers", .pattern = "memcpy",
			.param = (long)sz[i], .bytes = (long)sz[i], .placement = "single",
			.mode = "none", .metric = "bytes_per_second",
			.floor = bc_name("peers/memcpy/%zu/single", sz[i]),
			.note = "floor of a copy within one process"});
}
