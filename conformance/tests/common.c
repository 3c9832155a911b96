/* SPDX-License-Identifier: MIT */
/*
 * Tests of conformance/spec/common.md: the core every module builds on
 * (impl/src/common.c, error.c): process tokens, safe paths, the liveness
 * knob, the fault hook and error names.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "shmkit/error.h"
#include "shmkit/shm.h"
#include "support.h"

/* ------------------------------------------------------------ helpers */

/* A child that blocks until its stdin-like pipe closes; returns its pid and
 * the write end that keeps it alive. */
static pid_t spawn_sleeper(int *keep_fd)
{
	int p[2];

	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	*keep_fd = p[1];
	return pid;
}

/* Block until pid is a zombie, without reaping it. */
static int wait_zombie(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
}

static int make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	/* umask may have narrowed it; the tests want exactly `mode` */
	if (fchmod(fd, mode)) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/* ------------------------------------------------------------ liveness */

static void token_live_zombie_gone(void)
{
	int keep = -1;
	uint64_t tok = 0, self = shmk_self_token();

	CU_ASSERT_NOT_EQUAL(self, 0);
	CU_ASSERT_EQUAL(shmk_token_alive(self), 1);
	CU_ASSERT_EQUAL(SHMK_TOKEN_PID(self), (uint32_t)getpid());
	CU_ASSERT_EQUAL(shmk_token_alive(0), 0);

	pid_t pid = spawn_sleeper(&keep);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(shmk_token_for_pid(pid, &tok), 0);
	CU_ASSERT_EQUAL(SHMK_TOKEN_PID(tok), (uint32_t)pid);
	CU_ASSERT_NOT_EQUAL(tok, self);
	CU_ASSERT_EQUAL(shmk_token_alive(tok), 1);

	/* SIGKILLed but not reaped: a zombie, which kill(pid, 0) calls alive */
	CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
	CU_ASSERT_EQUAL_FATAL(wait_zombie(pid), 0);
	CU_ASSERT_EQUAL(kill(pid, 0), 0); /* the trap the token must avoid */
	CU_ASSERT_EQUAL(shmk_token_alive(tok), 0);

	/* reaped: the pid is gone */
	CU_ASSERT_EQUAL(waitpid(pid, NULL, 0), pid);
	CU_ASSERT_EQUAL(shmk_token_alive(tok), 0);
	CU_ASSERT_EQUAL(shmk_token_for_pid(pid, &tok), -ESRCH);
	CU_ASSERT_EQUAL(shmk_token_for_pid(0, &tok), -ESRCH);
	CU_ASSERT_EQUAL(shmk_token_for_pid(1 << SHMK_TOKEN_PID_BITS, &tok), -ESRCH);
	close(keep);
}
H_REGISTER_IN("liveness", token_live_zombie_gone, 20, "common.liveness.token");

/* A forked child must not inherit the parent's cached token. */
static void token_after_fork(void)
{
	int p[2];
	uint64_t parent = shmk_self_token(), got = 0, want = 0;

	CU_ASSERT_FATAL(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t t = shmk_self_token();
		_exit(write(p[1], &t, sizeof(t)) == sizeof(t) ? 0 : 1);
	}
	CU_ASSERT_FATAL(pid > 0);
	close(p[1]);
	CU_ASSERT_EQUAL(read(p[0], &got, sizeof(got)), (ssize_t)sizeof(got));
	close(p[0]);
	/* still running or a zombie: /proc/<pid>/stat is there either way */
	CU_ASSERT_EQUAL(shmk_token_for_pid(pid, &want), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	CU_ASSERT_NOT_EQUAL(got, parent);
	CU_ASSERT_EQUAL(got, want);
	CU_ASSERT_EQUAL(SHMK_TOKEN_PID(got), (uint32_t)pid);
}
H_REGISTER_IN("liveness", token_after_fork, 20, "common.liveness.token");

/*
 * Role run as PID 1 of a private PID namespace: start a child A, remember
 * its token, let it die, force the next pid to be A's again through
 * ns_last_pid and check that A's old token is dead while the new B (same
 * pid) is alive.  Exit 0 on success; 2..9 name the failed step on stderr.
 */
static long clk_ticks_now(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	/* /proc/<pid>/stat start times count clock ticks since boot */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long)(ts.tv_sec * hz + ts.tv_nsec / (1000000000L / hz));
}

static int role_pidreuse(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int keep_a = -1, keep_b = -1;
	uint64_t ta = 0, tb = 0;

	pid_t a = spawn_sleeper(&keep_a);
	if (a <= 0 || shmk_token_for_pid(a, &ta)) {
		fprintf(stderr, "pidreuse: could not start A\n");
		return 2;
	}
	if (shmk_token_alive(ta) != 1) {
		fprintf(stderr, "pidreuse: live A reported dead\n");
		return 3;
	}
	close(keep_a);
	if (waitpid(a, NULL, 0) != a)
		return 4;
	/* A reused pid within the same clock tick would carry the same start
	 * time; real reuse takes a pid_max wrap.  Wait out the tick (this
	 * waits on the clock, it does not synchronise processes). */
	long start_a = (long)(ta >> SHMK_TOKEN_PID_BITS);
	while (clk_ticks_now() <= start_a + 1) {
		struct timespec d = { 0, 2 * 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (!f || fprintf(f, "%d", (int)a - 1) < 0 || fclose(f)) {
		fprintf(stderr, "pidreuse: cannot write ns_last_pid: %s\n", strerror(errno));
		return 5;
	}
	pid_t b = spawn_sleeper(&keep_b);
	if (b != a) {
		fprintf(stderr, "pidreuse: wanted pid %d again, got %d\n", (int)a, (int)b);
		return 6;
	}
	if (shmk_token_for_pid(b, &tb) || tb == ta) {
		fprintf(stderr, "pidreuse: B's token equals A's\n");
		return 7;
	}
	int alive_a = shmk_token_alive(ta), alive_b = shmk_token_alive(tb);
	int pfd = shmk_token_pidfd(ta);
	close(keep_b);
	waitpid(b, NULL, 0);
	if (alive_a != 0 || alive_b != 1) {
		fprintf(stderr, "pidreuse: old token alive=%d, new token alive=%d\n", alive_a,
			alive_b);
		return 8;
	}
	if (pfd != -ESRCH) {
		fprintf(stderr, "pidreuse: pidfd for the old token gave %d, not -ESRCH\n", pfd);
		return 9;
	}
	return 0;
}
H_ROLE("pidreuse", role_pidreuse);

static char self_exe[4096];

static void token_pid_reuse(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root for unshare --pid and ns_last_pid");
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);

	CU_ASSERT_FATAL(n > 0);
	self_exe[n] = '\0';
	pid_t pid = fork();
	if (pid == 0) {
		execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", self_exe,
		       "--role=pidreuse", (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
}
H_REGISTER_IN("liveness", token_pid_reuse, 40, "common.liveness.token");

static void token_pidfd(void)
{
	int keep = -1;
	uint64_t tok = 0;

	pid_t pid = spawn_sleeper(&keep);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(shmk_token_for_pid(pid, &tok), 0);
	int fd = shmk_token_pidfd(tok);
	CU_ASSERT_FATAL(fd >= 0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0); /* alive: not readable */
	close(keep);			      /* the child exits */
	pfd.revents = 0;
	CU_ASSERT_EQUAL(poll(&pfd, 1, (int)h_deadline(10) * 1000), 1);
	CU_ASSERT(pfd.revents & POLLIN);
	close(fd);
	/* zombie, then reaped: both refused */
	CU_ASSERT_EQUAL(wait_zombie(pid), 0);
	CU_ASSERT_EQUAL(shmk_token_pidfd(tok), -ESRCH);
	CU_ASSERT_EQUAL(waitpid(pid, NULL, 0), pid);
	CU_ASSERT_EQUAL(shmk_token_pidfd(tok), -ESRCH);
	CU_ASSERT_EQUAL(shmk_token_pidfd(0), -ESRCH);
}
H_REGISTER_IN("liveness", token_pidfd, 20, "common.liveness.pidfd");

/* ------------------------------------------------------------ liveness knob */

static void liveness_knob(void)
{
	static const struct {
		const char *val;
		int64_t want_ms;
	} cases[] = {
		{ NULL, 1000 },	      { "", 1000 },	       { "250", 250 },
		{ "1", 1 },	      { "3600000", 3600000 }, { "0", 1000 },
		{ "-5", 1000 },	      { "3600001", 1000 },    { "12x", 1000 },
		{ "abc", 1000 },      { "99999999999999999999", 1000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].val) {
			CU_ASSERT_EQUAL_FATAL(setenv("SHMK_LIVENESS_MS", cases[i].val, 1), 0);
		} else {
			unsetenv("SHMK_LIVENESS_MS");
		}
		int64_t got = shmk_liveness_ns();
		if (got != cases[i].want_ms * 1000000)
			fprintf(stderr, "SHMK_LIVENESS_MS=%s: got %lld ns\n",
				cases[i].val ? cases[i].val : "(unset)", (long long)got);
		CU_ASSERT_EQUAL(got, cases[i].want_ms * 1000000);
	}
}
H_REGISTER_IN("liveness", liveness_knob, 10, "common.liveness.default");

/* ------------------------------------------------------------ safe paths */

/* A fresh directory (stem) holding a file f of mode 0600 (its path in file). */
static void dir_with_file(char *dir, size_t dlen, const char *stem, char *file, size_t flen)
{
	h_unique_path(dir, dlen, stem);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	snprintf(file, flen, "%s/f", dir);
	CU_ASSERT_EQUAL_FATAL(make_file(file, 0600), 0);
}

static void nosymlink(void)
{
	char dir[512], file[600], link[600], dlink[600], via[700], dangling[600], target[600];
	int fd = -1;

	dir_with_file(dir, sizeof(dir), "paths", file, sizeof(file));
	snprintf(link, sizeof(link), "%s/l", dir);
	snprintf(dlink, sizeof(dlink), "%s.dl", dir);
	snprintf(via, sizeof(via), "%s/f", dlink);
	snprintf(dangling, sizeof(dangling), "%s/dangling", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(file, link), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(dir, dlink), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(target, dangling), 0);

	/* the real path opens */
	CU_ASSERT_EQUAL(shmk_open_path(file, O_RDWR, 0, &fd), 0);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);

	/* last component */
	fd = -1;
	shmk_clear_detail();
	CU_ASSERT_EQUAL(shmk_open_path(link, O_RDWR, 0, &fd), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "symbolic link"));

	/* a parent directory (O_NOFOLLOW alone would follow this one) */
	CU_ASSERT_EQUAL(shmk_open_path(via, O_RDWR, 0, &fd), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(fd, -1);

	/* creating through a dangling link must not create its target.  With
	 * O_EXCL the kernel answers EEXIST first (the link is a name that
	 * exists): still a refusal, reported as the name being taken. */
	CU_ASSERT_EQUAL(shmk_open_path(dangling, O_RDWR | O_CREAT | O_EXCL, 0600, &fd), -EEXIST);
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_EQUAL(access(target, F_OK), -1);
	CU_ASSERT_EQUAL(shmk_open_path(dangling, O_RDWR | O_CREAT, 0600, &fd), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(access(target, F_OK), -1);

	/* plain errors stay -errno */
	CU_ASSERT_EQUAL(shmk_open_path(target, O_RDWR, 0, &fd), -ENOENT);
	CU_ASSERT_EQUAL(shmk_open_path("", O_RDWR, 0, &fd), -ENOENT);
	CU_ASSERT_EQUAL(shmk_open_path(NULL, O_RDWR, 0, &fd), -EINVAL);

	unlink(dangling);
	unlink(dlink);
	unlink(link);
	unlink(file);
	rmdir(dir);
}
H_REGISTER_IN("paths", nosymlink, 10, "common.path.nosymlink");

static int open_checked(const char *path, const struct shmk_path_policy *pol, struct stat *st)
{
	int fd = -1;
	int rc = shmk_open_path(path, O_RDONLY | O_NONBLOCK, 0, &fd);

	if (rc)
		return rc;
	rc = shmk_check_fd(fd, path, pol, st);
	close(fd);
	return rc;
}

static void owner_mode_type_links(void)
{
	char dir[512], file[600], wide[600], narrow[600], fifo[600], hard[600];
	struct shmk_path_policy p600 = { .mode = 0600 };
	struct stat st;

	dir_with_file(dir, sizeof(dir), "owner", file, sizeof(file));
	snprintf(wide, sizeof(wide), "%s/wide", dir);
	snprintf(narrow, sizeof(narrow), "%s/narrow", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(hard, sizeof(hard), "%s/hard", dir);
	CU_ASSERT_EQUAL_FATAL(make_file(wide, 0644), 0);
	CU_ASSERT_EQUAL_FATAL(make_file(narrow, 0400), 0);
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);

	/* the good case, and st_out is filled */
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL(open_checked(file, &p600, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_uid, geteuid());
	CU_ASSERT_EQUAL(open_checked(narrow, &p600, NULL), 0);

	/* wider mode: refused unless asked for or opted in */
	CU_ASSERT_EQUAL(open_checked(wide, &p600, NULL), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "wider"));
	CU_ASSERT_EQUAL(open_checked(wide, &(struct shmk_path_policy){ .mode = 0644 }, NULL), 0);
	CU_ASSERT_EQUAL(open_checked(wide, &(struct shmk_path_policy){ .mode = 0600, .allow_wider = true },
				     NULL),
			0);

	/* not a regular file: a FIFO and a directory */
	CU_ASSERT_EQUAL(open_checked(fifo, &p600, NULL), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "not a regular file"));
	CU_ASSERT_EQUAL(open_checked(dir, &(struct shmk_path_policy){ .mode = 0700 }, NULL),
			SHMK_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "not a regular file"));

	/* a second hard link lets another name redirect or keep the data */
	CU_ASSERT_EQUAL_FATAL(link(file, hard), 0);
	CU_ASSERT_EQUAL(open_checked(file, &p600, NULL), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "hard link"));
	CU_ASSERT_EQUAL(unlink(hard), 0);
	CU_ASSERT_EQUAL(open_checked(file, &p600, NULL), 0);

	/* foreign owner: chown needs root (CI runs as root) */
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL_FATAL(chown(file, 65534, 65534), 0);
		CU_ASSERT_EQUAL(open_checked(file, &p600, NULL), SHMK_EUNSAFE);
		CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "owned by uid 65534"));
		CU_ASSERT_EQUAL(open_checked(file, &(struct shmk_path_policy){ .mode = 0600, .allow_foreign = true },
					     NULL),
				0);
	}

	unlink(file);
	unlink(wide);
	unlink(narrow);
	unlink(fifo);
	rmdir(dir);
}
H_REGISTER_IN("paths", owner_mode_type_links, 10, "common.path.owner");

/* The same rule seen from an unprivileged attacher: a root-owned file
 * opened before dropping privileges is foreign to uid 65534. */
static void foreign_owner_unprivileged(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to own a file that nobody then sees as foreign");
	char path[512];
	int fd = -1;

	h_unique_path(path, sizeof(path), "foreign");
	CU_ASSERT_EQUAL_FATAL(make_file(path, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_open_path(path, O_RDONLY, 0, &fd), 0);
	unlink(path); /* fstat still works on the open fd */
	CU_ASSERT_EQUAL_FATAL(h_drop_privileges(), 0);
	CU_ASSERT_EQUAL_FATAL(geteuid(), 65534);
	struct shmk_path_policy pol = { .mode = 0600 };
	CU_ASSERT_EQUAL(shmk_check_fd(fd, "foreign", &pol, NULL), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "owned by uid 0"));
	pol.allow_foreign = true;
	CU_ASSERT_EQUAL(shmk_check_fd(fd, "foreign", &pol, NULL), 0);
	close(fd);
}
H_REGISTER_IN("paths", foreign_owner_unprivileged, 10, "common.path.owner");

/* The owner check after a privilege drop: a check made as root first (it
 * would fill any per-process cache of the euid), then the same descriptor
 * checked as uid 65534 must be foreign.  A cached euid would still say 0. */
static void owner_euid_read_at_check(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to own a file and then drop to uid 65534");
	char path[512];
	int fd = -1;
	struct shmk_path_policy pol = { .mode = 0600 };

	h_unique_path(path, sizeof(path), "euidnow");
	CU_ASSERT_EQUAL_FATAL(make_file(path, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_open_path(path, O_RDONLY, 0, &fd), 0);
	unlink(path);
	CU_ASSERT_EQUAL(shmk_check_fd(fd, "euidnow", &pol, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_drop_privileges(), 0);
	CU_ASSERT_EQUAL(shmk_check_fd(fd, "euidnow", &pol, NULL), SHMK_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "not 65534"));
	close(fd);
}
H_REGISTER_IN("paths", owner_euid_read_at_check, 10, "common.path.euid-now");

/* ------------------------------------------------------------ populate */

/* Peer: creates the object at name with `size` bytes, writes its first and
 * last byte, and leaves it for the test to map. */
static int peer_make(const char *name, size_t size)
{
	struct shmk_shm *s;
	struct shmk_shm_map *m;
	if (shmk_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &s) ||
	    shmk_shm_set_size(s, size) || shmk_shm_map(s, 0, &m))
		return 10;
	char *b = shmk_shm_map_ptr(m);
	b[0] = 1;
	b[size - 1] = 2;
	shmk_shm_unmap(m);
	shmk_shm_close(s);
	return 0;
}

static void map_populate(void)
{
	const size_t sizes[] = { 4096, 64 * 1024, 64 * 1024 + 4096, 1024 * 1024 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "/shmk-test-pop-%d-%u", (int)getpid(), i);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0)
			_exit(peer_make(name, sizes[i]));
		int st;
		CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT_FATAL(WIFEXITED(st) && WEXITSTATUS(st) == 0);

		struct shmk_shm *s;
		struct shmk_shm_map *m;
		CU_ASSERT_EQUAL_FATAL(shmk_shm_open(name, O_RDONLY, 0600, &s), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_shm_map(s, 0, &m), 0);
		const volatile char *b = shmk_shm_map_ptr(m);
		/* before any touch: all of a small mapping is in the page
		 * tables, nothing of a large one */
		long rss = t_rss_of((const void *)(uintptr_t)b);
		long want = sizes[i] <= 64 * 1024 ? (long)sizes[i] : 0;
		CU_ASSERT_EQUAL(rss, want);
		/* and the peer's bytes are there */
		CU_ASSERT_EQUAL(b[0], 1);
		CU_ASSERT_EQUAL(b[sizes[i] - 1], 2);
		shmk_shm_unmap(m);
		shmk_shm_unlink(s);
		shmk_shm_close(s);
	}
}
H_REGISTER_IN("map", map_populate, 10, "common.map.populate");

/* ------------------------------------------------------------ fault hook */

static void fault_open(void)
{
	char path[512];
	int fd = -1;

	h_unique_path(path, sizeof(path), "fault");
	CU_ASSERT_EQUAL_FATAL(make_file(path, 0600), 0);

	int before = t_count_fds();
	CU_ASSERT_FATAL(before > 0);
	CU_ASSERT_EQUAL_FATAL(shmk_fault_set("open:1"), 0);
	int rc = shmk_open_path(path, O_RDWR, 0, &fd);
	CU_ASSERT(rc < 0 && rc >= -4095); /* a negative errno */
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_EQUAL(shmk_fault_fired(), 1);
	CU_ASSERT_EQUAL(t_count_fds(), before); /* nothing leaked */
	/* only the Nth call fails */
	CU_ASSERT_EQUAL(shmk_open_path(path, O_RDWR, 0, &fd), 0);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	CU_ASSERT_EQUAL(shmk_fault_fired(), 1);

	/* open:2 lets the first through */
	CU_ASSERT_EQUAL_FATAL(shmk_fault_set("open:2"), 0);
	fd = -1;
	CU_ASSERT_EQUAL(shmk_open_path(path, O_RDWR, 0, &fd), 0);
	int fd2 = -1;
	CU_ASSERT(shmk_open_path(path, O_RDWR, 0, &fd2) < 0);
	CU_ASSERT_EQUAL(fd2, -1);
	if (fd >= 0)
		close(fd);
	CU_ASSERT_EQUAL(t_count_fds(), before);

	/* another site, through shmk_check_fd */
	CU_ASSERT_EQUAL_FATAL(shmk_fault_set("fstat:1"), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_open_path(path, O_RDWR, 0, &fd), 0);
	struct shmk_path_policy pol = { .mode = 0600 };
	rc = shmk_check_fd(fd, "fault", &pol, NULL);
	CU_ASSERT(rc < 0 && rc >= -4095);
	CU_ASSERT_EQUAL(shmk_check_fd(fd, "fault", &pol, NULL), 0);
	close(fd);

	/* bad specs are refused; "" clears */
	CU_ASSERT_EQUAL(shmk_fault_set("nosuchsite:1"), -EINVAL);
	CU_ASSERT_EQUAL(shmk_fault_set("open:0"), -EINVAL);
	CU_ASSERT_EQUAL(shmk_fault_set("open"), -EINVAL);
	CU_ASSERT_EQUAL(shmk_fault_set(""), 0);
	CU_ASSERT_EQUAL(shmk_open_path(path, O_RDWR, 0, &fd), 0);
	if (fd >= 0)
		close(fd);
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	unlink(path);
}
H_REGISTER_IN("faults", fault_open, 10, "common.fault.hook");

/* A fresh process reads SHMK_FAULT from its environment. */
static int role_fault_env(int argc, char **argv)
{
	int fd = -1;

	if (argc < 2)
		return 2;
	int rc = shmk_open_path(argv[1], O_RDWR, 0, &fd);
	if (rc >= 0 || fd != -1 || shmk_fault_fired() != 1) {
		fprintf(stderr, "fault_env: rc=%d fd=%d fired=%d\n", rc, fd, shmk_fault_fired());
		return 3;
	}
	if (shmk_open_path(argv[1], O_RDWR, 0, &fd) != 0)
		return 4;
	close(fd);
	return 0;
}
H_ROLE("fault_env", role_fault_env);

static void fault_env(void)
{
	char path[512];

	h_unique_path(path, sizeof(path), "faultenv");
	CU_ASSERT_EQUAL_FATAL(make_file(path, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(setenv("SHMK_FAULT", "open:1", 1), 0);
	const char *args[] = { path, NULL };
	pid_t pid = h_spawn_role("fault_env", args);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	unlink(path);
}
H_REGISTER_IN("faults", fault_env, 30, "common.fault.hook");

/* ------------------------------------------------------------ error names */

#define CODE(c) { c, #c }
static const struct {
	int code;
	const char *name;
} codes[] = {
	CODE(SHMK_EBADMAGIC), CODE(SHMK_EVERSION),   CODE(SHMK_ENOTINIT),  CODE(SHMK_EINCOMPAT),
	CODE(SHMK_ELAYOUT),   CODE(SHMK_ETOOSMALL),  CODE(SHMK_EMISALIGNED), CODE(SHMK_EFULL),
	CODE(SHMK_EEMPTY),    CODE(SHMK_ETOOLARGE),  CODE(SHMK_EBUFSMALL), CODE(SHMK_ERANGE),
	CODE(SHMK_EOVERFLOW), CODE(SHMK_EALIGN),     CODE(SHMK_EBADLEN),   CODE(SHMK_EINTEGRITY),
	CODE(SHMK_EPEERDEAD), CODE(SHMK_EBUSY),      CODE(SHMK_ETRUNCATED), CODE(SHMK_EUNSAFE),
	CODE(SHMK_ESTALE),
};

static void error_names(void)
{
	size_t n = sizeof(codes) / sizeof(codes[0]);

	/* the table above is complete: every value from EBASE-1 to ELAST */
	CU_ASSERT_EQUAL(n, (size_t)(SHMK_EBASE - SHMK_ELAST));
	for (int rc = SHMK_EBASE - 1; rc >= SHMK_ELAST; rc--) {
		const char *name = shmk_errname(rc), *text = shmk_strerror(rc);
		CU_ASSERT(rc < -4095);
		CU_ASSERT_PTR_NOT_NULL(name);
		CU_ASSERT(name && !strncmp(name, "SHMK_E", 6));
		CU_ASSERT_PTR_NOT_NULL(text);
		CU_ASSERT(text && *text && strcmp(text, "unknown error"));
		/* one text per cause */
		for (int o = SHMK_EBASE - 1; o > rc; o--)
			CU_ASSERT(strcmp(text, shmk_strerror(o)) != 0);
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = shmk_errname(codes[i].code);
		CU_ASSERT(name && !strcmp(name, codes[i].name));
	}

	/* every errno the C library names */
	int named = 0;
	for (int e = 1; e < 4096; e++) {
		const char *n_libc = strerrorname_np(e);
		if (!n_libc)
			continue;
		named++;
		const char *name = shmk_errname(-e), *text = shmk_strerror(-e);
		CU_ASSERT(name && !strcmp(name, n_libc));
		CU_ASSERT(text && !strcmp(text, strerrordesc_np(e)));
	}
	CU_ASSERT(named > 100);
	CU_ASSERT_STRING_EQUAL(shmk_errname(-ENOENT), "ENOENT");
	CU_ASSERT_STRING_EQUAL(shmk_errname(-EAGAIN), "EAGAIN");

	/* success, and codes nothing defines */
	CU_ASSERT_STRING_EQUAL(shmk_strerror(0), "ok");
	CU_ASSERT_STRING_EQUAL(shmk_strerror(7), "ok");
	CU_ASSERT_STRING_EQUAL(shmk_strerror(SHMK_ELAST - 1), "unknown error");
	CU_ASSERT_STRING_EQUAL(shmk_strerror(SHMK_EBASE), "unknown error");
	CU_ASSERT_STRING_EQUAL(shmk_strerror(-4000), "unknown error");
	CU_ASSERT_STRING_EQUAL(shmk_strerror(-2147483647 - 1), "unknown error");
	CU_ASSERT_PTR_NULL(shmk_errname(SHMK_ELAST - 1));
	CU_ASSERT_PTR_NULL(shmk_errname(-2147483647 - 1));
}
H_REGISTER_IN("errors", error_names, 0, "common.error.names");

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	return h_main(argc, argv, "common", NULL, NULL);
}
