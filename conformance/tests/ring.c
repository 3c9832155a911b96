/* SPDX-License-Identifier: MIT */
/*
 * ring conformance tests: one test per clause of conformance/spec/ring.md,
 * writers and readers in separate processes (fork, or a re-exec'd role for
 * crash points), hostile peers simulated through a raw mapping of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"
#include "harness.h"
#include "internal.h" /* shmk_fault_set */
#include "shmkit/ring.h"
#include "support.h"

#define CAP64K 65536u
#define PAGE ((size_t)sysconf(_SC_PAGESIZE))

/* ---------------------------------------------------------------- helpers */

static uint8_t pat(uint64_t tag, uint64_t i, size_t j)
{
	return (uint8_t)(tag * 31 + i * 7 + j * 13 + (j >> 8));
}

static void fill(uint8_t *p, size_t n, uint64_t tag, uint64_t i)
{
	for (size_t j = 0; j < n; j++)
		p[j] = pat(tag, i, j);
}

static int check(const uint8_t *p, size_t n, uint64_t tag, uint64_t i)
{
	for (size_t j = 0; j < n; j++)
		if (p[j] != pat(tag, i, j))
			return 0;
	return 1;
}

static struct shmk_ring *mk(char *path, size_t plen, uint64_t cap, uint64_t init)
{
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts o = { .capacity = cap, .initial_index = init };

	h_unique_path(path, plen, "ring");
	int rc = shmk_ring_create(path, &o, &r);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return r;
}

/* Whole file mapped writable: plays the hostile peer / inspects bytes. */
static uint8_t *raw_map(const char *path, size_t *len)
{
	uint8_t *p = t_raw_map(open(path, O_RDWR | O_CLOEXEC), len);

	CU_ASSERT_FATAL(p != NULL);
	return p;
}

static struct shmk_ring_hdr *raw_hdr(uint8_t *raw)
{
	return (struct shmk_ring_hdr *)(void *)raw;
}

/* A writer fd plus its peer; the caller keeps the peer. */
static int new_writer_fd(struct shmk_ring *r, uint64_t tag, int *peer)
{
	int wfd = -1, pfd = -1;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_new(r, tag, &wfd, &pfd), 0);
	if (peer)
		*peer = pfd;
	else
		close(pfd);
	return wfd;
}

/* In-process writer (same process as the reader). */
static struct shmk_ring_writer *local_writer(struct shmk_ring *r, uint64_t tag)
{
	struct shmk_ring_writer *w = NULL;
	int wfd = new_writer_fd(r, tag, NULL);
	CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_open(wfd, &w), 0);
	return w;
}

/* Writes `count` records of lengths len0, len0+step, ... (mod maxlen+1),
 * retrying on SHMK_EFULL.  Returns 0 or the first other error. */
static int write_seq(struct shmk_ring_writer *w, uint64_t tag, uint64_t count, size_t len0,
		     size_t step, size_t maxlen)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	for (uint64_t i = 0; i < count; i++) {
		size_t n = (len0 + i * step) % (maxlen + 1);
		fill(buf, n, tag, i);
		int rc;
		while ((rc = shmk_ring_write(w, buf, n)) == SHMK_EFULL)
			sched_yield();
		if (rc)
			return rc;
	}
	return 0;
}

/* Reads `count` records written by write_seq with the same parameters. */
static int read_seq(struct shmk_ring *r, uint64_t tag, uint64_t count, size_t len0, size_t step,
		    size_t maxlen)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	for (uint64_t i = 0; i < count; i++) {
		size_t n = (len0 + i * step) % (maxlen + 1), got = 0;
		uint64_t t = 0;
		int rc = shmk_ring_read_message(r, &t, buf, sizeof(buf), &got, 20ll * 1000000000);
		if (rc)
			return rc;
		if (t != tag || got != n || !check(buf, n, tag, i))
			return -EBADMSG;
	}
	return 0;
}

static pid_t fork_writer(int wfd, uint64_t tag, uint64_t count, size_t len0, size_t step,
			 size_t maxlen)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w = NULL;
		int rc = shmk_ring_writer_open(wfd, &w);
		if (rc)
			_exit(10);
		rc = write_seq(w, tag, count, len0, step, maxlen);
		shmk_ring_writer_close(w);
		_exit(rc ? 11 : 0);
	}
	return pid;
}

/* Snapshot of the ring bytes and head for "nothing written" checks. */
struct snap {
	uint8_t *bytes;
	uint64_t head;
};

static struct snap take(uint8_t *raw, size_t len)
{
	struct snap s = { malloc(len), 0 };
	CU_ASSERT_FATAL(s.bytes != NULL);
	memcpy(s.bytes, raw, len);
	s.head = atomic_load(&raw_hdr(raw)->head);
	return s;
}

/* Ring bytes unchanged (tests that snapshot use a 64 KiB ring; the header
 * and writers pages are checked apart: opening a writer changes the latter). */
static int same_ring(const struct snap *s, const uint8_t *raw, size_t len)
{
	(void)len;
	return memcmp(s->bytes + PAGE, raw + PAGE, CAP64K) == 0;
}

/* ---------------------------------------------------------------- roles */

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static int send_fd(int sock, int fd)
{
	char c = 'w';
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

/*
 * Role "writer": argv = writer <sockfd> <op> <count> <len>.  The writer fd
 * arrives over the inherited Unix socket as SCM_RIGHTS.  Ops: "write"
 * (count records of len, pattern of tag/index), "reserve" (reserve len,
 * fill half, commit).  Crash points come from SHMK_CRASH_AT.
 */
static int role_writer(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int sock = atoi(argv[1]);
	const char *op = argv[2];
	uint64_t count = strtoull(argv[3], NULL, 10);
	size_t len = strtoul(argv[4], NULL, 10);
	int wfd = recv_fd(sock);
	close(sock);
	if (wfd < 0)
		return 3;
	struct shmk_ring_writer *w = NULL;
	if (shmk_ring_writer_open(wfd, &w))
		return 4;
	uint64_t tag = 0;
	shmk_ring_writer_tag(w, &tag);
	int rc = 0;
	if (!strcmp(op, "write")) {
		rc = write_seq(w, tag, count, len, 0, len);
	} else if (!strcmp(op, "reserve")) {
		void *p;
		rc = shmk_ring_reserve(w, len, &p);
		if (!rc) {
			memset(p, 0xAA, len / 2);
			rc = shmk_ring_commit(w);
		}
	} else {
		rc = -EINVAL;
	}
	shmk_ring_writer_close(w);
	return rc ? 5 : 0;
}

/* Starts role "writer" and hands it a writer fd by SCM_RIGHTS. */
static pid_t spawn_writer_role(struct shmk_ring *r, uint64_t tag, const char *op,
			       const char *count, const char *len, int *peer)
{
	int sv[2];
	char fdarg[16];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]); /* sv[1] survives the exec */
	const char *args[] = { fdarg, op, count, len, NULL };
	pid_t pid = h_spawn_role("writer", args);
	CU_ASSERT_FATAL(pid > 0);
	close(sv[1]);
	int wfd = new_writer_fd(r, tag, peer);
	CU_ASSERT_EQUAL_FATAL(send_fd(sv[0], wfd), 0);
	close(wfd);
	close(sv[0]);
	return pid;
}

/* ---------------------------------------------------------------- layout */

static void layout_header(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), 2 * CAP64K, 4096);
	uint8_t *raw = raw_map(path, &len);
	struct shmk_ring_hdr *h = raw_hdr(raw);

	CU_ASSERT_EQUAL(len, 2 * PAGE + 2 * CAP64K);
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(raw + 0), 4096);
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(raw + 8), 4096);
	CU_ASSERT_EQUAL(h->magic, SHMK_RING_MAGIC);
	CU_ASSERT_EQUAL(h->version, SHMK_RING_VERSION);
	CU_ASSERT_EQUAL(h->page_size, PAGE);
	CU_ASSERT_EQUAL(h->capacity, 2 * CAP64K);
	uint64_t cap = 0;
	CU_ASSERT_EQUAL(shmk_ring_capacity(r, &cap), 0);
	CU_ASSERT_EQUAL(cap, 2 * CAP64K);

	/* A record from another process lands at page + index mod capacity. */
	int wfd = new_writer_fd(r, 77, NULL);
	pid_t pid = fork_writer(wfd, 77, 1, 40, 0, 40);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(raw + 0), 4096 + 56);
	const uint8_t *rec = raw + PAGE + 4096 % (2 * CAP64K);
	CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)rec, 77);
	CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)(rec + 8), 40);
	CU_ASSERT(check(rec + 16, 40, 77, 0));
	/* the writers page, after the ring, has its magic */
	CU_ASSERT_EQUAL(*(uint64_t *)(void *)(raw + PAGE + 2 * CAP64K), SHMK_RING_WMAGIC);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(layout_header, 30, "ring.layout.header");

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

static void create_file_body(void)
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
}

/* A full filesystem fails the create (reserved up front), leaving no file. */
static void create_enospc_body(void)
{
	char dir[256], path[300];
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts o = { .capacity = 16 * CAP64K };

	h_unique_path(dir, sizeof(dir), "tiny");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=256k")) {
		rmdir(dir);
		return; /* not root: the parent reports the skip */
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

static void create_file(void)
{
	isolate(create_file_body, 20);
	if (geteuid() == 0)
		isolate(create_enospc_body, 20);
}
H_REGISTER(create_file, 0, "ring.create.file");

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

			CU_ASSERT_EQUAL(shmk_fault_set(spec), 0);
			int rc = shmk_ring_create(path, &o, &r);
			int hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			if (hit) {
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
			CU_ASSERT_EQUAL(shmk_fault_set(spec), 0);
			rc = shmk_ring_attach(path, &r2);
			hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			if (hit) {
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
			CU_ASSERT_EQUAL(shmk_fault_set(spec), 0);
			rc = shmk_ring_writer_open(wfd, &w);
			hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			if (hit) {
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
	CU_ASSERT(fired >= 10);
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

/* ---------------------------------------------------------------- the one validator */

/* Near the top: the snapshot fields must come back exactly, not truncated. */
#define VS_INIT (UINT64_MAX - 1023)

static uint8_t *copy_file(const char *path, size_t *len)
{
	uint8_t *b = t_copy_fd(open(path, O_RDONLY | O_CLOEXEC), len);

	CU_ASSERT_FATAL(b != NULL);
	return b;
}

/* The creator process: a ring at VS_INIT with one writer and two records;
 * ships its token and leaves without closing (its roles stay recorded). */
static void vs_creator(const char *path, int out)
{
	struct shmk_ring_opts o = { .capacity = CAP64K, .initial_index = VS_INIT };
	struct shmk_ring *r = NULL;
	struct shmk_ring_writer *w = NULL;
	int wfd = -1, pfd = -1;
	uint8_t big[100];

	memset(big, 0x5a, sizeof(big));
	int ok = shmk_ring_create(path, &o, &r) == 0 &&
		 shmk_ring_writer_new(r, 77, &wfd, &pfd) == 0 &&
		 shmk_ring_writer_open(wfd, &w) == 0 && shmk_ring_write(w, "abc", 3) == 0 &&
		 shmk_ring_write(w, big, sizeof(big)) == 0;
	uint64_t tok = ok ? shmk_self_token() : 0;
	_exit(write(out, &tok, sizeof(tok)) == (ssize_t)sizeof(tok) && ok ? 0 : 1);
}

/* One patched field: its offset, width and the code attach and the
 * validator both give. */
struct vs_patch {
	size_t off;
	int width;
	uint64_t val;
	int want;
};

static void put_field(uint8_t *b, size_t off, int width, uint64_t v)
{
	if (width == 4) {
		uint32_t x = (uint32_t)v;
		memcpy(b + off, &x, 4);
	} else {
		memcpy(b + off, &v, 8);
	}
}

/* A prefix of the whole file (size bytes, capacity cap). */
struct vs_prefix {
	uint64_t size, cap;
};

static int vs_prefix_ok(const uint8_t *t, size_t l, void *arg)
{
	const struct vs_prefix *p = arg;
	struct shmk_ring_info ri;

	/* as a truncated file: too small */
	if (shmk_ring_validate(t, l, l, &ri) != SHMK_ETOOSMALL)
		return 0;
	/* as a partial copy of the real file: the header is needed, the
	 * writers page is not (and then not checked) */
	int rc = shmk_ring_validate(t, l, p->size, &ri);
	if (l < sizeof(struct shmk_ring_hdr))
		return rc == SHMK_ETOOSMALL;
	return rc == 0 && !ri.complete && ri.capacity == p->cap && ri.writers == 0;
}

static void validate_shared(void)
{
	char path[256];
	int pfd[2];
	uint64_t cap = CAP64K, page = PAGE;

	h_unique_path(path, sizeof(path), "vs");
	CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		vs_creator(path, pfd[1]);
	close(pfd[1]);
	uint64_t tok = 0;
	CU_ASSERT_EQUAL_FATAL(read(pfd[0], &tok, sizeof(tok)), (ssize_t)sizeof(tok));
	close(pfd[0]);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT_FATAL(tok != 0);

	/* (a) the whole file, exactly: accepted, and the info is what the
	 * creator set */
	size_t size;
	uint8_t *b = copy_file(path, &size);
	CU_ASSERT_EQUAL_FATAL(size, 2 * page + cap);
	struct shmk_ring_info ri;
	memset(&ri, 0xee, sizeof(ri));
	CU_ASSERT_EQUAL_FATAL(shmk_ring_validate(b, size, size, &ri), 0);
	CU_ASSERT_EQUAL(ri.capacity, cap);
	CU_ASSERT_EQUAL(ri.file_size, size);
	CU_ASSERT_EQUAL(ri.page_size, page);
	CU_ASSERT_EQUAL(ri.version, SHMK_RING_VERSION);
	CU_ASSERT_EQUAL(ri.tail, VS_INIT);
	CU_ASSERT_EQUAL(ri.head, VS_INIT + shmk_ring_record_len(3) + shmk_ring_record_len(100));
	CU_ASSERT_EQUAL(ri.reader, tok);
	CU_ASSERT_EQUAL(ri.registered, 1);
	CU_ASSERT_EQUAL(ri.writers, 1);
	CU_ASSERT_EQUAL(ri.complete, 1);
	CU_ASSERT_EQUAL(shmk_ring_validate(b, size, size, NULL), 0);
	/* the validator wrote nothing */
	uint8_t *again = copy_file(path, &size);
	CU_ASSERT_EQUAL(memcmp(b, again, size), 0);
	free(again);

	/* misuse */
	CU_ASSERT_EQUAL(shmk_ring_validate(NULL, 0, size, &ri), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_validate(b, size, size - 1, &ri), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_validate(b + 4, 128, size, &ri), SHMK_EMISALIGNED);

	/* (b) every truncation length, each in a buffer of exactly that many
	 * bytes */
	struct vs_prefix pre = { size, cap };
	CU_ASSERT_EQUAL(t_each_prefix(b, size, vs_prefix_ok, &pre), 0);

	/* each header field at its boundaries: the validator on the copy
	 * and attach on the file refuse with the same named code */
	size_t wp = page + cap;
	const struct vs_patch patches[] = {
		{ 16, 8, 0, SHMK_ENOTINIT },
		{ 16, 8, 1, SHMK_EBADMAGIC },
		{ 16, 8, SHMK_RING_MAGIC ^ 1, SHMK_EBADMAGIC },
		{ 16, 8, UINT64_MAX, SHMK_EBADMAGIC },
		{ 24, 4, 0, SHMK_EVERSION },
		{ 24, 4, SHMK_RING_VERSION + 1, SHMK_EVERSION },
		{ 24, 4, UINT32_MAX, SHMK_EVERSION },
		{ 28, 4, 0, SHMK_ELAYOUT },
		{ 28, 4, page - 1, SHMK_ELAYOUT },
		{ 28, 4, page + 1, SHMK_ELAYOUT },
		{ 28, 4, 2 * page, SHMK_ELAYOUT },
		{ 28, 4, UINT32_MAX, SHMK_ELAYOUT },
		{ 32, 8, 0, SHMK_ELAYOUT },
		{ 32, 8, 8, SHMK_ELAYOUT },
		{ 32, 8, SHMK_RING_MAX_MESSAGE - page, SHMK_ELAYOUT },
		{ 32, 8, cap + 8, SHMK_ELAYOUT },
		{ 32, 8, cap - 8, SHMK_ELAYOUT },
		{ 32, 8, 2 * cap, SHMK_ETOOSMALL },	/* valid, not this file */
		{ 32, 8, cap + page, SHMK_ETOOSMALL },
		{ 32, 8, 1ull << 30, SHMK_ETOOSMALL },
		{ 32, 8, (1ull << 30) + page, SHMK_ELAYOUT },
		{ 32, 8, UINT64_MAX - page + 1, SHMK_ELAYOUT },
		{ 32, 8, UINT64_MAX, SHMK_ELAYOUT },
		{ wp, 8, 0, SHMK_EBADMAGIC },
		{ wp, 8, SHMK_RING_MAGIC, SHMK_EBADMAGIC },
		{ wp, 8, UINT64_MAX, SHMK_EBADMAGIC },
		{ wp + 8, 4, 0, SHMK_EVERSION },
		{ wp + 8, 4, UINT32_MAX, SHMK_EVERSION },
		{ wp + 12, 4, 0, SHMK_ELAYOUT },
		{ wp + 12, 4, SHMK_RING_MAX_WRITERS - 1, SHMK_ELAYOUT },
		{ wp + 12, 4, SHMK_RING_MAX_WRITERS + 1, SHMK_ELAYOUT },
		{ wp + 12, 4, UINT32_MAX, SHMK_ELAYOUT },
	};
	size_t rawlen;
	uint8_t *raw = raw_map(path, &rawlen);
	uint8_t *t = malloc(size);
	CU_ASSERT_FATAL(t != NULL);
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		const struct vs_patch *p = &patches[i];
		struct shmk_ring *r = NULL;
		memcpy(t, b, size);
		put_field(t, p->off, p->width, p->val);
		int rc = shmk_ring_validate(t, size, size, &ri);
		if (rc != p->want)
			fprintf(stderr, "ring: patch %zu (off %zu = %#llx): %d (%s), want %s\n", i,
				p->off, (unsigned long long)p->val, rc, shmk_errname(rc),
				shmk_errname(p->want));
		CU_ASSERT_EQUAL(rc, p->want);
		CU_ASSERT_PTR_NOT_NULL(shmk_errname(rc));
		CU_ASSERT(shmk_errdetail() && *shmk_errdetail());
		put_field(raw, p->off, p->width, p->val);
		CU_ASSERT_EQUAL(shmk_ring_attach(path, &r), p->want);
		if (r)
			shmk_ring_close(r);
		memcpy(raw + p->off, b + p->off, (size_t)p->width);
	}
	/* head, tail and reader are a snapshot, not a rule: any value passes */
	memcpy(t, b, size);
	put_field(t, 0, 8, UINT64_MAX);
	put_field(t, 8, 8, 1);
	CU_ASSERT_EQUAL(shmk_ring_validate(t, size, size, &ri), 0);
	CU_ASSERT_EQUAL(ri.head, UINT64_MAX);
	CU_ASSERT_EQUAL(ri.tail, 1);
	/* the restored file attaches again (the creator is dead) */
	struct shmk_ring *r = NULL;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r), 0);
	shmk_ring_close(r);
	free(t);
	munmap(raw, rawlen);
	free(b);
	unlink(path);
}
H_REGISTER(validate_shared, 60, "ring.validate.shared");

static void attach_safe(void)
{
	char path[256], link[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0), *r2 = NULL;
	shmk_ring_close(r);

	h_unique_path(link, sizeof(link), "link");
	CU_ASSERT_EQUAL(symlink(path, link), 0);
	CU_ASSERT_EQUAL(shmk_ring_attach(link, &r2), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	/* owned by another uid (CI runs as root: give the file away) */
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(chown(path, 65534, 65534), 0);
		CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_EUNSAFE);
	}
	/* a symlinked parent directory is refused too */
	char dir[256], dlink[256], via[600];
	h_unique_path(dir, sizeof(dir), "dir");
	h_unique_path(dlink, sizeof(dlink), "dlink");
	CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL(symlink(dir, dlink), 0);
	snprintf(via, sizeof(via), "%s/ring", dlink);
	CU_ASSERT_EQUAL(shmk_ring_attach(via, &r2), SHMK_EUNSAFE);
	unlink(dlink);
	rmdir(dir);
	unlink(link);
	unlink(path);
}
H_REGISTER(attach_safe, 30, "ring.attach.safe");

static void reader_single(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0), *r2 = NULL;
	int go[2], ready[2];

	CU_ASSERT_FATAL(pipe(go) == 0 && pipe(ready) == 0);
	/* live reader in this process: another process is refused */
	pid_t pid = fork();
	if (pid == 0)
		_exit(shmk_ring_attach(path, &r2) == SHMK_EBUSY ? 0 : 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_EBUSY);
	shmk_ring_close(r);

	/* a reader that dies holding the role: the next attach takes it over */
	pid = fork();
	if (pid == 0) {
		char c;
		if (shmk_ring_attach(path, &r2))
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	char c;
	CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), SHMK_EBUSY);
	CU_ASSERT_EQUAL(write(go[1], "g", 1), 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r2), 0);
	shmk_ring_close(r2);
	unlink(path);
}
H_REGISTER(reader_single, 30, "ring.reader.single");

/* ---------------------------------------------------------------- records */

static void record_format(void)
{
	char path[256];
	size_t len;

	CU_ASSERT_EQUAL(shmk_ring_record_len(0), 16);
	CU_ASSERT_EQUAL(shmk_ring_record_len(1), 24);
	CU_ASSERT_EQUAL(shmk_ring_record_len(8), 24);
	CU_ASSERT_EQUAL(shmk_ring_record_len(9), 32);
	CU_ASSERT_EQUAL(shmk_ring_record_len(65519), 65536);
	CU_ASSERT_EQUAL(shmk_ring_record_len(65520), 65536);
	CU_ASSERT_EQUAL(shmk_ring_record_len(SIZE_MAX), 0);

	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint8_t *raw = raw_map(path, &len);
	memset(raw + PAGE, 0xEE, CAP64K); /* stale bytes the padding must clear */
	int wfd = new_writer_fd(r, 0x5151, NULL);
	pid_t pid = fork_writer(wfd, 0x5151, 9, 0, 1, 8); /* lengths 0..8 */
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t idx = 0;
	for (size_t n = 0; n <= 8; n++) {
		const uint8_t *rec = raw + PAGE + idx;
		CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)rec, 0x5151);
		CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)(rec + 8), n);
		CU_ASSERT(check(rec + 16, n, 0x5151, n));
		for (size_t j = n; j < ((n + 7) & ~(size_t)7); j++)
			CU_ASSERT_EQUAL(rec[16 + j], 0);
		idx += shmk_ring_record_len(n);
	}
	CU_ASSERT_EQUAL(raw_hdr(raw)->head, idx);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(record_format, 30, "ring.record.format");

static void record_max(void)
{
	char path[256];
	size_t len;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD + 8];
	struct shmk_ring *r = mk(path, sizeof(path), 2 * CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 1);
	uint8_t *raw = raw_map(path, &len);

	fill(buf, SHMK_RING_MAX_PAYLOAD, 1, 0);
	CU_ASSERT_EQUAL(shmk_ring_write(w, buf, SHMK_RING_MAX_PAYLOAD + 1), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(raw_hdr(raw)->head, 0);
	CU_ASSERT_EQUAL(shmk_ring_write(w, buf, SHMK_RING_MAX_PAYLOAD), 0);
	CU_ASSERT_EQUAL(raw_hdr(raw)->head, SHMK_RING_MAX_MESSAGE);
	uint64_t t;
	const void *p;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, SHMK_RING_MAX_MESSAGE, &t, &p, &n), 0);
	CU_ASSERT_EQUAL(n, SHMK_RING_MAX_PAYLOAD);
	/* a record claiming one byte more is refused by the reader */
	*(uint64_t *)(void *)(raw + PAGE + 8) = SHMK_RING_MAX_PAYLOAD + 1;
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 2 * CAP64K, &t, &p, &n), SHMK_EBADLEN);
	shmk_ring_writer_close(w);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(record_max, 20, "ring.record.max");

/* ---------------------------------------------------------------- reader */

static void mirror(void)
{
	char path[256];
	/* initial index 64 KiB - 24: a record of 40 bytes straddles the end */
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, CAP64K - 24);
	int wfd = new_writer_fd(r, 9, NULL);
	pid_t pid = fork_writer(wfd, 9, 1, 40, 0, 40);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t t, head;
	const void *p;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_head(r, &head), 0);
	CU_ASSERT_EQUAL(head, CAP64K - 24 + 56);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, CAP64K - 24, head, &t, &p, &n), 0);
	CU_ASSERT_EQUAL(t, 9);
	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT(check(p, n, 9, 0)); /* contiguous through the mirror */
	/* the same bytes through the ring start: both views are one page cache */
	uint64_t v;
	CU_ASSERT_EQUAL(shmk_ring_read(r, CAP64K, &v, 8), 0);
	uint8_t want[8];
	for (int j = 0; j < 8; j++)
		want[j] = pat(9, 0, 8 + (size_t)j);
	CU_ASSERT_EQUAL(memcmp(&v, want, 8), 0);
	/* a maximal record starting at the last 8 bytes of the ring */
	struct shmk_ring_writer *w = local_writer(r, 10);
	static uint8_t big[SHMK_RING_MAX_PAYLOAD];
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 56), 0);
	/* head % cap is 32: a record of cap - 40 bytes moves it to cap - 8 */
	CU_ASSERT_EQUAL(shmk_ring_write(w, big, CAP64K - 56), 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, CAP64K - 40), 0);
	CU_ASSERT_EQUAL(shmk_ring_head(r, &head), 0);
	CU_ASSERT_EQUAL(head % CAP64K, CAP64K - 8);
	fill(big, sizeof(big), 10, 1);
	CU_ASSERT_EQUAL(shmk_ring_write(w, big, SHMK_RING_MAX_PAYLOAD), 0);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, head, head + CAP64K, &t, &p, &n), 0);
	CU_ASSERT_EQUAL(t, 10);
	CU_ASSERT_EQUAL(n, SHMK_RING_MAX_PAYLOAD);
	CU_ASSERT(check(p, n, 10, 1));
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(mirror, 20, "ring.reader.mirror");

/* Records that straddle the wrap: small capacity, every size class. */
static void straddle(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	int wfd = new_writer_fd(r, 3, NULL);
	/* lengths 0, 37, 74, ... mod 20001: many wraps at many offsets */
	pid_t pid = fork_writer(wfd, 3, 3000, 0, 37, 20000);
	close(wfd);
	CU_ASSERT_EQUAL(read_seq(r, 3, 3000, 0, 37, 20000), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(30)), 0);
	uint64_t head, tail;
	shmk_ring_head(r, &head);
	shmk_ring_tail(r, &tail);
	CU_ASSERT_EQUAL(head, tail);
	CU_ASSERT(head > 20 * CAP64K); /* it really wrapped many times */
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(straddle, 60, "ring.reader.mirror", "ring.writer.bounds");

static void head_tail(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	int wfd = new_writer_fd(r, 4, NULL);
	pid_t pid = fork_writer(wfd, 4, 100, 100, 0, 100);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t head = 0, tail = 1;
	CU_ASSERT_EQUAL(shmk_ring_head(r, &head), 0);
	CU_ASSERT_EQUAL(head, 100 * shmk_ring_record_len(100));
	CU_ASSERT_EQUAL(shmk_ring_tail(r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 2 * shmk_ring_record_len(100)), 0);
	CU_ASSERT_EQUAL(shmk_ring_tail(r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 2 * shmk_ring_record_len(100));
	CU_ASSERT_EQUAL(shmk_ring_head(NULL, &head), -EINVAL);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(head_tail, 20, "ring.reader.head_tail");

static void incr_tail_align(void)
{
	char path[256];
	uint64_t tail;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 1);

	CU_ASSERT_EQUAL(shmk_ring_write(w, "abcdefgh", 8), 0);
	for (uint64_t a = 1; a < 8; a++)
		CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, a), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 12), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_tail(r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 8), 0);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(incr_tail_align, 20, "ring.reader.increment_tail.align");

static void incr_tail_range(void)
{
	char path[256];
	uint64_t tail;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, UINT64_MAX - 7 - 64);
	struct shmk_ring_writer *w = local_writer(r, 1);

	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 8), SHMK_ERANGE); /* empty */
	CU_ASSERT_EQUAL(shmk_ring_write(w, "abcdefgh", 8), 0);	 /* head += 24 */
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 32), SHMK_ERANGE);
	/* an amount that wraps u64 past head */
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, UINT64_MAX - 7), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_ring_tail(r, &tail), 0);
	CU_ASSERT_EQUAL(tail, UINT64_MAX - 7 - 64);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 16), 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 8), 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(r, 8), SHMK_ERANGE);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(incr_tail_range, 20, "ring.reader.increment_tail.range");

static void read_align(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 0x0102030405060708ull);
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0, v3[3], v7[7];

	CU_ASSERT_EQUAL(shmk_ring_write(w, "abcdefgh", 8), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 0, &v64, 8), 0);
	CU_ASSERT_EQUAL(v64, 0x0102030405060708ull);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 4, &v64, 8), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 12, &v64, 16), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 2, &v32, 4), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 1, &v16, 2), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 2, v3, 3), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 4, v3, 3), 0);
	/* 5..7 bytes round up to 8, not down to 4 */
	CU_ASSERT_EQUAL(shmk_ring_read(r, 4, v7, 5), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 4, v7, 7), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 8, v7, 7), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 8, &v32, 4), 0);
	CU_ASSERT_EQUAL(v32, 8);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 16, &v16, 2), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 17, &v8, 1), 0);
	CU_ASSERT_EQUAL(v8, 'b');
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(read_align, 20, "ring.reader.read.align");

static void read_size(void)
{
	char path[256];
	static uint8_t buf[SHMK_RING_MAX_MESSAGE + 8];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);

	CU_ASSERT_EQUAL(shmk_ring_read(r, 0, buf, SHMK_RING_MAX_MESSAGE + 1), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 0, buf, SIZE_MAX), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_read(r, 0, buf, 0), -EINVAL);
	/* the largest read from the last 8-aligned index stays in the mirror */
	CU_ASSERT_EQUAL(shmk_ring_read(r, CAP64K - 8, buf, SHMK_RING_MAX_MESSAGE), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(r, UINT64_MAX - 7, buf, SHMK_RING_MAX_MESSAGE), 0);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(read_size, 20, "ring.reader.read.size");

static void first_msg_align(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 6);
	uint64_t t;
	const void *p;
	size_t n;

	CU_ASSERT_EQUAL(shmk_ring_write(w, "hello", 5), 0); /* record 0..24 */
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 24, &t, &p, &n), 0);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(memcmp(p, "hello", 5), 0);
	for (uint64_t s = 1; s < 8; s++)
		CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, s, 24, &t, &p, &n), SHMK_EALIGN);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(first_msg_align, 20, "ring.reader.first_message.align");

static void first_msg_small(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 6);
	uint64_t t;
	const void *p;
	size_t n;

	CU_ASSERT_EQUAL(shmk_ring_write(w, "", 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 15, &t, &p, &n), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 0, &t, &p, &n), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 64, 8, &t, &p, &n), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 16, &t, &p, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(first_msg_small, 20, "ring.reader.first_message.toosmall");

static void first_msg_badlen(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 6);
	uint8_t *raw = raw_map(path, &len);
	uint64_t t;
	const void *p;
	size_t n;

	CU_ASSERT_EQUAL(shmk_ring_write(w, "hello", 5), 0);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 23, &t, &p, &n), SHMK_EBADLEN);
	uint64_t *lenp = (uint64_t *)(void *)(raw + PAGE + 8);
	uint64_t lies[] = { 9, 100, SHMK_RING_MAX_PAYLOAD + 1, UINT64_MAX, UINT64_MAX - 6 };
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		*lenp = lies[i];
		CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 24, &t, &p, &n), SHMK_EBADLEN);
		CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, UINT64_MAX, &t, &p, &n),
				lies[i] <= SHMK_RING_MAX_PAYLOAD ? 0 : SHMK_EBADLEN);
	}
	shmk_ring_writer_close(w);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(first_msg_badlen, 20, "ring.reader.first_message.badlen");

/* Garbage records and indices: every answer is an error or a span inside
 * the ring + mirror. */
static void reader_bounds(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 1);
	uint8_t *raw = raw_map(path, &len);
	uint64_t t;
	const void *p;
	size_t n;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	CU_ASSERT_EQUAL(shmk_ring_write(w, "x", 1), 0);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 24, &t, &p, &n), 0);
	const uint8_t *data = (const uint8_t *)p - 16; /* the reader's ring base */
	shmk_ring_writer_close(w);

	uint64_t s = h_seed();
	int ok = 0, err = 0, oob = 0;
	for (int round = 0; round < 200; round++) {
		/* garbage everywhere: random words, with lengths near the edges */
		for (size_t i = 0; i < CAP64K; i += 8) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t v = s;
			if ((s >> 60) == 1)
				v = SHMK_RING_MAX_PAYLOAD - (s >> 40 & 15);
			if ((s >> 60) == 2)
				v = UINT64_MAX - (s >> 40 & 15);
			memcpy(raw + PAGE + i, &v, 8);
		}
		for (int k = 0; k < 200; k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t start = (s >> 3) & ~7ull, end = start + ((s >> 13) % (3 * CAP64K));
			if (k % 7 == 0)
				end = UINT64_MAX;
			int rc = shmk_ring_first_message_in(r, start, end, &t, &p, &n);
			if (rc == 0) {
				ok++;
				const uint8_t *q = p;
				if (q != data + start % CAP64K + 16 || n > SHMK_RING_MAX_PAYLOAD ||
				    q + n > data + CAP64K + SHMK_RING_MIRROR)
					oob++;
				else
					memcpy(buf, q, n); /* touch it: must not fault */
			} else {
				err++;
				CU_ASSERT(rc == SHMK_EBADLEN || rc == SHMK_ETOOSMALL);
			}
		}
		/* read_message with garbage head/tail: errors, no fault */
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		atomic_store(&raw_hdr(raw)->tail, s & ~7ull);
		atomic_store(&raw_hdr(raw)->head, (s & ~7ull) + (s >> 50));
		int rc = shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0);
		CU_ASSERT(rc == 0 || rc == SHMK_EBADLEN || rc == SHMK_ETOOSMALL ||
			  rc == SHMK_EPEERDEAD || rc == -ETIMEDOUT);
	}
	CU_ASSERT_EQUAL(oob, 0);
	CU_ASSERT(ok > 0);
	CU_ASSERT(err > 0);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(reader_bounds, 60, "ring.reader.bounds");

/* Ping-pong: the writer writes record i only after the reader consumed i-1,
 * so the reader parks on nearly every wait; a lost wake-up hangs (timeout). */
static void wait_wake(void)
{
	char path[256];
	int back[2];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	int wfd = new_writer_fd(r, 8, NULL);
	enum { N = 2000 };

	CU_ASSERT_FATAL(pipe(back) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		close(back[1]);
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		for (uint64_t i = 0; i < N; i++) {
			char c;
			if (i && read(back[0], &c, 1) != 1)
				_exit(11);
			if (shmk_ring_write(w, &i, sizeof(i)))
				_exit(12);
		}
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	close(back[0]);
	int bad = 0;
	for (uint64_t i = 0; i < N; i++) {
		uint64_t v = ~0ull, t;
		size_t n;
		/* no deadline: only the harness alarm ends a lost wake-up */
		int rc = shmk_ring_read_message(r, &t, &v, sizeof(v), &n, -1);
		if (rc || v != i || t != 8)
			bad++;
		if (i + 1 < N && write(back[1], "x", 1) != 1)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	close(back[1]);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(wait_wake, 60, "ring.reader.wait.wake+2", "ring.writer.wake");

/* ring.writer.wake: a writer in another process bumps gen and clears
 * the announcement only when the reader announced (set here through the
 * raw mapping, as a parked reader leaves it): one bump for a burst of
 * commits, none without an announcement. */
static void wake_once(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint8_t *raw = raw_map(path, &len);
	struct shmk_ring_hdr *h = raw_hdr(raw);
	int go[2], done[2];

	CU_ASSERT_FATAL(pipe(go) == 0 && pipe(done) == 0);
	int wfd = new_writer_fd(r, 3, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		char c;
		close(go[1]);
		close(done[0]);
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		/* phase 1: announced; phase 2: not announced */
		for (int phase = 0; phase < 2; phase++) {
			if (read(go[0], &c, 1) != 1)
				_exit(11);
			for (uint64_t i = 0; i < 3; i++)
				if (shmk_ring_write(w, &i, sizeof(i)))
					_exit(12);
			if (write(done[1], "d", 1) != 1)
				_exit(13);
		}
		_exit(0); /* no close: its wake would bump gen again */
	}
	close(wfd);
	close(go[0]);
	close(done[1]);
	char c;
	uint32_t g0 = atomic_load(&h->gen);
	atomic_store(&h->waiters, 1);
	CU_ASSERT_FATAL(write(go[1], "g", 1) == 1);
	CU_ASSERT_FATAL(read(done[0], &c, 1) == 1);
	CU_ASSERT_EQUAL(atomic_load(&h->waiters), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->gen), g0 + 1);
	CU_ASSERT_FATAL(write(go[1], "g", 1) == 1);
	CU_ASSERT_FATAL(read(done[0], &c, 1) == 1);
	CU_ASSERT_EQUAL(atomic_load(&h->waiters), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->gen), g0 + 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	uint64_t head;
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL(head, 6 * shmk_ring_record_len(8));
	close(go[1]);
	close(done[0]);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(wake_once, 30, "ring.writer.wake");

static void wait_timeout(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	/* no writer yet: not dead, just nothing */
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 0, 0), -ETIMEDOUT);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 0, 30 * 1000000), -ETIMEDOUT);
	struct shmk_ring_writer *w = local_writer(r, 1);
	CU_ASSERT_EQUAL(shmk_ring_write(w, "a", 1), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 0, 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 23, 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 24, 30 * 1000000), -ETIMEDOUT);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(wait_timeout, 20, "ring.reader.wait.timeout");

/* INT64_MAX must wait like "forever": the writer commits only once the
 * reader is parked (waiters == 1), so an overflowed deadline in the past
 * shows as -ETIMEDOUT (or as UBSan's signed-overflow abort). */
static void wait_huge_timeout(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	int wfd = new_writer_fd(r, 3, NULL);
	uint8_t *raw = raw_map(path, &len);

	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		while (!atomic_load(&raw_hdr(raw)->waiters))
			sched_yield(); /* the harness alarm bounds this */
		_exit(shmk_ring_write(w, "z", 1) ? 11 : 0);
	}
	close(wfd);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 0, INT64_MAX), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(wait_huge_timeout, 20, "common.wait.deadline");

static void wait_peerdead(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint64_t t;
	char buf[16];
	size_t n;

	/* a writer that is killed without closing */
	int wfd = new_writer_fd(r, 5, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		if (shmk_ring_writer_open(wfd, &w) || shmk_ring_write(w, "last", 4))
			_exit(10);
		raise(SIGKILL);
		_exit(11);
	}
	close(wfd);
	/* the record written before death is still delivered */
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, -1), 0);
	CU_ASSERT_EQUAL(n, 4);
	/* then the wait ends with the peer's death, without a deadline */
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 24, -1), SHMK_EPEERDEAD);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);

	/* a writer that closes cleanly, while the reader is parked */
	wfd = new_writer_fd(r, 6, NULL);
	pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 24, -1), SHMK_EPEERDEAD);

	/* while one writer lives, the wait is not dead */
	struct shmk_ring_writer *w = local_writer(r, 7);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 24, 20 * 1000000), -ETIMEDOUT);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(wait_peerdead, 30, "ring.reader.wait.peerdead");

static void read_message(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 12);
	uint64_t t = 0, tail;
	char buf[32];
	size_t n = 0;

	CU_ASSERT_EQUAL(shmk_ring_write(w, "0123456789abc", 13), 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, 4, &n, 0), SHMK_EBUFSMALL);
	CU_ASSERT_EQUAL(n, 13);
	CU_ASSERT_EQUAL(shmk_ring_tail(r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 13);
	CU_ASSERT_EQUAL(t, 12);
	CU_ASSERT_EQUAL(memcmp(buf, "0123456789abc", 13), 0);
	CU_ASSERT_EQUAL(shmk_ring_tail(r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 32);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), -ETIMEDOUT);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(read_message, 20, "ring.reader.read_message");

/* ---------------------------------------------------------------- writers */

/* A writer in an unrelated (re-exec'd) process gets its fd by SCM_RIGHTS. */
static void handoff(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	int peer;
	pid_t pid = spawn_writer_role(r, 0xfeed, "write", "50", "300", &peer);

	CU_ASSERT_EQUAL(read_seq(r, 0xfeed, 50, 300, 0, 300), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	close(peer);
	/* a consumed or foreign fd is refused, and closed */
	struct shmk_ring_writer *w = NULL;
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CU_ASSERT_EQUAL(write(sv[0], "junkjunkjunkjunk", 16), 16);
	CU_ASSERT_EQUAL(shmk_ring_writer_open(sv[1], &w), -EPROTO);
	CU_ASSERT_EQUAL(fcntl(sv[1], F_GETFD), -1);
	close(sv[0]);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(handoff, 30, "ring.writer.handoff");

static void peer_fd(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	int peer, go[2];
	int wfd = new_writer_fd(r, 1, &peer);

	CU_ASSERT_FATAL(pipe(go) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		char c;
		close(go[1]);
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		if (read(go[0], &c, 1) != 1)
			_exit(11);
		raise(SIGKILL); /* dies holding the writer */
		_exit(12);
	}
	close(wfd);
	close(go[0]);
	struct pollfd pf = { .fd = peer, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&pf, 1, 0), 0); /* writer alive: nothing to report */
	CU_ASSERT_EQUAL(write(go[1], "k", 1), 1);
	CU_ASSERT_EQUAL(poll(&pf, 1, (int)h_deadline(10) * 1000), 1);
	CU_ASSERT(pf.revents & POLLHUP);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);
	close(peer);
	close(go[1]);

	/* a writer that closes its handle: the same */
	wfd = new_writer_fd(r, 2, &peer);
	struct shmk_ring_writer *w;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_open(wfd, &w), 0);
	pf.fd = peer;
	CU_ASSERT_EQUAL(poll(&pf, 1, 0), 0);
	shmk_ring_writer_close(w);
	CU_ASSERT_EQUAL(poll(&pf, 1, 0), 1);
	CU_ASSERT(pf.revents & POLLHUP);
	close(peer);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(peer_fd, 30, "ring.writer.peer_fd");

/* Several writer processes at once, per-writer tags, per-writer order. */
static void multi_writer(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	enum { W = 4, N = 1500 };
	pid_t pids[W];
	uint64_t next[W] = { 0 };
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	for (int k = 0; k < W; k++) {
		int wfd = new_writer_fd(r, 100 + (uint64_t)k, NULL);
		pids[k] = fork_writer(wfd, 100 + (uint64_t)k, N, (size_t)k * 11, 97, 3000);
		close(wfd);
	}
	int bad = 0;
	for (int m = 0; m < W * N; m++) {
		uint64_t t;
		size_t n;
		int rc = shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 20ll * 1000000000);
		if (rc) {
			bad++;
			break;
		}
		if (t < 100 || t >= 100 + W) {
			bad++;
			continue;
		}
		int k = (int)(t - 100);
		uint64_t i = next[k]++;
		size_t want = ((size_t)k * 11 + i * 97) % 3001;
		if (n != want || !check(buf, n, t, i))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (int k = 0; k < W; k++) {
		CU_ASSERT_EQUAL(next[k], N);
		CU_ASSERT_EQUAL(h_wait(pids[k], h_deadline(30)), 0);
	}
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(multi_writer, 60, "ring.writer.tag", "ring.writer.lock");

static void register_writers(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint8_t *raw = raw_map(path, &len);
	struct shmk_ring_wpage *wp = (struct shmk_ring_wpage *)(void *)(raw + PAGE + CAP64K);
	struct shmk_ring_writer *ws[SHMK_RING_MAX_WRITERS];

	/* a dead writer's slot is reusable */
	int wfd = new_writer_fd(r, 1, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		raise(SIGKILL);
		_exit(11);
	}
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);
	CU_ASSERT(atomic_load(&wp->slots[0].token) != 0); /* left behind by the dead */
	CU_ASSERT_EQUAL(atomic_load(&wp->registered), 1);

	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++) {
		ws[i] = NULL;
		int fd = new_writer_fd(r, 1000 + i, NULL);
		CU_ASSERT_EQUAL(shmk_ring_writer_open(fd, &ws[i]), 0);
	}
	CU_ASSERT_EQUAL(wp->slots[0].tag, 1000); /* took the dead writer's slot */
	int fd = new_writer_fd(r, 5000, NULL);
	struct shmk_ring_writer *extra = NULL;
	CU_ASSERT_EQUAL(shmk_ring_writer_open(fd, &extra), SHMK_EBUSY);
	/* close clears the slot, so the next open fits */
	shmk_ring_writer_close(ws[7]);
	CU_ASSERT_EQUAL(atomic_load(&wp->slots[7].token), 0);
	fd = new_writer_fd(r, 5001, NULL);
	CU_ASSERT_EQUAL(shmk_ring_writer_open(fd, &ws[7]), 0);
	CU_ASSERT_EQUAL(wp->slots[7].tag, 5001);
	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++)
		shmk_ring_writer_close(ws[i]);
	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++)
		CU_ASSERT_EQUAL(atomic_load(&wp->slots[i].token), 0);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(register_writers, 30, "ring.writer.register");

/* The reader's mapping of the writers page (and the ring) is read-only: a
 * stray store through it faults instead of wedging the writers' lock. */
static void lock_readonly(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 1);
	uint64_t t;
	const void *p;
	size_t n;

	CU_ASSERT_EQUAL(shmk_ring_write(w, "x", 1), 0);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(r, 0, 24, &t, &p, &n), 0);
	/* find the reader's writers-page mapping in /proc/self/maps: the only
	 * mapping of the file at offset page + capacity */
	FILE *f = fopen("/proc/self/maps", "r");
	CU_ASSERT_FATAL(f != NULL);
	char line[512];
	int found = 0, writable = 0;
	unsigned long long want = PAGE + CAP64K;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perms[8];
		if (!strstr(line, path))
			continue;
		if (sscanf(line, "%llx-%llx %7s %llx", &lo, &hi, perms, &off) != 4)
			continue;
		if (off == want) {
			found++;
			if (perms[1] == 'w')
				writable++;
		}
	}
	fclose(f);
	/* two mappings at that offset: the reader's (read-only), the writer's */
	CU_ASSERT_EQUAL(found, 2);
	CU_ASSERT_EQUAL(writable, 1);
	shmk_ring_writer_close(w);
	/* with the writer gone, the reader's is the only one and it is r/o */
	f = fopen("/proc/self/maps", "r");
	CU_ASSERT_FATAL(f != NULL);
	found = writable = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perms[8];
		if (!strstr(line, path))
			continue;
		if (sscanf(line, "%llx-%llx %7s %llx", &lo, &hi, perms, &off) == 4 &&
		    off == want) {
			found++;
			writable += perms[1] == 'w';
		}
	}
	fclose(f);
	CU_ASSERT_EQUAL(found, 1);
	CU_ASSERT_EQUAL(writable, 0);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(lock_readonly, 20, "ring.writer.lock");

/* A writer SIGKILLed at a crash point while holding the lock: the next
 * writer recovers and the reader sees only whole records. */
static void crash_case(const char *point, const char *op, const char *count, const char *len)
{
	char path[256];
	size_t rlen;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint8_t *raw = raw_map(path, &rlen);
	int peer;

	/* one good record first, so the crash lands mid-ring */
	struct shmk_ring_writer *w0 = local_writer(r, 1);
	CU_ASSERT_EQUAL(shmk_ring_write(w0, "good", 4), 0);
	shmk_ring_writer_close(w0);

	setenv("SHMK_CRASH_AT", point, 1);
	pid_t pid = spawn_writer_role(r, 66, op, count, len, &peer);
	unsetenv("SHMK_CRASH_AT");
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 128 + SIGKILL);
	/* nothing of the dead writer was published */
	CU_ASSERT_EQUAL(atomic_load(&raw_hdr(raw)->head), 24);

	/* the next writer (another process) gets the lock and writes */
	int wfd = new_writer_fd(r, 2, NULL);
	pid = fork_writer(wfd, 2, 3, 100, 0, 100);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t t;
	char buf[256];
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(t, 1);
	for (uint64_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
		CU_ASSERT_EQUAL(t, 2);
		CU_ASSERT_EQUAL(n, 100);
		CU_ASSERT(check((uint8_t *)buf, 100, 2, i));
	}
	/* nothing more, and every writer is gone (the crashed one included) */
	CU_ASSERT_EQUAL(shmk_ring_wait(r, 24 + 3 * 120, 0), SHMK_EPEERDEAD);
	close(peer);
	munmap(raw, rlen);
	shmk_ring_close(r);
	unlink(path);
}

static void recover_locked_body(void)
{
	crash_case("ring.write.locked", "write", "5", "200");
}

static void recover_copied_body(void)
{
	crash_case("ring.write.copied", "write", "5", "200");
}

static void recover_mid_copy_body(void)
{
	crash_case("ring.write.copying", "write", "5", "1000");
}

static void reserve_crash(void)
{
	crash_case("ring.commit", "reserve", "1", "4000");
}
H_REGISTER(reserve_crash, 40, "ring.writer.reserve", "ring.writer.lock.recover");

static void lock_recover(void)
{
	isolate(recover_locked_body, 40);
	isolate(recover_copied_body, 40);
}
H_REGISTER(lock_recover, 0, "ring.writer.lock.recover");

static void publish_torn(void)
{
	isolate(recover_mid_copy_body, 40);
	isolate(recover_copied_body, 40);
}
H_REGISTER(publish_torn, 0, "ring.writer.publish");

static void lock_deadline(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	int go[2], ready[2];
	int wfd = new_writer_fd(r, 1, NULL);

	CU_ASSERT_FATAL(pipe(go) == 0 && pipe(ready) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		void *p;
		char c;
		if (shmk_ring_writer_open(wfd, &w) || shmk_ring_reserve(w, 64, &p))
			_exit(10);
		memset(p, 1, 64);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(11);
		_exit(shmk_ring_discard(w) ? 12 : 0);
	}
	close(wfd);
	char c;
	CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
	setenv("SHMK_LIVENESS_MS", "200", 1);
	struct shmk_ring_writer *w = local_writer(r, 2);
	CU_ASSERT_EQUAL(shmk_ring_write(w, "blocked", 7), SHMK_EBUSY);
	uint64_t head;
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL(head, 0);
	CU_ASSERT_EQUAL(write(go[1], "g", 1), 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	unsetenv("SHMK_LIVENESS_MS");
	/* discarded: the lock is free and head never moved */
	CU_ASSERT_EQUAL(shmk_ring_write(w, "free", 4), 0);
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL(head, 24);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(lock_deadline, 30, "ring.writer.lock.deadline");

/* A hostile reader writes impossible head/tail; a writer in another
 * process refuses with SHMK_EINTEGRITY and writes nothing. */
struct garbage {
	uint64_t head, tail;
};

static void validate(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint8_t *raw = raw_map(path, &len);
	struct shmk_ring_hdr *h = raw_hdr(raw);
	const struct garbage cases[] = {
		{ 13, 0 },			/* head not a multiple of 8 */
		{ 64, 72 },			/* tail > head */
		{ CAP64K + 8, 0 },		/* more unread than the ring holds */
		{ UINT64_MAX - 7, 8 },		/* ditto, far */
		{ 4, 4 },
	};
	memset(raw + PAGE, 0x5A, CAP64K);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		atomic_store(&h->head, cases[i].head);
		atomic_store(&h->tail, cases[i].tail);
		struct snap s = take(raw, len);
		int wfd = new_writer_fd(r, 1, NULL);
		pid_t pid = fork();
		if (pid == 0) {
			struct shmk_ring_writer *w;
			void *p;
			if (shmk_ring_writer_open(wfd, &w))
				_exit(10);
			if (shmk_ring_write(w, "evil", 4) != SHMK_EINTEGRITY)
				_exit(11);
			if (shmk_ring_reserve(w, 4, &p) != SHMK_EINTEGRITY)
				_exit(12);
			shmk_ring_writer_close(w);
			_exit(0);
		}
		close(wfd);
		CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
		CU_ASSERT(same_ring(&s, raw, len));
		CU_ASSERT_EQUAL(atomic_load(&h->head), cases[i].head);
		CU_ASSERT_EQUAL(atomic_load(&h->tail), cases[i].tail);
		free(s.bytes);
	}
	/* sane again: the writer works */
	atomic_store(&h->head, 64);
	atomic_store(&h->tail, 64);
	struct shmk_ring_writer *w = local_writer(r, 1);
	CU_ASSERT_EQUAL(shmk_ring_write(w, "ok", 2), 0);
	shmk_ring_writer_close(w);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(validate, 40, "ring.writer.validate");

static void overflow(void)
{
	char path[256];
	size_t len;
	const uint64_t top = 0ull - 64; /* 2^64 - 64 */
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, top);
	uint8_t *raw = raw_map(path, &len);
	int wfd = new_writer_fd(r, 1, NULL);

	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		uint8_t b[64] = { 0 };
		void *p;
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		/* 48 bytes: record 64, head + 64 = 2^64 wraps */
		if (shmk_ring_write(w, b, 48) != SHMK_EINTEGRITY)
			_exit(11);
		if (shmk_ring_reserve(w, 41, &p) != SHMK_EINTEGRITY)
			_exit(12);
		/* 40 bytes: record 56, head + 56 = 2^64 - 8: fits */
		fill(b, 40, 1, 0);
		if (shmk_ring_write(w, b, 40))
			_exit(13);
		/* now head = 2^64 - 8: even an empty record (16) wraps */
		if (shmk_ring_write(w, b, 0) != SHMK_EINTEGRITY)
			_exit(14);
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	uint64_t head, t;
	char buf[64];
	size_t n;
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL(head, UINT64_MAX - 7);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT(check((uint8_t *)buf, 40, 1, 0));
	/* nothing beyond that record was written */
	const uint8_t *after = raw + PAGE + (UINT64_MAX - 7) % CAP64K;
	uint8_t zero[16] = { 0 };
	CU_ASSERT_EQUAL(memcmp(after, zero, 8), 0);
	CU_ASSERT_EQUAL(memcmp(raw + PAGE, zero, 8), 0);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(overflow, 20, "ring.writer.overflow");

static void space(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint8_t *raw = raw_map(path, &len);
	int wfd = new_writer_fd(r, 1, NULL);
	int done[2];

	CU_ASSERT_FATAL(pipe(done) == 0);
	/* a child fills the ring to exactly 16 bytes short, then reports */
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		static uint8_t b[SHMK_RING_MAX_PAYLOAD];
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		fill(b, sizeof(b), 1, 0);
		/* 65536 - 16 = 65520 bytes: one record of 65504 payload */
		if (shmk_ring_write(w, b, CAP64K - 32))
			_exit(11);
		if (shmk_ring_write(w, b, 1) != SHMK_EFULL) /* needs 24, 16 free */
			_exit(12);
		if (shmk_ring_write(w, b, 0)) /* exactly 16: fits */
			_exit(13);
		if (shmk_ring_write(w, b, 0) != SHMK_EFULL)
			_exit(14);
		void *p;
		if (shmk_ring_reserve(w, 0, &p) != SHMK_EFULL)
			_exit(15);
		if (write(done[1], "f", 1) != 1)
			_exit(16);
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	char c;
	CU_ASSERT_EQUAL(read(done[0], &c, 1), 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	uint64_t head;
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL(head, CAP64K);
	/* full: another write is refused and overwrites nothing */
	struct snap s = take(raw, len);
	struct shmk_ring_writer *w = local_writer(r, 2);
	CU_ASSERT_EQUAL(shmk_ring_write(w, "more", 4), SHMK_EFULL);
	CU_ASSERT(same_ring(&s, raw, len));
	free(s.bytes);
	/* the reader frees the first record: there is room again */
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	uint64_t t;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, CAP64K - 32);
	CU_ASSERT(check(buf, n, 1, 0));
	CU_ASSERT_EQUAL(shmk_ring_write(w, "more", 4), 0);
	shmk_ring_writer_close(w);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(space, 30, "ring.writer.space");

/* Writers never store outside the ring: canaries in the header page and
 * the writers page survive wrapping writes at every offset. */
static void bounds(void)
{
	char path[256];
	size_t len;
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	uint8_t *raw = raw_map(path, &len);
	struct shmk_ring_hdr *h = raw_hdr(raw);

	memset(h->reserved0, 0xC3, sizeof(h->reserved0));
	memset(h->reserved1, 0xC3, sizeof(h->reserved1));
	memset(raw + sizeof(*h), 0xC3, PAGE - sizeof(*h));
	size_t wp_end = PAGE + CAP64K + sizeof(struct shmk_ring_wpage);
	memset(raw + wp_end, 0xC3, len - wp_end);
	int wfd = new_writer_fd(r, 1, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		static uint8_t b[SHMK_RING_MAX_PAYLOAD];
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		memset(b, 0xFF, sizeof(b));
		uint64_t tail = 0;
		for (size_t i = 0; i < 400; i++) {
			size_t n = (i * 1237) % (SHMK_RING_MAX_PAYLOAD + 1);
			int rc = shmk_ring_write(w, b, n);
			if (rc == SHMK_EFULL) {
				/* play reader: free everything (a hostile but consistent peer) */
				struct shmk_ring_hdr *hh = raw_hdr(raw);
				tail = atomic_load(&hh->head);
				atomic_store(&hh->tail, tail);
				i--;
				continue;
			}
			if (rc)
				_exit(11);
		}
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(30)), 0);
	int bad = 0;
	for (size_t i = 0; i < sizeof(h->reserved0); i++)
		bad += h->reserved0[i] != 0xC3;
	for (size_t i = 0; i < sizeof(h->reserved1); i++)
		bad += h->reserved1[i] != 0xC3;
	for (size_t i = sizeof(*h); i < PAGE; i++)
		bad += raw[i] != 0xC3;
	for (size_t i = wp_end; i < len; i++)
		bad += raw[i] != 0xC3;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(atomic_load(&h->head) > 10 * CAP64K);
	munmap(raw, len);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(bounds, 60, "ring.writer.bounds");

static void toolarge(void)
{
	char path[256];
	static uint8_t b[SHMK_RING_MAX_PAYLOAD];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 1);
	uint64_t head;
	void *p;

	struct iovec two[2] = { { b, 40000 }, { b, 25521 } };
	CU_ASSERT_EQUAL(shmk_ring_writev(w, two, 2), SHMK_ETOOLARGE);
	/* segment lengths whose sum wraps size_t */
	struct iovec wrap[2] = { { b, 16 }, { b, SIZE_MAX - 8 } };
	CU_ASSERT_EQUAL(shmk_ring_writev(w, wrap, 2), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_reserve(w, SHMK_RING_MAX_PAYLOAD + 1, &p), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_write(w, b, SIZE_MAX), SHMK_ETOOLARGE);
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL(head, 0);
	two[1].iov_len = 25520;
	CU_ASSERT_EQUAL(shmk_ring_writev(w, two, 2), 0);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(toolarge, 20, "ring.writer.toolarge");

static void iov(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);
	struct shmk_ring_writer *w = local_writer(r, 1);
	struct iovec v[9];
	char seg[9][4];

	for (int i = 0; i < 9; i++) {
		memset(seg[i], '0' + i, 4);
		v[i].iov_base = seg[i];
		v[i].iov_len = (size_t)(i % 3) + 1;
	}
	CU_ASSERT_EQUAL(shmk_ring_writev(w, v, 9), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writev(w, v, -1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writev(w, v, 8), 0);
	char buf[64];
	uint64_t t;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 15);
	CU_ASSERT_EQUAL(memcmp(buf, "011222344555677", 15), 0);
	CU_ASSERT_EQUAL(shmk_ring_writev(w, v, 0), 0); /* an empty record */
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 0);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(iov, 20, "ring.writer.iov");

static void reserve(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, CAP64K - 40);
	struct shmk_ring_writer *w = local_writer(r, 4);
	void *p, *p2;
	uint64_t head, t;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	size_t n;

	/* reserve across the wrap: one contiguous span */
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(w, 1000, &p), 0);
	CU_ASSERT_EQUAL(shmk_ring_reserve(w, 8, &p2), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_write(w, "x", 1), -EINVAL);
	fill(p, 1000, 4, 0);
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL(head, CAP64K - 40); /* not published before commit */
	CU_ASSERT_EQUAL(shmk_ring_commit(w), 0);
	CU_ASSERT_EQUAL(shmk_ring_commit(w), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 1000);
	CU_ASSERT(check(buf, 1000, 4, 0));

	/* discard: nothing published, the lock is free, the index is reused */
	shmk_ring_head(r, &head);
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(w, 32, &p), 0);
	memset(p, 0xEE, 32);
	CU_ASSERT_EQUAL(shmk_ring_discard(w), 0);
	CU_ASSERT_EQUAL(shmk_ring_discard(w), -EINVAL);
	uint64_t h2;
	shmk_ring_head(r, &h2);
	CU_ASSERT_EQUAL(h2, head);
	CU_ASSERT_EQUAL(shmk_ring_write(w, "next", 4), 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "next", 4), 0);

	/* close with a pending reservation releases the lock */
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(w, 8, &p), 0);
	shmk_ring_writer_close(w);
	w = local_writer(r, 5);
	CU_ASSERT_EQUAL(shmk_ring_write(w, "again", 5), 0);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(reserve, 20, "ring.writer.reserve");

/* ---------------------------------------------------------------- main */

/* ---------------------------------------------------------------- truncation */

static void truncated(void)
{
	char path[256];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct shmk_ring *r = mk(path, sizeof(path), 65536, 0);
	struct shmk_ring_writer *w = local_writer(r, 5);
	static uint8_t buf[512];
	uint64_t tag = 0, head = 0;
	size_t got = 0;

	CU_ASSERT_EQUAL(shmk_ring_check(r), 0);
	CU_ASSERT_EQUAL(shmk_ring_writer_check(w), 0);
	CU_ASSERT_EQUAL(shmk_ring_check(NULL), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writer_check(NULL), -EINVAL);
	/* the hot path makes no fstat at all */
	CU_ASSERT_EQUAL(shmk_fault_set("fstat:1"), 0);
	for (int i = 0; i < 2000; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_ring_write(w, buf, 100), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_ring_read_message(r, &tag, buf, sizeof(buf), &got, 0), 0);
	}
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);

	/* a peer cuts all but the header page: the wait's spin reads only
	 * the header, and the check before its first park (before the
	 * writers page is read) reports the cut */
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(path, (off_t)page), 0);
	CU_ASSERT_EQUAL(shmk_ring_head(r, &head), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, head, 120ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &tag, buf, sizeof(buf), &got,
					       120ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_ring_check(r), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_ring_writer_check(w), SHMK_ETRUNCATED);
	/* the header too: closing touches nothing */
	CU_ASSERT_EQUAL_FATAL(t_peer_truncate(path, 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_check(r), SHMK_ETRUNCATED);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(truncated, 120, "ring.truncate.check", "ring.truncate.wait", "ring.truncate.close", "ring.truncate.hot-path");

static void truncated_parked(void)
{
	char path[256];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct shmk_ring *r = mk(path, sizeof(path), 65536, 0);
	struct shmk_ring_writer *w = local_writer(r, 5);
	uint64_t head = 0;

	/* parked in wait when the peer cuts the file: the next wake-up (a
	 * slice of at most 50 ms) checks before it touches the writers page */
	pid_t pid = t_fork_truncator(path, (off_t)page);
	CU_ASSERT_EQUAL(shmk_ring_head(r, &head), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(r, head, 120ll * 1000000000), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(truncated_parked, 120, "ring.truncate.wait");

static const struct h_role roles[] = {
	{ "writer", role_writer },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	return h_main(argc, argv, "ring", NULL, roles);
}
