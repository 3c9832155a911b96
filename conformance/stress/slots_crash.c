/* SPDX-License-Identifier: MIT */
/*
 * slots_crash: kill -9 of the slots owner and of its readers at every step,
 * liveness truth (zombie owner, zombie and PID-reused reader) and restart
 * after a crash.
 *
 * 1. Trials (STRESS_TRIALS; 200 in make check, 10000 in make stress), in a
 *    cycle of four kinds:
 *      owner-point   the owner is SIGKILLed at SHMK_CRASH_AT=
 *                    slots.commit.before_publish:N (N within its commits);
 *      owner-random  the owner is SIGKILLed at a random time;
 *      reader-random one of the two readers is SIGKILLed at a random time;
 *      owner-init    the owner is SIGKILLed at slots.flink.before_link
 *                    (inside create): no flink may appear, and a new
 *                    owner creates the same flink at once.
 *    The owner commits checksummed samples addressed to both readers and
 *    counts each commit that returned 0 in a side channel; readers take
 *    every sample (next_unread_slot, read_slot, mark_read) and check
 *    length + CRC, order and duplicates.  Per trial: no torn sample; a
 *    killed owner's committed samples reach every surviving reader exactly
 *    once and in order (plus at most the one in flight at a random kill); a
 *    surviving owner's samples all reach the surviving reader, and what the
 *    killed reader had not taken is counted apart ("reader-held lost");
 *    readers see SHMK_EPEERDEAD and the owner gets past the dead reader's
 *    pinned slots within 2 x SHMK_LIVENESS_MS plus twice the scheduling
 *    delay the run measured (t_probe: the blocked party's wake-up from its
 *    park and its wait on the run queue).  The dead owner's flink is
 *    then reclaimed with shmk_slots_reclaim_stale.
 * 2. Liveness truth: a SIGKILLed, unreaped owner (zombie) gives its reader
 *    SHMK_EPEERDEAD; a zombie reader pinning every slot is reaped by
 *    reserve_slot; in a private PID namespace a reader whose PID went to a
 *    stranger is reaped too.
 * 3. Restart: owner and readers SIGKILLed mid-traffic; create at the same
 *    flink says SHMK_ESTALE naming the flink, REPLACE_STALE comes up and
 *    traffic flows; after another kill of all, `shmkit gc` (when built)
 *    removes the flink and its segment.
 */
#include "crash.h"
#include "shmkit/slots.h"

#include <dirent.h>

#define PROG "slots_crash"
#define CAP 256
#define NSLOTS 4

struct side {
	_Atomic uint64_t committed;	/* owner: samples whose commit returned 0 */
	_Atomic uint64_t delivered[2];	/* reader i: next expected seq */
	_Atomic uint64_t torn, dup, lost;
	_Atomic int64_t owner_stall_ns;	/* owner: longest EFULL .. reserved */
	_Atomic int64_t peerdead_ns[2];	/* reader i: when EPEERDEAD came back */
	_Atomic int owner_err, reader_err[2];
	_Atomic int owner_done;
};

enum kind { OWNER_POINT, OWNER_RANDOM, READER_RANDOM, OWNER_INIT, NKINDS };
static const char *const kind_name[] = { "owner-point", "owner-random", "reader-random",
					 "owner-init" };

static uint64_t g_seed;
static struct side *sh;
static struct h_barrier *bar;

static void owner_child(const char *flink, const char *crash, uint64_t count, uint32_t flags)
{
	uint8_t buf[CAP];
	struct shmk_slots *s;
	struct shmk_slots_opts o = { .flags = flags };

	if (crash)
		setenv("SHMK_CRASH_AT", crash, 1);
	int rc = shmk_slots_create_opts(flink, NSLOTS, CAP, &o, &s);
	if (rc) {
		sh->owner_err = rc;
		_exit(1);
	}
	h_barrier_wait(bar, 30);	/* created: readers attach */
	h_barrier_wait(bar, 30);	/* readers registered */
	for (uint64_t i = 0; count == 0 || i < count; i++) {
		shmk_slot_handle_t h;
		int64_t stall0 = 0;
		for (;;) {
			uint64_t g = shmk_slots_notify_generation(s);
			rc = shmk_slots_reserve_slot(s, 0x3, &h);
			if (rc != SHMK_EFULL)
				break;
			if (!stall0)
				stall0 = shmk_now_ns();
			/* a dead reader bumps nothing: bound the wait, reserve again (reaps) */
			rc = shmk_slots_wait_for_change(s, g, shmk_liveness_ns());
			if (rc && rc != -ETIMEDOUT)
				break;
		}
		if (stall0)
			t_max_ns(&sh->owner_stall_ns, shmk_now_ns() - stall0);
		if (rc) {
			sh->owner_err = rc;
			_exit(1);
		}
		size_t n = t_msg_make(buf, CAP, 0, i, g_seed);
		uint64_t sn;
		rc = shmk_slots_commit_slot(s, h, buf, n, &sn, NULL);
		if (rc) {
			sh->owner_err = rc;
			_exit(1);
		}
		atomic_store(&sh->committed, i + 1); /* the side channel */
	}
	atomic_store(&sh->owner_done, 1);
	shmk_slots_close(s);
	_exit(0);
}

/* Takes everything pending; 0, or an error. */
static int drain(struct shmk_slots *s, unsigned idx, uint64_t *exp)
{
	uint8_t buf[CAP];
	shmk_slot_handle_t h;
	int rc;

	while ((rc = shmk_slots_next_unread_slot(s, idx, &h)) == 1) {
		struct shmk_slot_info info;
		rc = shmk_slots_read_slot(s, h, buf, sizeof(buf), &info);
		if (rc)
			return rc;
		uint32_t prod;
		uint64_t seq;
		if (t_msg_check(buf, info.sample_size, &prod, &seq) || prod != 0) {
			atomic_fetch_add(&sh->torn, 1);
		} else {
			if (seq < *exp)
				atomic_fetch_add(&sh->dup, 1);
			else if (seq > *exp)
				atomic_fetch_add(&sh->lost, seq - *exp);
			if (seq >= *exp)
				*exp = seq + 1;
			atomic_store(&sh->delivered[idx], *exp);
		}
		rc = shmk_slots_mark_read(s, h, idx);
		if (rc)
			return rc;
	}
	return rc;
}

static void reader_child(const char *flink, unsigned idx)
{
	struct shmk_slots *s;
	unsigned got;
	uint64_t exp = 0;

	h_barrier_wait(bar, 30);
	int rc = shmk_slots_attach(flink, &s);
	if (!rc)
		rc = shmk_slots_register_reader(s, (int)idx, &got);
	h_barrier_wait(bar, 30);
	if (rc) {
		sh->reader_err[idx] = rc;
		_exit(1);
	}
	for (;;) {
		uint64_t g = shmk_slots_notify_generation(s);
		rc = drain(s, idx, &exp);
		if (rc)
			break;
		rc = shmk_slots_wait_for_change(s, g, 30LL * 1000000000);
		if (rc == SHMK_EPEERDEAD) {
			atomic_store(&sh->peerdead_ns[idx], shmk_now_ns());
			rc = drain(s, idx, &exp); /* what was published before the end */
			break;
		}
		if (rc)
			break;
	}
	if (rc)
		sh->reader_err[idx] = rc;
	shmk_slots_close(s);
	_exit(rc ? 1 : 0);
}

struct totals {
	uint64_t trials, per_kind[NKINDS], torn, lost, dup, held_lost, inflight, failed;
	uint64_t reclaimed, committed, orphans;
	double max_unblock;
	uint64_t max_trial;	/* the trial of max_unblock */
};

static int owner_init_trial(uint64_t t, struct totals *T)
{
	char flink[256];
	int bad = 0;

	h_unique_path(flink, sizeof(flink), "slots-init");
	pid_t pid = fork();
	if (pid == 0) {
		setenv("SHMK_CRASH_AT", "slots.flink.before_link", 1);
		struct shmk_slots *s;
		shmk_slots_create(flink, NSLOTS, CAP, &s);
		_exit(3); /* not reached when the crash point fires */
	}
	double died;
	int st;
	t_wait_all(&pid, 1, &died, &st, h_deadline(30));
	if (!t_killed(st) || access(flink, F_OK) == 0) {
		printf("%s: trial %" PRIu64 " (owner-init): status %#x, flink %s\n", PROG, t, st,
		       access(flink, F_OK) ? "absent" : "PRESENT");
		bad = 1;
	}
	/* The segment it made before the flink is an orphan no flink names:
	 * count it and remove it (`shmkit gc` would, its owner being dead). */
	char pat[64];
	int plen = snprintf(pat, sizeof(pat), "shmk-slots-%d-", (int)pid);
	DIR *d = opendir("/dev/shm");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, pat, (size_t)plen)) {
			char seg[320];
			snprintf(seg, sizeof(seg), "/%s", de->d_name);
			if (!shm_unlink(seg))
				T->orphans++;
		}
	}
	if (d)
		closedir(d);
	/* restart at once: the half-created owner left no flink to trip on.
	 * In a child: the parent must never reach a crash point itself (its
	 * children would inherit the already-read, empty SHMK_CRASH_AT). */
	memset(sh, 0, sizeof(*sh));
	pid = fork();
	if (pid == 0) {
		struct shmk_slots *s;
		int rc = shmk_slots_create(flink, NSLOTS, CAP, &s);
		sh->owner_err = rc;
		if (rc)
			printf("%s: trial %" PRIu64 " (owner-init): re-create: %s (%s)\n", PROG, t,
			       shmk_strerror(rc), shmk_errdetail());
		else
			shmk_slots_close(s);
		_exit(rc ? 1 : 0);
	}
	t_wait_all(&pid, 1, &died, &st, h_deadline(30));
	if (!t_exited0(st))
		bad = 1;
	unlink(flink);
	T->failed += bad;
	return 0;
}

/* A fresh owner (count samples, 0: endless; crash: its SHMK_CRASH_AT or
 * NULL) + 2 readers on flink, past both start barriers. */
static void spawn_set(const char *flink, const char *crash, uint64_t count, uint32_t flags,
		      pid_t pids[3])
{
	memset(sh, 0, sizeof(*sh));
	pids[0] = fork();
	if (pids[0] == 0)
		owner_child(flink, crash, count, flags);
	for (unsigned i = 0; i < 2; i++) {
		pids[1 + i] = fork();
		if (pids[1 + i] == 0)
			reader_child(flink, i);
	}
	h_barrier_wait(bar, 30);
	h_barrier_wait(bar, 30);
}

/* Measures the machine's scheduling delay while the trials run. */
static struct t_probe *probe;

static int trial(uint64_t t, uint64_t *rng, struct totals *T)
{
	enum kind k = (enum kind)(t % NKINDS);
	char flink[256], crash[96];
	uint64_t count = 1 + t_rand(rng) % (k == READER_RANDOM ? 400 : 40);
	int victim = k == READER_RANDOM ? 1 + (int)(t_rand(rng) % 2) : 0; /* pids[] index */

	T->trials++;
	T->per_kind[k]++;
	if (k == OWNER_INIT)
		return owner_init_trial(t, T);
	h_unique_path(flink, sizeof(flink), "slots-crash");
	const char *point = NULL;
	if (k == OWNER_POINT) {
		/* drawn from a copy: the parent's rng stays where it was, as when
		 * the owner child drew it from its own copy */
		uint64_t r = *rng;
		snprintf(crash, sizeof(crash), "slots.commit.before_publish:%" PRIu64,
			 1 + t_rand(&r) % count);
		point = crash;
	}
	pid_t pids[3];
	/* random owner kills: endless; reader kills: a fixed count */
	spawn_set(flink, point, k == OWNER_RANDOM ? 0 : count, 0, pids);
	if (k != OWNER_POINT) {
		t_pause_us(rng, 2000);
		kill(pids[victim], SIGKILL);
	}
	double died[3];
	int st[3], rc = 0;
	uint64_t c_at_death = 0;
	if (k == READER_RANDOM) {
		/* the killed reader first: what was committed by its death is
		 * what it could have held */
		rc = t_wait_all(&pids[victim], 1, &died[victim], &st[victim], h_deadline(60));
		c_at_death = atomic_load(&sh->committed);
		pid_t rest[2] = { pids[0], pids[victim == 1 ? 2 : 1] };
		double d2[2];
		int s2[2];
		rc |= t_wait_all(rest, 2, d2, s2, h_deadline(60));
		died[0] = d2[0];
		st[0] = s2[0];
		died[victim == 1 ? 2 : 1] = d2[1];
		st[victim == 1 ? 2 : 1] = s2[1];
	} else {
		rc = t_wait_all(pids, 3, died, st, h_deadline(60));
	}
	int bad = 0;
	if (rc) {
		printf("%s: trial %" PRIu64 " (%s): a participant hung\n", PROG, t, kind_name[k]);
		bad = 1;
	}
	if (!t_killed(st[victim])) {
		/* a reader killed after the owner finished and it drained: exited 0 */
		if (!(k == READER_RANDOM && t_exited0(st[victim]))) {
			printf("%s: trial %" PRIu64 " (%s): victim status %#x\n", PROG, t,
			       kind_name[k], st[victim]);
			bad = 1;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (i == victim)
			continue;
		if (!t_exited0(st[i])) {
			int e = i == 0 ? sh->owner_err : sh->reader_err[i - 1];
			printf("%s: trial %" PRIu64 " (%s): survivor %d status %#x: %s\n", PROG, t,
			       kind_name[k], i, st[i], shmk_strerror(e));
			bad = 1;
		}
	}
	uint64_t c = atomic_load(&sh->committed), lost = sh->lost;
	double unblock = (double)atomic_load(&sh->owner_stall_ns) / 1e9;
	for (unsigned i = 0; i < 2; i++) {
		uint64_t d = atomic_load(&sh->delivered[i]);
		if ((int)i + 1 == victim) {
			/* committed by its death, not taken: lost with the reader */
			T->held_lost += c_at_death > d ? c_at_death - d : 0;
			continue;
		}
		if (d < c)
			lost += c - d;
		if (d > c + (k == OWNER_RANDOM ? 1 : 0)) {
			printf("%s: trial %" PRIu64 " (%s): reader %u got %" PRIu64
			       " samples, %" PRIu64 " committed\n", PROG, t, kind_name[k], i, d, c);
			bad = 1;
		}
		if (d == c + 1)
			T->inflight++;
		if (victim == 0) {
			double pd = (double)atomic_load(&sh->peerdead_ns[i]) / 1e9;
			double u = pd > died[0] ? pd - died[0] : 0;
			if (u > unblock)
				unblock = u;
		}
	}
	if (k == READER_RANDOM && c != count) {
		printf("%s: trial %" PRIu64 ": the owner committed %" PRIu64 " of %" PRIu64 "\n",
		       PROG, t, c, count);
		bad = 1;
	}
	if (lost || sh->dup || sh->torn) {
		printf("%s: trial %" PRIu64 " (%s): %" PRIu64 " lost, %" PRIu64 " dup, %" PRIu64
		       " torn\n", PROG, t, kind_name[k], lost, (uint64_t)sh->dup,
		       (uint64_t)sh->torn);
		bad = 1;
	}
	/* judged after the trials (run_trials) */
	if (unblock > T->max_unblock) {
		T->max_unblock = unblock;
		T->max_trial = t;
	}
	if (victim == 0) { /* the dead owner's flink + segment: reclaim */
		rc = shmk_slots_reclaim_stale(flink);
		if (rc) {
			printf("%s: trial %" PRIu64 ": reclaim_stale: %s\n", PROG, t,
			       shmk_strerror(rc));
			bad = 1;
		} else {
			T->reclaimed++;
		}
	}
	unlink(flink);
	T->torn += sh->torn;
	T->dup += sh->dup;
	T->lost += lost;
	T->committed += c;
	T->failed += bad;
	return 0;
}

/* ------------------------------------------------------------ liveness */

static int mk_owner(void *flink)
{
	struct shmk_slots *s;
	return shmk_slots_create(flink, 2, CAP, &s);
}

static int mk_reader(void *flink)
{
	struct shmk_slots *s;
	unsigned idx;
	return shmk_slots_attach(flink, &s) || shmk_slots_register_reader(s, 0, &idx);
}

/* zombie owner -> EPEERDEAD; zombie reader -> reaped.  0 ok. */
static int zombie_check(void)
{
	char flink[256];
	int bad = 0;

	h_unique_path(flink, sizeof(flink), "slots-zombie");
	pid_t o = t_fork_zombie(mk_owner, flink);
	if (o < 0)
		return 1;
	struct shmk_slots *r;
	int rc = shmk_slots_attach(flink, &r);
	char st = t_proc_state(o);
	int64_t t0 = shmk_now_ns();
	int w = rc ? rc : shmk_slots_wait_for_change(r, shmk_slots_notify_generation(r),
						      (int64_t)(10 * 1e9));
	double took = (double)(shmk_now_ns() - t0) / 1e9;
	char st2 = t_proc_state(o);
	printf("%s: zombie owner (state %c..%c): wait_for_change -> %s after %.3f s\n", PROG, st,
	       st2, shmk_strerror(w), took);
	bad |= st != 'Z' || st2 != 'Z' || w != SHMK_EPEERDEAD || took > t_unblock_bound();
	if (!rc)
		shmk_slots_close(r);
	waitpid(o, NULL, 0);
	bad |= shmk_slots_reclaim_stale(flink) != 0;

	/* a zombie reader pins both slots until reserve reaps it */
	struct shmk_slots *s;
	if (shmk_slots_create(flink, 2, CAP, &s))
		return 1;
	pid_t rd = t_fork_zombie(mk_reader, flink);
	if (rd < 0)
		return 1;
	shmk_slot_handle_t h;
	uint64_t sn;
	uint8_t buf[CAP];
	size_t n = t_msg_make(buf, CAP, 0, 0, g_seed);
	for (int i = 0; i < 2; i++)
		if (shmk_slots_reserve_slot(s, 1, &h) ||
		    shmk_slots_commit_slot(s, h, buf, n, &sn, NULL))
			bad = 1;
	st = t_proc_state(rd);
	rc = shmk_slots_reserve_slot(s, 1, &h);
	printf("%s: zombie reader (state %c) pinning every slot: reserve_slot -> %s\n", PROG, st,
	       shmk_strerror(rc));
	bad |= st != 'Z' || rc != 0;
	waitpid(rd, NULL, 0);
	shmk_slots_close(s);
	unlink(flink);
	return bad;
}

/* As init of a private PID namespace: reader A dies and is reaped, a
 * stranger gets A's PID; reserve_slot must still reap A. */
static int pidreuse_role(void)
{
	char flink[256];
	struct shmk_slots *s;

	snprintf(flink, sizeof(flink), "/tmp/shmk-slotsreuse-%d.flink", (int)getpid());
	unlink(flink);
	if (shmk_slots_create(flink, 2, CAP, &s))
		return 2;
	pid_t a, stranger;
	int release;
	int step = t_reuse_dead(PROG, mk_reader, flink, &a, &stranger, &release);
	if (step)
		return 2 + step;
	shmk_slot_handle_t h;
	uint64_t sn;
	uint8_t buf[CAP];
	size_t n = t_msg_make(buf, CAP, 0, 0, 1);
	int bad = 0;
	for (int i = 0; i < 2; i++)
		if (shmk_slots_reserve_slot(s, 1, &h) ||
		    shmk_slots_commit_slot(s, h, buf, n, &sn, NULL))
			bad = 1;
	int rc = shmk_slots_reserve_slot(s, 1, &h);
	t_release(stranger, release);
	shmk_slots_close(s);
	unlink(flink);
	printf("%s: reader pid %d reused by a stranger: reserve_slot -> %s\n", PROG, (int)a,
	       shmk_strerror(rc));
	return bad ? 7 : rc ? 8 : 0;
}

/* ------------------------------------------------------------- restart */

/* Owner + 2 readers, everyone SIGKILLed after a random moment. */
static void run_and_kill_all(const char *flink, uint32_t flags, uint64_t *rng)
{
	pid_t pids[3];
	spawn_set(flink, NULL, 0, flags, pids);
	t_pause_us(rng, 5000);
	for (int i = 0; i < 3; i++)
		kill(pids[i], SIGKILL);
	double died[3];
	int st[3];
	t_wait_all(pids, 3, died, st, h_deadline(30));
}

static int restart_check(uint64_t *rng, int *gc_state)
{
	char dir[256], flink[300];
	int bad = 0;

	snprintf(dir, sizeof(dir), "%s/gc-slots", h_tmpdir());
	mkdir(dir, 0700);
	snprintf(flink, sizeof(flink), "%s/restart.flink", dir);
	run_and_kill_all(flink, 0, rng);
	uint64_t before = sh->committed;

	struct shmk_slots *s;
	int rc = shmk_slots_create(flink, NSLOTS, CAP, &s);
	const char *det = shmk_errdetail();
	int named = det && strstr(det, "restart.flink");
	printf("%s: restart: create over the crashed owner's flink -> %s (%s)\n", PROG,
	       shmk_strerror(rc), det ? det : "");
	bad |= rc != SHMK_ESTALE || !named;
	if (!rc)
		shmk_slots_close(s);

	/* REPLACE_STALE: the new owner and readers come up and samples flow */
	pid_t pids[3];
	spawn_set(flink, NULL, 100, SHMK_SLOTS_REPLACE_STALE, pids);
	double died[3];
	int st[3];
	rc = t_wait_all(pids, 3, died, st, h_deadline(60));
	int ok = !rc && t_exited0(st[0]) && t_exited0(st[1]) && t_exited0(st[2]) &&
		 sh->delivered[0] == 100 && sh->delivered[1] == 100 && !sh->torn && !sh->dup;
	printf("%s: restart after kill of all (%" PRIu64 " committed before): REPLACE_STALE owner "
	       "+ 2 readers delivered %" PRIu64 "+%" PRIu64 " of 100+100 (%s)\n", PROG, before,
	       (uint64_t)sh->delivered[0], (uint64_t)sh->delivered[1], ok ? "ok" : "FAILED");
	bad |= !ok;

	/* crash again, then gc */
	run_and_kill_all(flink, SHMK_SLOTS_REPLACE_STALE, rng);
	char seg[300] = "";
	FILE *f = fopen(flink, "r");
	if (f) {
		char name[256] = "";
		if (fgets(name, sizeof(name), f))
			snprintf(seg, sizeof(seg), "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
		fclose(f);
		seg[strcspn(seg, "\n")] = 0;
	}
	char out[2048], what[320];
	int g = t_gc(PROG, dir, out, sizeof(out), gc_state);
	if (g != -ENOENT) {
		int gone = access(flink, F_OK) != 0 && (!seg[0] || access(seg, F_OK) != 0);
		snprintf(what, sizeof(what), "flink + segment %s", seg);
		t_gc_report(PROG, dir, g, what, gone, out, 1, gc_state);
		bad |= !*gc_state;
	}
	shmk_slots_reclaim_stale(flink);
	unlink(flink);
	rmdir(dir);
	return bad;
}

static struct totals T;

static int run_trials(uint64_t n, uint64_t *rng)
{
	bar = h_barrier_new(4);
	printf("%s: seed %" PRIu64 ", %" PRIu64 " trials (owner at slots.commit.before_publish "
	       "and slots.flink.before_link, owner and readers at random times), "
	       "SHMK_LIVENESS_MS %.0f\n", PROG, g_seed, n, t_liveness_s() * 1000);
	probe = t_probe_start();	/* during the trials, not before */
	for (uint64_t t = 0; t < n; t++)
		if (trial(t, rng, &T))
			break;
	t_probe_stop(probe);
	T.failed += t_judge_unblock(probe, 2, PROG, "slots", T.max_unblock, T.max_trial);
	printf("slots: %" PRIu64 " trials (owner-point %" PRIu64 ", owner-random %" PRIu64
	       ", reader-random %" PRIu64 ", owner-init %" PRIu64 "), %" PRIu64 " torn, %" PRIu64
	       " lost, %" PRIu64 " duplicated, %" PRIu64 " reader-held lost, %" PRIu64
	       " in flight at the kill delivered, %" PRIu64 " stale flinks reclaimed, %" PRIu64
	       " orphan segments after owner-init, max unblock %.3f s, seed %" PRIu64 "%s\n",
	       T.trials, T.per_kind[0], T.per_kind[1], T.per_kind[2], T.per_kind[3], T.torn, T.lost,
	       T.dup, T.held_lost, T.inflight, T.reclaimed, T.orphans, T.max_unblock, g_seed,
	       T.trials == n ? "" : " incomplete");
	return T.trials == n && !T.failed;
}

static void finish(const struct t_after *a, int crash_ok, char *counts, size_t len)
{
	int z = a->zombie, rs = a->restart;
	h_evidence(PROG, "stress", "crash", "reliability.crash.committed", crash_ok);
	h_evidence(PROG, "stress", "crash", "reliability.peer.unblock", crash_ok);
	h_evidence(PROG, "stress", "crash", "slots.wait.peerdead", crash_ok && !z);
	h_evidence(PROG, "stress", "crash", "slots.reader.reap+2", crash_ok && !z);
	h_evidence(PROG, "stress", "crash", "slots.flink.create+2", crash_ok);
	h_evidence(PROG, "stress", "crash", "slots.stale.reclaim", crash_ok && !rs);
	h_evidence(PROG, "stress", "restart", "slots.stale.detect", !rs);
	h_barrier_free(bar);
	snprintf(counts, len, "\"trials\": %" PRIu64 ", \"owner_point\": %" PRIu64
		 ", \"owner_random\": %" PRIu64 ", \"reader_random\": %" PRIu64
		 ", \"owner_init\": %" PRIu64 ", \"torn\": %" PRIu64 ", \"lost\": %" PRIu64
		 ", \"duplicated\": %" PRIu64 ", \"reader_held_lost\": %" PRIu64
		 ", \"inflight_delivered\": %" PRIu64 ", \"orphan_segments\": %" PRIu64
		 ", \"max_unblock_s\": %.3f, \"sched_delay_s\": %.3f, \"complete\": %d",
		 T.trials, T.per_kind[0], T.per_kind[1], T.per_kind[2], T.per_kind[3], T.torn,
		 T.lost, T.dup, T.held_lost, T.inflight, T.orphans, T.max_unblock,
		 (double)t_probe_max_ns(probe) / 1e9,
		 T.trials == t_trials());
}

int main(int argc, char **argv)
{
	sh = t_shared_alloc(sizeof(*sh));
	return t_crash_main(argc, argv, sh, &(const struct t_crash_prog){ .prog = PROG,
		.seed = &g_seed, .pidreuse_role = pidreuse_role, .trials = run_trials,
		.zombie = zombie_check, .restart = restart_check, .finish = finish });
}
