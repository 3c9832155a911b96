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
 *
 * This file: names and flinks, validation, create, attach, a reader's
 * registration, the getters and close.  The owner's and the readers'
 * operations and the wait are in slots_data.c; what both files share is in
 * slots_int.h.
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
#include "slots_int.h"

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
	s->rr_span = slots_rr_span(s->count, s->total);
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
	s->rr_span = slots_rr_span(s->count, s->total);
	*out = s;
	return 0;
fail:
	free(s);
	return rc;
}

/* ------------------------------------------------------------ registry */

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
