/* SPDX-License-Identifier: MIT */
/*
 * Tests of conformance/spec/cli.md: they run the real sanitizer build of
 * the tool ($(VB)/bin/shmkit, found next to this program's directory)
 * against objects that live peer processes (roles) created, against
 * copies of those objects with truncated, random and field-by-field
 * corrupted bytes, and against a file another process rewrites while the
 * tool reads it.  JSON output is checked with jq.
  *
 * (One program, conformance/tests/cli/<concern>.c; this header declares
 * what the files share, main.c defines it.)
 */
#ifndef SHMK_TESTS_CLI_H
#define SHMK_TESTS_CLI_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "internal.h"
#include "shmkit/events.h"
#include "shmkit/ring.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

/* Test paths are short (h_tmpdir + a few bytes); a truncated one fails the
 * open that follows, so the warning adds nothing here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define OUT_MAX (256 * 1024)
#define ERR_MAX (16 * 1024)
#define RING_TAG 0x5157ull
#define SLOTS_FIRST_SN 0xfffffffeull

struct res {
	int status;
	char *out;
	size_t outlen;
	char *err;
	size_t errlen;
};

void res_free(struct res *r);
const char *bin(void);
int run_env(struct res *r, int drop, const char *env, const char *const *argv);
int run(struct res *r, const char *const *argv);
int sanitizer_quiet(const struct res *r);
int one_error_line(const struct res *r, const char *path);
int jq(const char *json, const char *filter, char *out, size_t n);
uint64_t jq_u64(const char *json, const char *filter);
int jq_is(const char *json, const char *filter, const char *want);
pid_t spawn_ready(const char *role, const char **args);
/* A ring-peer or slots-peer (role) started with its count n on dir/leaf,
 * the path written to path (len bytes).  Its pid once ready (<= 0: not). */
pid_t spawn_at(const char *role, const char *dir, const char *leaf, const char *n, char *path,
	       size_t len);
void kill_wait(pid_t pid);
uint8_t *slurp(const char *path, size_t *len);
int spew(const char *path, const void *b, size_t len);
const char *new_dir(char *buf, size_t n);
void put32(uint8_t *b, size_t off, uint32_t v);
void put16(uint8_t *b, size_t off, uint16_t v);

#endif
