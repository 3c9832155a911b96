/* SPDX-License-Identifier: MIT */
/*
 * Helpers every fuzz target shares (declared here, defined in common.c,
 * which fuzz.mk links into every target like replay.c and peer.c):
 *
 *   - fz_init(): once per process, a private mount namespace with its own
 *     tmpfs on /dev/shm, FZ_DIR inside it, so fuzzed names, sizes and flinks
 *     can never touch another process's objects, tmpfs caps every size and
 *     nothing is left on the host;
 *     and the injected liveness provider (shmk_liveness_hook);
 *   - a byte cursor over the input (fz_u8 .. fz_u64; zeros once exhausted);
 *   - boundary values (0, 1, cap-1, cap, cap+1, 2^k-1/2^k/2^k+1, MAX);
 *   - fz_rc(): the contract of every failure: a named code;
 *   - the structure-aware mutator core (libFuzzer builds only).
 */
#ifndef SHMK_FUZZ_COMMON_H
#define SHMK_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"
#include "shmkit/error.h"

/* Inside the private /dev/shm when fz_init() could make one; otherwise a
 * directory of the real /dev/shm that the last process out removes. */
#define FZ_DIR "/dev/shm/shmk-fuzz"

/* ------------------------------------------------------------ liveness */

/* Tokens the current input declared dead ("kill a peer"); everything else
 * is alive, so a token read from hostile bytes names a live process unless
 * the input says otherwise (fz_garbage_dead). */
#define FZ_MAX_DEAD 16

int fz_liveness(uint64_t tok);

/* Tokens the target never handed out count as dead (on) or alive (off). */
void fz_set_garbage_dead(bool on);

void fz_live_reset(void);

void fz_kill(uint64_t tok);

void fz_revive(uint64_t tok);

/* ------------------------------------------------------------ isolation */

void fz_init(void);
/* /dev/shm and FZ_DIR are our own tmpfs (fz_init succeeded in isolating). */
bool fz_isolated(void);

/* ------------------------------------------------------------ input cursor */

struct fz_in {
	const uint8_t *p;
	size_t n;
};

uint64_t fz_bytes(struct fz_in *in, size_t w);
#define fz_u8(in) ((uint8_t)fz_bytes((in), 1))
#define fz_u16(in) ((uint16_t)fz_bytes((in), 2))
#define fz_u32(in) ((uint32_t)fz_bytes((in), 4))
#define fz_u64(in) fz_bytes((in), 8)

/* Copies up to n bytes of input into out, zero-filling the rest. */
void fz_take(struct fz_in *in, void *out, size_t n);

/* A boundary value around cap chosen by sel (what the mutator also uses). */
uint64_t fz_boundary(uint8_t sel, uint64_t cap, uint64_t other);

/* The contract of every call: success, or a code with a name. */
#define fz_rc(rc) FUZZ_ASSERT((rc) >= 0 || shmk_errname(rc) != NULL)

/* ------------------------------------------------------------ persistent file */

/* Rewrites the file at path to exactly `size` bytes of which the first
 * `n` are bytes (the rest zero), mode 0600, one link. */
int fz_write_file(const char *path, const void *bytes, size_t n, uint64_t size);

/* ------------------------------------------------------------ ring */

struct shmk_ring;
/* A real ring of `cap` bytes (*ring) under FZ-private /dev/shm/shmk-fuzz-<name>-<pid>,
 * already unlinked, and the writable mapping of its whole file (the hostile
 * writer's view: header first, then the data one page on).  NULL on failure. */
void *fz_ring_raw(const char *name, uint64_t cap, struct shmk_ring **ring);

/* ------------------------------------------------------------ seeds */

/* A seed input from a script of `width` bytes (zero-padded): the script
 * without its trailing zeros, rounded up to `head` bytes plus whole 4-byte
 * steps, copied to out.  Its length, 0 when max is shorter than width. */
size_t fz_script_seed(const uint8_t *script, size_t width, size_t head, uint8_t *out, size_t max);

/* ------------------------------------------------------------ mutator core */

/* One header field the structure-aware mutator may set. */
struct fz_field {
	uint32_t off;	/* byte offset in the input */
	uint8_t width;	/* 1, 2, 4 or 8 */
	uint64_t cap;	/* the capacity it is compared with (boundary centre) */
	int32_t pair;	/* index of a field it is ordered with (head/tail), or -1 */
};

#ifdef SHMK_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

/*
 * Half the time libFuzzer's own mutation; otherwise start from a valid
 * layout (tmpl, when the input is shorter than it or one time in 16) and
 * set ONE field to a boundary value, so most inputs pass the magic check
 * and reach the field checks behind it.
 */
size_t fz_mutate_fields(uint8_t *data, size_t size, size_t max, unsigned seed,
				      const struct fz_field *f, size_t nf, const uint8_t *tmpl,
				      size_t tmpl_len);
#endif

#endif
