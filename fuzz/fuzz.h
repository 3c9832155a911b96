/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares.  A target defines LLVMFuzzerTestOneInput
 * and the NULL-terminated list of clauses it verifies (shmk_fuzz_clauses);
 * the same source builds two ways:
 *   - clang-14 + libFuzzer (make fuzz), and
 *   - gcc + ASan/UBSan with replay.c's main (make check replays
 *     fuzz/corpus/<target>/ and fuzz/regress/<target>/ and, when every input
 *     passes, writes evidence for shmk_fuzz_clauses).
 * Library objects in both builds have SHMK_FUZZ_PEER: every SHMK_LOAD_* asks
 * peer.c whether the hostile peer wrote the field since the last load.
 */
#ifndef SHMK_FUZZ_H
#define SHMK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const char *const shmk_fuzz_clauses[];

/* Optional (weak): the target's seed inputs, built with the library itself
 * (valid layouts from real runs).  Writes seed i into out[0..max) and
 * returns its length, 0 past the last.  `build/fuzz-replay/<t> --write-seeds`
 * stores them as fuzz/corpus/<t>/seed-NN for review and commit. */
size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max) __attribute__((weak));

/* Hostile peer: while started, each shared load consumes one control byte
 * of `script`; a byte with the top bit set makes the peer overwrite the
 * loaded field with the next bytes of the script (as many as the field is
 * wide) before the load sees it.  Out of script: the peer stays quiet. */
void shmk_fuzz_peer_start(const uint8_t *script, size_t len);
void shmk_fuzz_peer_stop(void);
size_t shmk_fuzz_peer_writes(void);

/* A broken contract is a crash the fuzzer reports (the harness, never the
 * library, aborts). */
#define FUZZ_ASSERT(c)                                                              \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__,   \
				__LINE__, #c);                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

#endif
