/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what every shmkit module shares and no user sees:
 *
 *   - SHMK_LOAD_*: the one way to read a field another process can write;
 *   - shmk_sys_*: syscall wrappers returning -errno, with the fault hook;
 *   - shmk_open_path / shmk_check_fd: the safe-path rules (region.c);
 *   - process tokens: liveness that zombies and PID reuse cannot fool;
 *   - futex wait/wake on a shared 32-bit word;
 *   - shmk_prefetch_w and the CPU features the data paths ask for;
 *   - time, environment knobs, crash points, error detail.
 *
 * Nothing here prints, aborts or exits.
 */
#ifndef SHMK_INTERNAL_H
#define SHMK_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "shmkit/error.h"
#include "shmkit/util.h" /* shmk_token_alive, shmk_open_path: public for tools */

/* r[impl common.abi.exports] Nothing declared here is API: hide it from
 * libshmkit.so's dynamic symbol table (static links, the tool and the tests
 * still see it). */
#pragma GCC visibility push(hidden)

#define SHMK_CACHELINE 64

#define SHMK_LIKELY(x) __builtin_expect(!!(x), 1)
#define SHMK_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ------------------------------------------------------------------------
 * Shared loads.
 *
 * Every load of a field that another process can write goes through one of
 * these.  Read it ONCE into a local; validate and use the copy.  The plain
 * forms are relaxed atomic loads (a single, untorn read the compiler cannot
 * repeat); the _ACQ forms are acquire loads and the caller's comment names
 * the release store they pair with.
 *
 * In fuzz builds (SHMK_FUZZ_PEER) each load first asks the hostile-peer
 * model whether the peer wrote the field since the last load, and lets it
 * overwrite the bytes: a validator that checks a field and re-reads it then
 * sees a different value and is caught.
 * ---------------------------------------------------------------------- */
/* r[impl fuzz.peer.double-fetch] */
#ifdef SHMK_FUZZ_PEER
void shmk_fuzz_peer_before_load(volatile void *p, size_t n);
#define SHMK__PEER(p, n) shmk_fuzz_peer_before_load((volatile void *)(p), (n))
#else
#define SHMK__PEER(p, n) ((void)0)
#endif

static inline uint16_t shmk__ld16(const volatile void *p, memory_order mo)
{
	SHMK__PEER(p, 2);
	return atomic_load_explicit((const volatile _Atomic uint16_t *)p, mo);
}

static inline uint32_t shmk__ld32(const volatile void *p, memory_order mo)
{
	SHMK__PEER(p, 4);
	return atomic_load_explicit((const volatile _Atomic uint32_t *)p, mo);
}

static inline uint64_t shmk__ld64(const volatile void *p, memory_order mo)
{
	SHMK__PEER(p, 8);
	return atomic_load_explicit((const volatile _Atomic uint64_t *)p, mo);
}

#define SHMK_LOAD_U16(p) shmk__ld16((p), memory_order_relaxed)
#define SHMK_LOAD_U32(p) shmk__ld32((p), memory_order_relaxed)
#define SHMK_LOAD_U64(p) shmk__ld64((p), memory_order_relaxed)
#define SHMK_LOAD_ACQ_U32(p) shmk__ld32((p), memory_order_acquire)
#define SHMK_LOAD_ACQ_U64(p) shmk__ld64((p), memory_order_acquire)

#if defined(__x86_64__)
/* Four adjacent 8-byte fields in one 32-byte load (AVX2 callers only, in a
 * target("avx2") function): each field is read once, as one element of the
 * one load, and the peer model sees the 32 bytes first.  The asm keeps the
 * compiler from splitting or repeating the read; vmovdqu needs no 32-byte
 * alignment (vmovdqa faults without it) and costs the same on aligned
 * data.  Like the relaxed forms, no ordering.  Not promised untorn: the
 * SDM (vol. 3 8.1.1) lets a load wider than 8 bytes be split into several
 * accesses, so a field changing meanwhile may read as a mix of its old and
 * new bytes; a caller must be right for any such value (slots_data.c's
 * registry scan only asks zero / LEFT / other, and a mix is "other", as
 * the old or new value of a changing entry would be). */
typedef long long shmk_u64x4 __attribute__((vector_size(32)));
__attribute__((target("avx2"))) static inline shmk_u64x4 shmk__ld64x4(const volatile void *p)
{
	shmk_u64x4 v;

	SHMK__PEER(p, 32);
	__asm__ volatile("vmovdqu %1, %0"
			 : "=x"(v)
			 : "m"(*(const volatile struct { uint64_t q[4]; } *)p));
	return v;
}
#define SHMK_LOAD_U64X4(p) shmk__ld64x4(p)
#endif

/* Nonzero when the CPU has PREFETCHW, enhanced rep movsb (ERMS), and AVX2
 * that the OS runs: common.c reads CPUID once, at load time. */
extern int shmk__prefetchw;
extern int shmk__erms;
extern int shmk__avx2;

/* Starts fetching p's line for writing, without waiting for it: the line
 * arrives owned, so a later store or locked RMW on it costs no second
 * transfer (an upgrade of a shared copy).  gcc lowers
 * __builtin_prefetch(p, 1) to a read prefetch (a shared copy) unless the
 * whole build targets PRFCHW, so x86-64 asks for PREFETCHW itself where
 * CPUID has it; prefetches are hints and change no result. */
static inline void shmk_prefetch_w(const void *p)
{
#if defined(__x86_64__)
	if (shmk__prefetchw) {
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
		return;
	}
#endif
	__builtin_prefetch(p, 1, 3);
}

/* ------------------------------------------------------------------------
 * Error detail (error.c).  shmk_fail() records a one-line reason, readable
 * through shmk_errdetail(), and returns rc: `return shmk_fail(SHMK_EUNSAFE,
 * "%s: owned by uid %u", path, uid);`
 * ---------------------------------------------------------------------- */
int shmk_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shmk_clear_detail(void);
/* r[impl common.error.detail] Every failing return sets a detail: a
 * specific one through shmk_fail, or at least the site and the code through
 * SHMK_FAIL(rc) (`return SHMK_FAIL(-EINVAL);`; "shmk_ring_read: Invalid
 * argument (EINVAL)").  Cheap enough for hot failure paths (EEMPTY, EFULL):
 * two thread-local stores, formatted only when shmk_errdetail() is read.
 * conformance/checks/fail-detail.sh refuses a bare failure return. */
int shmk_fail_at(int rc, const char *site);
/* Where the last SHMK_FAIL happened (error.c formats it on demand).
 * initial-exec: a %fs-relative store.  The default model of a -fPIC
 * library (global/local-dynamic) costs a __tls_get_addr call, or where the
 * linker relaxes it, a call's saved registers - on every empty poll of a
 * spinning receiver.  The price: one initial-exec reference flags the
 * whole .so STATIC_TLS, so all of its thread-locals (288 bytes today: the
 * 256-byte detail text, this pair, the ring's thread token) sit in the
 * static TLS block; a dlopen() takes them from glibc's surplus (about 1.6
 * KiB shared by every such library), so a new _Thread_local here costs
 * every program that dlopens shmkit. */
struct shmk_detail_at {
	const char *site;
	int rc;
};
extern _Thread_local struct shmk_detail_at shmk__detail_at
	__attribute__((tls_model("initial-exec")));
/* Inline so the compiler still sees the constant code that is returned
 * (callers' "set on success only" out-parameters stay provably set), and
 * the two stores cost no call. */
static inline int shmk__fail_here(int rc, const char *site)
{
	shmk__detail_at.site = site;
	shmk__detail_at.rc = rc;
	return rc;
}
#define SHMK_FAIL(rc) shmk__fail_here((rc), __func__)

/* ------------------------------------------------------------------------
 * Syscall wrappers.  Each returns 0 / a non-negative value, or -errno.
 * They are the fault-injection sites: in test builds (SHMK_TEST_BUILD)
 * SHMK_FAULT="site:N[,site:N...]" (or shmk_fault_set()) makes the Nth call
 * of that site fail.  Sites: open, shm_open, ftruncate, fallocate, mmap,
 * mremap, fstat, futex, membarrier, atfork.
 * ---------------------------------------------------------------------- */
int shmk_sys_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);
int shmk_sys_shm_open(const char *name, int flags, mode_t mode);
int shmk_sys_ftruncate(int fd, off_t len);
/* 0 done, 1 filesystem lacks fallocate (nothing done), or -errno. */
int shmk_sys_fallocate_or_unsupported(int fd, off_t off, off_t len);
int shmk_sys_fstat(int fd, struct stat *st);
/* mmap/mremap: 0 and *out set, or -errno (never MAP_FAILED). */
int shmk_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **out);
int shmk_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
		    void **out);
/* membarrier(2): its result (QUERY: the command mask) or -errno. */
int shmk_sys_membarrier(int cmd);
/* pthread_atfork: 0 or -errno. */
int shmk_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* Fault hook control (test builds; no-ops returning -ENOTSUP otherwise). */
int shmk_fault_set(const char *spec); /* "" or NULL clears */
int shmk_fault_fired(void);           /* how many injected faults fired since set */

/* ------------------------------------------------------------------------
 * Safe paths (defined in region.c, with the rest of the file layer:
 * region.h).
 *
 * shmk_open_path() opens with openat2(RESOLVE_NO_SYMLINKS) so a symlink at
 * the last component or any parent is refused (-ELOOP is mapped to
 * SHMK_EUNSAFE), always adding O_NOFOLLOW|O_CLOEXEC.
 * shmk_check_fd() then checks what was opened against the policy: a
 * regular file, owned by our euid (unless allow_foreign), a mode no wider
 * than policy->mode (unless allow_wider), exactly one link.  Failures are
 * SHMK_EUNSAFE with the reason in shmk_errdetail().
 * ---------------------------------------------------------------------- */
struct shmk_path_policy {
	mode_t mode;		/* permission bits the caller asked for */
	bool allow_foreign;	/* accept a file owned by another uid */
	bool allow_wider;	/* accept mode bits beyond `mode` */
};

/* shmk_open_path: shmkit/util.h */
int shmk_check_fd(int fd, const char *what, const struct shmk_path_policy *pol,
		  struct stat *st_out);
/* Truncation check for the slow paths (waits before parking, role claims,
 * close, the explicit *_check calls): 0 when the file behind fd still
 * holds `need` bytes, SHMK_ETRUNCATED (detail names `what` and both sizes)
 * when it shrank, -errno from fstat.  One fstat: never on a hot path. */
int shmk_fd_covers(int fd, uint64_t need, const char *what);

/* ------------------------------------------------------------------------
 * Process tokens and liveness.
 *
 * A token names one process incarnation in one u64, so it can be claimed
 * with a single CAS in shared memory:
 *     token = (start_time_ticks << 22) | pid        (pid < 2^22 = pid_max)
 * start_time is field 22 of /proc/<pid>/stat.  A token is alive when
 * /proc/<pid>/stat exists, its start time matches and its state is neither
 * Z (zombie) nor X (dead): a reused PID has a different start time, a
 * killed-but-unreaped peer is a zombie.  0 is never a valid token.
 * Tokens are only meaningful inside one PID namespace.  SHMK_TOKEN_PID and
 * shmk_token_alive are public (shmkit/util.h).
 * ---------------------------------------------------------------------- */

uint64_t shmk_self_token(void);	/* cached per process, refreshed after fork */
int shmk_token_for_pid(pid_t pid, uint64_t *tok); /* 0, -ESRCH, -errno */
/* pidfd for tok's process (caller closes), or -ESRCH when tok is dead. */
int shmk_token_pidfd(uint64_t tok);

/* The fuzz build's injected liveness provider: when set, shmk_token_alive
 * asks it instead of /proc. */
extern int (*shmk_liveness_hook)(uint64_t tok);

/* ------------------------------------------------------------------------
 * Futex on a shared 32-bit word (not FUTEX_PRIVATE: peers are processes).
 * wait returns 0 when woken or when *w != expected, -ETIMEDOUT, -EINTR.
 * timeout_ns < 0 waits without a deadline.
 * ---------------------------------------------------------------------- */
int shmk_futex_wait(_Atomic uint32_t *w, uint32_t expected, int64_t timeout_ns);
int shmk_futex_wake(_Atomic uint32_t *w, int nwake);
#ifdef SHMK_BENCH_COUNTERS
/* Bench builds only (bench/bench.mk): this process's FUTEX_WAIT and
 * FUTEX_WAKE calls so far, counted in the two wrappers above. */
void shmk_bench_futex_counts(uint64_t *waits, uint64_t *wakes);
#endif

static inline void shmk_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ------------------------------------------------------------------------
 * Time and knobs.
 * ---------------------------------------------------------------------- */
int64_t shmk_now_ns(void);	/* CLOCK_MONOTONIC */
size_t shmk_page_size(void);
/* Integer environment knob with default and bounds; bad values -> default. */
long shmk_env_long(const char *name, long dflt, long min, long max);
/* SHMK_LIVENESS_MS: how long a survivor waits on a silent peer (clause
 * common.liveness.default gives the default). */
int64_t shmk_liveness_ns(void);
/* r[impl common.wait.deadline] now + timeout_ns (>= 0), saturated at
 * INT64_MAX: a caller's "practically forever" must not overflow (UB) and
 * wrap into a deadline in the past. */
static inline int64_t shmk_deadline_ns(int64_t now, int64_t timeout_ns)
{
	return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

/* ------------------------------------------------------------------------
 * Crash points (test builds): SHMK_CRASH_AT="name" or "name:N" SIGKILLs
 * the process at the Nth time it reaches SHMK_CRASH_POINT("name");
 * SHMK_STOP_AT (read when SHMK_CRASH_AT is unset) SIGSTOPs it there.
 * ---------------------------------------------------------------------- */
#ifdef SHMK_TEST_BUILD
void shmk_crash_point(const char *name);
/* A forked child that set SHMK_CRASH_AT / SHMK_STOP_AT: read them again
 * (the parent may have reached a crash point, and so read them, already). */
void shmk_crash_rearm(void);
#define SHMK_CRASH_POINT(name) shmk_crash_point(name)
#else
#define SHMK_CRASH_POINT(name) ((void)0)
#endif

/* Delay points (test builds): with SHMK_DELAY_AT="name[,name...]" (or "*")
 * set, SHMK_DELAY_POINT("name") pauses a random 0..SHMK_DELAY_US (default
 * 200) microseconds, to widen the gap between checking a condition and
 * parking on it (the lost wake-up hunt, conformance/stress/<module>_wakeup.c).
 * shmk_delay_hits(i) counts this process's visits to the ith listed point
 * (the first SHMK_DELAY_ENTRIES; all of them for "*" count as entry 0).
 * SHMK_DELAY_FIXED set: every visit sleeps exactly SHMK_DELAY_US (a test
 * that must land a step of another thread inside the gap). */
#define SHMK_DELAY_ENTRIES 4
#ifdef SHMK_TEST_BUILD
void shmk_delay_point(const char *name);
uint64_t shmk_delay_hits(unsigned entry);
#define SHMK_DELAY_POINT(name) shmk_delay_point(name)
#else
#define SHMK_DELAY_POINT(name) ((void)0)
#endif

static inline size_t shmk_align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

#pragma GCC visibility pop

#endif
