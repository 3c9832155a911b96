/* SPDX-License-Identifier: MIT */
/*
 * Tests of conformance/spec/shm.md (impl/src/shm.c).
 *
 * Cross-process promises use forked peers (fork inside the isolate body);
 * a peer never asserts itself: it returns an exit code the test checks
 * through h_wait, and writes what it saw into the shared object.
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
#include "shmkit/shm.h"
#include "support.h"

#define DEADLINE 20

/* Names are made in the parent (before isolate) so the parent can remove
 * them whatever the child did: before and after every test (H_HOOKS). */
static char g_name[64], g_name2[64];

static void fresh_names(void)
{
	h_unique_shm_name(g_name, sizeof(g_name));
	h_unique_shm_name(g_name2, sizeof(g_name2));
}

static void drop_names(void)
{
	shm_unlink(g_name);
	shm_unlink(g_name2);
}
H_HOOKS(NULL, fresh_names, drop_names);

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

/* Create g_name (RDWR, 0600) sized n, mapped at 0. */
static struct shmk_shm *create_mapped(size_t n, struct shmk_shm_map **m)
{
	struct shmk_shm *s = NULL;

	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_shm_set_size(s, n), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, 0, m), 0);
	return s;
}

/* ------------------------------------------------------------ names, flags */

static void name_rules(void)
{
	struct shmk_shm *s = (struct shmk_shm *)0x1;
	char longname[300];
	int rc;

	const char *bad[] = { "", "/", "noslash", "/a/b", "/.", "/..", "//x", "/x/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = shmk_shm_open(bad[i], O_RDWR | O_CREAT, 0600, &s);
		if (rc != -EINVAL)
			fprintf(stderr, "name '%s' -> %d\n", bad[i], rc);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NULL(s);
	}
	CU_ASSERT_EQUAL(shmk_shm_open(NULL, O_RDWR | O_CREAT, 0600, &s), -EINVAL);

	/* exactly 255 bytes after '/': accepted, and the OS agrees */
	int n = snprintf(longname, sizeof(longname), "%s-", g_name);
	memset(longname + n, 'x', 256 - (size_t)n);
	longname[256] = '\0';
	CU_ASSERT_EQUAL(strlen(longname + 1), 255);
	rc = shmk_shm_open(longname, O_RDWR | O_CREAT | O_EXCL, 0600, &s);
	CU_ASSERT_EQUAL(rc, 0);
	if (!rc) {
		CU_ASSERT_STRING_EQUAL(shmk_shm_name(s), longname);
		CU_ASSERT_EQUAL(shmk_shm_unlink(s), 0);
		CU_ASSERT_EQUAL(shmk_shm_close(s), 0);
	}
	/* 256 bytes: refused before the OS sees it */
	longname[256] = 'x';
	longname[257] = '\0';
	CU_ASSERT_EQUAL(shmk_shm_open(longname, O_RDWR | O_CREAT, 0600, &s), -ENAMETOOLONG);
	/* a runaway name (4 KiB) is bounded too */
	char *huge = malloc(4097);
	CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
	huge[0] = '/';
	memset(huge + 1, 'y', 4095);
	huge[4096] = '\0';
	CU_ASSERT_EQUAL(shmk_shm_open(huge, O_RDWR | O_CREAT, 0600, &s), -ENAMETOOLONG);
	free(huge);
}
H_REGISTER(name_rules, DEADLINE, "shm.name.rules");

static void open_flags(void)
{
	struct shmk_shm *s = NULL;

	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_WRONLY | O_CREAT, 0600, &s), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_EXCL, 0600, &s), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDONLY | O_CREAT | O_TRUNC, 0600, &s), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_APPEND, 0600, &s), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &s), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT, 01600, &s), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT, 04600, &s), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open_with(g_name, O_RDWR | O_CREAT, 0600, 0x80, &s), -EINVAL);
	CU_ASSERT_PTR_NULL(s);
	/* none of the refusals created the object */
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDONLY, 0600, &s), -ENOENT);
	/* the allowed set works */
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_close(s), 0);
}
H_REGISTER(open_flags, DEADLINE, "shm.open.flags");

/* A peer without privileges tries to open g_name: 0 when refused with EACCES. */
static int peer_unprivileged_open(void)
{
	struct shmk_shm *s = NULL;

	if (h_drop_privileges())
		return 10;
	int rc = shmk_shm_open(g_name, O_RDWR, 0600, &s);
	if (rc == 0)
		return 11;
	if (rc != -EACCES)
		return 12;
	rc = shmk_shm_open(g_name, O_RDONLY, 0600, &s);
	if (rc != -EACCES)
		return 13;
	/* control: the same peer can open an object that allows it */
	rc = shmk_shm_open_with(g_name2, O_RDONLY, 0644, SHMK_SHM_ALLOW_FOREIGN, &s);
	if (rc != 0)
		return 14;
	shmk_shm_close(s);
	return 0;
}

static void open_mode(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to drop to another uid");
	struct shmk_shm *s = NULL, *s2 = NULL;
	struct stat st;

	umask(0);	/* the default must not depend on a narrowing umask */
	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0, &s), 0);
	CU_ASSERT_EQUAL(fstat(shmk_shm_fd(s), &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name2, O_RDWR | O_CREAT | O_EXCL, 0644, &s2), 0);

	pid_t pid = fork_peer(peer_unprivileged_open);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	shmk_shm_close(s);
	shmk_shm_close(s2);
}
H_REGISTER(open_mode, DEADLINE, "shm.open.mode");

static void open_check(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to chown to another uid");
	struct shmk_shm *s = NULL, *t = NULL;
	size_t sz = 0;
	char p1[128], p2[128];

	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 4096), 0);

	/* another owner: refused, and O_TRUNC did not cut it first */
	CU_ASSERT_EQUAL_FATAL(fchown(shmk_shm_fd(s), 65534, 65534), 0);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR, 0600, &t), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_TRUNC, 0600, &t), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, 4096);
	CU_ASSERT_EQUAL(shmk_shm_open_with(g_name, O_RDWR, 0600, SHMK_SHM_ALLOW_FOREIGN, &t), 0);
	shmk_shm_close(t);
	t = NULL;
	CU_ASSERT_EQUAL_FATAL(fchown(shmk_shm_fd(s), geteuid(), getegid()), 0);

	/* a mode wider than asked for: refused unless opted in or asked */
	CU_ASSERT_EQUAL_FATAL(fchmod(shmk_shm_fd(s), 0644), 0);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR, 0600, &t), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR, 0, &t), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_shm_open_with(g_name, O_RDWR, 0600, SHMK_SHM_ALLOW_WIDER, &t), 0);
	shmk_shm_close(t);
	t = NULL;
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR, 0644, &t), 0);
	shmk_shm_close(t);
	t = NULL;
	CU_ASSERT_EQUAL_FATAL(fchmod(shmk_shm_fd(s), 0600), 0);

	/* a hard link planted under another name: refused under both names */
	snprintf(p1, sizeof(p1), "/dev/shm%s", g_name);
	snprintf(p2, sizeof(p2), "/dev/shm%s", g_name2);
	CU_ASSERT_EQUAL_FATAL(link(p1, p2), 0);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name2, O_RDWR, 0600, &t), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR, 0600, &t), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NULL(t);
	unlink(p2);
	/* once the link is gone the object is fine again */
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR, 0600, &t), 0);
	shmk_shm_close(t);
	shmk_shm_close(s);
}
H_REGISTER(open_check, DEADLINE, "shm.open.check");

static void open_nosymlink(void)
{
	struct shmk_shm *s = NULL, *t = NULL;
	char p1[128], p2[128];
	size_t sz = 0;
	struct stat st;

	/* g_name2 is a real object; /dev/shm/<g_name> is planted to point at it */
	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name2, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 4096), 0);
	snprintf(p1, sizeof(p1), "/dev/shm%s", g_name);
	snprintf(p2, sizeof(p2), "/dev/shm%s", g_name2);
	CU_ASSERT_EQUAL_FATAL(symlink(p2, p1), 0);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR, 0600, &t), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_TRUNC, 0600, &t), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &t), -EEXIST);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT(lstat(p1, &st) == 0 && S_ISLNK(st.st_mode));
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, 4096);
	unlink(p1);
	shmk_shm_close(s);
}
H_REGISTER(open_nosymlink, DEADLINE, "shm.open.nosymlink");

static void open_no_leftover(void)
{
	struct shmk_shm *s = NULL;

	/* fstat is the first call after shm_open created the object */
	CU_ASSERT_EQUAL_FATAL(shmk_fault_set("fstat:1"), 0);
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), -EIO);
	CU_ASSERT_EQUAL(shmk_fault_fired(), 1);
	shmk_fault_set("");
	CU_ASSERT_PTR_NULL(s);
	int fd = shm_open(g_name, O_RDONLY, 0);
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	if (fd >= 0)
		close(fd);
	/* and the name is free for the next O_EXCL open */
	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	shmk_shm_close(s);
}
H_REGISTER(open_no_leftover, DEADLINE, "shm.open.no_leftover");

/* ------------------------------------------------------------ size */

static void size_limits(void)
{
	struct shmk_shm *s = NULL, *r = NULL;
	size_t sz = 1;

	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, SIZE_MAX), -EFBIG);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, (size_t)INT64_MAX + 1), -EFBIG);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 8192), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDONLY, 0600, &r), 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(r, 4096), -EBADF);
	CU_ASSERT_EQUAL(shmk_shm_size(r, &sz), 0);
	CU_ASSERT_EQUAL(sz, 8192);
	/* shrink and grow through the writable handle */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 100), 0);
	CU_ASSERT_EQUAL(shmk_shm_size(r, &sz), 0);
	CU_ASSERT_EQUAL(sz, 100);
	shmk_shm_close(r);
	shmk_shm_close(s);
}
H_REGISTER(size_limits, DEADLINE, "shm.size.limits");

/* In a private mount namespace, /dev/shm becomes a 1 MiB tmpfs. */
static void size_reserve(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root for a private mount namespace");
	struct shmk_shm *s = NULL;
	size_t sz = 1;

	CU_ASSERT_EQUAL_FATAL(unshare(CLONE_NEWNS), 0);
	CU_ASSERT_EQUAL_FATAL(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m"), 0);

	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 2u << 20), -ENOSPC);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, 0);
	/* what fits is reserved: every page can be touched */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 512u << 10), 0);
	struct shmk_shm_map *m = NULL;
	CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, 0, &m), 0);
	memset(shmk_shm_map_ptr(m), 0x5a, shmk_shm_map_len(m));
	shmk_shm_unmap(m);
	/* growing past what is left fails and leaves the old size */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 1536u << 10), -ENOSPC);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, 512u << 10);
	shmk_shm_unlink(s);
	shmk_shm_close(s);
}
H_REGISTER(size_reserve, DEADLINE, "shm.size.reserve");

static void size_shrink_mapped(void)
{
	size_t ps = page(), sz = 0;
	struct shmk_shm_map *m = NULL;
	struct shmk_shm *s = create_mapped(3 * ps, &m);

	CU_ASSERT_EQUAL(shmk_shm_set_size(s, ps), -EBUSY);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 3 * ps - 1), -EBUSY);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, 3 * ps);
	/* every mapped page is still there */
	memset(shmk_shm_map_ptr(m), 1, shmk_shm_map_len(m));
	/* growth is allowed; the map keeps its length */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 5 * ps), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_len(m), 3 * ps);
	/* shrinking down to (not below) the map's end is allowed */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 3 * ps), 0);
	CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);
	/* without a map, shrinking is fine */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, ps), 0);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, ps);
	/* a map at an offset: its end is what counts */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 4 * ps), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, 2 * ps + 5, &m), 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 3 * ps), -EBUSY);
	shmk_shm_unmap(m);
	shmk_shm_close(s);
}
H_REGISTER(size_shrink_mapped, DEADLINE, "shm.size.shrink_mapped");

/* ------------------------------------------------------------ truncation */

static void truncate_check(void)
{
	size_t ps = page(), sz = 0;
	char file[128];
	struct shmk_shm_map *m = NULL;
	struct shmk_shm *s = create_mapped(3 * ps, &m);

	snprintf(file, sizeof(file), "/dev/shm%s", g_name);
	CU_ASSERT_EQUAL(shmk_shm_map_check(m), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_check(NULL), -EINVAL);
	/* another process shrinks the object to one page under the map */
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(file, (off_t)ps), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_check(m), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, ps);
	/* the page that is left is still there */
	memset(shmk_shm_map_ptr(m), 1, ps);
	CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);
	/* a new map covers what exists now */
	CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, 0, &m), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_check(m), 0);
	/* the peer cuts to 0: the whole map is gone */
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(file, 0), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_check(m), SHMK_ETRUNCATED);
	/* without its handle there is no descriptor to ask */
	shmk_shm_close(s);
	CU_ASSERT_EQUAL(shmk_shm_map_check(m), -EBADF);
	CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);
}
H_REGISTER(truncate_check, DEADLINE, "shm.truncate.check", "shm.truncate.hot-path");

/* ------------------------------------------------------------ map */

/* Peer: open by name, check the creator's bytes, answer in the second half. */
static int peer_shared(void)
{
	struct shmk_shm *s = NULL;
	struct shmk_shm_map *m = NULL;

	if (shmk_shm_open(g_name, O_RDWR, 0600, &s))
		return 10;
	if (shmk_shm_map(s, 0, &m))
		return 11;
	uint8_t *p = shmk_shm_map_ptr(m);
	size_t n = shmk_shm_map_len(m);
	if (n != 2 * page())
		return 12;
	for (size_t i = 0; i < n / 2; i++)
		if (p[i] != t_pat(i))
			return 13;
	for (size_t i = n / 2; i < n; i++)
		p[i] = t_npat(i);
	shmk_shm_unmap(m);
	shmk_shm_close(s);
	return 0;
}

static void map_shared(void)
{
	size_t n = 2 * page();
	struct shmk_shm_map *m = NULL;
	struct shmk_shm *s = create_mapped(n, &m);
	uint8_t *p = shmk_shm_map_ptr(m);

	for (size_t i = 0; i < n / 2; i++)
		p[i] = t_pat(i);
	pid_t pid = fork_peer(peer_shared);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	size_t bad = 0;
	for (size_t i = n / 2; i < n; i++)
		bad += p[i] != t_npat(i);
	CU_ASSERT_EQUAL(bad, 0);
	shmk_shm_unmap(m);
	shmk_shm_close(s);
}
H_REGISTER(map_shared, DEADLINE, "shm.map.shared");

static void map_single(void)
{
	struct shmk_shm_map *m = NULL, *m2 = (struct shmk_shm_map *)0x1;
	struct shmk_shm *s = create_mapped(page(), &m);

	CU_ASSERT_EQUAL(shmk_shm_map(s, 0, &m2), -EBUSY);
	CU_ASSERT_PTR_NULL(m2);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 100, &m2), -EBUSY);
	((volatile uint8_t *)shmk_shm_map_ptr(m))[0] = 42; /* the first map is intact */
	CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, 0, &m2), 0);
	CU_ASSERT_EQUAL(((uint8_t *)shmk_shm_map_ptr(m2))[0], 42);
	CU_ASSERT_EQUAL(shmk_shm_unmap(m2), 0);
	/* a second handle of the same object has a map of its own */
	struct shmk_shm *t = NULL;
	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR, 0600, &t), 0);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 0, &m), 0);
	CU_ASSERT_EQUAL(shmk_shm_map(t, 0, &m2), 0);
	shmk_shm_unmap(m);
	shmk_shm_unmap(m2);
	shmk_shm_close(t);
	shmk_shm_close(s);
}
H_REGISTER(map_single, DEADLINE, "shm.map.single");

static void map_zero_size(void)
{
	struct shmk_shm *s = NULL;
	struct shmk_shm_map *m = (struct shmk_shm_map *)0x1;

	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 0, &m), SHMK_ETOOSMALL);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 4096, &m), SHMK_ETOOSMALL);
	/* nothing is held: sizing and mapping work afterwards */
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 1), 0);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 0, &m), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_len(m), 1);
	shmk_shm_unmap(m);
	shmk_shm_close(s);
}
H_REGISTER(map_zero_size, DEADLINE, "shm.map.zero_size");

static void map_offset_range(void)
{
	struct shmk_shm *s = NULL;
	struct shmk_shm_map *m = NULL;

	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 100), 0);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 100, &m), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 101, &m), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_shm_map(s, page(), &m), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_shm_map(s, SIZE_MAX, &m), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_shm_map(s, (size_t)INT64_MAX + 1, &m), SHMK_ERANGE);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, 99, &m), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_len(m), 1);
	shmk_shm_unmap(m);
	shmk_shm_close(s);
}
H_REGISTER(map_offset_range, DEADLINE, "shm.map.offset_range");

static void map_unaligned(void)
{
	size_t ps = page(), n = 3 * ps;
	struct shmk_shm_map *m = NULL;
	struct shmk_shm *s = create_mapped(n, &m);
	uint8_t *p = shmk_shm_map_ptr(m);

	for (size_t i = 0; i < n; i++)
		p[i] = t_pat(i);
	CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);

	const size_t offs[] = { 5, ps - 1, ps + 123, 2 * ps + 1, n - 1 };
	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		size_t off = offs[k];
		CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, off, &m), 0);
		uint8_t *q = shmk_shm_map_ptr(m);
		CU_ASSERT_EQUAL((uintptr_t)q & (ps - 1), off & (ps - 1));
		CU_ASSERT_EQUAL(shmk_shm_map_len(m), n - off);
		size_t bad = 0;
		for (size_t i = 0; i < n - off; i++)
			bad += q[i] != t_pat(off + i);
		CU_ASSERT_EQUAL(bad, 0);
		q[n - off - 1] ^= 0xff;	/* the last byte is writable */
		q[n - off - 1] ^= 0xff;
		CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);
	}
	shmk_shm_close(s);
}
H_REGISTER(map_unaligned, DEADLINE, "shm.map.unaligned");

/* Peer: read-only open and map; reads must work, then a write must fault. */
static int peer_readonly(void)
{
	struct shmk_shm *s = NULL;
	struct shmk_shm_map *m = NULL;

	if (shmk_shm_open(g_name, O_RDONLY, 0600, &s))
		return 10;
	if (shmk_shm_map(s, 0, &m))
		return 11;
	volatile uint8_t *p = shmk_shm_map_ptr(m);
	if (p[0] != 0x77 || shmk_shm_map_len(m) != page())
		return 12;
	signal(SIGSEGV, SIG_DFL);
	p[0] = 1;	/* must die here of SIGSEGV */
	return 13;
}

static void map_readonly(void)
{
	struct shmk_shm_map *m = NULL;
	struct shmk_shm *s = create_mapped(page(), &m);

	((uint8_t *)shmk_shm_map_ptr(m))[0] = 0x77;
	pid_t pid = fork_peer(peer_readonly);
	CU_ASSERT_FATAL(pid > 0);
	int st = h_wait(pid, DEADLINE);
	/* the peer reset SIGSEGV to SIG_DFL, so ASan does not turn it into abort */
	CU_ASSERT_EQUAL(st, 128 + SIGSEGV);
	CU_ASSERT_EQUAL(((uint8_t *)shmk_shm_map_ptr(m))[0], 0x77);
	shmk_shm_unmap(m);
	shmk_shm_close(s);
}
H_REGISTER(map_readonly, DEADLINE, "shm.map.readonly");

/* ------------------------------------------------------------ lifetime */

static int peer_open_fails_enoent(void)
{
	struct shmk_shm *s = NULL;
	int rc = shmk_shm_open(g_name, O_RDWR, 0600, &s);

	return rc == -ENOENT ? 0 : 10;
}

static void unlink_keeps_handle(void)
{
	struct shmk_shm_map *m = NULL;
	struct shmk_shm *s = create_mapped(page(), &m);
	size_t sz = 0;

	((uint8_t *)shmk_shm_map_ptr(m))[0] = 9;
	CU_ASSERT_EQUAL(shmk_shm_unlink(s), 0);
	pid_t pid = fork_peer(peer_open_fails_enoent);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	/* the handle, its fd and its map still work */
	CU_ASSERT_EQUAL(((uint8_t *)shmk_shm_map_ptr(m))[0], 9);
	uint8_t b = 0;
	CU_ASSERT_EQUAL(pread(shmk_shm_fd(s), &b, 1, 0), 1);
	CU_ASSERT_EQUAL(b, 9);
	CU_ASSERT_EQUAL(shmk_shm_set_size(s, 2 * page()), 0);
	CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
	CU_ASSERT_EQUAL(sz, 2 * page());
	/* a second unlink reports the missing name */
	CU_ASSERT_EQUAL(shmk_shm_unlink(s), -ENOENT);
	CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);
	CU_ASSERT_EQUAL(shmk_shm_close(s), 0);
}
H_REGISTER(unlink_keeps_handle, DEADLINE, "shm.unlink.keeps_handle");

static int peer_reads_after_close(void)
{
	struct shmk_shm *s = NULL;
	uint8_t b[2] = { 0, 0 };

	if (shmk_shm_open(g_name, O_RDONLY, 0600, &s))
		return 10;
	if (pread(shmk_shm_fd(s), b, 2, 100) != 2)
		return 11;
	shmk_shm_close(s);
	return b[0] == 0xab && b[1] == 0xcd ? 0 : 12;
}

static void close_map_survives(void)
{
	struct shmk_shm_map *m = NULL;
	struct shmk_shm *s = create_mapped(page(), &m);
	int fd = shmk_shm_fd(s);

	CU_ASSERT_EQUAL(shmk_shm_close(s), 0);
	CU_ASSERT(fcntl(fd, F_GETFD) == -1 && errno == EBADF); /* the fd is gone */
	uint8_t *p = shmk_shm_map_ptr(m);
	p[100] = 0xab;
	p[101] = 0xcd;
	pid_t pid = fork_peer(peer_reads_after_close);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	CU_ASSERT_EQUAL(shmk_shm_map_len(m), page());
	CU_ASSERT_EQUAL(shmk_shm_unmap(m), 0);
}
H_REGISTER(close_map_survives, DEADLINE, "shm.close.map_survives");

static void api_args(void)
{
	struct shmk_shm *s = NULL;
	struct shmk_shm_map *m = NULL;
	size_t sz;

	CU_ASSERT_EQUAL(shmk_shm_open(g_name, O_RDWR | O_CREAT, 0600, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_open_with(g_name, O_RDWR | O_CREAT, 0600, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_size(NULL, &sz), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_set_size(NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_map(NULL, 0, &m), -EINVAL);
	CU_ASSERT_PTR_NULL(shmk_shm_map_ptr(NULL));
	CU_ASSERT_EQUAL(shmk_shm_map_len(NULL), 0);
	CU_ASSERT_EQUAL(shmk_shm_unmap(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_fd(NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(shmk_shm_name(NULL));
	CU_ASSERT_EQUAL(shmk_shm_unlink(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_close(NULL), -EINVAL);

	CU_ASSERT_EQUAL_FATAL(shmk_shm_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &s), 0);
	CU_ASSERT_EQUAL(shmk_shm_size(s, NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_shm_map(s, 0, NULL), -EINVAL);
	CU_ASSERT(shmk_shm_fd(s) >= 0);
	CU_ASSERT_STRING_EQUAL(shmk_shm_name(s), g_name);
	shmk_shm_close(s);
}
H_REGISTER(api_args, DEADLINE, "shm.api.args");

int main(int argc, char **argv)
{
	return h_main(argc, argv, "shm", NULL, NULL);
}
