/* SPDX-License-Identifier: MIT */
/*
 * exact_copy.h - heap copies of exactly the bytes a validator is given, for
 * the ring and slots validator tests.  Under ASan a read past them is a
 * reported heap-buffer-overflow, so "reads only [base, base+len)" is
 * checked, not assumed.
 */
#ifndef SHMK_TESTS_EXACT_COPY_H
#define SHMK_TESTS_EXACT_COPY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* All of fd's bytes in a heap buffer of exactly their size; closes fd. */
static inline uint8_t *ec_copy_fd(int fd, size_t *len)
{
	struct stat st;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(fstat(fd, &st) == 0);
	size_t n = (size_t)st.st_size;
	uint8_t *b = malloc(n ? n : 1);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(pread(fd, b, n, 0) == (ssize_t)n);
	close(fd);
	*len = n;
	return b;
}

/* verdict(copy, l, arg) for every prefix length l < size of b, each copy a
 * heap buffer of exactly l bytes.  Returns how many verdicts were 0. */
static inline unsigned ec_each_prefix(const uint8_t *b, size_t size,
				      int (*verdict)(const uint8_t *copy, size_t l, void *arg),
				      void *arg)
{
	unsigned bad = 0;

	for (size_t l = 0; l < size; l++) {
		uint8_t *t = malloc(l ? l : 1);
		CU_ASSERT_FATAL(t != NULL);
		memcpy(t, b, l);
		bad += !verdict(t, l, arg);
		free(t);
	}
	return bad;
}

#endif
