/* SPDX-License-Identifier: MIT */
/* slots.c - cycle-slots ITERS PROCS: create an 8 x 512 B slot segment (with
 * its flink), attach a reader through the flink and register it, close the
 * reader, close the owner (which unlinks segment and flink). */
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "shmkit/slots.h"

#include "cycle.h"

int one_cycle(const char *name)
{
	struct shmk_slots *o, *rd;
	unsigned idx;
	char flink[160];
	snprintf(flink, sizeof flink, "/dev/shm%s.flink", name);
	int rc = shmk_slots_create(flink, 8, 512, &o);
	if (rc)
		return rc;
	if ((rc = shmk_slots_attach(flink, &rd)) || (rc = shmk_slots_register_reader(rd, -1, &idx)))
		return rc;
	shmk_slots_close(rd);
	if (!cycle_noted()) {
		/* the flink holds the segment's shm name */
		char seg[128] = "/dev/shm";
		FILE *f = fopen(flink, "r");
		if (f && fgets(seg + 8, (int)sizeof seg - 8, f)) {
			seg[strcspn(seg, "\n")] = 0;
			cycle_note(seg);
		}
		if (f)
			fclose(f);
	}
	return shmk_slots_close(o);
}

int main(int argc, char **argv)
{
	return cycle_main(argv[0], "/shmk-bench-cyc-slots-%d-%d", argc, argv);
}
