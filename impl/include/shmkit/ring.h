/* SPDX-License-Identifier: MIT */
/*
 * ring.h - Fuchsia's mediated-write ring buffer (RingBuffer over an
 * IOBuffer, RFC-0267), with the writer side the Zircon kernel would be.
 *
 * One reader (the owner) and up to SHMK_RING_MAX_WRITERS writer processes
 * share one named file: a header page (head, tail, magic, version,
 * capacity), `capacity` bytes of ring, and a writers page the reader never
 * maps writable.  Records are [tag u64][len u64][payload][0-7 zero bytes];
 * the tag is bound to the writer handle by the owner.
 *
 * Two writer modes, by what a writer is trusted with (r[ring.mediated.mode]):
 *   direct:   the writer maps the ring, the head and the lock: it is TRUSTED; a hostile
 *             one can forge any tag, corrupt any record, move head or hold the lock.
 *   mediated: the writer holds only a socket; the owner's mediator checks, stamps the tag
 *             and appends: a hostile one can only append well-formed records with its tag.
 *
 * Handing a writer to another process: the owner calls
 * shmk_ring_writer_new(), which returns a writer fd (a Unix socket end that
 * carries the ring's file and the tag, as SCM_RIGHTS) and a peer fd.  The
 * owner passes the writer fd on (fork, or SCM_RIGHTS over its own socket)
 * and closes its copy; the writer process turns it into a handle with
 * shmk_ring_writer_open().  The peer fd polls POLLHUP once every copy of
 * the writer fd is closed: the writer closed or died.
 *
 * A writer handle belongs to the process that opened it (its process
 * token is registered); a forked child must not use its parent's handle
 * but to close it.  Its close leaves the parent's slot and a reservation
 * the parent holds, and committing such an inherited reservation fails
 * with -EPERM (r[ring.writer.solo.copy]).  A child that writes with it
 * anyway loses no record: after a fork, neither copy keeps head
 * (r[ring.writer.sole+6]), so a handle opened before a fork loads head
 * and tail on every write from then on, in parent and child.  Forks that
 * skip pthread_atfork handlers (glibc's _Fork, a raw clone) are not
 * supported while a writer handle is open.
 *
 * Threads: a reader handle and a writer handle each belong to one thread
 * at a time (like a file position).  A reservation (reserve .. commit) must
 * be committed by the thread that reserved.  Several writer handles, in any
 * processes, may write at once: they serialise on a robust process-shared
 * mutex in the writers page.  While only one writer has ever registered it
 * writes without that mutex (r[ring.writer.solo+4]: a busy word and a
 * membarrier the next writer to register runs at its first write).  So a
 * writer whose process cannot issue membarrier (no kernel support, or a
 * seccomp filter refusing it) fails every write with that -errno (EPERM,
 * ENOSYS) on a ring whose sole writer ever armed that path, writing
 * nothing: open such writers before the first write of the ring's first
 * writer (registered before it arms, they keep it locked), or use a
 * mediated writer.  The sole writer itself never needs membarrier once
 * armed (r[ring.writer.solo.self]).  It arms only while it holds an OFD
 * lock (F_OFD_SETLK) on byte 0 of the ring file through its own re-open
 * of /proc/self/fd/N (r[ring.writer.solo.owner]), which the kernel drops
 * when it dies or execs: a writer that cannot see it in /proc (another
 * pid namespace, hidepid) waits SHMK_LIVENESS_MS and fails with SHMK_EBUSY
 * while its process lives, even when the thread in the record died.  Rings of version 1 (older builds) are
 * refused.
 *
 * Every function returning int returns 0 (or a small count where stated)
 * or a negative code (-errno, SHMK_E*); error.h gives the convention, the
 * detail and SHMK_LIVENESS_MS (which bounds the writers' lock wait and a
 * reader's wait on dead writers).
 */
#ifndef SHMKIT_RING_H
#define SHMKIT_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "shmkit/error.h"
#include "shmkit/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shmk_ring;		/* the reader (owner) */
struct shmk_ring_writer;	/* one writer */

#define SHMK_RING_MAX_IOV 8	/* segments per shmk_ring_writev (upstream's cap) */

struct shmk_ring_opts {
	uint64_t capacity;	/* ring bytes: multiple of the page size, >= 65536 */
	mode_t mode;		/* file mode, 0 = 0600 */
	/* First index (head = tail = initial_index), a multiple of 8; 0 by
	 * default.  Exists so tests can start near UINT64_MAX. */
	uint64_t initial_index;
};

/* Creates the file at `path` (O_EXCL) and returns its reader; a path
 * without '/' is a name in /dev/shm (create, attach and unlink alike).
 * Writers never open the path (they get an fd), so only the reader's uid
 * needs access: attach accepts mode 0600 or narrower.  Errors:
 * -EINVAL (capacity not a multiple of the page size, below
 * SHMK_RING_MAX_MESSAGE or above 1 GiB; index not a multiple of 8),
 * -EEXIST, SHMK_EUNSAFE, -errno. */
int shmk_ring_create(const char *path, const struct shmk_ring_opts *opts, struct shmk_ring **r);
/* Opens an existing ring as its reader.  SHMK_EBUSY while a live reader
 * holds it; SHMK_EBADMAGIC / SHMK_ENOTINIT / SHMK_EVERSION / SHMK_ELAYOUT /
 * SHMK_ETOOSMALL for a file that is not a valid ring; SHMK_EUNSAFE;
 * -EINVAL (NULL argument), -ENOENT and other -errno from open/fstat/mmap.
 * It starts at the tail the header holds: after a reader that died, that
 * may be up to min(capacity / 8, capacity - 64 KiB) bytes before what the
 * dead reader had read (r[ring.reader.lazy_tail]), which it reads again. */
int shmk_ring_attach(const char *path, struct shmk_ring **r);

/* What shmk_ring_validate found.  capacity .. file_size are validated;
 * head, tail, reader and the writer fields are a snapshot, NOT checked
 * (peers move them; the reader and writers check them where they use
 * them). */
struct shmk_ring_info {
	uint64_t capacity;	/* ring bytes */
	uint64_t file_size;	/* 2 * page_size + capacity */
	uint32_t page_size;
	uint32_t version;
	uint64_t head;
	uint64_t tail;
	uint64_t reader;	/* reader's process token, 0 = none */
	uint64_t registered;	/* writers ever opened (0 unless complete) */
	uint32_t writers;	/* writer slots holding a token (0 unless complete) */
	int complete;		/* the writers page was in [base, base+len) and validated */
};
/* The one header validator (attach, writer open, `shmkit inspect`, the
 * fuzzers).  base: the file's first len bytes (a mapping or a private copy,
 * 8-byte aligned); file_size: the file's real size (>= len).  Each field is
 * loaded once; nothing is written.  The header must be in the view; the
 * writers page is checked when it is too (len == file_size), else
 * info->complete is 0.  0 or the attach codes: SHMK_ETOOSMALL,
 * SHMK_ENOTINIT, SHMK_EBADMAGIC, SHMK_EVERSION, SHMK_ELAYOUT;
 * SHMK_EMISALIGNED; -EINVAL (base NULL or len > file_size).  info may be
 * NULL. */
int shmk_ring_validate(const void *base, size_t len, uint64_t file_size,
		       struct shmk_ring_info *info);
/* Releases the reader role and the mapping; the file stays.  Frees r
 * whatever it returns: 0, SHMK_ETRUNCATED (the file was cut: the role is
 * left for reclaim, r[ring.truncate.close]) or -errno from fstat; NULL: 0.
 * But while r's mediator runs: SHMK_EBUSY, nothing done, r still open
 * (r[ring.mediated.close]: stop the mediator first). */
int shmk_ring_close(struct shmk_ring *r);
int shmk_ring_unlink(const char *path);

int shmk_ring_capacity(const struct shmk_ring *r, uint64_t *capacity);
/* head: an acquire load (pairs with the release store in write / commit).
 * tail: the reader's own (r[ring.reader.lazy_tail]): the header's copy,
 * which writers check their space against, lags it by less than
 * min(capacity / 8, capacity - 64 KiB) bytes and catches up before a wait,
 * in increment_tail and at close. */
int shmk_ring_head(const struct shmk_ring *r, uint64_t *head);
int shmk_ring_tail(const struct shmk_ring *r, uint64_t *tail);
/* tail += amount, stored into the header (release), with amount 0 too: it
 * hands the writers the space of every record read_message returned
 * (r[ring.reader.lazy_flush]).  SHMK_EALIGN: amount % 8; SHMK_ERANGE: past
 * head. */
int shmk_ring_increment_tail(struct shmk_ring *r, uint64_t amount);
/* Copies `size` bytes at `index` into out.  SHMK_EALIGN when index is not
 * aligned for the size (8 for size >= 8, else size rounded up to a power of
 * two); SHMK_ETOOLARGE when size > SHMK_RING_MAX_MESSAGE; -EINVAL size 0. */
int shmk_ring_read(const struct shmk_ring *r, uint64_t index, void *out, size_t size);
/* Parses the record at start, bounded by end.  On success *payload points
 * into the mapping (valid until the tail passes it) and is contiguous even
 * across the wrap.  SHMK_EALIGN (start % 8), SHMK_ETOOSMALL (end - start <
 * 16, or end < start), SHMK_EBADLEN (len over the range or the maximum). */
int shmk_ring_first_message_in(const struct shmk_ring *r, uint64_t start, uint64_t end,
			       uint64_t *tag, const void **payload, size_t *len);
/* Waits until head > index.  timeout_ns < 0 waits without a deadline.
 * 0, -ETIMEDOUT, or SHMK_EPEERDEAD when writers have opened but none is
 * alive now. */
int shmk_ring_wait(struct shmk_ring *r, uint64_t index, int64_t timeout_ns);
/* wait(tail), parse, copy into buf, advance the tail (into the header once
 * the lazy bytes gathered, see shmk_ring_tail; a reader that dies leaves
 * the records it read since for the next reader).  *len gets the payload
 * length (also on SHMK_EBUFSMALL, which leaves the record).  A reader that
 * stops calling read_message while records remain, and does not wait (it
 * polls shmk_ring_head, say), holds back the space of what it read until it
 * calls shmk_ring_increment_tail(r, 0) (r[ring.reader.lazy_flush]): writers
 * poll SHMK_EFULL and see only the header's tail. */
int shmk_ring_read_message(struct shmk_ring *r, uint64_t *tag, void *buf, size_t buflen,
			   size_t *len, int64_t timeout_ns);

/*
 * Truncation (r[ring.truncate.check]): a peer that cuts the ring's file
 * under a live mapping makes any touch of the cut pages raise SIGBUS.
 * These return 0 while the file still holds the whole ring (header page,
 * ring, writers page), SHMK_ETRUNCATED when it shrank (then stop using the
 * handle; closing it is safe), -errno from fstat.  One fstat each: call
 * them when the file may be hostile.  shmk_ring_wait (and read_message)
 * check the same way before every park and after every wake-up (slices of
 * at most 50 ms), and close checks before it touches the mapping; write,
 * writev, reserve, commit, discard, read, first_message_in and the wait's
 * spin do NOT (a syscall per record would multiply their cost) and fault
 * on cut pages.
 */
int shmk_ring_check(const struct shmk_ring *r);
int shmk_ring_writer_check(const struct shmk_ring_writer *w);

/* record_len = 16 + round_up(len, 8); 0 if that overflows size_t. */
size_t shmk_ring_record_len(size_t len);

/* Owner side of new_iob_writer(tag): *writer_fd goes to the writer
 * process, *peer_fd stays with the owner (POLLHUP = writer gone).  Both are
 * O_CLOEXEC; the caller closes them. */
int shmk_ring_writer_new(struct shmk_ring *r, uint64_t tag, int *writer_fd, int *peer_fd);
/* Writer side: consumes writer_fd (kept open for the handle's life, closed
 * on error too) and registers this process as a writer.  SHMK_EBUSY when
 * SHMK_RING_MAX_WRITERS live writers are registered. */
int shmk_ring_writer_open(int writer_fd, struct shmk_ring_writer **w);
/* Discards a pending reservation, deregisters, wakes the reader.  Frees w
 * and returns as shmk_ring_close. */
int shmk_ring_writer_close(struct shmk_ring_writer *w);
int shmk_ring_writer_tag(const struct shmk_ring_writer *w, uint64_t *tag);

/*
 * Mediated writers (r[ring.mediated.mode]).  The owner starts one mediator
 * thread per ring (it appends under the writers' lock like a direct writer,
 * so direct and mediated writers may share a ring) and stops it before
 * shmk_ring_close (SHMK_EBUSY until then).  shmk_ring_mediated_new returns
 * a writer fd (a socket end, no descriptor of the ring; the writer process
 * passes it to shmk_ring_writer_open like a direct one) and a peer fd that
 * polls POLLHUP once the writer is gone: closed, dead, or disconnected for
 * a lie.  On a mediated handle write and writev send the record and block
 * until the mediator's reply: the append's code, or SHMK_EPEERDEAD once the
 * mediator has gone (a record whose reply was pending when it stopped may
 * have gone in: r[ring.mediated.status+2]); reserve, commit and discard
 * give -EOPNOTSUPP and shmk_ring_writer_check 0 (no mapping).  The
 * mediator's functions belong to the owner's thread that started it.
 */
struct shmk_ring_mediator;
struct shmk_ring_mediator_stats {
	uint64_t records;	/* messages appended (reply 0) */
	uint64_t refused;	/* messages answered with an error (SHMK_EFULL ...) */
	uint64_t hangups;	/* writers that closed or died */
	/* writers disconnected for a lie, by reason */
	uint64_t short_msgs;	/* shorter than the 8-byte header (zero-length too) */
	uint64_t bad_header;	/* wrong magic, or len != message length - 8 */
	uint64_t oversized;	/* longer than a whole record may be (MSG_TRUNC) */
	uint64_t ancillary;	/* SCM_RIGHTS (its fds closed) or any other control message */
	uint32_t connected;	/* writers connected now */
	uint32_t max_batch;	/* records served per writer per turn */
	int error;		/* 0, or the -errno that ended the mediator thread (every
				 * writer then disconnected, counted in hangups) */
};
/* SHMK_EBUSY when r already has a mediator; -errno from epoll, eventfd, the
 * thread or the writable mapping. */
int shmk_ring_mediator_start(struct shmk_ring *r, struct shmk_ring_mediator **m);
/* Stops the thread, disconnects every writer (their peer fds hang up),
 * frees m.  NULL: 0. */
int shmk_ring_mediator_stop(struct shmk_ring_mediator *m);
/* SHMK_EBUSY when SHMK_RING_MAX_WRITERS mediated writers are connected,
 * SHMK_EPEERDEAD when the mediator thread has ended (stats' error).
 * Both fds are O_CLOEXEC; the caller closes them. */
int shmk_ring_mediated_new(struct shmk_ring_mediator *m, uint64_t tag, int *writer_fd,
			   int *peer_fd);
int shmk_ring_mediator_stats(const struct shmk_ring_mediator *m,
			     struct shmk_ring_mediator_stats *st);

/* Appends one record.  SHMK_ETOOLARGE (len > SHMK_RING_MAX_PAYLOAD),
 * SHMK_EFULL (no space; never blocks), SHMK_EINTEGRITY (head/tail
 * impossible: nothing written), SHMK_EBUSY (another writer held the lock
 * past SHMK_LIVENESS_MS). */
int shmk_ring_write(struct shmk_ring_writer *w, const void *buf, size_t len);
/* The same, gathering at most SHMK_RING_MAX_IOV segments (-EINVAL beyond). */
int shmk_ring_writev(struct shmk_ring_writer *w, const struct iovec *iov, int iovcnt);
/* Zero-copy: *payload gets len contiguous bytes in the ring; the writers'
 * lock is held until commit or discard.  Same errors as write; -EINVAL
 * when a reservation is already pending. */
int shmk_ring_reserve(struct shmk_ring_writer *w, size_t len, void **payload);
int shmk_ring_commit(struct shmk_ring_writer *w);
int shmk_ring_discard(struct shmk_ring_writer *w);

#ifdef __cplusplus
}
#endif
#endif
