/* SPDX-License-Identifier: MIT */
/* Crash, liveness and pid-reuse helpers (crash.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "shmkit/error.h"

void t_crash_env(void)
{
	setenv("SHMK_LIVENESS_MS", "50", 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

uint64_t t_trials(void)
{
	return t_env_u64("STRESS_TRIALS", getenv("SHMK_STRESS_JSON") ? 10000 : 200);
}

double t_liveness_s(void)
{
	return (double)shmk_liveness_ns() / 1e9;
}

double t_unblock_bound(void)
{
	return 2 * t_liveness_s() * h_time_scale();
}

double t_survivor_bound(const struct t_probe *p, int wakeups)
{
	double delay = (double)t_probe_max_ns(p) / 1e9, cap = t_liveness_s() / 2;
	return t_unblock_bound() + wakeups * (delay < cap ? delay : cap);
}

int t_judge_unblock(const struct t_probe *p, int wakeups, const char *prog, const char *group,
		    double max_unblock, uint64_t trial)
{
	double bound = t_survivor_bound(p, wakeups);
	if (max_unblock <= bound)
		return 0;
	printf("%s: %s trial %" PRIu64 ": a survivor stayed blocked %.3f s (bound %.3f s: "
	       "%d x scheduling delay %.3f s)\n", prog, group, trial, max_unblock, bound, wakeups,
	       (double)t_probe_max_ns(p) / 1e9);
	return 1;
}

struct t_probe {
	/* written by the probe process, read by the program after it or
	 * while it runs (relaxed enough: t_max_ns's CAS loop, a load) */
	_Atomic int64_t max_ns;
	pid_t pid;
};

struct t_probe *t_probe_start(void)
{
	struct t_probe *p = t_shared_alloc(sizeof(*p));
	pid_t parent = getpid();
	if (!p)
		return NULL;
	atomic_store(&p->max_ns, 0);
	pid_t pid = fork();	/* p is shared: only the parent writes p->pid */
	if (pid < 0) {
		t_shared_free(p, sizeof(*p));
		return NULL;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlives the program */
		if (getppid() != parent)
			_exit(0);
		for (;;) {
			int64_t t0 = shmk_now_ns();
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
			t_max_ns(&p->max_ns, shmk_now_ns() - t0 - 1000000);
		}
	}
	p->pid = pid;
	return p;
}

int64_t t_probe_max_ns(const struct t_probe *p)
{
	return p ? atomic_load(&p->max_ns) : 0;
}

void t_probe_stop(struct t_probe *p)
{
	if (!p || p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

int t_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int t_wait_all(const pid_t *pids, int n, double *died_at, int *status,
			      double deadline_s)
{
	struct pollfd pf[16];
	int left = 0, rc = 0;
	double end = t_now() + deadline_s;

	for (int i = 0; i < n; i++) {
		pf[i].fd = pids[i] > 0 ? t_pidfd(pids[i]) : -1;
		pf[i].events = POLLIN;
		died_at[i] = 0;
		status[i] = -1;
		if (pf[i].fd >= 0)
			left++;
		else if (pids[i] > 0) { /* pidfd_open failed: reap the slow way */
			waitpid(pids[i], &status[i], 0);
			died_at[i] = t_now();
		}
	}
	while (left) {
		double now = t_now();
		if (now >= end) {
			rc = -ETIMEDOUT;
			break;
		}
		int r = poll(pf, (nfds_t)n, (int)((end - now) * 1000) + 1);
		if (r < 0 && errno != EINTR)
			break;
		now = t_now();
		for (int i = 0; i < n; i++) {
			if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP))) {
				died_at[i] = now;
				waitpid(pids[i], &status[i], 0);
				close(pf[i].fd);
				pf[i].fd = -1;
				left--;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (pf[i].fd >= 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status[i], 0);
			close(pf[i].fd);
			status[i] = -1;
		}
	}
	return rc;
}

int t_killed(int st)
{
	return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

int t_exited0(int st)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

void t_pause_us(uint64_t *rng, uint64_t max_us)
{
	uint64_t us = max_us ? t_rand(rng) % (max_us + 1) : 0;
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	if (us)
		nanosleep(&ts, NULL);
}

void t_max_ns(_Atomic int64_t *m, int64_t v)
{
	int64_t cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

char t_proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

pid_t t_fork_zombie(int (*fn)(void *), void *arg)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char c = fn(arg) ? 'e' : 'o';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	close(p[1]);
	char c = 0;
	ssize_t n = pid > 0 ? read(p[0], &c, 1) : -1;
	close(p[0]);
	if (n != 1 || c != 'o') {
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	/* the death is an event: waitid(WNOWAIT) returns once it is a zombie
	 * and leaves it unreaped */
	siginfo_t si;
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT)) {
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

long t_ticks_now(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long)(ts.tv_sec * hz + ts.tv_nsec / (1000000000L / hz));
}

int t_force_next_pid(pid_t pid, uint64_t old_token)
{
	long start = (long)(old_token >> SHMK_TOKEN_PID_BITS);

	while (t_ticks_now() <= start + 1) {
		struct timespec d = { 0, 2 * 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (!f)
		return -errno;
	int ok = fprintf(f, "%d", (int)pid - 1) > 0;
	if (fclose(f) || !ok)
		return -EIO;
	return 0;
}

int t_in_pidns(const char *arg, unsigned deadline_s)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || geteuid() != 0)
		return 77;
	self[n] = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", self, arg,
		       (char *)NULL);
		_exit(77);
	}
	int st = 0;
	double died;
	(void)t_wait_all(&pid, 1, &died, &st, h_deadline(deadline_s));
	if (st == -1)
		return 124;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

uint64_t t_zombie_token(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		fclose(f);
		char *q = strrchr(buf, ')');
		for (int field = 2; q && field < 22; field++)
			q = strchr(q + 1, ' ');
		if (q)
			start = strtoull(q + 1, NULL, 10);
	}
	return ((uint64_t)start << SHMK_TOKEN_PID_BITS) | (uint64_t)pid;
}

int t_reuse_pid(const char *prog, pid_t dead, pid_t *stranger, int *release)
{
	uint64_t token = t_zombie_token(dead);
	int q[2];

	waitpid(dead, NULL, 0);
	if (t_force_next_pid(dead, token))
		return 1;
	if (pipe(q))
		return 2;
	pid_t b = fork();
	if (b == 0) { /* the stranger: holds the PID until told to go */
		close(q[1]);
		char x;
		ssize_t rr = read(q[0], &x, 1);
		_exit(rr < 0);
	}
	close(q[0]);
	if (b != dead) {
		close(q[1]);
		waitpid(b, NULL, 0);
		fprintf(stderr, "%s: wanted pid %d again, got %d\n", prog, (int)dead, (int)b);
		return 3;
	}
	*stranger = b;
	*release = q[1];
	return 0;
}

void t_release(pid_t stranger, int release)
{
	close(release);
	waitpid(stranger, NULL, 0);
}

int t_reuse_dead(const char *prog, int (*fn)(void *), void *arg, pid_t *dead,
		 pid_t *stranger, int *release)
{
	*dead = t_fork_zombie(fn, arg);
	if (*dead < 0)
		return 1;
	int step = t_reuse_pid(prog, *dead, stranger, release);
	return step ? 1 + step : 0;
}

int t_pidreuse(const char *prog)
{
	int pr = t_in_pidns("--pidreuse", 60);

	if (pr == 77)
		printf("%s: pid reuse: skipped (needs root and unshare)\n", prog);
	else if (pr)
		printf("%s: pid reuse check failed (step %d)\n", prog, pr);
	return pr;
}

void t_liveness_evidence(const char *prog, int z, int pr)
{
	h_evidence(prog, "stress", "zombie", "common.liveness.token", !z);
	if (pr != 77)
		h_evidence(prog, "stress", "pidreuse", "common.liveness.token", pr == 0);
}

int t_gc(const char *prog, const char *dir, char *out, size_t outlen,
			int *gc_state)
{
	const char *bin = getenv("SHMKIT_BIN");
	char cmd[1024];

	if (!bin || !*bin)
		bin = "build/check/bin/shmkit";
	if (access(bin, X_OK)) {
		*gc_state = -1;
		printf("%s: shmkit gc: build/check/bin/shmkit not built, gc not checked\n", prog);
		return -ENOENT;
	}
	snprintf(cmd, sizeof(cmd), "%s gc %s 2>&1", bin, dir);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -errno;
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void t_gc_report(const char *prog, const char *dir, int g, const char *what,
				int gone, const char *out, int dump_on_exit, int *gc_state)
{
	printf("%s: shmkit gc %s -> exit %d, crashed %s %s\n", prog, dir, g, what,
	       gone ? "removed" : "STILL THERE");
	if (!gone || (dump_on_exit && g))
		printf("%s", out);
	*gc_state = gone && g == 0;
}

void t_gc_evidence(const char *prog, int gc_state)
{
	if (gc_state >= 0)
		h_evidence(prog, "stress", "restart-gc", "cli.gc.dead-owner", gc_state == 1);
}

static const char *pidreuse_json(int pr)
{
	return pr == 77 ? "skipped" : pr ? "fail" : "ok";
}

static const char *gc_json(int gc_state)
{
	return gc_state < 0 ? "not built" : gc_state ? "ok" : "fail";
}

int t_crash_main(int argc, char **argv, const void *side, const struct t_crash_prog *p)
{
	t_crash_env();
	if (!side)
		return t_setup_failed(p->prog, 0, -ENOMEM);
	if (argc > 1 && !strcmp(argv[1], "--pidreuse"))
		return p->pidreuse_role();

	uint64_t seed = *p->seed = h_seed(), rng = seed;
	double t0 = t_now();
	int trials_ok = p->trials(t_trials(), &rng);
	struct t_after a = { 0 };
	a.zombie = p->zombie();
	a.pidreuse = t_pidreuse(p->prog);
	a.restart = p->restart(&rng, &a.gc);
	t_liveness_evidence(p->prog, a.zombie, a.pidreuse);
	t_gc_evidence(p->prog, a.gc);
	/* a pid-reuse run that could not run counts as passed */
	int ok = trials_ok && !a.zombie && (a.pidreuse == 0 || a.pidreuse == 77) && !a.restart;
	char counts[2048];
	p->finish(&a, trials_ok, counts, sizeof(counts));
	t_report(p->prog, seed, t_now() - t0, ok,
		 "%s, \"zombie_ok\": %d, \"pidreuse\": \"%s\", \"restart_ok\": %d, \"gc\": \"%s\"",
		 counts, !a.zombie, pidreuse_json(a.pidreuse), !a.restart, gc_json(a.gc));
	return ok ? 0 : 1;
}
