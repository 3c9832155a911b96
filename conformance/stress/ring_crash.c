/* SPDX-License-Identifier: MIT */
/*
 * ring_crash: kill -9 at every step of a ring writer, liveness truth
 * (zombie, reused PID) and restart after a crash.
 *
 * 1. Trials (STRESS_TRIALS; 200 in make check, 10000 in make stress).  Each
 *    trial: a fresh ring; a reader process, a victim writer and a survivor
 *    writer.  Even trials SIGKILL the victim at a compile-time crash point
 *    (SHMK_CRASH_AT=<point>:N, cycling over every ring crash point, N
 *    random within the victim's writes); odd trials SIGKILL it at a
 *    uniform-random time.  The victim writes checksummed messages through
 *    write, writev and reserve/commit and counts each one whose call
 *    returned 0 in a side channel (anonymous shared memory).  The parent
 *    sees deaths through pidfds.  Per trial: no torn message (length +
 *    CRC), the victim's delivered sequence is exactly 0..committed-1 (plus
 *    at most the one message in flight at a random kill: its write returned
 *    nothing to count), nothing twice, nothing out of order; the survivor's
 *    messages all arrive; no survivor call blocks longer than 2 x
 *    SHMK_LIVENESS_MS, and the reader sees SHMK_EPEERDEAD within that once
 *    the last writer is gone, plus twice the scheduling delay the run
 *    measured (t_probe, during the trials; judged after them: SURVIVOR_WAKEUPS).  A third of the trials (both kinds) open the
 *    survivor only after the victim's first records: the victim, the one
 *    writer registered, writes unlocked (ring.writer.solo+4) until the
 *    survivor's first write fences it, or is killed unlocked.
 * 2. Liveness truth: a SIGKILLed writer left a zombie (not reaped): the
 *    reader's wait says SHMK_EPEERDEAD; in a private PID namespace a new
 *    process given the dead writer's PID (ns_last_pid) is not taken for it.
 * 1b. Mediated trials (a quarter as many): the owner (this process) reads and
 *    runs the mediator; a victim and a survivor mediated writer; the victim
 *    is SIGKILLed after a send whose reply it never saw (crash point
 *    ring.mediated.sent) or at a random time.  0 torn, the victim's records
 *    exactly what it committed plus the one in flight, the survivor's all,
 *    the victim's peer fd hangs up, the mediator counts both gone.
 * 3. Restart: reader and writers all SIGKILLed mid-traffic; a new reader
 *    attaches the same path, new writers write, messages flow; then
 *    `shmkit gc` (when built) removes the ring whose reader is dead.
 */
#include "crash.h"
#include "shmkit/ring.h"

#define PROG "ring_crash"
#define MAXMSG 512

static const char *const points[] = {
	"ring.write.locked", "ring.write.copying", "ring.write.copied", "ring.commit",
};
#define NPOINTS (sizeof(points) / sizeof(points[0]))

struct side {
	_Atomic uint64_t committed[2];	/* writer k: messages whose call returned 0 */
	_Atomic uint64_t delivered[2];	/* reader: next expected seq of writer k */
	_Atomic uint64_t torn, dup, lost, badtag;
	_Atomic int64_t max_call_ns;	/* survivor: longest single write call */
	_Atomic int64_t peerdead_ns;	/* reader: when EPEERDEAD came back */
	_Atomic int reader_err, writer_err[2];
	_Atomic uint64_t ebusy;
	_Atomic int late;		/* the survivor opens after the victim's first records */
	_Atomic int survivor_done;	/* late: the reader waits for it past EPEERDEAD */
};

static uint64_t g_seed;
static struct side *sh;
static struct h_barrier *bar;
static uint64_t g_tagbase = 100;	/* writer k's tag is g_tagbase + k */

/* One message through one of the three paths; EFULL retried.  0 or error. */
static int put(struct shmk_ring_writer *w, int how, uint8_t *buf, size_t n, int64_t *call_ns)
{
	for (;;) {
		int64_t t0 = shmk_now_ns();
		int rc = t_ring_put(w, how, buf, n, 3);
		int64_t d = shmk_now_ns() - t0;
		if (call_ns && d > *call_ns)
			*call_ns = d;
		if (rc == SHMK_EFULL) {
			sched_yield();
			continue;
		}
		if (rc == SHMK_EBUSY) {	/* a live holder descheduled past the deadline */
			atomic_fetch_add(&sh->ebusy, 1);
			continue;
		}
		return rc;
	}
}

/* k = 0 victim (count messages, or endless when count == 0), 1 survivor. */
static void writer_child(int wfd, unsigned k, const char *crash, uint64_t count, int how_fixed,
			 uint64_t rng)
{
	uint8_t buf[MAXMSG];
	struct shmk_ring_writer *w;

	if (crash)
		setenv("SHMK_CRASH_AT", crash, 1);
	int late = k == 1 && atomic_load(&sh->late);
	if (late) {
		/* The victim is the only writer ever registered until this
		 * open, so from its second record it writes unlocked
		 * (ring.writer.solo+4); the open lands mid-stream (or after
		 * its death) and the first write must fence it. */
		h_barrier_wait(bar, 30);
		int64_t until = shmk_now_ns() + 3000000;
		while (atomic_load(&sh->committed[0]) < 2 && shmk_now_ns() < until)
			sched_yield();
		t_pause_us(&rng, 300);
	}
	int rc = shmk_ring_writer_open(wfd, &w);
	if (rc) {
		sh->writer_err[k] = rc;
		atomic_store(&sh->survivor_done, 1);
		if (!late)
			h_barrier_wait(bar, 30);
		_exit(1);
	}
	if (!late)
		h_barrier_wait(bar, 30);
	int64_t worst = 0;
	for (uint64_t i = 0; count == 0 || i < count; i++) {
		size_t n = t_msg_make(buf, MAXMSG, k, i, g_seed);
		int how = how_fixed >= 0 ? how_fixed : (int)(t_rand(&rng) % 3);
		rc = put(w, how, buf, n, k == 1 ? &worst : NULL);
		if (rc) {
			sh->writer_err[k] = rc;
			atomic_store(&sh->survivor_done, k == 1);
			_exit(1);
		}
		/* the side channel: committed before the kill */
		atomic_store(&sh->committed[k], i + 1);
		if (k == 1)
			t_max_ns(&sh->max_call_ns, worst);
	}
	shmk_ring_writer_close(w);
	if (k == 1)
		atomic_store(&sh->survivor_done, 1);
	_exit(0);
}

/* Reads until no writer is left, checking and counting into sh. */
static void read_all(struct shmk_ring *r)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	uint64_t exp[2] = { 0, 0 };
	int rc;

	for (;;) {
		uint64_t tag;
		size_t n;
		/* Loaded before the read: a survivor done by now published all
		 * of its records before, so a read that then answers EPEERDEAD
		 * has none left to return.  (Loaded after the read, it could
		 * see a survivor that opened, wrote and left between the
		 * read's liveness verdict and its return: 64 records counted
		 * lost, once in 10,000 trials.) */
		int done = atomic_load(&sh->survivor_done);
		rc = shmk_ring_read_message(r, &tag, buf, sizeof(buf), &n, 30LL * 1000000000);
		if (rc == SHMK_EPEERDEAD && atomic_load(&sh->late) && !done) {
			/* late: the victim died before the survivor registered */
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (rc == SHMK_EPEERDEAD) {
			atomic_store(&sh->peerdead_ns, shmk_now_ns());
			break;
		}
		if (rc) {
			sh->reader_err = rc;
			break;
		}
		uint32_t prod;
		uint64_t seq;
		if (t_msg_check(buf, n, &prod, &seq)) {
			atomic_fetch_add(&sh->torn, 1);
			continue;
		}
		if (tag < g_tagbase) /* left unread by a crashed reader of an earlier round */
			continue;
		if (prod > 1 || tag != g_tagbase + prod) {
			atomic_fetch_add(&sh->badtag, 1);
			continue;
		}
		if (seq < exp[prod])
			atomic_fetch_add(&sh->dup, 1);
		else if (seq > exp[prod])
			atomic_fetch_add(&sh->lost, seq - exp[prod]); /* a gap: lost or reordered */
		if (seq >= exp[prod])
			exp[prod] = seq + 1;
		atomic_store(&sh->delivered[prod], exp[prod]);
	}
}

static void reader_child(const char *path, int close1, int close2)
{
	struct shmk_ring *r;

	close(close1);
	close(close2);
	int rc = shmk_ring_attach(path, &r);
	h_barrier_wait(bar, 30);
	if (rc) {
		sh->reader_err = rc;
		_exit(1);
	}
	read_all(r);
	shmk_ring_close(r);
	_exit(0);
}

/* Once both writers are forked: forks the reader, drops the parent's ends
 * of the writers' fds, and starts all three at the barrier.  The reader's pid. */
static pid_t start_reader(const char *path, const int wfd[2], const int peer[2])
{
	pid_t pid = fork();
	if (pid == 0)
		reader_child(path, wfd[0], wfd[1]);
	for (int k = 0; k < 2; k++) {
		close(wfd[k]);
		close(peer[k]);
	}
	h_barrier_wait(bar, 30);
	return pid;
}

struct totals {
	uint64_t trials, crash_trials, random_trials, late, torn, lost, dup, bad, failed;
	uint64_t committed, delivered, inflight;
	double max_unblock;
	uint64_t max_trial;	/* the trial of max_unblock */
	uint64_t per_point[NPOINTS];
};

/* Measures the machine's scheduling delay while the trials run. */
static struct t_probe *probe;

/* reliability.peer.unblock's 2 x L (t_unblock_bound), plus the scheduler's
 * delay at two wake-ups in a row of the blocked party: its wake-up from
 * the park whose look at the token finds the death (the reader's; a
 * survivor writer's at the dead holder's lock), then its wait on the run
 * queue before it returns (on a loaded CPU a woken process waits as the
 * probe does).  What the machine adds is not the library's; a survivor
 * that waited for anything else stays past the bound on a quiet machine. */
#define SURVIVOR_WAKEUPS 2

static int trial(uint64_t t, uint64_t *rng, struct totals *T)
{
	char path[256], crash[96];
	struct shmk_ring *r;
	struct shmk_ring_opts o = { .capacity = 65536 };
	int wfd[2], peer[2];
	int crash_mode = t % 2 == 0;
	unsigned point = (unsigned)((t / 2) % NPOINTS);
	uint64_t vcount = 1 + t_rand(rng) % 32;

	memset(sh, 0, sizeof(*sh));
	sh->late = (t / 2) % 3 == 2;
	T->late += sh->late;
	h_unique_path(path, sizeof(path), "ring-crash");
	int rc = shmk_ring_create(path, &o, &r);
	if (rc) {
		printf("%s: create: %s\n", PROG, shmk_strerror(rc));
		return -1;
	}
	for (int k = 0; k < 2; k++)
		if (shmk_ring_writer_new(r, g_tagbase + (uint64_t)k, &wfd[k], &peer[k]))
			return -1;
	shmk_ring_close(r);

	pid_t pids[3];
	pids[0] = fork();
	if (pids[0] == 0) {
		close(wfd[1]);
		if (crash_mode) {
			snprintf(crash, sizeof(crash), "%s:%" PRIu64, points[point],
				 1 + t_rand(rng) % vcount);
			/* ring.commit is on the reserve/commit path, the rest on write/writev */
			writer_child(wfd[0], 0, crash, vcount,
				     point == 3 ? 2 : (int)(t_rand(rng) % 2), *rng);
		}
		writer_child(wfd[0], 0, NULL, 0, -1, *rng);
	}
	pids[1] = fork();
	if (pids[1] == 0) {
		close(wfd[0]);
		writer_child(wfd[1], 1, NULL, 64, -1, *rng ^ 7);
	}
	pids[2] = start_reader(path, wfd, peer);
	if (!crash_mode) {
		t_pause_us(rng, 3000);
		kill(pids[0], SIGKILL);
	}
	double died[3];
	int st[3];
	rc = t_wait_all(pids, 3, died, st, h_deadline(60));
	unlink(path);

	uint64_t c0 = atomic_load(&sh->committed[0]), d0 = atomic_load(&sh->delivered[0]);
	uint64_t d1 = atomic_load(&sh->delivered[1]);
	int bad = 0;
	if (rc) {
		printf("%s: trial %" PRIu64 ": a participant hung (SIGKILLed after the deadline)\n",
		       PROG, t);
		bad = 1;
	}
	if (!t_killed(st[0])) {
		printf("%s: trial %" PRIu64 ": victim was not killed (status %#x, crash %s)\n",
		       PROG, t, st[0], crash_mode ? points[point] : "random");
		bad = 1;
	}
	if (!t_exited0(st[1]) || !t_exited0(st[2]) || sh->reader_err || sh->writer_err[1]) {
		printf("%s: trial %" PRIu64 ": survivor/reader failed (status %#x/%#x, %s / %s)\n",
		       PROG, t, st[1], st[2], shmk_strerror(sh->writer_err[1]),
		       shmk_strerror(sh->reader_err));
		bad = 1;
	}
	/* the victim: exactly what it committed; a random kill may land after
	 * publish but before the side channel was updated (one in flight) */
	uint64_t lost = (d0 < c0 ? c0 - d0 : 0) + (d1 < 64 ? 64 - d1 : 0) + sh->lost;
	if (d0 > c0 + (crash_mode ? 0 : 1)) {
		printf("%s: trial %" PRIu64 ": delivered %" PRIu64 " of the victim's, it committed "
		       "%" PRIu64 "\n", PROG, t, d0, c0);
		bad = 1;
	}
	if (d0 == c0 + 1)
		T->inflight++;
	if (lost || sh->dup || sh->torn || sh->badtag) {
		printf("%s: trial %" PRIu64 " (%s): %" PRIu64 " lost, %" PRIu64 " dup, %" PRIu64
		       " torn, %" PRIu64 " bad tag\n", PROG, t,
		       crash_mode ? points[point] : "random", lost, (uint64_t)sh->dup,
		       (uint64_t)sh->torn, (uint64_t)sh->badtag);
		bad = 1;
	}
	/* unblock: the reader after the last writer left; the survivor's calls */
	double last = died[0] > died[1] ? died[0] : died[1];
	double pd = (double)atomic_load(&sh->peerdead_ns) / 1e9;
	double unblock = pd > last ? pd - last : 0;
	double call = (double)atomic_load(&sh->max_call_ns) / 1e9;
	if (call > unblock)
		unblock = call;
	/* judged after the trials (all_trials) */
	if (unblock > T->max_unblock) {
		T->max_unblock = unblock;
		T->max_trial = t;
	}
	T->trials++;
	if (crash_mode) {
		T->crash_trials++;
		T->per_point[point]++;
	} else {
		T->random_trials++;
	}
	T->torn += sh->torn;
	T->dup += sh->dup;
	T->lost += lost;
	T->committed += c0 + 64;
	T->delivered += d0 + d1;
	T->failed += bad;
	return 0;
}

/* ------------------------------------------------------------ mediated writers */

struct med_totals {
	uint64_t trials, crash_trials, random_trials, torn, lost, dup, bad, failed;
	uint64_t inflight, gone_seen;
};

/* A child forked from the owner, whose mediator thread runs, keeps only
 * its socket end and stdio (t_only_fd).  Not re-exec'd: the writer's side
 * channel and barrier are this process's shared memory. */
/* The owner (this process: reader + mediator thread) and two mediated
 * writer processes; the victim is SIGKILLed after a send whose reply it
 * never saw (crash point ring.mediated.sent) or at a random time.  0 torn,
 * the victim's records exactly what it committed (+ the one in flight),
 * the survivor's all, the victim's peer fd hangs up, the mediator counts
 * both writers gone and the reader's wait ends with SHMK_EPEERDEAD. */
static int med_trial(uint64_t t, uint64_t *rng, struct med_totals *M, struct h_barrier *mbar)
{
	char path[256], crash[96];
	struct shmk_ring *r;
	struct shmk_ring_mediator *m;
	struct shmk_ring_opts o = { .capacity = 65536 };
	int wfd[2], peer[2];
	int crash_mode = t % 2 == 0;
	uint64_t vcount = 1 + t_rand(rng) % 32;
	struct h_barrier *saved = bar;
	pid_t pids[2];

	memset(sh, 0, sizeof(*sh));
	bar = mbar;
	h_unique_path(path, sizeof(path), "ring-crash-med");
	if (shmk_ring_create(path, &o, &r) || shmk_ring_mediator_start(r, &m))
		return -1;
	for (int k = 1; k >= 0; k--) {
		if (shmk_ring_mediated_new(m, g_tagbase + (uint64_t)k, &wfd[k], &peer[k]))
			return -1;
		int how = (int)(t_rand(rng) % 2); /* write or writev: no reserve when mediated */
		pids[k] = fork();
		if (pids[k] == 0) {
			t_only_fd(wfd[k]);
			if (k == 1)
				writer_child(wfd[1], 1, NULL, 64, how, *rng ^ 7);
			if (crash_mode) {
				snprintf(crash, sizeof(crash), "ring.mediated.sent:%" PRIu64,
					 1 + t_rand(rng) % vcount);
				writer_child(wfd[0], 0, crash, vcount, how, *rng);
			}
			writer_child(wfd[0], 0, NULL, 0, how, *rng);
		}
		close(wfd[k]);
	}
	h_barrier_wait(bar, 30);
	pid_t killer = -1;
	if (!crash_mode) {
		killer = fork();
		if (killer == 0) {
			t_only_fd(-1);
			t_pause_us(rng, 3000);
			kill(pids[0], SIGKILL);
			_exit(0);
		}
	}
	read_all(r);
	double died[2];
	int st[2];
	int rc = t_wait_all(pids, 2, died, st, h_deadline(60));
	if (killer > 0)
		waitpid(killer, NULL, 0);
	struct pollfd pf = { .fd = peer[0], .events = POLLIN };
	int gone = poll(&pf, 1, (int)h_deadline(10) * 1000) == 1 && (pf.revents & POLLHUP);
	struct shmk_ring_mediator_stats ms;
	shmk_ring_mediator_stats(m, &ms);
	int serving = ms.connected == 0 && ms.hangups == 2 && !ms.short_msgs && !ms.bad_header &&
		      !ms.oversized && !ms.ancillary;
	shmk_ring_mediator_stop(m);
	shmk_ring_close(r);
	unlink(path);
	close(peer[0]);
	close(peer[1]);
	bar = saved;

	uint64_t c0 = atomic_load(&sh->committed[0]), d0 = atomic_load(&sh->delivered[0]);
	uint64_t d1 = atomic_load(&sh->delivered[1]);
	int bad = 0;
	if (rc || !t_killed(st[0]) || !t_exited0(st[1]) || sh->reader_err || sh->writer_err[1]) {
		printf("%s: mediated trial %" PRIu64 ": hung or failed (status %#x/%#x, %s / %s)\n",
		       PROG, t, st[0], st[1], shmk_strerror(sh->writer_err[1]),
		       shmk_strerror(sh->reader_err));
		bad = 1;
	}
	/* a send whose reply never came was appended: one in flight at most,
	 * exactly one at the crash point */
	uint64_t lost = (d0 < c0 ? c0 - d0 : 0) + (d1 < 64 ? 64 - d1 : 0) + sh->lost;
	if (d0 > c0 + 1 || (crash_mode && d0 != c0 + 1)) {
		printf("%s: mediated trial %" PRIu64 ": delivered %" PRIu64 " of the victim's, it "
		       "committed %" PRIu64 "\n", PROG, t, d0, c0);
		bad = 1;
	}
	M->inflight += d0 == c0 + 1;
	if (lost || sh->dup || sh->torn || sh->badtag || !gone || !serving) {
		printf("%s: mediated trial %" PRIu64 " (%s): %" PRIu64 " lost, %" PRIu64 " dup, %"
		       PRIu64 " torn, %" PRIu64 " bad tag, victim %sseen gone, mediator: %u "
		       "connected, %" PRIu64 " hang-ups\n", PROG, t,
		       crash_mode ? "ring.mediated.sent" : "random", lost, (uint64_t)sh->dup,
		       (uint64_t)sh->torn, (uint64_t)sh->badtag, gone ? "" : "NOT ", ms.connected,
		       ms.hangups);
		bad = 1;
	}
	M->trials++;
	M->crash_trials += crash_mode;
	M->random_trials += !crash_mode;
	M->torn += sh->torn;
	M->dup += sh->dup;
	M->lost += lost;
	M->gone_seen += gone;
	M->failed += bad;
	return 0;
}

/* ------------------------------------------------------------ liveness */

/* Run by a child that then SIGKILLs itself (t_fork_zombie): opens the
 * writer whose fd *arg is, and dies holding it. */
static int open_writer(void *arg)
{
	struct shmk_ring_writer *w;

	return shmk_ring_writer_open(*(int *)arg, &w);
}

/* In the caller's PID namespace: a killed, unreaped writer (zombie). */
static int zombie_check(void)
{
	char path[256];
	struct shmk_ring *r;
	struct shmk_ring_opts o = { .capacity = 65536 };
	int wfd, peer;

	h_unique_path(path, sizeof(path), "ring-zombie");
	if (shmk_ring_create(path, &o, &r) || shmk_ring_writer_new(r, 1, &wfd, &peer))
		return -1;
	pid_t pid = t_fork_zombie(open_writer, &wfd);
	close(wfd);
	if (pid < 0)
		return -1;
	char state = t_proc_state(pid);
	int64_t t0 = shmk_now_ns();
	int rc = shmk_ring_wait(r, 0, (int64_t)(10 * 1e9));
	double took = (double)(shmk_now_ns() - t0) / 1e9;
	char state2 = t_proc_state(pid);
	waitpid(pid, NULL, 0);
	close(peer);
	shmk_ring_close(r);
	unlink(path);
	printf("%s: zombie writer (state %c..%c): ring_wait -> %s after %.3f s\n", PROG, state,
	       state2, shmk_strerror(rc), took);
	return state == 'Z' && state2 == 'Z' && rc == SHMK_EPEERDEAD && took < t_unblock_bound()
		       ? 0 : 1;
}

/* As init of a private PID namespace: writer A dies and is reaped, a
 * stranger B gets A's PID; the ring must still see no live writer. */
static int pidreuse_role(void)
{
	char path[256];
	struct shmk_ring *r;
	struct shmk_ring_opts o = { .capacity = 65536 };
	int wfd, peer;

	snprintf(path, sizeof(path), "/dev/shm/shmk-ringreuse-%d", (int)getpid());
	unlink(path);
	if (shmk_ring_create(path, &o, &r) || shmk_ring_writer_new(r, 1, &wfd, &peer))
		return 2;
	pid_t a, b;
	int release;
	int step = t_reuse_dead(PROG, open_writer, &wfd, &a, &b, &release);
	close(wfd);
	if (step)
		return 2 + step;
	int rc = shmk_ring_wait(r, 0, (int64_t)(10 * 1e9));
	t_release(b, release);
	shmk_ring_close(r);
	unlink(path);
	printf("%s: pid %d reused by a stranger: ring_wait -> %s\n", PROG, (int)a,
	       shmk_strerror(rc));
	return rc == SHMK_EPEERDEAD ? 0 : 8;
}

/* ------------------------------------------------------------- restart */

static int restart_check(uint64_t *rng, int *gc_state)
{
	char path[256];
	struct shmk_ring *r;
	struct shmk_ring_opts o = { .capacity = 65536 };
	int wfd[2], peer[2];

	/* the ring lives in its own directory so gc sees only it */
	snprintf(path, sizeof(path), "%s/gc-ring", h_tmpdir());
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", h_tmpdir());
	for (int round = 0; round < 2; round++) {
		memset(sh, 0, sizeof(*sh));
		g_tagbase = 1000 + 10 * (uint64_t)round;
		int rc = round == 0 ? shmk_ring_create(path, &o, &r) : shmk_ring_attach(path, &r);
		if (rc) {
			printf("%s: restart round %d: %s: %s (%s)\n", PROG, round,
			       round ? "attach" : "create", shmk_strerror(rc), shmk_errdetail());
			return 1;
		}
		if (round == 1) { /* create with the same name names the leftover */
			struct shmk_ring *r2;
			int rc2 = shmk_ring_create(path, &o, &r2);
			printf("%s: restart: create over the crashed ring -> %s; attach -> ok\n", PROG,
			       shmk_strerror(rc2));
			if (rc2 != -EEXIST)
				return 1;
		}
		for (int k = 0; k < 2; k++)
			if (shmk_ring_writer_new(r, g_tagbase + (uint64_t)k, &wfd[k], &peer[k]))
				return 1;
		shmk_ring_close(r);
		pid_t pids[3];
		for (int k = 0; k < 2; k++) {
			pids[k] = fork();
			if (pids[k] == 0) {
				close(wfd[1 - k]);
				writer_child(wfd[k], (unsigned)k, NULL, round ? 200 : 0, -1, *rng + k);
			}
		}
		pids[2] = start_reader(path, wfd, peer);
		double died[3];
		int st[3];
		if (round == 0) {
			/* kill every participant mid-traffic */
			t_pause_us(rng, 5000);
			for (int k = 0; k < 3; k++)
				kill(pids[k], SIGKILL);
			t_wait_all(pids, 3, died, st, h_deadline(30));
			continue;
		}
		/* round 1: the writers finish; survivor k=0 and k=1 both write 200 */
		rc = t_wait_all(pids, 3, died, st, h_deadline(60));
		int ok = !rc && t_exited0(st[0]) && t_exited0(st[1]) && t_exited0(st[2]) &&
			 sh->delivered[0] == 200 && sh->delivered[1] == 200 && !sh->torn &&
			 !sh->dup && !sh->lost;
		printf("%s: restart after kill of all: new reader + writers delivered %" PRIu64
		       "+%" PRIu64 " of 200+200 (%s)\n", PROG, (uint64_t)sh->delivered[0],
		       (uint64_t)sh->delivered[1], ok ? "ok" : "FAILED");
		if (!ok)
			return 1;
	}
	/* leave a crashed ring behind once more, then gc */
	if (shmk_ring_attach(path, &r))
		return 1;
	pid_t z = fork();
	if (z == 0) {
		struct shmk_ring *r2;
		/* a reader that dies holding the ring */
		shmk_ring_close(r);
		if (shmk_ring_attach(path, &r2))
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	shmk_ring_close(r);
	waitpid(z, NULL, 0);
	char out[2048];
	int g = t_gc(PROG, dir, out, sizeof(out), gc_state);
	if (g != -ENOENT)
		t_gc_report(PROG, dir, g, "ring", access(path, F_OK) != 0, out, 0, gc_state);
	unlink(path);
	return *gc_state == 0;
}

static struct totals T;

static int run_trials(uint64_t n, uint64_t *rng)
{
	bar = h_barrier_new(4);
	printf("%s: seed %" PRIu64 ", %" PRIu64 " trials (victim writer SIGKILLed at %zu crash "
	       "points and at random times), SHMK_LIVENESS_MS %.0f\n",
	       PROG, g_seed, n, NPOINTS, t_liveness_s() * 1000);
	for (uint64_t t = 0; t < n; t++)
		if (trial(t, rng, &T))
			break;
	printf("ring-writers: %" PRIu64 " trials (%" PRIu64 " at crash points: locked %" PRIu64
	       ", copying %" PRIu64 ", copied %" PRIu64 ", commit %" PRIu64 "; %" PRIu64
	       " random; %" PRIu64 " with the survivor opening late), %" PRIu64 " torn, %" PRIu64 " lost, %" PRIu64 " duplicated, %" PRIu64
	       " in flight at the kill delivered, max unblock %.3f s (bound %.3f s: 2 x scheduling "
	       "delay %.3f s), seed %" PRIu64 "%s\n",
	       T.trials, T.crash_trials, T.per_point[0], T.per_point[1], T.per_point[2],
	       T.per_point[3], T.random_trials, T.late, T.torn, T.lost, T.dup, T.inflight, T.max_unblock,
	       t_survivor_bound(probe, SURVIVOR_WAKEUPS), (double)t_probe_max_ns(probe) / 1e9, g_seed,
	       T.trials == n ? "" : " incomplete");
	return T.trials == n && !T.failed;
}

/* mediated writers: a quarter as many trials (one crash point) */
static struct med_totals M;
static int med_ok, med_complete;

static int run_med_trials(uint64_t n, uint64_t *rng)
{
	uint64_t mn = n / 4 ? n / 4 : 1;
	struct h_barrier *mbar = h_barrier_new(3);
	for (uint64_t t = 0; t < mn; t++)
		if (med_trial(t, rng, &M, mbar))
			break;
	h_barrier_free(mbar);
	med_complete = M.trials == mn;
	med_ok = med_complete && !M.failed;
	printf("ring-mediated: %" PRIu64 " trials (%" PRIu64 " killed at ring.mediated.sent, %"
	       PRIu64 " random), %" PRIu64 " torn, %" PRIu64 " lost, %" PRIu64 " duplicated, %"
	       PRIu64 " in flight at the kill delivered, %" PRIu64 " victims seen gone, seed %"
	       PRIu64 "%s\n", M.trials, M.crash_trials, M.random_trials, M.torn, M.lost, M.dup,
	       M.inflight, M.gone_seen, g_seed, med_complete ? "" : " incomplete");
	return med_ok;
}

static int all_trials(uint64_t n, uint64_t *rng)
{
	probe = t_probe_start();	/* during the trials, not before */
	int direct = run_trials(n, rng);
	int med = run_med_trials(n, rng);
	t_probe_stop(probe);
	if (t_judge_unblock(probe, SURVIVOR_WAKEUPS, PROG, "ring-writers", T.max_unblock, T.max_trial)) {
		T.failed++;
		direct = 0;
	}
	return med && direct;
}

static void finish(const struct t_after *a, int crash_ok, char *counts, size_t len)
{
	h_evidence(PROG, "stress", "crash", "reliability.crash.committed", crash_ok);
	h_evidence(PROG, "stress", "crash", "reliability.peer.unblock", crash_ok);
	h_evidence(PROG, "stress", "crash", "ring.writer.lock.recover", crash_ok);
	h_evidence(PROG, "stress", "crash", "ring.writer.publish", crash_ok);
	h_evidence(PROG, "stress", "zombie", "ring.reader.wait.peerdead", !a->zombie);
	h_evidence(PROG, "stress", "mediated", "ring.mediated.liveness", med_ok);
	h_evidence(PROG, "stress", "mediated", "ring.mediated.peerdead", med_ok);
	h_evidence(PROG, "stress", "restart", "ring.reader.single", !a->restart);
	h_barrier_free(bar);
	snprintf(counts, len, "\"trials\": %" PRIu64 ", \"crash_point_trials\": %" PRIu64
		 ", \"random_trials\": %" PRIu64 ", \"torn\": %" PRIu64 ", \"lost\": %" PRIu64
		 ", \"duplicated\": %" PRIu64 ", \"inflight_delivered\": %" PRIu64
		 ", \"max_unblock_s\": %.3f, \"sched_delay_s\": %.3f, \"complete\": %d"
		 ", \"mediated_trials\": %" PRIu64 ", \"mediated_torn\": %" PRIu64
		 ", \"mediated_lost\": %" PRIu64 ", \"mediated_duplicated\": %" PRIu64
		 ", \"mediated_gone_seen\": %" PRIu64,
		 T.trials, T.crash_trials, T.random_trials, T.torn, T.lost, T.dup, T.inflight,
		 T.max_unblock, (double)t_probe_max_ns(probe) / 1e9,
		 T.trials == t_trials() && med_complete, M.trials, M.torn, M.lost,
		 M.dup, M.gone_seen);
}

int main(int argc, char **argv)
{
	sh = t_shared_alloc(sizeof(*sh));
	return t_crash_main(argc, argv, sh, &(const struct t_crash_prog){ .prog = PROG,
		.seed = &g_seed, .pidreuse_role = pidreuse_role, .trials = all_trials,
		.zombie = zombie_check, .restart = restart_check, .finish = finish });
}
