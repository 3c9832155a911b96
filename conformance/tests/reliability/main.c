/* SPDX-License-Identifier: MIT */
/* reliability tests: the helpers and roles the files share, and main(). */
#include "reliability_test.h"

const enum t_rel_kind kinds[REL_N] = { REL_SHM, REL_MMAP, REL_EVENTS, REL_RING, REL_SLOTS };

/* ------------------------------------------------------------ helpers */

/* mappings of shmkit objects: files under /dev/shm or the test directory */
int count_maps(void)
{
	const char *const needles[] = { "/dev/shm/", h_tmpdir(), "/tmp/shmk-rel", NULL };

	return t_count_maps(needles);
}

/* FNV-1a of a file's bytes plus its size, mode and link count: the
 * fingerprint a refused attach must leave unchanged. */
uint64_t fingerprint(const char *path)
{
	struct stat st;
	uint64_t h = 0xcbf29ce484222325ull;

	if (lstat(path, &st))
		return 0;
	h = (h ^ (uint64_t)st.st_size) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_mode) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_nlink) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_uid) * 0x100000001b3ull;
	if (!S_ISREG(st.st_mode))
		return h;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return h;
	uint8_t buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	close(fd);
	return h;
}

/* A private directory for one test, owned by `uid` (nobody for the path
 * attacks), 0755 so the owner alone can add entries. */
void own_dir(char *buf, size_t len, const char *stem, uid_t uid)
{
	h_unique_path(buf, len, stem);
	CU_ASSERT_FATAL(mkdir(buf, 0755) == 0);
	CU_ASSERT_FATAL(chown(buf, uid, uid) == 0);
}

void rm_tree(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
		/* best effort: the harness removes its directory at exit */
	}
}

/* where an object of kind k lives in dir (shm: a name in /dev/shm) */
const char *object_at(enum t_rel_kind k, const char *dir, const char *stem, char *buf,
	size_t len)
{
	if (t_rel_prims[k].by_name)
		snprintf(buf, len, "/shmk-rel-%s-%d", stem, (int)getpid());
	else
		snprintf(buf, len, "%s/%s", dir, stem);
	return buf;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	return h_main(argc, argv, "reliability", NULL, NULL);
}
