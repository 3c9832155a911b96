/* SPDX-License-Identifier: MIT */
/* What this process holds: open descriptors and mappings (support.h). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int t_count_maps(const char *const *needles)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (const char *const *k = needles; *k; k++)
			if (strstr(line, *k)) {
				n++;
				break;
			}
	}
	fclose(f);
	return n;
}

pid_t t_fork_run(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}
