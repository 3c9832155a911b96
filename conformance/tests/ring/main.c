/* SPDX-License-Identifier: MIT */
/* ring tests: the helpers and roles the files share, and main(). */
#include "ring_test.h"

/* ---------------------------------------------------------------- helpers */

uint8_t pat(uint64_t tag, uint64_t i, size_t j)
{
	return (uint8_t)(tag * 31 + i * 7 + j * 13 + (j >> 8));
}

void fill(uint8_t *p, size_t n, uint64_t tag, uint64_t i)
{
	for (size_t j = 0; j < n; j++)
		p[j] = pat(tag, i, j);
}

int check(const uint8_t *p, size_t n, uint64_t tag, uint64_t i)
{
	for (size_t j = 0; j < n; j++)
		if (p[j] != pat(tag, i, j))
			return 0;
	return 1;
}

struct shmk_ring *mk(char *path, size_t plen, uint64_t cap, uint64_t init)
{
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts o = { .capacity = cap, .initial_index = init };

	h_unique_path(path, plen, "ring");
	int rc = shmk_ring_create(path, &o, &r);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return r;
}

/* Whole file mapped writable: plays the hostile peer / inspects bytes. */
uint8_t *raw_map(const char *path, size_t *len)
{
	uint8_t *p = t_raw_map(open(path, O_RDWR | O_CLOEXEC), len);

	CU_ASSERT_FATAL(p != NULL);
	return p;
}

struct shmk_ring_hdr *raw_hdr(uint8_t *raw)
{
	return (struct shmk_ring_hdr *)(void *)raw;
}

/* A writer fd plus its peer; the caller keeps the peer. */
int new_writer_fd(struct shmk_ring *r, uint64_t tag, int *peer)
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
struct shmk_ring_writer *local_writer(struct shmk_ring *r, uint64_t tag)
{
	struct shmk_ring_writer *w = NULL;
	int wfd = new_writer_fd(r, tag, NULL);
	CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_open(wfd, &w), 0);
	return w;
}

struct rfx rfx_new(uint64_t cap, uint64_t init, uint64_t tag, bool raw)
{
	struct rfx f = { .len = 0 };

	f.r = mk(f.path, sizeof(f.path), cap, init);
	f.w = tag ? local_writer(f.r, tag) : NULL;
	f.raw = raw ? raw_map(f.path, &f.len) : NULL;
	return f;
}

void rfx_close_writer(struct rfx *f)
{
	shmk_ring_writer_close(f->w);
	f->w = NULL;
}

int rfx_first(struct rfx *f, uint64_t start, uint64_t end)
{
	return shmk_ring_first_message_in(f->r, start, end, &f->tag, &f->msg, &f->n);
}

void rfx_close(struct rfx *f)
{
	rfx_close_writer(f);
	if (f->raw)
		munmap(f->raw, f->len);
	shmk_ring_close(f->r);
	unlink(f->path);
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
int read_seq(struct shmk_ring *r, uint64_t tag, uint64_t count, size_t len0, size_t step,
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

pid_t fork_writer_do(int wfd, int (*fn)(struct shmk_ring_writer *w, void *arg), void *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w = NULL;
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		int rc = fn(w, arg);
		shmk_ring_writer_close(w);
		_exit(rc);
	}
	close(wfd);
	return pid;
}

pid_t fork_writer(int wfd, uint64_t tag, uint64_t count, size_t len0, size_t step,
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


struct snap take(uint8_t *raw, size_t len)
{
	struct snap s = { malloc(len), 0 };
	CU_ASSERT_FATAL(s.bytes != NULL);
	memcpy(s.bytes, raw, len);
	s.head = atomic_load(&raw_hdr(raw)->head);
	return s;
}

/* Ring bytes unchanged (tests that snapshot use a 64 KiB ring; the header
 * and writers pages are checked apart: opening a writer changes the latter). */
int same_ring(const struct snap *s, const uint8_t *raw, size_t len)
{
	(void)len;
	return memcmp(s->bytes + PAGE, raw + PAGE, CAP64K) == 0;
}

/* ---------------------------------------------------------------- roles */

int recv_fd(int sock)
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

int send_fd(int sock, int fd)
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
int role_args(int argc, char **argv, struct role_args *a)
{
	if (argc < 5)
		return -2;
	a->sock = atoi(argv[1]);
	a->op = argv[2];
	a->count = strtoull(argv[3], NULL, 10);
	a->len = strtoul(argv[4], NULL, 10);
	int fd = recv_fd(a->sock);
	return fd < 0 ? -3 : fd;
}

static int role_writer(int argc, char **argv)
{
	struct role_args a;
	int wfd = role_args(argc, argv, &a);
	if (wfd < 0)
		return -wfd;
	close(a.sock);
	const char *op = a.op;
	uint64_t count = a.count;
	size_t len = a.len;
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
H_ROLE("writer", role_writer);

/* Starts `role` with argv <sockfd> op count len and hands it wfd (a
 * writer fd of either mode) by SCM_RIGHTS over <sockfd>; wfd stays the
 * caller's.  ctl: NULL, or gets our end of <sockfd> to talk to the role. */
pid_t spawn_role_fd(const char *role, int wfd, const char *op, const char *count,
		    const char *len, int *ctl)
{
	int sv[2];
	char fdarg[16];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]); /* sv[1] survives the exec */
	const char *args[] = { fdarg, op, count, len, NULL };
	pid_t pid = h_spawn_role(role, args);
	CU_ASSERT_FATAL(pid > 0);
	close(sv[1]);
	CU_ASSERT_EQUAL_FATAL(send_fd(sv[0], wfd), 0);
	if (ctl)
		*ctl = sv[0];
	else
		close(sv[0]);
	return pid;
}

/* Starts role "writer" and hands it a writer fd by SCM_RIGHTS. */
pid_t spawn_writer_role(struct shmk_ring *r, uint64_t tag, const char *op,
			       const char *count, const char *len, int *peer)
{
	int wfd = new_writer_fd(r, tag, peer);
	pid_t pid = spawn_role_fd("writer", wfd, op, count, len, NULL);
	close(wfd);
	return pid;
}

int main(int argc, char **argv)
{
	return h_main(argc, argv, "ring", NULL, NULL);
}
