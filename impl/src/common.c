/* SPDX-License-Identifier: MIT */
/* Syscall wrappers, safe paths, process tokens, futex, time, the CPU
 * features the data paths ask for: see internal.h. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

int shmk__prefetchw;
int shmk__erms;
int shmk__avx2;

/* CPUID 0x80000001 ECX bit 8: PREFETCHW (3DNowPrefetch), as the kernel's
 * X86_FEATURE_3DNOWPREFETCH (shmk_prefetch_w); CPUID 7 EBX bit 9: ERMS,
 * enhanced rep movsb (copy.c's copy in); AVX2 (slots_data.c's
 * registry scan) when CPUID 1 ECX has OSXSAVE (27) and AVX (28), XCR0
 * bits 1-2 say the OS saves the ymm state, and CPUID 7 EBX has bit 5.
 * Read once at load, before any handle. */
__attribute__((constructor)) static void detect_cpu(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;

	if (__get_cpuid(0x80000001u, &a, &b, &c, &d))
		shmk__prefetchw = (c >> 8) & 1;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return;
	shmk__erms = (b >> 9) & 1;
	unsigned avx2 = (b >> 5) & 1;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || !(c & (1u << 28)))
		return;
	unsigned lo, hi;
	__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	shmk__avx2 = (lo & 6) == 6 && avx2;
#endif
}

/* ---------------------------------------------------------------- faults */

enum {
	SITE_OPEN,
	SITE_SHM_OPEN,
	SITE_FTRUNCATE,
	SITE_FALLOCATE,
	SITE_MMAP,
	SITE_MREMAP,
	SITE_FSTAT,
	SITE_FUTEX,
	SITE_MEMBARRIER,
	SITE_ATFORK,
	SITE_N
};

#ifdef SHMK_TEST_BUILD
static const char *const site_names[SITE_N] = {
	"open", "shm_open", "ftruncate", "fallocate", "mmap", "mremap", "fstat", "futex",
	"membarrier", "atfork",
};
/* Per-process and not thread-safe on purpose: fault runs are single-threaded. */
static long fault_at[SITE_N];	/* fail the Nth call; 0 = never */
static long fault_calls[SITE_N];
static int fault_fired;
static int fault_env_read;

int shmk_fault_set(const char *spec)
{
	memset(fault_at, 0, sizeof(fault_at));
	memset(fault_calls, 0, sizeof(fault_calls));
	fault_fired = 0;
	fault_env_read = 1;
	if (!spec || !*spec)
		return 0;
	char buf[256];
	if (strlen(spec) >= sizeof(buf))
		return SHMK_FAIL(-EINVAL);
	strcpy(buf, spec);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (!colon)
			return SHMK_FAIL(-EINVAL);
		*colon = '\0';
		long n = strtol(colon + 1, NULL, 10);
		int i;
		for (i = 0; i < SITE_N; i++)
			if (!strcmp(tok, site_names[i]))
				break;
		if (i == SITE_N || n <= 0)
			return SHMK_FAIL(-EINVAL);
		fault_at[i] = n;
	}
	return 0;
}

int shmk_fault_fired(void)
{
	return fault_fired;
}

/* r[impl common.fault.hook] */
static int fault_hit(int site)
{
	if (!fault_env_read)
		shmk_fault_set(getenv("SHMK_FAULT"));
	if (!fault_at[site])
		return 0;
	if (++fault_calls[site] != fault_at[site])
		return 0;
	fault_fired++;
	return 1;
}

/* the env is read once per thread (no shared lazy init: threads hit crash
 * points at once, stress/ring_tsan); the hit count is the process's, as
 * SHMK_CRASH_AT=name:N promises */
static _Thread_local const char *crash_spec;
static _Thread_local long crash_want = 1;
static _Thread_local int crash_read_env, crash_sig = SIGKILL;
static _Atomic long crash_seen;

void shmk_crash_rearm(void)
{
	crash_read_env = 0;
	crash_want = 1;
	crash_sig = SIGKILL;
	atomic_store_explicit(&crash_seen, 0, memory_order_relaxed);
}

void shmk_crash_point(const char *name)
{
	const char *spec;
	long want;
	int sig;

	if (!crash_read_env) {
		crash_read_env = 1;
		crash_spec = getenv("SHMK_CRASH_AT");
		/* r[impl reliability.hook.stop] the same points stop the process
		 * instead (a stall, not a crash: SIGCONT resumes it there) */
		if (!crash_spec && (crash_spec = getenv("SHMK_STOP_AT")))
			crash_sig = SIGSTOP;
		const char *c = crash_spec ? strchr(crash_spec, ':') : NULL;
		if (c)
			crash_want = strtol(c + 1, NULL, 10);
	}
	spec = crash_spec;
	want = crash_want;
	sig = crash_sig;
	if (!spec)
		return;
	size_t n = strcspn(spec, ":");
	if (strlen(name) != n || strncmp(spec, name, n))
		return;
	if (atomic_fetch_add_explicit(&crash_seen, 1, memory_order_relaxed) + 1 == want)
		raise(sig);
}

/* Times this process reached each SHMK_DELAY_AT entry (by position), so
 * a hunt can say how often it really stood in a gap. */
static _Atomic uint64_t delay_hits[SHMK_DELAY_ENTRIES];

uint64_t shmk_delay_hits(unsigned entry)
{
	if (entry >= SHMK_DELAY_ENTRIES)
		return 0;
	return atomic_load_explicit(&delay_hits[entry], memory_order_relaxed);
}

/* r[impl reliability.hook.delay] */
void shmk_delay_point(const char *name)
{
	/* per thread: delay points run on many threads at once (TSan,
	 * stress/slots_tsan), and a shared lazy init or rng state is a race */
	static _Thread_local const char *spec;
	static _Thread_local long max_us;
	static _Thread_local int read_env;
	static _Thread_local uint64_t rng;
	static _Thread_local pid_t rng_pid;
	static _Thread_local int fixed;

	if (!read_env) {
		read_env = 1;
		spec = getenv("SHMK_DELAY_AT");
		max_us = shmk_env_long("SHMK_DELAY_US", 200, 0, 1000000);
		fixed = getenv("SHMK_DELAY_FIXED") != NULL;
	}
	if (!spec || !*spec)
		return;
	unsigned entry = 0;
	if (strcmp(spec, "*")) {
		size_t n = strlen(name);
		const char *p = strstr(spec, name);
		while (p && !((p == spec || p[-1] == ',') && (p[n] == ',' || !p[n])))
			p = strstr(p + 1, name);
		if (!p)
			return;
		for (const char *c = spec; c < p; c++)
			entry += *c == ',';
	}
	if (entry < SHMK_DELAY_ENTRIES) /* relaxed: a count read after the run */
		atomic_fetch_add_explicit(&delay_hits[entry], 1, memory_order_relaxed);
	if (fixed) { /* r[impl reliability.hook.delay.fixed] a known gap */
		struct timespec ts = { max_us / 1000000, (max_us % 1000000) * 1000 };
		nanosleep(&ts, NULL);
		return;
	}
	pid_t me = getpid();
	if (rng_pid != me) { /* a forked child draws its own delays */
		rng_pid = me;
		rng = (uint64_t)shmk_now_ns() ^ ((uint64_t)me << 32) ^ 0x9e3779b97f4a7c15ULL;
	}
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	uint64_t r = rng * 0x2545f4914f6cdd1dULL;
	/* a quarter no pause, a quarter a yield, half a sleep of 0..max_us */
	switch (r & 3) {
	case 0:
		return;
	case 1:
		sched_yield();
		return;
	default: {
		long us = max_us ? (long)((r >> 8) % (uint64_t)(max_us + 1)) : 0;
		struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
		if (us)
			nanosleep(&ts, NULL);
	}
	}
}
#else
int shmk_fault_set(const char *spec)
{
	(void)spec;
	return SHMK_FAIL(-ENOTSUP);
}

int shmk_fault_fired(void)
{
	return 0;
}

static inline int fault_hit(int site)
{
	(void)site;
	return 0;
}
#endif

/* ---------------------------------------------------------------- syscalls */

int shmk_sys_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
	if (fault_hit(SITE_OPEN))
		return SHMK_FAIL(-EIO);
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = resolve,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return fd < 0 ? SHMK_FAIL(-errno) : (int)fd;
}

int shmk_sys_shm_open(const char *name, int flags, mode_t mode)
{
	if (fault_hit(SITE_SHM_OPEN))
		return SHMK_FAIL(-EIO);
	int fd = shm_open(name, flags | O_CLOEXEC, mode);
	return fd < 0 ? SHMK_FAIL(-errno) : fd;
}

int shmk_sys_ftruncate(int fd, off_t len)
{
	if (fault_hit(SITE_FTRUNCATE))
		return SHMK_FAIL(-ENOSPC);
	return ftruncate(fd, len) ? SHMK_FAIL(-errno) : 0;
}

/* fallocate(2), not posix_fallocate(3): glibc's fallback for a filesystem
 * without fallocate writes every block, which for a large region is slower
 * than the work it protects.  0 done, 1 when the filesystem lacks fallocate
 * and nothing was done: only then must a caller set the size itself
 * (shmk_region_reserve), so the usual case needs no fstat to find out. */
int shmk_sys_fallocate_or_unsupported(int fd, off_t off, off_t len)
{
	if (fault_hit(SITE_FALLOCATE))
		return SHMK_FAIL(-ENOSPC);
	if (fallocate(fd, 0, off, len) == 0)
		return 0;
	return errno == EOPNOTSUPP ? 1 : SHMK_FAIL(-errno);
}

int shmk_sys_fstat(int fd, struct stat *st)
{
	if (fault_hit(SITE_FSTAT))
		return SHMK_FAIL(-EIO);
	return fstat(fd, st) ? SHMK_FAIL(-errno) : 0;
}

int shmk_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **out)
{
	if (fault_hit(SITE_MMAP))
		return SHMK_FAIL(-ENOMEM);
	void *p = mmap(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		return SHMK_FAIL(-errno);
	*out = p;
	return 0;
}

int shmk_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
		    void **out)
{
	if (fault_hit(SITE_MREMAP))
		return SHMK_FAIL(-ENOMEM);
	void *p = mremap(old, old_len, new_len, flags, new_addr);
	if (p == MAP_FAILED)
		return SHMK_FAIL(-errno);
	*out = p;
	return 0;
}

/* Safe paths, the attach checks and the truncation check live in region.c. */

/* ---------------------------------------------------------------- liveness */

int (*shmk_liveness_hook)(uint64_t tok);

/* Reads /proc/<pid>/stat: start time (field 22) and state (field 3). */
static int proc_stat(pid_t pid, uint64_t *start, char *state)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SHMK_FAIL(-errno);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -err : SHMK_FAIL(-ESRCH);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: parse after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return SHMK_FAIL(-EINVAL);
	p += 2;
	*state = *p;
	/* fields 3..22: skip 19 spaces from the state field to reach 22. */
	for (int i = 0; i < 19; i++) {
		p = strchr(p, ' ');
		if (!p)
			return SHMK_FAIL(-EINVAL);
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

static uint64_t make_token(pid_t pid, uint64_t start)
{
	return (start << SHMK_TOKEN_PID_BITS) | (uint32_t)pid;
}

int shmk_token_for_pid(pid_t pid, uint64_t *tok)
{
	uint64_t start;
	char state;

	if (pid <= 0 || (uint64_t)pid >= (1u << SHMK_TOKEN_PID_BITS))
		return SHMK_FAIL(-ESRCH);
	int rc = proc_stat(pid, &start, &state);
	if (rc)
		return rc == -ENOENT ? SHMK_FAIL(-ESRCH) : rc;
	*tok = make_token(pid, start);
	return 0;
}

static pid_t token_cached_pid;
static uint64_t token_cached;

uint64_t shmk_self_token(void)
{
	pid_t pid = getpid();

	/* A forked child has a new pid: recompute instead of inheriting. */
	if (token_cached_pid != pid) {
		uint64_t t = 0;
		if (shmk_token_for_pid(pid, &t))
			t = make_token(pid, 0);
		token_cached = t;
		token_cached_pid = pid;
	}
	return token_cached;
}

int shmk_token_alive(uint64_t tok)
{
	uint64_t start;
	char state;

	if (shmk_liveness_hook)
		return shmk_liveness_hook(tok) > 0;
	if (!tok)
		return 0;
	pid_t pid = (pid_t)SHMK_TOKEN_PID(tok);
	if (!pid)
		return 0;
	/* r[impl common.liveness.token] */
	int rc = proc_stat(pid, &start, &state);
	if (rc)
		return rc == -ENOENT || rc == -ESRCH ? 0 : 1; /* unknown: assume alive */
	if (state == 'Z' || state == 'X' || state == 'x')
		return 0;
	return make_token(pid, start) == tok;
}

int shmk_token_pidfd(uint64_t tok)
{
	pid_t pid = (pid_t)SHMK_TOKEN_PID(tok);

	if (!tok || !pid)
		return SHMK_FAIL(-ESRCH);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return SHMK_FAIL(-errno);
	/* r[impl common.liveness.pidfd] */
	/* The pidfd pins one incarnation; check it is tok's, not a reuse. */
	if (!shmk_token_alive(tok)) {
		close(fd);
		return SHMK_FAIL(-ESRCH);
	}
	return fd;
}

/* ---------------------------------------------------------------- futex */

#ifdef SHMK_BENCH_COUNTERS
/* relaxed: process-local tallies, read by the bench after its messages */
static _Atomic uint64_t bench_futex_waits, bench_futex_wakes;
#define BENCH_COUNT(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)

void shmk_bench_futex_counts(uint64_t *waits, uint64_t *wakes)
{
	*waits = atomic_load_explicit(&bench_futex_waits, memory_order_relaxed);
	*wakes = atomic_load_explicit(&bench_futex_wakes, memory_order_relaxed);
}
#else
#define BENCH_COUNT(c) ((void)0)
#endif

int shmk_futex_wait(_Atomic uint32_t *w, uint32_t expected, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;

	if (fault_hit(SITE_FUTEX))
		return SHMK_FAIL(-EINTR);
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	BENCH_COUNT(bench_futex_waits);
	long rc = syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, expected, tsp, NULL, 0);
	if (rc == 0)
		return 0;
	if (errno == EAGAIN)
		return 0;
	return SHMK_FAIL(-errno);
}

int shmk_futex_wake(_Atomic uint32_t *w, int nwake)
{
	if (fault_hit(SITE_FUTEX))
		return SHMK_FAIL(-EINTR);
	BENCH_COUNT(bench_futex_wakes);
	long rc = syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, nwake, NULL, NULL, 0);
	return rc < 0 ? SHMK_FAIL(-errno) : (int)rc;
}

/* The injected failure is seccomp's answer (a container that filters the
 * call): the wait primitive falls back to its plain fence (wait.c). */
int shmk_sys_membarrier(int cmd)
{
	if (fault_hit(SITE_MEMBARRIER))
		return SHMK_FAIL(-EPERM);
	long rc = syscall(SYS_membarrier, cmd, 0, 0);
	return rc < 0 ? SHMK_FAIL(-errno) : (int)rc;
}

/* The injected failure is glibc's only one (ENOMEM). */
int shmk_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	if (fault_hit(SITE_ATFORK))
		return SHMK_FAIL(-ENOMEM);
	int e = pthread_atfork(prepare, parent, child);
	return e ? SHMK_FAIL(-e) : 0;
}

/* ---------------------------------------------------------------- time */

int64_t shmk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

size_t shmk_page_size(void)
{
	static size_t ps;

	if (!ps) {
		long v = sysconf(_SC_PAGESIZE);
		ps = v > 0 ? (size_t)v : 4096;
	}
	return ps;
}

long shmk_env_long(const char *name, long dflt, long min, long max)
{
	const char *s = getenv(name);
	char *end;

	if (!s || !*s)
		return dflt;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return dflt;
	return v;
}

/* r[impl common.liveness.default] */
int64_t shmk_liveness_ns(void)
{
	return (int64_t)shmk_env_long("SHMK_LIVENESS_MS", 1000, 1, 3600 * 1000) * 1000000;
}
