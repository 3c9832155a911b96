/* SPDX-License-Identifier: MIT */
/*
 * ring_mediator.c - mediated writers (see ring.h and the ring.mediated.*
 * clauses of conformance/spec/ring.md): what the Zircon kernel does for
 * Fuchsia's RingBuffer, done by a thread in the owner's process.
 *
 * A mediated writer holds one end of a SOCK_SEQPACKET socket and nothing
 * of the ring.  Its write sends [shmk_ring_mmsg][payload] and blocks on
 * the reply.  The mediator thread waits in epoll on every writer's socket
 * and a stop eventfd; for each ready socket it receives at most
 * MED_BATCH messages into one bounded buffer, parses each (the only bytes
 * it takes from the writer are the payload), appends it with the tag it
 * bound to that socket through the direct writers' append path
 * (shmk_ring__append: the writers' lock, head, the reader's wake-up), and
 * answers with the append's code.  A lie disconnects the writer, counted
 * by reason; a writer that does not read its replies only stalls itself.
 *
 * Threads: the owner's thread calls start, mediated_new, stats and stop;
 * the mediator thread serves.  mu covers only changes of the connection
 * table (a slot taken by mediated_new, freed by med_close) and the count of
 * connected writers, never a receive or an append: an append may wait
 * SHMK_LIVENESS_MS for a direct writer's lock, and the owner's calls must
 * not wait for that (r[impl ring.mediated.owner]).  A slot's fields other
 * than sock are the thread's alone once mediated_new has published it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "shmkit/ring.h"
#include "ring_int.h"

#define MED_MAX SHMK_RING_MAX_WRITERS
/* r[impl ring.mediated.fair+2] records served per socket per turn */
#define MED_BATCH 8u
#define MED_STOP UINT64_MAX	/* epoll data of the stop eventfd */
#define MED_MSG_MAX (sizeof(struct shmk_ring_mmsg) + SHMK_RING_MAX_PAYLOAD)

struct med_conn {
	int sock;		/* -1: free */
	int hup;		/* write end of the peer pipe: closed = writer gone */
	uint64_t tag;
	int pending;		/* a reply the socket could not take yet */
	int deaf;		/* the writer's end is closed: no more replies, but
				 * what it sent before is still appended (in order) */
	struct shmk_ring_mreply reply;
};

struct shmk_ring_mediator {
	struct shmk_ring *r;
	struct shmk_ring_writer *w;	/* our writable view, tag unused */
	int ep, stop;
	pthread_t thread;
	pthread_mutex_t mu;
	struct med_conn conn[MED_MAX];
	unsigned connected;	/* under mu */
	/* stop: relaxed store by stop, relaxed loads between records (the
	 * eventfd wakes the thread; the flag only cuts a turn short) */
	_Atomic int stopping;
	/* counters: the thread adds (relaxed), stats reads (relaxed) */
	_Atomic uint64_t records, refused, hangups, short_msgs, bad_header, oversized,
		ancillary;
	_Atomic int error;	/* the -errno that ended the thread (relaxed) */
	uint8_t buf[MED_MSG_MAX];	/* the thread's receive buffer */
};

/* ---------------------------------------------------------------- parser */

/* r[impl ring.mediated.validate+2] everything but the payload bytes is
 * checked against what the kernel says arrived */
enum ring_med_verdict shmk_ring__med_parse(const void *buf, size_t n, int msg_flags,
					   size_t controllen, size_t *len)
{
	struct shmk_ring_mmsg h;

	if (controllen || (msg_flags & MSG_CTRUNC))
		return RING_MED_ANCILLARY;
	if (msg_flags & MSG_TRUNC)
		return RING_MED_OVERSIZED;
	if (n < sizeof(h))
		return RING_MED_SHORT;
	memcpy(&h, buf, sizeof(h));	/* our own copy: read once */
	if (h.magic != SHMK_RING_MMSG_MAGIC || (size_t)h.len != n - sizeof(h))
		return RING_MED_BADHDR;
	if (h.len > SHMK_RING_MAX_PAYLOAD)
		return RING_MED_OVERSIZED;
	*len = h.len;
	return RING_MED_OK;
}

/* ---------------------------------------------------------------- the thread */

static void med_close(struct shmk_ring_mediator *m, struct med_conn *c, _Atomic uint64_t *why)
{
	int hup = c->hup;

	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->sock, NULL);
	close(c->sock);
	pthread_mutex_lock(&m->mu);
	c->hup = -1;
	c->pending = c->deaf = 0;
	c->sock = -1;	/* the slot is free for mediated_new */
	atomic_fetch_add_explicit(why, 1, memory_order_relaxed);
	/* r[impl ring.mediated.peerdead] The last mediated writer gone: the
	 * reader's wait may report a dead peer, as for direct writers (every record we appended is already
	 * published, so wait_peer's head re-check sees it). */
	if (--m->connected == 0)
		shmk_ring__release_slot(m->w);
	pthread_mutex_unlock(&m->mu);
	/* r[impl ring.mediated.liveness] the owner's peer fd hangs up (also
	 * on mediator_stop, which closes every connection here), last: an
	 * owner that sees it finds the count, the stats and the slot done */
	close(hup);
}

/* 1: the reply went (or nobody can take it any more), 0: the socket is
 * full (keep it pending, wait for EPOLLOUT). */
/* r[impl ring.mediated.stopped-writer] the record is in before its reply,
 * and no reply is waited for */
static int med_reply(struct shmk_ring_mediator *m, struct med_conn *c, unsigned idx)
{
	ssize_t k = c->deaf ? (ssize_t)sizeof(c->reply)
			    : send(c->sock, &c->reply, sizeof(c->reply), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		/* the writer closed or died: its queued messages still go in,
		 * then EOF disconnects it */
		c->deaf = 1;
		k = (ssize_t)sizeof(c->reply);
	}
	if (k == (ssize_t)sizeof(c->reply)) {
		if (c->pending) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = idx };
			epoll_ctl(m->ep, EPOLL_CTL_MOD, c->sock, &ev);
			c->pending = 0;
		}
		return 1;
	}
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* r[impl ring.mediated.fair+2] a writer that does not read its
		 * replies is not read either: one pending reply, no blocking */
		if (!c->pending) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = idx };
			epoll_ctl(m->ep, EPOLL_CTL_MOD, c->sock, &ev);
			c->pending = 1;
		}
		return 0;
	}
	return 1;
}

/* recvmsg returned 0: the writer's close (1), or a zero-length message
 * (0, a lie: never valid).  The kernel says 0 for both; what follows
 * tells them apart: a non-empty message behind it, or a writer still
 * there (the queue is merely empty: EAGAIN, or no hang-up), make it a
 * message.  r[impl ring.mediated.validate+2] Only a zero-length message
 * followed by another zero-length one and the close reads as the close. */
static int med_eof(int sock)
{
	char b;
	ssize_t k = recv(sock, &b, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	if (k > 0 || (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
		return 0;
	if (k < 0)
		return 1;	/* ECONNRESET and the like: the writer is gone */
	struct pollfd pf = { .fd = sock, .events = POLLRDHUP };
	return poll(&pf, 1, 0) == 1 && (pf.revents & (POLLRDHUP | POLLHUP));
}

/* One turn of one socket: a pending reply first, then at most MED_BATCH
 * messages. */
static void med_serve(struct shmk_ring_mediator *m, unsigned idx)
{
	struct med_conn *c = &m->conn[idx];

	if (c->sock < 0)
		return;
	if (c->pending && !med_reply(m, c, idx))
		return;
	for (unsigned b = 0; b < MED_BATCH; b++) {
		/* r[impl ring.mediated.owner] stop waits for one record at most */
		if (atomic_load_explicit(&m->stopping, memory_order_relaxed))
			return;
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { m->buf, sizeof(m->buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				     .msg_controllen = sizeof(u.buf) };
		ssize_t n = recvmsg(c->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ECONNRESET) {
				/* the writer closed with replies unread: the error
				 * is reported once, its queued messages follow */
				c->deaf = 1;
				continue;
			}
			med_close(m, c, &m->hangups);
			return;
		}
		/* r[impl ring.mediated.validate.fds] no descriptor a writer sends survives */
		shmk_ring__take_fds(&mh, 0);
		if (n == 0 && !mh.msg_controllen) {
			med_close(m, c, med_eof(c->sock) ? &m->hangups : &m->short_msgs);
			return;
		}
		size_t len = 0;
		enum ring_med_verdict v =
			shmk_ring__med_parse(m->buf, (size_t)n, mh.msg_flags, mh.msg_controllen, &len);
		if (v != RING_MED_OK) {
			/* r[impl ring.mediated.lies] */
			_Atomic uint64_t *why = v == RING_MED_SHORT ? &m->short_msgs :
						v == RING_MED_BADHDR ? &m->bad_header :
						v == RING_MED_OVERSIZED ? &m->oversized :
						&m->ancillary;
			med_close(m, c, why);
			return;
		}
		struct iovec rec = { m->buf + sizeof(struct shmk_ring_mmsg), len };
		/* r[impl ring.mediated.mode] the tag bound to this socket, the
		 * direct writers' append (lock, bounds, publish, wake);
		 * r[impl ring.mediated.mixed] so direct writers interleave
		 * whole records under the same lock */
		int rc = shmk_ring__append(m->w, c->tag, &rec, 1, len);
		atomic_fetch_add_explicit(rc ? &m->refused : &m->records, 1, memory_order_relaxed);
		/* r[impl ring.mediated.status+2] one reply per message: the append's code */
		c->reply.rc = rc;
		c->reply.zero = 0;
		if (!med_reply(m, c, idx))
			return;
	}
}

/* r[impl ring.mediated.thread] one thread, one epoll over every writer's
 * socket and the stop eventfd; level-triggered, so a socket with more than
 * MED_BATCH messages is served again next turn after every other ready one */
static void *med_main(void *arg)
{
	struct shmk_ring_mediator *m = arg;
	struct epoll_event ev[MED_MAX + 1];

	for (;;) {
		int n = epoll_wait(m->ep, ev, MED_MAX + 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* r[impl ring.mediated.fatal] nothing will serve these
			 * writers again: disconnect them all, so each gets
			 * SHMK_EPEERDEAD, its peer fd hangs up and the slot goes */
			int e = -errno;
			pthread_mutex_lock(&m->mu);	/* mediated_new adds no more */
			atomic_store_explicit(&m->error, e, memory_order_relaxed);
			pthread_mutex_unlock(&m->mu);
			for (unsigned i = 0; i < MED_MAX; i++)
				if (m->conn[i].sock >= 0)
					med_close(m, &m->conn[i], &m->hangups);
			return NULL;
		}
		/* An empty critical section: acquires every slot mediated_new
		 * published (it fills the slot before epoll_ctl ADD, under mu,
		 * so an event for it means the fill is done or being unlocked). */
		pthread_mutex_lock(&m->mu);
		pthread_mutex_unlock(&m->mu);
		int stop = 0;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == MED_STOP)
				stop = 1;
			else if (ev[i].data.u64 < MED_MAX)
				med_serve(m, (unsigned)ev[i].data.u64);
		}
		if (stop || atomic_load_explicit(&m->stopping, memory_order_relaxed))
			return NULL;
	}
}

/* ---------------------------------------------------------------- owner's side */

int shmk_ring_mediator_start(struct shmk_ring *r, struct shmk_ring_mediator **mp)
{
	struct shmk_ring_mediator *m;
	int rc;

	if (!r || !mp)
		return SHMK_FAIL(-EINVAL);
	if (r->med)
		return shmk_fail(SHMK_EBUSY, "ring: a mediator is already running");
	m = calloc(1, sizeof(*m));
	if (!m)
		return SHMK_FAIL(-ENOMEM);
	m->r = r;
	m->ep = m->stop = -1;
	for (unsigned i = 0; i < MED_MAX; i++)
		m->conn[i].sock = m->conn[i].hup = -1;
	rc = shmk_ring__writer_local(r, &m->w);
	if (rc)
		goto fail;
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	m->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->ep < 0 || m->stop < 0) {
		rc = SHMK_FAIL(-errno);
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MED_STOP };
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->stop, &ev)) {
		rc = SHMK_FAIL(-errno);
		goto fail;
	}
	pthread_mutex_init(&m->mu, NULL);
	/* The thread takes no signal: they stay the owner's threads' business. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&m->thread, NULL, med_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		pthread_mutex_destroy(&m->mu);
		rc = SHMK_FAIL(-e);
		goto fail;
	}
	r->med = m;
	*mp = m;
	return 0;
fail:
	if (m->ep >= 0)
		close(m->ep);
	if (m->stop >= 0)
		close(m->stop);
	shmk_ring_writer_close(m->w);
	free(m);
	return rc;
}

int shmk_ring_mediator_stop(struct shmk_ring_mediator *m)
{
	if (!m)
		return 0;
	uint64_t one = 1;
	atomic_store_explicit(&m->stopping, 1, memory_order_relaxed);
	/* the eventfd counter cannot overflow from one add: the write succeeds */
	if (write(m->stop, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return SHMK_FAIL(-errno);
	pthread_join(m->thread, NULL);
	for (unsigned i = 0; i < MED_MAX; i++)
		if (m->conn[i].sock >= 0)
			med_close(m, &m->conn[i], &m->hangups);
	m->r->med = NULL;
	int rc = shmk_ring_writer_close(m->w);
	close(m->ep);
	close(m->stop);
	pthread_mutex_destroy(&m->mu);
	free(m);
	return rc;
}

int shmk_ring_mediated_new(struct shmk_ring_mediator *m, uint64_t tag, int *writer_fd,
			   int *peer_fd)
{
	int sv[2], hp[2];
	int rc = 0;

	if (!m || !writer_fd || !peer_fd)
		return SHMK_FAIL(-EINVAL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return SHMK_FAIL(-errno);
	if (pipe2(hp, O_CLOEXEC)) {
		rc = SHMK_FAIL(-errno);
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
#ifdef SO_PASSRIGHTS
	/* r[impl ring.mediated.validate.fds] Linux 6.16+: the kernel refuses
	 * a writer's SCM_RIGHTS (its sendmsg fails), so the mediator never
	 * holds, and never closes, a file the writer may serve (a FUSE file's
	 * flush on close waits for its server).  Older kernels say EINVAL or
	 * ENOPROTOOPT: the descriptors then arrive and are closed. */
	int no = 0;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_PASSRIGHTS, &no, sizeof(no));
#endif
	/* The hand-off the writer's open reads: the tag, no descriptor. */
	struct { uint64_t magic, tag; } msg = { SHMK_RING_MHANDOFF, tag };
	if (send(sv[0], &msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
		rc = SHMK_FAIL(errno ? -errno : -EIO);
		goto fail;
	}
	pthread_mutex_lock(&m->mu);
	int dead = atomic_load_explicit(&m->error, memory_order_relaxed);
	if (dead) {
		pthread_mutex_unlock(&m->mu);
		rc = shmk_fail(SHMK_EPEERDEAD, "ring: the mediator thread ended (%d)", dead);
		goto fail;
	}
	unsigned i = 0;
	while (i < MED_MAX && m->conn[i].sock >= 0)
		i++;
	if (i == MED_MAX) {
		pthread_mutex_unlock(&m->mu);
		rc = shmk_fail(SHMK_EBUSY, "ring: %u mediated writers connected", MED_MAX);
		goto fail;
	}
	/* r[impl ring.mediated.peerdead] the mediator holds a writer slot (our
	 * token) while any mediated writer is connected, so the reader's wait
	 * tells "no writer left" for mediated writers too */
	if (m->connected == 0 && !m->w->slot_held) {
		rc = shmk_ring__claim_slot(m->w);
		if (rc) {
			pthread_mutex_unlock(&m->mu);
			goto fail;
		}
	}
	/* filled before the thread can see an event for it (med_main) */
	m->conn[i] = (struct med_conn){ .sock = sv[0], .hup = hp[1], .tag = tag };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, sv[0], &ev)) {
		rc = SHMK_FAIL(-errno);
		m->conn[i].sock = m->conn[i].hup = -1;
		if (m->connected == 0)
			shmk_ring__release_slot(m->w);
		pthread_mutex_unlock(&m->mu);
		goto fail;
	}
	m->connected++;
	pthread_mutex_unlock(&m->mu);
	*writer_fd = sv[1];
	*peer_fd = hp[0];
	return 0;
fail:
	close(sv[0]);
	close(sv[1]);
	close(hp[0]);
	close(hp[1]);
	return rc;
}

int shmk_ring_mediator_stats(const struct shmk_ring_mediator *m,
			     struct shmk_ring_mediator_stats *st)
{
	if (!m || !st)
		return SHMK_FAIL(-EINVAL);
	struct shmk_ring_mediator *mm = (struct shmk_ring_mediator *)m; /* the lock only */
	memset(st, 0, sizeof(*st));
	/* under the lock: a turn's disconnection and its count are seen together */
	pthread_mutex_lock(&mm->mu);
	st->records = atomic_load_explicit(&m->records, memory_order_relaxed);
	st->refused = atomic_load_explicit(&m->refused, memory_order_relaxed);
	st->hangups = atomic_load_explicit(&m->hangups, memory_order_relaxed);
	st->short_msgs = atomic_load_explicit(&m->short_msgs, memory_order_relaxed);
	st->bad_header = atomic_load_explicit(&m->bad_header, memory_order_relaxed);
	st->oversized = atomic_load_explicit(&m->oversized, memory_order_relaxed);
	st->ancillary = atomic_load_explicit(&m->ancillary, memory_order_relaxed);
	st->connected = m->connected;
	pthread_mutex_unlock(&mm->mu);
	st->error = atomic_load_explicit(&m->error, memory_order_relaxed);
	st->max_batch = MED_BATCH;
	return 0;
}

/* ---------------------------------------------------------------- writer's side */

/* r[impl ring.mediated.status+2] send the record, then wait for its reply */
int shmk_ring__med_writev(struct shmk_ring_writer *w, const struct iovec *iov, int iovcnt,
			  size_t len)
{
	struct shmk_ring_mmsg h = { SHMK_RING_MMSG_MAGIC, (uint32_t)len };
	struct iovec v[SHMK_RING_MAX_IOV + 1];
	struct msghdr mh = { .msg_iov = v, .msg_iovlen = (size_t)iovcnt + 1 };
	ssize_t n;

	v[0] = (struct iovec){ &h, sizeof(h) };
	for (int i = 0; i < iovcnt; i++)
		v[i + 1] = iov[i];
	do
		n = sendmsg(w->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			return shmk_fail(SHMK_EPEERDEAD, "ring: the mediator closed this writer");
		return SHMK_FAIL(-errno);
	}
	SHMK_CRASH_POINT("ring.mediated.sent");
	struct shmk_ring_mreply rep;
	do
		n = recv(w->sock, &rep, sizeof(rep), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
		return shmk_fail(SHMK_EPEERDEAD, "ring: the mediator closed this writer");
	if (n < 0)
		return SHMK_FAIL(-errno);
	if (n != (ssize_t)sizeof(rep) || rep.zero || rep.rc > 0)
		return shmk_fail(-EPROTO, "ring: malformed mediator reply");
	if (rep.rc)
		return shmk_fail(rep.rc, "ring: the mediator's append returned %d", rep.rc);
	return 0;
}
