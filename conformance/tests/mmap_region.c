/* SPDX-License-Identifier: MIT */
/*
 * Tests of conformance/spec/mmap_region.md (impl/src/mmap_region.c).
 *
 * Cross-process promises use forked peers inside the isolate body; a peer
 * never asserts: it returns an exit code (checked through h_wait) and
 * leaves what it saw in the region.  Barriers order the processes; no
 * sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "shmkit/error.h"
#include "shmkit/mmap_region.h"

#define DEADLINE 20

/* Paths are made in the parent so it can remove them whatever happened. */
static char g_path[PATH_MAX], g_path2[PATH_MAX], g_dir[PATH_MAX];
static struct h_barrier *g_b;

static void fresh_paths(void)
{
	h_unique_path(g_path, sizeof(g_path), "mr");
	h_unique_path(g_path2, sizeof(g_path2), "mr");
	h_unique_path(g_dir, sizeof(g_dir), "mrdir");
}

static void drop_paths(void)
{
	unlink(g_path);
	unlink(g_path2);
	rmdir(g_dir);
}

static size_t page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static pid_t fork_peer(int (*fn)(void))
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	return pid;
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static off_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : st.st_size;
}

static void fill(struct shmk_mmap_region *r, size_t from)
{
	uint8_t *p = shmk_mmap_region_ptr(r);

	for (size_t i = from; i < shmk_mmap_region_len(r); i++)
		p[i] = t_pat(i);
}

static size_t count_bad(const struct shmk_mmap_region *r, size_t from, size_t to)
{
	const uint8_t *p = shmk_mmap_region_ptr(r);
	size_t bad = 0;

	for (size_t i = from; i < to; i++)
		bad += p[i] != t_pat(i);
	return bad;
}

/* A plain file of n bytes (pattern) with exactly `mode`, owned by us. */
static int make_file(const char *path, size_t n, mode_t mode)
{
	int fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	int rc = fchmod(fd, mode) ? -errno : 0;
	for (size_t i = 0; !rc && i < n; i++) {
		uint8_t b = t_pat(i);
		if (pwrite(fd, &b, 1, (off_t)i) != 1)
			rc = -errno;
	}
	close(fd);
	return rc;
}

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

static void create_excl_body(void)
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

static void create_excl(void)
{
	fresh_paths();
	isolate(create_excl_body, DEADLINE);
	drop_paths();
}
H_REGISTER(create_excl, 0, "mmap_region.create.excl");

static void create_replace_body(void)
{
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
	CU_ASSERT(exists(g_path));
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

static void create_replace(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to chown to another uid");
	fresh_paths();
	isolate(create_replace_body, DEADLINE);
	drop_paths();
}
H_REGISTER(create_replace, 0, "mmap_region.create.replace");

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

static void create_mode_body(void)
{
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

static void create_mode(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to drop to another uid");
	fresh_paths();
	isolate(create_mode_body, DEADLINE);
	drop_paths();
}
H_REGISTER(create_mode, 0, "mmap_region.create.mode");

static void create_size_body(void)
{
	struct shmk_mmap_region *r = (struct shmk_mmap_region *)0x1;

	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 0, SHMK_CLEANUP_KEEP, 0, &r), -EINVAL);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, SIZE_MAX, SHMK_CLEANUP_KEEP, 0, &r),
			-EFBIG);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, (size_t)PTRDIFF_MAX + 1,
						SHMK_CLEANUP_KEEP, 0, &r), -EFBIG);
	CU_ASSERT_FALSE(exists(g_path));
	/* huge but representable: the filesystem refuses it, nothing is left */
	int rc = shmk_mmap_region_create(g_path, (size_t)1 << 50, SHMK_CLEANUP_KEEP, 0, &r);
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_FALSE(exists(g_path));
	/* one byte is a region */
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 1, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 1);
	shmk_mmap_region_close(r);
}

static void create_size(void)
{
	fresh_paths();
	isolate(create_size_body, DEADLINE);
	drop_paths();
}
H_REGISTER(create_size, 0, "mmap_region.create.size");

/* A 1 MiB tmpfs in a private mount namespace (the isolate child's own). */
static void create_reserve_body(void)
{
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
	CU_ASSERT_FALSE(exists(p));
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
	CU_ASSERT_FALSE(exists(p));
	umount(g_dir);
}

static void create_reserve(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root for a private mount namespace");
	fresh_paths();
	isolate(create_reserve_body, DEADLINE);
	drop_paths();
}
H_REGISTER(create_reserve, 0, "mmap_region.create.reserve");

static void create_no_leftover_body(void)
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
		CU_ASSERT_FALSE(exists(g_path));
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
				CU_ASSERT_FALSE(exists(g_path));
			} else {
				CU_ASSERT_EQUAL(rc, 0);
				CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
				CU_ASSERT_FALSE(exists(g_path));
			}
		}
	}
	CU_ASSERT(fired_total >= 4);
}

static void create_no_leftover(void)
{
	fresh_paths();
	isolate(create_no_leftover_body, DEADLINE);
	drop_paths();
}
H_REGISTER(create_no_leftover, 0, "mmap_region.create.no_leftover");

/* ------------------------------------------------------------ paths */

static void path_nosymlink_body(void)
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
	CU_ASSERT_FALSE(exists(g_path2));
	unlink(g_path);

	/* parent directory: g_path -> g_dir (a real directory) */
	CU_ASSERT_EQUAL_FATAL(mkdir(g_dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(g_dir, g_path), 0);
	snprintf(link_dir, sizeof(link_dir), "%s", g_path);
	snprintf(via, sizeof(via), "%s/seg", link_dir);
	snprintf(real, sizeof(real), "%s/seg", g_dir);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(via, page(), SHMK_CLEANUP_KEEP, 0, &r),
			SHMK_EUNSAFE);
	CU_ASSERT_FALSE(exists(real));
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

static void path_nosymlink(void)
{
	fresh_paths();
	isolate(path_nosymlink_body, DEADLINE);
	drop_paths();
}
H_REGISTER(path_nosymlink, 0, "mmap_region.path.nosymlink");

/* ------------------------------------------------------------ attach */

static void attach_check_body(void)
{
	struct shmk_mmap_region *r = NULL;
	struct shmk_mmap_region_opts o = { 0 };

	CU_ASSERT_EQUAL_FATAL(make_file(g_path, 4096, 0600), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), 0);
	shmk_mmap_region_close(r);

	/* another owner */
	CU_ASSERT_EQUAL_FATAL(chown(g_path, 65534, 65534), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NULL(r);
	o.flags = SHMK_MMAP_ALLOW_FOREIGN;
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_with(g_path, &o, &r), 0);
	shmk_mmap_region_close(r);
	CU_ASSERT_EQUAL_FATAL(chown(g_path, geteuid(), getegid()), 0);

	/* a wider mode */
	CU_ASSERT_EQUAL_FATAL(chmod(g_path, 0644), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), SHMK_EUNSAFE);
	o.flags = SHMK_MMAP_ALLOW_WIDER;
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_with(g_path, &o, &r), 0);
	shmk_mmap_region_close(r);
	o.flags = 0;
	o.mode = 0644;
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_with(g_path, &o, &r), 0);
	shmk_mmap_region_close(r);
	CU_ASSERT_EQUAL_FATAL(chmod(g_path, 0600), 0);

	/* a hard link */
	CU_ASSERT_EQUAL_FATAL(link(g_path, g_path2), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path2, &r), SHMK_EUNSAFE);
	unlink(g_path2);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), 0);
	shmk_mmap_region_close(r);

	/* not a regular file: a FIFO, a directory */
	CU_ASSERT_EQUAL_FATAL(mkfifo(g_path2, 0600), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path2, &r), SHMK_EUNSAFE);
	unlink(g_path2);
	CU_ASSERT_EQUAL_FATAL(mkdir(g_dir, 0700), 0);
	CU_ASSERT(shmk_mmap_region_attach(g_dir, &r) < 0);
	CU_ASSERT_PTR_NULL(r);
}

static void attach_check(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to chown to another uid");
	fresh_paths();
	isolate(attach_check_body, DEADLINE);
	drop_paths();
}
H_REGISTER(attach_check, 0, "mmap_region.attach.check");

static void attach_empty_body(void)
{
	struct shmk_mmap_region *r = (struct shmk_mmap_region *)0x1;
	struct shmk_mmap_region_opts o = { .min_len = 4096 };

	CU_ASSERT_EQUAL_FATAL(make_file(g_path, 0, 0600), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), SHMK_ETOOSMALL);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL_FATAL(make_file(g_path2, 100, 0600), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_with(g_path2, &o, &r), SHMK_ETOOSMALL);
	o.min_len = 100;
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_attach_with(g_path2, &o, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 100);
	CU_ASSERT_FALSE(shmk_mmap_region_is_empty(r));
	CU_ASSERT_EQUAL(count_bad(r, 0, 100), 0);
	CU_ASSERT_TRUE(shmk_mmap_region_is_empty(NULL));
	shmk_mmap_region_close(r);
	/* an empty file grown later attaches fine */
	CU_ASSERT_EQUAL(truncate(g_path, 10), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 10);
	shmk_mmap_region_close(r);
}

static void attach_empty(void)
{
	fresh_paths();
	isolate(attach_empty_body, DEADLINE);
	drop_paths();
}
H_REGISTER(attach_empty, 0, "mmap_region.attach.empty");

static int g_fd = -1;

/* Peer: attach to an inherited descriptor, check, answer in the 2nd half. */
static int peer_attach_fd(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_attach_fd(g_fd, NULL, &r))
		return 10;
	size_t n = shmk_mmap_region_len(r);
	if (n != 2 * page() || count_bad(r, 0, n / 2))
		return 11;
	uint8_t *p = shmk_mmap_region_ptr(r);
	for (size_t i = n / 2; i < n; i++)
		p[i] = t_npat(i);
	shmk_mmap_region_close(r);
	return fcntl(g_fd, F_GETFD) == -1 ? 12 : 0;
}

static void attach_fd_body(void)
{
	struct shmk_mmap_region *r = NULL, *a = NULL;
	size_t n = 2 * page();

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, n, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	fill(r, 0);
	g_fd = open(g_path, O_RDWR | O_CLOEXEC);
	CU_ASSERT_FATAL(g_fd >= 0);
	pid_t pid = fork_peer(peer_attach_fd);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	const uint8_t *p = shmk_mmap_region_ptr(r);
	size_t bad = 0;
	for (size_t i = n / 2; i < n; i++)
		bad += p[i] != t_npat(i);
	CU_ASSERT_EQUAL(bad, 0);

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_attach_fd(g_fd, NULL, &a), 0);
	CU_ASSERT_PTR_NULL(shmk_mmap_region_path(a));
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(a), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(a), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(a), 0);
	CU_ASSERT_NOT_EQUAL(fcntl(g_fd, F_GETFD), -1);	/* ours stays open */
	CU_ASSERT(exists(g_path));
	/* the checks apply to descriptors too */
	CU_ASSERT_EQUAL_FATAL(fchmod(g_fd, 0666), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_fd(g_fd, NULL, &a), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_fd(-1, NULL, &a), -EBADF);
	close(g_fd);
	shmk_mmap_region_close(r);
}

static void attach_fd(void)
{
	fresh_paths();
	isolate(attach_fd_body, DEADLINE);
	drop_paths();
}
H_REGISTER(attach_fd, 0, "mmap_region.attach.fd");

/* Peer: attach by path, check the creator's half, answer in the other. */
static int peer_attach_answer(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_attach(g_path, &r))
		return 10;
	size_t n = shmk_mmap_region_len(r);
	if (n != 2 * page() || count_bad(r, 0, n / 2))
		return 11;
	uint8_t *p = shmk_mmap_region_ptr(r);
	for (size_t i = n / 2; i < n; i++)
		p[i] = t_npat(i);
	shmk_mmap_region_close(r);
	return 0;
}

static void map_shared_body(void)
{
	struct shmk_mmap_region *r = NULL;
	size_t n = 2 * page();

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, n, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	CU_ASSERT_STRING_EQUAL(shmk_mmap_region_path(r), g_path);
	fill(r, 0);
	pid_t pid = fork_peer(peer_attach_answer);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	const uint8_t *p = shmk_mmap_region_ptr(r);
	size_t bad = 0;
	for (size_t i = n / 2; i < n; i++)
		bad += p[i] != t_npat(i);
	CU_ASSERT_EQUAL(bad, 0);
	shmk_mmap_region_close(r);
}

static void map_shared(void)
{
	fresh_paths();
	isolate(map_shared_body, DEADLINE);
	drop_paths();
}
H_REGISTER(map_shared, 0, "mmap_region.map.shared");

/* ------------------------------------------------------------ ownership */

static void owner_local_body(void)
{
	struct shmk_mmap_region *r = NULL, *a = NULL;

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			      0);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(r), 1);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &a), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(a), 0);	/* attach never owns */
	CU_ASSERT_EQUAL(shmk_mmap_region_release_ownership(r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT(exists(g_path));
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(a), 0); /* hand-over in one process */
	CU_ASSERT_EQUAL(shmk_mmap_region_close(a), 0);
	CU_ASSERT_FALSE(exists(g_path));
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(r), 1);
	shmk_mmap_region_close(r);
}
static void owner_local(void)
{
	fresh_paths();
	isolate(owner_local_body, DEADLINE);
	drop_paths();
}
H_REGISTER(owner_local, 0, "mmap_region.owner.local+2");

/* Hand-over: A creates (on-close) and releases, then exits; B takes and
 * closes.  The driver checks the file between the two. */
static struct h_barrier *g_ab, *g_db;

static int peer_a_creator(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r))
		return 10;
	fill(r, 0);
	if (h_barrier_wait(g_ab, DEADLINE))	/* 1: B may attach */
		return 11;
	if (h_barrier_wait(g_ab, DEADLINE))	/* 2: B attached */
		return 12;
	if (shmk_mmap_region_release_ownership(r))
		return 13;
	return shmk_mmap_region_close(r) ? 14 : 0;	/* and exit: A is gone */
}

static int peer_b_taker(void)
{
	struct shmk_mmap_region *r = NULL;

	if (h_barrier_wait(g_ab, DEADLINE))
		return 10;
	if (shmk_mmap_region_attach(g_path, &r))
		return 11;
	if (h_barrier_wait(g_ab, DEADLINE))
		return 12;
	if (h_barrier_wait(g_db, DEADLINE))	/* driver: A has exited */
		return 13;
	if (shmk_mmap_region_take_ownership(r) || shmk_mmap_region_owns_file(r) != 1)
		return 14;
	if (count_bad(r, 0, shmk_mmap_region_len(r)))
		return 15;
	return shmk_mmap_region_close(r) ? 16 : 0;
}

static void owner_handover_body(void)
{
	g_ab = h_barrier_new(2);
	g_db = h_barrier_new(2);
	pid_t a = fork_peer(peer_a_creator);
	pid_t b = fork_peer(peer_b_taker);
	CU_ASSERT_FATAL(a > 0 && b > 0);
	CU_ASSERT_EQUAL(h_wait(a, DEADLINE), 0);
	CU_ASSERT(exists(g_path));	/* A released before it closed and exited */
	CU_ASSERT_EQUAL(h_barrier_wait(g_db, DEADLINE), 0);
	CU_ASSERT_EQUAL(h_wait(b, DEADLINE), 0);
	CU_ASSERT_FALSE(exists(g_path));	/* the new owner's close removed it */
	h_barrier_free(g_ab);
	h_barrier_free(g_db);
}
static void owner_handover(void)
{
	fresh_paths();
	isolate(owner_handover_body, DEADLINE);
	drop_paths();
}
H_REGISTER(owner_handover, 0, "mmap_region.owner.local+2");

static int peer_attach_close(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_attach(g_path, &r))
		return 10;
	return shmk_mmap_region_close(r) ? 11 : 0;
}

static int peer_owner_close(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r))
		return 10;
	if (h_barrier_wait(g_b, DEADLINE) || h_barrier_wait(g_b, DEADLINE))
		return 11;
	return shmk_mmap_region_close(r) ? 12 : 0;
}

static void owner_close_unlinks_body(void)
{
	struct shmk_mmap_region *r = NULL;

	g_b = h_barrier_new(2);
	pid_t owner = fork_peer(peer_owner_close);
	CU_ASSERT_FATAL(owner > 0);
	CU_ASSERT_EQUAL_FATAL(h_barrier_wait(g_b, DEADLINE), 0);
	/* a non-owner's close (another process) leaves the file */
	pid_t peer = fork_peer(peer_attach_close);
	CU_ASSERT_EQUAL(h_wait(peer, DEADLINE), 0);
	CU_ASSERT(exists(g_path));
	CU_ASSERT_EQUAL(h_barrier_wait(g_b, DEADLINE), 0);
	CU_ASSERT_EQUAL(h_wait(owner, DEADLINE), 0);
	CU_ASSERT_FALSE(exists(g_path));
	h_barrier_free(g_b);

	/* SHMK_CLEANUP_KEEP: close leaves it */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			      0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT(exists(g_path));
}

static void owner_close_unlinks(void)
{
	fresh_paths();
	isolate(owner_close_unlinks_body, DEADLINE);
	drop_paths();
}
H_REGISTER(owner_close_unlinks, 0, "mmap_region.owner.close_unlinks");

/* Peer: a restarted host replaces the file under the old owner's feet. */
static int peer_replace_raw(void)
{
	if (unlink(g_path))
		return 10;
	return make_file(g_path, 3, 0600) ? 11 : 0;
}

static void owner_same_file_body(void)
{
	struct shmk_mmap_region *r = NULL;

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r),
			      0);
	pid_t pid = fork_peer(peer_replace_raw);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT_EQUAL(file_size(g_path), 3);	/* the new file survived */
	/* an owner whose file is simply gone closes cleanly */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path2, page(), SHMK_CLEANUP_MANUAL, 0, &r),
			      0);
	unlink(g_path2);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
}

static void owner_same_file(void)
{
	fresh_paths();
	isolate(owner_same_file_body, DEADLINE);
	drop_paths();
}
H_REGISTER(owner_same_file, 0, "mmap_region.owner.same_file");

/* ------------------------------------------------------------ cleanup policies */

/* Shared between the host and the checker of cleanup_auto. */
struct auto_share {
	pid_t host;
	int fd;
	int path_gone;	/* the host saw ENOENT at the path right after create */
	int owns;	/* shmk_mmap_region_owns_file in the host */
};
static struct auto_share *g_auto;

/* Host: creates with SHMK_CLEANUP_AUTO, fills it, publishes its descriptor,
 * then checks the checker's answer and closes. */
static int peer_auto_host(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_create(g_path, 2 * page(), SHMK_CLEANUP_AUTO, 0, &r))
		return 10;
	g_auto->path_gone = !exists(g_path);
	g_auto->owns = shmk_mmap_region_owns_file(r);
	g_auto->fd = shmk_mmap_region_fd(r);
	g_auto->host = getpid();
	fill(r, 0);
	if (h_barrier_wait(g_b, DEADLINE) || h_barrier_wait(g_b, DEADLINE))
		return 11;
	const uint8_t *p = shmk_mmap_region_ptr(r);
	size_t n = shmk_mmap_region_len(r), bad = 0;
	for (size_t i = n / 2; i < n; i++)
		bad += p[i] != t_npat(i);
	if (bad)
		return 12;
	if (!shmk_mmap_region_path(r) || strcmp(shmk_mmap_region_path(r), g_path))
		return 13;
	return shmk_mmap_region_close(r) ? 14 : 0;
}

static void cleanup_auto_body(void)
{
	struct shmk_mmap_region *r = NULL;
	char via[64];

	g_auto = t_shared_alloc(sizeof(*g_auto));
	g_b = h_barrier_new(2);
	pid_t host = fork_peer(peer_auto_host);
	CU_ASSERT_FATAL(host > 0);
	CU_ASSERT_EQUAL_FATAL(h_barrier_wait(g_b, DEADLINE), 0);
	/* unlinked at create: a crash from here on leaves no file */
	CU_ASSERT(g_auto->path_gone);
	CU_ASSERT_FALSE(exists(g_path));
	CU_ASSERT_EQUAL(g_auto->owns, 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), -ENOENT);
	/* a peer reaches it through the host's descriptor (as SCM_RIGHTS would
	 * hand it over): same file, same bytes, both ways */
	snprintf(via, sizeof(via), "/proc/%d/fd/%d", (int)g_auto->host, g_auto->fd);
	int fd = open(via, O_RDWR | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_attach_fd(fd, NULL, &r), 0);
	close(fd);
	size_t n = shmk_mmap_region_len(r);
	CU_ASSERT_EQUAL(n, 2 * page());
	CU_ASSERT_EQUAL(count_bad(r, 0, n / 2), 0);
	uint8_t *p = shmk_mmap_region_ptr(r);
	for (size_t i = n / 2; i < n; i++)
		p[i] = t_npat(i);
	CU_ASSERT_EQUAL(h_barrier_wait(g_b, DEADLINE), 0);
	CU_ASSERT_EQUAL(h_wait(host, DEADLINE), 0);
	/* the host closed and exited: the file lives while we map it */
	CU_ASSERT_EQUAL(count_bad(r, 0, n / 2), 0);
	CU_ASSERT_FALSE(exists(g_path));
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	h_barrier_free(g_b);
	t_shared_free(g_auto, sizeof(*g_auto));
}

static void cleanup_auto(void)
{
	fresh_paths();
	isolate(cleanup_auto_body, DEADLINE);
	drop_paths();
}
H_REGISTER(cleanup_auto, 0, "mmap_region.cleanup.auto");

/* Creates with the given policy (default options for KEEP), closes or is
 * killed before closing. */
static int g_policy, g_crash;
static int peer_policy(void)
{
	struct shmk_mmap_region *r = NULL;
	struct shmk_mmap_region_opts o;

	memset(&o, 0, sizeof(o));	/* the zero options: cleanup value 0 */
	o.cleanup = (enum shmk_cleanup)g_policy;
	if (shmk_mmap_region_create_with(g_path, page(), &o, &r))
		return 10;
	if (g_crash)
		raise(SIGKILL);
	return shmk_mmap_region_close(r) ? 11 : 0;
}

static void cleanup_names_body(void)
{
	/* roam's values and names; 0 is the non-destructive default */
	CU_ASSERT_EQUAL(SHMK_CLEANUP_KEEP, 0);
	CU_ASSERT_EQUAL(SHMK_CLEANUP_MANUAL, 1);
	CU_ASSERT_EQUAL(SHMK_CLEANUP_AUTO, 2);
	static const struct {
		int policy, crash, exists_after;
	} cases[] = {
		{ SHMK_CLEANUP_KEEP, 0, 1 },	/* never deleted */
		{ SHMK_CLEANUP_MANUAL, 0, 0 },	/* roam Manual: the owner's close deletes */
		{ SHMK_CLEANUP_MANUAL, 1, 1 },	/* ... and a crash leaves it (manual cleanup) */
		{ SHMK_CLEANUP_AUTO, 1, 0 },	/* roam Auto: gone even after a crash */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		g_policy = cases[i].policy;
		g_crash = cases[i].crash;
		pid_t pid = fork_peer(peer_policy);
		CU_ASSERT_FATAL(pid > 0);
		int st = h_wait(pid, DEADLINE);
		CU_ASSERT_EQUAL(st, cases[i].crash ? 128 + SIGKILL : 0);
		CU_ASSERT_EQUAL(exists(g_path), cases[i].exists_after);
		if (exists(g_path) != cases[i].exists_after)
			fprintf(stderr, "cleanup %d crash %d: exists %d\n", cases[i].policy,
				cases[i].crash, exists(g_path));
		unlink(g_path);
	}
}

static void cleanup_names(void)
{
	fresh_paths();
	isolate(cleanup_names_body, DEADLINE);
	drop_paths();
}
H_REGISTER(cleanup_names, 0, "mmap_region.cleanup.names");

/* ------------------------------------------------------------ growth */

static void resize_grow_only_body(void)
{
	struct shmk_mmap_region *r = NULL;
	size_t ps = page();

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, 2 * ps, SHMK_CLEANUP_MANUAL, 0, &r),
			      0);
	fill(r, 0);
	void *base = shmk_mmap_region_ptr(r);
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, ps), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, 2 * ps - 1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, 0), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, 2 * ps), 0);
	CU_ASSERT_PTR_EQUAL(shmk_mmap_region_ptr(r), base);	/* equal: nothing moved */
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 2 * ps);
	CU_ASSERT_EQUAL(file_size(g_path), (off_t)(2 * ps));
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, SIZE_MAX), -EFBIG);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 2 * ps);

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_resize(r, 64 * ps + 3), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 64 * ps + 3);
	CU_ASSERT_EQUAL(file_size(g_path), (off_t)(64 * ps + 3));
	CU_ASSERT_EQUAL(count_bad(r, 0, 2 * ps), 0);	/* bytes kept, wherever the base is */
	fill(r, 2 * ps);				/* the new part is writable */
	CU_ASSERT_EQUAL(count_bad(r, 0, shmk_mmap_region_len(r)), 0);
	shmk_mmap_region_close(r);
}

static void resize_grow_only(void)
{
	fresh_paths();
	isolate(resize_grow_only_body, DEADLINE);
	drop_paths();
}
H_REGISTER(resize_grow_only, 0, "mmap_region.resize.grow_only");

static void resize_keeps_old_body(void)
{
	struct shmk_mmap_region *r = NULL;
	size_t ps = page();
	const struct {
		const char *fault;
		int rc;
	} cases[] = { { "mremap:1", -ENOMEM }, { "fallocate:1", -ENOSPC }, { "fstat:1", -EIO } };

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, ps, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	fill(r, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *base = shmk_mmap_region_ptr(r);
		size_t len = shmk_mmap_region_len(r);
		CU_ASSERT_EQUAL_FATAL(shmk_fault_set(cases[i].fault), 0);
		/* a new target each time: a failed remap leaves the file grown */
		int rc = shmk_mmap_region_resize(r, len + 8 * (i + 1) * ps);
		int fired = shmk_fault_fired();
		shmk_fault_set("");
		if (fired != 1 || rc != cases[i].rc)
			fprintf(stderr, "fault %s: fired %d rc %d\n", cases[i].fault, fired, rc);
		CU_ASSERT_EQUAL(fired, 1);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_EQUAL(shmk_mmap_region_ptr(r), base);
		CU_ASSERT_EQUAL(shmk_mmap_region_len(r), len);
		CU_ASSERT_EQUAL(count_bad(r, 0, len), 0);	/* readable */
		fill(r, 0);					/* and writable */
	}
	/* after the failures a resize works and picks up where the file is */
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, 16 * ps), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 16 * ps);
	CU_ASSERT_EQUAL(count_bad(r, 0, ps), 0);
	memset(shmk_mmap_region_ptr(r), 0, 16 * ps);	/* all of it is mapped */
	shmk_mmap_region_close(r);
}

static void resize_keeps_old(void)
{
	fresh_paths();
	isolate(resize_keeps_old_body, DEADLINE);
	drop_paths();
}
H_REGISTER(resize_keeps_old, 0, "mmap_region.resize.keeps_old");

/* Peer: grow the region to 8 pages and fill the new part. */
static int peer_grow(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_attach(g_path, &r))
		return 10;
	size_t old = shmk_mmap_region_len(r);
	if (shmk_mmap_region_resize(r, 8 * page()))
		return 11;
	fill(r, old);
	return shmk_mmap_region_close(r) ? 12 : 0;
}

static void remap_grown_body(void)
{
	struct shmk_mmap_region *r = NULL;
	bool moved = true;
	size_t ps = page();

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, ps, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	fill(r, 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_check_and_remap(r, &moved), 0);
	CU_ASSERT_FALSE(moved);
	pid_t pid = fork_peer(peer_grow);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), ps);	/* nothing changes until asked */
	CU_ASSERT_EQUAL(shmk_mmap_region_check_and_remap(r, &moved), 0);
	CU_ASSERT_TRUE(moved);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 8 * ps);
	CU_ASSERT_EQUAL(count_bad(r, 0, 8 * ps), 0);	/* ours and the peer's bytes */
	CU_ASSERT_EQUAL(shmk_mmap_region_check_and_remap(r, &moved), 0);
	CU_ASSERT_FALSE(moved);
	shmk_mmap_region_close(r);
	CU_ASSERT_FALSE(exists(g_path));
}

static void remap_grown(void)
{
	fresh_paths();
	isolate(remap_grown_body, DEADLINE);
	drop_paths();
}
H_REGISTER(remap_grown, 0, "mmap_region.remap.grown");

/* Peer: cut the file to one page behind the mapper's back. */
static int peer_truncate(void)
{
	return truncate(g_path, (off_t)page()) ? 10 : 0;
}

static void remap_truncated_body(void)
{
	struct shmk_mmap_region *r = NULL;
	bool moved = true;
	size_t ps = page();

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, 4 * ps, SHMK_CLEANUP_MANUAL, 0, &r),
			      0);
	fill(r, 0);
	void *base = shmk_mmap_region_ptr(r);
	pid_t pid = fork_peer(peer_truncate);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_check_and_remap(r, &moved), SHMK_ETRUNCATED);
	CU_ASSERT_FALSE(moved);
	CU_ASSERT_PTR_EQUAL(shmk_mmap_region_ptr(r), base);
	CU_ASSERT_EQUAL(shmk_mmap_region_len(r), 4 * ps);
	/* reported again, and resize refuses to build on a cut file */
	CU_ASSERT_EQUAL(shmk_mmap_region_check_and_remap(r, &moved), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(r, 8 * ps), SHMK_ETRUNCATED);
	/* the surviving first page is still fine */
	CU_ASSERT_EQUAL(count_bad(r, 0, ps), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
}

static void remap_truncated(void)
{
	fresh_paths();
	isolate(remap_truncated_body, DEADLINE);
	drop_paths();
}
H_REGISTER(remap_truncated, 0, "mmap_region.remap.truncated");

/* ------------------------------------------------------------ arguments */

static void api_args_body(void)
{
	struct shmk_mmap_region *r = NULL;
	struct shmk_mmap_region_opts o = { 0 };
	bool moved;
	char trail[PATH_MAX + 2];

	CU_ASSERT_EQUAL(shmk_mmap_region_create(NULL, 1, SHMK_CLEANUP_KEEP, 0, &r), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_create("", 1, SHMK_CLEANUP_KEEP, 0, &r), -ENOENT);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 1, SHMK_CLEANUP_KEEP, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 1, (enum shmk_cleanup)7, 0, &r), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, 1, SHMK_CLEANUP_KEEP, 01600, &r),
			-EINVAL);
	o.flags = 0x100;
	CU_ASSERT_EQUAL(shmk_mmap_region_create_with(g_path, 1, &o, &r), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_with(g_path, &o, &r), -EINVAL);
	snprintf(trail, sizeof(trail), "%s/", h_tmpdir());
	CU_ASSERT_EQUAL(shmk_mmap_region_create(trail, 1, SHMK_CLEANUP_KEEP, 0, &r), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(NULL, &r), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach("", &r), -ENOENT);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach(g_path, &r), -ENOENT);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_fd(-1, NULL, &r), -EBADF);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_fd(0, NULL, NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(r);
	char *huge = malloc(PATH_MAX + 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
	memset(huge, 'a', PATH_MAX + 9);
	huge[PATH_MAX + 9] = '\0';
	CU_ASSERT_EQUAL(shmk_mmap_region_create(huge, 1, SHMK_CLEANUP_KEEP, 0, &r),
			-ENAMETOOLONG);
	free(huge);
	CU_ASSERT_FALSE(exists(g_path));

	CU_ASSERT_PTR_NULL(shmk_mmap_region_ptr(NULL));
	CU_ASSERT_EQUAL(shmk_mmap_region_len(NULL), 0);
	CU_ASSERT_TRUE(shmk_mmap_region_is_empty(NULL));
	CU_ASSERT_PTR_NULL(shmk_mmap_region_path(NULL));
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_release_ownership(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_resize(NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_check_and_remap(NULL, &moved), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(NULL), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, 1, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_check_and_remap(r, NULL), -EINVAL);
	shmk_mmap_region_close(r);
}

static void api_args(void)
{
	fresh_paths();
	isolate(api_args_body, DEADLINE);
	drop_paths();
}


H_REGISTER(api_args, 0, "mmap_region.api.args");

int main(int argc, char **argv)
{
	return h_main(argc, argv, "mmap_region", NULL, NULL);
}
