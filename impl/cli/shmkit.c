/* SPDX-License-Identifier: MIT */
/*
 * shmkit - inspect, list and clean up shmkit objects (conformance/spec/cli.md).
 *
 *   shmkit inspect PATH|NAME [--json] [--limit N]
 *   shmkit ls [DIR...] [--json]
 *   shmkit gc [--dry-run] [DIR...]
 *   shmkit --version | help
 *
 * File access lives here; parsing and printing live in inspect.c and only
 * ever see a private heap copy of the bytes.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "inspect.h"
#include "shmkit/slots.h"
#include "shmkit/util.h"
#include "shmkit/wire.h"

#ifndef SHMK_VERSION
#define SHMK_VERSION "0.0.0"
#endif

#define SHM_DIR "/dev/shm"
#define INSPECT_TRIES 3

static const char *prog = "shmkit";

/* r[impl cli.exit.error] one line, the path, the reason. */
static void errline(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errline(const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A path or reason with a newline must not make two lines. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s: ", prog);
	if (path) {
		for (const char *p = path; *p; p++)
			fputc((unsigned char)*p < 0x20 ? '?' : *p, stderr);
		fputs(": ", stderr);
	}
	fprintf(stderr, "%s\n", msg);
}

static const char *rc_text(int rc)
{
	const char *d = shmk_errdetail();
	static char buf[384];

	if (rc == SHMK_EUNSAFE && d && *d) {
		snprintf(buf, sizeof(buf), "SHMK_EUNSAFE: %s", d);
		return buf;
	}
	return rc < 0 && rc > -4096 ? strerror(-rc) : shmk_strerror(rc);
}

/* ------------------------------------------------------------ copying a file */

struct copy {
	void *buf;
	size_t len;
	uint64_t size;
	struct stat st;
};

static size_t max_copy(void)
{
	/* a bad value means the default */
	const char *s = getenv("SHMKIT_MAX_COPY");
	char *end;

	if (!s || !*s)
		return SHMK_CLI_MAX_COPY;
	errno = 0;
	long v = strtol(s, &end, 10);
	return errno || *end || v < 4096 || v > (1L << 30) ? SHMK_CLI_MAX_COPY : (size_t)v;
}

/*
 * Copies at most `limit` bytes of fd into a 64-aligned heap buffer with
 * pread: a mapping would raise SIGBUS when a peer truncates the file while
 * we read, pread just returns short.  r[impl cli.inspect.copy]
 */
static int copy_fd(int fd, size_t limit, struct copy *c)
{
	int rc;

	if (fstat(fd, &c->st))
		return -errno;
	/* r[impl cli.inspect.regular] a FIFO or device could block or never end */
	if (!S_ISREG(c->st.st_mode))
		return -EINVAL;
	c->size = c->st.st_size < 0 ? 0 : (uint64_t)c->st.st_size;
	size_t want = c->size < limit ? (size_t)c->size : limit;
	c->buf = aligned_alloc(64, ((want ? want : 1) + 63) & ~(size_t)63);
	if (!c->buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, (char *)c->buf + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			free(c->buf);
			c->buf = NULL;
			return rc;
		}
		if (n == 0)
			break;	/* shrank under us: parse what there is */
		got += (size_t)n;
	}
	c->len = got;
	return 0;
}

/* Opens read-only without following symlinks anywhere in the path. */
static int open_ro(const char *path, int *fd)
{
	/* r[impl cli.inspect.nofollow] */
	return shmk_open_path(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, fd);
}

static int copy_path(const char *path, size_t limit, struct copy *c)
{
	int fd, rc;

	memset(c, 0, sizeof(*c));
	rc = open_ro(path, &fd);
	if (rc)
		return rc;
	rc = copy_fd(fd, limit, c);
	close(fd);
	return rc;
}

static const char *copy_err(int rc)
{
	if (rc == -EINVAL)
		return "not a regular file";
	return rc_text(rc);
}

/* ------------------------------------------------------------ inspect */

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* PATH, or NAME in /dev/shm, then the flink directory.  r[impl cli.inspect.name] */
static void resolve(const char *arg, char *out, size_t n)
{
	const char *slash = strchr(arg, '/');

	if (slash && !(arg[0] == '/' && !strchr(arg + 1, '/'))) {
		snprintf(out, n, "%s", arg);
		return;
	}
	if (slash) {	/* "/name": a path at / or a POSIX shm name */
		if (!exists(arg) && snprintf(out, n, SHM_DIR "%s", arg) < (int)n && exists(out))
			return;
		snprintf(out, n, "%s", arg);
		return;
	}
	if (snprintf(out, n, SHM_DIR "/%s", arg) < (int)n && exists(out))
		return;
	char dir[PATH_MAX - NAME_MAX - 2];
	if (shmk_slots_default_dir(dir, sizeof(dir)) == 0 &&
	    snprintf(out, n, "%s/%s", dir, arg) < (int)n && exists(out))
		return;
	snprintf(out, n, "%s", arg);
}

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: shmkit inspect PATH|NAME [--json] [--limit N]\n"
		"       shmkit ls [DIR...] [--json]\n"
		"       shmkit gc [--dry-run] [--strict] [DIR...]\n"
		"       shmkit --version | help\n"
		"\n"
		"  inspect  validate and print an events region, ring or slots segment\n"
		"           (a flink is followed to its segment); NAME is looked up in\n"
		"           /dev/shm, then in the slots flink directory\n"
		"  ls       list shmkit objects in /dev/shm and the flink directory, or\n"
		"           in the given directories only\n"
		"  gc       remove objects whose owner is dead and that no live process\n"
		"           maps or holds open; --dry-run only lists them, --strict keeps\n"
		"           everything when a process cannot be checked\n"
		"\n"
		"Exit status: 0 ok, 1 an object could not be read or is inconsistent,\n"
		"2 usage error.  See shmkit(1).\n");
	return status;
}

static int usage_err(const char *fmt, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, arg);
	errline(NULL, "%s (try `shmkit help`)", msg);
	return 2;
}

/* One attempt: copy, follow a flink, parse into a memory stream. */
static int inspect_once(const char *path, const struct shmk_cli_opts *o, char **outp,
			size_t *outlen, char *err, size_t errlen, bool *body)
{
	struct copy c;
	char seg[sizeof(SHM_DIR) + SHMK_CLI_FLINK_MAX];
	const char *flink = NULL, *shown = path;
	int rc = copy_path(path, max_copy(), &c);

	*body = false;
	*outp = NULL;
	if (rc) {
		snprintf(err, errlen, "%s", copy_err(rc));
		return 1;
	}
	/* r[impl cli.inspect.recognise+2] */
	if (shmk_cli_kind_of(c.buf, c.len) == SHMK_CLI_FLINK) {
		char name[SHMK_CLI_FLINK_MAX];
		if (shmk_cli_flink_name(c.buf, c.len, name)) {
			free(c.buf);
			snprintf(err, errlen, "flink does not hold a valid shm name");
			return 1;
		}
		free(c.buf);
		/* r[impl cli.inspect.flink] */
		snprintf(seg, sizeof(seg), SHM_DIR "%s", name);
		rc = copy_path(seg, max_copy(), &c);
		if (rc) {
			snprintf(err, errlen, "flink names %s: %s", name, copy_err(rc));
			return 1;
		}
		flink = path;
		shown = seg;
		if (shmk_cli_kind_of(c.buf, c.len) != SHMK_CLI_SLOTS &&
		    shmk_cli_kind_of(c.buf, c.len) != SHMK_CLI_UNKNOWN) {
			free(c.buf);
			snprintf(err, errlen, "flink names %s, which is not a slots segment", name);
			return 1;
		}
	}
	struct shmk_cli_image img = { .buf = c.buf, .len = c.len, .file_size = c.size,
				      .path = shown, .flink = flink };
	FILE *m = open_memstream(outp, outlen);
	if (!m) {
		free(c.buf);
		snprintf(err, errlen, "%s", strerror(errno));
		return 1;
	}
	rc = shmk_cli_inspect(&img, o, m, err, errlen);
	fclose(m);
	free(c.buf);
	*body = *outlen > 0;
	return rc;
}

static int cmd_inspect(int argc, char **argv)
{
	struct shmk_cli_opts o = { 0 };
	const char *arg = NULL;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			o.json = 1;
		} else if (!strcmp(argv[i], "--limit")) {
			char *end;
			if (i + 1 >= argc)
				return usage_err("--limit needs a number%s", "");
			errno = 0;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || v == 0 || v > 4096)
				return usage_err("--limit %s: want 1..4096", argv[i]);
			o.limit = (unsigned)v;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_err("inspect: unknown option %s", argv[i]);
		} else if (arg) {
			return usage_err("inspect: one object at a time (extra %s)", argv[i]);
		} else {
			arg = argv[i];
		}
	}
	/* r[impl cli.exit.usage] */
	if (!arg || !*arg)
		return usage_err("inspect: PATH or NAME missing%s", "");

	char path[PATH_MAX];
	resolve(arg, path, sizeof(path));
	char err[512], *out = NULL;
	size_t outlen = 0;
	bool body = false;
	int rc = 1;
	/* r[impl cli.inspect.snapshot] a body inconsistency may be a copy torn
	 * by a live peer: take a fresh copy before reporting it. */
	for (int t = 0; t < INSPECT_TRIES; t++) {
		free(out);
		rc = inspect_once(path, &o, &out, &outlen, err, sizeof(err), &body);
		if (rc == 0 || !body)
			break;
	}
	if (body && out)
		fwrite(out, 1, outlen, stdout);
	free(out);
	if (fflush(stdout) && rc == 0) {
		errline(path, "write: %s", strerror(errno));
		return 1;
	}
	if (rc)
		errline(path, "%s", err);
	return rc ? 1 : 0;
}

/* ------------------------------------------------------------ scanning dirs */

struct obj {
	char path[PATH_MAX];
	struct shmk_cli_summary s;
	struct stat st;
	uint64_t size;
	int64_t age_s;
	/* flink: its segment */
	char seg_path[sizeof(SHM_DIR) + SHMK_CLI_FLINK_MAX];
	bool seg_exists;
	struct shmk_cli_summary seg;
	struct stat seg_st;
};

static int64_t age_of(int fd, const struct stat *st)
{
	struct statx sx;
	int64_t born = st->st_mtim.tv_sec;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME))
		born = sx.stx_btime.tv_sec;
	int64_t now = (int64_t)time(NULL);
	return now > born ? now - born : 0;
}

/* Summarises one open file: probe the first bytes, then the whole (bounded). */
static int summarize_fd(int fd, struct shmk_cli_summary *s, struct stat *st, int64_t *age)
{
	struct copy c;
	int rc = copy_fd(fd, SHMK_CLI_PROBE_BYTES, &c);

	memset(s, 0, sizeof(*s));
	if (rc)
		return rc;
	*st = c.st;
	if (age)
		*age = age_of(fd, &c.st);
	enum shmk_cli_kind k = shmk_cli_kind_of(c.buf, c.len);
	if (k != SHMK_CLI_UNKNOWN && k != SHMK_CLI_FLINK && c.size > c.len) {
		free(c.buf);
		rc = copy_fd(fd, max_copy(), &c);
		if (rc)
			return rc;
	}
	struct shmk_cli_image img = { .buf = c.buf, .len = c.len, .file_size = c.size };
	shmk_cli_summarize(&img, s);
	free(c.buf);
	return 0;
}

/* Fills o for dir/name; 0 when it is a shmkit object. */
static int load_obj(int dfd, const char *dir, const char *name, struct obj *o)
{
	memset(o, 0, sizeof(*o));
	if (snprintf(o->path, sizeof(o->path), "%s/%s", dir, name) >= (int)sizeof(o->path))
		return -ENAMETOOLONG;
	/* O_NOFOLLOW: a symlink planted in the directory is not ours to follow */
	int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	int rc = summarize_fd(fd, &o->s, &o->st, &o->age_s);
	close(fd);
	if (rc)
		return rc;
	o->size = (uint64_t)o->st.st_size;
	if (o->s.kind == SHMK_CLI_UNKNOWN)
		return -ENOENT;
	if (o->s.kind == SHMK_CLI_FLINK) {
		snprintf(o->seg_path, sizeof(o->seg_path), SHM_DIR "%s", o->s.flink_name);
		int sfd;
		if (open_ro(o->seg_path, &sfd) == 0) {
			o->seg_exists = summarize_fd(sfd, &o->seg, &o->seg_st, NULL) == 0;
			close(sfd);
		}
	}
	return 0;
}

/* Default directories: /dev/shm and the slots flink directory. */
static int default_dirs(const char **dirs, char *flinkdir, size_t n)
{
	int k = 0;
	dirs[k++] = SHM_DIR;
	if (shmk_slots_default_dir(flinkdir, n) == 0)
		dirs[k++] = flinkdir;
	return k;
}

typedef int (*obj_fn)(struct obj *o, void *arg);

/* r[impl cli.ls.dirs] */
static int scan_dir(const char *dir, bool explicit_dir, obj_fn fn, void *arg)
{
	int rc = 0;
	int dfd;
	int orc = shmk_open_path(dir, O_RDONLY | O_DIRECTORY, 0, &dfd);
	if (orc) {
		/* the default flink directory need not exist */
		if (!explicit_dir && orc == -ENOENT)
			return 0;
		errline(dir, "%s", orc == SHMK_EUNSAFE ? "a path component is a symbolic link"
						       : rc_text(orc));
		return 1;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		errline(dir, "%s", strerror(errno));
		close(dfd);
		return 1;
	}
	/* Names sorted so output is stable across runs. */
	struct dirent **names = NULL;
	size_t n = 0, capn = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (n == capn) {
			capn = capn ? 2 * capn : 64;
			struct dirent **nn = realloc(names, capn * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = malloc(sizeof(*de));
		if (!names[n])
			break;
		memcpy(names[n++], de, sizeof(*de));
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1]->d_name, names[j]->d_name) > 0; j--) {
			struct dirent *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	struct obj *o = malloc(sizeof(*o));
	for (size_t i = 0; o && i < n; i++) {
		/* vanished, unreadable or not ours: not a shmkit object here */
		if (load_obj(dirfd(d), dir, names[i]->d_name, o) == 0)
			rc |= fn(o, arg);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(o);
	closedir(d);
	return rc;
}

static int scan(int ndirs, char **dirs, obj_fn fn, void *arg)
{
	int rc = 0;

	if (ndirs == 0) {
		const char *dd[2];
		char flinkdir[PATH_MAX];
		int k = default_dirs(dd, flinkdir, sizeof(flinkdir));
		for (int i = 0; i < k; i++)
			rc |= scan_dir(dd[i], false, fn, arg);
	} else {
		for (int i = 0; i < ndirs; i++)
			rc |= scan_dir(dirs[i], true, fn, arg);
	}
	return rc;
}

/* ------------------------------------------------------------ ls */

static const char *alive_word(uint64_t tok)
{
	return !tok ? "none" : shmk_token_alive(tok) == 1 ? "alive" : "dead";
}

struct ls_state {
	int json;
	int n;
};

/* The owner that counts for an object: a flink's is its segment's. */
static const struct shmk_cli_summary *owner_summary(const struct obj *o)
{
	return o->s.kind == SHMK_CLI_FLINK ? (o->seg_exists ? &o->seg : NULL) : &o->s;
}

static int ls_one(struct obj *o, void *arg)
{
	struct ls_state *ls = arg;
	const struct shmk_cli_summary *os = owner_summary(o);
	uint64_t tok = os ? os->owner : 0;
	const char *state = !os ? "segment missing"
			  : !os->valid ? "invalid"
			  : os->owner_closed ? "closed" : "ok";

	/* r[impl cli.ls.fields] */
	if (ls->json) {
		printf("%s{\"path\":", ls->n ? "," : "");
		shmk_cli_json_str(stdout, o->path);
		printf(",\"kind\":\"%s\",\"size\":%" PRIu64 ",\"state\":\"%s\",\"owner_pid\":",
		       shmk_cli_kind_name(o->s.kind), o->size, state);
		if (tok)
			printf("%u", SHMK_TOKEN_PID(tok));
		else
			fputs("null", stdout);
		printf(",\"owner\":\"%s\",\"age_s\":%" PRId64, alive_word(tok), o->age_s);
		if (o->s.kind == SHMK_CLI_FLINK) {
			fputs(",\"segment\":", stdout);
			shmk_cli_json_str(stdout, o->seg_path);
		}
		fputc('}', stdout);
	} else {
		if (!ls->n)
			printf("%-7s %12s %8s %-6s %8s %-8s %s\n", "KIND", "SIZE", "PID", "OWNER",
			       "AGE", "STATE", "PATH");
		char pid[16];
		snprintf(pid, sizeof(pid), tok ? "%u" : "-", SHMK_TOKEN_PID(tok));
		printf("%-7s %12" PRIu64 " %8s %-6s %7" PRId64 "s %-8s ", shmk_cli_kind_name(o->s.kind),
		       o->size, pid, alive_word(tok), o->age_s, state);
		for (const char *p = o->path; *p; p++)
			putchar((unsigned char)*p < 0x20 ? '?' : *p);
		if (o->s.kind == SHMK_CLI_FLINK)
			printf(" -> %s", o->seg_path);
		putchar('\n');
	}
	ls->n++;
	return 0;
}

/* The directories a command (ls, gc) scans: every argument that opt(arg,
 * st) does not take as an option ("-" alone is a directory).  The caller
 * frees the array.  NULL with *nd the exit status on an unknown option
 * (said) or no memory. */
static char **dir_args(const char *fmt, int argc, char **argv, bool (*opt)(const char *, void *),
		       void *st, int *nd)
{
	char **dirs = calloc((size_t)argc + 1, sizeof(*dirs));

	*nd = 0;
	for (int i = 0; dirs && i < argc; i++) {
		if (opt(argv[i], st))
			continue;
		if (argv[i][0] == '-' && argv[i][1]) {
			free(dirs);
			*nd = usage_err(fmt, argv[i]);
			return NULL;
		}
		dirs[(*nd)++] = argv[i];
	}
	if (!dirs)
		*nd = 1;
	return dirs;
}

static bool ls_opt(const char *a, void *st)
{
	if (strcmp(a, "--json"))
		return false;
	((struct ls_state *)st)->json = 1;
	return true;
}

static int cmd_ls(int argc, char **argv)
{
	struct ls_state ls = { 0 };
	int nd;
	char **dirs = dir_args("ls: unknown option %s", argc, argv, ls_opt, &ls, &nd);

	if (!dirs)
		return nd;
	if (ls.json)
		fputs("{\"schema\":\"shmkit.ls/1\",\"objects\":[", stdout);
	int rc = scan(nd, dirs, ls_one, &ls);
	if (ls.json)
		fputs("]}\n", stdout);
	free(dirs);
	return rc ? 1 : 0;
}

/* ------------------------------------------------------------ gc */

/* r[impl cli.gc.unreadable] */
static bool gc_strict;

/* A process whose maps we may not read (another user namespace, a
 * ptrace-protected init): said once per run, on stderr. */
static void unreadable(long pid, int err)
{
	static long said = -1;
	if (said == pid)
		return;
	said = pid;
	fprintf(stderr, "%s: warning: cannot read /proc/%ld (%s): %s\n", prog, pid, strerror(err),
		gc_strict ? "objects are kept" : "not checked (use --strict to keep objects)");
}

/*
 * Does a live process map or hold open (dev, ino)?  1 yes (*who set),
 * 0 no, -1 unknown (a process we cannot inspect).  Both /proc/PID/maps
 * (dev:inode, and the path for filesystems whose maps show another device)
 * and /proc/PID/fd are read.  r[impl cli.gc.unmapped]
 */
static int in_use(const struct stat *st, const char *path, pid_t *who)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int unknown = 0;
	char real[PATH_MAX];
	const char *rp = realpath(path, real) ? real : path;
	pid_t self = getpid();
	char *line = NULL;
	size_t cap = 0;

	if (!proc)
		return -1;
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		char p[64];
		snprintf(p, sizeof(p), "/proc/%ld/maps", pid);
		FILE *f = fopen(p, "re");
		if (!f) {
			if (errno != ENOENT && errno != ESRCH)
				unreadable(pid, errno), unknown = 1;
			continue;
		}
		bool hit = false;
		while (!hit && getline(&line, &cap, f) > 0) {
			unsigned maj, min;
			unsigned long long ino;
			int off = 0;
			if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &off) < 3)
				continue;
			if (ino == (unsigned long long)st->st_ino && maj == major(st->st_dev) &&
			    min == minor(st->st_dev))
				hit = true;
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			if (off > 0 && (size_t)off <= strlen(line) && !strcmp(line + off, rp))
				hit = true;
		}
		fclose(f);
		snprintf(p, sizeof(p), "/proc/%ld/fd", pid);
		int dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			if (errno != ENOENT && errno != ESRCH)
				unreadable(pid, errno), unknown = 1;
		} else if (!hit) {
			DIR *fdd = fdopendir(dfd);
			struct dirent *fe;
			while (fdd && !hit && (fe = readdir(fdd))) {
				struct stat fst;
				if (fe->d_name[0] == '.')
					continue;
				if (fstatat(dirfd(fdd), fe->d_name, &fst, 0) == 0 &&
				    fst.st_dev == st->st_dev && fst.st_ino == st->st_ino)
					hit = true;
			}
			if (fdd)
				closedir(fdd);
			else
				close(dfd);
		} else {
			close(dfd);
		}
		if (hit) {
			*who = (pid_t)pid;
			free(line);
			closedir(proc);
			return 1;
		}
	}
	free(line);
	closedir(proc);
	return unknown && gc_strict ? -1 : 0;
}

struct gc_state {
	bool dry;
	int removed, kept;
};

/* Why an object must stay, or NULL when it may go.  r[impl cli.gc.dead-owner] */
static const char *keep_reason(const struct shmk_cli_summary *s, uint64_t size, char *buf,
			       size_t n)
{
	/* An events region whose creator died mid-init still names it; the
	 * exact size events.c reserves keeps a foreign file that merely
	 * starts like one from counting. */
	bool known = s->valid ||
		     (s->kind == SHMK_CLI_EVENTS && s->rc == SHMK_ENOTINIT &&
		      (size == SHMK_EVENTS_BASE_BYTES ||
		       size == (uint64_t)SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES));
	if (!known) {
		snprintf(buf, n, "invalid header (%s)", shmk_errname(s->rc) ? shmk_errname(s->rc)
									     : "?");
		return buf;
	}
	if (!s->owner && !s->owner_closed)
		return "no owner recorded";
	if (!s->owner_closed && shmk_token_alive(s->owner) == 1) {
		snprintf(buf, n, "owner pid %u alive", SHMK_TOKEN_PID(s->owner));
		return buf;
	}
	for (unsigned i = 0; i < s->nusers && i < SHMK_CLI_MAX_USERS; i++)
		if (s->users[i] && shmk_token_alive(s->users[i]) == 1) {
			snprintf(buf, n, "user pid %u alive", SHMK_TOKEN_PID(s->users[i]));
			return buf;
		}
	return NULL;
}

static const char *use_reason(const struct stat *st, const char *path, char *buf, size_t n)
{
	pid_t who = 0;
	int u = in_use(st, path, &who);

	if (u == 1) {
		snprintf(buf, n, "mapped or open by pid %d", (int)who);
		return buf;
	}
	if (u < 0)
		return "--strict: cannot read every /proc/PID";
	return NULL;
}

static void gc_print(const char *verb, const char *path, const char *why)
{
	printf("%s ", verb);
	for (const char *p = path; *p; p++)
		putchar((unsigned char)*p < 0x20 ? '?' : *p);
	printf(" (%s)\n", why);
}

static int gc_one(struct obj *o, void *arg)
{
	struct gc_state *g = arg;
	char why[160], use[160], what[512];
	const char *r;
	const struct shmk_cli_summary *s = o->s.kind == SHMK_CLI_FLINK ? &o->seg : &o->s;
	const char *kind = shmk_cli_kind_name(o->s.kind);

	if (o->s.kind == SHMK_CLI_FLINK && !o->seg_exists) {
		snprintf(what, sizeof(what), "flink, segment %s missing", o->s.flink_name);
	} else {
		/* r[impl cli.gc.never-live] */
		r = keep_reason(s, o->s.kind == SHMK_CLI_FLINK ? (uint64_t)o->seg_st.st_size : o->size,
				why, sizeof(why));
		if (!r)
			r = use_reason(o->s.kind == SHMK_CLI_FLINK ? &o->seg_st : &o->st,
				       o->s.kind == SHMK_CLI_FLINK ? o->seg_path : o->path, use,
				       sizeof(use));
		if (r) {
			snprintf(what, sizeof(what), "%s: %s", kind, r);
			gc_print("kept", o->path, what);
			g->kept++;
			return 0;
		}
		snprintf(what, sizeof(what), "%s, owner pid %u %s", kind, SHMK_TOKEN_PID(s->owner),
			 s->owner_closed ? "closed" : "dead");
	}
	/* r[impl cli.gc.dry-run] */
	if (g->dry) {
		gc_print("would remove", o->path, what);
		return 0;
	}
	int rc = 0;
	if (o->s.kind == SHMK_CLI_FLINK) {
		/* The slots module's own reclaim re-checks the owner and removes
		 * the segment and the flink together. */
		rc = shmk_slots_reclaim_stale(o->path);
	} else if (unlink(o->path)) {
		rc = -errno;
	}
	if (rc && rc != -ENOENT) {
		errline(o->path, "not removed: %s", rc_text(rc));
		return 1;
	}
	gc_print("removed", o->path, what);
	g->removed++;
	return 0;
}

static bool gc_opt(const char *a, void *st)
{
	if (!strcmp(a, "--dry-run") || !strcmp(a, "-n"))
		((struct gc_state *)st)->dry = true;
	else if (!strcmp(a, "--strict"))
		gc_strict = true;
	else
		return false;
	return true;
}

static int cmd_gc(int argc, char **argv)
{
	struct gc_state g = { 0 };
	int nd;
	char **dirs = dir_args("gc: unknown option %s", argc, argv, gc_opt, &g, &nd);

	if (!dirs)
		return nd;
	int rc = scan(nd, dirs, gc_one, &g);
	free(dirs);
	return rc ? 1 : 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_err("missing command%s", "");
	const char *cmd = argv[1];
	/* r[impl cli.cmd.version] */
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("shmkit %s\n", SHMK_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return usage(stdout, 0);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 2, argv + 2);
	if (!strcmp(cmd, "ls"))
		return cmd_ls(argc - 2, argv + 2);
	if (!strcmp(cmd, "gc"))
		return cmd_gc(argc - 2, argv + 2);
	return usage_err("unknown command %s", cmd);
}
