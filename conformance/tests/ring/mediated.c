/* SPDX-License-Identifier: MIT */
/*
 * ring tests: mediated writers (ring_mediator.c).  Every writer is a
 * re-exec'd role holding only its socket end (handed over by SCM_RIGHTS);
 * the reader and the mediator thread are the test process.  The hostile
 * role speaks the wire protocol by hand and lies in one way each.
 */
#include <dirent.h>
#include <sys/syscall.h>
#include "ring_test.h"

#define HOSTILE_PRE 3	/* honest records a hostile sends before its lie */

struct med_fixture {
	char path[256];
	struct shmk_ring *r;
	struct shmk_ring_mediator *m;
};

static void med_up(struct med_fixture *f, uint64_t cap)
{
	f->r = mk(f->path, sizeof(f->path), cap, 0);
	CU_ASSERT_EQUAL_FATAL(shmk_ring_mediator_start(f->r, &f->m), 0);
}

static void med_down(struct med_fixture *f)
{
	CU_ASSERT_EQUAL(shmk_ring_mediator_stop(f->m), 0);
	shmk_ring_close(f->r);
	unlink(f->path);
}

/* A mediated writer fd handed to a role; *peer is the owner's peer fd. */
static pid_t spawn_mediated_ctl(struct med_fixture *f, const char *role, uint64_t tag,
				const char *op, const char *count, const char *len, int *peer,
				int *ctl)
{
	int wfd = -1, pfd = -1;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_mediated_new(f->m, tag, &wfd, &pfd), 0);
	pid_t pid = spawn_role_fd(role, wfd, op, count, len, ctl);
	close(wfd);
	if (peer)
		*peer = pfd;
	else
		close(pfd);
	return pid;
}

static int hung_up(int peer, int timeout_ms)
{
	struct pollfd pf = { .fd = peer, .events = POLLIN };
	return poll(&pf, 1, timeout_ms) == 1 && (pf.revents & POLLHUP);
}

static struct shmk_ring_mediator_stats med_stats(struct med_fixture *f)
{
	struct shmk_ring_mediator_stats st;
	CU_ASSERT_EQUAL(shmk_ring_mediator_stats(f->m, &st), 0);
	return st;
}

static pid_t spawn_mediated(struct med_fixture *f, const char *role, uint64_t tag,
			    const char *op, const char *count, const char *len, int *peer)
{
	return spawn_mediated_ctl(f, role, tag, op, count, len, peer, NULL);
}

/* ---------------------------------------------------------------- the hostile role */

/* One protocol message by hand: header (magic, claimed len), then n payload
 * bytes. */
static ssize_t h_send(int s, uint32_t magic, uint32_t claim, const void *p, size_t n, int flags)
{
	struct shmk_ring_mmsg h = { magic, claim };
	struct iovec v[2] = { { &h, sizeof(h) }, { (void *)(uintptr_t)p, n } };
	struct msghdr mh = { .msg_iov = v, .msg_iovlen = 2 };
	return sendmsg(s, &mh, MSG_NOSIGNAL | flags);
}

/* An honest record i (again while the ring is full): 0 or the reply's
 * code, -1 when the mediator has gone. */
static int h_honest(int s, uint64_t tag, uint64_t i, size_t len)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	struct shmk_ring_mreply rep;

	fill(buf, len, tag, i);
	do {
		if (h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len, buf, len, 0) < 0)
			return -1;
		if (recv(s, &rep, sizeof(rep), 0) != (ssize_t)sizeof(rep))
			return -1;
	} while (rep.rc == SHMK_EFULL && sched_yield() == 0);
	return rep.rc;
}

/*
 * Role "mhostile": argv = <sockfd> <mode> <count> <len>.  Sends count
 * honest records of len, then its lie (mode), then tries one more honest
 * record, which must find the socket closed.  Exit 0: behaved as expected.
 */
static int role_hostile(int argc, char **argv)
{
	static uint8_t big[SHMK_RING_MAX_PAYLOAD + 64];
	struct role_args a;
	int s = role_args(argc, argv, &a);
	if (s < 0)
		return -s;
	int sock = a.sock;
	const char *mode = a.op;
	uint64_t count = a.count;
	size_t len = a.len;
	struct { uint64_t magic, tag; } ho;
	if (recv(s, &ho, sizeof(ho), 0) != (ssize_t)sizeof(ho) || ho.magic != SHMK_RING_MHANDOFF)
		return 4;
	uint64_t tag = ho.tag, i = 0;

	if (!strcmp(mode, "burst")) {
		/* on the owner's word, count records at once; tell it; then
		 * the replies */
		char c;
		if (read(sock, &c, 1) != 1)
			return 13;
		for (; i < count; i++) {
			fill(big, len, tag, i);
			if (h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len, big, len, 0) < 0)
				return 14;
		}
		if (write(sock, "d", 1) != 1)
			return 15;
		struct shmk_ring_mreply rep;
		for (i = 0; i < count; i++)
			if (recv(s, &rep, sizeof(rep), 0) != (ssize_t)sizeof(rep) || rep.rc)
				return 16;
		return 0;
	}
	if (!strcmp(mode, "pipeline")) {
		/* count connections (the first is s, the rest come over sock),
		 * each: 16 records sent at once, no reply read, closed */
		for (uint64_t r = 0; r < count; r++) {
			if (r && ((s = recv_fd(sock)) < 0 || recv(s, &ho, sizeof(ho), 0) != (ssize_t)sizeof(ho)))
				return 18;
			for (i = 0; i < 16; i++) {
				fill(big, len, ho.tag, i);
				if (h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len, big, len, 0) < 0)
					return 19;
			}
			close(s);
		}
		return 0;
	}
	if (!strcmp(mode, "zerodata") || !strcmp(mode, "fatal")) {
		/* count records answered one by one; on the owner's word (it
		 * holds the mediator behind a direct writer's lock, or broke
		 * its epoll) the mode's sequence, then exit: closes s */
		for (; i < count; i++)
			if (h_honest(s, tag, i, len) != 0)
				return 17;
		char c = 'r';
		if (write(sock, &c, 1) != 1 || read(sock, &c, 1) != 1)
			return 13;
		if (!strcmp(mode, "fatal")) {
			/* answered; then the mediator hangs up on us (a thread
			 * that ended silently would not: the poll's deadline) */
			struct pollfd pf = { .fd = s, .events = POLLRDHUP };
			return h_honest(s, tag, i, len) == 0 &&
					       poll(&pf, 1, (int)h_deadline(10) * 1000) == 1 &&
					       h_honest(s, tag, i + 1, len) == -1
				       ? 0 : 20;
		}
		for (int j = 0; j < 8; j++, i++) {
			fill(big, len, tag, i);
			if (h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len, big, len, 0) < 0)
				return 14;
			/* zerodata: a zero-length lie after the first; what
			 * follows it must not go in */
			if (j == 0 && !strcmp(mode, "zerodata") && send(s, "", 0, MSG_NOSIGNAL) != 0)
				return 15;
		}
		return 0;
	}
	if (!strcmp(mode, "flood")) {
		/* pipelined and non-blocking, until killed: replies read as they come */
		uint8_t rep[sizeof(struct shmk_ring_mreply) * 16];
		for (;;) {
			fill(big, len, tag, i);
			memcpy(big, &i, sizeof(i));
			if (h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len, big, len, MSG_DONTWAIT) >= 0)
				i++;
			while (recv(s, rep, sizeof(rep), MSG_DONTWAIT) > 0)
				;
		}
	}
	for (; i < count; i++)
		if (h_honest(s, tag, i, len) != 0)
			return 5;
	int pfd[2] = { -1, -1 };
	ssize_t k = 0;
	if (!strcmp(mode, "short")) {
		k = send(s, "abcd", 4, MSG_NOSIGNAL);
	} else if (!strcmp(mode, "zero")) {
		k = send(s, "", 0, MSG_NOSIGNAL);
	} else if (!strcmp(mode, "badmagic")) {
		k = h_send(s, 0x12345678u, (uint32_t)len, big, len, 0);
	} else if (!strcmp(mode, "badlen")) {
		k = h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len + 8, big, len, 0);
	} else if (!strcmp(mode, "shortlen")) {
		k = h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len - 8, big, len, 0);
	} else if (!strcmp(mode, "oversized")) {
		k = h_send(s, SHMK_RING_MMSG_MAGIC, SHMK_RING_MAX_PAYLOAD + 1, big,
			   SHMK_RING_MAX_PAYLOAD + 1, 0);
	} else if (!strcmp(mode, "scm")) {
		/* a valid record carrying the write end of a pipe we watch */
		if (pipe(pfd))
			return 6;
		struct shmk_ring_mmsg h = { SHMK_RING_MMSG_MAGIC, (uint32_t)len };
		struct iovec v[2] = { { &h, sizeof(h) }, { big, len } };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		memset(&u, 0, sizeof(u));
		struct msghdr mh = { .msg_iov = v, .msg_iovlen = 2, .msg_control = u.buf,
				     .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pfd[1], sizeof(int));
		k = sendmsg(s, &mh, MSG_NOSIGNAL);
		close(pfd[1]);
#ifdef SO_PASSRIGHTS
		/* the mediator's end refuses descriptors: nothing was sent */
		if (k < 0 && errno == EPERM)
			return 0;
#endif
	} else if (!strcmp(mode, "forge")) {
		/* payload that looks like a record of another writer's tag, then a
		 * record whose reply we never read (closing mid-exchange) */
		for (int j = 0; j < 2; j++, i++) {
			fill(big, len, tag, i);
			uint64_t fake[2] = { 0x1000, 8 };
			memcpy(big, fake, sizeof(fake));
			k = h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len, big, len, 0);
			if (j == 0) {
				struct shmk_ring_mreply rep;
				if (recv(s, &rep, sizeof(rep), 0) != (ssize_t)sizeof(rep) || rep.rc)
					return 7;
			}
		}
		return k < 0 ? 8 : 0;
	} else if (!strcmp(mode, "noreply")) {
		/* never reads a reply: only this writer stalls; tells the
		 * owner (when it listens) how many it sent */
		for (; i < count + 2000; i++) {
			fill(big, len, tag, i);
			if (h_send(s, SHMK_RING_MMSG_MAGIC, (uint32_t)len, big, len, MSG_DONTWAIT) >= 0)
				continue;
			/* full: the mediator is slower, or has stopped reading us
			 * (no room for 200 ms) */
			struct pollfd pf = { .fd = s, .events = POLLOUT };
			if (errno != EAGAIN || poll(&pf, 1, 200) != 1)
				break;
			i--;
		}
		(void)send(sock, &i, sizeof(i), MSG_NOSIGNAL);
		pause();
		return 0;
	} else if (!strcmp(mode, "stop")) {
		raise(SIGSTOP);
		pause();
		return 0;
	} else {
		return 9;
	}
	if (k < 0)
		return 10;
	/* disconnected: the next record gets no reply */
	if (h_honest(s, tag, i, len) != -1)
		return 11;
	if (pfd[0] >= 0) {
		/* the mediator closed the descriptor we sent: the pipe reads EOF */
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		if (poll(&pf, 1, (int)h_deadline(10) * 1000) != 1 || read(pfd[0], big, 1) != 0)
			return 12;
	}
	return 0;
}
H_ROLE("mhostile", role_hostile);

/* ---------------------------------------------------------------- hostile writers */

struct source {
	const char *mode;	/* NULL: an honest "writer" role */
	uint64_t tag;
	uint64_t count;		/* records it sends honestly */
	size_t len;
	uint64_t next;		/* records read so far */
	pid_t pid;
	int peer;
	int lies;		/* disconnected for its lie */
};

/* Checks one record against its source: the writer's tag bound by the
 * mediator, the payload it sent intact, in order.  forge's first 16 bytes
 * look like a record header of tag 0x1000 and stay payload. */
static int record_ok(struct source *s, const uint8_t *buf, size_t n)
{
	uint64_t i = s->next++;
	if (n != s->len)
		return 0;
	if (s->mode && !strcmp(s->mode, "forge")) {
		for (size_t j = 16; j < n; j++)
			if (buf[j] != pat(s->tag, i, j))
				return 0;
		return 1;
	}
	return check(buf, n, s->tag, i);
}

static struct source *by_tag(struct source *src, int ns, uint64_t tag)
{
	for (int k = 0; k < ns; k++)
		if (src[k].tag == tag)
			return &src[k];
	return NULL;
}

/* One record into its source's check: 0, or read_message's code. */
static int take_one(struct med_fixture *f, struct source *src, int ns, int64_t timeout,
		    uint64_t *bytes, int *bad)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	uint64_t t;
	size_t n;
	int rc = shmk_ring_read_message(f->r, &t, buf, sizeof(buf), &n, timeout);
	if (rc)
		return rc;
	struct source *s = by_tag(src, ns, t);
	if (!s || !record_ok(s, buf, n))
		(*bad)++;
	*bytes += shmk_ring_record_len(n);
	return 0;
}

static void hostile_writers(void)
{
	struct med_fixture f;
	struct source src[] = {
		{ NULL, 0xA1, 2000, 100, 0, 0, -1, 0 },
		{ NULL, 0xA2, 1000, 1000, 0, 0, -1, 0 },
		{ "short", 0xB1, HOSTILE_PRE, 64, 0, 0, -1, 1 },
		{ "zero", 0xB2, HOSTILE_PRE, 64, 0, 0, -1, 1 },
		{ "badmagic", 0xB3, HOSTILE_PRE, 64, 0, 0, -1, 1 },
		{ "badlen", 0xB4, HOSTILE_PRE, 64, 0, 0, -1, 1 },
		{ "shortlen", 0xB5, HOSTILE_PRE, 64, 0, 0, -1, 1 },
		{ "oversized", 0xB6, HOSTILE_PRE, 64, 0, 0, -1, 1 },
		{ "scm", 0xB7, HOSTILE_PRE, 64, 0, 0, -1, 1 },
		{ "forge", 0xB8, HOSTILE_PRE, 64, 0, 0, -1, 0 },
		{ "noreply", 0xB9, HOSTILE_PRE, 64, 0, 0, -1, 0 },
		{ "stop", 0xBA, HOSTILE_PRE, 64, 0, 0, -1, 0 },
	};
	enum { NS = sizeof(src) / sizeof(src[0]) };
	char cnt[NS][24], len[NS][24];

	/* Room for everything every source can send (about 1.4 MB: 2000 x
	 * 120 + 1000 x 1016 bytes of honest records, noreply's up to 2003 x
	 * 80, the hostiles' few), so no append is ever refused for space: a
	 * refused record of forge's (reply unread) or noreply's (replies
	 * never read) would be a gap the checks below call lost, and a
	 * loaded machine, where this reader falls behind, made 64 KiB fill. */
	med_up(&f, 32 * CAP64K);
	for (int k = 0; k < NS; k++) {
		snprintf(cnt[k], sizeof(cnt[k]), "%llu", (unsigned long long)src[k].count);
		snprintf(len[k], sizeof(len[k]), "%zu", src[k].len);
		src[k].pid = spawn_mediated(&f, src[k].mode ? "mhostile" : "writer", src[k].tag,
					    src[k].mode ? src[k].mode : "write", cnt[k], len[k],
					    &src[k].peer);
	}
	/* Read until the honest writers are through, then until every
	 * hostile that ends by itself has ended, then what is left. */
	uint64_t bytes = 0;
	int bad = 0, rc = 0;
	while (!rc && (src[0].next < src[0].count || src[1].next < src[1].count))
		rc = take_one(&f, src, NS, 20ll * 1000000000, &bytes, &bad);
	CU_ASSERT_EQUAL(rc, 0);
	for (int k = 0; k < NS; k++)
		if (!src[k].mode || (strcmp(src[k].mode, "noreply") && strcmp(src[k].mode, "stop"))) {
			CU_ASSERT_EQUAL(h_wait(src[k].pid, h_deadline(20)), 0);
		}
	while (take_one(&f, src, NS, 0, &bytes, &bad) == 0)
		;
	/* every record came from a bound tag, intact and in order; no head
	 * movement but the records read */
	CU_ASSERT_EQUAL(bad, 0);
	uint64_t head;
	CU_ASSERT_EQUAL(shmk_ring_head(f.r, &head), 0);
	CU_ASSERT_EQUAL(head, bytes);
	for (int k = 0; k < NS; k++) {
		const char *mo = src[k].mode;
		if (!mo) {
			CU_ASSERT_EQUAL(src[k].next, src[k].count);
		} else if (!strcmp(mo, "forge")) {
			CU_ASSERT_EQUAL(src[k].next, HOSTILE_PRE + 2);
		} else if (!strcmp(mo, "noreply")) {
			/* stalled, not in the way (noreply_stalls counts exactly) */
			CU_ASSERT(src[k].next >= HOSTILE_PRE && src[k].next < HOSTILE_PRE + 2000);
		} else {
			CU_ASSERT_EQUAL(src[k].next, HOSTILE_PRE);
		}
		/* gone writers hang up their peer fd; the stalled ones do not */
		int live = mo && (!strcmp(mo, "noreply") || !strcmp(mo, "stop"));
		CU_ASSERT_EQUAL(hung_up(src[k].peer, live ? 0 : (int)h_deadline(10) * 1000), !live);
	}
	struct shmk_ring_mediator_stats st = med_stats(&f);
	CU_ASSERT_EQUAL(st.short_msgs, 2);
	CU_ASSERT_EQUAL(st.bad_header, 3);
	CU_ASSERT_EQUAL(st.oversized, 1);
#ifdef SO_PASSRIGHTS
	CU_ASSERT_EQUAL(st.ancillary, 0);	/* refused by the kernel (validate.fds) */
#else
	CU_ASSERT_EQUAL(st.ancillary, 1);
#endif
	CU_ASSERT_EQUAL(st.connected, 2);
	/* with the stalled writer's replies piled up, a newcomer is served */
	pid_t late = spawn_mediated(&f, "writer", 0xA3, "write", "100", "50", NULL);
	CU_ASSERT_EQUAL(read_seq(f.r, 0xA3, 100, 50, 0, 50), 0);
	CU_ASSERT_EQUAL(h_wait(late, h_deadline(20)), 0);
	/* the stalled and the stopped writer: killed, seen gone */
	for (int k = NS - 2; k < NS; k++) {
		kill(src[k].pid, SIGKILL);
		CU_ASSERT_EQUAL(h_wait(src[k].pid, h_deadline(10)), 128 + SIGKILL);
		CU_ASSERT(hung_up(src[k].peer, (int)h_deadline(10) * 1000));
	}
	for (int k = 0; k < NS; k++)
		close(src[k].peer);
	med_down(&f);
}
H_REGISTER(hostile_writers, 120, "ring.mediated.mode", "ring.mediated.validate+2",
	   "ring.mediated.validate.fds", "ring.mediated.lies", "ring.mediated.fair+2");

/* ---------------------------------------------------------------- fairness */

static void fairness(void)
{
	struct med_fixture f;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	enum { N = 2000 };
	int fpeer, hpeer;

	med_up(&f, 16 * CAP64K);
	pid_t fl = spawn_mediated(&f, "mhostile", 0xF1, "flood", "0", "512", &fpeer);
	/* the flood is under way before the honest writer starts */
	uint64_t flooded = 0, after = 0, t;
	size_t n;
	while (flooded < 64) {
		CU_ASSERT_EQUAL_FATAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n,
							     20ll * 1000000000), 0);
		flooded += t == 0xF1;
	}
	pid_t hw = spawn_mediated(&f, "writer", 0xF2, "write", "2000", "64", &hpeer);
	uint64_t next = 0, last = 0;
	int bad = 0;
	while (next < N) {
		int rc = shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 20ll * 1000000000);
		if (rc) {
			CU_FAIL("the honest writer's records stopped arriving");
			break;
		}
		if (t == 0xF2) {
			if (n != 64 || !check(buf, n, t, next))
				bad++;
			next++;
		} else if (t == 0xF1) {
			uint64_t i;
			memcpy(&i, buf, sizeof(i));
			if (n != 512 || (flooded && i < last))
				bad++;
			last = i;
			flooded++;
		} else {
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(next, N);
	CU_ASSERT_EQUAL(h_wait(hw, h_deadline(30)), 0);
	/* and the flood goes on: the mediator is still serving it */
	while (after < 64 &&
	       shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 20ll * 1000000000) == 0)
		after += t == 0xF1;
	CU_ASSERT_EQUAL(after, 64);
	/* (the batch bound itself: round_robin) */
	CU_ASSERT_EQUAL(med_stats(&f).connected, 1);
	kill(fl, SIGKILL);
	CU_ASSERT_EQUAL(h_wait(fl, h_deadline(10)), 128 + SIGKILL);
	CU_ASSERT(hung_up(fpeer, (int)h_deadline(10) * 1000));
	CU_ASSERT(hung_up(hpeer, (int)h_deadline(10) * 1000));
	close(fpeer);
	close(hpeer);
	med_down(&f);
}
H_REGISTER(fairness, 120, "ring.mediated.fair+2");

/* Two writers whose sockets are both full before the mediator may go on
 * (a direct writer in this process holds the lock with a reservation):
 * their records alternate in runs of at most a turn's batch. */
static void round_robin(void)
{
	struct med_fixture f;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	enum { NA = 48, NB = 128 };
	int ca, cb;

	setenv("SHMK_LIVENESS_MS", "600000", 1); /* the mediator waits for our lock */
	med_up(&f, 16 * CAP64K);
	struct shmk_ring_writer *w = local_writer(f.r, 0xEE);
	pid_t a = spawn_mediated_ctl(&f, "mhostile", 0xCA, "burst", "48", "256", NULL, &ca);
	pid_t b = spawn_mediated_ctl(&f, "mhostile", 0xCB, "burst", "128", "256", NULL, &cb);
	void *p;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(w, 8, &p), 0);
	char c;
	CU_ASSERT_EQUAL(write(ca, "g", 1), 1);
	CU_ASSERT_EQUAL(write(cb, "g", 1), 1);
	CU_ASSERT_EQUAL(read(ca, &c, 1), 1);
	CU_ASSERT_EQUAL(read(cb, &c, 1), 1);
	CU_ASSERT_EQUAL(shmk_ring_discard(w), 0);
	uint64_t next[2] = { 0, 0 }, last = 0;
	unsigned run = 0, max_run = 0;
	int bad = 0;
	while (next[0] < NA && next[1] < NB) {
		uint64_t t;
		size_t n;
		if (shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 20ll * 1000000000)) {
			bad++;
			break;
		}
		if (t != 0xCA && t != 0xCB) {
			bad++;
			continue;
		}
		int k = t == 0xCB;
		if (n != 256 || !check(buf, n, t, next[k]++))
			bad++;
		run = t == last ? run + 1 : 1;
		last = t;
		if (run > max_run)
			max_run = run;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* a turn serves each ready socket at most max_batch; where the epoll
	 * order turns round, two turns of one socket meet */
	CU_ASSERT(max_run >= 1 && max_run <= 2 * 8);	/* the clause's 8, not the stats' */
	CU_ASSERT_EQUAL(h_wait(a, h_deadline(20)), 0);
	CU_ASSERT_EQUAL(h_wait(b, h_deadline(20)), 0);
	close(ca);
	close(cb);
	shmk_ring_writer_close(w);
	med_down(&f);
}
H_REGISTER(round_robin, 60, "ring.mediated.fair+2");

/* ---------------------------------------------------------------- status */

/*
 * Role "mstatus": argv = <sockfd> <fill-count> <len> <unused>.  On a
 * mediated handle: fill-count writes succeed, the next gets SHMK_EFULL from
 * the mediator; an oversized write SHMK_ETOOLARGE; reserve, commit and
 * discard -EOPNOTSUPP;
 * then, once the owner stopped the mediator, SHMK_EPEERDEAD.
 */
static int role_status(int argc, char **argv)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD + 1];
	if (argc < 4)
		return 2;
	int sock = atoi(argv[1]);
	uint64_t fillc = strtoull(argv[2], NULL, 10);
	size_t len = strtoul(argv[3], NULL, 10);
	int wfd = recv_fd(sock);
	if (wfd < 0)
		return 3;
	struct shmk_ring_writer *w = NULL;
	if (shmk_ring_writer_open(wfd, &w))
		return 4;
	for (uint64_t i = 0; i < fillc; i++) {
		fill(buf, len, 0x5, i);
		if (shmk_ring_write(w, buf, len) != 0)
			return 5;
	}
	if (shmk_ring_write(w, buf, len) != SHMK_EFULL)
		return 6;
	if (shmk_ring_write(w, buf, SHMK_RING_MAX_PAYLOAD + 1) != SHMK_ETOOLARGE)
		return 7;
	void *p;
	if (shmk_ring_reserve(w, 8, &p) != -EOPNOTSUPP || shmk_ring_commit(w) != -EOPNOTSUPP ||
	    shmk_ring_discard(w) != -EOPNOTSUPP || shmk_ring_writer_check(w) != 0)
		return 8;
	/* tell the owner, then wait for it to stop the mediator */
	char c = 's';
	if (write(sock, &c, 1) != 1 || read(sock, &c, 1) != 1)
		return 9;
	if (shmk_ring_write(w, buf, len) != SHMK_EPEERDEAD)
		return 10;
	shmk_ring_writer_close(w);
	return 0;
}
H_ROLE("mstatus", role_status);

static void status(void)
{
	struct med_fixture f;
	int wfd, peer, sv[2];
	char fdarg[16], fillc[24];

	med_up(&f, CAP64K);
	size_t len = 1000;
	snprintf(fillc, sizeof(fillc), "%llu",
		 (unsigned long long)(CAP64K / shmk_ring_record_len(len)));
	CU_ASSERT_EQUAL_FATAL(shmk_ring_mediated_new(f.m, 0x5, &wfd, &peer), 0);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	const char *args[] = { fdarg, fillc, "1000", NULL };
	pid_t pid = h_spawn_role("mstatus", args);
	CU_ASSERT_FATAL(pid > 0);
	close(sv[1]);
	CU_ASSERT_EQUAL_FATAL(send_fd(sv[0], wfd), 0);
	close(wfd);
	char c;
	CU_ASSERT_EQUAL(read(sv[0], &c, 1), 1);
	struct shmk_ring_mediator_stats st = med_stats(&f);
	CU_ASSERT_EQUAL(st.refused, 1);
	CU_ASSERT_EQUAL(st.records, CAP64K / shmk_ring_record_len(len));
	/* stopping the mediator disconnects the writer: its peer fd hangs up */
	CU_ASSERT_EQUAL(shmk_ring_mediator_stop(f.m), 0);
	CU_ASSERT(hung_up(peer, 0));
	CU_ASSERT_EQUAL(write(sv[0], "g", 1), 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	/* everything the writer was told went in is there */
	CU_ASSERT_EQUAL(read_seq(f.r, 0x5, CAP64K / shmk_ring_record_len(len), len, 0, len), 0);
	close(sv[0]);
	close(peer);
	shmk_ring_close(f.r);
	unlink(f.path);
}
H_REGISTER(status, 60, "ring.mediated.status+2");

/* ---------------------------------------------------------------- liveness */

static void liveness(void)
{
	struct med_fixture f;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	uint64_t t;
	size_t n;
	int peer;

	med_up(&f, CAP64K);
	/* a writer that dies in the middle of its stream (stopped first, so its
	 * records are all in before the kill) */
	pid_t pid = spawn_mediated(&f, "mhostile", 0x71, "stop", "10", "200", &peer);
	CU_ASSERT_EQUAL(read_seq(f.r, 0x71, 10, 200, 0, 200), 0);
	CU_ASSERT_FALSE(hung_up(peer, 0));
	CU_ASSERT_EQUAL(med_stats(&f).connected, 1);
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);
	CU_ASSERT(hung_up(peer, (int)h_deadline(10) * 1000));
	close(peer);
	struct shmk_ring_mediator_stats st = med_stats(&f);
	CU_ASSERT_EQUAL(st.hangups, 1);
	CU_ASSERT_EQUAL(st.connected, 0);

	/* one that writes and closes its handle */
	pid = spawn_mediated(&f, "writer", 0x72, "write", "20", "300", &peer);
	CU_ASSERT_EQUAL(read_seq(f.r, 0x72, 20, 300, 0, 300), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT(hung_up(peer, (int)h_deadline(10) * 1000));
	close(peer);
	/* no writer left: the reader's wait says so (ring.mediated.peerdead) */
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), SHMK_EPEERDEAD);
	st = med_stats(&f);
	CU_ASSERT_EQUAL(st.hangups, 2);
	CU_ASSERT_EQUAL(st.records, 30);
	med_down(&f);
}
H_REGISTER(liveness, 60, "ring.mediated.liveness");

/* The reader's wait: not dead before any writer came, dead once the last
 * mediated writer (and no direct one) is gone. */
static void peerdead(void)
{
	struct med_fixture f;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	uint64_t t;
	size_t n;

	med_up(&f, CAP64K);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 0, 20 * 1000000), -ETIMEDOUT);
	int p1, p2;
	pid_t a = spawn_mediated(&f, "mhostile", 0x81, "stop", "1", "8", &p1);
	pid_t b = spawn_mediated(&f, "mhostile", 0x82, "stop", "1", "8", &p2);
	for (int k = 0; k < 2; k++)
		CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n,
						       20ll * 1000000000), 0);
	kill(a, SIGKILL);
	CU_ASSERT(hung_up(p1, (int)h_deadline(10) * 1000));
	/* one left: still waiting */
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 48, 20 * 1000000), -ETIMEDOUT);
	kill(b, SIGKILL);
	CU_ASSERT(hung_up(p2, (int)h_deadline(10) * 1000));
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 48, -1), SHMK_EPEERDEAD);
	CU_ASSERT_EQUAL(h_wait(a, h_deadline(10)), 128 + SIGKILL);
	CU_ASSERT_EQUAL(h_wait(b, h_deadline(10)), 128 + SIGKILL);
	close(p1);
	close(p2);
	med_down(&f);
}
H_REGISTER(peerdead, 60, "ring.mediated.peerdead");

/* ---------------------------------------------------------------- run model, mixed */

static int task_count(void)
{
	char p[64];
	int k = 0;
	snprintf(p, sizeof(p), "/proc/%d/task", (int)getpid());
	DIR *d = opendir(p);
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		k += e->d_name[0] != '.';
	closedir(d);
	return k;
}

/* One thread per mediator, started and stopped by the owner; the reader,
 * parked on its futex with no deadline, is woken by a mediated record. */
static void thread_model(void)
{
	struct med_fixture f;
	char buf[64];
	uint64_t t;
	size_t n;

	f.r = mk(f.path, sizeof(f.path), CAP64K, 0);
	int before = task_count();
	CU_ASSERT_EQUAL_FATAL(shmk_ring_mediator_start(f.r, &f.m), 0);
	CU_ASSERT_EQUAL(task_count(), before + 1);
	struct shmk_ring_mediator *m2 = NULL;
	CU_ASSERT_EQUAL(shmk_ring_mediator_start(f.r, &m2), SHMK_EBUSY);
	pid_t pid = spawn_mediated(&f, "writer", 0x91, "write", "1", "40", NULL);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, -1), 0);
	CU_ASSERT_EQUAL(t, 0x91);
	CU_ASSERT(n == 40 && check((uint8_t *)buf, n, 0x91, 0));
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	/* no close under a running mediator: refused, the handle still works
	 * (ASan would see the freed ring if close had gone on) */
	CU_ASSERT_EQUAL(shmk_ring_close(f.r), SHMK_EBUSY);
	pid = spawn_mediated(&f, "writer", 0x91, "write", "1", "40", NULL);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, -1), 0);
	CU_ASSERT(t == 0x91 && n == 40 && check((uint8_t *)buf, n, 0x91, 0));
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT_EQUAL(shmk_ring_mediator_stop(f.m), 0);
	CU_ASSERT_EQUAL(task_count(), before);
	CU_ASSERT_EQUAL(shmk_ring_close(f.r), 0);
	unlink(f.path);
}
H_REGISTER(thread_model, 30, "ring.mediated.thread", "ring.mediated.close");

/* A direct and two mediated writers on one ring: records interleave whole. */
static void mixed(void)
{
	struct med_fixture f;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	enum { N = 1500 };
	uint64_t next[3] = { 0 };

	med_up(&f, CAP64K);
	pid_t p[3];
	p[0] = spawn_writer_role(f.r, 0xD0, "write", "1500", "700", NULL);
	p[1] = spawn_mediated(&f, "writer", 0xD1, "write", "1500", "300", NULL);
	p[2] = spawn_mediated(&f, "writer", 0xD2, "write", "1500", "1200", NULL);
	const size_t lens[3] = { 700, 300, 1200 };
	int bad = 0;
	for (int k = 0; k < 3 * N; k++) {
		uint64_t t;
		size_t n;
		if (shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 20ll * 1000000000)) {
			bad++;
			break;
		}
		if (t < 0xD0 || t > 0xD2) {
			bad++;
			continue;
		}
		int w = (int)(t - 0xD0);
		if (n != lens[w] || !check(buf, n, t, next[w]++))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (int k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL(next[k], N);
		CU_ASSERT_EQUAL(h_wait(p[k], h_deadline(30)), 0);
	}
	med_down(&f);
}
H_REGISTER(mixed, 90, "ring.mediated.mixed");

/* ---------------------------------------------------------------- held behind a direct writer */

/*
 * Role mhostile in `mode` ("zerodata") sends `count` records one by one,
 * then its sequence while this process holds the writers' lock with a
 * reservation, so the mediator sits in its first append and everything
 * after queues up; the role exits (closing its socket) before the lock is
 * given back.  The records read back afterwards, and the stats.
 */
static struct shmk_ring_mediator_stats held_run(struct med_fixture *f, const char *mode,
						uint64_t tag, uint64_t count, uint64_t expect)
{
	char cnt[24];
	int ctl, peer;
	char c;

	setenv("SHMK_LIVENESS_MS", "600000", 1); /* the mediator waits for our lock */
	med_up(f, CAP64K);
	struct shmk_ring_writer *w = local_writer(f->r, 0xEE);
	snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)count);
	pid_t pid = spawn_mediated_ctl(f, "mhostile", tag, mode, cnt, "256", &peer, &ctl);
	CU_ASSERT_EQUAL(read(ctl, &c, 1), 1);
	void *p;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(w, 8, &p), 0);
	CU_ASSERT_EQUAL(write(ctl, "g", 1), 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT_EQUAL(shmk_ring_discard(w), 0);
	shmk_ring_writer_close(w);
	CU_ASSERT(hung_up(peer, (int)h_deadline(10) * 1000));
	/* exactly `expect` records, in order, and then nothing */
	CU_ASSERT_EQUAL(read_seq(f->r, tag, expect, 256, 0, 256), 0);
	uint64_t t;
	size_t n;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	CU_ASSERT_EQUAL(shmk_ring_read_message(f->r, &t, buf, sizeof(buf), &n, 0), SHMK_EPEERDEAD);
	close(ctl);
	close(peer);
	struct shmk_ring_mediator_stats st = med_stats(f);
	med_down(f);
	return st;
}

/* Writers that each pipeline 16 records and close without reading a
 * reply, 20 times: a close with replies unread makes the mediator's next
 * receive or send say ECONNRESET once; all 320 records go in, each
 * writer's in order. */
static void pipelined_close(void)
{
	struct med_fixture f;
	enum { R = 20, PER = 16 };
	int ctl, peer[R];
	uint64_t next[R] = { 0 };
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	med_up(&f, 16 * CAP64K); /* 320 records of 256 bytes: never full */
	pid_t pid = spawn_mediated_ctl(&f, "mhostile", 0x6100, "pipeline", "20", "256", &peer[0],
				       &ctl);
	for (int r = 1; r < R; r++) {
		int wfd;
		CU_ASSERT_EQUAL_FATAL(shmk_ring_mediated_new(f.m, 0x6100 + (uint64_t)r, &wfd,
							     &peer[r]), 0);
		CU_ASSERT_EQUAL_FATAL(send_fd(ctl, wfd), 0);
		close(wfd);
	}
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	int bad = 0;
	for (int k = 0; k < R * PER; k++) {
		uint64_t t;
		size_t n;
		int rc = shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 20ll * 1000000000);
		if (rc || t < 0x6100 || t >= 0x6100 + R) {
			CU_FAIL("a pipelined record is missing or foreign");
			break;
		}
		uint64_t *q = &next[t - 0x6100];
		bad += n != 256 || !check(buf, n, t, (*q)++);
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (int r = 0; r < R; r++) {
		CU_ASSERT(hung_up(peer[r], (int)h_deadline(10) * 1000));
		close(peer[r]);
	}
	struct shmk_ring_mediator_stats st = med_stats(&f);
	CU_ASSERT_EQUAL(st.records, R * PER);
	CU_ASSERT_EQUAL(st.hangups, R);
	close(ctl);
	med_down(&f);
}
H_REGISTER(pipelined_close, 60, "ring.mediated.liveness");

/* A zero-length message, then a record, then the close: a lie (what
 * follows it does not go in), not a hang-up. */
static void zero_then_data(void)
{
	struct med_fixture f;
	struct shmk_ring_mediator_stats st = held_run(&f, "zerodata", 0x62, 2, 2 + 1);
	CU_ASSERT_EQUAL(st.records, 3);
	CU_ASSERT_EQUAL(st.short_msgs, 1);
	CU_ASSERT_EQUAL(st.hangups, 0);
}
H_REGISTER(zero_then_data, 60, "ring.mediated.validate+2", "ring.mediated.lies");

/* ---------------------------------------------------------------- the owner's calls */

/* 1 once a thread of this process other than the caller is in system
 * call nr1 or nr2 (/proc/self/task/<tid>/syscall), 0 at the deadline. */
static int other_thread_in(long nr1, long nr2, unsigned deadline_s)
{
	double until = t_now() + deadline_s;
	pid_t self = (pid_t)syscall(SYS_gettid);

	while (t_now() < until) {
		DIR *d = opendir("/proc/self/task");
		if (!d)
			return 0;
		int found = 0;
		for (struct dirent *e; !found && (e = readdir(d));) {
			if (e->d_name[0] == '.' || atoi(e->d_name) == self)
				continue;
			char p[300];
			long nr = -1;
			snprintf(p, sizeof(p), "/proc/self/task/%s/syscall", e->d_name);
			FILE *fp = fopen(p, "r");
			if (fp) {
				found = fscanf(fp, "%ld", &nr) == 1 && (nr == nr1 || nr == nr2);
				fclose(fp);
			}
		}
		closedir(d);
		if (found)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* The mediator waits in an append for a direct writer's lock (ours); the
 * owner's stats and mediated_new still answer at once.  (Holding the
 * connection lock through a turn, they waited for our own lock: a
 * deadlock the deadline reports.) */
static void owner_calls(void)
{
	struct med_fixture f;
	int peer, wfd2, peer2;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	setenv("SHMK_LIVENESS_MS", "600000", 1);
	med_up(&f, CAP64K);
	struct shmk_ring_writer *w = local_writer(f.r, 0xEE);
	void *p;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(w, 8, &p), 0);
	pid_t pid = spawn_mediated(&f, "writer", 0x63, "write", "1", "100", &peer);
	CU_ASSERT_FATAL(other_thread_in(SYS_futex, SYS_futex, 20));
	struct shmk_ring_mediator_stats st = med_stats(&f);
	CU_ASSERT_EQUAL(st.connected, 1);
	CU_ASSERT_EQUAL(shmk_ring_mediated_new(f.m, 0x64, &wfd2, &peer2), 0);
	CU_ASSERT_EQUAL(med_stats(&f).connected, 2);
	close(wfd2);
	CU_ASSERT_EQUAL(shmk_ring_discard(w), 0);
	shmk_ring_writer_close(w);
	uint64_t t;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 20ll * 1000000000), 0);
	CU_ASSERT(t == 0x63 && n == 100 && check(buf, n, t, 0));
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT(hung_up(peer2, (int)h_deadline(10) * 1000));
	close(peer);
	close(peer2);
	med_down(&f);
}
H_REGISTER(owner_calls, 30, "ring.mediated.owner");

/* ---------------------------------------------------------------- a fatal epoll error */

/* The one epoll descriptor of this process (the mediator's), or -1. */
static int epoll_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	int fd = -1, k = 0;

	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));) {
		char p[300], l[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t m = readlink(p, l, sizeof(l) - 1);
		if (m > 0) {
			l[m] = 0;
			if (!strcmp(l, "anon_inode:[eventpoll]")) {
				fd = atoi(e->d_name);
				k++;
			}
		}
	}
	closedir(d);
	return k == 1 ? fd : -1;
}

/* The mediator's epoll descriptor turns into /dev/null under it: its next
 * wait fails (EINVAL).  The writer blocked on a reply gets SHMK_EPEERDEAD
 * (the role: h_honest -1), its peer fd hangs up, the reader's wait says no
 * writer is left, stats say why, and no writer is accepted any more. */
static void fatal_epoll(void)
{
	struct med_fixture f;
	int ctl, peer, wfd2, peer2;
	char c;

	med_up(&f, CAP64K);
	pid_t pid = spawn_mediated_ctl(&f, "mhostile", 0x65, "fatal", "2", "64", &peer, &ctl);
	CU_ASSERT_EQUAL(read(ctl, &c, 1), 1);
	/* the thread back in its wait, holding the old instance: the record
	 * below wakes it, and its next wait fails */
	CU_ASSERT_FATAL(other_thread_in(SYS_epoll_wait, SYS_epoll_pwait, 20));
	int ep = epoll_fd();
	CU_ASSERT_FATAL(ep >= 0);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(nul >= 0);
	CU_ASSERT_EQUAL_FATAL(dup3(nul, ep, O_CLOEXEC), ep);
	close(nul);
	CU_ASSERT_EQUAL(write(ctl, "g", 1), 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	CU_ASSERT(hung_up(peer, (int)h_deadline(10) * 1000));
	CU_ASSERT_EQUAL(read_seq(f.r, 0x65, 3, 64, 0, 64), 0);
	uint64_t t;
	size_t n;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), SHMK_EPEERDEAD);
	struct shmk_ring_mediator_stats st = med_stats(&f);
	CU_ASSERT_EQUAL(st.error, -EINVAL);
	CU_ASSERT_EQUAL(st.connected, 0);
	CU_ASSERT_EQUAL(st.hangups, 1);
	CU_ASSERT_EQUAL(shmk_ring_mediated_new(f.m, 0x66, &wfd2, &peer2), SHMK_EPEERDEAD);
	close(ctl);
	close(peer);
	med_down(&f);
}
H_REGISTER(fatal_epoll, 30, "ring.mediated.fatal");

/* ---------------------------------------------------------------- a writer that reads no reply */

/* Alone on a ring that never fills (so nothing is refused): the mediator
 * takes fewer records than the writer sent, because it stops reading a
 * writer whose replies pile up. */
static void noreply_stalls(void)
{
	struct med_fixture f;
	int ctl, peer;
	uint64_t sent = 0;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	med_up(&f, 16 * CAP64K); /* 2000 records of 64 bytes fit 3 times over */
	pid_t pid = spawn_mediated_ctl(&f, "mhostile", 0x67, "noreply", "0", "64", &peer, &ctl);
	CU_ASSERT_EQUAL_FATAL(read(ctl, &sent, sizeof(sent)), (ssize_t)sizeof(sent));
	/* the mediator has stalled once its replies fill the socket; read
	 * until a quiet 200 ms: nothing more comes */
	uint64_t got = 0, t;
	size_t n;
	int rc;
	while ((rc = shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 200ll * 1000000)) == 0) {
		CU_ASSERT(t == 0x67 && n == 64 && check(buf, n, t, got));
		got++;
	}
	CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
	struct shmk_ring_mediator_stats st = med_stats(&f);
	CU_ASSERT_EQUAL(st.refused, 0);
	CU_ASSERT(got >= 1 && st.records >= got && st.records < sent);
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);
	CU_ASSERT(hung_up(peer, (int)h_deadline(10) * 1000));
	close(ctl);
	close(peer);
	med_down(&f);
}
H_REGISTER(noreply_stalls, 30, "ring.mediated.fair+2");
