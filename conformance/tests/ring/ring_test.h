/* SPDX-License-Identifier: MIT */
/*
 * ring conformance tests (one program, conformance/tests/ring/<concern>.c by
 * concern): one test per clause of conformance/spec/ring.md, writers and
 * readers in separate processes (fork, or a re-exec'd role for crash
 * points), hostile peers simulated through a raw mapping of the file.
 * This header declares what the files share; main.c defines it.
 */
#ifndef SHMK_TESTS_RING_H
#define SHMK_TESTS_RING_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "support.h"
#include "harness.h"
#include "internal.h" /* shmk_fault_set */
#include "wait.h"      /* SHMK_WAIT_TAKEN */
#include "shmkit/ring.h"

#define CAP64K 65536u
#define PAGE ((size_t)sysconf(_SC_PAGESIZE))

/* Snapshot of the ring bytes and head for "nothing written" checks. */
struct snap {
	uint8_t *bytes;
	uint64_t head;
};

/* What most tests start from: a fresh ring at path (mk), with a local
 * writer w when tag != 0 (local_writer) and the whole file mapped writable
 * when raw (raw_map, len bytes).  rfx_close undoes it all. */
struct rfx {
	char path[256];
	struct shmk_ring *r;
	struct shmk_ring_writer *w;
	uint8_t *raw;
	size_t len;
	uint64_t tag;		/* rfx_first: the message found */
	const void *msg;
	size_t n;
};
struct rfx rfx_new(uint64_t cap, uint64_t init, uint64_t tag, bool raw);
void rfx_close_writer(struct rfx *f);
/* shmk_ring_first_message_in(r, start, end) into tag, msg, n. */
int rfx_first(struct rfx *f, uint64_t start, uint64_t end);
void rfx_close(struct rfx *f);

uint8_t pat(uint64_t tag, uint64_t i, size_t j);
void fill(uint8_t *p, size_t n, uint64_t tag, uint64_t i);
int check(const uint8_t *p, size_t n, uint64_t tag, uint64_t i);
struct shmk_ring *mk(char *path, size_t plen, uint64_t cap, uint64_t init);
uint8_t *raw_map(const char *path, size_t *len);
struct shmk_ring_hdr *raw_hdr(uint8_t *raw);
int new_writer_fd(struct shmk_ring *r, uint64_t tag, int *peer);
struct shmk_ring_writer *local_writer(struct shmk_ring *r, uint64_t tag);
int read_seq(struct shmk_ring *r, uint64_t tag, uint64_t count, size_t len0, size_t step,
		    size_t maxlen);
/* Forks a writer process: it opens wfd, runs fn(w, arg), closes the
 * writer and exits with fn's result (10: the open failed).  The parent's
 * copy of wfd is closed.  The child's pid. */
pid_t fork_writer_do(int wfd, int (*fn)(struct shmk_ring_writer *w, void *arg), void *arg);
pid_t fork_writer(int wfd, uint64_t tag, uint64_t count, size_t len0, size_t step,
			 size_t maxlen);
struct snap take(uint8_t *raw, size_t len);
int same_ring(const struct snap *s, const uint8_t *raw, size_t len);
int recv_fd(int sock);
/* A role's argv <sockfd> <op> <count> <len>: parses it into a and receives
 * the writer fd over sockfd (kept open in a->sock): the fd, or -2 (argv)
 * or -3 (no fd), the role's exit code negated. */
struct role_args {
	int sock;
	const char *op;
	uint64_t count;
	size_t len;
};
int role_args(int argc, char **argv, struct role_args *a);
int send_fd(int sock, int fd);
pid_t spawn_role_fd(const char *role, int wfd, const char *op, const char *count,
		    const char *len, int *ctl);
pid_t spawn_writer_role(struct shmk_ring *r, uint64_t tag, const char *op,
			       const char *count, const char *len, int *peer);

#endif
