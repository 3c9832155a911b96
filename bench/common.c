/* SPDX-License-Identifier: MIT */
/* common.c - see common.h. */
#include "common.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int cpus[CPU_SETSIZE];
static int ncpus;

static void cpus_load(void)
{
	cpu_set_t set;
	if (ncpus)
		return;
	if (sched_getaffinity(0, sizeof set, &set) != 0) {
		cpus[0] = 0;
		ncpus = 1;
		return;
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[ncpus++] = c;
	if (!ncpus)
		cpus[ncpus++] = 0;
}

int bc_ncpus(void)
{
	cpus_load();
	return ncpus;
}

int bc_cpu(int i)
{
	cpus_load();
	return cpus[i % ncpus];
}

int bc_pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

void *bc_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *bc_shared_pair(size_t each, size_t *off_a, size_t *off_b, size_t *len)
{
	size_t rb = (each + 4095) & ~(size_t)4095;
	*off_a = 4096;
	*off_b = 4096 + rb;
	*len = 4096 + 2 * rb;
	return bc_shared(*len);
}

void *bc_shared_area(size_t each, uint64_t size, size_t bufs_at)
{
	struct bc_bufs b;
	char *p = bc_shared_pair(each, &b.off_a, &b.off_b, &b.len);
	if (p) {
		((struct bc_ctl *)(void *)p)->size = size;
		memcpy(p + bufs_at, &b, sizeof(b));
	}
	return p;
}

void bc_unshared(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

pid_t bc_spawn(int cpu, int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	if (bc_pin(cpu) != 0)
		_exit(4);
	_exit(fn(arg) ? 1 : 0);
}

int bc_reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

bool bc_gone(pid_t pid)
{
	int st;
	return waitpid(pid, &st, WNOHANG) == pid;
}

void bc_kill(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		bc_reap(pid);
	}
}

bool bc_wait_ready(struct bc_ctl *c, pid_t pid)
{
	/* acquire: pairs with the peer's release of ready in bc_ready_wait_go */
	while (!atomic_load_explicit(&c->ready, memory_order_acquire)) {
		if (bc_gone(pid))
			return false;
		sched_yield();
	}
	return true;
}

bool bc_ready_wait_go(struct bc_ctl *c)
{
	/* release: pairs with the measurer's acquire of ready in bc_wait_ready */
	atomic_store_explicit(&c->ready, 1, memory_order_release);
	/* acquire: pairs with the release of go in bc_go */
	while (!atomic_load_explicit(&c->go, memory_order_acquire)) {
		if (bc_stopped(c))
			return false;
		sched_yield();
	}
	return true;
}

int bc_lat_init(struct bc_lat *l, size_t cap)
{
	if (cap < 1)
		cap = 1;
	if (cap > (size_t)1 << 22)
		cap = (size_t)1 << 22;
	l->ns = malloc(cap * sizeof *l->ns);
	l->n = 0;
	l->cap = l->ns ? cap : 0;
	return l->ns ? 0 : -ENOMEM;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

double bc_lat_pct(struct bc_lat *l, double q)
{
	if (!l->n)
		return 0;
	size_t i = (size_t)(q * (double)(l->n - 1) + 0.5);
	if (i >= l->n)
		i = l->n - 1;
	return (double)l->ns[i];
}

void bc_lat_report(gbs_state *st, struct bc_lat *l, double div)
{
	bc_lat_report_as(st, l, div, "");
}

void bc_lat_report_as(gbs_state *st, struct bc_lat *l, double div, const char *prefix)
{
	static const char *const fig[] = {"p50_ns", "p90_ns", "p99_ns", "p999_ns"};
	static const double q[] = {0.50, 0.90, 0.99, 0.999};
	char name[64];
	if (!l->n)
		return;
	qsort(l->ns, l->n, sizeof *l->ns, cmp_u64);
	if (div <= 0)
		div = 1;
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "%s%s", prefix, fig[i]);
		gbs_counter(st, name, bc_lat_pct(l, q[i]) / div);
	}
	snprintf(name, sizeof name, "%smax_ns", prefix);
	gbs_counter(st, name, (double)l->ns[l->n - 1] / div);
	snprintf(name, sizeof name, "%ssamples", prefix);
	gbs_counter(st, name, (double)l->n);
}

void bc_lat_free(struct bc_lat *l)
{
	free(l->ns);
	l->ns = NULL;
	l->n = l->cap = 0;
}

void bc_context(void)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%d", bc_ncpus());
	gbs_add_context("shmk_allowed_cpus", buf);
	snprintf(buf, sizeof buf, "%d", bc_cpu(0));
	gbs_add_context("shmk_measurer_cpu", buf);
	snprintf(buf, sizeof buf, "%d", bc_cpu(1));
	gbs_add_context("shmk_cross_peer_cpu", buf);
	struct utsname u;
	if (uname(&u) == 0)
		gbs_add_context("shmk_kernel", u.release);
	gbs_add_context("shmk_quick", bc_quick() ? "1" : "0");
	gbs_add_context("shmk_placement", "measurer on shmk_measurer_cpu; same-cpu peers there too, "
					  "cross-cpu peers on shmk_cross_peer_cpu");
	const char *rev = getenv("SHMK_BENCH_GIT");
	if (rev && *rev)
		gbs_add_context("shmk_git_revision", rev);
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[256];
		while (fgets(line, sizeof line, f)) {
			char *c = strchr(line, ':');
			if (!strncmp(line, "model name", 10) && c) {
				c += 1 + strspn(c + 1, " \t");
				c[strcspn(c, "\n")] = 0;
				gbs_add_context("shmk_cpu_model", c);
				break;
			}
		}
		fclose(f);
	}
}

int bc_main(int argc, char **argv)
{
	bc_context();
	bc_pin(bc_cpu(0));
	return gbs_main(argc, argv);
}

const char *bc_name(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return strdup(buf);
}

void bc_register_cycle(const char *module, long bytes, gbs_fn fn, const char *peer)
{
	gbs_register(&(struct gbs_bench){
		.name = bc_name("%s/cycle/%ld/single", module, bytes), .fn = fn, .module = module,
		.pattern = "cycle", .param = bytes, .bytes = bytes, .placement = "single",
		.mode = "none", .metric = "real_time", .floor = peer, .baseline = peer});
}

bool bc_quick(void)
{
	const char *q = getenv("SHMK_BENCH_QUICK");
	return q && *q && strcmp(q, "0") != 0;
}

bool bc_run_start(struct bc_run *r, gbs_state *st, struct bc_ctl *c, int peer_cpu,
		  int (*peer)(void *), void *peer_arg, size_t lat_cap)
{
	memset(r, 0, sizeof *r);
	r->st = st;
	r->c = c;
	if (lat_cap && bc_lat_init(&r->lat, lat_cap) != 0) {
		gbs_skip_with_error(st, "out of memory for samples");
		r->failed = true;
		return false;
	}
	r->pid = bc_spawn(peer_cpu, peer, peer_arg);
	if (r->pid < 0) {
		gbs_skip_with_error(st, "fork failed");
		r->failed = true;
		return false;
	}
	if (!bc_wait_ready(c, r->pid)) {
		gbs_skip_with_error(st, c->msg[0] ? c->msg : "peer died before ready");
		r->failed = true;
		r->pid = -1;
		return false;
	}
	bc_go(c);
	return true;
}

bool bc_run_alive(struct bc_run *r)
{
	if (r->failed)
		return false;
	if (r->exited_ok) {
		/* A producer that finished may leave data in flight: keep waiting
		 * a while (callers check every 2^16 spins), then give up. */
		if (++r->checks_after_exit < 2000)
			return true;
		r->failed = true;
		gbs_skip_with_error(r->st, "peer exited but its data never arrived");
		return false;
	}
	int st;
	if (r->pid > 0 && waitpid(r->pid, &st, WNOHANG) == r->pid) {
		r->pid = -1;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			r->exited_ok = true;
			return true;
		}
		r->failed = true;
		gbs_skip_with_error(r->st, r->c->msg[0] ? r->c->msg : "peer died");
		return false;
	}
	return true;
}

void bc_run_end(struct bc_run *r, double div)
{
	/* relaxed: the peer only polls stop to leave its loop */
	atomic_store_explicit(&r->c->stop, 1, memory_order_relaxed);
	if (r->pid > 0 && bc_reap(r->pid) != 0 && !r->failed) {
		r->failed = true;
		gbs_skip_with_error(r->st, r->c->msg[0] ? r->c->msg : "peer failed");
	}
	r->pid = -1;
	if (!r->failed && r->lat.n)
		bc_lat_report(r->st, &r->lat, div);
	bc_lat_free(&r->lat);
}
