/* SPDX-License-Identifier: MIT */
/*
 * reliability_race: concurrent create / attach / release / remove of the
 * same few names from many processes, for every primitive (issue 11,
 * item 4).
 *
 * For each primitive, NPROC processes share NNAMES names and run seeded
 * random rounds; each round picks a name and one of
 *   create   (the module's create; events: open, which creates or joins)
 *   attach   (open an existing object by its path / name)
 *   remove   (unlink / shm_unlink / ring_unlink / slots reclaim_stale)
 *   release  (close one of the up to two handles this process holds)
 * A process keeps a handle it got for a while (so others meet live
 * owners, readers and half-made objects), then releases it.  Every return
 * code is counted per primitive and call; a code the module's header does
 * not document for that call is a failure, so is a crash or a hang of any
 * process, an attached object of the wrong size, and a descriptor or a
 * mapping still open in a process after it released everything.
 *
 * make check: 8 processes x 50 rounds per primitive (STRESS_ROUNDS).
 * make stress (STRESS_SECONDS >= 60): the processes run until the
 * primitive has had STRESS_MESSAGES (default 6000) successful creations;
 * a run that stops on the time bound first prints `incomplete` and fails.
 *
 * Output: one line per primitive with the counts and every code seen, then
 * `reliability_race: 1 passed, 0 failed, 0 skipped`.  Seed: SHMK_SEED.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "support.h"
#include "rel.h"
#include "shmkit/error.h"
#include "shmkit/mmap_region.h"
#include "shmkit/shm.h"
#include "shmkit/slots.h"

#define PROG "reliability_race"
#define NPROC 8
#define NNAMES 2
#define NCODES 320	/* 0 ok, 1..199 errno, 200+k SHMK code -5000-k */

enum { OP_CREATE, OP_ATTACH, OP_REMOVE, OP_N };
static const char *const op_names[OP_N] = { "create", "attach", "remove" };

struct shared {
	_Atomic uint64_t count[OP_N][NCODES];
	_Atomic uint64_t creations;	/* successful creates of this primitive */
	_Atomic uint64_t undocumented, wrong_size, fd_leaks, map_leaks;
	_Atomic uint64_t stolen;	/* slots: a live owner's flink removed or replaced */
	_Atomic int first_bad_code;
	_Atomic int first_bad_op;
	char first_bad_detail[256];	/* shmk_errdetail() of that call */
};

static int code_index(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc > -200)
		return -rc;
	if (rc <= SHMK_EBASE && rc >= SHMK_EBASE - (NCODES - 201))
		return 200 + (SHMK_EBASE - rc);
	return NCODES - 1;
}

static int code_of(int idx)
{
	return idx == 0 ? 0 : idx < 200 ? -idx : SHMK_EBASE - (idx - 200);
}

/* mappings of our objects: anything under /dev/shm or the test directory */
static int count_maps(void)
{
	const char *const needles[] = { "/dev/shm/", h_tmpdir(), NULL };

	return t_count_maps(needles);
}

static const int remove_errs[] = { -ENOENT, SHMK_EBUSY, 0 };

static void note(struct shared *sh, int op, int rc, const int *errs)
{
	atomic_fetch_add_explicit(&sh->count[op][code_index(rc)], 1, memory_order_relaxed);
	if (rc < 0 && !t_rel_documented(errs, rc)) {
		int z = 0;
		atomic_fetch_add(&sh->undocumented, 1);
		if (atomic_compare_exchange_strong(&sh->first_bad_code, &z, rc)) {
			atomic_store(&sh->first_bad_op, op);
			snprintf(sh->first_bad_detail, sizeof(sh->first_bad_detail), "%s",
				 shmk_errdetail());
		}
	}
}

static bool size_ok(const struct t_rel_obj *o)
{
	switch (o->kind) {
	case REL_SHM:
		return shmk_shm_map_len(o->aux) == REL_SHM_SIZE;
	case REL_MMAP:
		return shmk_mmap_region_len(o->h) == REL_MMAP_SIZE;
	default:
		return true; /* the module validates its own header */
	}
}

/* A slots owner's flink must still name its segment while it lives: gc
 * (reclaim_stale) and other creators MUST NOT take it (slots.stale.reclaim). */
static void release(const struct t_rel_prim *p, struct shared *sh, struct t_rel_obj *o, bool created)
{
	if (created && o->kind == REL_SLOTS) {
		char buf[300] = "";
		FILE *f = fopen(shmk_slots_flink_path(o->h), "r");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
		}
		buf[strcspn(buf, "\n")] = 0;
		if (strcmp(buf, shmk_slots_shm_name(o->h)))
			atomic_fetch_add(&sh->stolen, 1);
	}
	p->release(o);
}

static void worker(const struct t_rel_prim *p, struct shared *sh, char names[][256], uint64_t seed,
		   uint64_t rounds, uint64_t target, double deadline, struct h_barrier *go)
{
	struct t_rel_obj held[2];
	bool busy[2] = { false, false }, made[2] = { false, false };
	uint64_t rng = seed;
	int fds0 = t_count_fds();

	/* warm the paths through /proc once so both counts are stable */
	(void)count_maps();
	fds0 = t_count_fds();
	h_barrier_wait(go, 60); /* all start together: the races need company */
	for (uint64_t r = 0;; r++) {
		if (target ? atomic_load(&sh->creations) >= target || t_now() > deadline
			   : r >= rounds)
			break;
		uint64_t x = t_rand(&rng);
		const char *name = names[x % NNAMES];
		unsigned pick = (unsigned)(x >> 8) % 10;
		int slot = busy[0] ? (busy[1] ? -1 : 1) : 0;
		struct t_rel_obj o;
		int rc;

		if (pick < 4) {
			rc = p->create(name, &o);
			note(sh, OP_CREATE, rc, p->create_errs);
			if (!rc)
				atomic_fetch_add(&sh->creations, 1);
		} else if (pick < 7) {
			rc = p->attach(name, &o);
			note(sh, OP_ATTACH, rc, p->attach_errs);
		} else if (pick < 9) {
			note(sh, OP_REMOVE, p->remove(name), remove_errs);
			continue;
		} else {
			for (int i = 0; i < 2; i++)
				if (busy[i]) {
					release(p, sh, &held[i], made[i]);
					busy[i] = false;
					break;
				}
			continue;
		}
		if (rc)
			continue;
		if (!size_ok(&o))
			atomic_fetch_add(&sh->wrong_size, 1);
		/* keep it for a while half of the time, so others meet it live */
		if (slot >= 0 && (x >> 20) & 1) {
			held[slot] = o;
			busy[slot] = true;
			made[slot] = pick < 4;
		} else {
			release(p, sh, &o, pick < 4);
		}
	}
	for (int i = 0; i < 2; i++)
		if (busy[i])
			release(p, sh, &held[i], made[i]);
	if (t_count_fds() != fds0)
		atomic_fetch_add(&sh->fd_leaks, 1);
	if (count_maps() != 0)
		atomic_fetch_add(&sh->map_leaks, 1);
}

static bool run_prim(const struct t_rel_prim *p, uint64_t seed, uint64_t rounds, uint64_t target,
		     double seconds, char *summary, size_t sumlen)
{
	struct shared *sh = t_shared_alloc(sizeof(*sh));
	char names[NNAMES][256];
	pid_t pids[NPROC];
	unsigned crashed = 0, hung = 0, bad_exit = 0;
	double t0 = t_now();
	struct h_barrier *go = h_barrier_new(NPROC);

	for (int i = 0; i < NNAMES; i++) {
		if (p->by_name)
			h_unique_shm_name(names[i], sizeof(names[i]));
		else
			h_unique_path(names[i], sizeof(names[i]), p->name);
	}
	for (int k = 0; k < NPROC; k++) {
		pids[k] = fork();
		if (pids[k] == 0) {
			worker(p, sh, names, seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(k + 1)) ^
						 (uint64_t)p->name[0] << 56,
			       rounds, target, t0 + seconds, go);
			_exit(0);
		}
	}
	for (int k = 0; k < NPROC; k++) {
		if (pids[k] < 0) {
			bad_exit++;
			continue;
		}
		int st = h_wait(pids[k], (unsigned)seconds + 120);
		if (st == -ETIMEDOUT)
			hung++;
		else if (st >= 128)
			crashed++;
		else if (st != 0)
			bad_exit++;
	}
	/* leftovers: a slots flink whose owner is gone is reclaimed, others unlinked */
	unsigned leftovers = 0;
	for (int i = 0; i < NNAMES; i++) {
		char buf[300];
		if (access(t_rel_fs_path(p, names[i], buf, sizeof(buf)), F_OK) == 0) {
			leftovers++;
			if (p->remove(names[i]) && !p->by_name)
				unlink(names[i]);
		}
	}
	uint64_t creations = atomic_load(&sh->creations);
	bool incomplete = target && creations < target;
	bool ok = !crashed && !hung && !bad_exit && !incomplete && !sh->undocumented &&
		  !sh->wrong_size && !sh->fd_leaks && !sh->map_leaks && !sh->stolen;

	printf("%s: %s%d procs, %" PRIu64 " creations in %.1f s, %u crashed, %u hung, "
	       "%" PRIu64 " undocumented, %" PRIu64 " wrong size, %" PRIu64 " fd leaks, "
	       "%" PRIu64 " map leaks, %" PRIu64 " live flinks stolen, %u names left (removed)\n",
	       p->name, incomplete ? "incomplete: " : "", NPROC, creations, t_now() - t0, crashed,
	       hung, (uint64_t)sh->undocumented, (uint64_t)sh->wrong_size,
	       (uint64_t)sh->fd_leaks, (uint64_t)sh->map_leaks, (uint64_t)sh->stolen, leftovers);
	for (int op = 0; op < OP_N; op++) {
		printf("  %-6s", op_names[op]);
		for (int c = 0; c < NCODES; c++) {
			uint64_t n = sh->count[op][c];
			if (!n)
				continue;
			const char *nm = c ? shmk_errname(code_of(c)) : "ok";
			printf(" %s=%" PRIu64, nm ? nm : "?", n);
		}
		printf("\n");
	}
	if (sh->stolen)
		printf("  FAIL: %" PRIu64 " live owners' flinks were removed or replaced "
		       "(slots.stale.reclaim)\n", (uint64_t)sh->stolen);
	if (sh->undocumented)
		printf("  FAIL: undocumented %s code %d (%s), detail \"%s\"\n",
		       op_names[sh->first_bad_op], sh->first_bad_code,
		       shmk_strerror(sh->first_bad_code), sh->first_bad_detail);
	snprintf(summary, sumlen,
		 "\"%s_creations\": %" PRIu64 ", \"%s_crashed\": %u, \"%s_hung\": %u, "
		 "\"%s_undocumented\": %" PRIu64,
		 p->name, creations, p->name, crashed, p->name, hung, p->name,
		 (uint64_t)sh->undocumented);
	t_shared_free(sh, sizeof(*sh));
	h_barrier_free(go);
	return ok;
}

int main(void)
{
	uint64_t seed = h_seed();
	double seconds = t_seconds();
	bool longrun = seconds >= 60;
	uint64_t rounds = t_env_u64("STRESS_ROUNDS", 50);
	uint64_t target = longrun ? t_messages(6000) : 0;
	double t0 = t_now();
	char sums[REL_N][256];
	bool ok = true, prim_ok[REL_N];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s: seed %" PRIu64 ", %d processes x %d names per primitive, %s\n", PROG, seed,
	       NPROC, NNAMES,
	       longrun ? "until STRESS_MESSAGES creations each" : "STRESS_ROUNDS rounds each");
	for (int k = 0; k < REL_N; k++) {
		prim_ok[k] = run_prim(&t_rel_prims[k], seed, rounds, target, seconds / REL_N, sums[k],
				      sizeof(sums[k]));
		ok &= prim_ok[k];
	}
	static const char *const clauses[REL_N] = {
		[REL_SHM] = "shm.open.no_leftover",
		[REL_MMAP] = "mmap_region.create.excl",
		[REL_EVENTS] = "events.init.once",
		[REL_RING] = "ring.reader.single",
		[REL_SLOTS] = "slots.stale.detect",
	};
	for (int k = 0; k < REL_N; k++)
		h_evidence(PROG, "race", t_rel_prims[k].name, clauses[k], prim_ok[k]);
	h_evidence(PROG, "race", "mmap_region", "mmap_region.attach.empty", prim_ok[REL_MMAP]);
	h_evidence(PROG, "race", "slots", "slots.stale.reclaim", prim_ok[REL_SLOTS]);
	t_report(PROG, seed, t_now() - t0, ok, "%s, %s, %s, %s, %s", sums[0], sums[1], sums[2],
		  sums[3], sums[4]);
	return ok ? 0 : 1;
}
