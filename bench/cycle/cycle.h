/* SPDX-License-Identifier: MIT */
/*
 * cycle.h - the skeleton of the whole-process programs hyperfine runs
 * (bench/run.sh): `cycle-<x> [args] ITERS PROCS` starts PROCS processes
 * (itself and PROCS-1 forks), each doing ITERS create + attach + teardown
 * cycles of a 4 KiB region under its own name; exit 0 when all succeeded.
 * The program is plain C with no Google Benchmark, so its start-up cost is
 * the same for shmkit and for the raw syscall sequence.
 */
#ifndef SHMK_BENCH_CYCLE_H
#define SHMK_BENCH_CYCLE_H

#define CYCLE_LEN 4096

/* Implemented by each program: one full cycle on `name`; 0 or < 0. */
int one_cycle(const char *name);

/* Programs whose region is not CYCLE_LEN bytes note their backing file
 * (its size is what `--bytes` prints) before teardown. */
void cycle_note(const char *path);
/* 1 once a size was noted: later cycles need not look again. */
int cycle_noted(void);

/* The program: `--bytes`, or ITERS cycles in each of PROCS processes;
 * fmt makes a per-process name from (pid, process index). */
int cycle_main(const char *prog, const char *fmt, int argc, char **argv);

#endif
