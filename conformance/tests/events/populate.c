/* SPDX-License-Identifier: MIT */
/* events tests: the initialiser writes all but the header through the file and maps the region unpopulated, as a joiner does. */
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "events_test.h"

/* A counter of this process's page faults taken from user accesses (the
 * kernel's own populate, a GUP, is not counted), or -1 when perf events
 * are not available here. */
static int fault_counter(void)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_PAGE_FAULTS,
		.exclude_kernel = 0,
		.exclude_hv = 1,
	};
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static long long faults(int fd)
{
	long long n = -1;
	return read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n) ? n : -1;
}

static const char *g_pop_path;

/* Peer: joins the region the test created; its mapping must not be
 * populated whole (only what validation and fault-around touched). */
static int peer_join(void)
{
	struct shmk_events *r;
	size_t len;
	if (shmk_events_open_path(g_pop_path, &r))
		return 10;
	void *b = shmk_events_as_ptr(r, &len);
	long rss = t_rss_of(b);
	if (rss < 0)
		return 11;
	if ((size_t)rss > len / 2)
		return 12;
	shmk_events_close(r);
	return 0;
}

static void init_populate(void)
{
	int pf = fault_counter();
	if (pf < 0)
		H_SKIP("perf_event_open(PERF_COUNT_SW_PAGE_FAULTS) is not available here");
	/* On tmpfs (where events regions normally live, /dev/shm) a populated
	 * shared mapping is mapped writable; on a disk filesystem with dirty
	 * tracking the kernel populates it read-only and every first write
	 * still faults, so the count below means something only on tmpfs:
	 * the file goes to /dev/shm whatever $TMPDIR is. */
	char p[96];
	snprintf(p, sizeof(p), "/dev/shm/shmk-evpop-%d", (int)getpid());
	size_t len;
	/* The fault count of one create is noisy under load (the harness runs
	 * test programs side by side: text and heap pages faulted again after
	 * reclaim, the sanitizer's allocator): a warm-up create first, then
	 * the fewest faults of three creates.  Noise only adds faults, while
	 * a build that wrote through a mapping takes one per page every time. */
	shmk_events_close(must_open(p, NULL));
	unlink(p);
	long long taken = -1;
	struct shmk_events *r = NULL;
	for (int i = 0; i < 3; i++) {
		if (r) {
			shmk_events_close(r);
			unlink(p);
		}
		long long before = faults(pf);
		r = must_open(p, NULL);
		long long t = faults(pf) - before;
		CU_ASSERT(before >= 0);
		if (taken < 0 || t < taken)
			taken = t;
	}
	close(pf);
	shmk_events_as_ptr(r, &len);
	/* build() wrote all but the header, 141 of the 142 pages, through the
	 * file: they cost no user fault each (the header, the stack, the heap
	 * and the sanitizer's shadow take some: about 40 under ASan) */
	CU_ASSERT(taken < (long long)(len / 4096 / 2));
	/* and its mapping holds the header page alone: everything else went
	 * through the file, and the CAS of initialized, a write fault, was
	 * the first touch (a read fault may map the pages around it too) */
	long rss = t_rss_of(shmk_events_as_ptr(r, &len));
	CU_ASSERT(rss >= 0 && rss <= sysconf(_SC_PAGESIZE));
	/* a joiner in another process maps it lazily */
	g_pop_path = p;
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(peer_join());
	int st;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(init_populate, 20, "events.init.populate+3");
