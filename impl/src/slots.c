/* SPDX-License-Identifier: MIT */
/*
 * slots.c - the ZeroDDS POSIX slot allocator with upstream's races fixed.
 * Rules: conformance/spec/slots.md.  Layout: shmkit/wire.h (slots).
 *
 * Who writes what in the segment:
 *   owner:   the header (once), next_sn, notify_gen, owner_state, every
 *            slot's sn / sample_size / reader_mask at commit, data;
 *   readers: their own registry entry (claim / leave), their own bit in
 *            reader_mask (fetch_or), notify_gen (bump), waiters.
 * Only the owner turns a registry entry back to 0 (after setting that
 * reader's bit on every slot), and it does so on the same thread that
 * commits, so a commit's mask store can never hide a reaper's bit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "region.h"
#include "wait.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

enum { LS_FREE = 0, LS_LOANED = 1, LS_COMMITTED = 2 };

#ifdef SHMK_TEST_BUILD
/* Test seam: runs between a reader's first sn load and its reader_mask
 * load in next_unread_slot, so a test can recycle the slot exactly there. */
void (*shmk_slots_test_scan_hook)(uint32_t index);
#define SCAN_HOOK(i)                                          \
	do {                                                  \
		if (shmk_slots_test_scan_hook)                \
			shmk_slots_test_scan_hook(i);         \
	} while (0)
#else
#define SCAN_HOOK(i) ((void)0)
#endif

#define FLINK_MAX SHMK_SLOTS_FLINK_MAX	/* wire.h */

struct shmk_slots {
	struct shmk_slots_hdr *hdr;
	size_t map_len;
	uint32_t count;		/* validated local copies: never re-read */
	uint32_t total;
	uint32_t capacity;
	int owner;
	/* owner only */
	uint8_t *lstate;	/* LS_* per slot */
	uint32_t *lactive;	/* active mask given at reserve */
	uint32_t cursor;
	uint64_t next_sn;	/* authoritative copy; header's is advisory */
	/* reader only */
	int reg_index;		/* -1 when not registered */
	/* Per reader index, process-local hints for next_unread_slot:
	 * rd_low is a lower bound on the smallest unread sn (it only rises:
	 * mask bits are only ever set until a slot is recommitted with an sn
	 * >= next_sn), rd_start the slot last returned. */
	uint64_t rd_low[SHMK_SLOTS_MAX_READERS];
	uint32_t rd_start[SHMK_SLOTS_MAX_READERS];
	uint64_t reg_token;
	int fd;			/* the segment, kept for the truncation checks (fstat) */
	char flink[PATH_MAX];
	char segment[FLINK_MAX];
};

static inline struct shmk_slot_hdr *slot_at(const struct shmk_slots *s, uint32_t i)
{
	return (struct shmk_slot_hdr *)((char *)s->hdr + SHMK_SLOTS_HDR_SIZE + (size_t)i * s->total);
}

static inline uint8_t *slot_data(const struct shmk_slots *s, uint32_t i)
{
	return (uint8_t *)slot_at(s, i) + SHMK_SLOTS_SLOT_HDR_SIZE;
}

/* ------------------------------------------------------------ notify */

/* The header's wait point: wait.c's eventcount in its generation mode
 * (notify_gen moves on every change: notify_generation is public).  The
 * delay point names are the slots lost wake-up hunt's. */
static inline struct shmk_wait slots_wait_point(const struct shmk_slots *s)
{
	return (struct shmk_wait){ .word = &s->hdr->notify_gen, .waiters = &s->hdr->waiters,
				   .mode = SHMK_WAIT_GENERATION,
				   .park_gap = "slots.wait.gap",
				   .wake_gap = "slots.notify.gap" };
}

/* The seq_cst bump, then a wake only for an announced waiter no earlier
 * notify woke: a parked waiter is never missed (wait.c). */
static void notify(struct shmk_slots *s)
{
	struct shmk_wait w = slots_wait_point(s);

	shmk_wait_bump(&w);
}

/* ------------------------------------------------------------ names */

/* r[impl slots.flink.content] */
static int valid_shm_name(const char *n, size_t len)
{
	if (len < 2 || len > FLINK_MAX - 1 || n[0] != '/')
		return 0;
	for (size_t i = 1; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return !(len == 2 && n[1] == '.') && !(len == 3 && n[1] == '.' && n[2] == '.');
}

/* Reads the flink with the safe-path rules and parses its content as
 * hostile: bounded read, one shm name, optional trailing newline. */
static int read_flink(const char *flink, char name[FLINK_MAX])
{
	static const struct shmk_path_policy pol = { .mode = 0600 };
	char buf[FLINK_MAX + 1];
	int fd, rc;

	/* O_NONBLOCK: a FIFO planted as the flink must not hang attach. */
	rc = shmk_open_path(flink, O_RDONLY | O_NONBLOCK, 0, &fd);
	if (rc)
		return rc;
	/* r[impl slots.flink.safe] */
	rc = shmk_check_fd(fd, flink, &pol, NULL);
	if (rc) {
		close(fd);
		return rc;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	int err = errno;
	close(fd);
	if (n < 0)
		return SHMK_FAIL(-err);
	size_t len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len >= FLINK_MAX || !valid_shm_name(buf, len))
		return shmk_fail(SHMK_ELAYOUT, "%s: flink does not hold a valid shm name", flink);
	memcpy(name, buf, len);
	name[len] = '\0';
	return 0;
}

/* r[impl slots.flink.dir] */
int shmk_slots_default_dir(char *buf, size_t len)
{
	const char *env = getenv("SHMK_SLOTS_DIR");
	int n;

	if (!buf)
		return SHMK_FAIL(-EINVAL);
	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else
		n = snprintf(buf, len, "/tmp/shmkit-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? SHMK_FAIL(-ENAMETOOLONG) : 0;
}

static int ensure_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return SHMK_FAIL(-errno);
	if (lstat(dir, &st))
		return SHMK_FAIL(-errno);
	if (!S_ISDIR(st.st_mode))
		return shmk_fail(SHMK_EUNSAFE, "%s: not a directory", dir);
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return shmk_fail(SHMK_EUNSAFE, "%s: flink directory must be 0700 and ours", dir);
	return 0;
}

/* ------------------------------------------------------------ validation */

/* The one slots validator: attach runs it on its mapping, `shmkit
 * inspect` on a private copy.  The slot table is bounded by file_size (the
 * mapping is all of it at attach), so a header-only copy validates too.
 * r[impl slots.attach.bounds] r[impl slots.attach.sizes] r[impl slots.validate.shared] */
int shmk_slots_validate(const void *base, size_t len, uint64_t file_size,
			struct shmk_slots_info *info)
{
	const struct shmk_slots_hdr *h = base;

	if (!base || len > file_size)
		return SHMK_FAIL(-EINVAL);
	/* u64 fields are loaded in place */
	if ((uintptr_t)base % 8)
		return shmk_fail(SHMK_EMISALIGNED, "slots segment: base %p is not 8-byte aligned",
				 base);
	/* r[impl slots.attach.upstream] before the size check: upstream's
	 * segments are often shorter than our header.  Upstream stores its
	 * magic with a plain write; only the value matters here. */
	if (len >= 4) {
		uint32_t m0 = SHMK_LOAD_U32(&h->magic);
		if (m0 == SHMK_SLOTS_ZERODDS_MAGIC)
			return shmk_fail(SHMK_EBADMAGIC, "slots segment: magic %#x is ZeroDDS "
					 "flatdata v1 layout, 0x20 header: not supported (shmkit's "
					 "layout has magic %#x)", m0, SHMK_SLOTS_MAGIC);
	}
	if (len < SHMK_SLOTS_HDR_SIZE)
		return shmk_fail(SHMK_ETOOSMALL, "slots segment: %llu bytes (%zu in view), header "
				 "needs %u", (unsigned long long)file_size, len, SHMK_SLOTS_HDR_SIZE);
	/* r[impl slots.attach.magic+2] acquire: pairs with the release store of
	 * magic at the end of create, so the fields below are initialised. */
	uint32_t magic = SHMK_LOAD_ACQ_U32(&h->magic);
	if (magic != SHMK_SLOTS_MAGIC)
		return shmk_fail(SHMK_EBADMAGIC, "slots segment: magic %#x, not %#x", magic,
				 SHMK_SLOTS_MAGIC);
	/* Read once; validate and use only the copies. */
	uint32_t hsz = SHMK_LOAD_U32(&h->hdr_size);
	uint32_t count = SHMK_LOAD_U32(&h->slot_count);
	uint32_t total = SHMK_LOAD_U32(&h->slot_total_size);
	uint32_t cap = SHMK_LOAD_U32(&h->slot_capacity);
	if (hsz != SHMK_SLOTS_HDR_SIZE)
		return shmk_fail(SHMK_ELAYOUT, "slots segment: header size %u", hsz);
	if (count == 0 || count > SHMK_SLOTS_MAX_COUNT)
		return shmk_fail(SHMK_ELAYOUT, "slots segment: slot_count %u", count);
	if (cap == 0 || cap > UINT32_MAX - 79u)
		return shmk_fail(SHMK_ELAYOUT, "slots segment: slot_capacity %u", cap);
	/* 64-bit arithmetic: cap <= UINT32_MAX - 79 cannot overflow here. */
	uint64_t want = shmk_align_up((uint64_t)SHMK_SLOTS_SLOT_HDR_SIZE + cap, SHMK_SLOTS_SLOT_ALIGN);
	if (total != want)
		return shmk_fail(SHMK_ELAYOUT,
				 "slots segment: slot_total_size %u, capacity %u needs %llu", total,
				 cap, (unsigned long long)want);
	/* file_size >= len >= the header size here */
	if (count > (file_size - SHMK_SLOTS_HDR_SIZE) / total)
		return shmk_fail(SHMK_ELAYOUT,
				 "slots segment: %u slots of %u bytes exceed the %llu-byte file",
				 count, total, (unsigned long long)file_size);
	if (!info)
		return 0;
	memset(info, 0, sizeof(*info));
	info->slot_count = count;
	info->slot_capacity = cap;
	info->slot_total_size = total;
	info->segment_size = SHMK_SLOTS_HDR_SIZE + (uint64_t)count * total;
	info->complete = info->segment_size <= len;
	info->owner_state = SHMK_LOAD_U32(&h->owner_state);
	info->owner_token = SHMK_LOAD_U64(&h->owner_token);
	info->next_sn = SHMK_LOAD_U64(&h->next_sn);
	/* bounded: the registry size is ours, not the file's */
	for (unsigned i = 0; i < SHMK_SLOTS_MAX_READERS; i++) {
		uint64_t tok = SHMK_LOAD_U64(&h->readers[i]);
		info->readers += tok != 0 && tok != SHMK_SLOTS_READER_LEFT;
	}
	return 0;
}

/* Maps a segment by name, read-write, after the safety checks. */
/* *fdp (may be NULL: closed) gets the segment's descriptor on success. */
static int map_segment(const char *name, struct shmk_slots_hdr **hp, size_t *lenp, int *fdp)
{
	static const struct shmk_path_policy pol = { .mode = 0600 };
	struct stat st;
	size_t len;
	void *p;
	int fd, rc = shmk_region_shm_open(name, O_RDWR, 0, &pol, &fd, &st);

	if (rc)
		return rc;
	if (st.st_size >= 4 && st.st_size < (off_t)SHMK_SLOTS_HDR_SIZE) {
		/* r[impl slots.attach.upstream] an upstream segment is often
		 * shorter than our header: the validator names it */
		uint64_t first = 0;
		if (pread(fd, &first, 4, 0) == 4 &&
		    (rc = shmk_slots_validate(&first, 4, 4, NULL)) == SHMK_EBADMAGIC)
			goto out;
	}
	/* r[impl slots.attach.magic+2] too short for the header */
	rc = shmk_region_size(&st, SHMK_SLOTS_HDR_SIZE, SIZE_MAX, name, &len);
	if (!rc)
		rc = shmk_region_map(fd, len, 0, PROT_READ | PROT_WRITE, &p);
	if (rc)
		goto out;
	*hp = p;
	*lenp = len;
	if (fdp) {
		*fdp = fd;
		return 0;
	}
out:
	close(fd);
	return rc;
}

/* 0 while the segment still holds everything mapped, else SHMK_ETRUNCATED.
 * One fstat: slow paths only (r[impl slots.truncate.hot-path]: reserve,
 * commit, next_unread, read and mark_read never call it). */
static int slots_covers(const struct shmk_slots *s)
{
	return shmk_fd_covers(s->fd, s->map_len, "slots");
}

/* r[impl slots.truncate.check] */
int shmk_slots_check(const struct shmk_slots *s)
{
	return s ? slots_covers(s) : SHMK_FAIL(-EINVAL);
}

/* ------------------------------------------------------------ stale flinks */

/* 1: a live owner holds the flink's segment; 0: stale (owner dead or
 * closed, segment gone or not ours); <0: the flink itself is unusable.
 * *seg_ok tells whether name is a slots segment we may unlink. */
static int probe_flink(const char *flink, char name[FLINK_MAX], int *seg_ok)
{
	struct shmk_slots_hdr *h;
	size_t len;
	int rc = read_flink(flink, name);

	*seg_ok = 0;
	if (rc)
		return rc;
	rc = map_segment(name, &h, &len, NULL);
	if (rc)
		return 0;
	int live = 0;
	if (SHMK_LOAD_ACQ_U32(&h->magic) == SHMK_SLOTS_MAGIC) {
		*seg_ok = 1;
		uint64_t tok = SHMK_LOAD_U64(&h->owner_token);
		uint32_t st = SHMK_LOAD_U32(&h->owner_state);
		live = st == SHMK_SLOTS_OWNER_LIVE && shmk_token_alive(tok);
	}
	shmk_region_unmap(h, len);
	return live;
}

/* Removing a flink is "probe it, then unlink the path": two steps that a
 * concurrent remover must not interleave with, or a new owner's flink,
 * linked after the old one went, is the one unlinked (found by
 * stress/reliability_race: gc racing closing and restarting owners).  Both
 * removers, reclaim_stale and the owner's close, hold an exclusive flock
 * on the flink's directory from the probe to the unlink.  Creators need
 * not: linkat cannot succeed while the probed flink still exists.
 * Returns the locked directory fd (close() unlocks), or -errno. */
static int flink_dir_lock(const char *flink)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(flink, '/');
	size_t dl = !slash ? 0 : slash == flink ? 1 : (size_t)(slash - flink);

	if (dl >= sizeof(dir))
		return SHMK_FAIL(-ENAMETOOLONG);
	if (dl)
		memcpy(dir, flink, dl);
	else
		dir[dl++] = '.';
	dir[dl] = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return SHMK_FAIL(-errno);
	/* r[impl slots.flink.lock-bounded] anyone who can open the directory
	 * (/tmp) can hold a flock on it: wait one liveness period at most. */
	int64_t end = shmk_deadline_ns(shmk_now_ns(), shmk_liveness_ns());
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			break; /* as before: proceed unlocked */
		if (shmk_now_ns() >= end) {
			close(fd);
			return shmk_fail(SHMK_EBUSY, "%s: directory locked by another process", dir);
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return fd;
}

/* r[impl slots.stale.reclaim] */
int shmk_slots_reclaim_stale(const char *flink)
{
	char name[FLINK_MAX];
	int seg_ok;

	if (!flink)
		return SHMK_FAIL(-EINVAL);
	int lk = flink_dir_lock(flink);
	if (lk < 0)
		return lk;
	int rc = probe_flink(flink, name, &seg_ok);
	if (rc == 1)
		rc = shmk_fail(SHMK_EBUSY, "%s: segment %s has a live owner", flink, name);
	/* Only a segment that carries our magic and a dead owner is ours to
	 * remove; the flink (checked: ours, 0600, one link) always is. */
	else if (rc == 0 && seg_ok && shm_unlink(name) && errno != ENOENT)
		rc = SHMK_FAIL(-errno);
	else if (rc == 0 && unlink(flink) && errno != ENOENT)
		rc = SHMK_FAIL(-errno);
	close(lk);
	return rc;
}

/* ------------------------------------------------------------ create */

static int write_all(int fd, const char *name)
{
	size_t len = strlen(name);
	ssize_t n = write(fd, name, len);

	if (n < 0)
		return SHMK_FAIL(-errno);
	if ((size_t)n != len)
		return SHMK_FAIL(-EIO);
	/* r[impl common.create.mode] the umask may have narrowed the mode */
	struct stat st;
	int rc = shmk_sys_fstat(fd, &st);
	return rc ? rc : shmk_region_set_mode(fd, &st, 0600);
}

/* r[impl slots.flink.create+2] The flink appears atomically with its whole
 * content: written into an unnamed O_TMPFILE in the target directory, then
 * linked to its name with linkat, which fails with EEXIST like O_EXCL.  A
 * reader polling the directory never sees it empty or half written.  Where
 * O_TMPFILE is unsupported: O_CREAT|O_EXCL, then write. */
static int write_flink(const char *flink, const char *name)
{
	char dir[PATH_MAX], proc[64];
	const char *slash = strrchr(flink, '/');
	const char *base = slash ? slash + 1 : flink;
	int dfd, fd, rc;

	if (!*base)
		return SHMK_FAIL(-EISDIR);
	if (slash) {
		size_t dl = slash == flink ? 1 : (size_t)(slash - flink);
		if (dl >= sizeof(dir))
			return SHMK_FAIL(-ENAMETOOLONG);
		memcpy(dir, flink, dl);
		dir[dl] = '\0';
	} else {
		strcpy(dir, ".");
	}
	/* no symlink anywhere in the directory's path */
	rc = shmk_open_path(dir, O_PATH | O_DIRECTORY, 0, &dfd);
	if (rc)
		return rc == -ENOTDIR ? shmk_fail(SHMK_EUNSAFE, "%s: not a directory", dir) : rc;
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = SHMK_FAIL(-errno);
			close(dfd);
			return rc;
		}
		rc = write_all(fd, name);
		close(fd);
		if (rc)
			unlinkat(dfd, base, 0);
		close(dfd);
		return rc;
	}
	if (fd < 0) {
		rc = SHMK_FAIL(-errno);
		close(dfd);
		return rc;
	}
	rc = write_all(fd, name);
	SHMK_CRASH_POINT("slots.flink.before_link");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!rc && linkat(AT_FDCWD, proc, dfd, base, AT_SYMLINK_FOLLOW))
		rc = SHMK_FAIL(-errno);
	close(fd);
	close(dfd);
	return rc;
}

static int make_paths(struct shmk_slots *s, const char *flink)
{
	static _Atomic unsigned seq;
	int n = snprintf(s->segment, sizeof(s->segment), "/shmk-slots-%d-%llx-%u", (int)getpid(),
			 (unsigned long long)shmk_now_ns(),
			 atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed));

	if (n < 0 || (size_t)n >= sizeof(s->segment))
		return SHMK_FAIL(-ENAMETOOLONG);
	if (flink) {
		n = snprintf(s->flink, sizeof(s->flink), "%s", flink);
	} else {
		char dir[PATH_MAX - 64];
		int rc = shmk_slots_default_dir(dir, sizeof(dir));
		if (rc)
			return rc;
		rc = ensure_dir(dir);
		if (rc)
			return rc;
		n = snprintf(s->flink, sizeof(s->flink), "%s/%s.flink", dir, s->segment + 1);
	}
	return n < 0 || (size_t)n >= sizeof(s->flink) ? SHMK_FAIL(-ENAMETOOLONG) : 0;
}

/* Flink exists: say whose it is.  SHMK_EBUSY (live owner) or SHMK_ESTALE. */
static int flink_taken(const char *flink)
{
	char name[FLINK_MAX];
	int seg_ok;
	int rc = probe_flink(flink, name, &seg_ok);

	if (rc < 0)
		return rc;
	if (rc == 1)
		return shmk_fail(SHMK_EBUSY, "%s: segment %s is held by a live owner", flink, name);
	/* r[impl slots.stale.detect] */
	return shmk_fail(SHMK_ESTALE,
			 "%s: stale flink left by a dead owner (segment %s); create with "
			 "SHMK_SLOTS_REPLACE_STALE or run `shmkit gc` to reclaim it",
			 flink, name);
}

int shmk_slots_create(const char *flink_path, size_t slot_count, size_t slot_capacity,
		      struct shmk_slots **out)
{
	return shmk_slots_create_opts(flink_path, slot_count, slot_capacity, NULL, out);
}

int shmk_slots_create_opts(const char *flink_path, size_t slot_count, size_t slot_capacity,
			   const struct shmk_slots_opts *opts, struct shmk_slots **out)
{
	struct shmk_slots *s;
	void *p;
	int rc, fd;

	if (!out)
		return SHMK_FAIL(-EINVAL);
	*out = NULL;
	/* r[impl slots.create.limits] */
	if (slot_count == 0 || slot_capacity == 0)
		return shmk_fail(-EINVAL, "slots: zero slot_count or slot_capacity");
	if (slot_capacity > UINT32_MAX - 79u)
		return shmk_fail(SHMK_EOVERFLOW, "slots: slot_capacity %zu > %u", slot_capacity,
				 UINT32_MAX - 79u);
	size_t total = shmk_align_up(SHMK_SLOTS_SLOT_HDR_SIZE + slot_capacity, SHMK_SLOTS_SLOT_ALIGN);
	size_t bytes;
	if (__builtin_mul_overflow(slot_count, total, &bytes) ||
	    __builtin_add_overflow(bytes, (size_t)SHMK_SLOTS_HDR_SIZE, &bytes) ||
	    bytes > (size_t)INT64_MAX)
		return shmk_fail(SHMK_EOVERFLOW, "slots: %zu slots of %zu bytes overflow", slot_count,
				 total);
	if (slot_count > SHMK_SLOTS_MAX_COUNT)
		return shmk_fail(-EINVAL, "slots: slot_count %zu > %u", slot_count,
				 SHMK_SLOTS_MAX_COUNT);
	uint64_t first = opts && opts->first_sn ? opts->first_sn : 1;
	if (first == UINT64_MAX)
		return SHMK_FAIL(-EINVAL);

	s = calloc(1, sizeof(*s));
	if (!s)
		return SHMK_FAIL(-ENOMEM);
	s->owner = 1;
	s->reg_index = -1;
	s->fd = -1;
	s->count = (uint32_t)slot_count;
	s->total = (uint32_t)total;
	s->capacity = (uint32_t)slot_capacity;
	s->next_sn = first;
	s->lstate = calloc(slot_count, 1);
	s->lactive = calloc(slot_count, sizeof(uint32_t));
	rc = s->lstate && s->lactive ? make_paths(s, flink_path) : SHMK_FAIL(-ENOMEM);
	if (rc)
		goto fail_free;

	/* r[impl slots.stale.detect] Look before creating anything. */
	if (access(s->flink, F_OK) == 0) {
		rc = flink_taken(s->flink);
		/* -ENOENT: its owner closed between access() and the probe, so
		 * the path is free again (linkat below still refuses a racer) */
		if (rc == -ENOENT)
			rc = 0;
		else if (rc != SHMK_ESTALE || !(opts && (opts->flags & SHMK_SLOTS_REPLACE_STALE)))
			goto fail_free;
		else if ((rc = shmk_slots_reclaim_stale(s->flink)))
			goto fail_free;
	}

	/* r[impl slots.create.exclusive] exactly 0600 (common.create.mode);
	 * the region layer unlinks what it created if its checks fail */
	static const struct shmk_path_policy pol = { .mode = 0600 };
	struct stat st;
	rc = shmk_region_shm_open(s->segment, O_RDWR | O_CREAT | O_EXCL, 0600, &pol, &fd, &st);
	if (rc)
		goto fail_free;
	/* r[impl slots.create.fallocate] a full tmpfs fails here, not with
	 * SIGBUS at the first touch of a slot. */
	rc = shmk_region_reserve(fd, 0, bytes);
	if (!rc)
		rc = shmk_region_map(fd, bytes, 0, PROT_READ | PROT_WRITE, &p);
	if (rc) {
		close(fd);
		goto fail_unlink;
	}
	s->fd = fd;
	s->hdr = p;
	s->map_len = bytes;

	struct shmk_slots_hdr *h = s->hdr;
	h->slot_count = s->count;
	h->slot_total_size = s->total;
	/* r[impl slots.layout.capacity] both sides read the same capacity. */
	h->slot_capacity = s->capacity;
	h->hdr_size = SHMK_SLOTS_HDR_SIZE;
	/* relaxed: published by the release store of magic below. */
	atomic_store_explicit(&h->next_sn, first, memory_order_relaxed);
	atomic_store_explicit(&h->owner_token, shmk_self_token(), memory_order_relaxed);
	atomic_store_explicit(&h->owner_state, SHMK_SLOTS_OWNER_LIVE, memory_order_relaxed);
	/* release: pairs with the acquire load of magic in shmk_slots_validate. */
	atomic_store_explicit((_Atomic uint32_t *)&h->magic, SHMK_SLOTS_MAGIC, memory_order_release);

	rc = write_flink(s->flink, s->segment);
	/* Lost a race with another creator: say whose it is; when that one
	 * has closed since (-ENOENT), the path is free: link again (bounded). */
	for (int tries = 0; rc == -EEXIST && tries < 8; tries++) {
		rc = flink_taken(s->flink);
		if (rc == -ENOENT)
			rc = write_flink(s->flink, s->segment);
	}
	if (rc)
		goto fail_unmap;
	*out = s;
	return 0;

fail_unmap:
	shmk_region_unmap(s->hdr, s->map_len);
	close(s->fd);
fail_unlink:
	shm_unlink(s->segment);
fail_free:
	free(s->lstate);
	free(s->lactive);
	free(s);
	return rc;
}

/* ------------------------------------------------------------ attach */

int shmk_slots_attach(const char *flink_path, struct shmk_slots **out)
{
	struct shmk_slots *s;
	int rc;

	if (!flink_path || !out)
		return SHMK_FAIL(-EINVAL);
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return SHMK_FAIL(-ENOMEM);
	s->reg_index = -1;
	s->fd = -1;
	if (snprintf(s->flink, sizeof(s->flink), "%s", flink_path) >= (int)sizeof(s->flink)) {
		rc = SHMK_FAIL(-ENAMETOOLONG);
		goto fail;
	}
	rc = read_flink(s->flink, s->segment);
	if (rc)
		goto fail;
	rc = map_segment(s->segment, &s->hdr, &s->map_len, &s->fd);
	if (rc)
		goto fail;
	struct shmk_slots_info si;
	rc = shmk_slots_validate(s->hdr, s->map_len, s->map_len, &si);
	if (rc) {
		shmk_region_unmap(s->hdr, s->map_len);
		close(s->fd);
		goto fail;
	}
	s->count = si.slot_count;
	s->total = si.slot_total_size;
	s->capacity = si.slot_capacity;
	*out = s;
	return 0;
fail:
	free(s);
	return rc;
}

/* ------------------------------------------------------------ registry */

/* Sets bit `reader` on every slot: the reader no longer pins anything.
 * release: pairs with the acquire load of reader_mask in reserve_slot. */
static void set_bit_everywhere(struct shmk_slots *s, unsigned reader)
{
	for (uint32_t i = 0; i < s->count; i++)
		atomic_fetch_or_explicit(&slot_at(s, i)->reader_mask, 1u << reader,
					 memory_order_release);
}

/* r[impl slots.reader.register] */
int shmk_slots_register_reader(struct shmk_slots *s, int want, unsigned *index)
{
	if (!s || !index)
		return SHMK_FAIL(-EINVAL);
	/* r[impl slots.reader.index] */
	if (want >= (int)SHMK_SLOTS_MAX_READERS || want < -1)
		return shmk_fail(SHMK_ERANGE, "slots: reader index %d >= 32", want);
	if (s->reg_index >= 0)
		return shmk_fail(SHMK_EBUSY, "slots: handle already holds reader %d", s->reg_index);
	/* r[impl slots.truncate.register] the reader's claim: before its first touch */
	int rc = slots_covers(s);
	if (rc)
		return rc;
	uint64_t self = shmk_self_token();
	unsigned lo = want < 0 ? 0 : (unsigned)want, hi = want < 0 ? SHMK_SLOTS_MAX_READERS : lo + 1;
	for (unsigned i = lo; i < hi; i++) {
		uint64_t expect = 0;
		/* acq_rel: acquire pairs with the owner's release store of 0 in
		 * reap_entry, so every bit it set for the previous holder is
		 * visible before this reader scans. */
		if (atomic_compare_exchange_strong_explicit(&s->hdr->readers[i], &expect, self,
							    memory_order_acq_rel,
							    memory_order_relaxed)) {
			s->reg_index = (int)i;
			s->reg_token = self;
			*index = i;
			return 0;
		}
	}
	if (want >= 0)
		return shmk_fail(SHMK_EBUSY, "slots: reader index %d is held", want);
	return shmk_fail(SHMK_EFULL, "slots: all 32 reader indices are held");
}

/* Owner thread only: forget reader i whose registry value was `tok`. */
static void reap_entry(struct shmk_slots *s, unsigned i, uint64_t tok)
{
	set_bit_everywhere(s, i);
	/* release: pairs with the acq_rel claim CAS in register_reader. */
	atomic_compare_exchange_strong_explicit(&s->hdr->readers[i], &tok, 0, memory_order_release,
						memory_order_relaxed);
}

/* Registered readers as a mask.  Left entries are reaped on the way (no
 * /proc read); with check_alive, dead tokens are reaped too. Returns the
 * mask of readers that may still read; *reaped counts reaped entries. */
static uint32_t scan_readers(struct shmk_slots *s, int check_alive, int *reaped)
{
	uint32_t live = 0;

	for (unsigned i = 0; i < SHMK_SLOTS_MAX_READERS; i++) {
		/* relaxed: coherence is enough.  A commit that saw reader i
		 * registered is followed (same thread) by reserves that see i
		 * or a later value; one that did not addressed nothing to i. */
		uint64_t tok = SHMK_LOAD_U64(&s->hdr->readers[i]);
		if (!tok)
			continue;
		/* r[impl slots.reader.reap] */
		if (tok == SHMK_SLOTS_READER_LEFT || (check_alive && !shmk_token_alive(tok))) {
			reap_entry(s, i, tok);
			++*reaped;
			continue;
		}
		live |= 1u << i;
	}
	return live;
}

/* ------------------------------------------------------------ owner ops */

static int owner_handle(struct shmk_slots *s, shmk_slot_handle_t h, int want_state)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	if (!s->owner)
		return shmk_fail(-EPERM, "slots: loans belong to the owner's handle");
	/* r[impl slots.handle.bounds] */
	if (h.index >= s->count)
		return shmk_fail(SHMK_ERANGE, "slots: slot %u >= %u", h.index, s->count);
	if (s->lstate[h.index] != want_state)
		return shmk_fail(-EINVAL, "slots: slot %u is not loaned", h.index);
	return 0;
}

/* r[impl slots.reuse.rule] */
int shmk_slots_reserve_slot(struct shmk_slots *s, uint32_t active_readers_mask,
			    shmk_slot_handle_t *h)
{
	if (!s || !h)
		return SHMK_FAIL(-EINVAL);
	if (!s->owner)
		return shmk_fail(-EPERM, "slots: only the owner reserves");
	int reaped = 0;
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0 is cheap (no /proc); pass 1 checks every token. */
		uint32_t live = scan_readers(s, pass, &reaped);
		for (uint32_t k = 0; k < s->count; k++) {
			uint32_t i = s->cursor + k < s->count ? s->cursor + k : s->cursor + k - s->count;
			if (s->lstate[i] == LS_LOANED)
				continue;
			if (s->lstate[i] == LS_COMMITTED) {
				/* The line is written below when the slot is
				 * free: fetch it for writing in one transfer
				 * from the reader that marked it, not a shared
				 * copy and then an upgrade. */
				__builtin_prefetch(slot_at(s, i), 1, 3);
				/* acquire: pairs with the release fetch_or in
				 * mark_read, so the reader's data reads are done
				 * before this slot is overwritten. */
				uint32_t m = SHMK_LOAD_ACQ_U32(&slot_at(s, i)->reader_mask);
				if ((m | ~live) != UINT32_MAX)
					continue;
			}
			s->lstate[i] = LS_LOANED;
			s->lactive[i] = active_readers_mask;
			/* The next reserve tries this slot first: once its
			 * readers are done it is the one whose lines and page
			 * (TLB entry) are warm on both sides, so a round trip
			 * costs the same for every slot size; while it is
			 * unread the scan moves on round robin. */
			s->cursor = i;
			/* Unpublish first: a stale handle now sees sn 0.  release
			 * fence: pairs with the acquire fence before the sn re-load
			 * in next_unread_slot / load_committed, so a reader that
			 * sees any later store to this slot (mask, size, data)
			 * re-loads sn as 0 or the new value, never the old one. */
			atomic_store_explicit(&slot_at(s, i)->sn, 0, memory_order_seq_cst);
			atomic_thread_fence(memory_order_release);
			h->index = i;
			h->reserved = 0;
			h->sn = 0;
			return 0;
		}
	}
	return shmk_fail(SHMK_EFULL, "slots: no free slot (%u slots, %d dead readers reaped)",
			 s->count, reaped);
}

/* r[impl slots.publish.order+2] r[impl slots.sn.width] */
static int publish(struct shmk_slots *s, shmk_slot_handle_t h, size_t len, uint64_t *sn,
		   struct shmk_slots_toolarge *tl)
{
	if (len > s->capacity) {
		if (tl) {
			tl->sample = len;
			tl->capacity = s->capacity;
		}
		return shmk_fail(SHMK_ETOOLARGE, "slots: sample %zu > capacity %u", len, s->capacity);
	}
	if (s->next_sn == UINT64_MAX)
		return shmk_fail(SHMK_EOVERFLOW, "slots: sequence numbers exhausted");
	uint64_t my = s->next_sn;
	struct shmk_slot_hdr *sh = slot_at(s, h.index);
	/* r[impl slots.delivery.addressed] only readers registered now are
	 * owed this sample; everyone else's bit is set from the start. */
	int reaped = 0;
	uint32_t live = scan_readers(s, 0, &reaped);
	uint32_t owed = s->lactive[h.index] & live;
	/* relaxed: published by the release store of sn below. */
	atomic_store_explicit(&sh->sample_size, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&sh->reader_mask, ~owed, memory_order_relaxed);
	SHMK_CRASH_POINT("slots.commit.before_publish");
	/* r[impl reliability.crash.committed] the sample exists once sn is stored. */
	/* release: pairs with the acquire loads of sn in next_unread_slot,
	 * slot_read_ptr and read_slot: data, size and mask are visible first. */
	atomic_store_explicit(&sh->sn, my, memory_order_release);
	s->next_sn = my + 1;
	/* release: pairs with the acquire load of next_sn in
	 * next_unread_slot, which bounds its scan to published samples. */
	atomic_store_explicit(&s->hdr->next_sn, my + 1, memory_order_release);
	s->lstate[h.index] = LS_COMMITTED;
	if (sn)
		*sn = my;
	notify(s);
	return 0;
}

int shmk_slots_commit_slot(struct shmk_slots *s, shmk_slot_handle_t h, const void *data,
			   size_t len, uint64_t *sn, struct shmk_slots_toolarge *tl)
{
	int rc = owner_handle(s, h, LS_LOANED);

	if (rc)
		return rc;
	if (len && !data)
		return SHMK_FAIL(-EINVAL);
	if (len > s->capacity)
		return publish(s, h, len, sn, tl);
	if (len)
		memcpy(slot_data(s, h.index), data, len);
	return publish(s, h, len, sn, tl);
}

/* r[impl slots.loan.inplace] */
int shmk_slots_slot_data_ptr(struct shmk_slots *s, shmk_slot_handle_t h, void **ptr,
			     size_t *capacity)
{
	int rc = owner_handle(s, h, LS_LOANED);

	if (rc)
		return rc;
	if (!ptr)
		return SHMK_FAIL(-EINVAL);
	*ptr = slot_data(s, h.index);
	if (capacity)
		*capacity = s->capacity;
	return 0;
}

int shmk_slots_commit_in_place(struct shmk_slots *s, shmk_slot_handle_t h, size_t len,
			       uint64_t *sn, struct shmk_slots_toolarge *tl)
{
	int rc = owner_handle(s, h, LS_LOANED);

	return rc ? rc : publish(s, h, len, sn, tl);
}

int shmk_slots_discard_slot(struct shmk_slots *s, shmk_slot_handle_t h)
{
	int rc = owner_handle(s, h, LS_LOANED);

	if (rc)
		return rc;
	s->lstate[h.index] = LS_FREE;	/* sn stayed 0 since reserve: never visible */
	notify(s);
	return 0;
}

/* ------------------------------------------------------------ reader ops */

static int check_reader(const struct shmk_slots *s, unsigned reader)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	/* r[impl slots.reader.index] every build, not only debug. */
	if (reader >= SHMK_SLOTS_MAX_READERS)
		return shmk_fail(SHMK_ERANGE, "slots: reader index %u >= 32", reader);
	return 0;
}

/* r[impl slots.reader.unregistered] A commit addresses only the readers
 * registered at that moment (slots.delivery.addressed), so an index agreed
 * out of band, as upstream allows, would wait forever in silence.  Cold. */
static int __attribute__((noinline, cold))
unregistered(const struct shmk_slots *s, unsigned reader)
{
	if (s->reg_index < 0)
		return shmk_fail(-EPERM, "slots: reader %u is not registered by this handle; "
				 "commits address only registered readers: call "
				 "shmk_slots_register_reader first", reader);
	return shmk_fail(-EPERM, "slots: this handle registered reader %d, not %u", s->reg_index,
			 reader);
}

/* r[impl slots.delivery.order] */
int shmk_slots_next_unread_slot(struct shmk_slots *s, unsigned reader, shmk_slot_handle_t *h)
{
	int rc = check_reader(s, reader);

	if (rc)
		return rc;
	if (!h)
		return SHMK_FAIL(-EINVAL);
	/* r[impl slots.reader.unregistered] two loads of the handle, no store */
	if (!s->owner && (int)reader != s->reg_index)
		return unregistered(s, reader);
	/* acquire: pairs with the release store of next_sn in publish: every
	 * sample numbered below `end` is visible, so the minimum found below
	 * cannot be undercut by one published during the scan. */
	uint64_t end = SHMK_LOAD_ACQ_U64(&s->hdr->next_sn);
	uint64_t low = s->rd_low[reader];
	/* Nothing numbered >= low is published yet, and nothing below low is
	 * unread: the idle poll touches the header's first line only. */
	if (end <= low)
		return 0;
	uint64_t best = UINT64_MAX;
	uint32_t best_i = 0;
	/* Start where the next sample usually is (the owner retries the
	 * slot it committed last, else moves on round robin: this slot or
	 * the one after the last returned) and stop at sn == low: nothing
	 * unread can be smaller. */
	uint32_t start = s->rd_start[reader] < s->count ? s->rd_start[reader] : 0;
	for (uint32_t k = 0; k < s->count; k++) {
		uint32_t i = start + k < s->count ? start + k : start + k - s->count;
		struct shmk_slot_hdr *sh = slot_at(s, i);
		/* acquire: pairs with the release store of sn in publish. */
		uint64_t sn = SHMK_LOAD_ACQ_U64(&sh->sn);
		if (!sn || sn >= end || sn >= best)
			continue;
		SCAN_HOOK(i);
		uint32_t mask = SHMK_LOAD_U32(&sh->reader_mask);
		/* r[impl slots.publish.order+2] sn, then mask, then sn again:
		 * the slot may have been recycled between the two loads, and an
		 * old sn with the new commit's mask would deliver a sample
		 * twice, torn.  acquire fence: pairs with the release fence
		 * after the unpublishing store in reserve_slot. */
		atomic_thread_fence(memory_order_acquire);
		if (SHMK_LOAD_U64(&sh->sn) != sn || (mask & (1u << reader)))
			continue;
		best = sn;
		best_i = i;
		if (sn <= low)
			break;
	}
	if (best == UINT64_MAX) {
		/* Every sample below end is read, unaddressed or gone, and
		 * later ones get sn >= end. */
		s->rd_low[reader] = end;
		return 0;
	}
	s->rd_low[reader] = best;
	s->rd_start[reader] = best_i;
	h->index = best_i;
	h->reserved = 0;
	h->sn = best;
	return 1;
}

/* Loads a committed slot's header for h: sn acquire-first so size and mask
 * belong to that commit (never a torn header). */
static int load_committed(const struct shmk_slots *s, shmk_slot_handle_t h, uint64_t *snp,
			  uint32_t *sizep, uint32_t *maskp)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	/* r[impl slots.handle.bounds] */
	if (h.index >= s->count)
		return shmk_fail(SHMK_ERANGE, "slots: slot %u >= %u", h.index, s->count);
	struct shmk_slot_hdr *sh = slot_at(s, h.index);
	/* acquire: pairs with the release store of sn in publish. */
	uint64_t sn = SHMK_LOAD_ACQ_U64(&sh->sn);
	if (!sn || (h.sn && h.sn != sn))
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u holds no sample %llu", h.index,
				 (unsigned long long)h.sn);
	uint32_t size = SHMK_LOAD_U32(&sh->sample_size);
	uint32_t mask = SHMK_LOAD_U32(&sh->reader_mask);
	/* acquire fence, sn again: size and mask belong to commit sn (pairs
	 * with the release fence after unpublishing in reserve_slot). */
	atomic_thread_fence(memory_order_acquire);
	if (SHMK_LOAD_U64(&sh->sn) != sn)
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u recycled while read", h.index);
	/* r[impl slots.read.bounds] */
	if (size > s->capacity)
		return shmk_fail(SHMK_EINTEGRITY, "slots: slot %u sample_size %u > capacity %u",
				 h.index, size, s->capacity);
	*snp = sn;
	*sizep = size;
	*maskp = mask;
	return 0;
}

/* r[impl slots.read.ptr] */
int shmk_slots_slot_read_ptr(struct shmk_slots *s, shmk_slot_handle_t h, const void **ptr,
			     size_t *len)
{
	uint64_t sn;
	uint32_t size, mask;
	int rc = load_committed(s, h, &sn, &size, &mask);

	if (rc)
		return rc;
	if (!ptr || !len)
		return SHMK_FAIL(-EINVAL);
	*ptr = slot_data(s, h.index);
	*len = size;
	return 0;
}

int shmk_slots_read_slot(struct shmk_slots *s, shmk_slot_handle_t h, void *buf, size_t buflen,
			 struct shmk_slot_info *info)
{
	uint64_t sn;
	uint32_t size, mask;
	int rc = load_committed(s, h, &sn, &size, &mask);

	if (rc)
		return rc;
	if (info) {
		info->sn = sn;
		info->sample_size = size;
		info->reader_mask = mask;
	}
	if (buflen < size)
		return shmk_fail(SHMK_EBUFSMALL, "slots: sample %u > buffer %zu", size, buflen);
	if (size && !buf)
		return SHMK_FAIL(-EINVAL);
	memcpy(buf, slot_data(s, h.index), size);
	/* acquire fence, then sn again: a slot recycled under the copy (only
	 * possible when this reader was disconnected) is reported, not
	 * returned torn. */
	atomic_thread_fence(memory_order_acquire);
	if (SHMK_LOAD_U64(&slot_at(s, h.index)->sn) != sn)
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u recycled during the copy", h.index);
	return 0;
}

int shmk_slots_mark_read(struct shmk_slots *s, shmk_slot_handle_t h, unsigned reader)
{
	int rc = check_reader(s, reader);

	if (rc)
		return rc;
	/* r[impl slots.reader.unregistered] */
	if (!s->owner && (int)reader != s->reg_index)
		return unregistered(s, reader);
	if (h.index >= s->count)
		return shmk_fail(SHMK_ERANGE, "slots: slot %u >= %u", h.index, s->count);
	struct shmk_slot_hdr *sh = slot_at(s, h.index);
	if (h.sn && SHMK_LOAD_U64(&sh->sn) != h.sn)
		return shmk_fail(SHMK_EEMPTY, "slots: slot %u no longer holds sample %llu", h.index,
				 (unsigned long long)h.sn);
	/* release: pairs with the acquire load of reader_mask in
	 * reserve_slot: this reader's reads of the data happen first. */
	atomic_fetch_or_explicit(&sh->reader_mask, 1u << reader, memory_order_release);
	/* The smallest unread sample is now read: the next one is above it. */
	if (h.sn && h.sn == s->rd_low[reader])
		s->rd_low[reader] = h.sn + 1;
	notify(s);	/* a slot may be free: wake a waiting writer */
	return 0;
}

/* r[impl slots.reader.disconnect] */
int shmk_slots_mark_reader_disconnected(struct shmk_slots *s, unsigned reader)
{
	int rc = check_reader(s, reader);

	if (rc)
		return rc;
	set_bit_everywhere(s, reader);
	notify(s);
	return 0;
}

/* ------------------------------------------------------------ getters */

size_t shmk_slots_slot_total_size(const struct shmk_slots *s)
{
	return s ? s->total : 0;
}

size_t shmk_slots_slot_capacity(const struct shmk_slots *s)
{
	return s ? s->capacity : 0;
}

size_t shmk_slots_slot_count(const struct shmk_slots *s)
{
	return s ? s->count : 0;
}

const char *shmk_slots_flink_path(const struct shmk_slots *s)
{
	return s ? s->flink : NULL;
}

/* r[impl slots.segment.name+2] upstream's segment_path() returns the flink
 * path: the locator a consumer hands to attach. */
const char *shmk_slots_segment_path(const struct shmk_slots *s)
{
	return s ? s->flink : NULL;
}

/* r[impl slots.segment.shm-name] */
const char *shmk_slots_shm_name(const struct shmk_slots *s)
{
	return s ? s->segment : NULL;
}

uint64_t shmk_slots_notify_generation(const struct shmk_slots *s)
{
	/* acquire: pairs with the seq_cst bump in notify. */
	return s ? SHMK_LOAD_ACQ_U32(&s->hdr->notify_gen) : 0;
}

/* ------------------------------------------------------------ wait */

static int owner_gone(const struct shmk_slots *s)
{
	if (s->owner)
		return 0;
	/* acquire: pairs with the release store of CLOSED in close. */
	if (SHMK_LOAD_ACQ_U32(&s->hdr->owner_state) != SHMK_SLOTS_OWNER_LIVE)
		return 1;
	return !shmk_token_alive(SHMK_LOAD_U64(&s->hdr->owner_token));
}

/* The generation moved.  The owner's close bumps it too: report that as
 * the owner's end, not as a change (committed samples stay readable). */
static int changed(const struct shmk_slots *s)
{
	/* acquire: pairs with the release store of CLOSED in close. */
	if (!s->owner && SHMK_LOAD_ACQ_U32(&s->hdr->owner_state) != SHMK_SLOTS_OWNER_LIVE)
		return shmk_fail(SHMK_EPEERDEAD, "slots: owner of %s closed", s->segment);
	return 0;
}

struct slots_waiting {
	struct shmk_slots *s;
	uint32_t want;
};

static int wait_ready(void *a)
{
	struct slots_waiting *sw = a;

	/* acquire: pairs with the seq_cst bump in shmk_wait_bump (notify) */
	return SHMK_LOAD_ACQ_U32(&sw->s->hdr->notify_gen) != sw->want ? changed(sw->s) : 1;
}

/* r[impl slots.truncate.wait] before the first park and after each
 * wake-up, before the header is touched again */
static int wait_covers(void *a)
{
	return slots_covers(((struct slots_waiting *)a)->s);
}

/* r[impl slots.wait.peerdead] */
static int wait_peer(void *a)
{
	struct slots_waiting *sw = a;

	if (owner_gone(sw->s))
		return shmk_fail(SHMK_EPEERDEAD, "slots: owner of %s closed or died",
				 sw->s->segment);
	return 1;
}

/* r[impl slots.wait.nolost+2] r[impl slots.wait.peerdead]
 * r[impl reliability.peer.unblock] wait.c spins by time, then parks on
 * notify_gen against the caller's `last`, looking at the owner before the
 * first park and every SHMK_LIVENESS_MS/4 while parked. */
int shmk_slots_wait_for_change(struct shmk_slots *s, uint64_t last, int64_t timeout_ns)
{
	if (!s)
		return SHMK_FAIL(-EINVAL);
	struct slots_waiting sw = { s, (uint32_t)last };
	struct shmk_wait w = slots_wait_point(s);
	struct shmk_wait_ops ops = { .ready = wait_ready, .covers = wait_covers,
				     .peer = wait_peer, .arg = &sw, .expect = (uint32_t)last,
				     .max_slice = -1, .look_first = true };

	return shmk_wait_until(&w, &ops, timeout_ns);
}

/* ------------------------------------------------------------ close */

/* r[impl slots.close.owner] r[impl slots.close.reader] */
int shmk_slots_close(struct shmk_slots *s)
{
	if (!s)
		return 0;
	int rc = 0;
	/* r[impl slots.truncate.close] a cut segment is left untouched (its
	 * readers notice the cut themselves); the rest of close still runs */
	int cut = s->owner || s->reg_index >= 0 ? slots_covers(s) : 0;
	if (s->owner) {
		char name[FLINK_MAX];
		if (!cut) {
			/* release: pairs with the acquire load of owner_state in owner_gone. */
			atomic_store_explicit(&s->hdr->owner_state, SHMK_SLOTS_OWNER_CLOSED,
					      memory_order_release);
			/* the bump and an unconditional wake: every parked reader
			 * returns and sees CLOSED (changed() in wait_for_change). */
			struct shmk_wait w = slots_wait_point(s);
			shmk_wait_bump(&w);
			shmk_wait_wake_all(&w);
		}
		if (shm_unlink(s->segment) && errno != ENOENT)
			rc = SHMK_FAIL(-errno);
		/* Someone may have reclaimed the path: remove only our flink,
		 * under the directory lock (see flink_dir_lock). */
		int lk = flink_dir_lock(s->flink);
		if (read_flink(s->flink, name) == 0 && strcmp(name, s->segment) == 0 &&
		    unlink(s->flink) && errno != ENOENT && !rc)
			rc = SHMK_FAIL(-errno);
		if (lk >= 0)
			close(lk);
		free(s->lstate);
		free(s->lactive);
	} else if (s->reg_index >= 0 && !cut) {
		uint64_t tok = s->reg_token;
		/* Set our bits first so nothing stays pinned by us, then hand
		 * the entry to the owner to reap (it alone writes 0). */
		set_bit_everywhere(s, (unsigned)s->reg_index);
		atomic_compare_exchange_strong_explicit(&s->hdr->readers[s->reg_index], &tok,
							SHMK_SLOTS_READER_LEFT,
							memory_order_release,
							memory_order_relaxed);
		notify(s);
	}
	shmk_region_unmap(s->hdr, s->map_len);
	close(s->fd);
	free(s);
	return rc ? rc : cut;
}
