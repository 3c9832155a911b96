/* SPDX-License-Identifier: MIT */
/*
 * support.h - the helpers every test, stress, fuzz and bench program may
 * link (conformance/support/<name>.c, built once per variant into
 * libshmktest.a; liburing's test/helpers.c is the model).  One prefix, t_.
 * This header declares; the .c files define.
 *
 *   knobs      STRESS_SECONDS (time bound, default 3 s: the short run `make
 *              check` does), STRESS_MESSAGES (count bound; each program
 *              names its own default), any other u64 knob;
 *   PRNG       t_rand (xorshift64*, seeded from h_seed(): printed, SHMK_SEED
 *              replays) and t_mix (splitmix64, a stateless hash of a tag);
 *   checksum   t_crc32 (CRC-32, IEEE);
 *   payload    t_pat/t_npat (a byte pattern and its complement, by offset);
 *              checksummed messages [u32 producer][u32 len][u64 seq][u32 crc]
 *              [payload], crc = CRC-32 of the first 16 bytes and the
 *              payload, so a torn or partial message is caught;
 *   memory     anonymous MAP_SHARED memory created before fork; a whole
 *              file mapped writable (the hostile peer's view);
 *   files      exact heap copies of a file (ASan then checks "reads only
 *              [base, base+len)"), the truncating peer;
 *   the result record of a stress program: one JSON object written to
 *              $SHMK_STRESS_JSON when set (schema shmkit.stress/1), and the
 *              closing line `<prog>: 1 passed, 0 failed, 0 skipped`.  The
 *              seed is a decimal string: jq rounds integers above 2^53.
 * The crash and wake-up hunt skeletons are in crash.h, the events load in
 * events_load.h, the five primitives behind one face (the reliability
 * programs) in rel.h.
 */
#ifndef SHMK_SUPPORT_H
#define SHMK_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* ------------------------------------------------------------ knobs, time */
double t_now(void);			/* CLOCK_MONOTONIC seconds */
double t_seconds(void);			/* STRESS_SECONDS, default 3 */
uint64_t t_messages(uint64_t dflt);	/* STRESS_MESSAGES, else dflt */
uint64_t t_env_u64(const char *name, uint64_t dflt);

/* ------------------------------------------------------------ PRNG, checksum */
/* xorshift64*: small, seedable, good enough for payload bytes and choices */
uint64_t t_rand(uint64_t *s);
/* splitmix64's finaliser: a well-mixed function of x, no state */
uint64_t t_mix(uint64_t x);
uint32_t t_crc32(uint32_t crc, const void *p, size_t n);

/* ------------------------------------------------------------ payloads */
static inline uint8_t t_pat(size_t i)
{
	return (uint8_t)(i * 7 + 1);
}

static inline uint8_t t_npat(size_t i)
{
	return (uint8_t)(0xff ^ t_pat(i));
}

#define T_MSG_HDR 20
/* A message of producer `prod`, sequence `seq`, T_MSG_HDR..max bytes, its
 * length and bytes drawn from *rng.  Returns the length. */
size_t t_msg_fill(uint8_t *buf, size_t max, uint32_t prod, uint64_t seq, uint64_t *rng);
/* The same with the generator seeded from (seed, prod, seq): the message is
 * a pure function of them, so a reader can rebuild what was sent. */
size_t t_msg_make(uint8_t *buf, size_t max, uint32_t prod, uint64_t seq, uint64_t seed);
/* 0 (with prod and seq set), or -1: torn (length or checksum wrong). */
int t_msg_check(const uint8_t *buf, size_t n, uint32_t *prod, uint64_t *seq);

/* ------------------------------------------------------------ memory */
/* Anonymous MAP_SHARED memory (zeroed), created before fork, for what
 * children hand back; NULL on failure. */
void *t_shared_alloc(size_t len);
void t_shared_free(void *p, size_t len);
/* All of fd's file mapped read-write and shared; closes fd (which may be
 * negative: a failed open).  NULL on failure. */
void *t_raw_map(int fd, size_t *len);

/* ------------------------------------------------------------ this process */
/* Open descriptors of this process (the opendir's own included), -1 on error. */
int t_count_fds(void);
/* Lines of /proc/self/maps that mention any of needles (NULL-terminated). */
int t_count_maps(const char *const *needles);
/* Resident bytes (smaps Rss: what is in the page tables, touched or
 * populated) of this process's mapping that starts at p; -1 if none does. */
long t_rss_of(const void *p);
/* Forks a child that runs fn(arg) and exits with its return value; its pid
 * (or -1). */
pid_t t_fork_run(int (*fn)(void *), void *arg);
/* In a child forked from a process with a ring mediator (or any other
 * descriptors a peer must not hold): closes every descriptor above stdio
 * but `keep` (-1: none).  O_CLOEXEC does not act on fork, and a writer
 * holding the mediator's epoll fd, stop eventfd and the other writers'
 * socket ends and hang-up pipes would keep their peer fds up and see its
 * own socket from both ends. */
void t_only_fd(int keep);

/* ------------------------------------------------------------ files */
/* Something (a link included: lstat) is at path. */
bool t_exists(const char *path);

/* All of fd's bytes in a heap buffer of exactly their size; closes fd.
 * NULL on failure. */
uint8_t *t_copy_fd(int fd, size_t *len);
/* verdict(copy, l, arg) for every prefix length l < size of b, each copy a
 * heap buffer of exactly l bytes.  Returns how many verdicts were 0. */
unsigned t_each_prefix(const uint8_t *b, size_t size,
		       int (*verdict)(const uint8_t *copy, size_t l, void *arg), void *arg);

/*
 * The hostile peer of the truncation tests (events, ring, slots): a forked
 * child that waits until the survivor is parked in a futex wait, then cuts
 * the file under it.  "Parked" is read from /proc/<pid>/syscall, not
 * guessed with a sleep: the survivor's wait touches the mapping between
 * parks, and a cut landing there would SIGBUS it before the wait could
 * check the size (the documented hot-path limitation).  Parked in the
 * futex, the survivor touches nothing until its slice ends, and then
 * checks the size first.
 */
/* 1 once pid's main thread is blocked in futex(2), 0 at the deadline. */
int t_wait_in_futex(pid_t pid, unsigned deadline_s);
/* Fork a child that waits until the caller is parked in a futex wait,
 * truncates `file` to `cut` bytes, and exits 0 (1: never parked, 2:
 * truncate failed).  The caller then enters its wait and h_wait()s the
 * returned pid afterwards. */
pid_t t_fork_truncator(const char *file, off_t cut);
/* The peer cuts `file` to `cut` bytes now, in its own process, while the
 * caller touches nothing; 0 once it did. */
int t_peer_truncate(const char *file, off_t cut);

/* ------------------------------------------------------------ module helpers */
struct shmk_ring_writer;
/* One message through write (how 0), writev in `parts` pieces, each half
 * of what is left (how 1), or reserve + copy + commit (how 2); one try:
 * the call's result. */
int t_ring_put(struct shmk_ring_writer *w, int how, const void *buf, size_t n, int parts);

/* ------------------------------------------------------------ result record */
/* A program whose setup failed with rc: says so and writes a failed record
 * ("setup": rc).  Returns the exit status, 1. */
int t_setup_failed(const char *prog, uint64_t seed, int rc);
/* `counts_fmt` makes a JSON object body such as "\"sent\": 10, \"lost\": 0". */
void t_report(const char *prog, uint64_t seed, double seconds, bool passed,
	      const char *counts_fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
