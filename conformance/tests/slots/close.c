/* SPDX-License-Identifier: MIT */
/* slots tests: stale segments, close of either role, the flink lock, truncation. */
#include "slots_test.h"

/* ------------------------------------------------------------ stale and close */

static int owner_crash(void *arg)
{
	struct shmk_slots *o;

	if (shmk_slots_create(arg, 2, 16, &o))
		return 2;
	raise(SIGKILL);
	return 3;
}

static void stale_detect(void)
{
	char fl[256], seg[256], flink_copy[256];
	struct shmk_slots *o, *o2;
	int fd;

	fresh_shared();
	new_flink(fl, sizeof(fl));
	pid_t pid = t_fork_run(owner_crash, fl);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 128 + SIGKILL);
	fd = open(fl, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	ssize_t n = read(fd, seg, sizeof(seg) - 1);
	close(fd);
	CU_ASSERT_FATAL(n > 0);
	seg[n] = '\0';
	/* plain create: a clear error naming the flink and the segment */
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 2, 16, &o), SHMK_ESTALE);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), fl));
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), seg));
	CU_ASSERT_EQUAL(access(fl, F_OK), 0);	/* nothing removed by a plain create */
	/* a live owner's flink is EBUSY and is never reclaimed */
	char live[256];
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(live, sizeof(live)), 2, 16, &o2), 0);
	CU_ASSERT_EQUAL(shmk_slots_create(live, 2, 16, &o), SHMK_EBUSY);
	struct shmk_slots_opts rep = { .flags = SHMK_SLOTS_REPLACE_STALE };
	CU_ASSERT_EQUAL(shmk_slots_create_opts(live, 2, 16, &rep, &o), SHMK_EBUSY);
	CU_ASSERT_EQUAL(shmk_slots_reclaim_stale(live), SHMK_EBUSY);
	CU_ASSERT_EQUAL(access(live, F_OK), 0);
	snprintf(flink_copy, sizeof(flink_copy), "%s", shmk_slots_shm_name(o2));
	fd = shm_open(flink_copy, O_RDONLY, 0);
	CU_ASSERT(fd >= 0);
	close(fd);
	shmk_slots_close(o2);
	/* the explicit option reclaims the stale one and creates afresh */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create_opts(fl, 2, 16, &rep, &o), 0);
	CU_ASSERT_EQUAL(shm_open(seg, O_RDONLY, 0), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_NOT_EQUAL(strcmp(shmk_slots_shm_name(o), seg), 0);
	shmk_slots_close(o);
	/* and the gc entry point */
	pid = t_fork_run(owner_crash, fl);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 128 + SIGKILL);
	CU_ASSERT_EQUAL(shmk_slots_reclaim_stale(fl), 0);
	CU_ASSERT_EQUAL(access(fl, F_OK), -1);
	CU_ASSERT_EQUAL(shmk_slots_reclaim_stale(fl), -ENOENT);
}
H_REGISTER(stale_detect, 60, "slots.stale.detect", "slots.stale.reclaim");

static void close_roles(void)
{
	char fl[256], seg[256];
	struct shmk_slots *o, *r;
	unsigned idx;
	size_t len;
	shmk_slot_handle_t h;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	snprintf(seg, sizeof(seg), "%s", shmk_slots_shm_name(o));
	struct shmk_slots_hdr *hd = raw_map(seg, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hd);
	/* a reader's close leaves everything, releases its entry */
	pid_t pid = fork();
	if (pid == 0) {
		int ok = shmk_slots_attach(fl, &r) == 0 &&
			 shmk_slots_register_reader(r, 3, &idx) == 0;
		_exit(ok && shmk_slots_close(r) == 0 ? 0 : 1);
	}
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	CU_ASSERT_EQUAL(access(fl, F_OK), 0);
	int fd = shm_open(seg, O_RDONLY, 0);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[3]), SHMK_SLOTS_READER_LEFT);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "q", 1, &sn, NULL), 0);
	/* the owner reaped it (slots.reader.reap+2: at every commit) */
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[3]), 0);
	/* the owner's close: closed state, flink and segment gone */
	uint32_t g = atomic_load(&hd->notify_gen);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
	CU_ASSERT_EQUAL(atomic_load(&hd->owner_state), SHMK_SLOTS_OWNER_CLOSED);
	CU_ASSERT_NOT_EQUAL(atomic_load(&hd->notify_gen), g);
	CU_ASSERT_EQUAL(access(fl, F_OK), -1);
	CU_ASSERT_EQUAL(shm_open(seg, O_RDONLY, 0), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	munmap(hd, len);
}
H_REGISTER(close_roles, 20, "slots.close.owner", "slots.close.reader", "slots.reader.reap+2");

/* Anyone who can open the flink's directory (think /tmp) can flock it:
 * a stranger holding that lock must not hang the owner's close or gc. */
static void close_dirlock(void)
{
	char fl[256], dir[256];
	struct shmk_slots *o;
	int go[2], ready[2];
	char c;

	setenv("SHMK_LIVENESS_MS", "100", 1);
	new_flink(fl, sizeof(fl));
	snprintf(dir, sizeof(dir), "%s", fl);
	*strrchr(dir, '/') = '\0';
	CU_ASSERT_FATAL(pipe(go) == 0 && pipe(ready) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || flock(fd, LOCK_EX) || write(ready[1], "l", 1) != 1)
			_exit(2);
		_exit(read(go[0], &c, 1) == 0 ? 0 : 3); /* holds the lock until go closes */
	}
	close(go[0]);
	close(ready[1]);
	CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(fl, 2, 16, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);	/* returns, lock or not */
	CU_ASSERT_EQUAL(access(fl, F_OK), -1);		/* and removed its own flink */
	CU_ASSERT_EQUAL(shmk_slots_reclaim_stale(fl), SHMK_EBUSY);
	close(go[1]);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	close(ready[0]);
}
H_REGISTER(close_dirlock, 20, "slots.flink.lock-bounded");

/* ------------------------------------------------------------ truncation */

/* The segment's file: /dev/shm + its shm name. */
static void seg_file(const struct shmk_slots *s, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/shm%s", shmk_slots_shm_name(s));
}

static void truncated(void)
{
	char fl[PATH_MAX], seg[PATH_MAX], buf[1024];
	struct shmk_slots *own = NULL, *rd = NULL, *rd2 = NULL;
	unsigned idx = 0, idx2 = 0;
	uint64_t sn = 0;

	/* 16 slots of 1 KiB: the slot table spans several pages */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 16, 1024, &own), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rd), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rd2), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rd, -1, &idx), 0);
	seg_file(own, seg, sizeof(seg));
	CU_ASSERT_EQUAL(shmk_slots_check(own), 0);
	CU_ASSERT_EQUAL(shmk_slots_check(rd), 0);
	CU_ASSERT_EQUAL(shmk_slots_check(NULL), -EINVAL);
	/* the hot path makes no fstat at all */
	memset(buf, 7, sizeof(buf));
	CU_ASSERT_EQUAL(shmk_fault_set("fstat:1"), 0);
	for (int i = 0; i < 500; i++) {
		shmk_slot_handle_t h, r;
		struct shmk_slot_info info;
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(own, 1u << idx, &h), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_commit_slot(own, h, buf, 100, &sn, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(rd, idx, &r), 1);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_read_slot(rd, r, buf, sizeof(buf), &info), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_slots_mark_read(rd, r, idx), 0);
	}
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);

	/* a peer cuts the segment inside its header: the page holding the
	 * header stays, every slot page goes */
	uint64_t gen = shmk_slots_notify_generation(rd);
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(seg, 64), 0);
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(rd, gen, 20ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_slots_check(rd), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_slots_check(own), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(rd2, -1, &idx2), SHMK_ETRUNCATED);
	/* every page now: closing touches nothing, still cleans up */
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(seg, 0), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(rd), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_slots_close(rd2), 0); /* never registered: touches nothing */
	CU_ASSERT_EQUAL(shmk_slots_close(own), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(access(seg, F_OK), -1);
	CU_ASSERT_EQUAL(access(fl, F_OK), -1);
}
H_REGISTER(truncated, 120, "slots.truncate.check", "slots.truncate.register", "slots.truncate.wait", "slots.truncate.close", "slots.truncate.hot-path");

static void truncated_parked(void)
{
	char fl[PATH_MAX], seg[PATH_MAX];
	struct shmk_slots *own = NULL, *rd = NULL;
	unsigned idx = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 16, 1024, &own), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rd), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rd, -1, &idx), 0);
	seg_file(own, seg, sizeof(seg));
	/* parked when the peer cuts: the wake-up at the slice's end (one
	 * liveness period) checks before it touches the header again */
	uint64_t gen = shmk_slots_notify_generation(rd);
	pid_t pid = t_fork_truncator(seg, 64);
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(rd, gen, 20ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(rd), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_slots_close(own), SHMK_ETRUNCATED);
}
H_REGISTER(truncated_parked, 120, "slots.truncate.wait");
