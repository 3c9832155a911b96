/* SPDX-License-Identifier: MIT */
/*
 * wire.h - every byte shmkit keeps in shared memory.
 *
 * Both peers, the fuzzers and `shmkit inspect` must agree on these layouts,
 * so they are public, fixed-width, host-endian, and pinned by _Static_assert
 * on every size and offset.  Fields that a peer writes after initialisation
 * are _Atomic; each module's source names the access every store pairs
 * with.  Readers never trust a value from here: they load it once through
 * SHMK_LOAD_* and bound it before use.
 *
 * One section per module; each module owns its section.
 */
#ifndef SHMKIT_WIRE_H
#define SHMKIT_WIRE_H

#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
#include <atomic>
#define SHMK_ATOMIC(t) std::atomic<t>
#else
#include <stdatomic.h>
#define SHMK_ATOMIC(t) _Atomic t
#endif

#define SHMK_WIRE_ASSERT(cond) _Static_assert(cond, #cond)

/* ------------------------------------------------------------------ common
 * A process token: (start_time_ticks << 22) | pid, 0 = nobody.  One u64 so
 * a role can be claimed with one CAS; see internal.h for the liveness rule.
 */
typedef uint64_t shmk_token_t;

/* ------------------------------------------------------------------ events */
/* (section owned by events.c) */

/* ------------------------------------------------------------------ ring */
/* (section owned by ring.c) */

/* ------------------------------------------------------------------ slots */
/* (section owned by slots.c) */

#endif
