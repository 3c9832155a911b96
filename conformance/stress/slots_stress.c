/* SPDX-License-Identifier: MIT */
/*
 * slots_stress: cross-process, seeded, time-bounded stress of the slot
 * allocator.
 *
 * The parent is the owner: it publishes samples of random length through
 * both commit paths (commit_slot and the zero-copy loan + commit_in_place),
 * waiting on the notify generation whenever every slot is pinned, until
 * STRESS_SECONDS pass.  Sequence numbers start just below 2^32 so the run
 * crosses it.  Three reader processes, registered before the first commit,
 * take every sample (alternating slot_read_ptr and read_slot) and check:
 *   lost: a sequence number skipped (or missing at the end),
 *   dup:  a sequence number not above the previous one,
 *   torn: wrong length, wrong sequence number inside, or a bad checksum.
 * A killer process meanwhile starts victim readers that register, read a
 * few samples and hold the rest, and SIGKILLs each after a random few
 * milliseconds, so the owner must keep reaping dead readers to get slots.
 *
 * Sample sn of length L: bytes 0..7 = sn, bytes 8..L-9 derived from
 * (seed, sn), last 8 bytes = FNV-1a of the bytes before them.
 *
 * Env: STRESS_SECONDS (default 3), STRESS_MESSAGES (default 200000: the
 * bound that ends `make stress`), SHMK_SEED.
 * Output: `slots: N published, N read per reader, 0 lost, 0 torn, 0 dup`,
 * then `slots_stress: 1 passed, 0 failed, 0 skipped`.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"
#include "internal.h"
#include "shmkit/slots.h"

#define PROG "slots_stress"
#define NREADERS 3
#define SLOTS 16
#define CAP 4096
#define FIRST_SN ((uint64_t)UINT32_MAX - 200)

struct shared {
	_Atomic uint32_t ready;		/* readers registered */
	_Atomic uint32_t done;		/* owner published its last sample */
	_Atomic uint64_t published;
	_Atomic uint64_t got[NREADERS], lost[NREADERS], dup[NREADERS], torn[NREADERS];
	_Atomic int64_t err[NREADERS];
	_Atomic uint64_t victims, victim_reads;
	_Atomic uint32_t stop_killer;
};

static uint64_t g_seed;
static struct shared *sh;

static size_t sample_len(uint64_t sn)
{
	uint64_t r = t_mix(g_seed ^ sn);
	return 16 + (size_t)((r & 3) == 0 ? (r >> 8) % (CAP - 15) : (r >> 8) % 240);
}

static void make_sample(uint8_t *p, uint64_t sn, size_t len)
{
	uint64_t x = t_mix(g_seed + sn);
	memcpy(p, &sn, 8);
	for (size_t i = 8; i < len - 8; i++) {
		if ((i & 7) == 0)
			x = t_mix(x);
		p[i] = (uint8_t)(x >> ((i & 7) * 8));
	}
	uint64_t c = (uint64_t)t_crc32(0, p, len - 8);
	memcpy(p + len - 8, &c, 8);
}

static int sample_ok(const uint8_t *p, size_t len, uint64_t sn)
{
	uint64_t got, c;

	if (len != sample_len(sn))
		return 0;
	memcpy(&got, p, 8);
	memcpy(&c, p + len - 8, 8);
	return got == sn && c == (uint64_t)t_crc32(0, p, len - 8);
}

static int reader_main(const char *flink, int k)
{
	struct shmk_slots *s;
	unsigned idx;
	static uint8_t buf[CAP];
	int rc = shmk_slots_attach(flink, &s);

	if (!rc)
		rc = shmk_slots_register_reader(s, -1, &idx);
	if (rc) {
		sh->err[k] = rc;
		return 1;
	}
	atomic_fetch_add(&sh->ready, 1);
	shmk_futex_wake(&sh->ready, INT32_MAX);
	uint64_t expect = FIRST_SN;
	for (uint64_t n = 0;; n++) {
		uint64_t g = shmk_slots_notify_generation(s);
		uint32_t done = atomic_load(&sh->done);
		shmk_slot_handle_t h;
		rc = shmk_slots_next_unread_slot(s, idx, &h);
		if (rc < 0) {
			sh->err[k] = rc;
			break;
		}
		if (rc == 0) {
			if (done)
				break;	/* everything committed before `done` is seen */
			rc = shmk_slots_wait_for_change(s, g, 2000000000);
			if (rc && rc != -ETIMEDOUT) {
				sh->err[k] = rc;
				break;
			}
			continue;
		}
		const void *p = buf;
		size_t len = 0;
		if (n & 1) {
			struct shmk_slot_info info;
			rc = shmk_slots_read_slot(s, h, buf, sizeof(buf), &info);
			len = info.sample_size;
		} else {
			rc = shmk_slots_slot_read_ptr(s, h, &p, &len);
		}
		if (rc || !sample_ok(p, len, h.sn))
			sh->torn[k]++;
		if (h.sn < expect)
			sh->dup[k]++;
		else
			sh->lost[k] += h.sn - expect;
		if (h.sn >= expect)
			expect = h.sn + 1;
		sh->got[k]++;
		rc = shmk_slots_mark_read(s, h, idx);
		if (rc)
			sh->err[k] = rc;
	}
	/* samples never seen at the end are lost too */
	uint64_t end = FIRST_SN + atomic_load(&sh->published);
	if (expect < end)
		sh->lost[k] += end - expect;
	shmk_slots_close(s);
	return 0;
}

/* A victim registers, reads a few samples, holds the rest until killed. */
static void victim_main(const char *flink)
{
	struct shmk_slots *s;
	unsigned idx;

	if (shmk_slots_attach(flink, &s) || shmk_slots_register_reader(s, -1, &idx))
		_exit(0);
	for (int i = 0; i < 3; i++) {
		shmk_slot_handle_t h;
		uint64_t g = shmk_slots_notify_generation(s);
		if (shmk_slots_next_unread_slot(s, idx, &h) == 1) {
			shmk_slots_mark_read(s, h, idx);
			atomic_fetch_add(&sh->victim_reads, 1);
		} else if (shmk_slots_wait_for_change(s, g, 50000000) == SHMK_EPEERDEAD) {
			break;
		}
	}
	for (;;)
		pause();
}

static void killer_main(const char *flink)
{
	while (!atomic_load(&sh->stop_killer)) {
		pid_t v = fork();
		if (v == 0)
			victim_main(flink);
		if (v < 0)
			break;
		atomic_fetch_add(&sh->victims, 1);
		/* a random lifetime: not synchronisation, just when to strike */
		struct timespec ts = { 0, (long)(t_mix(g_seed ^ (uint64_t)v) % 20 + 1) * 1000000L };
		nanosleep(&ts, NULL);
		kill(v, SIGKILL);
		waitpid(v, NULL, 0);
	}
	_exit(0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	double secs = t_seconds();
	uint64_t max_msgs = t_messages(200000);
	double t0 = t_now();
	char flink[256];
	struct shmk_slots *o;
	struct shmk_slots_opts opts = { .first_sn = FIRST_SN };
	pid_t rp[NREADERS], kp;

	g_seed = h_seed();
	printf("%s: seed %" PRIu64 ", %.0f s, %d readers, %d slots of %d bytes\n", PROG, g_seed,
	       secs, NREADERS, SLOTS, CAP);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	h_unique_path(flink, sizeof(flink), "slots_stress.flink");
	int rc = shmk_slots_create_opts(flink, SLOTS, CAP, &opts, &o);
	if (rc) {
		printf("%s: create: %s\n%s: 0 passed, 1 failed, 0 skipped\n", PROG,
		       shmk_strerror(rc), PROG);
		return 1;
	}
	for (int k = 0; k < NREADERS; k++) {
		rp[k] = fork();
		if (rp[k] == 0)
			_exit(reader_main(flink, k));
	}
	int64_t t_end = shmk_now_ns() + 30 * 1000000000LL;
	for (uint32_t r; (r = atomic_load(&sh->ready)) < NREADERS && shmk_now_ns() < t_end;)
		shmk_futex_wait(&sh->ready, r, 100000000);
	kp = fork();
	if (kp == 0)
		killer_main(flink);

	int64_t deadline = shmk_now_ns() + (int64_t)(secs * 1e9);
	uint64_t next = FIRST_SN, efull_waits = 0, owner_err = 0;
	static uint8_t buf[CAP];
	while (shmk_now_ns() < deadline && next - FIRST_SN < max_msgs) {
		shmk_slot_handle_t h;
		uint64_t g = shmk_slots_notify_generation(o);
		rc = shmk_slots_reserve_slot(o, UINT32_MAX, &h);
		if (rc == SHMK_EFULL) {
			efull_waits++;
			/* a reader's death bumps no generation: bound the wait
			 * so a slot pinned by a victim is reaped soon */
			shmk_slots_wait_for_change(o, g, 5000000);
			continue;
		}
		if (rc) {
			owner_err++;
			break;
		}
		size_t len = sample_len(next);
		uint64_t sn = 0;
		if (t_mix(g_seed ^ ~next) & 1) {
			make_sample(buf, next, len);
			rc = shmk_slots_commit_slot(o, h, buf, len, &sn, NULL);
		} else {
			void *p;
			size_t cap;
			rc = shmk_slots_slot_data_ptr(o, h, &p, &cap);
			if (!rc) {
				make_sample(p, next, len);
				rc = shmk_slots_commit_in_place(o, h, len, &sn, NULL);
			}
		}
		if (rc || sn != next) {
			owner_err++;
			break;
		}
		next++;
		atomic_store(&sh->published, next - FIRST_SN);
	}
	atomic_store(&sh->stop_killer, 1);
	waitpid(kp, NULL, 0);
	atomic_store(&sh->done, 1);
	shmk_futex_wake(&sh->done, INT32_MAX);
	/* wake readers parked on the generation so they see `done` */
	shmk_slot_handle_t h;
	if (shmk_slots_reserve_slot(o, UINT32_MAX, &h) == 0)
		shmk_slots_discard_slot(o, h);
	int bad = owner_err != 0;
	for (int k = 0; k < NREADERS; k++) {
		int st;
		if (waitpid(rp[k], &st, 0) != rp[k] || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	shmk_slots_close(o);

	uint64_t pub = next - FIRST_SN, lost = 0, torn = 0, dup = 0, minread = UINT64_MAX;
	for (int k = 0; k < NREADERS; k++) {
		lost += sh->lost[k];
		torn += sh->torn[k];
		dup += sh->dup[k];
		if (sh->got[k] < minread)
			minread = sh->got[k];
		if (sh->got[k] != pub || sh->err[k]) {
			printf("%s: reader %d read %" PRIu64 " of %" PRIu64 ", error %s\n", PROG, k,
			       (uint64_t)sh->got[k], pub, shmk_strerror((int)sh->err[k]));
			bad = 1;
		}
	}
	printf("slots: %" PRIu64 " published, %" PRIu64 " read per reader, %" PRIu64 " lost, %" PRIu64
	       " torn, %" PRIu64 " dup\n",
	       pub, minread, lost, torn, dup);
	printf("%s: sn %" PRIu64 "..%" PRIu64 " (crossing 2^32: %s), %" PRIu64
	       " victim readers killed (%" PRIu64 " samples read by them), %" PRIu64
	       " waits on a full pool\n",
	       PROG, FIRST_SN, next - 1, next - 1 > UINT32_MAX ? "yes" : "no",
	       (uint64_t)sh->victims, (uint64_t)sh->victim_reads, efull_waits);
	int ok = !bad && lost == 0 && torn == 0 && dup == 0 && pub > 0;
	static const char *const clauses[] = {
		"slots.publish.order+2", "slots.delivery.order", "slots.reuse.rule",
		"slots.wait.nolost+2", "slots.loan.inplace",
	};
	for (size_t i = 0; i < sizeof(clauses) / sizeof(clauses[0]); i++)
		h_evidence(PROG, "stress", PROG, clauses[i], ok);
	/* reaping and the 2^32 crossing count only when they happened */
	if (sh->victims > 0)
		h_evidence(PROG, "stress", PROG, "slots.reader.reap+2", ok);
	if (next - 1 > UINT32_MAX)
		h_evidence(PROG, "stress", PROG, "slots.sn.width", ok);
	t_report(PROG, g_seed, t_now() - t0, ok,
		  "\"published\": %" PRIu64 ", \"read_per_reader\": %" PRIu64 ", \"lost\": %" PRIu64
		  ", \"torn\": %" PRIu64 ", \"dup\": %" PRIu64 ", \"victims\": %" PRIu64,
		  pub, minread == UINT64_MAX ? 0 : minread, lost, torn, dup, (uint64_t)sh->victims);
	return ok ? 0 : 1;
}
