/* SPDX-License-Identifier: MIT */
/* cli tests: inspect on hostile, torn, changing and odd files; usage. */
#include "cli_test.h"

/* ------------------------------------------------------------ inspect: hostile files */

struct images {
	uint8_t *ev, *rg, *sl;
	size_t evl, rgl, sll;
	char dir[PATH_MAX];
};

/* Valid images of all three kinds, copied from live peers' files. */
static int make_images(struct images *im)
{
	char p[PATH_MAX], f[PATH_MAX], seg[300];
	memset(im, 0, sizeof(*im));
	if (!new_dir(im->dir, sizeof(im->dir)))
		return -1;
	const char *ea[] = { im->dir, "ev", "5", "2", NULL };
	pid_t a = spawn_ready("events-peer", ea);
	pid_t b = spawn_at("ring-peer", im->dir, "ring", "4", p, sizeof(p));
	pid_t c = spawn_at("slots-peer", im->dir, "s.flink", "2", f, sizeof(f));
	int rc = a > 0 && b > 0 && c > 0 ? 0 : -1;
	if (!rc) {
		char ev[PATH_MAX];
		snprintf(ev, sizeof(ev), "%s/ev", im->dir);
		im->ev = slurp(ev, &im->evl);
		im->rg = slurp(p, &im->rgl);
		size_t fl;
		uint8_t *fb = slurp(f, &fl);
		if (fb && fl < 250) {
			snprintf(seg, sizeof(seg), "/dev/shm%.*s", (int)fl, (char *)fb);
			char *nl = strchr(seg, '\n');
			if (nl)
				*nl = '\0';
			im->sl = slurp(seg, &im->sll);
		}
		free(fb);
		unlink(ev);
		unlink(p);
	}
	kill_wait(a);
	kill_wait(b);
	kill_wait(c);
	shmk_slots_reclaim_stale(f);
	return rc || !im->ev || !im->rg || !im->sl ? -1 : 0;
}

static void free_images(struct images *im)
{
	free(im->ev);
	free(im->rg);
	free(im->sl);
}

/* Writes bytes to a file and checks the tool refuses it properly. */
static void expect_refused(const char *dir, const char *what, const void *b, size_t len)
{
	char path[PATH_MAX];
	struct res r;
	snprintf(path, sizeof(path), "%s/bad-%s", dir, what);
	CU_ASSERT_EQUAL_FATAL(spew(path, b, len), 0);
	const char *a[] = { "shmkit", "inspect", path, NULL };
	int st = run(&r, a);
	if (st != 1 || r.outlen != 0 || !one_error_line(&r, path) || !sanitizer_quiet(&r))
		fprintf(stderr, "cli: %s: status %d, stdout %zu bytes, stderr: %.300s\n", what, st,
			r.outlen, r.err);
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_EQUAL(r.outlen, 0);	/* header-first: nothing on stdout */
	CU_ASSERT(one_error_line(&r, path));
	CU_ASSERT(sanitizer_quiet(&r));
	res_free(&r);
	unlink(path);
}

/* Header valid, body impossible: report with problems, exit 1. */
static void expect_problem(const char *dir, const char *what, const void *b, size_t len,
			   const char *needle)
{
	char path[PATH_MAX];
	struct res r;
	snprintf(path, sizeof(path), "%s/body-%s", dir, what);
	CU_ASSERT_EQUAL_FATAL(spew(path, b, len), 0);
	const char *a[] = { "shmkit", "inspect", "--json", path, NULL };
	int st = run(&r, a);
	if (st != 1 || !strstr(r.err, needle))
		fprintf(stderr, "cli: %s: status %d, stderr: %.300s\n", what, st, r.err);
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT(one_error_line(&r, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, needle));
	CU_ASSERT(jq_is(r.out, ".ok", "false"));
	CU_ASSERT(jq_is(r.out, ".problems | length > 0", "true"));
	CU_ASSERT(sanitizer_quiet(&r));
	res_free(&r);
	unlink(path);
}

/* `shmkit inspect path` must fail: exit 1, one error line naming path, with
 * needle in it unless needle is NULL. */
static void inspect_fails(const char *path, const char *needle)
{
	struct res r;
	const char *a[] = { "shmkit", "inspect", path, NULL };

	CU_ASSERT_EQUAL(run(&r, a), 1);
	CU_ASSERT(one_error_line(&r, path));
	if (needle)
		CU_ASSERT_PTR_NOT_NULL(strstr(r.err, needle));
	res_free(&r);
}

/* b written to dir/name, then `shmkit inspect --json` on it: its exit
 * status, and its output in r (res_free it). */
static int inspect_json(struct res *r, const char *dir, const char *name, const void *b,
			size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CU_ASSERT_EQUAL_FATAL(spew(path, b, len), 0);
	const char *a[] = { "shmkit", "inspect", "--json", path, NULL };
	return run(r, a);
}

static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
struct patch {
	const char *name;
	int kind;	/* 0 events, 1 ring, 2 slots */
	size_t off;
	int width;
	uint64_t val;
};

static void bad_files(void)
{
	struct images im;
	CU_ASSERT_EQUAL_FATAL(make_images(&im), 0);
	const char *d = im.dir;
	size_t page = shmk_page_size();
	uint8_t *b = malloc(im.evl + im.rgl + im.sll + 65536);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);

	/* the valid images pass, so every refusal below is the patch's doing */
	char path[PATH_MAX];
	struct res r;
	const uint8_t *imgs[3] = { im.ev, im.rg, im.sl };
	size_t lens[3] = { im.evl, im.rgl, im.sll };
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "%s/good-%d", d, k);
		CU_ASSERT_EQUAL(spew(path, imgs[k], lens[k]), 0);
		const char *a[] = { "shmkit", "inspect", path, NULL };
		CU_ASSERT_EQUAL(run(&r, a), 0);
		res_free(&r);
		unlink(path);
	}

	expect_refused(d, "empty", "", 0);
	expect_refused(d, "one-byte", "\x49", 1);
	expect_refused(d, "text", "hello world\n", 12);

	/* truncated copies of each kind */
	static const size_t cuts[] = { 3, 4, 15, 16, 63, 64, 100, 319, 320, 4095, 4096, 8192 };
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			if (cuts[i] >= lens[k])
				continue;
			char w[64];
			snprintf(w, sizeof(w), "trunc-%d-%zu", k, cuts[i]);
			expect_refused(d, w, imgs[k], cuts[i]);
		}
		char w[64];
		snprintf(w, sizeof(w), "trunc-%d-minus1", k);
		expect_refused(d, w, imgs[k], lens[k] - 1);
	}

	/* field by field */
	size_t wp = page + 65536;	/* ring writers page */
	const struct patch patches[] = {
		{ "ev-magic", 0, 0, 4, 0x12345678 },
		{ "ev-version", 0, 4, 2, 2 },
		{ "ev-kind", 0, 6, 2, 7 },
		{ "ev-caps", 0, 8, 4, 0x80 },
		{ "ev-layout-bytes", 0, 12, 4, 4096 },
		{ "ev-layout-bytes-big", 0, 12, 4, 0xffffffff },
		{ "ev-init-none", 0, 16, 4, 0 },
		{ "ev-init-busy", 0, 16, 4, 1 },
		{ "ev-init-bad", 0, 16, 4, 9 },
		{ "ev-slot-count", 0, 64 + 8, 4, 7 },
		{ "ring-magic", 1, 16, 8, 0x1 },
		{ "ring-version", 1, 24, 4, 9 },
		{ "ring-page", 1, 28, 4, 512 },
		{ "ring-cap-odd", 1, 32, 8, 65536 + 8 },
		{ "ring-cap-small", 1, 32, 8, 4096 },
		{ "ring-cap-huge", 1, 32, 8, 1ull << 40 },
		{ "ring-cap-other", 1, 32, 8, 65536 * 2 },
		{ "ring-wmagic", 1, wp, 8, 0 },
		{ "ring-wversion", 1, wp + 8, 4, 3 },
		{ "ring-wslots", 1, wp + 12, 4, 65 },
		{ "slots-magic", 2, 0, 4, 0x5A445354 },
		{ "slots-count-zero", 2, 4, 4, 0 },
		{ "slots-count-big", 2, 4, 4, 0xffffffff },
		{ "slots-count-over", 2, 4, 4, 9 },
		{ "slots-total", 2, 8, 4, 64 },
		{ "slots-cap-zero", 2, 12, 4, 0 },
		{ "slots-cap-huge", 2, 12, 4, 0xffffffff },
		{ "slots-hdr-size", 2, 0x1c, 4, 0x20 },
	};
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		const struct patch *p = &patches[i];
		memcpy(b, imgs[p->kind], lens[p->kind]);
		if (p->width == 2)
			put16(b, p->off, (uint16_t)p->val);
		else if (p->width == 4)
			put32(b, p->off, (uint32_t)p->val);
		else
			put64(b, p->off, p->val);
		expect_refused(d, p->name, b, lens[p->kind]);
	}

	/* random bytes, with and without a planted magic: any status but a
	 * crash is acceptable for a planted magic (all-random tails may be
	 * valid), and exactly 1 without one */
	uint64_t seed = h_seed();
	for (int t = 0; t < 24; t++) {
		size_t len = (size_t)(t % 4 == 0 ? 4096 : t % 4 == 1 ? im.evl : t % 4 == 2 ? im.rgl : 600);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			b[i] = (uint8_t)(seed >> 56);
		}
		int plant = t % 6;
		if (plant == 1)
			put32(b, 0, SHMK_EVENTS_MAGIC);
		else if (plant == 2)
			put32(b, 0, SHMK_SLOTS_MAGIC);
		else if (plant == 3)
			put64(b, 16, SHMK_RING_MAGIC);
		else if (plant == 4) {	/* a valid header, random body */
			memcpy(b, im.sl, 0x140);
			len = im.sll;
		}
		char w[64];
		if (plant == 0) {
			snprintf(w, sizeof(w), "random-%d", t);
			expect_refused(d, w, b, len);
			continue;
		}
		snprintf(path, sizeof(path), "%s/rand-%d", d, t);
		CU_ASSERT_EQUAL(spew(path, b, len), 0);
		const char *a[] = { "shmkit", "inspect", "--json", path, NULL };
		int st = run(&r, a);
		CU_ASSERT(st == 0 || st == 1);
		CU_ASSERT(sanitizer_quiet(&r));
		if (st == 1)
			CU_ASSERT(one_error_line(&r, path));
		res_free(&r);
		unlink(path);
	}
	free(b);
	free_images(&im);
}
H_REGISTER(bad_files, 600, "cli.exit.error", "cli.inspect.header-first", "cli.inspect.recognise+2", "cli.inspect.validate");

static void body_problems(void)
{
	struct images im;
	CU_ASSERT_EQUAL_FATAL(make_images(&im), 0);
	const char *d = im.dir;
	size_t page = shmk_page_size();
	uint8_t *b = malloc(im.evl + im.rgl + im.sll);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	const size_t spsc = offsetof(struct shmk_events_layout, spsc);
	const size_t mpsc = offsetof(struct shmk_events_layout, mpsc);
	uint64_t head;

	/* events: depth over capacity, both queues */
	memcpy(b, im.ev, im.evl);
	memcpy(&head, b + spsc + 64, 8);
	put64(b, spsc, head + 5000);
	expect_problem(d, "spsc-depth", b, im.evl, "SHMK_EINTEGRITY");
	memcpy(b, im.ev, im.evl);
	memcpy(&head, b + mpsc + 64, 8);
	put64(b, mpsc, head + SHMK_EVENTS_QUEUE_CAP + 1);
	expect_problem(d, "mpsc-depth", b, im.evl, "mpsc");
	/* events: a free list that cycles, one that leaves the pool */
	memcpy(b, im.ev, im.evl);
	uint64_t fh;
	memcpy(&fh, b + 64, 8);
	put32(b, offsetof(struct shmk_events_layout, slots) + (size_t)((uint32_t)fh) * 272,
	      (uint32_t)fh);
	expect_problem(d, "pool-cycle", b, im.evl, "cycles");
	memcpy(b, im.ev, im.evl);
	put64(b, 64, (fh & ~0xffffffffull) | 5000);
	expect_problem(d, "pool-range", b, im.evl, "pool");

	/* ring: head far past tail, misaligned, a record that lies */
	memcpy(b, im.rg, im.rgl);
	put64(b, 0, 65536 * 3);
	expect_problem(d, "ring-used", b, im.rgl, "SHMK_EINTEGRITY");
	memcpy(b, im.rg, im.rgl);
	put64(b, 0, 20);
	expect_problem(d, "ring-align", b, im.rgl, "aligned");
	memcpy(b, im.rg, im.rgl);
	put64(b, 8, 65536 * 2);	/* tail far beyond head */
	expect_problem(d, "ring-tail", b, im.rgl, "SHMK_EINTEGRITY");
	memcpy(b, im.rg, im.rgl);
	put64(b, page + 8, 60000);	/* first record's len */
	expect_problem(d, "ring-badlen", b, im.rgl, "SHMK_EBADLEN");

	/* slots: a committed sample larger than its slot */
	memcpy(b, im.sl, im.sll);
	for (uint32_t i = 0; i < 8; i++) {
		uint64_t sn;
		memcpy(&sn, b + 0x140 + i * 128, 8);
		if (sn)
			put32(b, 0x140 + i * 128 + 8, 101);
	}
	expect_problem(d, "slots-size", b, im.sll, "capacity");
	free(b);
	free_images(&im);
}
H_REGISTER(body_problems, 300, "cli.inspect.integrity");

/* A head that overtook the copied tail by at most the capacity is a torn
 * copy, not corruption. */
static void torn_copy(void)
{
	struct images im;
	CU_ASSERT_EQUAL_FATAL(make_images(&im), 0);
	struct res r;
	const size_t spsc = offsetof(struct shmk_events_layout, spsc);
	uint64_t tail, head;

	memcpy(&tail, im.ev + spsc, 8);
	put64(im.ev, spsc + 64, tail + 3);	/* head = tail + 3 */
	CU_ASSERT_EQUAL(inspect_json(&r, im.dir, "torn-ev", im.ev, im.evl), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".spsc.depth"), 0);
	res_free(&r);
	memcpy(&head, im.rg, 8);
	put64(im.rg, 8, head + 8);	/* tail = head + 8 */
	CU_ASSERT_EQUAL(inspect_json(&r, im.dir, "torn-ring", im.rg, im.rgl), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.used"), 0);
	res_free(&r);
	free_images(&im);
}
H_REGISTER(torn_copy, 120, "cli.inspect.snapshot");

/* Another process rewrites and truncates the file while the tool reads. */
static void changing_file(void)
{
	struct images im;
	CU_ASSERT_EQUAL_FATAL(make_images(&im), 0);
	char path[PATH_MAX];
	struct res r;
	snprintf(path, sizeof(path), "%s/moving", im.dir);
	for (int k = 0; k < 2; k++) {
		const uint8_t *img = k ? im.rg : im.ev;
		size_t len = k ? im.rgl : im.evl;
		CU_ASSERT_EQUAL_FATAL(spew(path, img, len), 0);
		_Atomic uint32_t *stop = t_shared_alloc(sizeof(*stop));
		pid_t w = fork();
		if (w == 0) {
			int fd = open(path, O_RDWR);
			uint64_t s = 12345 + (uint64_t)k;
			while (fd >= 0 && !atomic_load(stop)) {
				s = s * 6364136223846793005ull + 1442695040888963407ull;
				size_t off = (size_t)(s >> 33) % len;
				uint8_t v = (uint8_t)(s >> 20);
				if (pwrite(fd, &v, 1, (off_t)off) != 1)
					break;
				if ((s >> 60) == 0) {
					if (ftruncate(fd, (off_t)((s >> 40) % len)))
						break;
					if (pwrite(fd, img, len, 0) != (ssize_t)len)
						break;
				}
			}
			_exit(0);
		}
		CU_ASSERT_FATAL(w > 0);
		int ok = 0, bad = 0;
		for (int i = 0; i < 25; i++) {
			const char *a[] = { "shmkit", "inspect", i % 2 ? "--json" : path,
					    i % 2 ? path : NULL, NULL };
			int st = run(&r, a);
			if (st == 0)
				ok++;
			else if (st == 1 && one_error_line(&r, path))
				bad++;
			else
				fprintf(stderr, "cli: moving file: status %d: %.300s\n", st, r.err);
			CU_ASSERT(st == 0 || st == 1);
			CU_ASSERT(sanitizer_quiet(&r));
			res_free(&r);
		}
		CU_ASSERT_EQUAL(ok + bad, 25);
		atomic_store(stop, 1);
		CU_ASSERT_EQUAL(h_wait(w, 30), 0);
		t_shared_free((void *)stop, sizeof(*stop));
	}
	unlink(path);
	free_images(&im);
}
H_REGISTER(changing_file, 300, "cli.exit.error", "cli.inspect.copy");

static void not_regular(void)
{
	char dir[PATH_MAX], p[PATH_MAX], l[PATH_MAX], ld[PATH_MAX];
	struct res r;
	struct images im;
	CU_ASSERT_EQUAL_FATAL(make_images(&im), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));

	/* a FIFO must neither block nor be read */
	snprintf(p, sizeof(p), "%s/fifo", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(p, 0600), 0);
	inspect_fails(p, "not a regular file");
	inspect_fails(dir, NULL);

	/* a symlink to a valid region, and a valid region behind a symlinked dir */
	snprintf(p, sizeof(p), "%s/ev", dir);
	CU_ASSERT_EQUAL_FATAL(spew(p, im.ev, im.evl), 0);
	const char *a3[] = { "shmkit", "inspect", p, NULL };
	CU_ASSERT_EQUAL(run(&r, a3), 0);
	res_free(&r);
	snprintf(l, sizeof(l), "%s/link", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(p, l), 0);
	inspect_fails(l, "symbolic link");
	snprintf(ld, sizeof(ld), "%s-linkdir", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(dir, ld), 0);
	snprintf(l, sizeof(l), "%s/ev", ld);
	inspect_fails(l, NULL);
	unlink(ld);

	/* a flink naming a missing segment, and one naming a non-slots object */
	snprintf(p, sizeof(p), "%s/missing.flink", dir);
	CU_ASSERT_EQUAL(spew(p, "/shmk-test-no-such-segment\n", 27), 0);
	inspect_fails(p, NULL);
	char shm[128], shmpath[160];
	h_unique_shm_name(shm, sizeof(shm));
	snprintf(shmpath, sizeof(shmpath), "/dev/shm%s", shm);
	CU_ASSERT_EQUAL(spew(shmpath, im.ev, im.evl), 0);
	snprintf(p, sizeof(p), "%s/events.flink", dir);
	CU_ASSERT_EQUAL(spew(p, shm, strlen(shm)), 0);
	inspect_fails(p, "not a slots segment");
	unlink(shmpath);
	free_images(&im);
}
H_REGISTER(not_regular, 180, "cli.inspect.regular", "cli.inspect.nofollow", "cli.inspect.flink");

static void usage(void)
{
	struct res r;
	static const char *const bad[][5] = {
		{ "shmkit", NULL },
		{ "shmkit", "bogus", NULL },
		{ "shmkit", "inspect", NULL },
		{ "shmkit", "inspect", "--bogus", "x", NULL },
		{ "shmkit", "inspect", "a", "b", NULL },
		{ "shmkit", "inspect", "--limit", "0", NULL },
		{ "shmkit", "inspect", "--limit", NULL },
		{ "shmkit", "ls", "--bogus", NULL },
		{ "shmkit", "gc", "--bogus", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(run(&r, (const char *const *)bad[i]), 2);
		CU_ASSERT(r.errlen > 0);
		CU_ASSERT(sanitizer_quiet(&r));
		res_free(&r);
	}
	const char *v[] = { "shmkit", "--version", NULL };
	CU_ASSERT_EQUAL(run(&r, v), 0);
	CU_ASSERT_EQUAL(strncmp(r.out, "shmkit ", 7), 0);
	CU_ASSERT(r.outlen > 8 && r.out[7] >= '0' && r.out[7] <= '9');
	res_free(&r);
	const char *h[] = { "shmkit", "help", NULL };
	CU_ASSERT_EQUAL(run(&r, h), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: shmkit inspect"));
	res_free(&r);
	/* a missing file is exit 1, not a usage error */
	const char *m[] = { "shmkit", "inspect", "/nonexistent/shmkit-test", NULL };
	CU_ASSERT_EQUAL(run(&r, m), 1);
	CU_ASSERT(one_error_line(&r, "/nonexistent/shmkit-test"));
	res_free(&r);
}
H_REGISTER(usage, 120, "cli.exit.usage", "cli.cmd.version");
