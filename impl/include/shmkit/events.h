/* SPDX-License-Identifier: MIT */
/*
 * events.h - the IndexBus-style events region: one file-backed mapping that
 * holds a slot pool (2048 x 256-byte payloads), an SPSC queue and an MPSC
 * queue (capacity 1024 each), shared between processes.  Layout: wire.h,
 * promises: conformance/spec/events.md.
 *
 *   struct shmk_events *r;
 *   shmk_events_open("bus", &r);                 // /dev/shm/bus, create or join
 *   struct shmk_events_tx *tx; struct shmk_events_rx *rx;
 *   shmk_events_split_spsc(r, &tx, &rx);         // claims nothing yet
 *   shmk_events_rx_close(rx);                    // this process only sends
 *   shmk_events_try_send(tx, "hi", 2, NULL);     // claims the sender role
 *
 * Threads: a region handle may be split and closed from any thread; a tx/rx
 * handle belongs to one thread at a time (like a file position) and to the
 * process that created it (handles do not survive fork()).  Each single
 * role of a file (SPSC sender, SPSC receiver, MPSC consumer) is held by at
 * most one handle per process: a second handle's first operation returns
 * SHMK_EBUSY until the first is closed (r[events.role.one-handle]).  MPSC
 * producers are many, in one process or several.
 *
 * Every function returning int returns 0 (or a small count) or a negative
 * code (-errno, SHMK_E*; see error.h for the convention, the detail and
 * SHMK_LIVENESS_MS).
 */
#ifndef SHMKIT_EVENTS_H
#define SHMKIT_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmkit/error.h"
#include "shmkit/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shmk_events;	/* an open region (mapping + fd) */
struct shmk_events_tx;	/* SPSC sender or MPSC producer */
struct shmk_events_rx;	/* SPSC receiver or MPSC consumer */

/* Options; an all-zero struct means every default. */
struct shmk_events_opts {
	uint32_t required_caps;	/* joiners refuse a region lacking these (EINCOMPAT) */
	bool blocking;		/* creator: append the wake section; joiner: require it */
	bool recover;		/* re-initialise a region whose creator died mid-init */
	int64_t init_timeout_ns;	/* wait for initialized == 2; 0 = 2 s, < 0 = 0 */
	mode_t mode;		/* file mode for create and the attach check; 0 = 0600 */
	const char *dir;	/* directory for open(name); NULL = "/dev/shm" */
	uint64_t counter_start;	/* creator: first value of every queue counter */
	bool lanes;		/* creator: MPSC as per-producer lanes (SHMK_EVENTS_CAP_LANES);
				 * joiner: require them */
};

/* Sizes carried by SHMK_ETOOLARGE {max,len} and SHMK_EBUFSMALL {required,provided}. */
struct shmk_events_sizes {
	size_t a;	/* max (TOOLARGE) / required (BUFSMALL) */
	size_t b;	/* len (TOOLARGE) / provided (BUFSMALL) */
};

/* A zero-copy view of one pool slot. */
struct shmk_events_view {
	uint8_t *data;		/* SHMK_EVENTS_SLOT_DATA bytes inside the mapping */
	size_t len;		/* rx: message length; tx: ignored */
	uint32_t slot;		/* pool index (opaque to callers) */
};

/*
 * Open (or create) the region: open(name) uses <opts->dir or /dev/shm>/name,
 * open_path the path as given.  The first opener of a new or empty file
 * initialises it; others wait up to init_timeout_ns for initialized == 2.
 * Errors: -EINVAL (NULL out or name; a name that is empty, ".", "..", or
 * has a '/' after an optional leading one), -ENAMETOOLONG;
 * SHMK_EUNSAFE (symlink at any component, other owner, mode wider than
 * opts->mode, not a regular file, hard-linked); SHMK_ENOTINIT (the creator
 * did not finish within init_timeout_ns; with opts->recover a dead
 * creator's region is re-initialised instead); SHMK_EBADMAGIC,
 * SHMK_EVERSION, SHMK_ELAYOUT (not a v1 events region, or its header
 * contradicts itself); SHMK_ETOOSMALL (shorter than the layout it claims);
 * SHMK_EINCOMPAT (lacks required_caps, or the wake section when blocking);
 * SHMK_EMISALIGNED (mapping base below the ABI alignment); -errno from
 * open/fstat/fallocate/mmap/flock (-ENOSPC: a full filesystem at create).
 */
int shmk_events_open(const char *name, struct shmk_events **out);
int shmk_events_open_with(const char *name, const struct shmk_events_opts *opts,
			  struct shmk_events **out);
int shmk_events_open_path(const char *path, struct shmk_events **out);
int shmk_events_open_path_with(const char *path, const struct shmk_events_opts *opts,
			       struct shmk_events **out);
/* The mapping base (struct shmk_events_layout *), valid while r or any of its
 * handles is open; *len_out (may be NULL) gets the mapped length. */
void *shmk_events_as_ptr(const struct shmk_events *r, size_t *len_out);
/* Re-validates the header; returns handles that claim their role on first use. */
int shmk_events_split_spsc(struct shmk_events *r, struct shmk_events_tx **tx,
			   struct shmk_events_rx **rx);
int shmk_events_split_mpsc(struct shmk_events *r, struct shmk_events_tx **prod,
			   struct shmk_events_rx **cons);
/* Unmaps once the region and all of its handles are closed; each frees its
 * handle whatever it returns.  NULL is a no-op (0).  A tx/rx close releases
 * the role it claimed and returns 0, or SHMK_ETRUNCATED (the file was cut:
 * the role word is left for reclaim, r[events.truncate.close]) or -errno
 * from fstat; the region's close returns 0. */
int shmk_events_close(struct shmk_events *r);
int shmk_events_tx_close(struct shmk_events_tx *tx);
int shmk_events_rx_close(struct shmk_events_rx *rx);

/* The one validator (open, `shmkit inspect`, fuzzers): 0 or SHMK_E*.
 * opts may be NULL. Reads only the header unless it is valid. */
int shmk_events_validate(const void *base, size_t len, const struct shmk_events_opts *opts);

/* What a region holds, as shmk_events_describe reads it (`shmkit inspect`). */
struct shmk_events_queue_info {
	uint64_t tail;		/* producers' counter */
	uint64_t head;		/* consumer's counter */
	uint64_t depth;		/* tail - head (0 while the consumer is ahead) */
	int integrity;		/* 1: neither tail - head nor head - tail fits the capacity */
	uint64_t role_a;	/* token: SPSC sender / MPSC consumer, 0 = none */
	uint64_t role_b;	/* token: SPSC receiver / unused */
};
struct shmk_events_producer_info {
	uint64_t token;		/* 0: the row is free */
	uint64_t intent;	/* the last position it recorded, when recorded */
	int recorded;		/* 0: the row says "claiming nothing" */
	int claiming;		/* intent is claimed (in [head, tail)) but unpublished */
};
enum shmk_events_pool_state {
	SHMK_EVENTS_POOL_OK = 0,
	SHMK_EVENTS_POOL_RANGE,	/* the free list reaches pool_bad_slot >= SHMK_EVENTS_SLOTS */
	SHMK_EVENTS_POOL_CYCLE,	/* the free list visits pool_bad_slot twice */
};
struct shmk_events_info {
	/* header: filled whenever len holds it, valid or not */
	uint32_t magic;
	uint16_t version;
	uint16_t kind;		/* flags & 0xff */
	uint32_t capabilities;
	uint32_t layout_bytes;
	uint32_t initialized;	/* SHMK_EVENTS_INIT_* or what the file holds */
	uint64_t creator;	/* initialiser's process token */
	uint64_t counter_start;
	/* the rest: only when the region validated (complete = 1) */
	int complete;
	uint32_t pool_free;	/* slots on the free list (walked once, bounded) */
	uint32_t pool_held;	/* slots with refcnt != 0 */
	uint32_t free_head;	/* index part of the tagged head */
	uint32_t free_generation;
	enum shmk_events_pool_state pool_state;
	uint32_t pool_bad_slot;
	struct shmk_events_queue_info spsc, mpsc;
	struct shmk_events_producer_info producers[SHMK_EVENTS_PRODUCERS];
	int has_wake;		/* SHMK_EVENTS_CAP_WAKE and the wake section in the view */
	struct {
		uint32_t gen;
		uint32_t waiters;
	} wake[4];		/* spsc_data, spsc_space, mpsc_data, mpsc_space */
};
/* Validates (shmk_events_validate with no options) and describes the
 * region in [base, base+len): a mapping or a private copy, 64-byte aligned.
 * Every field is loaded once, nothing is written, every walk is bounded.
 * Returns the validator's code; info (not NULL) gets the header whenever
 * len holds it, and everything else only on success. */
int shmk_events_describe(const void *base, size_t len, struct shmk_events_info *info);

/* Copying queue operations.  try_* never block and make no syscall unless a
 * peer is parked.  sizes (may be NULL) is filled on ETOOLARGE / EBUFSMALL.
 * In a region created with opts.lanes (SHMK_EVENTS_CAP_LANES) each MPSC
 * producer sends into a lane of its own (128 messages deep for the first
 * four producers' rows, 8 for the others; no locked RMW
 * per message; r[events.mpsc.lane+2]) and nothing below about claimed cells,
 * SHMK_ESKIPPED or the 64 idle polls applies (r[events.mpsc.lanes-scope]).
 * Otherwise MPSC sends and publishes fail with SHMK_ESKIPPED when this producer was
 * stopped (or descheduled) between its claim and its publish for longer
 * than 2 x SHMK_LIVENESS_MS and the consumer unblocked the cell
 * (r[events.mpsc.unblock+2]): nothing was sent, a view stays reserved, the
 * next call works - send again.
 * An MPSC try_recv answers up to 64 consecutive polls of a claimed but
 * unpublished head cell with SHMK_EEMPTY without reading tail or the clock
 * (r[events.mpsc.idle-polls]: a consumer that keeps up then leaves the
 * producers' line alone), and the skip of a dead claimer's cell and the
 * unblock of a stopped one are timed from the first poll that looks: a
 * consumer polling every T ms holds every later message up to 64 x T ms
 * longer (6.4 s at 100 ms) on top of those periods.  A slow poller that
 * needs the periods alone waits in shmk_events_recv instead of sleeping
 * between try_recv calls (every poll of a blocking receive looks). */
int shmk_events_try_send(struct shmk_events_tx *tx, const void *buf, size_t len,
			 struct shmk_events_sizes *sizes);
int shmk_events_try_recv(struct shmk_events_rx *rx, void *buf, size_t cap, size_t *len_out,
			 struct shmk_events_sizes *sizes);
/* Blocking forms (region needs SHMK_EVENTS_CAP_WAKE, else SHMK_EINCOMPAT):
 * spin, then park on the futex; timeout_ns < 0 waits forever; -ETIMEDOUT.
 * SHMK_EPEERDEAD (r[events.wait.peerdead+2]) when, with nothing pending, the
 * peer that claimed the other end died (the MPSC consumer: every registered
 * producer); noticed within SHMK_LIVENESS_MS/2.  Nothing was sent or
 * consumed: retry once a replacement may have reclaimed the role.  A peer
 * that never claimed, or closed cleanly, is waited for. */
int shmk_events_send(struct shmk_events_tx *tx, const void *buf, size_t len,
		     int64_t timeout_ns, struct shmk_events_sizes *sizes);
int shmk_events_recv(struct shmk_events_rx *rx, void *buf, size_t cap, size_t *len_out,
		     int64_t timeout_ns, struct shmk_events_sizes *sizes);

/* Zero-copy: reserve a slot, write view->data, publish len bytes (or cancel). */
int shmk_events_reserve(struct shmk_events_tx *tx, struct shmk_events_view *view);
int shmk_events_publish(struct shmk_events_tx *tx, struct shmk_events_view *view, size_t len,
			struct shmk_events_sizes *sizes);
int shmk_events_cancel(struct shmk_events_tx *tx, struct shmk_events_view *view);
/* Zero-copy receive: the message leaves the queue; release returns its slot. */
int shmk_events_recv_view(struct shmk_events_rx *rx, struct shmk_events_view *view);
int shmk_events_release(struct shmk_events_rx *rx, struct shmk_events_view *view);

/*
 * Truncation (r[events.truncate.check]): a peer that cuts the backing file
 * under a live mapping makes any touch of the cut pages raise SIGBUS.  These
 * return 0 while the file still holds the layout, SHMK_ETRUNCATED when it
 * shrank (then stop using the handles; closing them is safe), -errno from
 * fstat.  One fstat each: call them when the file may be hostile.  Split,
 * each handle's first operation (role claim), close, and the blocking
 * forms before every park (at least once per SHMK_LIVENESS_MS) check the
 * same way; the try_* and zero-copy operations do NOT (a syscall per
 * message would multiply their cost) and fault on cut pages.
 */
int shmk_events_check(const struct shmk_events *r);
int shmk_events_tx_check(const struct shmk_events_tx *tx);
int shmk_events_rx_check(const struct shmk_events_rx *rx);

/* MPSC consumer: how many cells it skipped because their producer died
 * between claim and publish (r[events.mpsc.dead-producer+2]). */
uint64_t shmk_events_rx_skipped(const struct shmk_events_rx *rx);

/* MPSC consumer: how many cells it unblocked although a live process had
 * claimed them, because they stayed unpublished for 2 x SHMK_LIVENESS_MS
 * (r[events.mpsc.unblock+2]); that producer's publish fails with SHMK_ESKIPPED. */
uint64_t shmk_events_rx_unblocked(const struct shmk_events_rx *rx);

#ifdef __cplusplus
}
#endif
#endif
