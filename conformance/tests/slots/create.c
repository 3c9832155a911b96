/* SPDX-License-Identifier: MIT */
/* slots tests: layout, the segment locator, create and its flink. */
#include "slots_test.h"

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
	uint8_t *m = seg_map(o, &len);
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

static void segment_locator(void)
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
	pid_t pid = t_fork_run(locator_reader, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(wait_value(&sh->ready, 1, 10), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "locator", 8, &sn, NULL), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}
H_REGISTER(segment_locator, 20, "slots.segment.name+2", "slots.segment.shm-name");

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

static void create_fallocate(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root for a private tmpfs");
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
H_REGISTER(create_fallocate, 20, "slots.create.fallocate");

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
