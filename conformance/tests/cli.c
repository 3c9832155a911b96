/* SPDX-License-Identifier: MIT */
/*
 * Tests of conformance/spec/cli.md: they run the real sanitizer build of
 * the tool ($(VB)/bin/shmkit, found next to this program's directory)
 * against objects that live peer processes (roles) created, against
 * copies of those objects with truncated, random and field-by-field
 * corrupted bytes, and against a file another process rewrites while the
 * tool reads it.  JSON output is checked with jq.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Test paths are short (h_tmpdir + a few bytes); a truncated one fails the
 * open that follows, so the warning adds nothing here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "internal.h"
#include "shmkit/events.h"
#include "shmkit/ring.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

#define OUT_MAX (256 * 1024)
#define ERR_MAX (16 * 1024)
#define RING_TAG 0x5157ull
#define SLOTS_FIRST_SN 0xfffffffeull

static char g_bin[PATH_MAX];

/* ------------------------------------------------------------ running the tool */

struct res {
	int status;
	char *out;
	size_t outlen;
	char *err;
	size_t errlen;
};

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static const char *bin(void)
{
	if (g_bin[0])
		return g_bin;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "build/check/bin/shmkit";
	exe[n] = '\0';
	/* <VB>/tests/cli -> <VB>/bin/shmkit */
	char *s = strrchr(exe, '/');
	if (s)
		*s = '\0';
	s = strrchr(exe, '/');
	if (s)
		*s = '\0';
	snprintf(g_bin, sizeof(g_bin), "%s/bin/shmkit", exe);
	return g_bin;
}

/* Runs argv (argv[0] replaced by the tool unless it starts with '/'),
 * capturing stdout and stderr.  drop: as nobody.  env: "K=V" or NULL. */
static int run_env(struct res *r, int drop, const char *env, const char *const *argv)
{
	int po[2], pe[2];

	memset(r, 0, sizeof(*r));
	r->out = calloc(1, OUT_MAX + 1);
	r->err = calloc(1, ERR_MAX + 1);
	if (!r->out || !r->err || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		/* A sanitizer report must not look like our exit status 1. */
		const char *a = getenv("ASAN_OPTIONS"), *u = getenv("UBSAN_OPTIONS");
		char ab[1024], ub[1024];
		snprintf(ab, sizeof(ab), "%s%sabort_on_error=1:exitcode=99%s", a ? a : "",
			 a ? ":" : "", drop ? ":detect_leaks=0" : "");
		snprintf(ub, sizeof(ub), "%s%shalt_on_error=1:abort_on_error=1", u ? u : "",
			 u ? ":" : "");
		setenv("ASAN_OPTIONS", ab, 1);
		setenv("UBSAN_OPTIONS", ub, 1);
		if (env)
			putenv((char *)env);
		if (drop && h_drop_privileges())
			_exit(98);
		const char *prog = argv[0][0] == '/' ? argv[0] : bin();
		execv(prog, (char *const *)argv);
		_exit(97);
	}
	close(po[1]);
	close(pe[1]);
	if (pid < 0)
		return -1;
	struct pollfd pf[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
	int open_n = 2;
	int64_t deadline = shmk_now_ns() + (int64_t)h_deadline(60) * 1000000000ll;
	while (open_n > 0 && shmk_now_ns() < deadline) {
		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char *b = i ? r->err : r->out;
			size_t *l = i ? &r->errlen : &r->outlen, cap = i ? ERR_MAX : OUT_MAX;
			char tmp[4096];
			ssize_t n = read(pf[i].fd, tmp, sizeof(tmp));
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_n--;
				continue;
			}
			size_t k = (size_t)n < cap - *l ? (size_t)n : cap - *l;
			memcpy(b + *l, tmp, k);
			*l += k;
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	r->status = h_wait(pid, 30);
	return r->status;
}

static int run(struct res *r, const char *const *argv)
{
	return run_env(r, 0, NULL, argv);
}

static int sanitizer_quiet(const struct res *r)
{
	return !strstr(r->err, "Sanitizer") && !strstr(r->err, "runtime error") &&
	       !strstr(r->err, "LeakSanitizer");
}

/* Exactly one line "shmkit: PATH: reason\n" on stderr. */
static int one_error_line(const struct res *r, const char *path)
{
	char want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "shmkit: %s: ", path);
	if (r->errlen < strlen(want) + 2 || r->err[r->errlen - 1] != '\n')
		return 0;
	if (memchr(r->err, '\n', r->errlen - 1))
		return 0;
	return strncmp(r->err, want, strlen(want)) == 0;
}

/* jq -r FILTER over text; result (first line) in out. */
static int jq(const char *json, const char *filter, char *out, size_t n)
{
	char f[PATH_MAX];
	struct res r;
	h_unique_path(f, sizeof(f), "json");
	FILE *fp = fopen(f, "w");
	if (!fp)
		return -1;
	fputs(json, fp);
	fclose(fp);
	const char *argv[] = { "/usr/bin/jq", "-r", filter, f, NULL };
	int st = run(&r, argv);
	unlink(f);
	if (out && n) {
		size_t k = r.outlen < n - 1 ? r.outlen : n - 1;
		memcpy(out, r.out, k);
		out[k] = '\0';
		char *nl = strchr(out, '\n');
		if (nl)
			*nl = '\0';
	}
	res_free(&r);
	return st;
}

static uint64_t jq_u64(const char *json, const char *filter)
{
	char b[128];
	if (jq(json, filter, b, sizeof(b)) != 0)
		return UINT64_MAX;
	return strtoull(b, NULL, 0);
}

static int jq_is(const char *json, const char *filter, const char *want)
{
	char b[256];
	if (jq(json, filter, b, sizeof(b)) != 0)
		return 0;
	return strcmp(b, want) == 0;
}

/* ------------------------------------------------------------ roles (peers) */

static void ready(const char *fdarg)
{
	int fd = atoi(fdarg);
	char c = 1;
	if (write(fd, &c, 1) != 1)
		_exit(3);
	close(fd);
}

/* events-peer FD DIR NAME NSPSC NMPSC: sends, then waits to be killed. */
static int role_events(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	struct shmk_events_opts o = { .blocking = true, .dir = strcmp(argv[2], "-") ? argv[2] : NULL };
	struct shmk_events *r;
	struct shmk_events_tx *tx, *ptx;
	struct shmk_events_rx *rx, *crx;
	if (shmk_events_open_with(argv[3], &o, &r) || shmk_events_split_spsc(r, &tx, &rx) ||
	    shmk_events_split_mpsc(r, &ptx, &crx))
		return 4;
	for (int i = 0; i < atoi(argv[4]); i++)
		if (shmk_events_try_send(tx, "spsc", 4, NULL))
			return 5;
	for (int i = 0; i < atoi(argv[5]); i++)
		if (shmk_events_try_send(ptx, "mpsc", 4, NULL))
			return 6;
	ready(argv[1]);
	for (;;)
		pause();
}

/* ring-peer FD PATH N: record i carries 3*i payload bytes. */
static int role_ring(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	struct shmk_ring_opts o = { .capacity = 65536 };
	struct shmk_ring *rg;
	struct shmk_ring_writer *w;
	int wfd, pfd;
	char buf[256];
	memset(buf, 'r', sizeof(buf));
	if (shmk_ring_create(argv[2], &o, &rg) || shmk_ring_writer_new(rg, RING_TAG, &wfd, &pfd) ||
	    shmk_ring_writer_open(wfd, &w))
		return 4;
	for (int i = 0; i < atoi(argv[3]); i++)
		if (shmk_ring_write(w, buf, (size_t)(3 * i)))
			return 5;
	ready(argv[1]);
	for (;;)
		pause();
}

/* slots-peer FD FLINK N: owner commits N samples of 10+i bytes; a second
 * handle in the same process registers as reader 0. */
static int role_slots(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	struct shmk_slots_opts o = { .first_sn = SLOTS_FIRST_SN };
	struct shmk_slots *s, *rd;
	unsigned idx;
	char buf[100];
	memset(buf, 's', sizeof(buf));
	if (shmk_slots_create_opts(argv[2], 8, 100, &o, &s))
		return 4;
	if (shmk_slots_attach(argv[2], &rd) || shmk_slots_register_reader(rd, 0, &idx))
		return 5;
	for (int i = 0; i < atoi(argv[3]); i++) {
		shmk_slot_handle_t h;
		uint64_t sn;
		if (shmk_slots_reserve_slot(s, 0x1, &h) ||
		    shmk_slots_commit_slot(s, h, buf, (size_t)(10 + i), &sn, NULL))
			return 6;
	}
	ready(argv[1]);
	for (;;)
		pause();
}

/* Spawns a role and waits until it says ready.  Returns its pid or -1. */
static pid_t spawn_ready(const char *role, const char **args)
{
	int p[2];
	char fdarg[16];
	const char *a[8];

	if (pipe(p))
		return -1;
	snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
	a[0] = fdarg;
	int k = 1;
	for (; args && args[k - 1] && k < 7; k++)
		a[k] = args[k - 1];
	a[k] = NULL;
	pid_t pid = h_spawn_role(role, a);
	close(p[1]);
	char c;
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	int ok = pid > 0 && poll(&pf, 1, (int)h_deadline(30) * 1000) == 1 && read(p[0], &c, 1) == 1;
	close(p[0]);
	if (!ok) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			h_wait(pid, 10);
		}
		return -1;
	}
	return pid;
}

static void kill_wait(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		h_wait(pid, 10);
	}
}

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	ssize_t n = b ? pread(fd, b, (size_t)st.st_size, 0) : -1;
	close(fd);
	if (n != st.st_size) {
		free(b);
		return NULL;
	}
	*len = (size_t)n;
	return b;
}

static int spew(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t n = len ? write(fd, b, len) : 0;
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* A fresh directory of our own for a set of objects. */
static const char *new_dir(char *buf, size_t n)
{
	h_unique_path(buf, n, "dir");
	return mkdir(buf, 0700) ? NULL : buf;
}

/* ------------------------------------------------------------ inspect: live peers */

static void inspect_events(void)
{
	char dir[PATH_MAX], path[PATH_MAX], pid_s[32];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	const char *args[] = { dir, "ev", "7", "3", NULL };
	pid_t peer = spawn_ready("events-peer", args);
	CU_ASSERT_FATAL(peer > 0);
	snprintf(path, sizeof(path), "%s/ev", dir);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)peer);

	const char *a1[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT_EQUAL(r.errlen, 0);
	/* one object on one line */
	CU_ASSERT(r.outlen > 0 && r.out[r.outlen - 1] == '\n' && !memchr(r.out, '\n', r.outlen - 1));
	CU_ASSERT(jq_is(r.out, ".schema", "shmkit.inspect/1"));
	CU_ASSERT(jq_is(r.out, ".kind", "events"));
	CU_ASSERT(jq_is(r.out, ".ok", "true"));
	CU_ASSERT(jq_is(r.out, ".header.init", "ready"));
	CU_ASSERT(jq_is(r.out, ".header.cap_wake", "true"));
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.layout_bytes"),
			SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".spsc.depth"), 7);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".spsc.tail - .spsc.head"), 7);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".mpsc.depth"), 3);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".pool.held"), 10);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".pool.free"), SHMK_EVENTS_SLOTS - 10);
	CU_ASSERT(jq_is(r.out, ".owner.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".owner.alive", "true"));
	CU_ASSERT(jq_is(r.out, ".spsc.sender.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".spsc.receiver", "null"));
	CU_ASSERT(jq_is(r.out, ".mpsc.producers[0].pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".mpsc.producers | length", "1"));
	res_free(&r);

	/* text form: the same facts */
	const char *a2[] = { "shmkit", "inspect", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "depth: 7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "kind: events\n"));
	res_free(&r);

	/* after the peer dies the owner shows dead */
	kill_wait(peer);
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(jq_is(r.out, ".owner.alive", "false"));
	CU_ASSERT(jq_is(r.out, ".spsc.sender.alive", "false"));
	res_free(&r);
	unlink(path);
}
H_REGISTER(inspect_events, 120, "cli.inspect.queues", "cli.inspect.liveness", "cli.inspect.json", "cli.inspect.validate");

static void inspect_ring(void)
{
	char dir[PATH_MAX], path[PATH_MAX], pid_s[32];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	snprintf(path, sizeof(path), "%s/ring", dir);
	const char *args[] = { path, "20", NULL };
	pid_t peer = spawn_ready("ring-peer", args);
	CU_ASSERT_FATAL(peer > 0);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)peer);
	uint64_t head = 0;
	for (int i = 0; i < 20; i++)
		head += shmk_ring_record_len((size_t)(3 * i));

	const char *a1[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(jq_is(r.out, ".kind", "ring"));
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.head"), head);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.tail"), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.used"), head);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.capacity"), 65536);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records | length"), 16);	/* the default limit */
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[5].len"), 15);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[5].tag"), RING_TAG);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[1].index"), shmk_ring_record_len(0));
	CU_ASSERT(jq_is(r.out, ".records_more", "true"));
	CU_ASSERT(jq_is(r.out, ".owner.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".writers.slots[0].pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".writers.slots[0].alive", "true"));
	res_free(&r);

	const char *a2[] = { "shmkit", "inspect", "--limit", "20", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records | length"), 20);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[19].len"), 57);
	CU_ASSERT(jq_is(r.out, ".records_more", "false"));
	res_free(&r);

	/* a header-only copy (the file is over the copy limit) still reports
	 * cursors and validates against the real file size */
	const char *a3[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run_env(&r, 0, "SHMKIT_MAX_COPY=4096", a3), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".copied"), 4096);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.head"), head);
	res_free(&r);
	kill_wait(peer);
	unlink(path);
}
H_REGISTER(inspect_ring, 120, "cli.inspect.ring", "cli.inspect.copy");

static void inspect_slots(void)
{
	char dir[PATH_MAX], flink[PATH_MAX], pid_s[32], seg[300];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	snprintf(flink, sizeof(flink), "%s/s.flink", dir);
	const char *args[] = { flink, "3", NULL };
	pid_t peer = spawn_ready("slots-peer", args);
	CU_ASSERT_FATAL(peer > 0);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)peer);

	const char *a1[] = { "shmkit", "inspect", "--json", flink, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(jq_is(r.out, ".kind", "slots"));
	CU_ASSERT(jq_is(r.out, ".flink", flink));
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.slot_count"), 8);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.slot_capacity"), 100);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.next_sn"), SLOTS_FIRST_SN + 3);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".committed"), 3);
	/* sequence numbers past UINT32_MAX survive the trip */
	CU_ASSERT_EQUAL(jq_u64(r.out, "[.slots[] | select(.sn != 0) | .sn] | max"),
			SLOTS_FIRST_SN + 2);
	CU_ASSERT_EQUAL(jq_u64(r.out, "[.slots[] | select(.sn == 4294967295) | .size][0]"), 11);
	CU_ASSERT(jq_is(r.out, ".readers[0].pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".readers[0].alive", "true"));
	CU_ASSERT(jq_is(r.out, ".owner.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".owner_state", "live"));
	CU_ASSERT(jq(r.out, ".path", seg, sizeof(seg)) == 0);
	res_free(&r);

	/* the segment itself, by path and by bare NAME (/dev/shm lookup) */
	const char *a2[] = { "shmkit", "inspect", "--json", seg, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".committed"), 3);
	res_free(&r);
	const char *name = strrchr(seg, '/') ? strrchr(seg, '/') + 1 : seg;
	const char *a3[] = { "shmkit", "inspect", "--json", name, NULL };
	CU_ASSERT_EQUAL(run(&r, a3), 0);
	CU_ASSERT(jq_is(r.out, ".path", seg));
	res_free(&r);
	kill_wait(peer);
	shmk_slots_reclaim_stale(flink);
}
H_REGISTER(inspect_slots, 120, "cli.inspect.slots", "cli.inspect.flink", "cli.inspect.name");

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
	snprintf(p, sizeof(p), "%s/ring", im->dir);
	const char *ra[] = { p, "4", NULL };
	pid_t b = spawn_ready("ring-peer", ra);
	snprintf(f, sizeof(f), "%s/s.flink", im->dir);
	const char *sa[] = { f, "2", NULL };
	pid_t c = spawn_ready("slots-peer", sa);
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

static void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void put16(uint8_t *b, size_t off, uint16_t v) { memcpy(b + off, &v, 2); }

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
H_REGISTER(bad_files, 600, "cli.exit.error", "cli.inspect.header-first", "cli.inspect.recognise", "cli.inspect.validate");

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
	char path[PATH_MAX];
	struct res r;
	const size_t spsc = offsetof(struct shmk_events_layout, spsc);
	uint64_t tail;

	memcpy(&tail, im.ev + spsc, 8);
	put64(im.ev, spsc + 64, tail + 3);	/* head = tail + 3 */
	snprintf(path, sizeof(path), "%s/torn-ev", im.dir);
	CU_ASSERT_EQUAL(spew(path, im.ev, im.evl), 0);
	const char *a[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".spsc.depth"), 0);
	res_free(&r);

	uint64_t head;
	memcpy(&head, im.rg, 8);
	put64(im.rg, 8, head + 8);	/* tail = head + 8 */
	snprintf(path, sizeof(path), "%s/torn-ring", im.dir);
	CU_ASSERT_EQUAL(spew(path, im.rg, im.rgl), 0);
	const char *a2[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
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
	const char *a1[] = { "shmkit", "inspect", p, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 1);
	CU_ASSERT(one_error_line(&r, p));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not a regular file"));
	res_free(&r);
	const char *a2[] = { "shmkit", "inspect", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 1);
	CU_ASSERT(one_error_line(&r, dir));
	res_free(&r);

	/* a symlink to a valid region, and a valid region behind a symlinked dir */
	snprintf(p, sizeof(p), "%s/ev", dir);
	CU_ASSERT_EQUAL_FATAL(spew(p, im.ev, im.evl), 0);
	const char *a3[] = { "shmkit", "inspect", p, NULL };
	CU_ASSERT_EQUAL(run(&r, a3), 0);
	res_free(&r);
	snprintf(l, sizeof(l), "%s/link", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(p, l), 0);
	const char *a4[] = { "shmkit", "inspect", l, NULL };
	CU_ASSERT_EQUAL(run(&r, a4), 1);
	CU_ASSERT(one_error_line(&r, l));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "symbolic link"));
	res_free(&r);
	snprintf(ld, sizeof(ld), "%s-linkdir", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(dir, ld), 0);
	snprintf(l, sizeof(l), "%s/ev", ld);
	const char *a5[] = { "shmkit", "inspect", l, NULL };
	CU_ASSERT_EQUAL(run(&r, a5), 1);
	CU_ASSERT(one_error_line(&r, l));
	res_free(&r);
	unlink(ld);

	/* a flink naming a missing segment, and one naming a non-slots object */
	snprintf(p, sizeof(p), "%s/missing.flink", dir);
	CU_ASSERT_EQUAL(spew(p, "/shmk-test-no-such-segment\n", 27), 0);
	const char *a6[] = { "shmkit", "inspect", p, NULL };
	CU_ASSERT_EQUAL(run(&r, a6), 1);
	CU_ASSERT(one_error_line(&r, p));
	res_free(&r);
	char shm[128], shmpath[160];
	h_unique_shm_name(shm, sizeof(shm));
	snprintf(shmpath, sizeof(shmpath), "/dev/shm%s", shm);
	CU_ASSERT_EQUAL(spew(shmpath, im.ev, im.evl), 0);
	snprintf(p, sizeof(p), "%s/events.flink", dir);
	CU_ASSERT_EQUAL(spew(p, shm, strlen(shm)), 0);
	const char *a7[] = { "shmkit", "inspect", p, NULL };
	CU_ASSERT_EQUAL(run(&r, a7), 1);
	CU_ASSERT(one_error_line(&r, p));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not a slots segment"));
	res_free(&r);
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

/* ------------------------------------------------------------ ls and gc */

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static void ls(void)
{
	char dir[PATH_MAX], ev[PATH_MAX], rg[PATH_MAX], fl[PATH_MAX], junk[PATH_MAX], ln[PATH_MAX];
	char pid_s[3][32];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	const char *ea[] = { dir, "a-ev", "1", "0", NULL };
	pid_t a = spawn_ready("events-peer", ea);
	snprintf(rg, sizeof(rg), "%s/b-ring", dir);
	const char *ra[] = { rg, "1", NULL };
	pid_t b = spawn_ready("ring-peer", ra);
	snprintf(fl, sizeof(fl), "%s/c.flink", dir);
	const char *sa[] = { fl, "1", NULL };
	pid_t c = spawn_ready("slots-peer", sa);
	CU_ASSERT_FATAL(a > 0 && b > 0 && c > 0);
	snprintf(pid_s[0], 32, "%d", (int)a);
	snprintf(pid_s[1], 32, "%d", (int)b);
	snprintf(pid_s[2], 32, "%d", (int)c);
	snprintf(ev, sizeof(ev), "%s/a-ev", dir);
	snprintf(junk, sizeof(junk), "%s/d-junk", dir);
	CU_ASSERT_EQUAL(spew(junk, "not ours at all, really not\n", 28), 0);
	snprintf(ln, sizeof(ln), "%s/e-link", dir);
	CU_ASSERT_EQUAL(symlink(ev, ln), 0);

	const char *a1[] = { "shmkit", "ls", "--json", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(jq_is(r.out, ".schema", "shmkit.ls/1"));
	CU_ASSERT(jq_is(r.out, ".objects | length", "3"));	/* junk and symlink skipped */
	CU_ASSERT(jq_is(r.out, "[.objects[].kind] | join(\",\")", "events,ring,flink"));
	CU_ASSERT(jq_is(r.out, ".objects[0].owner_pid", pid_s[0]));
	CU_ASSERT(jq_is(r.out, ".objects[1].owner_pid", pid_s[1]));
	CU_ASSERT(jq_is(r.out, ".objects[2].owner_pid", pid_s[2]));
	CU_ASSERT(jq_is(r.out, "[.objects[].owner] | unique | join(\",\")", "alive"));
	CU_ASSERT(jq_is(r.out, ".objects[0].size", "582400"));
	CU_ASSERT(jq_is(r.out, ".objects[0].age_s >= 0", "true"));
	res_free(&r);

	kill_wait(a);
	const char *a2[] = { "shmkit", "ls", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "KIND"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, pid_s[1]));
	char *row = strstr(r.out, "events");
	CU_ASSERT(row && strstr(row, "dead") && strstr(row, "dead") < strstr(row, "\n"));
	res_free(&r);
	/* a missing directory given explicitly is an error */
	const char *a3[] = { "shmkit", "ls", "/nonexistent-shmkit-dir", NULL };
	CU_ASSERT_EQUAL(run(&r, a3), 1);
	CU_ASSERT(one_error_line(&r, "/nonexistent-shmkit-dir"));
	res_free(&r);
	kill_wait(b);
	kill_wait(c);
	shmk_slots_reclaim_stale(fl);
	unlink(ev);
	unlink(rg);
	unlink(junk);
	unlink(ln);
}
H_REGISTER(ls, 180, "cli.ls.fields", "cli.ls.dirs");

static int has_line(const char *out, const char *verb, const char *path)
{
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s %s (", verb, path);
	return strstr(out, want) != NULL;
}

static void gc(void)
{
	char dir[PATH_MAX], dead[PATH_MAX], live[PATH_MAX], mapped[PATH_MAX], fl[PATH_MAX];
	char bad[PATH_MAX], seg[300];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	const char *ea[] = { dir, "dead-ev", "2", "0", NULL };
	pid_t a = spawn_ready("events-peer", ea);
	const char *eb[] = { dir, "live-ev", "2", "0", NULL };
	pid_t b = spawn_ready("events-peer", eb);
	snprintf(mapped, sizeof(mapped), "%s/mapped-ring", dir);
	const char *ra[] = { mapped, "2", NULL };
	pid_t c = spawn_ready("ring-peer", ra);
	snprintf(fl, sizeof(fl), "%s/dead.flink", dir);
	const char *sa[] = { fl, "2", NULL };
	pid_t d = spawn_ready("slots-peer", sa);
	CU_ASSERT_FATAL(a > 0 && b > 0 && c > 0 && d > 0);
	snprintf(dead, sizeof(dead), "%s/dead-ev", dir);
	snprintf(live, sizeof(live), "%s/live-ev", dir);
	size_t fll;
	uint8_t *fb = slurp(fl, &fll);
	CU_ASSERT_FATAL(fb && fll < 250);
	snprintf(seg, sizeof(seg), "/dev/shm%.*s", (int)fll, (char *)fb);
	free(fb);
	/* an object whose header we cannot validate: never removed */
	snprintf(bad, sizeof(bad), "%s/bad-ev", dir);
	size_t evl;
	uint8_t *evb = slurp(dead, &evl);
	CU_ASSERT_FATAL(evb != NULL);
	put16(evb, 4, 9);	/* version */
	CU_ASSERT_EQUAL(spew(bad, evb, evl), 0);
	/* a creator that died mid-init (initialized = 1): garbage at the
	 * size events.c reserves, kept at any other size */
	char midinit[PATH_MAX], midshort[PATH_MAX];
	snprintf(midinit, sizeof(midinit), "%s/midinit-ev", dir);
	snprintf(midshort, sizeof(midshort), "%s/midinit-short", dir);
	put16(evb, 4, SHMK_EVENTS_VERSION);
	put32(evb, 16, SHMK_EVENTS_INIT_BUSY);
	CU_ASSERT_EQUAL(spew(midinit, evb, evl), 0);
	CU_ASSERT_EQUAL(spew(midshort, evb, evl - 64), 0);
	free(evb);

	/* this process maps the ring before its owner dies */
	int mfd = open(mapped, O_RDONLY);
	CU_ASSERT_FATAL(mfd >= 0);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);
	close(mfd);
	CU_ASSERT_FATAL(m != MAP_FAILED);
	kill_wait(a);
	kill_wait(c);
	kill_wait(d);

	const char *dry[] = { "shmkit", "gc", "--dry-run", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, dry), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(has_line(r.out, "would remove", dead));
	CU_ASSERT(has_line(r.out, "would remove", fl));
	CU_ASSERT(has_line(r.out, "kept", live));
	CU_ASSERT(has_line(r.out, "kept", mapped));
	CU_ASSERT(has_line(r.out, "kept", bad));
	CU_ASSERT(!strstr(r.out, "removed"));
	res_free(&r);
	CU_ASSERT(exists(dead) && exists(fl) && exists(seg));

	const char *gc[] = { "shmkit", "gc", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, gc), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(has_line(r.out, "removed", dead));
	CU_ASSERT(has_line(r.out, "removed", fl));
	CU_ASSERT(has_line(r.out, "kept", live));
	CU_ASSERT(has_line(r.out, "kept", mapped));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "mapped or open by pid"));
	CU_ASSERT(has_line(r.out, "kept", bad));
	CU_ASSERT(has_line(r.out, "removed", midinit));
	CU_ASSERT(has_line(r.out, "kept", midshort));
	res_free(&r);
	CU_ASSERT(!exists(midinit));
	CU_ASSERT(exists(midshort));
	CU_ASSERT(!exists(dead));
	CU_ASSERT(!exists(fl));
	CU_ASSERT(!exists(seg));	/* the flink's segment went with it */
	CU_ASSERT(exists(live));
	CU_ASSERT(exists(mapped));
	CU_ASSERT(exists(bad));

	/* unmapped now: the ring goes too; the live region still stays */
	munmap(m, 4096);
	CU_ASSERT_EQUAL(run(&r, gc), 0);
	CU_ASSERT(has_line(r.out, "removed", mapped));
	CU_ASSERT(has_line(r.out, "kept", live));
	res_free(&r);
	CU_ASSERT(!exists(mapped));
	CU_ASSERT(exists(live));
	kill_wait(b);
	unlink(live);
	unlink(bad);
	unlink(midshort);
}
H_REGISTER(gc, 240, "cli.gc.dead-owner", "cli.gc.never-live", "cli.gc.unmapped", "cli.gc.dry-run", "cli.ls.dirs");

/* As nobody, root's processes cannot be read: a warning, and --strict keeps.
 * nobody runs a copy of the tool in the harness's directory, so the test
 * does not depend on where the checkout lives (a 0700 home, say). */
static void gc_unreadable_body(void *arg)
{
	const char *tool = arg;
	char dir[PATH_MAX], ev[PATH_MAX];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(h_unique_path(dir, sizeof(dir), "gc"));
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0777), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(dir, 0777), 0);
	const char *ea[] = { dir, "ev", "1", "0", NULL };
	pid_t a = spawn_ready("events-peer", ea);
	CU_ASSERT_FATAL(a > 0);
	snprintf(ev, sizeof(ev), "%s/ev", dir);
	CU_ASSERT_EQUAL(chmod(ev, 0644), 0);
	kill_wait(a);
	/* a root process that stays alive while gc runs: this one */
	const char *strict[] = { tool, "gc", "--strict", dir, NULL };
	CU_ASSERT_EQUAL(run_env(&r, 1, NULL, strict), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "warning: cannot read /proc/"));
	CU_ASSERT(has_line(r.out, "kept", ev));
	CU_ASSERT(exists(ev));
	res_free(&r);
	const char *plain[] = { tool, "gc", dir, NULL };
	CU_ASSERT_EQUAL(run_env(&r, 1, NULL, plain), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "warning: cannot read /proc/"));
	CU_ASSERT(has_line(r.out, "removed", ev));
	CU_ASSERT(!exists(ev));
	res_free(&r);
	unlink(ev);
	rmdir(dir);
}

static void gc_unreadable(void)
{
	static char tool[PATH_MAX];

	if (geteuid() != 0)
		H_SKIP("needs root to drop to nobody");
	int rc = h_nobody_copy(bin(), tool, sizeof(tool));
	if (rc == -EACCES)
		H_SKIP("uid 65534 cannot reach the harness's temporary directory (neither $TMPDIR "
		       "nor /tmp), so it cannot run a copy of the tool");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	isolate_arg(gc_unreadable_body, tool, 120);
	unlink(tool);
}
H_REGISTER(gc_unreadable, 0, "cli.gc.unreadable");

static const struct h_role roles[] = {
	{ "events-peer", role_events },
	{ "ring-peer", role_ring },
	{ "slots-peer", role_slots },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	return h_main(argc, argv, "cli", NULL, roles);
}
