/* SPDX-License-Identifier: MIT */
/* ring tests: the one validator every attach and writer open shares. */
#include "ring_test.h"

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

/* The creator's file, whole: accepted, and the info is what the creator
 * (reader token tok) set. */
static void vs_info(const uint8_t *b, size_t size, uint64_t tok)
{
	struct shmk_ring_info ri;

	memset(&ri, 0xee, sizeof(ri));
	CU_ASSERT_EQUAL_FATAL(shmk_ring_validate(b, size, size, &ri), 0);
	CU_ASSERT_EQUAL(ri.capacity, CAP64K);
	CU_ASSERT_EQUAL(ri.file_size, size);
	CU_ASSERT_EQUAL(ri.page_size, PAGE);
	CU_ASSERT_EQUAL(ri.version, SHMK_RING_VERSION);
	CU_ASSERT_EQUAL(ri.tail, VS_INIT);
	CU_ASSERT_EQUAL(ri.head, VS_INIT + shmk_ring_record_len(3) + shmk_ring_record_len(100));
	CU_ASSERT_EQUAL(ri.reader, tok);
	CU_ASSERT_EQUAL(ri.registered, 1);
	CU_ASSERT_EQUAL(ri.writers, 1);
	CU_ASSERT_EQUAL(ri.complete, 1);
	CU_ASSERT_EQUAL(shmk_ring_validate(b, size, size, NULL), 0);
}

/* Each header field at its boundaries: the validator on a copy of b and
 * attach on the file at path refuse with the same named code. */
static void vs_fields(const char *path, const uint8_t *b, size_t size)
{
	uint64_t cap = CAP64K, page = PAGE;
	struct shmk_ring_info ri;
	size_t wp = page + cap;
	const struct vs_patch patches[] = {
		{ 16, 8, 0, SHMK_ENOTINIT },
		{ 16, 8, 1, SHMK_EBADMAGIC },
		{ 16, 8, SHMK_RING_MAGIC ^ 1, SHMK_EBADMAGIC },
		{ 16, 8, UINT64_MAX, SHMK_EBADMAGIC },
		{ 24, 4, 0, SHMK_EVERSION },
		{ 24, 4, 1, SHMK_EVERSION },		/* ring.layout.version */
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
		{ wp + 8, 4, 1, SHMK_EVERSION },
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
	free(t);
	munmap(raw, rawlen);
}

static void validate_shared(void)
{
	char path[256];
	int pfd[2];
	struct shmk_ring_info ri;

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

	size_t size;
	uint8_t *b = copy_file(path, &size);
	CU_ASSERT_EQUAL_FATAL(size, 2 * PAGE + CAP64K);
	vs_info(b, size, tok);
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
	struct vs_prefix pre = { size, CAP64K };
	CU_ASSERT_EQUAL(t_each_prefix(b, size, vs_prefix_ok, &pre), 0);

	vs_fields(path, b, size);
	/* the restored file attaches again (the creator is dead) */
	struct shmk_ring *r = NULL;
	CU_ASSERT_EQUAL(shmk_ring_attach(path, &r), 0);
	shmk_ring_close(r);
	free(b);
	unlink(path);
}
H_REGISTER(validate_shared, 60, "ring.validate.shared", "ring.layout.version");

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
