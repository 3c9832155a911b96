/* SPDX-License-Identifier: MIT */
/*
 * slots conformance tests (one program, conformance/tests/slots/<concern>.c by
 * concern) of conformance/spec/slots.md (impl/src/slots.c).
 *
 * Every cross-process promise runs owner and readers in separate processes
 * forked inside an isolate() body; those grandchildren report through their
 * exit status (h_wait) and through anonymous shared memory (struct shared),
 * which the isolate body checks with CUnit assertions.
 * This header declares what the files share; main.c defines it.
 */
#ifndef SHMK_TESTS_SLOTS_H
#define SHMK_TESTS_SLOTS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"
#include "harness.h"
#include "internal.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

#define NR 4

struct shared {
	_Atomic uint32_t ready;
	_Atomic uint32_t go;
	_Atomic uint32_t progress;	/* bumped by readers per sample */
	_Atomic uint64_t got[NR];	/* samples read per reader */
	_Atomic uint64_t bad[NR];	/* order/content errors per reader */
	_Atomic uint64_t first_sn[NR];
	_Atomic uint64_t last_sn[NR];
	_Atomic int64_t rc[NR];
	_Atomic uint32_t idx[NR];
	_Atomic uint64_t token[NR];
};

extern struct shared *sh;
void fresh_shared(void);
const char *new_flink(char *buf, size_t len);
int wait_zombie(pid_t pid);
int wait_value(_Atomic uint32_t *w, uint32_t want, unsigned deadline_s);
void bump(_Atomic uint32_t *w);
void fill(uint8_t *p, size_t len, uint64_t sn);
int check_fill(const uint8_t *p, size_t len, uint64_t sn);
int reserve_wait(struct shmk_slots *s, uint32_t mask, shmk_slot_handle_t *h,
		 unsigned deadline_s);
int publish(struct shmk_slots *s, uint64_t *next, size_t len);
void *raw_map(const char *name, size_t *len);
/* The owner's segment mapped writable (raw_map); a failure fails the test. */
void *seg_map(struct shmk_slots *o, size_t *len);
int write_file(const char *path, const void *data, size_t len, mode_t mode);

/* An owner o of count slots of cap bytes at the flink fl, and in this
 * process a reader r registered at index idx (asked for: slot, -1 any).
 * sfx_close closes both. */
struct sfx {
	char fl[256];
	struct shmk_slots *o, *r;
	unsigned idx;
};
struct sfx sfx_new(uint32_t count, size_t cap, int slot);
void sfx_close(struct sfx *f);

struct rd_arg {
	const char *flink;
	int slot;		/* index into sh arrays */
	uint64_t expect;	/* samples to take */
	int want_index;
	size_t len;		/* expected sample length */
	int hold;		/* read nothing: register, report ready, block */
	int copy;		/* read_slot instead of slot_read_ptr */
};

int reader_proc(void *argp);

#endif
