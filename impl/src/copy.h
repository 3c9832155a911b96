/* SPDX-License-Identifier: MIT */
/*
 * copy.h - large payload copies into and out of memory that a peer process
 * on another CPU reads or writes (copy.c): the ring's records.
 */
#ifndef SHMK_COPY_H
#define SHMK_COPY_H

#include <stddef.h>

/* r[impl common.abi.exports] internal: not in libshmkit.so's dynamic table */
#pragma GCC visibility push(hidden)

/* From this many bytes on a payload takes the copies below; shorter ones
 * are the caller's (words or memcpy).  Measured at 1 and 4 KiB: copy.c. */
#define SHMK_COPY_LARGE 2048

/* n bytes from a private buffer into shared lines the peer last read. */
void shmk__copy_in(void *restrict dst, const void *restrict src, size_t n);
/* n bytes from shared lines the peer wrote into a private buffer. */
void shmk__copy_out(void *restrict dst, const void *restrict src, size_t n);

#pragma GCC visibility pop

#endif
