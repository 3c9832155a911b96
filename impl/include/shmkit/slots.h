/* SPDX-License-Identifier: MIT */
/*
 * shmkit slots: the ZeroDDS flatdata POSIX slot allocator, in C.
 *
 * An owner process creates a POSIX shm segment of fixed-size slots and a
 * "flink" file naming it; reader processes attach through the flink,
 * register for a reader index (0..31), and take committed samples in
 * sequence-number order, marking each read.  A slot is reused when every
 * live reader it was addressed to has read it; a reader that dies is
 * detected (zombie- and PID-reuse-safe) and stops pinning slots.  A futex
 * word in the segment wakes waiters on every change.
 *
 * The rules are clauses in conformance/spec/slots.md; the layout lives in
 * shmkit/wire.h.
 *
 * Threads: a struct shmk_slots handle is used by one thread at a time
 * (like a file position).  Separate handles (other processes, or separate
 * attaches) are independent.  Loans (reserve .. commit/discard) are local
 * to the owner's handle.
 *
 * Return values: 0 (or a small count) on success, -errno for OS failures,
 * SHMK_E* (shmkit/error.h) for protocol failures.  Sequence numbers and
 * sizes come back through out-parameters.
 */
#ifndef SHMKIT_SLOTS_H
#define SHMKIT_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "shmkit/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shmk_slots;

/* A slot reference.  sn is 0 for a fresh loan from reserve_slot, and the
 * sample's sequence number for a handle from next_unread_slot (so a
 * handle to a recycled slot is detected). */
typedef struct {
	uint32_t index;
	uint32_t reserved;
	uint64_t sn;
} shmk_slot_handle_t;

/* A committed slot's header, as read_slot saw it. */
struct shmk_slot_info {
	uint64_t sn;
	uint32_t sample_size;
	uint32_t reader_mask;
};

/* SampleTooLarge{sample, capacity}: filled when a commit returns
 * SHMK_ETOOLARGE (pass NULL when not wanted). */
struct shmk_slots_toolarge {
	size_t sample;
	size_t capacity;
};

/* create option flags */
#define SHMK_SLOTS_REPLACE_STALE 0x1u	/* reclaim a flink left by a dead owner */

struct shmk_slots_opts {
	uint32_t flags;		/* SHMK_SLOTS_* */
	uint32_t reserved;	/* zero */
	uint64_t first_sn;	/* first sequence number; 0 means 1 (tests start near UINT32_MAX) */
};

/* Owner.  flink_path NULL picks <default dir>/<segment id>.flink.
 * -EINVAL for zero count/capacity or count > SHMK_SLOTS_MAX_COUNT;
 * SHMK_EOVERFLOW when slot_capacity > UINT32_MAX - 79 or count * size
 * overflows; SHMK_ESTALE when flink_path was left by a dead owner (detail
 * names it; pass SHMK_SLOTS_REPLACE_STALE to reclaim); SHMK_EBUSY when a
 * live owner holds it; -errno from shm_open/fallocate/mmap/the flink. */
#define SHMK_SLOTS_MAX_COUNT 65536u
int shmk_slots_create(const char *flink_path, size_t slot_count, size_t slot_capacity,
		      struct shmk_slots **out);
int shmk_slots_create_opts(const char *flink_path, size_t slot_count, size_t slot_capacity,
			   const struct shmk_slots_opts *opts, struct shmk_slots **out);

/* Reader.  SHMK_EBADMAGIC / SHMK_ELAYOUT / SHMK_ETOOSMALL for a segment
 * whose header does not describe it (SHMK_EBADMAGIC, with a detail saying
 * so, for an upstream ZeroDDS flatdata v1 segment: r[slots.attach.upstream]);
 * SHMK_ELAYOUT for a flink that does not hold a valid shm name; SHMK_EUNSAFE
 * for an unsafe flink or segment; -EINVAL (NULL argument), -ENAMETOOLONG,
 * -ENOENT and other -errno from open/read/shm_open/fstat/mmap. */
int shmk_slots_attach(const char *flink_path, struct shmk_slots **out);

/* What shmk_slots_validate found.  The sizes are validated; next_sn, the
 * owner fields and readers are a snapshot, NOT checked (peers move them). */
struct shmk_slots_info {
	uint32_t slot_count;
	uint32_t slot_capacity;		/* data bytes per slot */
	uint32_t slot_total_size;	/* align_up(16 + capacity, 64) */
	uint32_t owner_state;		/* SHMK_SLOTS_OWNER_LIVE / _CLOSED, or what the file holds */
	uint64_t segment_size;		/* header + slot_count * slot_total_size <= file size */
	uint64_t owner_token;		/* creator's process token */
	uint64_t next_sn;
	uint32_t readers;		/* registry entries holding a token (not 0, not LEFT) */
	int complete;			/* the whole slot table lies in [base, base+len) */
};
/* The one header validator (attach, `shmkit inspect`, the fuzzers).  base:
 * the segment's first len bytes (a mapping or a private copy, 8-byte
 * aligned); file_size: its real size (>= len); the slot table is bounded by
 * file_size, so a header-only copy validates (info->complete 0).  Each field
 * is loaded once; nothing is written.  0 or attach's codes: SHMK_ETOOSMALL,
 * SHMK_EBADMAGIC, SHMK_ELAYOUT; SHMK_EMISALIGNED; -EINVAL (base NULL or
 * len > file_size).  info may be NULL. */
int shmk_slots_validate(const void *base, size_t len, uint64_t file_size,
			struct shmk_slots_info *info);

/* Owner: marks the segment closed, wakes waiters, unlinks the segment and
 * (when it still names this segment) the flink, unmaps.  Reader: releases
 * its registration and unmaps.  Frees s; NULL is a no-op. */
int shmk_slots_close(struct shmk_slots *s);

/* For `shmkit gc`: removes flink_path and its segment when their owner is
 * dead.  0 reclaimed, SHMK_EBUSY when the owner lives (or another
 * process held the flink directory's lock for SHMK_LIVENESS_MS), -ENOENT, ... */
int shmk_slots_reclaim_stale(const char *flink_path);

/* Default flink directory ($SHMK_SLOTS_DIR, else /tmp/shmkit-<euid>). */
int shmk_slots_default_dir(char *buf, size_t len);

/* Reader registration: want = index 0..31 or -1 for any free index.
 * SHMK_ERANGE for want >= 32, SHMK_EBUSY when that index is held,
 * SHMK_EFULL when none is free. */
int shmk_slots_register_reader(struct shmk_slots *s, int want, unsigned *index);

/* Owner: loan a free slot for the readers in active_readers_mask.
 * SHMK_EFULL when none is free (after reaping dead readers); -EPERM on a
 * reader handle.  A reader's death bumps no generation: an owner waiting
 * for a free slot should bound wait_for_change (e.g. by SHMK_LIVENESS_MS)
 * and reserve again, which reaps it. */
int shmk_slots_reserve_slot(struct shmk_slots *s, uint32_t active_readers_mask,
			    shmk_slot_handle_t *h);
/* Owner: copy len bytes in and publish; *sn gets the sequence number. */
int shmk_slots_commit_slot(struct shmk_slots *s, shmk_slot_handle_t h, const void *data,
			   size_t len, uint64_t *sn, struct shmk_slots_toolarge *tl);
int shmk_slots_discard_slot(struct shmk_slots *s, shmk_slot_handle_t h);
/* Owner: zero-copy loan; *ptr valid until commit_in_place/discard_slot. */
int shmk_slots_slot_data_ptr(struct shmk_slots *s, shmk_slot_handle_t h, void **ptr,
			     size_t *capacity);
int shmk_slots_commit_in_place(struct shmk_slots *s, shmk_slot_handle_t h, size_t len,
			       uint64_t *sn, struct shmk_slots_toolarge *tl);

/* Readers.  next_unread_slot returns 1 and *h for the unread sample with
 * the lowest sequence number, 0 when nothing is pending.
 *
 * Unlike upstream, a reader must register first (register_reader): a commit
 * is addressed to the readers in active_readers_mask that are registered at
 * that moment, so a reader using an index agreed out of band would never see a
 * sample.  On a reader's handle, next_unread_slot and mark_read refuse an
 * index the handle has not registered with -EPERM
 * (r[slots.reader.unregistered]); the owner's handle may scan any index. */
int shmk_slots_next_unread_slot(struct shmk_slots *s, unsigned reader, shmk_slot_handle_t *h);
/* Zero-copy read: *ptr valid until the slot is recycled (after mark_read). */
int shmk_slots_slot_read_ptr(struct shmk_slots *s, shmk_slot_handle_t h, const void **ptr,
			     size_t *len);
/* Copying read: SHMK_EBUFSMALL (info->sample_size set) when buf is short,
 * SHMK_EEMPTY when the slot no longer holds h's sample. */
int shmk_slots_read_slot(struct shmk_slots *s, shmk_slot_handle_t h, void *buf, size_t buflen,
			 struct shmk_slot_info *info);
/* Once per handle: after it the slot may be recycled under any pointer. */
int shmk_slots_mark_read(struct shmk_slots *s, shmk_slot_handle_t h, unsigned reader);
/* Sets reader's bit on every slot (lease expiry, called by the owner). */
int shmk_slots_mark_reader_disconnected(struct shmk_slots *s, unsigned reader);

size_t shmk_slots_slot_total_size(const struct shmk_slots *s);
size_t shmk_slots_slot_capacity(const struct shmk_slots *s);
size_t shmk_slots_slot_count(const struct shmk_slots *s);

/* Capture before checking a condition, then wait: no lost wake-up.
 * wait: 0 when the generation differs from last, -ETIMEDOUT, or
 * SHMK_EPEERDEAD when the owner closed or died.  timeout_ns < 0: forever. */
uint64_t shmk_slots_notify_generation(const struct shmk_slots *s);
int shmk_slots_wait_for_change(struct shmk_slots *s, uint64_t last, int64_t timeout_ns);

/*
 * Truncation (r[slots.truncate.check]): whoever can write the segment can
 * cut it under a live mapping, and any touch of the cut pages raises
 * SIGBUS.  shmk_slots_check returns 0 while the segment still holds what
 * this handle mapped, SHMK_ETRUNCATED when it shrank (then stop using the
 * handle; closing it is safe), -errno from fstat; one fstat, so call it
 * when the segment may be hostile.  register_reader, wait_for_change
 * (before its first park and after every wake-up, at least once per
 * SHMK_LIVENESS_MS) and close check the same way (close then leaves the
 * segment untouched, still frees and unlinks, and returns SHMK_ETRUNCATED);
 * reserve, commit, discard, the data and read pointers, next_unread,
 * read_slot, mark_read and mark_reader_disconnected do NOT (a syscall per
 * sample would multiply their cost) and fault on cut pages.  Each handle
 * keeps the segment's descriptor open for this.
 */
int shmk_slots_check(const struct shmk_slots *s);

/* The flink path this handle was created or attached with (NULL for NULL). */
const char *shmk_slots_flink_path(const struct shmk_slots *s);
/* What upstream's segment_path() returns and its PID_SHM_LOCATOR carries:
 * the locator a consumer passes to shmk_slots_attach, i.e. the flink path
 * (the same string as shmk_slots_flink_path). */
const char *shmk_slots_segment_path(const struct shmk_slots *s);
/* The POSIX shm object's name the flink holds ("/shmk-..."), for shm_open
 * or /dev/shm; identical for the owner and every reader.  Upstream keeps it
 * private (shmem_os_id). */
const char *shmk_slots_shm_name(const struct shmk_slots *s);

#ifdef __cplusplus
}
#endif
#endif
