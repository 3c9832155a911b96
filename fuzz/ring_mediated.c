/* SPDX-License-Identifier: MIT */
/*
 * ring_mediated: the mediator's parser of untrusted messages, alone and
 * end to end.  One real ring (64 KiB) and its mediator thread per process;
 * per input a fresh mediated writer whose socket this target drives by
 * hand, as a hostile writer process would.
 *
 * Input: up to 16 x [kind u8][flags u8][n u16][n bytes], where kind says
 * how the bytes go out: 0 as they are (garbage, n <= 3072), 1 behind a correct header
 * (a valid record, n <= 3072), 2 behind a header whose len is off by the
 * flags byte, 3 a correct record carrying a descriptor (SCM_RIGHTS),
 * 4 zero bytes, 5 one byte over the largest message (MSG_TRUNC).
 *
 * Contracts: the parser's verdict, for every message and any recvmsg flags,
 * is exactly the model's; end to end, the ring holds exactly the valid
 * records sent before the first invalid message, in order, each with the
 * tag bound to the socket; every descriptor sent is closed by the
 * mediator; the writer's peer fd hangs up once it is disconnected.
 */
#include <poll.h>
#include <sys/socket.h>

#include "common.h"
#include "ring_int.h"
#include "shmkit/ring.h"

const char *const shmk_fuzz_clauses[] = {
	"ring.mediated.validate+2",
	"ring.mediated.validate.fds",
	"ring.mediated.lies",
	"ring.mediated.mode",
	"ring.mediated.liveness",
	NULL,
};

#define CAP 65536u
#define MAXMSG 16
#define MAXREC 3072u	/* 16 records of it never fill the 64 KiB ring */
#define TAG 0x6d656469ull

static struct shmk_ring *ring;
static struct shmk_ring_mediator *med;
static uint8_t msg[sizeof(struct shmk_ring_mmsg) + SHMK_RING_MAX_PAYLOAD + 64];
static uint8_t rbuf[SHMK_RING_MAX_PAYLOAD];

static int setup(void)
{
	char path[128];
	struct shmk_ring_opts o = { .capacity = CAP };

	fz_init();
	snprintf(path, sizeof(path), "/dev/shm/shmk-fuzz-ring-mediated-%d", (int)getpid());
	unlink(path);
	int rc = shmk_ring_create(path, &o, &ring);
	unlink(path);
	if (rc || shmk_ring_mediator_start(ring, &med))
		return -1;
	return 0;
}

/* The model of shmk_ring__med_parse. */
static enum ring_med_verdict model(const uint8_t *b, size_t n, int flags, size_t ctl)
{
	uint32_t magic, len;

	if (ctl || (flags & MSG_CTRUNC))
		return RING_MED_ANCILLARY;
	if (flags & MSG_TRUNC)
		return RING_MED_OVERSIZED;
	if (n < 8)
		return RING_MED_SHORT;
	memcpy(&magic, b, 4);
	memcpy(&len, b + 4, 4);
	if (magic != SHMK_RING_MMSG_MAGIC || len != n - 8)
		return RING_MED_BADHDR;
	return len > SHMK_RING_MAX_PAYLOAD ? RING_MED_OVERSIZED : RING_MED_OK;
}

struct sent {
	size_t off, len;	/* payload in the input copy */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	static uint8_t payloads[MAXMSG * MAXREC];
	struct sent ok[MAXMSG];
	unsigned nok = 0, nmsg = 0;
	int valid_so_far = 1, wfd, peer, pfd[MAXMSG][2];
	unsigned npipes = 0;
	size_t poff = 0;

	if (!ring && setup())
		return 0;
	fz_live_reset();
	if (shmk_ring_mediated_new(med, TAG, &wfd, &peer))
		return 0;
	struct { uint64_t magic, tag; } ho;
	FUZZ_ASSERT(recv(wfd, &ho, sizeof(ho), 0) == (ssize_t)sizeof(ho));
	FUZZ_ASSERT(ho.magic == SHMK_RING_MHANDOFF && ho.tag == TAG);

	while (in.n && nmsg < MAXMSG) {
		uint8_t kind = fz_u8(&in) % 6, fl = fz_u8(&in);
		size_t n = fz_u16(&in);
		if (n > in.n)
			n = in.n;
		const uint8_t *b = in.p;
		in.p += n;
		in.n -= n;
		nmsg++;
		size_t len = 0, ctl = 0;
		struct shmk_ring_mmsg h = { SHMK_RING_MMSG_MAGIC, 0 };
		switch (kind) {
		case 0:
			/* garbage may be a valid record by chance: capped like
			 * one, so payloads[] and the ring always hold it */
			n = n > MAXREC ? MAXREC : n;
			memcpy(msg, b, n);
			len = n;
			break;
		case 1:
		case 3:
			n = n > MAXREC ? MAXREC : n;
			h.len = (uint32_t)n;
			memcpy(msg, &h, sizeof(h));
			memcpy(msg + sizeof(h), b, n);
			len = sizeof(h) + n;
			ctl = kind == 3;
			break;
		case 2:
			n = n > MAXREC ? MAXREC : n;
			h.len = (uint32_t)n + (uint32_t)(int8_t)(fl | 1);
			memcpy(msg, &h, sizeof(h));
			memcpy(msg + sizeof(h), b, n);
			len = sizeof(h) + n;
			break;
		case 4:
			len = 0;
			break;
		default:
			h.len = SHMK_RING_MAX_PAYLOAD + 1;
			memcpy(msg, &h, sizeof(h));
			memset(msg + sizeof(h), fl, SHMK_RING_MAX_PAYLOAD + 1);
			len = sizeof(h) + SHMK_RING_MAX_PAYLOAD + 1;
			break;
		}
		/* the parser alone, under any flags recvmsg could report */
		int flags = (fl & 0x40 ? MSG_TRUNC : 0) | (fl & 0x80 ? MSG_CTRUNC : 0);
		size_t plen = 0;
		size_t seen = len > sizeof(msg) ? sizeof(msg) : len;
		enum ring_med_verdict v = shmk_ring__med_parse(msg, seen, flags, fl & 0x20, &plen);
		FUZZ_ASSERT(v == model(msg, seen, flags, fl & 0x20));
		if (v == RING_MED_OK)
			FUZZ_ASSERT(plen == seen - 8 && plen <= SHMK_RING_MAX_PAYLOAD);

		/* end to end: what the mediator receives is what we send */
		struct iovec iov = { msg, len };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (ctl && pipe2(pfd[npipes], O_CLOEXEC) == 0) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &pfd[npipes][1], sizeof(int));
			npipes++;
		}
		ssize_t k = sendmsg(wfd, &mh, MSG_NOSIGNAL);
		if (mh.msg_controllen) {
			close(pfd[npipes - 1][1]);	/* in flight: the mediator's to close */
			if (k < 0)
				close(pfd[--npipes][0]);
		}
		if (k < 0)
			break;	/* already disconnected */
		int good = model(msg, len, 0, mh.msg_controllen) == RING_MED_OK;
		if (valid_so_far && good) {
			ok[nok].off = poff;
			ok[nok].len = len - 8;
			memcpy(payloads + poff, msg + 8, len - 8);
			poff += len - 8;
			nok++;
		} else {
			valid_so_far = 0;
		}
	}
	/* hang up; the mediator drains, then closes: the peer fd says when */
	close(wfd);
	struct pollfd pf = { .fd = peer, .events = POLLIN };
	FUZZ_ASSERT(poll(&pf, 1, 10000) == 1 && (pf.revents & POLLHUP));
	close(peer);
	for (unsigned k = 0; k < nok; k++) {
		uint64_t tag = 0;
		size_t n = 0;
		FUZZ_ASSERT(shmk_ring_read_message(ring, &tag, rbuf, sizeof(rbuf), &n, 0) == 0);
		FUZZ_ASSERT(tag == TAG && n == ok[k].len);
		FUZZ_ASSERT(memcmp(rbuf, payloads + ok[k].off, n) == 0);
	}
	uint64_t head, tail;
	shmk_ring_head(ring, &head);
	shmk_ring_tail(ring, &tail);
	FUZZ_ASSERT(head == tail);	/* nothing else went in */
	/* every descriptor we sent is closed on the owner's side */
	for (unsigned k = 0; k < npipes; k++) {
		struct pollfd pp = { .fd = pfd[k][0], .events = POLLIN };
		FUZZ_ASSERT(poll(&pp, 1, 10000) == 1 && (pp.revents & POLLHUP));
		close(pfd[k][0]);
	}
	return 0;
}

size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	/* kinds of the messages of seed i: valid records, then one lie; the
	 * last seed's lie claims one byte less than it sends (flags 0xff) */
	static const uint8_t seeds[][4] = {
		{ 1, 1, 1, 255 }, { 1, 0, 1, 255 }, { 1, 2, 1, 255 }, { 1, 3, 1, 255 },
		{ 1, 4, 1, 255 }, { 1, 5, 1, 255 }, { 1, 1, 2, 1 }, { 1, 2, 1, 255 },
	};
	enum { NSEEDS = sizeof(seeds) / sizeof(seeds[0]) };
	if (i >= NSEEDS || max < 4096)
		return 0;
	size_t n = 0;
	for (unsigned k = 0; k < 4 && seeds[i][k] != 255; k++) {
		uint16_t len = (uint16_t)(k == 1 ? 3 : 40 + 13 * k);
		out[n++] = seeds[i][k];
		out[n++] = (uint8_t)(i == NSEEDS - 1 && k == 1 ? 0xff : k + 1);
		memcpy(out + n, &len, 2);
		n += 2;
		for (unsigned j = 0; j < len; j++)
			out[n++] = (uint8_t)(j * 7 + k);
	}
	return n;
}
