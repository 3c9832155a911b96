/* SPDX-License-Identifier: MIT */
/*
 * peers/rawcycle.c - the raw syscall sequences that shm and mmap_region's
 * create + attach + teardown are judged against (in-process; the
 * whole-process form is bench/cycle/raw.c under hyperfine):
 *
 *   shm:  shm_open(O_CREAT|O_EXCL) ftruncate mmap | shm_open mmap |
 *         munmap munmap close close shm_unlink
 *   mmap: open(O_CREAT|O_EXCL) ftruncate mmap | open mmap |
 *         munmap munmap close close unlink       (file in /dev/shm)
 *
 * The creator writes the first word and the attacher reads it, so both
 * mappings are faulted in as a real user would.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common.h"
#include "peers.h"

#define RC_LEN 4096

static int raw_cycle(bool shm, const char *name)
{
	int fd = shm ? shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
		     : open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || ftruncate(fd, RC_LEN))
		return -1;
	volatile uint64_t *a = mmap(NULL, RC_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return -1;
	a[0] = 42;
	int fd2 = shm ? shm_open(name, O_RDWR | O_CLOEXEC, 0) : open(name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd2 < 0)
		return -1;
	volatile uint64_t *b = mmap(NULL, RC_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	if (b == MAP_FAILED || b[0] != 42)
		return -1;
	munmap((void *)b, RC_LEN);
	munmap((void *)a, RC_LEN);
	close(fd2);
	close(fd);
	return shm ? shm_unlink(name) : unlink(name);
}

static void bm_raw(gbs_state *st, void *arg)
{
	bool shm = arg != NULL;
	char name[96];
	snprintf(name, sizeof name, shm ? "/shmk-bench-raw-%d" : "/dev/shm/shmk-bench-raw-%d",
		 (int)getpid());
	while (gbs_keep_running(st))
		if (raw_cycle(shm, name)) {
			gbs_skip_with_error(st, "raw cycle failed");
			break;
		}
	gbs_set_items_processed(st, gbs_iterations(st));
}

__attribute__((constructor)) static void reg(void)
{
	gbs_register(&(struct gbs_bench){
		.name = PEER_RAW_SHM, .fn = bm_raw, .arg = (void *)1, .module = "peers",
		.pattern = "raw_shm_cycle", .param = RC_LEN, .placement = "single",
		.kind = "cpu", .metric = "real_time"});
	gbs_register(&(struct gbs_bench){
		.name = PEER_RAW_MMAP, .fn = bm_raw, .arg = NULL, .module = "peers",
		.pattern = "raw_mmap_cycle", .param = RC_LEN, .placement = "single",
		.kind = "cpu", .metric = "real_time"});
}
