/* SPDX-License-Identifier: MIT */
/*
 * util.h - the two pieces of shmkit's machinery a tool needs besides the
 * module headers (the `shmkit` command uses them): process tokens, the
 * liveness stamp every role and owner word in wire.h holds, and the safe
 * open every module uses for paths.
 */
#ifndef SHMKIT_UTIL_H
#define SHMKIT_UTIL_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A token names one process incarnation in one u64:
 *     token = (start_time_ticks << 22) | pid        (pid < 2^22 = pid_max)
 * start_time is field 22 of /proc/<pid>/stat.  0 is never a valid token.
 * Tokens are only meaningful inside one PID namespace.
 */
#define SHMK_TOKEN_PID_BITS 22
#define SHMK_TOKEN_PID(t) ((uint32_t)((t) & ((1u << SHMK_TOKEN_PID_BITS) - 1)))

/* 1 when tok's process lives (same start time, state neither Z nor X), 0
 * when it is gone, a zombie or its pid was reused; never negative. */
int shmk_token_alive(uint64_t tok);

/* open(2) with no symbolic link at any component (openat2
 * RESOLVE_NO_SYMLINKS; SHMK_EUNSAFE, detail in shmk_errdetail()), always
 * O_NOFOLLOW|O_CLOEXEC; a directory opened without O_DIRECTORY is
 * SHMK_EUNSAFE too.  0 and *fdp, or a negative code. */
int shmk_open_path(const char *path, int flags, mode_t mode, int *fdp);

#ifdef __cplusplus
}
#endif

#endif
