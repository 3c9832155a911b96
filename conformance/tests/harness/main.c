/* SPDX-License-Identifier: MIT */
/* harness tests: what the files share, the suite and role tables, main(). */
#include "harness_test.h"

struct shared *sh;

int suite_init(void)
{
	sh = t_shared_alloc(sizeof(*sh));
	return sh ? 0 : 1;
}

int suite_cleanup(void)
{
	t_shared_free(sh, sizeof(*sh));
	sh = NULL;
	return 0;
}

bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle) != NULL;
}

bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && strcmp(s + a - b, tail) == 0;
}

static const struct h_suite suites[] = {
	{ "isolate", suite_init, suite_cleanup, isolate_tests },
	{ "run", run_init, run_cleanup, run_tests },
	{ "proc", suite_init, suite_cleanup, proc_tests },
	{ NULL, NULL, NULL, NULL },
};
static const struct h_role roles[] = {
	{ "mini", role_mini },
	{ "allskip", role_allskip },
	{ "escape", role_escape },
	{ "exitcode", role_exitcode },
	{ "selfkill", role_selfkill },
	{ "hang", role_hang },
	{ "seed", role_seed },
	{ "nonl", role_nonl },
	{ "tmpdir", role_tmpdir },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	return h_main(argc, argv, "harness", suites, roles);
}
