/* SPDX-License-Identifier: MIT */
/* mmap_region tests: attach (check, empty files, by fd), shared mappings, ownership and its hand-over. */
#include "mmap_region_test.h"

/* ------------------------------------------------------------ attach */

static void attach_check(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to chown to another uid");
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
H_REGISTER(attach_check, DEADLINE, "mmap_region.attach.check");

static void attach_empty(void)
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
H_REGISTER(attach_empty, DEADLINE, "mmap_region.attach.empty");

static int g_fd = -1;

/* A peer's part on a 2-page region: the creator's half (the first) holds
 * its pattern, the peer writes the complement into the second; closes r.
 * 0, or 11 when the first half is wrong. */
static int answer(struct shmk_mmap_region *r)
{
	size_t n = shmk_mmap_region_len(r);
	int rc = n != 2 * page() || count_bad(r, 0, n / 2) ? 11 : 0;
	uint8_t *p = shmk_mmap_region_ptr(r);

	for (size_t i = n / 2; !rc && i < n; i++)
		p[i] = t_npat(i);
	shmk_mmap_region_close(r);
	return rc;
}

/* Peer: attach to an inherited descriptor, check, answer in the 2nd half. */
static int peer_attach_fd(void)
{
	struct shmk_mmap_region *r = NULL;

	if (shmk_mmap_region_attach_fd(g_fd, NULL, &r))
		return 10;
	int rc = answer(r);
	return rc ? rc : fcntl(g_fd, F_GETFD) == -1 ? 12 : 0;
}

static void attach_fd(void)
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
	CU_ASSERT_EQUAL(count_unanswered(r), 0);

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_attach_fd(g_fd, NULL, &a), 0);
	CU_ASSERT_PTR_NULL(shmk_mmap_region_path(a));
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(a), -EINVAL);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(a), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(a), 0);
	CU_ASSERT_NOT_EQUAL(fcntl(g_fd, F_GETFD), -1);	/* ours stays open */
	CU_ASSERT(t_exists(g_path));
	/* the checks apply to descriptors too */
	CU_ASSERT_EQUAL_FATAL(fchmod(g_fd, 0666), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_fd(g_fd, NULL, &a), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(shmk_mmap_region_attach_fd(-1, NULL, &a), -EBADF);
	close(g_fd);
	shmk_mmap_region_close(r);
}
H_REGISTER(attach_fd, DEADLINE, "mmap_region.attach.fd");

/* Peer: attach by path, check the creator's half, answer in the other. */
static int peer_attach_answer(void)
{
	struct shmk_mmap_region *r = attach_g();

	return r ? answer(r) : 10;
}

static void map_shared(void)
{
	struct shmk_mmap_region *r = NULL;
	size_t n = 2 * page();

	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, n, SHMK_CLEANUP_MANUAL, 0, &r), 0);
	CU_ASSERT_STRING_EQUAL(shmk_mmap_region_path(r), g_path);
	fill(r, 0);
	pid_t pid = fork_peer(peer_attach_answer);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, DEADLINE), 0);
	CU_ASSERT_EQUAL(count_unanswered(r), 0);
	shmk_mmap_region_close(r);
}
H_REGISTER(map_shared, DEADLINE, "mmap_region.map.shared");

/* ------------------------------------------------------------ ownership */

static void owner_local(void)
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
	CU_ASSERT(t_exists(g_path));
	CU_ASSERT_EQUAL(shmk_mmap_region_take_ownership(a), 0); /* hand-over in one process */
	CU_ASSERT_EQUAL(shmk_mmap_region_close(a), 0);
	CU_ASSERT_FALSE(t_exists(g_path));
	CU_ASSERT_EQUAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_MANUAL, 0, &r), 0);
	CU_ASSERT_EQUAL(shmk_mmap_region_owns_file(r), 1);
	shmk_mmap_region_close(r);
}
H_REGISTER(owner_local, DEADLINE, "mmap_region.owner.local+2");

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

static void owner_handover(void)
{
	g_ab = h_barrier_new(2);
	g_db = h_barrier_new(2);
	pid_t a = fork_peer(peer_a_creator);
	pid_t b = fork_peer(peer_b_taker);
	CU_ASSERT_FATAL(a > 0 && b > 0);
	CU_ASSERT_EQUAL(h_wait(a, DEADLINE), 0);
	CU_ASSERT(t_exists(g_path));	/* A released before it closed and exited */
	CU_ASSERT_EQUAL(h_barrier_wait(g_db, DEADLINE), 0);
	CU_ASSERT_EQUAL(h_wait(b, DEADLINE), 0);
	CU_ASSERT_FALSE(t_exists(g_path));	/* the new owner's close removed it */
	h_barrier_free(g_ab);
	h_barrier_free(g_db);
}
H_REGISTER(owner_handover, DEADLINE, "mmap_region.owner.local+2");

static int peer_attach_close(void)
{
	struct shmk_mmap_region *r = attach_g();

	return !r ? 10 : shmk_mmap_region_close(r) ? 11 : 0;
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

static void owner_close_unlinks(void)
{
	struct shmk_mmap_region *r = NULL;

	g_b = h_barrier_new(2);
	pid_t owner = fork_peer(peer_owner_close);
	CU_ASSERT_FATAL(owner > 0);
	CU_ASSERT_EQUAL_FATAL(h_barrier_wait(g_b, DEADLINE), 0);
	/* a non-owner's close (another process) leaves the file */
	pid_t peer = fork_peer(peer_attach_close);
	CU_ASSERT_EQUAL(h_wait(peer, DEADLINE), 0);
	CU_ASSERT(t_exists(g_path));
	CU_ASSERT_EQUAL(h_barrier_wait(g_b, DEADLINE), 0);
	CU_ASSERT_EQUAL(h_wait(owner, DEADLINE), 0);
	CU_ASSERT_FALSE(t_exists(g_path));
	h_barrier_free(g_b);

	/* SHMK_CLEANUP_KEEP: close leaves it */
	CU_ASSERT_EQUAL_FATAL(shmk_mmap_region_create(g_path, page(), SHMK_CLEANUP_KEEP, 0, &r),
			      0);
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	CU_ASSERT(t_exists(g_path));
}
H_REGISTER(owner_close_unlinks, DEADLINE, "mmap_region.owner.close_unlinks");

/* Peer: a restarted host replaces the file under the old owner's feet. */
static int peer_replace_raw(void)
{
	if (unlink(g_path))
		return 10;
	return make_file(g_path, 3, 0600) ? 11 : 0;
}

static void owner_same_file(void)
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
H_REGISTER(owner_same_file, DEADLINE, "mmap_region.owner.same_file");
