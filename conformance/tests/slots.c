/* SPDX-License-Identifier: MIT */
/*
 * Tests of conformance/spec/slots.md (impl/src/slots.c).
 *
 * Every cross-process promise runs owner and readers in separate processes
 * forked inside an isolate() body; those grandchildren report through their
 * exit status (h_wait) and through anonymous shared memory (struct shared),
 * which the isolate body checks with CUnit assertions.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"
#include "harness.h"
#include "internal.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"
#include "support.h"

#define NR 4

struct shared {
	_Atomic uint32_t ready;
	_Atomic uint32_t go;
	_Atomic uint32_t progress;	/* bumped by readers per sample */
	_Atomic uint64_t got[NR];	/* samples read per reader */
	_Atomic uint64_t bad[NR];	/* order/content errors per reader */
	_Atomic uint64_t first_sn[NR];
	_Atomic uint64_t last_sn[NR];
	_Atomic int64_t rc[NR];
	_Atomic uint32_t idx[NR];
	_Atomic uint64_t token[NR];
};

static struct shared *sh;

static void fresh_shared(void)
{
	sh = t_shared_alloc(sizeof(*sh));
	CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
	memset((void *)sh, 0, sizeof(*sh));
}

static const char *new_flink(char *buf, size_t len)
{
	return h_unique_path(buf, len, "slots.flink");
}

/* Fork a process running fn(arg); its return value is the exit status. */
static pid_t run_proc(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

/* Block until pid is a zombie without reaping it. */
static int wait_zombie(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
}

/* Wait (futex, no sleep) until *w >= want. */
static int wait_value(_Atomic uint32_t *w, uint32_t want, unsigned deadline_s)
{
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(deadline_s) * 1000000000LL;

	for (;;) {
		uint32_t v = atomic_load(w);
		if (v >= want)
			return 0;
		if (shmk_now_ns() > end)
			return -ETIMEDOUT;
		shmk_futex_wait(w, v, 50000000);
	}
}

static void bump(_Atomic uint32_t *w)
{
	atomic_fetch_add(w, 1);
	shmk_futex_wake(w, INT32_MAX);
}

static void fill(uint8_t *p, size_t len, uint64_t sn)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(sn * 131u + i * 7u + (i >> 8));
}

static int check_fill(const uint8_t *p, size_t len, uint64_t sn)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(sn * 131u + i * 7u + (i >> 8)))
			return 0;
	return 1;
}

/* Owner: reserve for everyone, waiting on the generation while full. */
static int reserve_wait(struct shmk_slots *s, uint32_t mask, shmk_slot_handle_t *h,
			unsigned deadline_s)
{
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(deadline_s) * 1000000000LL;

	for (;;) {
		uint64_t g = shmk_slots_notify_generation(s);
		int rc = shmk_slots_reserve_slot(s, mask, h);
		if (rc != SHMK_EFULL)
			return rc;
		if (shmk_now_ns() > end)
			return -ETIMEDOUT;
		shmk_slots_wait_for_change(s, g, 100000000);
	}
}

/* Owner: publish one sample of len bytes carrying pattern(sn), where sn is
 * the owner's own count (*next), through the zero-copy loan. */
static int publish(struct shmk_slots *s, uint64_t *next, size_t len)
{
	shmk_slot_handle_t h;
	void *p;
	size_t cap;
	uint64_t sn = 0;
	int rc = reserve_wait(s, UINT32_MAX, &h, 40);

	if (rc)
		return rc;
	rc = shmk_slots_slot_data_ptr(s, h, &p, &cap);
	if (rc)
		return rc;
	fill(p, len, *next);
	rc = shmk_slots_commit_in_place(s, h, len, &sn, NULL);
	if (rc)
		return rc;
	if (sn != *next)
		return -EPROTO;
	++*next;
	return 0;
}

/* Raw mapping of a segment by name, for tests that inspect or lie. */
static void *raw_map(const char *name, size_t *len)
{
	return t_raw_map(shm_open(name, O_RDWR, 0), len);
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, data, len);
	fchmod(fd, mode);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* ------------------------------------------------------------ reader process */

struct rd_arg {
	const char *flink;
	int slot;		/* index into sh arrays */
	uint64_t expect;	/* samples to take */
	int want_index;
	size_t len;		/* expected sample length */
	int hold;		/* read nothing: register, report ready, block */
	int copy;		/* read_slot instead of slot_read_ptr */
};

/* Attach, register, then take `expect` samples checking order and content. */
static int reader_proc(void *argp)
{
	struct rd_arg *a = argp;
	struct shmk_slots *s;
	unsigned idx;
	static uint8_t buf[1 << 20];
	int rc = shmk_slots_attach(a->flink, &s);

	if (rc) {
		sh->rc[a->slot] = rc;
		return 2;
	}
	rc = shmk_slots_register_reader(s, a->want_index, &idx);
	if (rc) {
		sh->rc[a->slot] = rc;
		return 3;
	}
	sh->idx[a->slot] = idx;
	sh->token[a->slot] = shmk_self_token();
	bump(&sh->ready);
	if (a->hold)
		for (;;)
			pause();
	uint64_t prev = 0;
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(40) * 1000000000LL;
	while (sh->got[a->slot] < a->expect && shmk_now_ns() < end) {
		uint64_t g = shmk_slots_notify_generation(s);
		shmk_slot_handle_t h;
		rc = shmk_slots_next_unread_slot(s, idx, &h);
		if (rc < 0) {
			sh->rc[a->slot] = rc;
			return 4;
		}
		if (rc == 0) {
			rc = shmk_slots_wait_for_change(s, g, 1000000000);
			if (rc && rc != -ETIMEDOUT) {
				sh->rc[a->slot] = rc;
				return 5;
			}
			continue;
		}
		const void *p = buf;
		size_t len = 0;
		if (a->copy) {
			struct shmk_slot_info info;
			rc = shmk_slots_read_slot(s, h, buf, sizeof(buf), &info);
			len = info.sample_size;
			if (!rc && info.sn != h.sn)
				rc = -EPROTO;
		} else {
			rc = shmk_slots_slot_read_ptr(s, h, &p, &len);
		}
		if (rc || h.sn <= prev || len != a->len || !check_fill(p, len, h.sn))
			sh->bad[a->slot]++;
		if (!prev)
			sh->first_sn[a->slot] = h.sn;
		prev = h.sn;
		sh->last_sn[a->slot] = h.sn;
		if (shmk_slots_mark_read(s, h, idx))
			sh->bad[a->slot]++;
		sh->got[a->slot]++;
		bump(&sh->progress);
	}
	shmk_slots_close(s);
	return sh->got[a->slot] == a->expect ? 0 : 6;
}

/* ------------------------------------------------------------ layout */

static void layout_offsets(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	shmk_slot_handle_t h;
	uint64_t sn;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 3, 100, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_capacity(o), 100);
	CU_ASSERT_EQUAL(shmk_slots_slot_total_size(o), 128);	/* align_up(16 + 100, 64) */
	CU_ASSERT_EQUAL(shmk_slots_slot_count(o), 3);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "hello", 5, &sn, NULL), 0);
	CU_ASSERT_EQUAL(sn, 1);

	/* a reader in another process sees the same geometry and name */
	pid_t pid = fork();
	if (pid == 0) {
		int ok = shmk_slots_attach(fl, &r) == 0 && shmk_slots_slot_capacity(r) == 100 &&
			 shmk_slots_slot_total_size(r) == 128 && shmk_slots_slot_count(r) == 3 &&
			 strcmp(shmk_slots_shm_name(r), shmk_slots_shm_name(o)) == 0 &&
			 strcmp(shmk_slots_flink_path(r), fl) == 0;
		_exit(ok ? 0 : 1);
	}
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);

	/* raw bytes at the documented offsets */
	uint8_t *m = raw_map(shmk_slots_shm_name(o), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(len, 0x140 + 3 * 128);
	uint32_t u32;
	uint64_t u64;
	memcpy(&u32, m + 0x00, 4); CU_ASSERT_EQUAL(u32, 0x4C534B53u);
	memcpy(&u32, m + 0x04, 4); CU_ASSERT_EQUAL(u32, 3);
	memcpy(&u32, m + 0x08, 4); CU_ASSERT_EQUAL(u32, 128);
	memcpy(&u32, m + 0x0c, 4); CU_ASSERT_EQUAL(u32, 100);
	memcpy(&u64, m + 0x10, 8); CU_ASSERT_EQUAL(u64, 2);
	memcpy(&u32, m + 0x1c, 4); CU_ASSERT_EQUAL(u32, 0x140);
	memcpy(&u64, m + 0x20, 8); CU_ASSERT_EQUAL(u64, shmk_self_token());
	/* slot h.index: sn, size, then data at +16 */
	uint8_t *slot = m + 0x140 + (size_t)h.index * 128;
	memcpy(&u64, slot, 8); CU_ASSERT_EQUAL(u64, 1);
	memcpy(&u32, slot + 8, 4); CU_ASSERT_EQUAL(u32, 5);
	CU_ASSERT_EQUAL(memcmp(slot + 16, "hello", 5), 0);
	munmap(m, len);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}

H_REGISTER(layout_offsets, 20, "slots.layout.header+2", "slots.layout.capacity");

/* Reader given only the owner's locator string (as PID_SHM_LOCATOR would
 * carry it): attaches with it, registers, takes the one sample. */
static const char *g_locator, *g_owner_shm;
static int locator_reader(void *arg)
{
	struct shmk_slots *r;
	shmk_slot_handle_t h;
	unsigned idx;
	char buf[16];

	(void)arg;
	if (shmk_slots_attach(g_locator, &r))
		return 10;
	if (strcmp(shmk_slots_segment_path(r), g_locator) ||
	    strcmp(shmk_slots_flink_path(r), g_locator))
		return 11;
	if (strcmp(shmk_slots_shm_name(r), g_owner_shm) || shmk_slots_shm_name(r)[0] != '/')
		return 12;
	if (shmk_slots_register_reader(r, -1, &idx))
		return 13;
	bump(&sh->ready);
	if (wait_value(&sh->go, 1, 10))
		return 14;
	if (shmk_slots_next_unread_slot(r, idx, &h) != 1 ||
	    shmk_slots_read_slot(r, h, buf, sizeof(buf), NULL) || memcmp(buf, "locator", 8))
		return 15;
	return shmk_slots_close(r) ? 16 : 0;
}

static void segment_locator_body(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h;
	uint64_t sn;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	/* upstream: segment_path() == flink_path() */
	CU_ASSERT_STRING_EQUAL(shmk_slots_segment_path(o), fl);
	CU_ASSERT_STRING_EQUAL(shmk_slots_segment_path(o), shmk_slots_flink_path(o));
	/* the object's own name is a separate call; it opens the object */
	g_owner_shm = shmk_slots_shm_name(o);
	CU_ASSERT_NOT_EQUAL(strcmp(g_owner_shm, fl), 0);
	int fd = shm_open(g_owner_shm, O_RDONLY, 0);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	g_locator = shmk_slots_segment_path(o);
	pid_t pid = run_proc(locator_reader, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(wait_value(&sh->ready, 1, 10), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "locator", 8, &sn, NULL), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}

static void segment_locator(void)
{
	isolate(segment_locator_body, 20);
}
H_REGISTER(segment_locator, 0, "slots.segment.name+2", "slots.segment.shm-name");

/* ------------------------------------------------------------ create */

static void create_files(void)
{
	char fl[256], buf[300];
	struct shmk_slots *o, *o2;
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	const char *seg = shmk_slots_shm_name(o);
	/* flink: regular, 0600, exactly the shm name */
	CU_ASSERT_EQUAL_FATAL(lstat(fl, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	int fd = open(fl, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	CU_ASSERT_EQUAL(n, (ssize_t)strlen(seg));
	CU_ASSERT_EQUAL(memcmp(buf, seg, strlen(seg)), 0);
	/* segment: mode 0600 */
	fd = shm_open(seg, O_RDONLY, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(st.st_size, 0x140 + 2 * 128);
	close(fd);
	/* a second owner never opens the first one's objects */
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 2, 64, &o2), SHMK_EBUSY);
	char fl2[256];
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl2, sizeof(fl2)), 2, 64, &o2), 0);
	CU_ASSERT_NOT_EQUAL(strcmp(shmk_slots_shm_name(o2), seg), 0);
	/* a symlinked parent directory is refused */
	char ld[256], via[300];
	h_unique_path(ld, sizeof(ld), "lnkdir");
	CU_ASSERT_EQUAL(symlink(h_tmpdir(), ld), 0);
	snprintf(via, sizeof(via), "%s/x.flink", ld);
	struct shmk_slots *o3;
	CU_ASSERT_EQUAL(shmk_slots_create(via, 2, 64, &o3), SHMK_EUNSAFE);
	unlink(ld);
	CU_ASSERT_EQUAL(shmk_slots_close(o2), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}
H_REGISTER(create_files, 20, "slots.create.exclusive", "slots.flink.create+2");

/* An owner killed after writing the flink's content but before linking it:
 * no flink (and so no half-written one) ever appears at the path. */
static void flink_atomic(void)
{
	char fl[256], pat[64];
	struct shmk_slots *o;

	new_flink(fl, sizeof(fl));
	pid_t pid = fork();
	if (pid == 0) {
		setenv("SHMK_CRASH_AT", "slots.flink.before_link", 1);
		shmk_slots_create(fl, 2, 64, &o);
		_exit(3);
	}
	CU_ASSERT_EQUAL(h_wait(pid, 20), 128 + SIGKILL);
	CU_ASSERT_EQUAL(access(fl, F_OK), -1);
	/* the segment it made is an orphan: remove it (and prove it existed) */
	snprintf(pat, sizeof(pat), "shmk-slots-%d-", (int)pid);
	int found = 0;
	DIR *d = opendir("/dev/shm");
	for (struct dirent *e; d && (e = readdir(d));) {
		if (strncmp(e->d_name, pat, strlen(pat)) == 0) {
			char n[300];
			snprintf(n, sizeof(n), "/%s", e->d_name);
			found += shm_unlink(n) == 0;
		}
	}
	if (d)
		closedir(d);
	CU_ASSERT_EQUAL(found, 1);
	/* the path is free: a new owner creates it */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(fl, 2, 64, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}
H_REGISTER(flink_atomic, 20, "slots.flink.create+2");

static void create_limits(void)
{
	char fl[256];
	struct shmk_slots *o = NULL;

	new_flink(fl, sizeof(fl));
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 0, 64, &o), -EINVAL);
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 4, 0, &o), -EINVAL);
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 65537, 1, &o), -EINVAL);
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 1, (size_t)UINT32_MAX - 78, &o), SHMK_EOVERFLOW);
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 1, (size_t)UINT32_MAX + 1, &o), SHMK_EOVERFLOW);
	CU_ASSERT_EQUAL(shmk_slots_create(fl, SIZE_MAX / 64, 1, &o), SHMK_EOVERFLOW);
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 65536, (size_t)UINT32_MAX - 79, &o) < 0, 1);
	CU_ASSERT_PTR_NULL(o);
	CU_ASSERT_EQUAL(access(fl, F_OK), -1);	/* nothing left behind */
}
H_REGISTER(create_limits, 20, "slots.create.limits");

static void create_fallocate_body(void)
{
	char fl[256];
	struct shmk_slots *o;

	new_flink(fl, sizeof(fl));
	/* a private 1 MiB /dev/shm: 4 slots of 1 MiB cannot fit */
	CU_ASSERT_EQUAL_FATAL(unshare(CLONE_NEWNS), 0);
	CU_ASSERT_EQUAL_FATAL(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m"), 0);
	CU_ASSERT_EQUAL(shmk_slots_create(fl, 4, 1 << 20, &o), -ENOSPC);
	CU_ASSERT_EQUAL(access(fl, F_OK), -1);
	/* and a small one fits */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(fl, 4, 1024, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}

static void create_fallocate(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root for a private tmpfs");
	isolate(create_fallocate_body, 20);
}
H_REGISTER(create_fallocate, 0, "slots.create.fallocate");

static void flink_dir(void)
{
	char dir[256], buf[300];
	struct shmk_slots *o;
	struct stat st;

	h_unique_path(dir, sizeof(dir), "flinkdir");
	CU_ASSERT_EQUAL(setenv("SHMK_SLOTS_DIR", dir, 1), 0);
	CU_ASSERT_EQUAL(shmk_slots_default_dir(buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, dir);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(NULL, 2, 64, &o), 0);
	CU_ASSERT_EQUAL(stat(dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	snprintf(buf, sizeof(buf), "%s%s.flink", dir, shmk_slots_shm_name(o));
	CU_ASSERT_STRING_EQUAL(shmk_slots_flink_path(o), buf);
	CU_ASSERT_EQUAL(access(buf, F_OK), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
	/* a group-writable directory is refused */
	CU_ASSERT_EQUAL(chmod(dir, 0770), 0);
	CU_ASSERT_EQUAL(shmk_slots_create(NULL, 2, 64, &o), SHMK_EUNSAFE);
	rmdir(dir);
	/* without the variable: /tmp/shmkit-<euid> */
	unsetenv("SHMK_SLOTS_DIR");
	char want[64];
	snprintf(want, sizeof(want), "/tmp/shmkit-%u", (unsigned)geteuid());
	CU_ASSERT_EQUAL(shmk_slots_default_dir(buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, want);
}
H_REGISTER(flink_dir, 20, "slots.flink.dir");

/* ------------------------------------------------------------ attach */

static void flink_safe(void)
{
	char fl[256], other[256];
	struct shmk_slots *o, *r;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), 0);
	shmk_slots_close(r);
	/* symbolic link to the flink */
	h_unique_path(other, sizeof(other), "link.flink");
	CU_ASSERT_EQUAL(symlink(fl, other), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(other, &r), SHMK_EUNSAFE);
	unlink(other);
	/* hard link */
	CU_ASSERT_EQUAL(link(fl, other), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_EUNSAFE);
	unlink(other);
	/* wider mode */
	CU_ASSERT_EQUAL(chmod(fl, 0644), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(chmod(fl, 0600), 0);
	/* not a regular file */
	h_unique_path(other, sizeof(other), "fifo.flink");
	CU_ASSERT_EQUAL(mkfifo(other, 0600), 0);
	int rc = shmk_slots_attach(other, &r);
	CU_ASSERT(rc == SHMK_EUNSAFE || rc == -ENXIO);
	unlink(other);
	/* owned by another uid (root can chown it) */
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(chown(fl, 65534, 65534), 0);
		CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_EUNSAFE);
		CU_ASSERT_EQUAL(chown(fl, 0, 0), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), 0);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(flink_safe, 20, "slots.flink.safe");

static void flink_content(void)
{
	static const struct {
		const char *bytes;
		size_t len;
		int rc;
	} cases[] = {
		{ "", 0, SHMK_ELAYOUT },
		{ "/", 1, SHMK_ELAYOUT },
		{ "noslash", 7, SHMK_ELAYOUT },
		{ "/a/b", 4, SHMK_ELAYOUT },
		{ "/..", 3, SHMK_ELAYOUT },
		{ "/.", 2, SHMK_ELAYOUT },
		{ "/a b", 4, SHMK_ELAYOUT },
		{ "/ok\n\n", 5, SHMK_ELAYOUT },
		{ "/nul\0x", 6, SHMK_ELAYOUT },
		{ "/shmk-no-such-segment\n", 22, -ENOENT },
		{ "/shmk-no-such-segment", 21, -ENOENT },
	};
	char fl[256], big[400];
	struct shmk_slots *r = (void *)1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		new_flink(fl, sizeof(fl));
		CU_ASSERT_EQUAL_FATAL(write_file(fl, cases[i].bytes, cases[i].len, 0600), 0);
		int rc = shmk_slots_attach(fl, &r);
		if (rc != cases[i].rc)
			fprintf(stderr, "flink case %zu: rc %d want %d\n", i, rc, cases[i].rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_NULL(r);
		unlink(fl);
	}
	/* a name of 255 characters is too long, 254 after '/' is the limit */
	big[0] = '/';
	memset(big + 1, 'a', sizeof(big) - 1);
	new_flink(fl, sizeof(fl));
	CU_ASSERT_EQUAL_FATAL(write_file(fl, big, 256, 0600), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_ELAYOUT);
	CU_ASSERT_EQUAL_FATAL(write_file(fl, big, sizeof(big), 0600), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_ELAYOUT);
	CU_ASSERT_EQUAL_FATAL(write_file(fl, big, 255, 0600), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), -ENOENT);	/* valid, absent */
	unlink(fl);
}
H_REGISTER(flink_content, 20, "slots.flink.content");

/* A real segment from an owner, then one header field lies; every attach
 * runs in its own process so a crash would be caught as a failure. */
struct lie {
	const char *what;
	size_t off;
	uint32_t val;
	size_t trunc;	/* ftruncate the segment to this size when non-zero */
	int rc;
};

static void lie_run(const struct lie *lies, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char fl[256];
		struct shmk_slots *o;
		size_t len;

		CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 100, &o), 0);
		uint8_t *m = raw_map(shmk_slots_shm_name(o), &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		if (lies[i].trunc) {
			int fd = shm_open(shmk_slots_shm_name(o), O_RDWR, 0);
			CU_ASSERT_EQUAL(ftruncate(fd, (off_t)lies[i].trunc), 0);
			close(fd);
		} else {
			memcpy(m + lies[i].off, &lies[i].val, 4);
		}
		pid_t pid = fork();
		if (pid == 0) {
			struct shmk_slots *r = NULL;
			int rc = shmk_slots_attach(fl, &r);
			_exit(rc == lies[i].rc && !r ? 0 : 1);
		}
		int st = h_wait(pid, 10);
		if (st)
			fprintf(stderr, "lie '%s': attach status %d\n", lies[i].what, st);
		CU_ASSERT_EQUAL(st, 0);
		munmap(m, len);
		shmk_slots_close(o);
	}
}

static void attach_magic(void)
{
	static const struct lie lies[] = {
		{ "magic", 0x00, 0x5353445Au, 0, SHMK_EBADMAGIC },
		{ "magic zero", 0x00, 0, 0, SHMK_EBADMAGIC },
		{ "short file", 0, 0, 0x13f, SHMK_ETOOSMALL },
		{ "empty file", 0, 0, 0, 0 },	/* placeholder replaced below */
	};
	lie_run(lies, 3);
}
H_REGISTER(attach_magic, 30, "slots.attach.magic+2");


/* An upstream ZeroDDS flatdata v1 owner, laid out exactly as its create()
 * writes it and SEGMENT_HEADER_SIZE documents: u32 magic 0x5A445353,
 * slot_count, slot_total_size, next_sn at 0x0c, the futex generation at
 * 0x10, a 0x20 header (the module's layout table still shows the older 0x10
 * one), then slots of {u32 sn, u32 sample_size, u32 reader_mask, pad} and
 * data; the flink holds the shm name.  arg: slot count. */
static char g_up_flink[256], g_up_name[64];
static int upstream_owner(void *arg)
{
	uint32_t count = (uint32_t)(uintptr_t)arg, total = 128;	/* align_up(16 + 64, 64) */
	size_t size = SHMK_SLOTS_ZERODDS_HDR_SIZE + (size_t)count * total;
	int fd = shm_open(g_up_name, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)size))
		return 10;
	uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 11;
	uint32_t w[5] = { SHMK_SLOTS_ZERODDS_MAGIC, count, total, 1, 0 };
	memcpy(m, w, sizeof(w));
	uint32_t slot[3] = { 0, 5, 0 };	/* sn 0, "hello", nobody read it */
	memcpy(m + SHMK_SLOTS_ZERODDS_HDR_SIZE, slot, sizeof(slot));
	memcpy(m + SHMK_SLOTS_ZERODDS_HDR_SIZE + 16, "hello", 5);
	munmap(m, size);
	fd = open(g_up_flink, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, g_up_name, strlen(g_up_name)) != (ssize_t)strlen(g_up_name))
		return 12;
	close(fd);
	return 0;
}

static void attach_upstream_body(void)
{
	char fl[256];
	struct shmk_slots *r = NULL, *o;
	size_t len;

	/* 4 slots: 0x20 + 512 bytes, longer than our header; 1 slot: 0xa0
	 * bytes, shorter: both are named, neither is a bare size error */
	static const uintptr_t counts[] = { 4, 1 };
	for (size_t k = 0; k < 2; k++) {
		uintptr_t count = counts[k];
		new_flink(g_up_flink, sizeof(g_up_flink));
		h_unique_shm_name(g_up_name, sizeof(g_up_name));
		pid_t pid = run_proc(upstream_owner, (void *)count);
		CU_ASSERT_FATAL(pid > 0);
		CU_ASSERT_EQUAL_FATAL(h_wait(pid, 10), 0);
		int arc = shmk_slots_attach(g_up_flink, &r);
		if (arc != SHMK_EBADMAGIC)
			fprintf(stderr, "upstream %zu: %s: %s\n", (size_t)count, shmk_errname(arc),
				shmk_errdetail());
		CU_ASSERT_EQUAL(arc, SHMK_EBADMAGIC);
		CU_ASSERT_PTR_NULL(r);
		CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(),
					      "ZeroDDS flatdata v1 layout, 0x20 header"));
		CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "not supported"));
		/* the one validator says the same (inspect, fuzzers) */
		uint8_t *m = raw_map(g_up_name, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(shmk_slots_validate(m, len, len, NULL), SHMK_EBADMAGIC);
		munmap(m, len);
		shm_unlink(g_up_name);
		unlink(g_up_flink);
	}

	/* the other way round: upstream's attach checks only the first u32
	 * against its magic, and a shmkit segment (from another process's
	 * create) fails that check */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	uint8_t *m = raw_map(shmk_slots_shm_name(o), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	uint32_t first;
	memcpy(&first, m, 4);
	CU_ASSERT_NOT_EQUAL(first, 0x5A445353u);
	CU_ASSERT_EQUAL(first, SHMK_SLOTS_MAGIC);
	munmap(m, len);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}

static void attach_upstream(void)
{
	isolate(attach_upstream_body, 30);
}
H_REGISTER(attach_upstream, 0, "slots.attach.upstream", "slots.layout.magic");

/* Reader with an index agreed out of band (upstream style): refused at
 * its first read with a detail; once registered it gets the samples
 * committed after that. */
static const char *g_unreg_flink;
static int unregistered_reader(void *arg)
{
	struct shmk_slots *r;
	shmk_slot_handle_t h = { 0 };
	unsigned idx;
	char buf[8];

	(void)arg;
	if (shmk_slots_attach(g_unreg_flink, &r))
		return 10;
	bump(&sh->ready);
	if (wait_value(&sh->go, 1, 10))
		return 11;
	/* sample "A" is committed for mask UINT32_MAX; index 0 is ours by
	 * agreement only */
	if (shmk_slots_next_unread_slot(r, 0, &h) != -EPERM ||
	    !strstr(shmk_errdetail(), "shmk_slots_register_reader"))
		return 12;
	if (shmk_slots_mark_read(r, h, 0) != -EPERM)
		return 13;
	if (shmk_slots_register_reader(r, 0, &idx) || idx != 0)
		return 14;
	/* "A" was addressed before we registered: never ours */
	if (shmk_slots_next_unread_slot(r, 0, &h) != 0)
		return 15;
	if (shmk_slots_next_unread_slot(r, 1, &h) != -EPERM || !strstr(shmk_errdetail(), "not 1"))
		return 16;
	bump(&sh->ready);
	if (wait_value(&sh->go, 2, 10))
		return 17;
	if (shmk_slots_next_unread_slot(r, 0, &h) != 1 ||
	    shmk_slots_read_slot(r, h, buf, sizeof(buf), NULL) || memcmp(buf, "B", 2) ||
	    shmk_slots_mark_read(r, h, 0))
		return 18;
	return shmk_slots_close(r) ? 19 : 0;
}

static void reader_unregistered_body(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h;
	uint64_t sn;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	g_unreg_flink = fl;
	pid_t pid = run_proc(unregistered_reader, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(wait_value(&sh->ready, 1, 10), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "A", 2, &sn, NULL), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(wait_value(&sh->ready, 2, 10), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "B", 2, &sn, NULL), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}

static void reader_unregistered(void)
{
	isolate(reader_unregistered_body, 30);
}
H_REGISTER(reader_unregistered, 0, "slots.reader.unregistered");

static void attach_sizes(void)
{
	static const struct lie lies[] = {
		{ "hdr_size", 0x1c, 0x20, 0, SHMK_ELAYOUT },
		{ "count zero", 0x04, 0, 0, SHMK_ELAYOUT },
		{ "count huge", 0x04, 65537, 0, SHMK_ELAYOUT },
		{ "count max", 0x04, UINT32_MAX, 0, SHMK_ELAYOUT },
		{ "capacity zero", 0x0c, 0, 0, SHMK_ELAYOUT },
		{ "capacity max", 0x0c, UINT32_MAX, 0, SHMK_ELAYOUT },
		{ "capacity limit+1", 0x0c, UINT32_MAX - 78, 0, SHMK_ELAYOUT },
		{ "capacity bigger", 0x0c, 113, 0, SHMK_ELAYOUT },	/* 113 needs 192, not 128 */
		{ "total zero", 0x08, 0, 0, SHMK_ELAYOUT },
		{ "total small", 0x08, 64, 0, SHMK_ELAYOUT },
		{ "total big", 0x08, 192, 0, SHMK_ELAYOUT },
		{ "total odd", 0x08, 129, 0, SHMK_ELAYOUT },
		{ "total max", 0x08, UINT32_MAX, 0, SHMK_ELAYOUT },
	};
	lie_run(lies, sizeof(lies) / sizeof(lies[0]));
}
H_REGISTER(attach_sizes, 60, "slots.attach.sizes");

static void attach_bounds(void)
{
	static const struct lie lies[] = {
		{ "count 5 of 4", 0x04, 5, 0, SHMK_ELAYOUT },
		{ "count 65536", 0x04, 65536, 0, SHMK_ELAYOUT },
		{ "file shrank by one byte", 0, 0, 0x140 + 4 * 128 - 1, SHMK_ELAYOUT },
		{ "file holds the header only", 0, 0, 0x140, SHMK_ELAYOUT },
	};
	lie_run(lies, sizeof(lies) / sizeof(lies[0]));
	/* capacity and total agree but count x total is far beyond the file */
	char fl[256];
	struct shmk_slots *o;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 100, &o), 0);
	uint8_t *m = raw_map(shmk_slots_shm_name(o), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	uint32_t cap = UINT32_MAX - 79, total = UINT32_MAX - 63, count = 65536;
	memcpy(m + 0x0c, &cap, 4);
	memcpy(m + 0x08, &total, 4);
	memcpy(m + 0x04, &count, 4);
	struct shmk_slots *r = NULL;
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_ELAYOUT);
	CU_ASSERT_PTR_NULL(r);
	munmap(m, len);
	shmk_slots_close(o);
}
H_REGISTER(attach_bounds, 30, "slots.attach.bounds");

/* ------------------------------------------------------------ the one validator */

#define VS_FIRST_SN ((uint64_t)UINT32_MAX - 1)	/* next_sn crosses 2^32 */

struct vs_seg {
	uint64_t token;		/* the creator's */
	char name[256];		/* segment shm name */
};

/* The creator process: 5 slots of 100 bytes, two commits; ships its
 * token and segment name, then waits for `go` and leaves WITHOUT closing,
 * so its header stays as it set it. */
static void vs_creator(const char *fl, int out, int go)
{
	struct shmk_slots_opts opts = { .first_sn = VS_FIRST_SN };
	struct shmk_slots *o = NULL;
	struct vs_seg seg = { 0 };
	shmk_slot_handle_t h;
	uint64_t sn;
	char c;

	int ok = shmk_slots_create_opts(fl, 5, 100, &opts, &o) == 0 &&
		 shmk_slots_reserve_slot(o, 0, &h) == 0 &&
		 shmk_slots_commit_slot(o, h, "one", 3, &sn, NULL) == 0 &&
		 shmk_slots_reserve_slot(o, 0, &h) == 0 &&
		 shmk_slots_commit_slot(o, h, "two", 3, &sn, NULL) == 0;
	if (ok) {
		seg.token = shmk_self_token();
		snprintf(seg.name, sizeof(seg.name), "%s", shmk_slots_shm_name(o));
	}
	ok = write(out, &seg, sizeof(seg)) == (ssize_t)sizeof(seg) && ok;
	ok = read(go, &c, 1) == 1 && ok;
	_exit(ok ? 0 : 1);
}

static uint8_t *vs_copy(const char *name, size_t *len)
{
	uint8_t *b = t_copy_fd(shm_open(name, O_RDONLY, 0), len);

	CU_ASSERT_FATAL(b != NULL);
	return b;
}

/* A prefix of the whole segment (size bytes, slots in the first need). */
struct vs_prefix {
	uint64_t size, need;
};

static int vs_prefix_ok(const uint8_t *t, size_t l, void *arg)
{
	const struct vs_prefix *p = arg;
	struct shmk_slots_info si;

	/* as a truncated segment: too small for the header, then for the slots */
	int rc = shmk_slots_validate(t, l, l, &si);
	if (rc != (l < SHMK_SLOTS_HDR_SIZE ? SHMK_ETOOSMALL : l < p->need ? SHMK_ELAYOUT : 0))
		return 0;
	/* as a partial copy of the real one: the header is needed, the
	 * slot table is not (complete says whether it is there) */
	rc = shmk_slots_validate(t, l, p->size, &si);
	if (l < SHMK_SLOTS_HDR_SIZE)
		return rc == SHMK_ETOOSMALL;
	return rc == 0 && si.complete == (l >= p->need) && si.slot_count == 5;
}

static void validate_shared(void)
{
	char fl[256];
	int out[2], go[2];
	struct vs_seg seg;

	new_flink(fl, sizeof(fl));
	CU_ASSERT_EQUAL_FATAL(pipe(out), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		vs_creator(fl, out[1], go[0]);
	close(out[1]);
	close(go[0]);
	CU_ASSERT_EQUAL_FATAL(read(out[0], &seg, sizeof(seg)), (ssize_t)sizeof(seg));
	close(out[0]);
	CU_ASSERT_FATAL(seg.token != 0);

	/* a reader in this process, so the registry holds one token */
	struct shmk_slots *rd = NULL;
	unsigned idx;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rd), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rd, 3, &idx), 0);

	/* (a) the whole segment, exactly: accepted, the info is what the
	 * creator set */
	size_t size;
	uint8_t *b = vs_copy(seg.name, &size);
	size_t need = SHMK_SLOTS_HDR_SIZE + 5 * 128;
	CU_ASSERT_FATAL(size >= need);
	struct shmk_slots_info si;
	memset(&si, 0xee, sizeof(si));
	CU_ASSERT_EQUAL_FATAL(shmk_slots_validate(b, size, size, &si), 0);
	CU_ASSERT_EQUAL(si.slot_count, 5);
	CU_ASSERT_EQUAL(si.slot_capacity, 100);
	CU_ASSERT_EQUAL(si.slot_total_size, 128);
	CU_ASSERT_EQUAL(si.segment_size, need);
	CU_ASSERT_EQUAL(si.owner_token, seg.token);
	CU_ASSERT_EQUAL(si.owner_state, SHMK_SLOTS_OWNER_LIVE);
	CU_ASSERT_EQUAL(si.next_sn, VS_FIRST_SN + 2);
	CU_ASSERT_EQUAL(si.readers, 1);
	CU_ASSERT_EQUAL(si.complete, 1);
	CU_ASSERT_EQUAL(shmk_slots_validate(b, size, size, NULL), 0);
	uint8_t *again = vs_copy(seg.name, &size);
	CU_ASSERT_EQUAL(memcmp(b, again, size), 0);	/* it wrote nothing */
	free(again);
	shmk_slots_close(rd);
	CU_ASSERT_EQUAL(write(go[1], "x", 1), 1);
	close(go[1]);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);

	/* misuse */
	CU_ASSERT_EQUAL(shmk_slots_validate(NULL, 0, size, &si), -EINVAL);
	CU_ASSERT_EQUAL(shmk_slots_validate(b, size, size - 1, &si), -EINVAL);
	CU_ASSERT_EQUAL(shmk_slots_validate(b + 4, 0x140, size, &si), SHMK_EMISALIGNED);

	/* (b) every truncation length, each in a buffer of exactly that many
	 * bytes */
	struct vs_prefix pre = { size, need };
	CU_ASSERT_EQUAL(t_each_prefix(b, size, vs_prefix_ok, &pre), 0);

	/* each header field at its boundaries: the validator on the copy and
	 * attach on the segment give the same code */
	static const struct {
		size_t off;
		uint32_t val;
		int want;
	} patches[] = {
		{ 0x00, 0, SHMK_EBADMAGIC },
		{ 0x00, SHMK_SLOTS_MAGIC ^ 1, SHMK_EBADMAGIC },
		{ 0x00, SHMK_SLOTS_ZERODDS_MAGIC, SHMK_EBADMAGIC },
		{ 0x00, UINT32_MAX, SHMK_EBADMAGIC },
		{ 0x1c, 0, SHMK_ELAYOUT },
		{ 0x1c, SHMK_SLOTS_HDR_SIZE - 1, SHMK_ELAYOUT },
		{ 0x1c, SHMK_SLOTS_HDR_SIZE + 1, SHMK_ELAYOUT },
		{ 0x1c, UINT32_MAX, SHMK_ELAYOUT },
		{ 0x04, 0, SHMK_ELAYOUT },
		{ 0x04, 1, 0 },			/* fewer slots than the file holds */
		{ 0x04, 6, SHMK_ELAYOUT },	/* one more than it holds */
		{ 0x04, SHMK_SLOTS_MAX_COUNT, SHMK_ELAYOUT },
		{ 0x04, SHMK_SLOTS_MAX_COUNT + 1, SHMK_ELAYOUT },
		{ 0x04, UINT32_MAX, SHMK_ELAYOUT },
		{ 0x0c, 0, SHMK_ELAYOUT },
		{ 0x0c, 1, SHMK_ELAYOUT },	/* needs 64, not 128 */
		{ 0x0c, 112, 0 },		/* the largest that still needs 128 */
		{ 0x0c, 113, SHMK_ELAYOUT },
		{ 0x0c, UINT32_MAX - 79, SHMK_ELAYOUT },
		{ 0x0c, UINT32_MAX - 78, SHMK_ELAYOUT },
		{ 0x0c, UINT32_MAX, SHMK_ELAYOUT },
		{ 0x08, 0, SHMK_ELAYOUT },
		{ 0x08, 64, SHMK_ELAYOUT },
		{ 0x08, 127, SHMK_ELAYOUT },
		{ 0x08, 129, SHMK_ELAYOUT },
		{ 0x08, 192, SHMK_ELAYOUT },
		{ 0x08, UINT32_MAX, SHMK_ELAYOUT },
	};
	size_t rawlen;
	uint8_t *raw = raw_map(seg.name, &rawlen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	uint8_t *t = malloc(size);
	CU_ASSERT_FATAL(t != NULL);
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		struct shmk_slots *r = NULL;
		memcpy(t, b, size);
		memcpy(t + patches[i].off, &patches[i].val, 4);
		int rc = shmk_slots_validate(t, size, size, &si);
		if (rc != patches[i].want)
			fprintf(stderr, "slots: patch %zu (off %#zx = %#x): %d (%s), want %s\n", i,
				patches[i].off, patches[i].val, rc, shmk_errname(rc),
				shmk_errname(patches[i].want));
		CU_ASSERT_EQUAL(rc, patches[i].want);
		if (rc) {
			CU_ASSERT_PTR_NOT_NULL(shmk_errname(rc));
			CU_ASSERT(shmk_errdetail() && *shmk_errdetail());
		}
		memcpy(raw + patches[i].off, &patches[i].val, 4);
		CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), patches[i].want);
		if (r)
			shmk_slots_close(r);
		memcpy(raw + patches[i].off, b + patches[i].off, 4);
	}
	/* the owner fields are a snapshot, not a rule */
	memcpy(t, b, size);
	memset(t + 0x10, 0xff, 8);	/* next_sn */
	memset(t + 0x20, 0xff, 0x10);	/* owner token, state, waiters */
	CU_ASSERT_EQUAL(shmk_slots_validate(t, size, size, &si), 0);
	CU_ASSERT_EQUAL(si.next_sn, UINT64_MAX);
	CU_ASSERT_EQUAL(si.owner_token, UINT64_MAX);
	CU_ASSERT_EQUAL(si.owner_state, UINT32_MAX);
	free(t);
	munmap(raw, rawlen);
	free(b);
	/* the creator died without closing: its objects are stale now */
	CU_ASSERT_EQUAL(shmk_slots_reclaim_stale(fl), 0);
}
H_REGISTER(validate_shared, 60, "slots.validate.shared");

/* ------------------------------------------------------------ readers */

static void reader_index(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h = { 0 };
	unsigned idx;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(o, 32, &idx), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(o, 255, &idx), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(o, -2, &idx), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(o, 32, &h), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(o, UINT32_MAX, &h), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(o, h, 32), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(o, h, 1000), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_mark_reader_disconnected(o, 32), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(o, 31, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_mark_reader_disconnected(o, 31), 0);
	shmk_slots_close(o);
}
H_REGISTER(reader_index, 20, "slots.reader.index");

static int register_child(void *arg)
{
	struct shmk_slots *r;
	unsigned idx;
	int rc = shmk_slots_attach(arg, &r);

	if (rc)
		return 2;
	rc = shmk_slots_register_reader(r, 7, &idx);
	sh->rc[0] = rc;
	sh->token[0] = shmk_self_token();
	bump(&sh->ready);
	wait_value(&sh->go, 1, 20);
	/* no close: the process dies holding index 7 */
	return rc == 0 && idx == 7 ? 0 : 1;
}

static void reader_register(void)
{
	char fl[256];
	struct shmk_slots *o, *r[33];
	unsigned idx;
	size_t len;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	pid_t pid = run_proc(register_child, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 10), 0);
	CU_ASSERT_EQUAL(sh->rc[0], 0);
	/* the registry entry holds the child's token */
	struct shmk_slots_hdr *hd = raw_map(shmk_slots_shm_name(o), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hd);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[7]), sh->token[0]);
	CU_ASSERT_NOT_EQUAL(sh->token[0], shmk_self_token());
	/* that index is held: EBUSY; any other: the first free one */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[0]), 0);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(r[0], 7, &idx), SHMK_EBUSY);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(r[0], -1, &idx), 0);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[0]), shmk_self_token());
	/* fill the other 30, then none is free */
	int n = 1;
	for (; n < 31; n++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[n]), 0);
		CU_ASSERT_EQUAL(shmk_slots_register_reader(r[n], -1, &idx), 0);
	}
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r[n]), 0);
	CU_ASSERT_EQUAL(shmk_slots_register_reader(r[n], -1, &idx), SHMK_EFULL);
	shmk_slots_close(r[n]);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	for (int i = 0; i < 31; i++)
		shmk_slots_close(r[i]);
	munmap(hd, len);
	shmk_slots_close(o);
}
H_REGISTER(reader_register, 30, "slots.reader.register");

/* Owner and three reader processes: every sample reaches every reader, in
 * order and intact, through 8 slots recycled many times. */
static void multi_reader(void)
{
	char fl[256];
	struct shmk_slots *o;
	struct rd_arg a[3];
	pid_t pid[3];
	const uint64_t n = 300;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 8, 200, &o), 0);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct rd_arg){ .flink = fl, .slot = i, .expect = n, .want_index = -1,
					.len = 150, .copy = i == 2 };
		pid[i] = run_proc(reader_proc, &a[i]);
	}
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 3, 20), 0);
	uint64_t next = 1;
	for (uint64_t k = 0; k < n; k++) {
		int rc = publish(o, &next, 150);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
	}
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(h_wait(pid[i], 60), 0);
		CU_ASSERT_EQUAL(sh->got[i], n);
		CU_ASSERT_EQUAL(sh->bad[i], 0);
		CU_ASSERT_EQUAL(sh->first_sn[i], 1);
		CU_ASSERT_EQUAL(sh->last_sn[i], n);
		CU_ASSERT_EQUAL(sh->rc[i], 0);
	}
	shmk_slots_close(o);
}
H_REGISTER(multi_reader, 120, "slots.publish.order+2", "slots.reuse.rule");

/* Delivery in sequence-number order after the slots wrapped around. */
static void delivery_order(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	shmk_slot_handle_t h, rh;
	unsigned idx;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, -1, &idx), 0);
	for (int k = 0; k < 4; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, &k, sizeof(k), &sn, NULL), 0);
	}
	/* read sn 1 and 2 (slots 0, 1), so the owner reuses slots 0 and 1 */
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
		CU_ASSERT_EQUAL(rh.sn, (uint64_t)k + 1);
		CU_ASSERT_EQUAL(shmk_slots_mark_read(r, rh, idx), 0);
	}
	uint32_t used[2];
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
		used[k] = h.index;
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, &k, sizeof(k), &sn, NULL), 0);
	}
	CU_ASSERT(used[0] < 2 && used[1] < 2);	/* lower indices now hold newer samples */
	for (uint64_t want = 3; want <= 6; want++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
		CU_ASSERT_EQUAL(rh.sn, want);
		CU_ASSERT_EQUAL(shmk_slots_mark_read(r, rh, idx), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(r, idx, &rh), 0);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(delivery_order, 20, "slots.delivery.order");

/* The owner recycles a slot between the reader's sn load and its mask
 * load (test seam): an old sn must never pair with the new commit's mask. */
extern void (*shmk_slots_test_scan_hook)(uint32_t index);
static struct shmk_slots *g_owner;
static int g_hook_fired;

static void recycle_hook(uint32_t index)
{
	shmk_slot_handle_t h;
	uint64_t sn;

	if (g_hook_fired++)
		return;
	if (shmk_slots_reserve_slot(g_owner, UINT32_MAX, &h) == 0 && h.index == index)
		shmk_slots_commit_slot(g_owner, h, "NEW", 3, &sn, NULL);
}

static void recycle_race(void)
{
	char fl[256];
	struct shmk_slots *r;
	shmk_slot_handle_t h, rh;
	unsigned idx;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 1, 16, &g_owner), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, -1, &idx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(g_owner, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(g_owner, h, "OLD", 3, &sn, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 1);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(r, rh, idx), 0);
	/* the reader scans; at slot 0, after loading sn 1, the owner reuses
	 * it for sn 2 (owed to this reader, so its bit is clear again).  A
	 * fresh scanner: r itself knows sn 1 was its last and that nothing
	 * later is published, so it would not look at slot 0.  The owner's
	 * handle is one (it may scan any index, slots.reader.unregistered,
	 * and has no hint for idx yet). */
	shmk_slots_test_scan_hook = recycle_hook;
	int rc = shmk_slots_next_unread_slot(g_owner, idx, &rh);
	shmk_slots_test_scan_hook = NULL;
	CU_ASSERT_EQUAL(g_hook_fired, 1);
	CU_ASSERT(rc == 0 || (rc == 1 && rh.sn == 2));	/* never sample 1 again */
	if (rc == 1)
		CU_ASSERT_NOT_EQUAL(rh.sn, 1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 2);
	char buf[8];
	struct shmk_slot_info info;
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, rh, buf, sizeof(buf), &info), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "NEW", 3), 0);
	shmk_slots_close(r);
	shmk_slots_close(g_owner);
}
H_REGISTER(recycle_race, 20, "slots.publish.order+2");

/* Samples are owed only to active ∩ registered readers. */
static void addressed(void)
{
	char fl[256];
	struct shmk_slots *o, *ra, *rb, *rc_;
	shmk_slot_handle_t h, rh;
	unsigned ia, ib, ic;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &ra), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rb), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rc_), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(ra, 0, &ia), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rb, 1, &ib), 0);
	/* only reader 0 is addressed */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, 1u << 0, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rb, ib, &rh), 0);
	/* reader 2 registers after the commit: not owed it either */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rc_, 2, &ic), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rc_, ic, &rh), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(ra, ia, &rh), 1);
	/* addressed to everyone: all three registered readers are owed it */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "b", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rb, ib, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 2);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(rc_, ic, &rh), 1);
	CU_ASSERT_EQUAL(rh.sn, 2);
	struct shmk_slot_info info;
	char c;
	CU_ASSERT_EQUAL(shmk_slots_read_slot(rc_, rh, &c, 1, &info), 0);
	CU_ASSERT_EQUAL(info.reader_mask, ~0x7u);
	shmk_slots_close(ra);
	shmk_slots_close(rb);
	shmk_slots_close(rc_);
	shmk_slots_close(o);
}
H_REGISTER(addressed, 20, "slots.delivery.addressed");

/* Reuse: a slot comes back only when every addressed live reader read it. */
static void reuse(void)
{
	char fl[256];
	struct shmk_slots *o, *ra, *rb;
	shmk_slot_handle_t h, rh;
	unsigned ia, ib;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &ra), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rb), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(ra, -1, &ia), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rb, -1, &ib), 0);
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "x", 1, &sn, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	/* a loaned slot is not free either */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(ra, ia, &rh), 1);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(ra, rh, ia), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(rb, ib, &rh), 1);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(rb, rh, ib), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(h.index, rh.index);
	shmk_slot_handle_t h2;
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h2), SHMK_EFULL);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h2), 0);
	CU_ASSERT_EQUAL(h2.index, h.index);
	/* a closed reader stops pinning: rb leaves, ra reads the last one */
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h2), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "y", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	shmk_slots_close(rb);
	while (shmk_slots_next_unread_slot(ra, ia, &rh) == 1)
		shmk_slots_mark_read(ra, rh, ia);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h2), 0);
	shmk_slots_close(ra);
	shmk_slots_close(o);
}
H_REGISTER(reuse, 20, "slots.reuse.rule");

/* A reader killed while holding unread samples: detected (as a zombie, and
 * once reaped), its slots come back, the other reader is unaffected. */
static void reader_killed(void)
{
	char fl[256];
	struct shmk_slots *o;
	struct rd_arg a[2];
	pid_t pid[2];
	shmk_slot_handle_t h;
	const uint64_t n = 40;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 64, &o), 0);
	a[0] = (struct rd_arg){ .flink = fl, .slot = 0, .expect = n, .want_index = -1, .len = 32 };
	a[1] = (struct rd_arg){ .flink = fl, .slot = 1, .want_index = -1, .hold = 1 };
	pid[0] = run_proc(reader_proc, &a[0]);
	pid[1] = run_proc(reader_proc, &a[1]);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 2, 20), 0);
	uint64_t next = 1;
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, 32), 0);
	/* reader 0 drains all four; the holder pins them */
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->progress, 4, 20), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	/* killed, not yet reaped: a zombie still counts as dead */
	CU_ASSERT_EQUAL(kill(pid[1], SIGKILL), 0);
	CU_ASSERT_EQUAL_FATAL(wait_zombie(pid[1]), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	size_t len;
	struct shmk_slots_hdr *hd = raw_map(shmk_slots_shm_name(o), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hd);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[sh->idx[1]]), 0);	/* index released */
	CU_ASSERT_NOT_EQUAL(atomic_load(&hd->readers[sh->idx[0]]), 0);
	munmap(hd, len);
	CU_ASSERT_EQUAL(h_wait(pid[1], 10), 128 + SIGKILL);
	/* the survivor keeps getting every sample */
	for (uint64_t k = 4; k < n; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, 32), 0);
	CU_ASSERT_EQUAL(h_wait(pid[0], 60), 0);
	CU_ASSERT_EQUAL(sh->got[0], n);
	CU_ASSERT_EQUAL(sh->bad[0], 0);
	CU_ASSERT_EQUAL(sh->last_sn[0], n);
	shmk_slots_close(o);
}
H_REGISTER(reader_killed, 120, "slots.reader.reap");

/* PID reuse: a registry token whose pid is alive but whose start time
 * differs names an earlier incarnation: dead, reaped.  A live token pins. */
static void reader_pid_reuse(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h;
	uint64_t sn, live_tok;
	size_t len;
	int p[2];

	CU_ASSERT_FATAL(pipe(p) == 0);
	pid_t sleeper = fork();
	if (sleeper == 0) {
		char c;
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	CU_ASSERT_EQUAL_FATAL(shmk_token_for_pid(sleeper, &live_tok), 0);
	uint64_t reused = live_tok + (1ull << SHMK_TOKEN_PID_BITS);	/* same pid, other start */
	CU_ASSERT_EQUAL(shmk_token_alive(live_tok), 1);
	CU_ASSERT_EQUAL(shmk_token_alive(reused), 0);

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 1, 16, &o), 0);
	struct shmk_slots_hdr *hd = raw_map(shmk_slots_shm_name(o), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hd);
	atomic_store(&hd->readers[5], reused);
	atomic_store(&hd->readers[6], live_tok);
	/* owed to 5 and 6; 6 is alive and never reads: pinned */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "p", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[5]), 0);	/* reaped: pid reuse seen */
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[6]), live_tok);
	/* only 6 still pins it; once 6 dies, the slot comes back */
	close(p[1]);
	CU_ASSERT_EQUAL(h_wait(sleeper, 10), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[6]), 0);
	munmap(hd, len);
	shmk_slots_close(o);
}
H_REGISTER(reader_pid_reuse, 20, "slots.reader.reap");

static void disconnect(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	shmk_slot_handle_t h, rh;
	unsigned idx;
	uint64_t sn;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, 5, &idx), 0);
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "z", 1, &sn, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT_EQUAL(shmk_slots_mark_reader_disconnected(o, 5), 0);
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(r, idx, &rh), 0);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(disconnect, 20, "slots.reader.disconnect");

/* ------------------------------------------------------------ sequence numbers */

static void sn_wrap(void)
{
	char fl[256];
	struct shmk_slots *o;
	struct shmk_slots_opts opts = { .first_sn = UINT32_MAX - 3 };
	struct rd_arg a;
	const uint64_t n = 12;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(
		shmk_slots_create_opts(new_flink(fl, sizeof(fl)), 3, 64, &opts, &o), 0);
	a = (struct rd_arg){ .flink = fl, .slot = 0, .expect = n, .want_index = -1, .len = 20 };
	pid_t pid = run_proc(reader_proc, &a);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	uint64_t next = UINT32_MAX - 3;
	for (uint64_t k = 0; k < n; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, 20), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(sh->got[0], n);
	CU_ASSERT_EQUAL(sh->bad[0], 0);
	CU_ASSERT_EQUAL(sh->first_sn[0], (uint64_t)UINT32_MAX - 3);
	CU_ASSERT_EQUAL(sh->last_sn[0], (uint64_t)UINT32_MAX - 3 + n - 1);	/* past 2^32 */
	shmk_slots_close(o);

	/* near UINT64_MAX: exhaustion is refused, never wrapped */
	opts.first_sn = UINT64_MAX - 2;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create_opts(new_flink(fl, sizeof(fl)), 4, 64, &opts, &o),
			      0);
	shmk_slot_handle_t h;
	uint64_t sn = 0;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(sn, UINT64_MAX - 2);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), 0);
	CU_ASSERT_EQUAL(sn, UINT64_MAX - 1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), SHMK_EOVERFLOW);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(o, h, 1, &sn, NULL), SHMK_EOVERFLOW);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	shmk_slots_close(o);
}
H_REGISTER(sn_wrap, 90, "slots.sn.width");

/* ------------------------------------------------------------ handles and reads */

static void handle_bounds(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	shmk_slot_handle_t bad = { .index = 3 }, worse = { .index = UINT32_MAX };
	void *p;
	const void *cp;
	size_t n;
	uint64_t sn;
	char buf[8];

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 3, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	unsigned idx;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, 0, &idx), 0);
	shmk_slot_handle_t hs[2] = { bad, worse };
	for (int i = 0; i < 2; i++) {
		shmk_slot_handle_t h = hs[i];
		CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "a", 1, &sn, NULL), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_commit_in_place(o, h, 1, &sn, NULL), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(o, h, &p, &n), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(r, h, &cp, &n), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_read_slot(r, h, buf, sizeof(buf), NULL), SHMK_ERANGE);
		CU_ASSERT_EQUAL(shmk_slots_mark_read(r, h, 0), SHMK_ERANGE);
	}
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(handle_bounds, 20, "slots.handle.bounds");

static void read_bounds(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	shmk_slot_handle_t h, rh;
	unsigned idx;
	uint64_t sn;
	size_t len, n;
	const void *cp;
	char buf[256];

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 100, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, -1, &idx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "abc", 3, &sn, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
	uint8_t *m = raw_map(shmk_slots_shm_name(o), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	struct shmk_slot_hdr *sl = (void *)(m + 0x140 + (size_t)rh.index * 128);
	atomic_store(&sl->sample_size, 101);	/* capacity + 1: still inside the slot padding */
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, rh, buf, sizeof(buf), NULL), SHMK_EINTEGRITY);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(r, rh, &cp, &n), SHMK_EINTEGRITY);
	atomic_store(&sl->sample_size, UINT32_MAX);
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, rh, buf, sizeof(buf), NULL), SHMK_EINTEGRITY);
	atomic_store(&sl->sample_size, 100);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(r, rh, &cp, &n), 0);
	CU_ASSERT_EQUAL(n, 100);
	/* a short buffer gets EBUFSMALL with the size */
	struct shmk_slot_info info;
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, rh, buf, 10, &info), SHMK_EBUFSMALL);
	CU_ASSERT_EQUAL(info.sample_size, 100);
	munmap(m, len);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(read_bounds, 20, "slots.read.bounds");

static void read_ptr(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	shmk_slot_handle_t h, rh;
	unsigned idx;
	uint64_t sn;
	const void *cp;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 1, 32, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, -1, &idx), 0);
	/* nothing committed: the reserved slot has no sample */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(r, h, &cp, &n), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "first", 5, &sn, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_next_unread_slot(r, idx, &rh), 1);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(r, rh, &cp, &n), 0);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(memcmp(cp, "first", 5), 0);
	/* the pointer is into the segment: the owner's mapping shows the same bytes */
	CU_ASSERT_EQUAL(shmk_slots_mark_read(r, rh, idx), 0);
	/* recycled: the old handle is refused, not misread */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "second", 6, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_read_ptr(r, rh, &cp, &n), SHMK_EEMPTY);
	char buf[8];
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, rh, buf, sizeof(buf), NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(shmk_slots_mark_read(r, rh, idx), SHMK_EEMPTY);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(read_ptr, 20, "slots.read.ptr");

/* Zero-copy loan: 1 MiB samples to a reader process; commit_in_place is
 * byte-for-byte commit_slot; loans stay with the owner's handle. */
static void loan(void)
{
	char fl[256], fl2[256];
	struct shmk_slots *o, *o2, *r;
	shmk_slot_handle_t h, h2;
	const size_t mib = 1 << 20;
	struct rd_arg a;
	void *p;
	size_t cap, la, lb;
	uint64_t sn, sn2;
	struct shmk_slots_toolarge tl = { 0 };

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 3, mib, &o), 0);
	a = (struct rd_arg){ .flink = fl, .slot = 0, .expect = 8, .want_index = -1, .len = mib };
	pid_t pid = run_proc(reader_proc, &a);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	uint64_t next = 1;
	for (int k = 0; k < 8; k++)
		CU_ASSERT_EQUAL_FATAL(publish(o, &next, mib), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(sh->got[0], 8);
	CU_ASSERT_EQUAL(sh->bad[0], 0);
	/* too large: SampleTooLarge{sample, capacity} */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(o, h, mib + 1, &sn, &tl), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(tl.sample, mib + 1);
	CU_ASSERT_EQUAL(tl.capacity, mib);
	tl.sample = 0;
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "", mib + 2, &sn, &tl), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(tl.sample, mib + 2);
	/* loans are the owner's: a reader handle gets -EPERM */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(r, h, &p, &cap), -EPERM);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(r, UINT32_MAX, &h2), -EPERM);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(r, h, 1, &sn, NULL), -EPERM);
	shmk_slots_close(r);
	CU_ASSERT_EQUAL(shmk_slots_discard_slot(o, h), 0);
	/* a committed (not loaned) slot cannot be loaned again */
	CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(o, h, &p, &cap), -EINVAL);
	shmk_slots_close(o);

	/* byte-for-byte: two fresh segments, same steps, the two commit paths */
	uint8_t *src = malloc(mib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	fill(src, mib - 17, 99);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, mib, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl2, sizeof(fl2)), 2, mib, &o2), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o2, UINT32_MAX, &h2), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, src, mib - 17, &sn, NULL), 0);
	CU_ASSERT_EQUAL(shmk_slots_slot_data_ptr(o2, h2, &p, &cap), 0);
	CU_ASSERT_EQUAL(cap, mib);
	memcpy(p, src, mib - 17);
	CU_ASSERT_EQUAL(shmk_slots_commit_in_place(o2, h2, mib - 17, &sn2, NULL), 0);
	CU_ASSERT_EQUAL(sn, sn2);
	uint8_t *ma = raw_map(shmk_slots_shm_name(o), &la);
	uint8_t *mb = raw_map(shmk_slots_shm_name(o2), &lb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ma);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
	CU_ASSERT_EQUAL_FATAL(la, lb);
	CU_ASSERT_EQUAL(memcmp(ma, mb, la), 0);
	munmap(ma, la);
	munmap(mb, lb);
	free(src);
	shmk_slots_close(o);
	shmk_slots_close(o2);
}
H_REGISTER(loan, 120, "slots.loan.inplace");

/* ------------------------------------------------------------ wait */

static int committer(void *arg)
{
	struct shmk_slots *o = arg;
	shmk_slot_handle_t h;
	uint64_t sn;

	if (wait_value(&sh->go, 1, 20))
		return 2;
	if (shmk_slots_reserve_slot(o, UINT32_MAX, &h) ||
	    shmk_slots_commit_slot(o, h, "w", 1, &sn, NULL))
		return 3;
	return 0;
}

static void wait_change(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	struct rusage ru0, ru1;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	/* nothing happens: -ETIMEDOUT after the timeout, without burning CPU */
	uint64_t g = shmk_slots_notify_generation(r);
	getrusage(RUSAGE_SELF, &ru0);
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g, 300000000), -ETIMEDOUT);
	int64_t dt = shmk_now_ns() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	CU_ASSERT(dt >= 300000000);
	int64_t cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000000000LL +
		      (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1000LL +
		      (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000000LL +
		      (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1000LL;
	CU_ASSERT(cpu < dt / 2);	/* parked, not polling */
	/* a stale generation returns at once */
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g + 1, 0), 0);
	/* woken by a commit in another process, with the generation captured
	 * before the commit could start: no lost wake-up */
	for (int round = 0; round < 20; round++) {
		atomic_store(&sh->go, 0);
		pid_t pid = run_proc(committer, o);
		g = shmk_slots_notify_generation(r);
		bump(&sh->go);
		int rc = shmk_slots_wait_for_change(r, g, (int64_t)h_deadline(20) * 1000000000LL);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_NOT_EQUAL(shmk_slots_notify_generation(r), g);
		CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
		/* the child committed from its fork-time copy of the owner's
		 * local state; the parent's copy still sees every slot free */
	}
	shmk_slots_close(r);
	shmk_slots_close(o);
}

H_REGISTER(wait_change, 60, "slots.wait.nolost+2");

/* Commits once the reader is parked (header waiters != 0). */
static int committer_when_parked(void *arg)
{
	struct shmk_slots *o = arg;
	size_t len;
	struct shmk_slots_hdr *h = raw_map(shmk_slots_shm_name(o), &len);
	shmk_slot_handle_t sh_;
	uint64_t sn;

	if (!h)
		return 2;
	while (!atomic_load(&h->waiters))
		sched_yield(); /* the harness alarm bounds this */
	if (shmk_slots_reserve_slot(o, UINT32_MAX, &sh_) ||
	    shmk_slots_commit_slot(o, sh_, "w", 1, &sn, NULL))
		return 3;
	return 0;
}

/* INT64_MAX waits like "forever": an overflowed deadline in the past
 * shows as -ETIMEDOUT before the commit (or as UBSan's abort). */
static void wait_huge_timeout(void)
{
	char fl[256];
	struct shmk_slots *o, *r;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	uint64_t g = shmk_slots_notify_generation(r);
	pid_t pid = run_proc(committer_when_parked, o);
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g, INT64_MAX), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(wait_huge_timeout, 30, "common.wait.deadline");

static int owner_then_die(void *arg)
{
	struct shmk_slots *o;

	if (shmk_slots_create(arg, 2, 16, &o))
		return 2;
	bump(&sh->ready);
	wait_value(&sh->go, 1, 20);
	if (atomic_load(&sh->rc[0]) == 1)
		shmk_slots_close(o);	/* clean close */
	else
		raise(SIGKILL);		/* crash */
	return 0;
}

static int wait_reader(void *arg)
{
	struct shmk_slots *r;

	if (shmk_slots_attach(arg, &r))
		return 2;
	setenv("SHMK_LIVENESS_MS", "200", 1);
	uint64_t g = shmk_slots_notify_generation(r);
	bump(&sh->ready);
	int64_t t0 = shmk_now_ns();
	int rc = shmk_slots_wait_for_change(r, g, (int64_t)h_deadline(30) * 1000000000LL);
	sh->rc[1] = rc;
	sh->last_sn[1] = (uint64_t)(shmk_now_ns() - t0);
	shmk_slots_close(r);
	return rc == SHMK_EPEERDEAD ? 0 : 1;
}

static void peerdead_case(int clean)
{
	char fl[256];

	fresh_shared();
	sh->rc[0] = clean;
	new_flink(fl, sizeof(fl));
	pid_t op = run_proc(owner_then_die, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	pid_t rp = run_proc(wait_reader, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 2, 20), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(op, 20), clean ? 0 : 128 + SIGKILL);
	CU_ASSERT_EQUAL(h_wait(rp, 40), 0);
	CU_ASSERT_EQUAL(sh->rc[1], SHMK_EPEERDEAD);
	if (!clean)
		shmk_slots_reclaim_stale(fl);
}

static void wait_peerdead(void)
{
	peerdead_case(1);
	peerdead_case(0);
}
H_REGISTER(wait_peerdead, 90, "slots.wait.peerdead");

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
	pid_t pid = run_proc(owner_crash, fl);
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
	pid = run_proc(owner_crash, fl);
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
	CU_ASSERT_EQUAL(atomic_load(&hd->readers[3]), 0);	/* the owner reaped it */
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "q", 1, &sn, NULL), 0);
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
H_REGISTER(close_roles, 20, "slots.close.owner", "slots.close.reader");

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

int main(int argc, char **argv)
{
	return h_main(argc, argv, "slots", NULL, NULL);
}
