/* SPDX-License-Identifier: MIT */
/* mmap_region tests: cleanup policies, growth and remapping, argument checks. */
#include "mmap_region_test.h"

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
	g_auto->path_gone = !t_exists(g_path);
	g_auto->owns = shmk_mmap_region_owns_file(r);
	g_auto->fd = shmk_mmap_region_fd(r);
	g_auto->host = getpid();
	fill(r, 0);
	if (h_barrier_wait(g_b, DEADLINE) || h_barrier_wait(g_b, DEADLINE))
		return 11;
	if (count_unanswered(r))
		return 12;
	if (!shmk_mmap_region_path(r) || strcmp(shmk_mmap_region_path(r), g_path))
		return 13;
	return shmk_mmap_region_close(r) ? 14 : 0;
}

static void cleanup_auto(void)
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
	CU_ASSERT_FALSE(t_exists(g_path));
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
	CU_ASSERT_FALSE(t_exists(g_path));
	CU_ASSERT_EQUAL(shmk_mmap_region_close(r), 0);
	h_barrier_free(g_b);
	t_shared_free(g_auto, sizeof(*g_auto));
}
H_REGISTER(cleanup_auto, DEADLINE, "mmap_region.cleanup.auto");

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

static void cleanup_names(void)
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
		CU_ASSERT_EQUAL(t_exists(g_path), cases[i].exists_after);
		if (t_exists(g_path) != cases[i].exists_after)
			fprintf(stderr, "cleanup %d crash %d: exists %d\n", cases[i].policy,
				cases[i].crash, t_exists(g_path));
		unlink(g_path);
	}
}
H_REGISTER(cleanup_names, DEADLINE, "mmap_region.cleanup.names");

/* ------------------------------------------------------------ growth */

static void resize_grow_only(void)
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
H_REGISTER(resize_grow_only, DEADLINE, "mmap_region.resize.grow_only");

static void resize_keeps_old(void)
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
H_REGISTER(resize_keeps_old, DEADLINE, "mmap_region.resize.keeps_old");

/* Peer: grow the region to 8 pages and fill the new part. */
static int peer_grow(void)
{
	struct shmk_mmap_region *r = attach_g();

	if (!r)
		return 10;
	size_t old = shmk_mmap_region_len(r);
	if (shmk_mmap_region_resize(r, 8 * page()))
		return 11;
	fill(r, old);
	return shmk_mmap_region_close(r) ? 12 : 0;
}

static void remap_grown(void)
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
	CU_ASSERT_FALSE(t_exists(g_path));
}
H_REGISTER(remap_grown, DEADLINE, "mmap_region.remap.grown");

/* Peer: cut the file to one page behind the mapper's back. */
static int peer_truncate(void)
{
	return truncate(g_path, (off_t)page()) ? 10 : 0;
}

static void remap_truncated(void)
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
H_REGISTER(remap_truncated, DEADLINE, "mmap_region.remap.truncated");

/* ------------------------------------------------------------ arguments */

static void api_args(void)
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
	CU_ASSERT_FALSE(t_exists(g_path));

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
H_REGISTER(api_args, DEADLINE, "mmap_region.api.args");
