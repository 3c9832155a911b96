/* SPDX-License-Identifier: MIT */
/* slots tests: the one validator, shared by attach and the CLI, on every prefix of a live segment. */
#include "slots_test.h"

/* ------------------------------------------------------------ the one validator */

#define VS_FIRST_SN ((uint64_t)UINT32_MAX - 1)	/* next_sn crosses 2^32 */

struct vs_seg {
	uint64_t token;		/* the creator's */
	char name[256];		/* segment shm name */
};

/* The creator process: 5 slots of 100 bytes, two commits; ships its
 * token and segment name, then waits for `go` and leaves WITHOUT closing,
 * so its header stays as it set it. */
static void vs_creator(const char *fl, int out, int go)
{
	struct shmk_slots_opts opts = { .first_sn = VS_FIRST_SN };
	struct shmk_slots *o = NULL;
	struct vs_seg seg = { 0 };
	shmk_slot_handle_t h;
	uint64_t sn;
	char c;

	int ok = shmk_slots_create_opts(fl, 5, 100, &opts, &o) == 0 &&
		 shmk_slots_reserve_slot(o, 0, &h) == 0 &&
		 shmk_slots_commit_slot(o, h, "one", 3, &sn, NULL) == 0 &&
		 shmk_slots_reserve_slot(o, 0, &h) == 0 &&
		 shmk_slots_commit_slot(o, h, "two", 3, &sn, NULL) == 0;
	if (ok) {
		seg.token = shmk_self_token();
		snprintf(seg.name, sizeof(seg.name), "%s", shmk_slots_shm_name(o));
	}
	ok = write(out, &seg, sizeof(seg)) == (ssize_t)sizeof(seg) && ok;
	ok = read(go, &c, 1) == 1 && ok;
	_exit(ok ? 0 : 1);
}

static uint8_t *vs_copy(const char *name, size_t *len)
{
	uint8_t *b = t_copy_fd(shm_open(name, O_RDONLY, 0), len);

	CU_ASSERT_FATAL(b != NULL);
	return b;
}

/* A prefix of the whole segment (size bytes, slots in the first need). */
struct vs_prefix {
	uint64_t size, need;
};

static int vs_prefix_ok(const uint8_t *t, size_t l, void *arg)
{
	const struct vs_prefix *p = arg;
	struct shmk_slots_info si;

	/* as a truncated segment: too small for the header, then for the slots */
	int rc = shmk_slots_validate(t, l, l, &si);
	if (rc != (l < SHMK_SLOTS_HDR_SIZE ? SHMK_ETOOSMALL : l < p->need ? SHMK_ELAYOUT : 0))
		return 0;
	/* as a partial copy of the real one: the header is needed, the
	 * slot table is not (complete says whether it is there) */
	rc = shmk_slots_validate(t, l, p->size, &si);
	if (l < SHMK_SLOTS_HDR_SIZE)
		return rc == SHMK_ETOOSMALL;
	return rc == 0 && si.complete == (l >= p->need) && si.slot_count == 5;
}

/* Each header field at its boundaries (patches): the validator on a copy
 * of b and attach on the segment (name, flink fl) give the same code; the
 * owner fields are a snapshot, not a rule. */
static const struct {
	size_t off;
	uint32_t val;
	int want;
} vs_patches[] = {
	{ 0x00, 0, SHMK_EBADMAGIC },
	{ 0x00, SHMK_SLOTS_MAGIC ^ 1, SHMK_EBADMAGIC },
	{ 0x00, SHMK_SLOTS_ZERODDS_MAGIC, SHMK_EBADMAGIC },
	{ 0x00, UINT32_MAX, SHMK_EBADMAGIC },
	{ 0x1c, 0, SHMK_ELAYOUT },
	{ 0x1c, SHMK_SLOTS_HDR_SIZE - 1, SHMK_ELAYOUT },
	{ 0x1c, SHMK_SLOTS_HDR_SIZE + 1, SHMK_ELAYOUT },
	{ 0x1c, UINT32_MAX, SHMK_ELAYOUT },
	{ 0x04, 0, SHMK_ELAYOUT },
	{ 0x04, 1, 0 },			/* fewer slots than the file holds */
	{ 0x04, 6, SHMK_ELAYOUT },	/* one more than it holds */
	{ 0x04, SHMK_SLOTS_MAX_COUNT, SHMK_ELAYOUT },
	{ 0x04, SHMK_SLOTS_MAX_COUNT + 1, SHMK_ELAYOUT },
	{ 0x04, UINT32_MAX, SHMK_ELAYOUT },
	{ 0x0c, 0, SHMK_ELAYOUT },
	{ 0x0c, 1, SHMK_ELAYOUT },	/* needs 64, not 128 */
	{ 0x0c, 112, 0 },		/* the largest that still needs 128 */
	{ 0x0c, 113, SHMK_ELAYOUT },
	{ 0x0c, UINT32_MAX - 79, SHMK_ELAYOUT },
	{ 0x0c, UINT32_MAX - 78, SHMK_ELAYOUT },
	{ 0x0c, UINT32_MAX, SHMK_ELAYOUT },
	{ 0x08, 0, SHMK_ELAYOUT },
	{ 0x08, 64, SHMK_ELAYOUT },
	{ 0x08, 127, SHMK_ELAYOUT },
	{ 0x08, 129, SHMK_ELAYOUT },
	{ 0x08, 192, SHMK_ELAYOUT },
	{ 0x08, UINT32_MAX, SHMK_ELAYOUT },
};

/* The creator's segment, whole (need bytes used): accepted, and the info is
 * what the creator (owner token tok) set. */
static void vs_info(const uint8_t *b, size_t size, size_t need, uint64_t tok)
{
	struct shmk_slots_info si;

	memset(&si, 0xee, sizeof(si));
	CU_ASSERT_EQUAL_FATAL(shmk_slots_validate(b, size, size, &si), 0);
	CU_ASSERT_EQUAL(si.slot_count, 5);
	CU_ASSERT_EQUAL(si.slot_capacity, 100);
	CU_ASSERT_EQUAL(si.slot_total_size, 128);
	CU_ASSERT_EQUAL(si.segment_size, need);
	CU_ASSERT_EQUAL(si.owner_token, tok);
	CU_ASSERT_EQUAL(si.owner_state, SHMK_SLOTS_OWNER_LIVE);
	CU_ASSERT_EQUAL(si.next_sn, VS_FIRST_SN + 2);
	CU_ASSERT_EQUAL(si.readers, 1);
	CU_ASSERT_EQUAL(si.complete, 1);
	CU_ASSERT_EQUAL(shmk_slots_validate(b, size, size, NULL), 0);
}

static void vs_fields(const char *fl, const char *name, const uint8_t *b, size_t size)
{
	struct shmk_slots_info si;
	size_t rawlen;
	uint8_t *raw = raw_map(name, &rawlen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	uint8_t *t = malloc(size);
	CU_ASSERT_FATAL(t != NULL);
	for (size_t i = 0; i < sizeof(vs_patches) / sizeof(vs_patches[0]); i++) {
		struct shmk_slots *r = NULL;
		memcpy(t, b, size);
		memcpy(t + vs_patches[i].off, &vs_patches[i].val, 4);
		int rc = shmk_slots_validate(t, size, size, &si);
		if (rc != vs_patches[i].want)
			fprintf(stderr, "slots: patch %zu (off %#zx = %#x): %d (%s), want %s\n", i,
				vs_patches[i].off, vs_patches[i].val, rc, shmk_errname(rc),
				shmk_errname(vs_patches[i].want));
		CU_ASSERT_EQUAL(rc, vs_patches[i].want);
		if (rc) {
			CU_ASSERT_PTR_NOT_NULL(shmk_errname(rc));
			CU_ASSERT(shmk_errdetail() && *shmk_errdetail());
		}
		memcpy(raw + vs_patches[i].off, &vs_patches[i].val, 4);
		CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), vs_patches[i].want);
		if (r)
			shmk_slots_close(r);
		memcpy(raw + vs_patches[i].off, b + vs_patches[i].off, 4);
	}
	/* the owner fields are a snapshot, not a rule */
	memcpy(t, b, size);
	memset(t + 0x10, 0xff, 8);	/* next_sn */
	memset(t + 0x20, 0xff, 0x10);	/* owner token, state, waiters */
	CU_ASSERT_EQUAL(shmk_slots_validate(t, size, size, &si), 0);
	CU_ASSERT_EQUAL(si.next_sn, UINT64_MAX);
	CU_ASSERT_EQUAL(si.owner_token, UINT64_MAX);
	CU_ASSERT_EQUAL(si.owner_state, UINT32_MAX);
	free(t);
	munmap(raw, rawlen);
}

static void validate_shared(void)
{
	char fl[256];
	int out[2], go[2];
	struct vs_seg seg;

	new_flink(fl, sizeof(fl));
	CU_ASSERT_EQUAL_FATAL(pipe(out), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		vs_creator(fl, out[1], go[0]);
	close(out[1]);
	close(go[0]);
	CU_ASSERT_EQUAL_FATAL(read(out[0], &seg, sizeof(seg)), (ssize_t)sizeof(seg));
	close(out[0]);
	CU_ASSERT_FATAL(seg.token != 0);

	/* a reader in this process, so the registry holds one token */
	struct shmk_slots *rd = NULL;
	unsigned idx;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &rd), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(rd, 3, &idx), 0);

	/* (a) the whole segment, exactly: accepted, the info is what the
	 * creator set */
	size_t size;
	uint8_t *b = vs_copy(seg.name, &size);
	size_t need = SHMK_SLOTS_HDR_SIZE + 5 * 128;
	CU_ASSERT_FATAL(size >= need);
	vs_info(b, size, need, seg.token);
	uint8_t *again = vs_copy(seg.name, &size);
	CU_ASSERT_EQUAL(memcmp(b, again, size), 0);	/* it wrote nothing */
	free(again);
	shmk_slots_close(rd);
	CU_ASSERT_EQUAL(write(go[1], "x", 1), 1);
	close(go[1]);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);

	/* misuse */
	struct shmk_slots_info si;
	CU_ASSERT_EQUAL(shmk_slots_validate(NULL, 0, size, &si), -EINVAL);
	CU_ASSERT_EQUAL(shmk_slots_validate(b, size, size - 1, &si), -EINVAL);
	CU_ASSERT_EQUAL(shmk_slots_validate(b + 4, 0x140, size, &si), SHMK_EMISALIGNED);

	/* (b) every truncation length, each in a buffer of exactly that many
	 * bytes */
	struct vs_prefix pre = { size, need };
	CU_ASSERT_EQUAL(t_each_prefix(b, size, vs_prefix_ok, &pre), 0);

	vs_fields(fl, seg.name, b, size);
	free(b);
	/* the creator died without closing: its objects are stale now */
	CU_ASSERT_EQUAL(shmk_slots_reclaim_stale(fl), 0);
}
H_REGISTER(validate_shared, 60, "slots.validate.shared");
