/* SPDX-License-Identifier: MIT */
/*
 * common.h - plumbing every cross-process bench shares: CPU placement and
 * pinning, shared anonymous memory, forked pinned peers that cannot outlive
 * the bench, per-operation latency samples published as p50/p99/p999
 * counters, and the payload rule (the sender writes every byte, the
 * receiver reads every byte).
 *
 * The bench process itself (the "measurer") is pinned to bc_cpu(0); a peer
 * is placed on bc_cpu(0) (same-cpu) or bc_cpu(1) (cross-cpu).
 */
#ifndef SHMK_BENCH_COMMON_H
#define SHMK_BENCH_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "gbshim.h"
#include "shmkit/error.h"

#define BC_LINE 64
/* Throughput benches: messages sent and received untimed before timing
 * starts, so a short invocation does not time the peer's start-up. */
#define BC_TPUT_WARM 1000

enum bc_place { BC_SAME = 0, BC_CROSS = 1 };

static inline const char *bc_place_name(enum bc_place p)
{
	return p == BC_SAME ? "same-cpu" : "cross-cpu";
}

/* CPUs this process may run on (its affinity mask). */
int bc_ncpus(void);
/* The i-th allowed CPU (wraps around when i >= bc_ncpus()). */
int bc_cpu(int i);
/* CPU for the peer of a placement. */
static inline int bc_peer_cpu(enum bc_place p)
{
	return bc_cpu(p == BC_SAME ? 0 : 1);
}
int bc_pin(int cpu);
/* True when n spinning processes exceed the CPUs: reported oversubscribed. */
static inline bool bc_oversubscribed(int n)
{
	return n > bc_ncpus();
}

/* Page-aligned, zeroed MAP_SHARED|MAP_ANONYMOUS memory (NULL on failure). */
void *bc_shared(size_t len);
void bc_unshared(void *p, size_t len);
/* A shared area for two-direction benches: its first page for the control
 * struct, then two page-aligned buffers of `each` bytes (direction A at
 * *off_a, B at *off_b); *len is the whole length for bc_unshared. */
void *bc_shared_pair(size_t each, size_t *off_a, size_t *off_b, size_t *len);
/* The same three numbers as one field of a control struct ... */
struct bc_bufs {
	size_t off_a, off_b, len;
};
/* ... which bc_shared_area fills in: the control struct starts with a
 * struct bc_ctl (its size set to `size` here) and holds its struct bc_bufs
 * at offset `bufs_at`.  NULL on failure. */
void *bc_shared_area(size_t each, uint64_t size, size_t bufs_at);

/* Forks a peer pinned to cpu that runs fn(arg) and _exit()s with its
 * return value.  The peer dies with the bench (PR_SET_PDEATHSIG). */
pid_t bc_spawn(int cpu, int (*fn)(void *arg), void *arg);
/* Waits for pid: 0 when it exited 0, else -1. */
int bc_reap(pid_t pid);
/* True when pid has exited (reaping it; *status gets its wait status). */
bool bc_gone(pid_t pid);
/* SIGKILLs and reaps. */
void bc_kill(pid_t pid);

static inline uint64_t bc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bc_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Control block at the start of every shared area: the peer says ready,
 * the measurer says go, either side can say stop (error or end). */
struct bc_ctl {
	_Atomic uint32_t ready;
	_Atomic uint32_t go;
	_Atomic uint32_t stop;
	_Atomic int32_t err;
	uint64_t n;		/* operations the peer serves */
	uint64_t size;		/* payload bytes */
	uint64_t aux;		/* bench specific */
	char msg[96];
} __attribute__((aligned(BC_LINE)));

/* Measurer: waits (yielding) for the peer's ready; false if it died. */
bool bc_wait_ready(struct bc_ctl *c, pid_t pid);
/* Peer: says ready and waits (yielding) for go; false when told to stop. */
bool bc_ready_wait_go(struct bc_ctl *c);
static inline void bc_go(struct bc_ctl *c)
{
	/* release: pairs with the peer's acquire of go in bc_ready_wait_go */
	atomic_store_explicit(&c->go, 1, memory_order_release);
}
static inline bool bc_stopped(struct bc_ctl *c)
{
	/* relaxed: a stop is a hint to leave a spin loop; the data it guards
	 * is not read after it */
	return atomic_load_explicit(&c->stop, memory_order_relaxed) != 0;
}

/* Bounded spin-wait helper: returns false every 2^16 rounds so the caller
 * can check that its peer is alive. */
#define BC_SPIN_WHILE(cond, alive_check)                                                   \
	do {                                                                               \
		uint32_t bc__spins_ = 0;                                                   \
		while (cond) {                                                             \
			bc_relax();                                                        \
			if (!(++bc__spins_ & 0xffff) && !(alive_check))                    \
				break;                                                     \
		}                                                                          \
	} while (0)

/* ---------------------------------------------------------------- samples */
struct bc_lat {
	uint64_t *ns;
	size_t n, cap;
};

/* cap samples at most (the first cap operations are kept). */
int bc_lat_init(struct bc_lat *l, size_t cap);
static inline void bc_lat_add(struct bc_lat *l, uint64_t ns)
{
	if (l->n < l->cap)
		l->ns[l->n++] = ns;
}
/* Sorts and publishes p50_ns, p90_ns, p99_ns, p999_ns, max_ns, samples;
 * every value divided by div (e.g. 2 for one-way from a round trip). */
void bc_lat_report(gbs_state *st, struct bc_lat *l, double div);
/* The same counters with a prefix on their names ("floor_p50_ns", ...). */
void bc_lat_report_as(gbs_state *st, struct bc_lat *l, double div, const char *prefix);
double bc_lat_pct(struct bc_lat *l, double q); /* after report (sorted) */
void bc_lat_free(struct bc_lat *l);

/* ---------------------------------------------------------------- payload */
/* Sender: writes all n bytes of p, stamped with seq. */
static inline void bc_fill(void *p, size_t n, uint64_t seq)
{
	unsigned char *b = (unsigned char *)p;
	if (n >= 8) {
		memset(b + 8, (int)(seq & 0xff), n - 8);
		memcpy(b, &seq, 8);
	} else {
		memcpy(b, &seq, n);
	}
}
/* Receiver: reads all n bytes; returns the stamp (first 8 bytes) and
 * folds the rest into *sink so the reads cannot be dropped. */
static inline uint64_t bc_read(const void *p, size_t n, uint64_t *sink)
{
	const unsigned char *b = (const unsigned char *)p;
	uint64_t seq = 0, acc = 0;
	size_t i = 0;
	if (n >= 8) {
		memcpy(&seq, b, 8);
		for (i = 8; i + 8 <= n; i += 8) {
			uint64_t w;
			memcpy(&w, b + i, 8);
			acc ^= w;
		}
	} else {
		memcpy(&seq, b, n);
		i = n;
	}
	for (; i < n; i++)
		acc += b[i];
	*sink += acc;
	return seq;
}

/* Context every program adds (placement CPUs, vCPUs). */
void bc_context(void);
/* The usual main: context, pin to bc_cpu(0), gbs_main. */
int bc_main(int argc, char **argv);

/* Registration helper: name printf-style into a static pool. */
const char *bc_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* QUICK=1 smoke runs: programs shrink buffers/sizes a little. */
bool bc_quick(void);

/* A create + attach + teardown bench of `bytes` (bench/cycle/ops.h) named
 * <module>/cycle/<bytes>/single, judged against the raw syscall sequence
 * `peer`, its floor and baseline. */
void bc_register_cycle(const char *module, long bytes, gbs_fn fn, const char *peer);

/* Its timed loop: one(name) per iteration on a name of this process made
 * from fmt ("...%d", the pid); a failed cycle ends the run with its error.
 * static inline like the helpers above: each program compiles the loop
 * with its own cycle, as when it had its own copy. */
static inline void bc_cycle_bench(gbs_state *st, const char *fmt, int (*one)(const char *name))
{
	char name[96];
	snprintf(name, sizeof name, fmt, (int)getpid());
	while (gbs_keep_running(st)) {
		int rc = one(name);
		if (rc) {
			char m[160];
			snprintf(m, sizeof m, "cycle: %s (%s)", shmk_strerror(rc), shmk_errdetail());
			gbs_skip_with_error(st, m);
			break;
		}
	}
	gbs_set_items_processed(st, gbs_iterations(st));
}

/* ------------------------------------------------------------ run helper */
/* One invocation of a two-process bench: the peer is forked, pinned,
 * waited for, then released with go; bc_run_end stops and reaps it. */
struct bc_run {
	gbs_state *st;
	struct bc_ctl *c;
	pid_t pid;
	struct bc_lat lat;
	bool failed;
	bool exited_ok;		/* the peer already exited 0 */
	unsigned checks_after_exit;
};

/* lat_cap 0 = no samples.  Returns false (after gbs_skip_with_error)
 * when the peer could not be started. */
bool bc_run_start(struct bc_run *r, gbs_state *st, struct bc_ctl *c, int peer_cpu,
		  int (*peer)(void *), void *peer_arg, size_t lat_cap);
/* Peer still there?  Reports the error once when it is not. */
bool bc_run_alive(struct bc_run *r);
/* Stops the peer, reaps it (an exit status != 0 is an error with the
 * peer's c->msg), publishes the latency counters divided by div. */
void bc_run_end(struct bc_run *r, double div);

#define BC_TIMED_OP(st, r, OP)                                                             \
	do {                                                                               \
		uint64_t bc__t0 = bc_now();                                                \
		OP;                                                                        \
		uint64_t bc__t1 = bc_now();                                                \
		bc_lat_add(&(r)->lat, bc__t1 - bc__t0);                                    \
		gbs_set_iteration_time((st), (double)(bc__t1 - bc__t0) * 1e-9);            \
	} while (0)

#endif
