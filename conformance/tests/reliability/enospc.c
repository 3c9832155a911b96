/* SPDX-License-Identifier: MIT */
/* reliability tests: 5a, ENOSPC: a full file system at each creation step. */
#include "reliability_test.h"

/* ------------------------------------------------------------ 5a: ENOSPC */

static void enospc_body(void *arg)
{
	enum t_rel_kind k = *(const enum t_rel_kind *)arg;
	const struct t_rel_prim *p = &t_rel_prims[k];
	char dir[256], path[300], big[300];
	int rc = -1;

	h_unique_path(dir, sizeof(dir), "tiny");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	CU_ASSERT_EQUAL_FATAL(unshare(CLONE_NEWNS), 0);
	CU_ASSERT_EQUAL_FATAL(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", dir, "tmpfs", 0, "size=1m"), 0);
	/* shm objects and slots segments live in /dev/shm: make it tiny too */
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777"), 0);

	switch (k) {
	case REL_SHM: {
		struct shmk_shm *s = NULL;
		size_t sz = 1;
		CU_ASSERT_EQUAL_FATAL(shmk_shm_open("/rel-big", O_RDWR | O_CREAT | O_EXCL, 0, &s), 0);
		rc = shmk_shm_set_size(s, 2u << 20);
		CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
		CU_ASSERT_EQUAL(sz, 0); /* unchanged: shm.size.reserve */
		shmk_shm_unlink(s);
		shmk_shm_close(s);
		snprintf(big, sizeof(big), "/dev/shm/rel-big");
		break;
	}
	case REL_MMAP: {
		struct shmk_mmap_region *r = NULL;
		snprintf(big, sizeof(big), "%s/big", dir);
		rc = shmk_mmap_region_create(big, 2u << 20, SHMK_CLEANUP_KEEP, 0, &r);
		CU_ASSERT_PTR_NULL(r);
		break;
	}
	case REL_EVENTS: {
		/* the layout (582144 bytes) fits 1 MiB: fill most of it first */
		struct shmk_events *e = NULL;
		snprintf(path, sizeof(path), "%s/filler", dir);
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL_FATAL(posix_fallocate(fd, 0, 640u << 10), 0);
		close(fd);
		snprintf(big, sizeof(big), "%s/big", dir);
		rc = shmk_events_open_path(big, &e);
		CU_ASSERT_PTR_NULL(e);
		/* create-or-join leaves an empty file for the next opener to
		 * size; it must not be a half-initialised region */
		struct stat st;
		if (stat(big, &st) == 0) {
			printf("\n    events: ENOSPC left an empty %lld-byte file (fresh for the next opener)",
			       (long long)st.st_size);
			CU_ASSERT_EQUAL(st.st_size, 0);
			unlink(big);
		}
		unlink(path);
		break;
	}
	case REL_RING: {
		struct shmk_ring *r = NULL;
		struct shmk_ring_opts o = { .capacity = 2u << 20 };
		snprintf(big, sizeof(big), "%s/big", dir);
		rc = shmk_ring_create(big, &o, &r);
		CU_ASSERT_PTR_NULL(r);
		break;
	}
	case REL_SLOTS: {
		struct shmk_slots *s = NULL;
		snprintf(big, sizeof(big), "%s/big.flink", dir);
		rc = shmk_slots_create(big, 64, 32768, &s);
		CU_ASSERT_PTR_NULL(s);
		/* the segment went too: /dev/shm is empty again */
		DIR *d = opendir("/dev/shm");
		int n = 0;
		struct dirent *de;
		while (d && (de = readdir(d)))
			n += de->d_name[0] != '.';
		if (d)
			closedir(d);
		CU_ASSERT_EQUAL(n, 0);
		break;
	}
	default:
		break;
	}
	printf("\n    %s: create of 2 MiB on a 1 MiB tmpfs -> %s", p->name, shmk_errname(rc));
	CU_ASSERT_EQUAL(rc, -ENOSPC);
	CU_ASSERT_FALSE(t_exists(big));

	/* and a small one fits: the filesystem works, only the size failed */
	struct t_rel_obj o;
	object_at(k, dir, "small", path, sizeof(path));
	CU_ASSERT_EQUAL(rc = p->create(path, &o), 0);
	if (!rc) {
		p->release(&o);
		p->remove(path);
	}
	umount("/dev/shm");
	umount(dir);
	rmdir(dir);
}

static void run_enospc(enum t_rel_kind k)
{
	if (geteuid() != 0)
		H_SKIP("needs root to mount a tmpfs in a private mount namespace");
	isolate_arg(enospc_body, (void *)&kinds[k], 60);
}

static void enospc_shm(void)
{
	run_enospc(REL_SHM);
}
H_REGISTER_IN("enospc", enospc_shm, 0, "shm.size.reserve");
static void enospc_mmap_region(void)
{
	run_enospc(REL_MMAP);
}
H_REGISTER_IN("enospc", enospc_mmap_region, 0, "mmap_region.create.reserve", "mmap_region.create.no_leftover");
static void enospc_events(void)
{
	run_enospc(REL_EVENTS);
}
H_REGISTER_IN("enospc", enospc_events, 0, "events.open.reserve");
static void enospc_ring(void)
{
	run_enospc(REL_RING);
}
H_REGISTER_IN("enospc", enospc_ring, 0, "ring.create.file");
static void enospc_slots(void)
{
	run_enospc(REL_SLOTS);
}
H_REGISTER_IN("enospc", enospc_slots, 0, "slots.create.fallocate");
