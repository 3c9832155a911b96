/* SPDX-License-Identifier: MIT */
/* mmap_region tests: create (exclusive, replace, mode, size, reserve, no leftover) and symlinked paths. */
#include "mmap_region_test.h"
#include "support.h"

/* ------------------------------------------------------------ create */

/* Peer: owns a live region at g_path; checks nobody cut it. */
static int peer_live_region(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_create(g_path, 2 * page(), SHMK_CLEANUP_KEEP, 0, &r))
		return 10;
	fill(r, 0);
	if (h_barrier_wait(g_b, DEADLINE) || h_barrier_wait(g_b, DEADLINE))
		return 11;
	/* touching every byte would SIGBUS had the file been truncated */
	if (count_bad(r, 0, shmk_mmap_region_len(r)))
		return 12;
	shmk_mmap_region_close(r);
	return 0;
}

static void create_excl(void)
{
	struct shmk_mmap_region *r = (struct shmk_mmap_region *)0x1;

	g_b = h_barrier_new(2);
	pid_t pid = fork_peer(peer_live_region);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_barrier_wait(g_b, DEADLINE), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			-EEXIST);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 4 * page(), SHMK_CLEANUP_MANUAL, 0, &r),
			-EEXIST);
	CU_ASSERT_EQUAL(file_size(g_path), (off_t)(2 * page()));
	CU_ASSERT_EQUAL(h_barrier_wait(g_b, DEADLINE), 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	h_barrier_free(g_b);
}
H_REGISTER(create_excl, DEADLINE, "mmap_region.create.excl");

static void create_replace(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to chown to another uid");
	struct shmk_mmap_region *r = NULL;
	struct shmk_mmap_region_opts o = { .cleanup = SHMK_CLEANUP_KEEP,
					   .flags = SHMK_MMAP_REPLACE };
	struct stat before, after;

	/* a replaced file that a live peer maps: the peer keeps its bytes */
	g_b = h_barrier_new(2);
	pid_t pid = fork_peer(peer_live_region);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_barrier_wait(g_b, DEADLINE), 0);
	CU_ASSERT_EQUAL(stat(g_path, &before), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create_with(g_path, page(), &o, &r), 0);
	CU_ASSERT_EQUAL(stat(g_path, &after), 0);
	CU_ASSERT_NOT_EQUAL(before.st_ino, after.st_ino);
	CU_ASSERT_EQUAL(after.st_size, (off_t)page());
	CU_ASSERT_EQUAL(((uint8_t *)shmk_mmap_region_ptr(r))[0], 0); /* a fresh file */
	CU_ASSERT_EQUAL(h_barrier_wait(g_b, DEADLINE), 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	h_barrier_free(g_b);
	shmk_mmap_region_close(r);

	/* without the flag the same call is -EEXIST */
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			-EEXIST);
	/* replace with nothing there just creates */
	unlink(g_path);
	CU_ASSERT_EQUAL(shmk_mmap_region_create_with(g_path, page(), &o, &r), 0);
	shmk_mmap_region_close(r);

	/* another uid's file: refused unless allowed */
	CU_ASSERT_EQUAL_FATAL(chown(g_path, 65534, 65534), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_create_with(g_path, page(), &o, &r), SHMK_EUNSAFE);
	CU_ASSERT(t_exists(g_path));
	o.flags |= SHMK_MMAP_ALLOW_FOREIGN;
	CU_ASSERT_EQUAL(shmk_mmap_region_create_with(g_path, page(), &o, &r), 0);
	CU_ASSERT_EQUAL(stat(g_path, &after), 0);
	CU_ASSERT_EQUAL(after.st_uid, geteuid());
	shmk_mmap_region_close(r);
	unlink(g_path);

	/* a FIFO (not a regular file): refused and left alone */
	CU_ASSERT_EQUAL_FATAL(mkfifo(g_path, 0600), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_create_with(g_path, page(), &o, &r), SHMK_EUNSAFE);
	CU_ASSERT(stat(g_path, &after) == 0 && S_ISFIFO(after.st_mode));
	unlink(g_path);
}
H_REGISTER(create_replace, DEADLINE, "mmap_region.create.replace");

/* Peer without privileges: the 0600 region keeps it out, the 0644 control
 * file (same directory) does not. */
static int peer_unprivileged_attach(void)
{
	struct shmk_mmap_region *r = NULL;
	struct stat st;

	if (h_drop_privileges())
		return 10;
	if (stat(g_path, &st))	/* the directory lets it reach the file */
		return 11;
	int rc = shmk_mmap_region_attach(g_path, &r);
	if (rc != -EACCES)
		return 12;
	int fd = open(g_path, O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		return 13;
	fd = open(g_path2, O_RDONLY);
	if (fd < 0)
		return 14;
	close(fd);
	return 0;
}

static void create_mode(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to drop to another uid");
	struct shmk_mmap_region *r = NULL;
	struct stat st;

	umask(077);	/* would narrow 0640 to 0600 without the explicit chmod */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0640,
						      &r), 0);
	CU_ASSERT_EQUAL(stat(g_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	shmk_mmap_region_close(r);
	unlink(g_path);

	umask(0);	/* would widen nothing: mode 0 means exactly 0600 */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			      0);
	CU_ASSERT_EQUAL(stat(g_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL_FATAL(make_file(g_path2, 16, 0644), 0);

	pid_t pid = fork_peer(peer_unprivileged_attach);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	shmk_mmap_region_close(r);
}
H_REGISTER(create_mode, DEADLINE, "mmap_region.create.mode");

static void create_size(void)
{
	struct shmk_mmap_region *r = (struct shmk_mmap_region *)0x1;

	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 0, SHMK_CLEANUP_KEEP, 0, &r), -EINVAL);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, SIZE_MAX, SHMK_CLEANUP_KEEP, 0, &r),
			-EFBIG);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, (size_t)PTRDIFF_MAX + 1,
						SHMK_CLEANUP_KEEP, 0, &r), -EFBIG);
	CU_ASSERT_FALSE(t_exists(g_path));
	/* huge but representable: the filesystem refuses it, nothing is left */
	int rc = shmk_mmap_region_create(g_path, (size_t)1 << 50, SHMK_CLEANUP_KEEP, 0, &r);
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_FALSE(t_exists(g_path));
	/* one byte is a region */
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 1, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 1);
	shmk_mmap_region_close(r);
}
H_REGISTER(create_size, DEADLINE, "mmap_region.create.size");

/* A 1 MiB tmpfs in a private mount namespace (the isolate child's own). */
static void create_reserve(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root for a private mount namespace");
	struct shmk_mmap_region *r = NULL;

	CU_ASSERT_EQUAL_FATAL(unshare(CLONE_NEWNS), 0);
	CU_ASSERT_EQUAL_FATAL(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(g_dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", g_dir, "tmpfs", 0, "size=1m"), 0);
	char p[PATH_MAX + 8];
	snprintf(p, sizeof(p), "%s/big", g_dir);

	CU_ASSERT_EQUAL(shmk_mmap_region_create(p, 2u << 20, SHMK_CLEANUP_KEEP, 0, &r),
			-ENOSPC);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_FALSE(t_exists(p));
	/* what fits is reserved: every page can be touched */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(p, 512u << 10, SHMK_CLEANUP_MANUAL, 0, &r),
			      0);
	fill(r, 0);
	/* growing past what is left fails at resize, the mapping stays */
	void *base = shmk_mmap_region_ptr(r);
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, 1536u << 10), -ENOSPC);
	CU_ASSERT_PTR_EQUAL(shmk_mmap_region_ptr(r), base);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 512u << 10);
	CU_ASSERT_EQUAL(count_bad(r, 0, 512u << 10), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT_FALSE(t_exists(p));
	umount(g_dir);
}
H_REGISTER(create_reserve, DEADLINE, "mmap_region.create.reserve");

static void create_no_leftover(void)
{
	struct shmk_mmap_region *r = NULL;
	const struct {
		const char *fault;
		int rc;
	} cases[] = { { "fallocate:1", -ENOSPC }, { "mmap:1", -ENOMEM }, { "fstat:1", -EIO } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_fault_set(cases[i].fault), 0);
		int rc = shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r);
		int fired = shmk_fault_fired();
		shmk_fault_set("");
		CU_ASSERT_EQUAL(fired, 1);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc != cases[i].rc)
			fprintf(stderr, "fault %s -> %d\n", cases[i].fault, rc);
		CU_ASSERT_PTR_NULL(r);
		CU_ASSERT_FALSE(t_exists(g_path));
	}
	/* the path is free for the next O_EXCL create */
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r), 0);
	shmk_mmap_region_close(r);

	/* sweep: every call site create passes, each failing in turn */
	static const char *const sites[] = { "open", "fallocate", "ftruncate", "mmap", "fstat" };
	char spec[32];
	unsigned fired_total = 0;
	for (size_t s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
		for (int n = 1; n <= 4; n++) {
			snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
			CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
			int rc = shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r);
			int fired = shmk_fault_fired();
			shmk_fault_set("");
			fired_total += (unsigned)fired;
			if (fired) {
				CU_ASSERT(rc < 0);
				CU_ASSERT_PTR_NULL(r);
				CU_ASSERT_FALSE(t_exists(g_path));
			} else {
				CU_ASSERT_EQUAL(rc, 0);
				CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
				CU_ASSERT_FALSE(t_exists(g_path));
			}
		}
	}
	CU_ASSERT(fired_total >= 4);
}
H_REGISTER(create_no_leftover, DEADLINE, "mmap_region.create.no_leftover");

/* ------------------------------------------------------------ paths */

static void path_nosymlink(void)
{
	struct shmk_mmap_region *r = NULL;
	struct shmk_mmap_region_opts rep = { .flags = SHMK_MMAP_REPLACE };
	char link_dir[PATH_MAX + 8], via[PATH_MAX + 16], real[PATH_MAX + 16];
	struct stat st;

	/* last component: g_path -> g_path2 (a 100-byte target) */
	CU_ASSERT_EQUAL_FATAL(make_file(g_path2, 100, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(g_path2, g_path), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r),
			SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_mmap_region_create_with(g_path, page(), &rep, &r), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT(lstat(g_path, &st) == 0 && S_ISLNK(st.st_mode));
	CU_ASSERT_EQUAL(file_size(g_path2), 100);
	/* a dangling link is refused too (O_EXCL alone says -EEXIST) */
	unlink(g_path2);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			SHMK_EUNSAFE);
	CU_ASSERT_FALSE(t_exists(g_path2));
	unlink(g_path);

	/* parent directory: g_path -> g_dir (a real directory) */
	CU_ASSERT_EQUAL_FATAL(mkdir(g_dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(g_dir, g_path), 0);
	snprintf(link_dir, sizeof(link_dir), "%s", g_path);
	snprintf(via, sizeof(via), "%s/seg", link_dir);
	snprintf(real, sizeof(real), "%s/seg", g_dir);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(via, page(), SHMK_CLEANUP_KEEP, 0, &r),
			SHMK_EUNSAFE);
	CU_ASSERT_FALSE(t_exists(real));
	CU_ASSERT_EQUAL_FATAL(make_file(real, 64, 0600), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(via, &r), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_mmap_region_create_with(via, page(), &rep, &r), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(file_size(real), 64);
	/* deeper: a link in the middle of the path */
	char deep[PATH_MAX + 32];
	snprintf(deep, sizeof(deep), "%s/../%s", via, strrchr(g_dir, '/') + 1);
	CU_ASSERT(shmk_mmap_region_attach(deep, &r) < 0);
	/* the real path works */
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(real, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 64);
	shmk_mmap_region_close(r);
	unlink(real);
	unlink(g_path);
}
H_REGISTER(path_nosymlink, DEADLINE, "mmap_region.path.nosymlink");

/* ------------------------------------------------------------ parent */

static char g_seg[PATH_MAX + 8], g_moved_seg[PATH_MAX + 8];

/* Peer: moves the directory away (to g_path2) and puts a new directory
 * with another file named seg in its place. */
static int peer_swap_dir(void)
{
	if (rename(g_dir, g_path2) || mkdir(g_dir, 0700) || make_file(g_seg, 64, 0600))
		return 10;
	return 0;
}

static void path_parent(void)
{
	struct shmk_mmap_region *r = NULL;
	int base = t_count_fds();

	snprintf(g_seg, sizeof(g_seg), "%s/seg", g_dir);
	snprintf(g_moved_seg, sizeof(g_moved_seg), "%s/seg", g_path2);
	/* KEEP: no unlink ahead, so the file's descriptor is all it holds */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			      0);
	CU_ASSERT_EQUAL(t_count_fds(), base + 1);
	/* taking ownership opens the parent then; the close unlinks */
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(r), 0);
	CU_ASSERT_EQUAL(t_count_fds(), base + 2);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT_FALSE(t_exists(g_path));
	CU_ASSERT_EQUAL(t_count_fds(), base);

	/* MANUAL: the parent is opened at create and kept, so a peer that
	 * moves the directory and plants another seg in its place changes
	 * nothing: the close removes our file where it went, not the plant */
	CU_ASSERT_EQUAL_FATAL(mkdir(g_dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_seg, page(), SHMK_CLEANUP_MANUAL, 0, &r),
			      0);
	CU_ASSERT_EQUAL(t_count_fds(), base + 2);
	CU_ASSERT_EQUAL(h_wait(fork_peer(peer_swap_dir), DEADLINE), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT_FALSE(t_exists(g_moved_seg));
	CU_ASSERT_EQUAL(file_size(g_seg), 64);
	unlink(g_seg);
	rmdir(g_path2);

	/* KEEP, then the same swap, then take_ownership: the parent is the
	 * path's at that moment, and the plant there is not our file
	 * (mmap_region.owner.same_file), so the close leaves both */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_seg, page(), SHMK_CLEANUP_KEEP, 0, &r), 0);
	CU_ASSERT_EQUAL(h_wait(fork_peer(peer_swap_dir), DEADLINE), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT_EQUAL(file_size(g_seg), 64);
	CU_ASSERT_EQUAL(file_size(g_moved_seg), (off_t)page());
	unlink(g_seg);
	unlink(g_moved_seg);
	rmdir(g_path2);
	CU_ASSERT_EQUAL(t_count_fds(), base);
}
H_REGISTER(path_parent, DEADLINE, "mmap_region.path.parent", "mmap_region.owner.same_file");
