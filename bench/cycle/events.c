/* SPDX-License-Identifier: MIT */
/* events.c - cycle-events ITERS PROCS: create + join + teardown of an
 * events region (shmk_events_open creates, a second open joins and
 * validates, split SPSC on the joiner, close both, unlink the file). */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "shmkit/events.h"

#include "cycle.h"

int one_cycle(const char *name)
{
	struct shmk_events *a, *b;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char path[160];
	int rc = shmk_events_open(name + 1, &a);
	if (rc)
		return rc;
	if ((rc = shmk_events_open(name + 1, &b)))
		return rc;
	if ((rc = shmk_events_split_spsc(b, &tx, &rx)))
		return rc;
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(b);
	shmk_events_close(a);
	snprintf(path, sizeof path, "/dev/shm%s", name);
	cycle_note(path);
	return unlink(path);
}

int main(int argc, char **argv)
{
	return cycle_main(argv[0], "/shmk-bench-cyc-ev-%d-%d", argc, argv);
}
