/* SPDX-License-Identifier: MIT */
/* Exact copies of files and the truncating peer (support.h). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"

bool t_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

uint8_t *t_copy_fd(int fd, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0) {
		size_t n = (size_t)st.st_size;
		b = malloc(n ? n : 1);
		if (b && pread(fd, b, n, 0) != (ssize_t)n) {
			free(b);
			b = NULL;
		}
		*len = n;
	}
	close(fd);
	return b;
}

unsigned t_each_prefix(const uint8_t *b, size_t size,
		       int (*verdict)(const uint8_t *copy, size_t l, void *arg), void *arg)
{
	unsigned bad = 0;

	for (size_t l = 0; l < size; l++) {
		uint8_t *t = malloc(l ? l : 1);
		if (!t)
			return bad + (unsigned)(size - l);
		memcpy(t, b, l);
		bad += !verdict(t, l, arg);
		free(t);
	}
	return bad;
}

int t_wait_in_futex(pid_t pid, unsigned deadline_s)
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

pid_t t_fork_truncator(const char *file, off_t cut)
{
	pid_t survivor = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		if (!t_wait_in_futex(survivor, 30))
			_exit(1);
		_exit(truncate(file, cut) ? 2 : 0);
	}
	return pid;
}

int t_peer_truncate(const char *file, off_t cut)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(truncate(file, cut) ? 2 : 0);
	return pid < 0 ? -1 : h_wait(pid, 30);
}
