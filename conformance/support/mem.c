/* SPDX-License-Identifier: MIT */
/* Shared memory and raw mappings (support.h). */
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

void *t_shared_alloc(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		       0);
	return p == MAP_FAILED ? NULL : p;
}

void t_shared_free(void *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}

void *t_raw_map(int fd, size_t *len)
{
	struct stat st;
	void *p = MAP_FAILED;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	return p;
}
