/* SPDX-License-Identifier: MIT */
/*
 * events conformance tests (one program, conformance/tests/events/<concern>.c by
 * concern) of conformance/spec/events.md (impl/src/events.c): the events
 * region's layout, open/init protocol, validation, roles, SPSC and MPSC
 * traffic between real processes, zero-copy, blocking, crash recovery and
 * hostile bytes.
 * This header declares what the files share; main.c defines it.
 */
#ifndef SHMK_TESTS_EVENTS_H
#define SHMK_TESTS_EVENTS_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "shmkit/events.h"
#include "support.h"
#include "wait.h"

#define LAYOUT(r) ((struct shmk_events_layout *)shmk_events_as_ptr((r), NULL))
char *new_path(void);
struct shmk_events *must_open(const char *path, const struct shmk_events_opts *o);
size_t make_msg(uint8_t *buf, uint32_t prod, uint32_t seq);
int check_msg(const uint8_t *buf, size_t len, uint32_t *prod, uint32_t *seq);

/* A region and one of its queues (SPSC, or MPSC when mpsc) with its two
 * ends: what most tests and their peers work on. */
struct evq {
	const char *path;
	struct shmk_events *r;
	struct shmk_events_layout *l;
	int mpsc;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
};
/* Opens path (creating it) and splits the queue: 0 or the failing call's
 * code, asserting nothing (for peers in children). */
int evq_attach(struct evq *q, const char *path, int mpsc);
/* The same on a fresh path (new_path); a failure fails the test. */
void evq_open(struct evq *q, int mpsc);
/* Closes the ends that are set and the region; removes the file when
 * remove is true. */
void evq_close(struct evq *q, bool remove);
/* The wake section of a blocking region (after the base layout). */
struct shmk_events_wake *ev_wake_of(struct shmk_events *r);
/* A fresh blocking region at path (*r) and the receiving end of its SPSC
 * queue, the sending end closed (the sender is another process). */
struct shmk_events_rx *ev_blocking_rx(const char *path, struct shmk_events **r);
/* Writes garbage into every wake word of path's wake section through the
 * file (waiters = TAKEN | 3, a moved gen). */
void ev_plant_wake(const char *path);
/* Opens path blocking and checks its wake section reads zero and a
 * blocking receive and send work. */
void ev_check_wake_cleared(const char *path);

struct open_job {
	const char *path;
	struct shmk_events_opts o;
	int rc;		/* filled through a shared page */
};

int open_job_fn(void *a);
int open_in_child(const char *path, const struct shmk_events_opts *o);
struct shmk_events_header *map_hdr(const char *path, int *fd);
void unmap_hdr(struct shmk_events_header *h, int fd);
int mapped(const char *path);
pid_t spawn_with_env(const char *role, const char *const *args, const char *var,
		     const char *val);

#endif
