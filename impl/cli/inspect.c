/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - the parse/print core of `shmkit inspect` (and the quick look
 * `ls` and `gc` take).  Rules: conformance/spec/cli.md.
 *
 * Input is always a private copy of the file's bytes.  The modules'
 * validators and describe calls read the layouts (on the copy); what this
 * file still reads itself (ring records, the slot table, tokens) is loaded
 * once into a local, bounded against the copy before use, and every loop
 * runs a fixed number of times.  Public headers only: the tool links the
 * shared library as well as the static one.
 */
#include "inspect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shmkit/events.h"
#include "shmkit/ring.h"
#include "shmkit/slots.h"
#include "shmkit/util.h"
#include "shmkit/wire.h"

#define CLI_DEFAULT_LIMIT 16u
#define CLI_MAX_LIMIT 4096u
#define CLI_MAX_PROBLEMS 8
#define CLI_ALIGN 64	/* the validators want a 64-byte aligned base */

/* One read of a field of the private copy (nobody writes it meanwhile). */
static inline uint64_t ld64(const volatile void *p)
{
	uint64_t v;
	memcpy(&v, (const void *)p, sizeof(v));
	return v;
}

static inline uint32_t ld32(const volatile void *p)
{
	uint32_t v;
	memcpy(&v, (const void *)p, sizeof(v));
	return v;
}

static inline size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ------------------------------------------------------------ emitter */

/*
 * One printer for both forms: text is "key: value" lines indented by
 * nesting, array items one line each ("- k=v, k=v"); JSON is one compact
 * object on one line.
 */
#define EM_DEPTH 8
struct em {
	FILE *f;
	int json;
	int depth;
	bool first[EM_DEPTH];
	bool arr[EM_DEPTH];
	bool inl[EM_DEPTH];
};

void shmk_cli_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);	/* bytes outside ASCII: never invalid UTF-8 */
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* Text output of a name or path: control bytes would let a file name
 * rewrite the terminal. */
static void text_str(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
}

static void em_indent(struct em *e)
{
	for (int i = 1; i < e->depth; i++)
		fputs("  ", e->f);
}

static void em_push(struct em *e, bool arr, bool inl)
{
	if (e->depth + 1 < EM_DEPTH)
		e->depth++;
	e->first[e->depth] = true;
	e->arr[e->depth] = arr;
	e->inl[e->depth] = inl;
}

/* Starts a member: separator and key. */
static void em_key(struct em *e, const char *key)
{
	if (e->json) {
		if (!e->first[e->depth])
			fputc(',', e->f);
		if (key && !e->arr[e->depth]) {
			shmk_cli_json_str(e->f, key);
			fputc(':', e->f);
		}
	} else if (e->inl[e->depth]) {
		fprintf(e->f, "%s%s=", e->first[e->depth] ? "" : ", ", key ? key : "");
	} else {
		if (e->arr[e->depth] && e->first[e->depth])
			fputc('\n', e->f);	/* em_arr left the line open */
		em_indent(e);
		if (e->arr[e->depth])
			fputs("- ", e->f);
		else if (key)
			fprintf(e->f, "%s: ", key);
	}
	e->first[e->depth] = false;
}

static void em_scalar_end(struct em *e)
{
	if (!e->json && !e->inl[e->depth])
		fputc('\n', e->f);
}

static void em_obj(struct em *e, const char *key)
{
	if (e->depth == 0) {
		if (e->json)
			fputc('{', e->f);
		em_push(e, false, false);
		return;
	}
	if (e->json) {
		em_key(e, key);
		fputc('{', e->f);
		em_push(e, false, false);
	} else if (e->arr[e->depth]) {
		em_key(e, key);
		em_push(e, false, true);
	} else {
		em_indent(e);
		fprintf(e->f, "%s:\n", key);
		e->first[e->depth] = false;
		em_push(e, false, false);
	}
}

static void em_end(struct em *e)
{
	bool inl = e->inl[e->depth], arr = e->arr[e->depth], first = e->first[e->depth];

	if (e->depth > 0)
		e->depth--;
	if (e->json)
		fputc(arr ? ']' : '}', e->f);
	else if (inl)
		fputc('\n', e->f);
	else if (arr && first)
		fputs(" (none)\n", e->f);
	if (e->json && e->depth == 0)
		fputc('\n', e->f);
}

static void em_arr(struct em *e, const char *key)
{
	if (e->json) {
		em_key(e, key);
		fputc('[', e->f);
	} else {
		em_indent(e);
		fprintf(e->f, "%s:", key);	/* the first item or em_end ends the line */
		e->first[e->depth] = false;
	}
	em_push(e, true, false);
}

static void em_u64(struct em *e, const char *key, uint64_t v)
{
	em_key(e, key);
	fprintf(e->f, "%" PRIu64, v);
	em_scalar_end(e);
}

static void em_hex(struct em *e, const char *key, uint64_t v)
{
	em_key(e, key);
	fprintf(e->f, e->json ? "\"0x%" PRIx64 "\"" : "0x%" PRIx64, v);
	em_scalar_end(e);
}

static void em_bool(struct em *e, const char *key, bool v)
{
	em_key(e, key);
	fputs(v ? "true" : "false", e->f);
	em_scalar_end(e);
}

/* An announcement word (wire.h SHMK_WAIT_*): the count and its two flags
 * apart, so FENCED does not read as a billion waiters. */
static void em_waiters(struct em *e, uint32_t v)
{
	em_u64(e, "waiters", v & SHMK_WAIT_COUNT);
	em_bool(e, "waiters_taken", v & SHMK_WAIT_TAKEN);
	em_bool(e, "waiters_fenced", v & SHMK_WAIT_FENCED);
}

static void em_str(struct em *e, const char *key, const char *s)
{
	em_key(e, key);
	if (e->json)
		shmk_cli_json_str(e->f, s);
	else
		text_str(e->f, s);
	em_scalar_end(e);
}

static void em_null(struct em *e, const char *key)
{
	em_key(e, key);
	fputs(e->json ? "null" : "-", e->f);
	em_scalar_end(e);
}

/* A process token as pid + liveness.  r[impl cli.inspect.liveness] */
static void em_token_fields(struct em *e, uint64_t tok)
{
	em_hex(e, "token", tok);
	em_u64(e, "pid", SHMK_TOKEN_PID(tok));
	em_bool(e, "alive", shmk_token_alive(tok) == 1);
}

static void em_token(struct em *e, const char *key, uint64_t tok)
{
	if (!tok) {
		em_null(e, key);
		return;
	}
	em_obj(e, key);
	em_token_fields(e, tok);
	em_end(e);
}

/* ------------------------------------------------------------ context */

struct ctx {
	struct em e;
	const uint8_t *b;	/* 64-aligned private copy */
	size_t len;
	uint64_t fsize;
	unsigned limit;
	char *err;
	size_t errlen;
	int nprob;
	char prob[CLI_MAX_PROBLEMS][160];
};

static void fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->err || !c->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
}

/* A body inconsistency: kept for the report; the first becomes the error. */
static void problem(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->nprob >= CLI_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(c->prob[c->nprob], sizeof(c->prob[0]), fmt, ap);
	va_end(ap);
	if (c->nprob == 0)
		fail(c, "%s", c->prob[0]);
	c->nprob++;
}

static void lib_fail(struct ctx *c, const char *what, int rc)
{
	const char *d = shmk_errdetail();
	size_t wl = strlen(what);

	/* the library's detail often names the object too: say it once */
	if (d && !strncmp(d, what, wl) && d[wl] == ':' && d[wl + 1] == ' ')
		d += wl + 2;
	fail(c, "%s: %s%s%s", what, shmk_errname(rc) ? shmk_errname(rc) : shmk_strerror(rc),
	     d && *d ? ": " : "", d ? d : "");
}

/* Queue depth of a wrapping u64 pair.  A private copy is taken field by
 * field while peers run, so a head that overtook the tail we copied by at
 * most the capacity is a torn snapshot, not corruption.
 * r[impl cli.inspect.snapshot] */
/* ------------------------------------------------------------ kinds */

static int valid_shm_name(const char *n, size_t len)
{
	/* The slots module's flink rule (slots.flink.content): '/' then
	 * [A-Za-z0-9._-], not "." or "..". */
	if (len < 2 || len > SHMK_CLI_FLINK_MAX - 1 || n[0] != '/')
		return 0;
	for (size_t i = 1; i < len; i++) {
		char ch = n[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return !(len == 2 && n[1] == '.') && !(len == 3 && n[1] == '.' && n[2] == '.');
}

int shmk_cli_flink_name(const void *buf, size_t len, char *name)
{
	const char *s = buf;

	if (!buf || len == 0 || len > SHMK_CLI_FLINK_MAX)
		return -1;
	if (s[len - 1] == '\n')
		len--;
	if (len >= SHMK_CLI_FLINK_MAX || !valid_shm_name(s, len))
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	return 0;
}

static uint32_t rd32(const void *buf, size_t off)
{
	uint32_t v;
	memcpy(&v, (const uint8_t *)buf + off, 4);
	return v;
}

static uint64_t rd64(const void *buf, size_t off)
{
	uint64_t v;
	memcpy(&v, (const uint8_t *)buf + off, 8);
	return v;
}

/* r[impl cli.inspect.recognise+2] */
enum shmk_cli_kind shmk_cli_kind_of(const void *buf, size_t len)
{
	char name[SHMK_CLI_FLINK_MAX];

	if (!buf)
		return SHMK_CLI_UNKNOWN;
	if (len >= 4 && rd32(buf, 0) == SHMK_EVENTS_MAGIC)
		return SHMK_CLI_EVENTS;
	/* upstream's magic too: the slots validator names what it found */
	if (len >= 4 &&
	    (rd32(buf, 0) == SHMK_SLOTS_MAGIC || rd32(buf, 0) == SHMK_SLOTS_ZERODDS_MAGIC))
		return SHMK_CLI_SLOTS;
	if (len >= sizeof(struct shmk_ring_hdr) &&
	    rd64(buf, offsetof(struct shmk_ring_hdr, magic)) == SHMK_RING_MAGIC)
		return SHMK_CLI_RING;
	/* An events region whose creator has not yet published READY still
	 * carries "initialising" in `initialized`; its magic comes last. */
	if (len >= sizeof(struct shmk_events_header) &&
	    rd32(buf, offsetof(struct shmk_events_header, initialized)) == SHMK_EVENTS_INIT_BUSY &&
	    rd32(buf, 0) == 0)
		return SHMK_CLI_EVENTS;
	if (shmk_cli_flink_name(buf, len, name) == 0)
		return SHMK_CLI_FLINK;
	return SHMK_CLI_UNKNOWN;
}

const char *shmk_cli_kind_name(enum shmk_cli_kind k)
{
	switch (k) {
	case SHMK_CLI_EVENTS: return "events";
	case SHMK_CLI_RING: return "ring";
	case SHMK_CLI_SLOTS: return "slots";
	case SHMK_CLI_FLINK: return "flink";
	default: return "unknown";
	}
}

/* ------------------------------------------------------------ events */

static const char *init_name(uint32_t v)
{
	return v == SHMK_EVENTS_INIT_NONE ? "none" : v == SHMK_EVENTS_INIT_BUSY ? "initialising"
		: v == SHMK_EVENTS_INIT_READY ? "ready" : "invalid";
}

/* r[impl cli.inspect.validate] r[impl events.describe.info] the library's
 * own validator and describer, on the copy: nothing here reads the layout */
static int events_check(struct ctx *c, struct shmk_events_info *ei)
{
	int rc = shmk_events_describe(c->b, c->len, ei);

	if (rc == SHMK_ENOTINIT && c->len >= sizeof(struct shmk_events_header)) {
		fail(c, "events region not initialised (initialized=%u %s, creator pid %u %s)",
		     ei->initialized, init_name(ei->initialized), SHMK_TOKEN_PID(ei->creator),
		     ei->creator ? (shmk_token_alive(ei->creator) == 1 ? "alive" : "dead") : "none");
		return rc;
	}
	if (rc)
		lib_fail(c, "events region", rc);
	return rc;
}

static void events_queue(struct ctx *c, const char *name, const struct shmk_events_queue_info *q,
			 const char *a, const char *b)
{
	struct em *e = &c->e;

	em_obj(e, name);
	em_u64(e, "capacity", SHMK_EVENTS_QUEUE_CAP);
	em_u64(e, "tail", q->tail);
	em_u64(e, "head", q->head);
	/* r[impl cli.inspect.integrity] */
	if (q->integrity)
		problem(c, "%s: SHMK_EINTEGRITY: tail %" PRIu64 " - head %" PRIu64
			" exceeds capacity %" PRIu64, name, q->tail, q->head,
			(uint64_t)SHMK_EVENTS_QUEUE_CAP);
	em_u64(e, "depth", q->depth);
	em_token(e, a, q->role_a);
	if (b)
		em_token(e, b, q->role_b);
}

static void events_print(struct ctx *c, const struct shmk_events_info *ei)
{
	struct em *e = &c->e;

	em_obj(e, "header");
	em_hex(e, "magic", ei->magic);
	em_u64(e, "version", ei->version);
	em_u64(e, "region_kind", ei->kind);
	em_hex(e, "capabilities", ei->capabilities);
	em_bool(e, "cap_wake", ei->capabilities & SHMK_EVENTS_CAP_WAKE);
	em_bool(e, "cap_seq", ei->capabilities & SHMK_EVENTS_CAP_SEQ);
	em_bool(e, "cap_asym", ei->capabilities & SHMK_EVENTS_CAP_ASYM);
	em_u64(e, "layout_bytes", ei->layout_bytes);
	em_str(e, "init", init_name(ei->initialized));
	em_u64(e, "counter_start", ei->counter_start);
	em_end(e);
	em_token(e, "owner", ei->creator);

	if (ei->pool_state == SHMK_EVENTS_POOL_RANGE)
		problem(c, "pool: free list reaches slot %u >= %u", ei->pool_bad_slot,
			SHMK_EVENTS_SLOTS);
	else if (ei->pool_state == SHMK_EVENTS_POOL_CYCLE)
		problem(c, "pool: free list cycles at slot %u", ei->pool_bad_slot);
	em_obj(e, "pool");
	em_u64(e, "slots", SHMK_EVENTS_SLOTS);
	em_u64(e, "slot_bytes", SHMK_EVENTS_SLOT_DATA);
	em_u64(e, "free_head", ei->free_head);
	em_u64(e, "free_generation", ei->free_generation);
	em_u64(e, "free", ei->pool_free);
	em_u64(e, "held", ei->pool_held);
	em_end(e);

	/* r[impl cli.inspect.queues] */
	events_queue(c, "spsc", &ei->spsc, "sender", "receiver");
	em_end(e);
	events_queue(c, "mpsc", &ei->mpsc, "consumer", NULL);
	em_arr(e, "producers");
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		const struct shmk_events_producer_info *p = &ei->producers[i];
		if (!p->token)
			continue;
		em_obj(e, NULL);
		em_u64(e, "index", i);
		em_token_fields(e, p->token);
		if (p->claiming)
			em_u64(e, "claiming", p->intent);
		else
			em_null(e, "claiming");
		em_end(e);
	}
	em_end(e);
	em_end(e);

	if (ei->has_wake) {
		static const char *const names[4] = { "spsc_data", "spsc_space", "mpsc_data",
						      "mpsc_space" };
		em_arr(e, "wake");
		for (int i = 0; i < 4; i++) {
			em_obj(e, NULL);
			em_str(e, "word", names[i]);
			em_u64(e, "gen", ei->wake[i].gen);
			em_waiters(e, ei->wake[i].waiters);
			em_end(e);
		}
		em_end(e);
	}
}

static void events_summary(const struct shmk_events_info *ei, struct shmk_cli_summary *s)
{
	s->owner = ei->creator;
	if (!s->valid)
		return;
	s->users[s->nusers++] = ei->spsc.role_a;
	s->users[s->nusers++] = ei->spsc.role_b;
	s->users[s->nusers++] = ei->mpsc.role_a;
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++)
		s->users[s->nusers++] = ei->producers[i].token;
}

/* ------------------------------------------------------------ ring */

/* r[impl cli.inspect.validate] r[impl ring.validate.shared] the library's
 * own validator, on the copy: header always, writers page when copied */
static int ring_check(struct ctx *c, struct shmk_ring_info *ri)
{
	int rc = shmk_ring_validate(c->b, c->len, c->fsize, ri);

	if (rc)
		lib_fail(c, "ring", rc);
	return rc;
}

/* One u64 of the ring at index i (8-aligned: never straddles the end). */
static uint64_t ring_u64(const struct ctx *c, const struct shmk_ring_info *ri, uint64_t i)
{
	return ld64(c->b + ri->page_size + i % ri->capacity);
}

static void ring_print(struct ctx *c, const struct shmk_ring_info *ri)
{
	const struct shmk_ring_hdr *h = (const void *)c->b;
	struct em *e = &c->e;
	/* the validator's snapshot: each loaded once */
	uint64_t head = ri->head, tail = ri->tail, reader = ri->reader;

	em_obj(e, "header");
	em_hex(e, "magic", SHMK_RING_MAGIC);
	em_u64(e, "version", SHMK_RING_VERSION);
	em_u64(e, "page_size", ri->page_size);
	em_u64(e, "capacity", ri->capacity);
	em_u64(e, "max_message", SHMK_RING_MAX_MESSAGE);
	em_u64(e, "gen", ld32(&h->gen));
	em_waiters(e, ld32(&h->waiters));
	em_end(e);
	em_token(e, "owner", reader);

	/* r[impl cli.inspect.ring] */
	uint64_t used = head - tail;
	bool sane = true;
	if (head % 8 || tail % 8) {
		problem(c, "ring: SHMK_EINTEGRITY: head %" PRIu64 " or tail %" PRIu64
			   " not 8-aligned", head, tail);
		sane = false;
	} else if (tail > head) {
		/* r[impl cli.inspect.snapshot] a reader that passed the head we copied */
		if (tail - head > ri->capacity) {
			problem(c, "ring: SHMK_EINTEGRITY: tail %" PRIu64 " > head %" PRIu64, tail,
				head);
		}
		used = 0;
		sane = false;
	} else if (used > ri->capacity) {
		problem(c, "ring: SHMK_EINTEGRITY: head - tail = %" PRIu64 " > capacity %" PRIu64,
			used, ri->capacity);
		sane = false;
	}
	em_obj(e, "cursors");
	em_u64(e, "head", head);
	em_u64(e, "tail", tail);
	em_u64(e, "used", sane ? used : 0);
	em_u64(e, "free", sane ? ri->capacity - used : ri->capacity);
	em_end(e);

	if (!ri->complete) {
		em_str(e, "records", "not shown: file larger than the copy limit");
		return;
	}
	unsigned nrec = 0;
	uint64_t i = tail, total = 0;
	em_arr(e, "records");
	/* Bounded by the limit; each step advances i by >= 16. */
	while (sane && i < head && nrec < c->limit) {
		if (head - i < SHMK_RING_REC_HDR) {
			problem(c, "ring: SHMK_ETOOSMALL: %" PRIu64 " bytes at %" PRIu64
				   " hold no record header", head - i, i);
			break;
		}
		uint64_t tag = ring_u64(c, ri, i), n = ring_u64(c, ri, i + 8);
		if (n > SHMK_RING_MAX_PAYLOAD || ((n + 7) & ~7ull) > head - i - SHMK_RING_REC_HDR) {
			problem(c, "ring: SHMK_EBADLEN: record at %" PRIu64 " claims %" PRIu64 " bytes",
				i, n);
			break;
		}
		uint64_t rl = SHMK_RING_REC_HDR + ((n + 7) & ~7ull);
		em_obj(e, NULL);
		em_u64(e, "index", i);
		em_hex(e, "tag", tag);
		em_u64(e, "len", n);
		em_end(e);
		i += rl;
		total += rl;
		nrec++;
	}
	em_end(e);
	em_u64(e, "records_shown", nrec);
	em_bool(e, "records_more", sane && i < head);

	const struct shmk_ring_wpage *wp = (const void *)(c->b + ri->page_size + ri->capacity);
	em_obj(e, "writers");
	em_u64(e, "registered", ri->registered);
	em_arr(e, "slots");
	for (unsigned k = 0; k < SHMK_RING_MAX_WRITERS; k++) {
		uint64_t tok = ld64(&wp->slots[k].token);
		uint64_t tag = ld64(&wp->slots[k].tag);
		if (!tok)
			continue;
		em_obj(e, NULL);
		em_u64(e, "index", k);
		em_token_fields(e, tok);
		em_hex(e, "tag", tag);
		em_end(e);
	}
	em_end(e);
	em_end(e);
	(void)total;
}

static void ring_summary(const struct ctx *c, const struct shmk_ring_info *ri,
			 struct shmk_cli_summary *s)
{
	const struct shmk_ring_hdr *h = (const void *)c->b;

	if (c->len < sizeof(*h))
		return;
	s->owner = ld64(&h->reader);
	if (!s->valid || !ri->complete)
		return;
	const struct shmk_ring_wpage *wp = (const void *)(c->b + ri->page_size + ri->capacity);
	for (unsigned k = 0; k < SHMK_RING_MAX_WRITERS; k++)
		s->users[s->nusers++] = ld64(&wp->slots[k].token);
}

/* ------------------------------------------------------------ slots */

/* r[impl cli.inspect.validate] r[impl slots.validate.shared] the library's
 * own validator, bounded by the FILE size so a header-only copy of a huge
 * segment still validates */
static int slots_check(struct ctx *c, struct shmk_slots_info *si)
{
	int rc = shmk_slots_validate(c->b, c->len, c->fsize, si);

	if (rc)
		lib_fail(c, "slots segment", rc);
	return rc;
}

static const struct shmk_slot_hdr *slot_at(const struct ctx *c, const struct shmk_slots_info *si,
					   uint32_t i)
{
	return (const void *)(c->b + SHMK_SLOTS_HDR_SIZE + (size_t)i * si->slot_total_size);
}

static void slots_print(struct ctx *c, const struct shmk_slots_info *si)
{
	const struct shmk_slots_hdr *h = (const void *)c->b;
	struct em *e = &c->e;
	uint32_t ostate = si->owner_state;	/* the validator's snapshot */

	em_obj(e, "header");
	em_hex(e, "magic", SHMK_SLOTS_MAGIC);
	em_u64(e, "header_bytes", SHMK_SLOTS_HDR_SIZE);
	em_u64(e, "slot_count", si->slot_count);
	em_u64(e, "slot_capacity", si->slot_capacity);
	em_u64(e, "slot_total_size", si->slot_total_size);
	em_u64(e, "next_sn", si->next_sn);
	em_u64(e, "notify_gen", ld32(&h->notify_gen));
	em_waiters(e, ld32(&h->waiters));
	em_end(e);
	em_token(e, "owner", si->owner_token);
	em_str(e, "owner_state", ostate == SHMK_SLOTS_OWNER_LIVE ? "live"
				 : ostate == SHMK_SLOTS_OWNER_CLOSED ? "closed" : "invalid");

	/* r[impl cli.inspect.slots] */
	em_arr(e, "readers");
	for (unsigned i = 0; i < SHMK_SLOTS_MAX_READERS; i++) {
		uint64_t tok = ld64(&h->readers[i]);
		if (!tok)
			continue;
		em_obj(e, NULL);
		em_u64(e, "index", i);
		if (tok == SHMK_SLOTS_READER_LEFT) {
			em_str(e, "state", "left");
		} else {
			em_str(e, "state", "registered");
			em_token_fields(e, tok);
		}
		em_end(e);
	}
	em_end(e);

	if (!si->complete) {
		em_str(e, "slots", "not shown: segment larger than the copy limit");
		return;
	}
	uint32_t committed = 0;
	/* count <= SHMK_SLOTS_MAX_COUNT: bounded */
	for (uint32_t i = 0; i < si->slot_count; i++) {
		const struct shmk_slot_hdr *sl = slot_at(c, si, i);
		uint64_t sn = ld64(&sl->sn);
		uint32_t size = ld32(&sl->sample_size);
		if (!sn)
			continue;
		committed++;
		if (size > si->slot_capacity)
			problem(c, "slots: SHMK_ELAYOUT: slot %u (sn %" PRIu64 ") holds %u bytes > "
				   "capacity %u", i, sn, size, si->slot_capacity);
	}
	em_u64(e, "committed", committed);
	em_arr(e, "slots");
	uint32_t shown = si->slot_count < c->limit ? si->slot_count : c->limit;
	for (uint32_t i = 0; i < shown; i++) {
		const struct shmk_slot_hdr *sl = slot_at(c, si, i);
		em_obj(e, NULL);
		em_u64(e, "index", i);
		em_u64(e, "sn", ld64(&sl->sn));
		em_u64(e, "size", ld32(&sl->sample_size));
		em_hex(e, "reader_mask", ld32(&sl->reader_mask));
		em_end(e);
	}
	em_end(e);
	em_u64(e, "slots_shown", shown);
}

static void slots_summary(const struct ctx *c, struct shmk_cli_summary *s)
{
	const struct shmk_slots_hdr *h = (const void *)c->b;

	if (c->len < SHMK_SLOTS_HDR_SIZE)
		return;
	s->owner = ld64(&h->owner_token);
	s->owner_closed = ld32(&h->owner_state) == SHMK_SLOTS_OWNER_CLOSED;
	for (unsigned i = 0; i < SHMK_SLOTS_MAX_READERS; i++) {
		uint64_t tok = ld64(&h->readers[i]);
		if (tok != SHMK_SLOTS_READER_LEFT)
			s->users[s->nusers++] = tok;
	}
}

/* ------------------------------------------------------------ entry points */

/* The parsers load u64 fields in place: give them a 64-aligned copy. */
static const uint8_t *aligned_copy(const void *buf, size_t len, void **owned)
{
	*owned = NULL;
	if ((uintptr_t)buf % CLI_ALIGN == 0)
		return buf;
	void *p = aligned_alloc(CLI_ALIGN, align_up(len ? len : 1, CLI_ALIGN));
	if (!p)
		return NULL;
	if (len)
		memcpy(p, buf, len);
	*owned = p;
	return p;
}

static void ctx_init(struct ctx *c, const struct shmk_cli_image *img, const uint8_t *b,
		     const struct shmk_cli_opts *o, FILE *out, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->e.f = out;
	c->e.json = o && o->json;
	c->b = b;
	c->len = img->len;
	/* A file size below what we copied would be a lie: trust the copy. */
	c->fsize = img->file_size < img->len ? img->len : img->file_size;
	c->limit = o && o->limit ? (o->limit > CLI_MAX_LIMIT ? CLI_MAX_LIMIT : o->limit)
				 : CLI_DEFAULT_LIMIT;
	c->err = err;
	c->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

int shmk_cli_inspect(const struct shmk_cli_image *img, const struct shmk_cli_opts *o, FILE *out,
		     char *err, size_t errlen)
{
	struct ctx c;
	struct shmk_events_info ei;
	struct shmk_ring_info ri;
	struct shmk_slots_info si;
	void *owned;
	int rc = 0;

	if (!img || (!img->buf && img->len) || !out)
		return 1;
	const uint8_t *b = aligned_copy(img->buf ? img->buf : "", img->len, &owned);
	ctx_init(&c, img, b, o, out, err, errlen);
	if (!b) {
		fail(&c, "%s", strerror(ENOMEM));
		return 1;
	}
	enum shmk_cli_kind k = shmk_cli_kind_of(b, img->len);

	/* r[impl cli.inspect.header-first] nothing is printed before the header
	 * validated, so a bad file yields exactly one error line. */
	switch (k) {
	case SHMK_CLI_EVENTS: rc = events_check(&c, &ei); break;
	case SHMK_CLI_RING: rc = ring_check(&c, &ri); break;
	case SHMK_CLI_SLOTS: rc = slots_check(&c, &si); break;
	case SHMK_CLI_FLINK:
		/* The file layer follows a flink; a bare buffer cannot. */
		fail(&c, "flink file: follow it with `shmkit inspect PATH`");
		rc = -1;
		break;
	default:
		if (img->len == 0)
			fail(&c, "empty file: not a shmkit object");
		else
			fail(&c, "not a shmkit object (no events, ring or slots magic)");
		rc = -1;
	}
	if (rc) {
		free(owned);
		return 1;
	}

	struct em *e = &c.e;
	em_obj(e, NULL);
	/* r[impl cli.inspect.json] */
	if (e->json)
		em_str(e, "schema", "shmkit.inspect/1");
	if (img->path)
		em_str(e, "path", img->path);
	if (img->flink)
		em_str(e, "flink", img->flink);
	em_str(e, "kind", shmk_cli_kind_name(k));
	em_u64(e, "file_size", c.fsize);
	em_u64(e, "copied", c.len);
	if (k == SHMK_CLI_EVENTS)
		events_print(&c, &ei);
	else if (k == SHMK_CLI_RING)
		ring_print(&c, &ri);
	else
		slots_print(&c, &si);
	em_arr(e, "problems");
	for (int i = 0; i < c.nprob; i++)
		em_str(e, NULL, c.prob[i]);
	em_end(e);
	em_bool(e, "ok", c.nprob == 0);
	em_end(e);
	free(owned);
	return c.nprob ? 1 : 0;
}

int shmk_cli_inspect_buf(const void *buf, size_t len, FILE *out, int json)
{
	struct shmk_cli_opts o = { .json = json };
	char err[256];

	/* Always a private, aligned copy: the fuzz build's hostile peer
	 * writes into what we parse, never into the caller's bytes. */
	void *p = aligned_alloc(CLI_ALIGN, align_up(len ? len : 1, CLI_ALIGN));
	if (!p)
		return 1;
	if (len)
		memcpy(p, buf, len);
	struct shmk_cli_image img = { .buf = p, .len = len, .file_size = len };
	int rc = shmk_cli_inspect(&img, &o, out, err, sizeof(err));
	free(p);
	return rc;
}

void shmk_cli_summarize(const struct shmk_cli_image *img, struct shmk_cli_summary *s)
{
	struct ctx c;
	struct shmk_events_info ei;
	struct shmk_ring_info ri;
	struct shmk_slots_info si;
	struct shmk_cli_opts o = { 0 };
	void *owned;

	memset(s, 0, sizeof(*s));
	if (!img || (!img->buf && img->len))
		return;
	const uint8_t *b = aligned_copy(img->buf ? img->buf : "", img->len, &owned);
	if (!b)
		return;
	ctx_init(&c, img, b, &o, NULL, NULL, 0);
	s->kind = shmk_cli_kind_of(b, img->len);
	switch (s->kind) {
	case SHMK_CLI_EVENTS:
		s->rc = shmk_events_describe(b, c.len, &ei);
		s->valid = s->rc == 0;
		events_summary(&ei, s);
		break;
	case SHMK_CLI_RING:
		s->rc = ring_check(&c, &ri);
		s->valid = s->rc == 0;
		ring_summary(&c, &ri, s);
		break;
	case SHMK_CLI_SLOTS:
		s->rc = slots_check(&c, &si);
		s->valid = s->rc == 0;
		slots_summary(&c, s);
		break;
	case SHMK_CLI_FLINK:
		s->valid = shmk_cli_flink_name(b, c.len, s->flink_name) == 0;
		break;
	default:
		break;
	}
	free(owned);
}
