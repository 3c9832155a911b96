/* SPDX-License-Identifier: MIT */
/*
 * inspect.h - the parse/print core of `shmkit inspect`, `ls` and `gc`.
 *
 * Everything here works on a PRIVATE COPY of a file's bytes (never on a
 * live mapping), so a peer that rewrites or truncates the file while we
 * look cannot move a field between its check and its use, nor raise
 * SIGBUS.  No function here opens files, exits or touches the terminal
 * beyond the FILE * it is given; the fuzz target calls
 * shmk_cli_inspect_buf() directly.
 */
#ifndef SHMK_CLI_INSPECT_H
#define SHMK_CLI_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmkit/wire.h"

/* Bytes of a file the CLI copies at most (larger: header only). */
#define SHMK_CLI_MAX_COPY (64u << 20)
/* Bytes ls/gc read to recognise a file. */
#define SHMK_CLI_PROBE_BYTES 4096u
/* Longest flink content: '/' + name + '\n' (wire.h). */
#define SHMK_CLI_FLINK_MAX SHMK_SLOTS_FLINK_MAX

enum shmk_cli_kind {
	SHMK_CLI_UNKNOWN = 0,
	SHMK_CLI_EVENTS,
	SHMK_CLI_RING,
	SHMK_CLI_SLOTS,
	SHMK_CLI_FLINK,
};

/* What a file holds: the bytes copied from offset 0, and its real size. */
struct shmk_cli_image {
	const void *buf;	/* private copy; any alignment */
	size_t len;		/* bytes in buf */
	uint64_t file_size;	/* fstat size (len when the whole file was copied) */
	const char *path;	/* for the report; may be NULL */
	const char *flink;	/* the flink this segment was reached through, or NULL */
};

struct shmk_cli_opts {
	int json;		/* one JSON object instead of text */
	unsigned limit;		/* ring records / slot table rows shown; 0 = default 16 */
};

/* Result of the quick look ls and gc take. */
#define SHMK_CLI_MAX_USERS 130	/* events: 3 roles + 64 producers; ring: 1 + 64; slots: 1 + 32 */
struct shmk_cli_summary {
	enum shmk_cli_kind kind;
	int valid;		/* header passed validation */
	int rc;			/* validation result (0 or SHMK_E*) */
	uint64_t owner;		/* owner token (events creator, ring reader, slots owner); 0 none */
	int owner_closed;	/* slots: owner_state CLOSED */
	unsigned nusers;	/* other role tokens (may be partial on a header-only copy) */
	uint64_t users[SHMK_CLI_MAX_USERS];
	char flink_name[SHMK_CLI_FLINK_MAX];	/* FLINK: the segment's shm name */
};

/* Recognises the kind by magic (or flink content).  Never fails. */
enum shmk_cli_kind shmk_cli_kind_of(const void *buf, size_t len);
const char *shmk_cli_kind_name(enum shmk_cli_kind k);

/* FLINK content -> shm name ("/name") in name[SHMK_CLI_FLINK_MAX]; 0 or -1. */
int shmk_cli_flink_name(const void *buf, size_t len, char *name);

/* Validates and prints.  0: printed, object consistent.  1: an error; err
 * gets a one-line reason (without the path).  When the header is valid but
 * the body is not (impossible cursors, bad records) the report is printed
 * with its problems AND 1 is returned. */
int shmk_cli_inspect(const struct shmk_cli_image *img, const struct shmk_cli_opts *o, FILE *out,
		     char *err, size_t errlen);

/* Fuzz entry: the whole file is buf[0..len). 0 or 1 as above. */
int shmk_cli_inspect_buf(const void *buf, size_t len, FILE *out, int json);

/* Owner and role tokens, for ls and gc.  Never fails; s->valid says whether
 * the header validated. */
void shmk_cli_summarize(const struct shmk_cli_image *img, struct shmk_cli_summary *s);

/* JSON string escaping used by every printer. */
void shmk_cli_json_str(FILE *out, const char *s);

#endif
