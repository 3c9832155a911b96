/* SPDX-License-Identifier: MIT */
/*
 * trunc_peer.h - the hostile peer of the truncation tests (events, ring,
 * slots): a forked child that waits until the survivor is parked in a
 * futex wait, then cuts the file under it.
 *
 * "Parked" is read from /proc/<pid>/syscall (the syscall number the task
 * is blocked in), not guessed with a sleep: the survivor's wait touches the
 * mapping between parks, and a cut landing there would SIGBUS it before the
 * wait could check the size, which no API can prevent (the documented
 * hot-path limitation).  Parked in the futex, the survivor touches nothing
 * until its slice ends, and then checks the size first.
 */
#ifndef SHMK_TEST_TRUNC_PEER_H
#define SHMK_TEST_TRUNC_PEER_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* 1 once pid's main thread is blocked in futex(2), 0 at the deadline. */
static inline int tp_wait_in_futex(pid_t pid, unsigned deadline_s)
{
	char path[64], line[64];
	struct timespec t0, t;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		FILE *f = fopen(path, "r");
		long nr = -1;
		if (f) {
			if (fgets(line, sizeof(line), f))
				nr = strtol(line, NULL, 10); /* "running" parses as 0 */
			fclose(f);
		}
		if (nr == SYS_futex)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > (time_t)h_deadline(deadline_s))
			return 0;
		sched_yield();
	}
}

/* The peer: fork a child that waits until the caller is parked in a futex
 * wait, truncates `file` to `cut` bytes, and exits 0 (1: never parked,
 * 2: truncate failed).  The caller then enters its wait and h_wait()s the
 * returned pid afterwards. */
static inline pid_t tp_fork_truncator(const char *file, off_t cut)
{
	pid_t survivor = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		if (!tp_wait_in_futex(survivor, 30))
			_exit(1);
		_exit(truncate(file, cut) ? 2 : 0);
	}
	return pid;
}

/* The peer cuts `file` to `cut` bytes now, in its own process, while the
 * caller touches nothing; 0 once it did. */
static inline int tp_peer_truncate(const char *file, off_t cut)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(truncate(file, cut) ? 2 : 0);
	return pid < 0 ? -1 : h_wait(pid, 30);
}

#endif
