/* SPDX-License-Identifier: MIT */
/* Knobs, the clock and the stress result record (support.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "shmkit/error.h"
#include "support.h"

double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double t_seconds(void)
{
	const char *s = getenv("STRESS_SECONDS");
	double v = s && *s ? strtod(s, NULL) : 3.0;

	return v > 0 ? v : 3.0;
}

uint64_t t_messages(uint64_t dflt)
{
	const char *s = getenv("STRESS_MESSAGES");
	unsigned long long v = s && *s ? strtoull(s, NULL, 0) : 0;

	return v ? (uint64_t)v : dflt;
}

uint64_t t_env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	unsigned long long v = s && *s ? strtoull(s, NULL, 0) : 0;

	return v ? (uint64_t)v : dflt;
}

void t_report(const char *prog, uint64_t seed, double seconds, bool passed,
			     const char *counts_fmt, ...)
{
	const char *path = getenv("SHMK_STRESS_JSON");
	char counts[1024];
	va_list ap;

	va_start(ap, counts_fmt);
	vsnprintf(counts, sizeof(counts), counts_fmt, ap);
	va_end(ap);
	if (path && *path) {
		FILE *f = fopen(path, "a");
		if (f) {
			fprintf(f,
				"{\"program\": \"%s\", \"seed\": \"%llu\", \"seconds\": %.3f, "
				"\"counts\": {%s}, \"result\": \"%s\"}\n",
				prog, (unsigned long long)seed, seconds, counts,
				passed ? "pass" : "fail");
			fclose(f);
		}
	}
	printf("%s: %d passed, %d failed, 0 skipped\n", prog, passed ? 1 : 0, passed ? 0 : 1);
	fflush(stdout);
}

int t_setup_failed(const char *prog, uint64_t seed, int rc)
{
	printf("%s: setup failed: %s\n", prog, shmk_strerror(rc));
	t_report(prog, seed, 0, false, "\"setup\": %d", rc);
	return 1;
}
