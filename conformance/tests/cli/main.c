/* SPDX-License-Identifier: MIT */
/* cli tests: the helpers and roles the files share, and main(). */
#include "cli_test.h"

static char g_bin[PATH_MAX];

/* ------------------------------------------------------------ running the tool */


void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

const char *bin(void)
{
	if (g_bin[0])
		return g_bin;
	/* another build of the tool (impl/cli/shared-check.sh: the one linked
	 * against the shared library) */
	const char *env = getenv("SHMKIT_BIN");
	if (env && *env && snprintf(g_bin, sizeof(g_bin), "%s", env) < (int)sizeof(g_bin))
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
int run_env(struct res *r, int drop, const char *env, const char *const *argv)
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

int run(struct res *r, const char *const *argv)
{
	return run_env(r, 0, NULL, argv);
}

int sanitizer_quiet(const struct res *r)
{
	return !strstr(r->err, "Sanitizer") && !strstr(r->err, "runtime error") &&
	       !strstr(r->err, "LeakSanitizer");
}

/* Exactly one line "shmkit: PATH: reason\n" on stderr. */
int one_error_line(const struct res *r, const char *path)
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
int jq(const char *json, const char *filter, char *out, size_t n)
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

uint64_t jq_u64(const char *json, const char *filter)
{
	char b[128];
	if (jq(json, filter, b, sizeof(b)) != 0)
		return UINT64_MAX;
	return strtoull(b, NULL, 0);
}

int jq_is(const char *json, const char *filter, const char *want)
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
H_ROLE("events-peer", role_events);

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
H_ROLE("ring-peer", role_ring);

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
H_ROLE("slots-peer", role_slots);

/* Spawns a role and waits until it says ready.  Returns its pid or -1. */
pid_t spawn_ready(const char *role, const char **args)
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

pid_t spawn_at(const char *role, const char *dir, const char *leaf, const char *n, char *path,
	       size_t len)
{
	snprintf(path, len, "%s/%s", dir, leaf);
	const char *args[] = { path, n, NULL };
	return spawn_ready(role, args);
}

void kill_wait(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		h_wait(pid, 10);
	}
}

uint8_t *slurp(const char *path, size_t *len)
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

int spew(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t n = len ? write(fd, b, len) : 0;
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* A fresh directory of our own for a set of objects. */
const char *new_dir(char *buf, size_t n)
{
	h_unique_path(buf, n, "dir");
	return mkdir(buf, 0700) ? NULL : buf;
}

void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }

void put16(uint8_t *b, size_t off, uint16_t v) { memcpy(b + off, &v, 2); }

int main(int argc, char **argv)
{
	return h_main(argc, argv, "cli", NULL, NULL);
}
