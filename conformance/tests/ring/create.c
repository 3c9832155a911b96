/* SPDX-License-Identifier: MIT */
/* ring tests: layout, creation, attach and cleanup. */
#include "ring_test.h"

/* ---------------------------------------------------------------- layout */

static void layout_header(void)
{
	struct rfx f = rfx_new(2 * CAP64K, 4096, 0, true);
	struct shmk_ring_hdr *h = raw_hdr(f.raw);

	CU_ASSERT_EQUAL(f.len, 2 * PAGE + 2 * CAP64K);
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(f.raw + 0), 4096);
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(f.raw + 8), 4096);
	CU_ASSERT_EQUAL(h->magic, SHMK_RING_MAGIC);
	CU_ASSERT_EQUAL(h->version, 2); /* ring.layout.version */
	CU_ASSERT_EQUAL(h->page_size, PAGE);
	CU_ASSERT_EQUAL(h->capacity, 2 * CAP64K);
	uint64_t cap = 0;
	CU_ASSERT_EQUAL(shmk_ring_capacity(f.r, &cap), 0);
	CU_ASSERT_EQUAL(cap, 2 * CAP64K);

	/* A record from another process lands at page + index mod capacity. */
	int wfd = new_writer_fd(f.r, 77, NULL);
	pid_t pid = fork_writer(wfd, 77, 1, 40, 0, 40);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(f.raw + 0), 4096 + 56);
	const uint8_t *rec = f.raw + PAGE + 4096 % (2 * CAP64K);
	CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)rec, 77);
	CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)(rec + 8), 40);
	CU_ASSERT(check(rec + 16, 40, 77, 0));
	/* the writers page, after the ring, has its magic */
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(f.raw + PAGE + 2 * CAP64K), SHMK_RING_WMAGIC);
	rfx_close(&f);
}
H_REGISTER(layout_header, 30, "ring.layout.header", "ring.layout.version");

static void create_capacity(void)
{
	char path[256];
	struct shmk_ring *r = NULL;
	uint64_t bad[] = { 0, PAGE, CAP64K - PAGE, CAP64K + 8, CAP64K + PAGE / 2,
			   (1ull << 30) + PAGE, UINT64_MAX - PAGE + 1 };

	h_unique_path(path, sizeof(path), "cap");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct shmk_ring_opts o = { .capacity = bad[i] };
		CU_ASSERT_EQUAL(shmk_ring_create(path, &o, &r), -EINVAL);
		CU_ASSERT(access(path, F_OK) != 0); /* nothing left behind */
	}
	struct shmk_ring_opts ok = { .capacity = CAP64K + PAGE };
	CU_ASSERT_EQUAL(shmk_ring_create(path, &ok, &r), 0);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(create_capacity, 20, "ring.create.capacity");

/* A full filesystem fails the create (reserved up front), leaving no file. */
static void create_enospc(void)
{
	char dir[256], path[300];
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts o = { .capacity = 16 * CAP64K };

	h_unique_path(dir, sizeof(dir), "tiny");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=256k")) {
		rmdir(dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/ring", dir);
	int rc = shmk_ring_create(path, &o, &r);
	CU_ASSERT(rc == -ENOSPC || rc == -ENOMEM);
	CU_ASSERT(access(path, F_OK) != 0);
	o.capacity = CAP64K; /* fits */
	CU_ASSERT_EQUAL(shmk_ring_create(path, &o, &r), 0);
	shmk_ring_close(r);
	umount(dir);
	rmdir(dir);
}


/* As root the create also meets a full filesystem (create_enospc). */
static void create_file(void)
{
	char path[256];
	struct stat st;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0), *r2 = NULL;
	struct shmk_ring_opts o = { .capacity = CAP64K };

	CU_ASSERT_EQUAL(shmk_ring_create(path, &o, &r2), -EEXIST);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL((size_t)st.st_size, 2 * PAGE + CAP64K);
	CU_ASSERT((size_t)st.st_blocks * 512 >= 2 * PAGE + CAP64K); /* reserved, not sparse */
	shmk_ring_close(r);
	unlink(path);

	/* an asked-for mode is kept whatever the umask */
	mode_t old = umask(077);
	o.mode = 0640;
	CU_ASSERT_EQUAL(shmk_ring_create(path, &o, &r), 0);
	umask(old);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	shmk_ring_close(r);
	unlink(path);

	/* a symlink is never followed: at the last component (EEXIST under
	 * O_EXCL) nor at a parent directory (SHMK_EUNSAFE) */
	char target[256], dir[256], via[600];
	h_unique_path(target, sizeof(target), "target");
	CU_ASSERT_EQUAL(symlink(target, path), 0);
	o.mode = 0;
	int rc = shmk_ring_create(path, &o, &r);
	CU_ASSERT(rc == -EEXIST || rc == SHMK_EUNSAFE);
	CU_ASSERT(access(target, F_OK) != 0);
	unlink(path);
	h_unique_path(dir, sizeof(dir), "dir");
	CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL(symlink(dir, path), 0);
	snprintf(via, sizeof(via), "%s/ring", path);
	CU_ASSERT_EQUAL(shmk_ring_create(via, &o, &r), SHMK_EUNSAFE);
	snprintf(via, sizeof(via), "%s/ring", dir);
	CU_ASSERT(access(via, F_OK) != 0);
	unlink(path);
	rmdir(dir);
	if (geteuid() == 0)
		create_enospc(); /* last: it leaves this process in its own mount namespace */
}
H_REGISTER(create_file, 40, "ring.create.file");

static void create_name(void)
{
	char name[64], path[128];
	struct shmk_ring *r = NULL, *r2 = NULL;
	struct shmk_ring_opts o = { .capacity = CAP64K };

	snprintf(name, sizeof(name), "shmk-ring-test-%d", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(shmk_ring_create(name, &o, &r), 0);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	shmk_ring_close(r);
	CU_ASSERT_EQUAL(shmk_ring_attach(name, &r2), 0); /* same object by name */
	shmk_ring_close(r2);
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), 0); /* and by path */
	shmk_ring_close(r2);
	CU_ASSERT_EQUAL(shmk_ring_unlink(name), 0);
	CU_ASSERT(access(path, F_OK) != 0);
	CU_ASSERT_EQUAL(shmk_ring_unlink(name), -ENOENT);
	CU_ASSERT_EQUAL(shmk_ring_create("", &o, &r), -EINVAL);
}
H_REGISTER(create_name, 20, "ring.create.name");

static int maps_mentioning(const char *needle)
{
	return t_count_maps((const char *const[]){ needle, NULL });
}

/* Every syscall site of create / attach / writer open fails once in turn
 * (SHMK_FAULT hook): the error comes back and nothing leaks. */
/* A fault armed around one call: arm(spec), the call, disarm() (did it fire). */
static void arm(const char *spec)
{
	CU_ASSERT_EQUAL(shmk_fault_set(spec), 0);
}

static int disarm(void)
{
	int hit = shmk_fault_fired();

	shmk_fault_set(NULL);
	return hit;
}

static void cleanup(void)
{
	static const char *const sites[] = { "open", "ftruncate", "fallocate", "mmap", "fstat" };
	char path[256], spec[64];
	struct shmk_ring_opts o = { .capacity = CAP64K };
	int fired = 0;

	h_unique_path(path, sizeof(path), "fault");
	int fds0 = t_count_fds();
	for (size_t s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
		for (int n = 1; n <= 8; n++) {
			struct shmk_ring *r = NULL, *r2 = NULL;
			struct shmk_ring_writer *w = NULL;
			snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);

			arm(spec);
			int rc = shmk_ring_create(path, &o, &r);
			if (disarm()) {
				fired++;
				CU_ASSERT(rc < 0);
				CU_ASSERT(access(path, F_OK) != 0);
				CU_ASSERT_EQUAL(t_count_fds(), fds0);
				CU_ASSERT_EQUAL(maps_mentioning(path), 0);
				continue;
			}
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			/* the same fault inside attach (after closing the reader) */
			shmk_ring_close(r);
			arm(spec);
			rc = shmk_ring_attach(path, &r2);
			if (disarm()) {
				fired++;
				CU_ASSERT(rc < 0);
				CU_ASSERT_EQUAL(t_count_fds(), fds0);
				CU_ASSERT_EQUAL(maps_mentioning(path), 0);
				CU_ASSERT_EQUAL_FATAL(shmk_ring_attach(path, &r2), 0);
			} else {
				CU_ASSERT_EQUAL_FATAL(rc, 0);
			}
			/* and inside writer open */
			int wfd = -1, peer = -1;
			CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_new(r2, 1, &wfd, &peer), 0);
			int fds1 = t_count_fds();
			arm(spec);
			rc = shmk_ring_writer_open(wfd, &w);
			if (disarm()) {
				fired++;
				CU_ASSERT(rc < 0);
				CU_ASSERT_EQUAL(t_count_fds(), fds1 - 1); /* wfd consumed */
			} else {
				CU_ASSERT_EQUAL(rc, 0);
				shmk_ring_writer_close(w);
			}
			close(peer);
			shmk_ring_close(r2);
			CU_ASSERT_EQUAL(maps_mentioning(path), 0);
			CU_ASSERT_EQUAL(t_count_fds(), fds0);
			unlink(path);
		}
	}
	/* create alone passes nine of these sites: open, fstat, fallocate and
	 * six mmaps (reservation, three parts, the writers page, its init) */
	CU_ASSERT(fired >= 9);
}
H_REGISTER(cleanup, 60, "ring.create.cleanup");

static void initial_index(void)
{
	char path[256];
	uint64_t v = 0;
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts o = { .capacity = CAP64K, .initial_index = 12 };

	h_unique_path(path, sizeof(path), "init");
	CU_ASSERT_EQUAL(shmk_ring_create(path, &o, &r), -EINVAL);
	r = mk(path, sizeof(path), CAP64K, 0x123456789abcdef0ull);
	CU_ASSERT_EQUAL(shmk_ring_head(r, &v), 0);
	CU_ASSERT_EQUAL(v, 0x123456789abcdef0ull);
	CU_ASSERT_EQUAL(shmk_ring_tail(r, &v), 0);
	CU_ASSERT_EQUAL(v, 0x123456789abcdef0ull);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(initial_index, 20, "ring.create.initial_index");

static void attach_validate(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0), *r2 = NULL;
	shmk_ring_close(r);
	uint8_t *raw = raw_map(path, &len);
	struct shmk_ring_hdr *h = raw_hdr(raw);

	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), 0);
	shmk_ring_close(r2);

	h->magic = 0;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_ENOTINIT);
	h->magic = 0x1234;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_EBADMAGIC);
	h->magic = SHMK_RING_MAGIC;
	h->version = 99;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_EVERSION);
	h->version = SHMK_RING_VERSION;
	uint64_t lies[] = { CAP64K + 8, 0, PAGE, 1ull << 40, UINT64_MAX - PAGE + 1 };
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		h->capacity = lies[i];
		CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_ELAYOUT);
	}
	/* a valid but larger capacity than the file holds */
	h->capacity = 2 * CAP64K;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_ETOOSMALL);
	h->capacity = CAP64K;
	h->page_size = (uint32_t)PAGE * 2;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_ELAYOUT);
	h->page_size = (uint32_t)PAGE;
	/* the writers page is checked too */
	*(uint64_t *)(void *)(raw + PAGE + CAP64K) = 7;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_EBADMAGIC);
	*(uint64_t *)(void *)(raw + PAGE + CAP64K) = SHMK_RING_WMAGIC;
	munmap(raw, len);
	CU_ASSERT_EQUAL(truncate(path, (off_t)(PAGE + CAP64K)), 0);
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(truncate(path, 100), 0);
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_ETOOSMALL);
	unlink(path);
}
H_REGISTER(attach_validate, 20, "ring.attach.validate");
