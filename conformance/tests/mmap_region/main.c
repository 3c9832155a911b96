/* SPDX-License-Identifier: MIT */
/* mmap_region tests: the helpers the files share, and main(). */
#include "mmap_region_test.h"

/* Paths are made in the parent so it can remove them whatever happened. */
char g_path[PATH_MAX], g_path2[PATH_MAX], g_dir[PATH_MAX];
struct h_barrier *g_b;

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
/* Around every test, in the parent: the test runs in its own process
 * (registered with DEADLINE), its paths are removed whatever it did. */
H_HOOKS(NULL, fresh_paths, drop_paths);

size_t page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

pid_t fork_peer(int (*fn)(void))
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	return pid;
}

struct shmk_mmap_region *attach_g(void)
{
	struct shmk_mmap_region *r = NULL;

	return shmk_mmap_region_attach(g_path, &r) ? NULL : r;
}

off_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : st.st_size;
}

void fill(struct shmk_mmap_region *r, size_t from)
{
	uint8_t *p = shmk_mmap_region_ptr(r);

	for (size_t i = from; i < shmk_mmap_region_len(r); i++)
		p[i] = t_pat(i);
}

size_t count_bad(const struct shmk_mmap_region *r, size_t from, size_t to)
{
	const uint8_t *p = shmk_mmap_region_ptr(r);
	size_t bad = 0;

	for (size_t i = from; i < to; i++)
		bad += p[i] != t_pat(i);
	return bad;
}

size_t count_unanswered(const struct shmk_mmap_region *r)
{
	const uint8_t *p = shmk_mmap_region_ptr(r);
	size_t n = shmk_mmap_region_len(r), bad = 0;

	for (size_t i = n / 2; i < n; i++)
		bad += p[i] != t_npat(i);
	return bad;
}

/* A plain file of n bytes (pattern) with exactly `mode`, owned by us. */
int make_file(const char *path, size_t n, mode_t mode)
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

int main(int argc, char **argv)
{
	return h_main(argc, argv, "mmap_region", NULL, NULL);
}
