/* SPDX-License-Identifier: MIT */
/*
 * reliability.c - the cross-module reliability suite (issue 11, items 5-7),
 * one table-driven test per primitive and concern, through the uniform
 * face in conformance/stress/reliability.h:
 *
 *   enospc    a tmpfs of 1 MiB in a private mount namespace (root only):
 *             creating an object that does not fit fails at create with
 *             -ENOSPC and leaves nothing half-made; one that fits works.
 *   truncate  the backing file is cut under an attached process: every
 *             module's check call (<module>.truncate.check, mmap_region's
 *             check_and_remap) reports SHMK_ETRUNCATED; then one ordinary
 *             operation runs: an events handle's first operation (its role
 *             claim) reports SHMK_ETRUNCATED too, while a hot-path data
 *             operation that touches cut pages may die of SIGBUS (the
 *             documented <module>.truncate.hot-path limitation, printed as
 *             such: the caller was told first); attaching to the cut file
 *             is refused with a documented code.
 *   paths     run as nobody: symlink at the final path and at a parent, a
 *             file of another uid, a mode wider than asked, a hard link, a
 *             FIFO, a directory, a too-short file, at every attach/open by
 *             path: each refused (SHMK_EUNSAFE with the reason in
 *             shmk_errdetail(), or SHMK_ETOOSMALL) and the victim file
 *             unchanged (bytes, size, mode, links).
 *   faults    every setup syscall site (open, shm_open, ftruncate,
 *             fallocate, mmap, mremap, fstat, futex) failed at its Nth call
 *             for N = 1.. until create (then attach) succeeds with no fault
 *             fired: an error comes back, no descriptor and no mapping
 *             leaks, and the name either does not exist or a forked peer's
 *             attach returns cleanly (no crash, no hang).
 *
 * Each test prints what it tried and saw.  Item 4 (concurrent create /
 * attach / remove) is conformance/stress/reliability_race.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Test paths are well under 200 bytes; one cut short would fail its test
 * loudly (ENOENT), so gcc's worst-case length warnings are noise here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "harness.h"
#include "internal.h"	/* shmk_fault_set / shmk_fault_fired */
#include "../stress/reliability.h"

#define OTHER_UID 1	/* "daemon": a uid that is neither root nor nobody */

static const enum rel_kind kinds[REL_N] = { REL_SHM, REL_MMAP, REL_EVENTS, REL_RING, REL_SLOTS };

/* ------------------------------------------------------------ helpers */

/* mappings of shmkit objects: files under /dev/shm or the test directory */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/dev/shm/") != NULL || strstr(line, h_tmpdir()) != NULL ||
		     strstr(line, "/tmp/shmk-rel") != NULL;
	fclose(f);
	return n;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* FNV-1a of a file's bytes plus its size, mode and link count: the
 * fingerprint a refused attach must leave unchanged. */
static uint64_t fingerprint(const char *path)
{
	struct stat st;
	uint64_t h = 0xcbf29ce484222325ull;

	if (lstat(path, &st))
		return 0;
	h = (h ^ (uint64_t)st.st_size) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_mode) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_nlink) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_uid) * 0x100000001b3ull;
	if (!S_ISREG(st.st_mode))
		return h;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return h;
	uint8_t buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	close(fd);
	return h;
}

/* A private directory for one test, owned by `uid` (nobody for the path
 * attacks), 0755 so the owner alone can add entries. */
static void own_dir(char *buf, size_t len, const char *stem, uid_t uid)
{
	h_unique_path(buf, len, stem);
	CU_ASSERT_FATAL(mkdir(buf, 0755) == 0);
	CU_ASSERT_FATAL(chown(buf, uid, uid) == 0);
}

static void rm_tree(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
		/* best effort: the harness removes its directory at exit */
	}
}

/* where an object of kind k lives in dir (shm: a name in /dev/shm) */
static const char *object_at(enum rel_kind k, const char *dir, const char *stem, char *buf,
			     size_t len)
{
	if (rel_prims[k].by_name)
		snprintf(buf, len, "/shmk-rel-%s-%d", stem, (int)getpid());
	else
		snprintf(buf, len, "%s/%s", dir, stem);
	return buf;
}

/* ------------------------------------------------------------ 5a: ENOSPC */

static void enospc_body(void *arg)
{
	enum rel_kind k = *(const enum rel_kind *)arg;
	const struct rel_prim *p = &rel_prims[k];
	char dir[256], path[300], big[300];
	int rc = -1;

	h_unique_path(dir, sizeof(dir), "tiny");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	CU_ASSERT_EQUAL_FATAL(unshare(CLONE_NEWNS), 0);
	CU_ASSERT_EQUAL_FATAL(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", dir, "tmpfs", 0, "size=1m"), 0);
	/* shm objects and slots segments live in /dev/shm: make it tiny too */
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777"), 0);

	switch (k) {
	case REL_SHM: {
		struct shmk_shm *s = NULL;
		size_t sz = 1;
		CU_ASSERT_EQUAL_FATAL(shmk_shm_open("/rel-big", O_RDWR | O_CREAT | O_EXCL, 0, &s), 0);
		rc = shmk_shm_set_size(s, 2u << 20);
		CU_ASSERT_EQUAL(shmk_shm_size(s, &sz), 0);
		CU_ASSERT_EQUAL(sz, 0); /* unchanged: shm.size.reserve */
		shmk_shm_unlink(s);
		shmk_shm_close(s);
		snprintf(big, sizeof(big), "/dev/shm/rel-big");
		break;
	}
	case REL_MMAP: {
		struct shmk_mmap_region *r = NULL;
		snprintf(big, sizeof(big), "%s/big", dir);
		rc = shmk_mmap_region_create(big, 2u << 20, SHMK_CLEANUP_MANUAL, 0, &r);
		CU_ASSERT_PTR_NULL(r);
		break;
	}
	case REL_EVENTS: {
		/* the layout (582144 bytes) fits 1 MiB: fill most of it first */
		struct shmk_events *e = NULL;
		snprintf(path, sizeof(path), "%s/filler", dir);
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL_FATAL(posix_fallocate(fd, 0, 640u << 10), 0);
		close(fd);
		snprintf(big, sizeof(big), "%s/big", dir);
		rc = shmk_events_open_path(big, &e);
		CU_ASSERT_PTR_NULL(e);
		/* create-or-join leaves an empty file for the next opener to
		 * size; it must not be a half-initialised region */
		struct stat st;
		if (stat(big, &st) == 0) {
			printf("\n    events: ENOSPC left an empty %lld-byte file (fresh for the next opener)",
			       (long long)st.st_size);
			CU_ASSERT_EQUAL(st.st_size, 0);
			unlink(big);
		}
		unlink(path);
		break;
	}
	case REL_RING: {
		struct shmk_ring *r = NULL;
		struct shmk_ring_opts o = { .capacity = 2u << 20 };
		snprintf(big, sizeof(big), "%s/big", dir);
		rc = shmk_ring_create(big, &o, &r);
		CU_ASSERT_PTR_NULL(r);
		break;
	}
	case REL_SLOTS: {
		struct shmk_slots *s = NULL;
		snprintf(big, sizeof(big), "%s/big.flink", dir);
		rc = shmk_slots_create(big, 64, 32768, &s);
		CU_ASSERT_PTR_NULL(s);
		/* the segment went too: /dev/shm is empty again */
		DIR *d = opendir("/dev/shm");
		int n = 0;
		struct dirent *de;
		while (d && (de = readdir(d)))
			n += de->d_name[0] != '.';
		if (d)
			closedir(d);
		CU_ASSERT_EQUAL(n, 0);
		break;
	}
	default:
		break;
	}
	printf("\n    %s: create of 2 MiB on a 1 MiB tmpfs -> %s", p->name, shmk_errname(rc));
	CU_ASSERT_EQUAL(rc, -ENOSPC);
	CU_ASSERT_FALSE(exists(big));

	/* and a small one fits: the filesystem works, only the size failed */
	struct rel_obj o;
	object_at(k, dir, "small", path, sizeof(path));
	CU_ASSERT_EQUAL(rc = p->create(path, &o), 0);
	if (!rc) {
		p->release(&o);
		p->remove(path);
	}
	umount("/dev/shm");
	umount(dir);
	rmdir(dir);
}

static void run_enospc(enum rel_kind k)
{
	if (geteuid() != 0)
		H_SKIP("needs root to mount a tmpfs in a private mount namespace");
	isolate_arg(enospc_body, (void *)&kinds[k], 60);
}

static void enospc_shm(void)
{
	run_enospc(REL_SHM);
}
H_REGISTER_IN("enospc", enospc_shm, 0, "shm.size.reserve");
static void enospc_mmap_region(void)
{
	run_enospc(REL_MMAP);
}
H_REGISTER_IN("enospc", enospc_mmap_region, 0, "mmap_region.create.reserve", "mmap_region.create.no_leftover");
static void enospc_events(void)
{
	run_enospc(REL_EVENTS);
}
H_REGISTER_IN("enospc", enospc_events, 0, "events.open.reserve");
static void enospc_ring(void)
{
	run_enospc(REL_RING);
}
H_REGISTER_IN("enospc", enospc_ring, 0, "ring.create.file");
static void enospc_slots(void)
{
	run_enospc(REL_SLOTS);
}
H_REGISTER_IN("enospc", enospc_slots, 0, "slots.create.fallocate");

/* ------------------------------------------------------------ 5b: truncation */

/* What the attached peer saw, written by it into shared memory. */
struct trunc_seen {
	int stage;		/* 1 attached, 2 detect done, 3 use done */
	int setup_rc, detect_rc, use_rc;
};

/* The file to cut for an object at `where`, and how short. */
static void trunc_target(enum rel_kind k, const struct rel_obj *owner, const char *where,
			 char *file, size_t len, off_t *cut)
{
	switch (k) {
	case REL_SHM:
		snprintf(file, len, "/dev/shm%s", where);
		*cut = 0;
		break;
	case REL_SLOTS:
		snprintf(file, len, "/dev/shm%s", shmk_slots_segment_path(owner->h));
		*cut = 64; /* inside the 0x140-byte header */
		break;
	case REL_EVENTS:
	case REL_RING:
		snprintf(file, len, "%s", where);
		*cut = 4096; /* the header survives, the queues do not */
		break;
	default:
		snprintf(file, len, "%s", where);
		*cut = 0;
		break;
	}
}

/* The peer's SIGBUS: the sanitizer runtime would turn it into an abort,
 * so the peer reports it with its own exit status. */
#define EXIT_SIGBUS 99
static void on_sigbus(int sig)
{
	(void)sig;
	_exit(EXIT_SIGBUS);
}

/* The peer: attach, wait for the cut, run the detecting call, then an
 * ordinary operation that touches the mapping. */
static int trunc_peer(enum rel_kind k, const char *where, int wfd, int ring_wfd, int go_fd,
		      struct trunc_seen *seen)
{
	struct rel_obj o = { 0 };
	struct shmk_ring_writer *w = NULL;
	struct shmk_events_tx *tx = NULL;
	struct shmk_events_rx *rx = NULL;
	unsigned ridx = 0;
	char c = 0;
	int rc;
	struct sigaction sa = { .sa_handler = on_sigbus };

	/* RELIABILITY_SIGBUS_TRACE=1 leaves SIGBUS to the sanitizer, which
	 * prints where the peer touched the cut pages (the test then fails) */
	if (!getenv("RELIABILITY_SIGBUS_TRACE"))
		sigaction(SIGBUS, &sa, NULL);
	if (k == REL_RING)
		rc = shmk_ring_writer_open(ring_wfd, &w);
	else
		rc = rel_prims[k].attach(where, &o);
	if (!rc && k == REL_EVENTS)
		rc = shmk_events_split_spsc(o.h, &tx, &rx);
	if (!rc && k == REL_SLOTS)
		rc = shmk_slots_register_reader(o.h, -1, &ridx);
	seen->setup_rc = rc;
	seen->stage = 1;
	if (write(wfd, "a", 1) != 1 || rc)
		return 1;
	if (read(go_fd, &c, 1) != 1)
		return 1;
	/* the API's own detection: every module has a check call */
	switch (k) {
	case REL_MMAP: {
		bool moved = false;
		rc = shmk_mmap_region_check_and_remap(o.h, &moved);
		break;
	}
	case REL_EVENTS: {
		struct shmk_events_tx *t2 = NULL;
		struct shmk_events_rx *r2 = NULL;
		/* the handle's check and a split must both see it */
		rc = shmk_events_tx_check(tx);
		int rc2 = shmk_events_split_spsc(o.h, &t2, &r2);
		if (!rc2) {
			shmk_events_tx_close(t2);
			shmk_events_rx_close(r2);
		}
		if (rc2 != SHMK_ETRUNCATED)
			rc = rc2 ? rc2 : 1;
		break;
	}
	case REL_SHM:
		rc = shmk_shm_map_check(o.aux);
		break;
	case REL_RING:
		rc = shmk_ring_writer_check(w);
		break;
	case REL_SLOTS:
		rc = shmk_slots_check(o.h);
		break;
	default:
		rc = 1; /* no detecting call */
		break;
	}
	seen->detect_rc = rc;
	seen->stage = 2;
	/* an ordinary operation */
	switch (k) {
	case REL_SHM: {
		volatile uint8_t *b = shmk_shm_map_ptr(o.aux);
		b[shmk_shm_map_len(o.aux) - 1] = 1;
		rc = 0;
		break;
	}
	case REL_MMAP: {
		volatile uint8_t *b = shmk_mmap_region_ptr(o.h);
		b[shmk_mmap_region_len(o.h) - 1] = 1;
		rc = 0;
		break;
	}
	case REL_EVENTS:
		rc = shmk_events_try_send(tx, "x", 1, NULL);
		break;
	case REL_RING: {
		static char payload[4096];
		rc = 0;
		for (int i = 0; i < 32 && rc == 0; i++) /* walk past the cut */
			rc = shmk_ring_write(w, payload, sizeof(payload));
		break;
	}
	case REL_SLOTS: {
		shmk_slot_handle_t h;
		rc = shmk_slots_next_unread_slot(o.h, ridx, &h);
		break;
	}
	default:
		rc = 0;
	}
	seen->use_rc = rc;
	seen->stage = 3;
	return 0;
}

static void truncate_body(void *arg)
{
	enum rel_kind k = *(const enum rel_kind *)arg;
	const struct rel_prim *p = &rel_prims[k];
	char dir[256], where[300], file[300];
	struct rel_obj owner;
	struct trunc_seen *seen = t_shared_alloc(sizeof(*seen));
	int up[2], go[2], ring_wfd = -1, ring_peer = -1;
	off_t cut = 0;

	own_dir(dir, sizeof(dir), "trunc", geteuid());
	object_at(k, dir, "obj", where, sizeof(where));
	CU_ASSERT_EQUAL_FATAL(p->create(where, &owner), 0);
	if (k == REL_RING)
		CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_new(owner.h, 7, &ring_wfd, &ring_peer), 0);
	trunc_target(k, &owner, where, file, sizeof(file), &cut);
	CU_ASSERT_FATAL(pipe(up) == 0 && pipe(go) == 0);

	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(go[1]);
		_exit(trunc_peer(k, where, up[1], ring_wfd, go[0], seen));
	}
	close(up[1]);
	close(go[0]);
	if (ring_wfd >= 0)
		close(ring_wfd);
	char c;
	CU_ASSERT_EQUAL_FATAL(read(up[0], &c, 1), 1);
	CU_ASSERT_EQUAL_FATAL(seen->setup_rc, 0);
	CU_ASSERT_EQUAL(truncate(file, cut), 0);
	CU_ASSERT_EQUAL(write(go[1], "g", 1), 1);
	int st = h_wait(pid, 30);
	bool sigbus = st == EXIT_SIGBUS || st == 128 + SIGBUS;

	printf("\n    %s: cut %s to %lld under an attached peer: detect -> %s, "
	       "operation -> %s", p->name, file, (long long)cut,
	       seen->stage < 2		? "(died)"
	       : seen->detect_rc == 1	? "(no detecting call)"
					: shmk_errname(seen->detect_rc) ?: "ok",
	       sigbus ? "SIGBUS on touching the cut pages (documented hot-path limitation; "
			"the caller was told first)"
		      : seen->stage < 3 ? "(died)" : shmk_errname(seen->use_rc) ?: "ok");
	/* no death other than the documented SIGBUS of a hot-path touch of
	 * cut pages, and that only after the check reported the cut */
	CU_ASSERT(st == 0 || (sigbus && seen->stage >= 2));
	/* every module's check call reports the cut */
	CU_ASSERT(seen->stage >= 2);
	CU_ASSERT_EQUAL(seen->detect_rc, SHMK_ETRUNCATED);
	/* an events handle's first operation is its role claim, which checks */
	if (k == REL_EVENTS) {
		CU_ASSERT_EQUAL(st, 0);
		CU_ASSERT_EQUAL(seen->use_rc, SHMK_ETRUNCATED);
	}

	/* a new attach to the cut file is refused with a documented code */
	struct rel_obj o2;
	int rc;
	if (k == REL_RING)
		shmk_ring_close(owner.h); /* free the reader role for the attach */
	pid = fork();
	if (pid == 0) {
		rc = p->attach(where, &o2);
		_exit(rc == 0 ? 0 : rel_documented(p->attach_errs, rc) ? 10 + (-rc % 200) : 1);
	}
	st = h_wait(pid, 30);
	printf("; attach to the cut file -> %s\n", st == 0 ? "ok" : st >= 128 ? "CRASH" : "refused");
	CU_ASSERT(st >= 10 && st < 128);
	if (k != REL_RING)
		p->release(&owner);
	if (ring_peer >= 0)
		close(ring_peer);
	p->remove(where);
	close(up[0]);
	close(go[1]);
	t_shared_free(seen, sizeof(*seen));
	rm_tree(dir);
}

static void truncate_shm(void)
{
	isolate_arg(truncate_body, (void *)&kinds[REL_SHM], 60);
}
H_REGISTER_IN("truncate", truncate_shm, 0, "shm.truncate.check", "shm.truncate.hot-path", "shm.map.zero_size");
static void truncate_mmap_region(void)
{
	isolate_arg(truncate_body, (void *)&kinds[REL_MMAP], 60);
}
H_REGISTER_IN("truncate", truncate_mmap_region, 0, "mmap_region.remap.truncated", "mmap_region.truncate.hot-path", "mmap_region.attach.empty");
static void truncate_events(void)
{
	isolate_arg(truncate_body, (void *)&kinds[REL_EVENTS], 60);
}
H_REGISTER_IN("truncate", truncate_events, 0, "events.split.truncated", "events.truncate.check", "events.truncate.claim", "events.validate.layout-bytes");
static void truncate_ring(void)
{
	isolate_arg(truncate_body, (void *)&kinds[REL_RING], 60);
}
H_REGISTER_IN("truncate", truncate_ring, 0, "ring.truncate.check", "ring.truncate.hot-path", "ring.attach.validate");
static void truncate_slots(void)
{
	isolate_arg(truncate_body, (void *)&kinds[REL_SLOTS], 60);
}
H_REGISTER_IN("truncate", truncate_slots, 0, "slots.truncate.check", "slots.attach.magic");

/* ------------------------------------------------------------ 6: path attacks */

enum attack {
	A_SYMLINK_FINAL, A_SYMLINK_PARENT, A_FOREIGN, A_WIDER, A_HARDLINK, A_FIFO, A_DIR, A_SHORT,
	A_N
};
static const char *const attack_names[A_N] = {
	"symlink at the final path", "symlink at a parent", "file of another uid",
	"mode wider than asked", "hard link", "FIFO", "directory", "too-short file",
};
/* the reason shmk_errdetail() must name */
static const char *const attack_reason[A_N] = {
	"symbolic link", "symbolic link", "owned by", "wider", "hard link", "not a regular",
	"not a regular", NULL,
};

/* A too-short object of kind k at `where` (owned by the caller, 0600). */
static int make_short(enum rel_kind k, const char *where, const char *dir, char *segname,
		      size_t seglen)
{
	int fd;
	switch (k) {
	case REL_SHM:
		fd = shm_open(where, O_RDWR | O_CREAT | O_EXCL, 0600); /* size 0 */
		break;
	case REL_MMAP:
		fd = open(where, O_RDWR | O_CREAT | O_EXCL, 0600); /* empty */
		break;
	case REL_SLOTS: {
		/* a flink naming a 16-byte segment */
		snprintf(segname, seglen, "/shmk-rel-short-%d", (int)getpid());
		int sfd = shm_open(segname, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (sfd < 0 || ftruncate(sfd, 16))
			return -1;
		close(sfd);
		fd = open(where, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 && write(fd, segname, strlen(segname)) != (ssize_t)strlen(segname))
			return -1;
		break;
	}
	default: /* events, ring: 16 bytes, less than any header */
		fd = open(where, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 && ftruncate(fd, 16))
			return -1;
		break;
	}
	(void)dir;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

struct path_ctx {
	enum rel_kind k;
	unsigned refused[A_N], wrong[A_N], changed[A_N], na[A_N];
};

/* One attack: returns after checking code, detail and victim. */
static void attack_one(struct path_ctx *cx, enum attack a, const char *target,
		       const char *victim_fs, uint64_t victim_fp)
{
	const struct rel_prim *p = &rel_prims[cx->k];
	struct rel_obj o;
	shmk_fail(0, "%s", ""); /* no stale detail from an earlier call */
	int rc = p->attach(target, &o);
	const char *detail = shmk_errdetail();
	int want = a == A_SHORT ? SHMK_ETOOSMALL : SHMK_EUNSAFE;
	bool reason_ok = !attack_reason[a] || strstr(detail, attack_reason[a]) != NULL;

	if (!rc)
		p->release(&o);
	if (rc == want && reason_ok)
		cx->refused[a]++;
	else
		cx->wrong[a]++;
	uint64_t after = fingerprint(victim_fs);
	if (after != victim_fp)
		cx->changed[a]++;
	printf("\n    %-11s %-26s -> %-14s %s%s", p->name, attack_names[a],
	       rc ? shmk_errname(rc) ?: "?" : "ACCEPTED", detail,
	       after != victim_fp ? "  VICTIM CHANGED" : "");
	CU_ASSERT_EQUAL(rc, want);
	CU_ASSERT(reason_ok);
	CU_ASSERT_EQUAL(after, victim_fp);
}

static void paths_body(void *arg)
{
	enum rel_kind k = *(const enum rel_kind *)arg;
	const struct rel_prim *p = &rel_prims[k];
	const uid_t nobody = 65534;
	struct path_ctx cx = { .k = k };
	char dir[256], victim[300], vfs[300], t[300], t2[300], fs[300], seg[128] = "";
	struct rel_obj vo;

	own_dir(dir, sizeof(dir), "paths", nobody);
	/* as root: 64 KiB owned by another uid, readable and writable by all,
	 * so only the owner check can refuse it (it is checked before any
	 * content is read) */
	char foreign[300], ffs[300];
	int ffd;
	if (p->by_name) {
		snprintf(foreign, sizeof(foreign), "/shmk-rel-foreign-%d", (int)getppid());
		snprintf(ffs, sizeof(ffs), "/dev/shm%s", foreign);
		ffd = shm_open(foreign, O_RDWR | O_CREAT | O_EXCL, 0600);
	} else {
		snprintf(foreign, sizeof(foreign), "%s/foreign", dir);
		snprintf(ffs, sizeof(ffs), "%s", foreign);
		ffd = open(foreign, O_RDWR | O_CREAT | O_EXCL, 0600);
	}
	CU_ASSERT_FATAL(ffd >= 0);
	CU_ASSERT_FATAL(ftruncate(ffd, 65536) == 0 && fchown(ffd, OTHER_UID, OTHER_UID) == 0 &&
			fchmod(ffd, 0666) == 0);
	close(ffd);

	/* the rest runs as nobody, like the attacker and the victim */
	CU_ASSERT_EQUAL_FATAL(h_drop_privileges(), 0);

	object_at(k, dir, "victim", victim, sizeof(victim));
	CU_ASSERT_EQUAL_FATAL(p->create(victim, &vo), 0);
	/* the victim file: for slots the flink (what attach opens) */
	snprintf(vfs, sizeof(vfs), "%s", p->by_name ? rel_fs_path(p, victim, fs, sizeof(fs)) : victim);
	uint64_t fp = fingerprint(vfs);

	for (int a = 0; a < A_N; a++) {
		switch (a) {
		case A_SYMLINK_FINAL:
			object_at(k, dir, "link", t, sizeof(t));
			CU_ASSERT_FATAL(symlink(vfs, rel_fs_path(p, t, fs, sizeof(fs))) == 0);
			attack_one(&cx, a, t, vfs, fp);
			unlink(fs);
			/* a dangling link must not make create write through it */
			object_at(k, dir, "dangling", t, sizeof(t));
			snprintf(t2, sizeof(t2), "%s/created-through-link", dir);
			CU_ASSERT_FATAL(symlink(t2, rel_fs_path(p, t, fs, sizeof(fs))) == 0);
			struct rel_obj co;
			int rc = p->create(t, &co);
			if (!rc)
				p->release(&co);
			/* refused either way; never written through */
			CU_ASSERT(rc == SHMK_EUNSAFE || rc == -EEXIST);
			CU_ASSERT_FALSE(exists(t2));
			printf("\n    %-11s %-26s -> %s", p->name, "create at a dangling link",
			       shmk_errname(rc) ?: "CREATED");
			unlink(fs);
			break;
		case A_SYMLINK_PARENT:
			if (p->by_name) {
				cx.na[a]++; /* a shm name has no parent component */
				printf("\n    %-11s %-26s -> n/a (a name has no directory)", p->name,
				       attack_names[a]);
				break;
			}
			snprintf(t2, sizeof(t2), "%s/parent-link", dir);
			CU_ASSERT_FATAL(symlink(dir, t2) == 0);
			snprintf(t, sizeof(t), "%s/victim", t2);
			attack_one(&cx, a, t, vfs, fp);
			unlink(t2);
			break;
		case A_FOREIGN:
			attack_one(&cx, a, foreign, ffs, fingerprint(ffs));
			break;
		case A_WIDER:
			CU_ASSERT_FATAL(chmod(vfs, 0640) == 0);
			attack_one(&cx, a, victim, vfs, fingerprint(vfs));
			CU_ASSERT_FATAL(chmod(vfs, 0600) == 0);
			break;
		case A_HARDLINK:
			object_at(k, dir, "hardlink", t, sizeof(t));
			CU_ASSERT_FATAL(link(vfs, rel_fs_path(p, t, fs, sizeof(fs))) == 0);
			attack_one(&cx, a, t, vfs, fingerprint(vfs));
			unlink(fs);
			break;
		case A_FIFO:
			object_at(k, dir, "fifo", t, sizeof(t));
			CU_ASSERT_FATAL(mkfifo(rel_fs_path(p, t, fs, sizeof(fs)), 0600) == 0);
			attack_one(&cx, a, t, vfs, fp);
			unlink(fs);
			break;
		case A_DIR:
			object_at(k, dir, "dir", t, sizeof(t));
			CU_ASSERT_FATAL(mkdir(rel_fs_path(p, t, fs, sizeof(fs)), 0700) == 0);
			attack_one(&cx, a, t, vfs, fp);
			rmdir(fs);
			break;
		case A_SHORT:
			object_at(k, dir, "short", t, sizeof(t));
			CU_ASSERT_FATAL(make_short(k, t, dir, seg, sizeof(seg)) == 0);
			attack_one(&cx, a, t, vfs, fp);
			if (p->by_name)
				shm_unlink(t);
			else
				unlink(t);
			if (seg[0])
				shm_unlink(seg);
			break;
		}
	}
	CU_ASSERT_EQUAL(fingerprint(vfs), fp);
	p->release(&vo);
	p->remove(victim);
	unsigned refused = 0, tried = 0;
	for (int a = 0; a < A_N; a++) {
		refused += cx.refused[a];
		tried += cx.refused[a] + cx.wrong[a];
	}
	printf("\n    %s: %u/%u attacks refused as documented, victim unchanged", p->name, refused,
	       tried);
	/* the foreign object stays for the parent (root) to remove */
}

static void run_paths(enum rel_kind k)
{
	char name[64];
	if (geteuid() != 0)
		H_SKIP("needs root to make a file of another uid and to drop to nobody");
	isolate_arg(paths_body, (void *)&kinds[k], 60);
	/* the foreign shm object root made (nobody cannot remove it) */
	snprintf(name, sizeof(name), "/shmk-rel-foreign-%d", (int)getpid());
	shm_unlink(name);
}

static void paths_shm(void)
{
	run_paths(REL_SHM);
}
H_REGISTER_IN("paths", paths_shm, 0, "shm.open.check", "shm.open.nosymlink", "shm.map.zero_size");
static void paths_mmap_region(void)
{
	run_paths(REL_MMAP);
}
H_REGISTER_IN("paths", paths_mmap_region, 0, "mmap_region.path.nosymlink", "mmap_region.attach.check", "mmap_region.attach.empty", "common.path.nosymlink", "common.path.owner");
static void paths_events(void)
{
	run_paths(REL_EVENTS);
}
H_REGISTER_IN("paths", paths_events, 0, "events.open.mode", "events.validate.short");
static void paths_ring(void)
{
	run_paths(REL_RING);
}
H_REGISTER_IN("paths", paths_ring, 0, "ring.attach.safe", "ring.attach.validate");
static void paths_slots(void)
{
	run_paths(REL_SLOTS);
}
H_REGISTER_IN("paths", paths_slots, 0, "slots.flink.safe", "slots.attach.magic");

/* ------------------------------------------------------------ 7: faults */

static const char *const sites[] = { "open", "shm_open", "ftruncate", "fallocate",
				     "mmap", "mremap", "fstat", "futex" };
#define NSITES (sizeof(sites) / sizeof(sites[0]))
#define MAX_N 64

/* A forked peer attaches to what a failed call left: it must come back
 * (success or an error), not crash or hang.  Returns h_wait's status. */
static int peer_attach(const struct rel_prim *p, const char *where)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rel_obj o;
		int rc = p->attach(where, &o);
		if (!rc)
			p->release(&o);
		_exit(rc == 0 || rel_documented(p->attach_errs, rc) ? 0 : 1);
	}
	return pid < 0 ? -errno : h_wait(pid, 20);
}

static void faults_body(void *arg)
{
	enum rel_kind k = *(const enum rel_kind *)arg;
	const struct rel_prim *p = &rel_prims[k];
	char dir[256], where[300], fs[300], spec[64];
	unsigned fired_create = 0, fired_attach = 0, leaks = 0, visible = 0, calls = 0, recovered = 0;
	unsigned per_site[NSITES] = { 0 };

	own_dir(dir, sizeof(dir), "faults", geteuid());
	object_at(k, dir, "obj", where, sizeof(where));
	const char *wfs = rel_fs_path(p, where, fs, sizeof(fs));
	int fds0 = t_count_fds(), maps0 = count_maps();

	/* create */
	for (size_t s = 0; s < NSITES; s++) {
		for (int n = 1; n <= MAX_N; n++) {
			struct rel_obj o;
			snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
			CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
			int rc = p->create(where, &o);
			int hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			calls++;
			if (!hit) {
				CU_ASSERT_EQUAL(rc, 0);
				if (!rc)
					p->release(&o);
				p->remove(where);
				break;
			}
			fired_create++;
			per_site[s]++;
			if (rc == 0) {
				/* only a futex wait may fail without failing the
				 * call: it is a sleep, and the caller re-checks */
				recovered++;
				printf("\n    %s create, %s: fired, call recovered", p->name, spec);
				CU_ASSERT_STRING_EQUAL(sites[s], "futex");
				p->release(&o);
			}
			int fds = t_count_fds(), maps = count_maps();
			if (fds != fds0 || maps != maps0) {
				leaks++;
				printf("\n    %s create, %s: %d fds (was %d), %d maps (was %d)", p->name,
				       spec, fds, fds0, maps, maps0);
			}
			CU_ASSERT_EQUAL(fds, fds0);
			CU_ASSERT_EQUAL(maps, maps0);
			if (exists(wfs)) {
				visible++;
				CU_ASSERT_EQUAL(peer_attach(p, where), 0);
			}
			p->remove(where);
			unlink(wfs);
		}
	}

	/* attach to a good object; the owner stays where the module needs one */
	struct rel_obj owner;
	CU_ASSERT_EQUAL_FATAL(p->create(where, &owner), 0);
	bool keep = k == REL_SLOTS || k == REL_SHM;
	if (!keep)
		p->release(&owner);
	int fds1 = t_count_fds(), maps1 = count_maps();
	for (size_t s = 0; s < NSITES; s++) {
		for (int n = 1; n <= MAX_N; n++) {
			struct rel_obj o;
			snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
			CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
			int rc = p->attach(where, &o);
			int hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			calls++;
			if (!hit) {
				CU_ASSERT_EQUAL(rc, 0);
				if (!rc)
					p->release(&o);
				break;
			}
			fired_attach++;
			per_site[s]++;
			if (rc == 0) {
				/* only a futex wait may fail without failing the
				 * call: it is a sleep, and the caller re-checks */
				recovered++;
				printf("\n    %s attach, %s: fired, call recovered", p->name, spec);
				CU_ASSERT_STRING_EQUAL(sites[s], "futex");
				p->release(&o);
			}
			int fds = t_count_fds(), maps = count_maps();
			if (fds != fds1 || maps != maps1) {
				leaks++;
				printf("\n    %s attach, %s: %d fds (was %d), %d maps (was %d)", p->name,
				       spec, fds, fds1, maps, maps1);
			}
			CU_ASSERT_EQUAL(fds, fds1);
			CU_ASSERT_EQUAL(maps, maps1);
			/* the object is intact: a clean attach still works (a
			 * failed ring attach must not keep the reader role) */
			rc = p->attach(where, &o);
			CU_ASSERT_EQUAL(rc, 0);
			if (!rc)
				p->release(&o);
		}
	}
	if (keep)
		p->release(&owner);

	/* mmap_region also remaps after setup (resize): the mremap and
	 * fallocate sites there fail cleanly and keep the old mapping */
	if (k == REL_MMAP) {
		struct rel_obj o;
		CU_ASSERT_EQUAL_FATAL(p->attach(where, &o), 0);
		size_t len = shmk_mmap_region_len(o.h), grow = len;
		for (size_t s = 0; s < NSITES; s++) {
			for (int n = 1; n <= MAX_N; n++) {
				void *base = shmk_mmap_region_ptr(o.h);
				size_t cur = shmk_mmap_region_len(o.h);
				int fds = t_count_fds(), maps = count_maps();
				snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
				CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
				int rc = shmk_mmap_region_resize(o.h, cur + 4096);
				int hit = shmk_fault_fired();
				shmk_fault_set(NULL);
				calls++;
				if (!hit) {
					CU_ASSERT_EQUAL(rc, 0);
					grow += 4096;
					break;
				}
				per_site[s]++;
				CU_ASSERT(rc < 0);
				/* mmap_region.resize.keeps_old */
				CU_ASSERT_PTR_EQUAL(shmk_mmap_region_ptr(o.h), base);
				CU_ASSERT_EQUAL(shmk_mmap_region_len(o.h), cur);
				((volatile uint8_t *)base)[cur - 1] = 1;
				CU_ASSERT_EQUAL(t_count_fds(), fds);
				CU_ASSERT_EQUAL(count_maps(), maps);
			}
		}
		printf("\n    %s: resize under faults grew %zu -> %zu bytes", p->name, len,
		       shmk_mmap_region_len(o.h));
		CU_ASSERT(shmk_mmap_region_len(o.h) >= grow);
		p->release(&o);
	}
	p->remove(where);
	unlink(wfs);
	printf("\n    %s: %u calls, %u create and %u attach faults fired (%u recovered), "
	       "%u leaks, %u left a name (peer attach clean)",
	       p->name, calls, fired_create, fired_attach, recovered, leaks, visible);
	printf("\n    %s: faults fired per site:", p->name);
	for (size_t s = 0; s < NSITES; s++)
		printf(" %s=%u", sites[s], per_site[s]);
	CU_ASSERT(fired_create + fired_attach > 0);
	rm_tree(dir);
}

static void faults_shm(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_SHM], 60);
}
H_REGISTER_IN("faults", faults_shm, 0, "common.fault.hook", "shm.open.no_leftover");
static void faults_mmap_region(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_MMAP], 60);
}
H_REGISTER_IN("faults", faults_mmap_region, 0, "common.fault.hook", "mmap_region.create.no_leftover", "mmap_region.resize.keeps_old");
static void faults_events(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_EVENTS], 60);
}
H_REGISTER_IN("faults", faults_events, 0, "common.fault.hook", "events.init.once");
static void faults_ring(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_RING], 60);
}
H_REGISTER_IN("faults", faults_ring, 0, "common.fault.hook", "ring.create.cleanup");
static void faults_slots(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_SLOTS], 60);
}
H_REGISTER_IN("faults", faults_slots, 0, "common.fault.hook", "slots.create.exclusive");

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	return h_main(argc, argv, "reliability", NULL, NULL);
}
