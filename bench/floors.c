/* SPDX-License-Identifier: MIT */
/* floors.c - see floors.h. */
#include "floors.h"

#include <stdio.h>

_Static_assert(sizeof(struct pp_sh) <= 4096, "control fits the first page (bc_shared_pair)");

/* The bodies that serve a plain and a shaped area alike take `shape` as a
 * constant; forced inline, or gcc -O2 keeps one copy with `shape` a
 * run-time argument, tested per message in the plain floor's loop. */
#define LR_INLINE static inline __attribute__((always_inline))

#define PA(sh) ((unsigned char *)(sh) + (sh)->off_a)
#define PB(sh) ((unsigned char *)(sh) + (sh)->off_b)

/* The area, its two buffers `each` bytes. */
static struct pp_sh *pp_map(size_t n, size_t each)
{
	size_t a, b, len;
	struct pp_sh *sh = bc_shared_pair(each, &a, &b, &len);
	if (!sh)
		return NULL;
	sh->off_a = a;
	sh->off_b = b;
	sh->len = len;
	sh->c.size = n;
	return sh;
}

struct pp_sh *pp_area(size_t n)
{
	return pp_map(n, n);
}

struct pp_sh *pp_area_shape(size_t n, size_t stride, size_t off, size_t slots)
{
	/* pp_elem masks: a power of two; the payload within its element */
	if (!slots || (slots & (slots - 1)) || off + n > stride)
		return NULL;
	struct pp_sh *sh = pp_map(n, stride * slots);
	if (sh) {
		sh->stride = stride;
		sh->slots = slots;
		sh->off = off;
	}
	return sh;
}

/* Round trip `stamp`'s element in a buffer (stamps 1, 3, 5, ... and their
 * replies 2, 4, 6, ...: one element per round trip): the whole buffer of a
 * plain area. */
static inline unsigned char *pp_elem(const struct pp_sh *sh, unsigned char *buf, uint64_t stamp,
				     bool shape)
{
	/* slots is a power of two (pp_area_shape): a mask, as the events
	 * queue indexes its cells, not a division v1 does not make */
	return shape ? buf + ((stamp - 1) / 2 & (sh->slots - 1)) * sh->stride : buf;
}

/* Where message `stamp`'s payload starts: a plain area's buffer itself (no
 * load of off: the plain ping-pong's code stays what it was). */
static inline unsigned char *pp_payload(const struct pp_sh *sh, unsigned char *buf,
					uint64_t stamp, bool shape)
{
	return shape ? pp_elem(sh, buf, stamp, shape) + sh->off : buf;
}

/* The word that publishes message `stamp` and the value it takes: a plain
 * area's flag line (flag_a or flag_b), a shaped one's header word in the
 * message's own element (len | stamp << 32, as v1's len | seq: the layout
 * puts it next to the payload, so it costs no line of its own). */
static inline _Atomic uint64_t *pp_flag(struct pp_sh *sh, unsigned char *buf,
					_Atomic uint64_t *flag, uint64_t stamp, bool shape,
					uint64_t *val)
{
	*val = shape ? sh->c.size | stamp << 32 : stamp;
	return shape ? (_Atomic uint64_t *)(void *)(pp_elem(sh, buf, stamp, shape) + LR_HDR_OFF)
		     : flag;
}

/* Waits until *w == want (or stop / peer gone); true when it got there. */
static inline bool pp_await(_Atomic uint64_t *w, uint64_t want, struct bc_ctl *c, struct bc_run *r)
{
	/* acquire: pairs with the other side's release store of the flag in
	 * pp_serve / pp_rtt, so the buffer it filled before is visible */
	BC_SPIN_WHILE(atomic_load_explicit(w, memory_order_acquire) != want,
		      r ? bc_run_alive(r) : !bc_stopped(c));
	return atomic_load_explicit(w, memory_order_acquire) == want;
}

/* One body for the plain and the shaped area; `shape` is a constant at
 * each call (as for the Lamport ring below), so the plain ping-pong's code
 * is what it was. */
LR_INLINE int serve(struct pp_sh *sh, uint64_t want, struct bc_ctl *stop, uint64_t *sink,
		    bool shape)
{
	size_t n = sh->c.size;
	if (n <= 8 && !shape) {
		if (!pp_await(&sh->word, want, stop, NULL))
			return 1;
		/* release: pairs with the measurer's acquire load of word */
		atomic_store_explicit(&sh->word, want + 1, memory_order_release);
		return 0;
	}
	uint64_t va, vb;
	_Atomic uint64_t *fa = pp_flag(sh, PA(sh), &sh->flag_a, want, shape, &va);
	_Atomic uint64_t *fb = pp_flag(sh, PB(sh), &sh->flag_b, want + 1, shape, &vb);
	if (!pp_await(fa, va, stop, NULL))
		return 1;
	if (bc_read(pp_payload(sh, PA(sh), want, shape), n, sink) != want) {
		snprintf(stop->msg, sizeof stop->msg, "pingpong: bad stamp");
		return -1;
	}
	bc_fill(pp_payload(sh, PB(sh), want + 1, shape), n, want + 1);
	/* release: pairs with the measurer's acquire of flag_b (or of the
	 * reply's header word) in pp_await */
	atomic_store_explicit(fb, vb, memory_order_release);
	return 0;
}

int pp_serve(struct pp_sh *sh, uint64_t want, struct bc_ctl *stop, uint64_t *sink)
{
	return sh->stride ? serve(sh, want, stop, sink, true) : serve(sh, want, stop, sink, false);
}

LR_INLINE bool rtt(struct bc_run *r, struct pp_sh *sh, uint64_t seq, uint64_t *sink, bool shape)
{
	size_t n = sh->c.size;
	if (n <= 8 && !shape) {
		/* release: pairs with the peer's acquire load of word */
		atomic_store_explicit(&sh->word, seq, memory_order_release);
		return pp_await(&sh->word, seq + 1, &sh->c, r) && !r->failed;
	}
	uint64_t va, vb;
	_Atomic uint64_t *fa = pp_flag(sh, PA(sh), &sh->flag_a, seq, shape, &va);
	_Atomic uint64_t *fb = pp_flag(sh, PB(sh), &sh->flag_b, seq + 1, shape, &vb);
	bc_fill(pp_payload(sh, PA(sh), seq, shape), n, seq);
	/* release: pairs with the peer's acquire of flag_a (or of the
	 * message's header word) in pp_await */
	atomic_store_explicit(fa, va, memory_order_release);
	if (!pp_await(fb, vb, &sh->c, r) || r->failed)
		return false;
	return bc_read(pp_payload(sh, PB(sh), seq + 1, shape), n, sink) == seq + 1;
}

bool pp_rtt(struct bc_run *r, struct pp_sh *sh, uint64_t seq, uint64_t *sink)
{
	return sh->stride ? rtt(r, sh, seq, sink, true) : rtt(r, sh, seq, sink, false);
}

/* ---------------------------------------------------------------- Lamport */
static size_t lr_slots(size_t size)
{
	size_t n = LR_DATA_BYTES / size;
	size_t p = 64;
	while (p < n)
		p <<= 1;
	return p;
}

size_t lr_bytes(size_t size)
{
	return sizeof(struct lring) + lr_slots(size) * size;
}

void lr_init(struct lring *r, size_t size)
{
	r->mask = lr_slots(size) - 1;
	r->size = size;
	r->stride = 0; /* plain: whatever the mapping held before */
}

size_t lr_shape_bytes(size_t stride, size_t slots)
{
	return sizeof(struct lring) + stride * slots;
}

void lr_init_shape(struct lring *r, size_t size, size_t stride, size_t off, size_t slots,
		   bool hdr)
{
	/* mask is only the full test's bound here: slots need not be a power
	 * of two (the ring bench's byte ring holds LR_DATA_BYTES / stride) */
	r->mask = slots - 1;
	r->size = size;
	r->stride = stride;
	r->off = off;
	r->end = stride * slots;
	r->hdr = hdr;
}

/* One push / pop for both kinds of ring; `shape` is a constant at every
 * call, so the plain ring's code is the Lamport ring's and nothing more
 * (LR_INLINE).
 * Inline here, so lr_produce / lr_consume run without a call per message;
 * lr_push / lr_pop below are the same for callers elsewhere. */
LR_INLINE bool push(struct lprod *p, const void *msg, bool shape)
{
	struct lring *r = p->r;
	if (p->head - p->tail_cache > r->mask) {
		/* acquire: pairs with the consumer's release of tail in pop */
		p->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (p->head - p->tail_cache > r->mask)
			return false;
	}
	if (shape) {
		unsigned char *e = r->data + p->at;
		memcpy(e + r->off, msg, r->size);
		if (r->hdr) {
			/* published by the release of head below, as the
			 * payload is */
			uint64_t w = r->size | (p->head + 1) << 32;
			memcpy(e + LR_HDR_OFF, &w, sizeof w);
		}
		p->at = p->at + r->stride == r->end ? 0 : p->at + r->stride;
	} else {
		memcpy(r->data + (p->head & r->mask) * r->size, msg, r->size);
	}
	/* release: pairs with the consumer's acquire of head in pop */
	atomic_store_explicit(&r->head, ++p->head, memory_order_release);
	return true;
}

/* *bad (shape with hdr only): nonzero when the header word is not the
 * producer's for this position. */
LR_INLINE bool pop(struct lcons *c, void *msg, bool shape, uint64_t *bad)
{
	struct lring *r = c->r;
	if (c->tail == c->head_cache) {
		/* acquire: pairs with the producer's release of head in push */
		c->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		if (c->tail == c->head_cache)
			return false;
	}
	if (shape) {
		const unsigned char *e = r->data + c->at;
		memcpy(msg, e + r->off, r->size);
		if (r->hdr) {
			uint64_t w;
			memcpy(&w, e + LR_HDR_OFF, sizeof w);
			*bad |= w ^ (r->size | (c->tail + 1) << 32);
		}
		c->at = c->at + r->stride == r->end ? 0 : c->at + r->stride;
	} else {
		memcpy(msg, r->data + (c->tail & r->mask) * r->size, r->size);
	}
	/* release: pairs with the producer's acquire of tail in push */
	atomic_store_explicit(&r->tail, ++c->tail, memory_order_release);
	return true;
}

bool lr_push(struct lprod *p, const void *msg)
{
	return push(p, msg, false);
}

bool lr_pop(struct lcons *c, void *msg)
{
	return pop(c, msg, false, NULL);
}

LR_INLINE int produce(struct lprod *p, unsigned char *buf, uint64_t first, uint64_t n,
			  struct bc_ctl *stop, bool shape)
{
	size_t size = p->r->size;
	for (uint64_t i = first; i < first + n; i++) {
		bc_fill(buf, size, i);
		uint32_t spins = 0;
		while (!push(p, buf, shape)) {
			bc_relax();
			if (!(++spins & 0xffff) && bc_stopped(stop))
				return 1;
		}
	}
	return 0;
}

int lr_produce(struct lprod *p, unsigned char *buf, uint64_t first, uint64_t n,
	       struct bc_ctl *stop)
{
	return p->r->stride ? produce(p, buf, first, n, stop, true)
			    : produce(p, buf, first, n, stop, false);
}

LR_INLINE int consume(struct lcons *c, unsigned char *buf, uint64_t first, uint64_t n,
			  uint64_t *sink, struct bc_run *r, bool shape)
{
	size_t size = c->r->size;
	uint64_t bad = 0;
	for (uint64_t i = first; i < first + n; i++) {
		BC_SPIN_WHILE(!pop(c, buf, shape, &bad), bc_run_alive(r));
		if (r->failed)
			return -1;
		if (bc_read(buf, size, sink) != i || bad) {
			gbs_skip_with_error(r->st, bad ? "bad header" : "bad sequence");
			r->failed = true;
			return -1;
		}
	}
	return 0;
}

int lr_consume(struct lcons *c, unsigned char *buf, uint64_t first, uint64_t n,
	       uint64_t *sink, struct bc_run *r)
{
	return c->r->stride ? consume(c, buf, first, n, sink, r, true)
			    : consume(c, buf, first, n, sink, r, false);
}
