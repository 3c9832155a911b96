/* SPDX-License-Identifier: MIT */
/*
 * The harness proves itself (one program, conformance/tests/harness/<concern>.c):
 * known-bad bodies run under isolate() (through h_isolate_capture, which
 * stores what isolate() would replay) and each must come back as the right
 * failure (isolate.c); small h_main programs re-executed as roles must print
 * the right counts, exit status and evidence (run.c); roles, waits,
 * barriers and names (proc.c).  This header declares what the files share;
 * main.c defines it and holds the suite and role tables.
 */
#ifndef SHMK_TESTS_HARNESS_H
#define SHMK_TESTS_HARNESS_H

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Shared with isolate() children; allocated before any fork. */
struct shared {
	int after_fatal;	/* set if a body ran past its fatal assertion */
	int once_runs;		/* how often the suite's last test ran */
	int bodies_returned;
	pid_t grandchild;
	int arrived;
	int seen[3];
	int barrier_rc[3];
};
extern struct shared *sh;

int suite_init(void);
int suite_cleanup(void);
bool has(const char *s, const char *needle);
bool ends_with(const char *s, const char *tail);

/* The suites (isolate.c, run.c, proc.c). */
extern const struct h_test isolate_tests[], run_tests[], proc_tests[];
int run_init(void);
int run_cleanup(void);

/* The roles this program re-executes itself as. */
int role_mini(int argc, char **argv);
int role_allskip(int argc, char **argv);
int role_escape(int argc, char **argv);
int role_nonl(int argc, char **argv);
int role_exitcode(int argc, char **argv);
int role_selfkill(int argc, char **argv);
int role_hang(int argc, char **argv);
int role_seed(int argc, char **argv);
int role_tmpdir(int argc, char **argv);

#endif
