/* SPDX-License-Identifier: MIT */
/* cycle.c - the skeleton of the whole-process cycle programs (cycle.h),
 * compiled once and linked into each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cycle.h"

/* Size of the region a cycle creates: programs whose size is not
 * CYCLE_LEN note their backing file's size (cycle_note) before teardown. */
static long cycle_bytes;

void cycle_note(const char *path)
{
	struct stat sb;
	if (!cycle_bytes && stat(path, &sb) == 0)
		cycle_bytes = (long)sb.st_size;
}

int cycle_noted(void)
{
	return cycle_bytes != 0;
}

int cycle_main(const char *prog, const char *fmt, int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--bytes")) {
		char name[128];
		snprintf(name, sizeof name, fmt, (int)getpid(), 0);
		if (one_cycle(name))
			return 1;
		printf("%ld\n", cycle_bytes ? cycle_bytes : (long)CYCLE_LEN);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s ITERS PROCS\n", prog);
		return 2;
	}
	long iters = atol(argv[1]), procs = atol(argv[2]);
	if (iters < 1 || procs < 1 || procs > 64) {
		fprintf(stderr, "%s: bad ITERS or PROCS\n", prog);
		return 2;
	}
	int id = 0;
	for (long p = 1; p < procs; p++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			id = (int)p;
			break;
		}
	}
	char name[128];
	snprintf(name, sizeof name, fmt, (int)getpid(), id);
	int rc = 0;
	for (long i = 0; i < iters && !rc; i++)
		rc = one_cycle(name);
	if (rc)
		fprintf(stderr, "%s: cycle failed: %d\n", prog, rc);
	if (id)
		_exit(rc ? 1 : 0);
	int st;
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	return rc ? 1 : 0;
}

