/* SPDX-License-Identifier: MIT */
/*
 * main() for the gcc + ASan/UBSan build of a fuzz target: feeds every file
 * of the given files/directories (default fuzz/corpus/<target> and
 * fuzz/regress/<target>) to LLVMFuzzerTestOneInput.  A crash or sanitizer
 * report kills the program (the runner reports it); when every input
 * passes it writes evidence for the target's clauses.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "harness.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	/* exactly n bytes, so ASan sees an over-read of the input */
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
	fclose(f);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

static long run_path(const char *path, int *missing)
{
	struct stat st;
	if (stat(path, &st)) {
		(*missing)++;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) == 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	char **names = NULL;
	size_t cnt = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (cnt + 1) * sizeof(*names));
		names[cnt++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, cnt, sizeof(*names), cmp);
	long ok = 0;
	for (size_t i = 0; i < cnt; i++) {
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if (run_file(full) == 0)
			ok++;
		free(names[i]);
	}
	free(names);
	return ok;
}

int main(int argc, char **argv)
{
	char self[256];
	snprintf(self, sizeof(self), "%s", argv[0]);
	const char *name = basename(self);
	char corpus[512], regress[512];
	snprintf(corpus, sizeof(corpus), "fuzz/corpus/%s", name);
	snprintf(regress, sizeof(regress), "fuzz/regress/%s", name);
	const char *defaults[] = { corpus, regress };
	int missing = 0;
	long ran = 0;

	if (argc > 1 && !strcmp(argv[1], "--write-seeds")) {
		static uint8_t seed[1 << 20];
		unsigned i = 0;
		size_t n;
		mkdir("fuzz/corpus", 0755);
		mkdir(corpus, 0755);
		for (; shmk_fuzz_seed && (n = shmk_fuzz_seed(i, seed, sizeof(seed))) > 0; i++) {
			char path[600];
			snprintf(path, sizeof(path), "%s/seed-%02u", corpus, i);
			FILE *f = fopen(path, "wb");
			if (!f || fwrite(seed, 1, n, f) != n)
				return 1;
			fclose(f);
		}
		printf("%s: wrote %u seeds to %s\n", name, i, corpus);
		return i ? 0 : 1;
	}
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			ran += run_path(argv[i], &missing);
	else
		for (int i = 0; i < 2; i++)
			ran += run_path(defaults[i], &missing);
	if (ran == 0) {
		/* A replay that replays nothing proves nothing. */
		printf("%s: no inputs found\n%s: 0 passed, 1 failed, 0 skipped\n", name, name);
		return 1;
	}
	for (const char *const *c = shmk_fuzz_clauses; *c; c++)
		h_evidence(name, "fuzz", "replay", *c, true);
	printf("%s: %ld inputs replayed\n%s: %ld passed, 0 failed, 0 skipped\n", name, ran, name,
	       ran);
	return 0;
}
