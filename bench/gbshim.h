/* SPDX-License-Identifier: MIT */
/*
 * gbshim.h - a small extern "C" view of Google Benchmark 1.7.1, so the
 * benches can be plain C11 like the library they measure.
 *
 * A bench is registered with a struct gbs_bench that carries, beside the
 * function, the facts the merge step (bench/merge.jq via bench.mk) needs and
 * that Google Benchmark's JSON has no place for: module, pattern, param,
 * the payload bytes, placement, wait mode, the primary metric, the floor
 * and the like-for-like baseline it is judged against.  `prog
 * --shmk_meta=FILE` writes them as JSON (bench/checks/registry.sh checks
 * them in `make check`); every other argument goes to benchmark::Initialize.
 * The targets are not here: bench/targets.json is their one table.
 *
 * Names follow <module>/<pattern>/<param>/<placement>; the param is a size
 * for most benches, a producer count or a load for others, so `bytes`
 * says what a name cannot.
 */
#ifndef SHMK_GBSHIM_H
#define SHMK_GBSHIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbs_state gbs_state; /* is a benchmark::State */
typedef void (*gbs_fn)(gbs_state *st, void *arg);
typedef void (*gbs_hook)(void *arg);

struct gbs_bench {
	const char *name;	/* copied */
	gbs_fn fn;
	void *arg;		/* passed as is */
	gbs_hook setup;		/* before every invocation of fn; may be NULL */
	gbs_hook teardown;	/* after every invocation of fn; may be NULL */
	bool manual_time;	/* fn calls gbs_set_iteration_time */
	double min_time;	/* seconds; 0 = command line default */
	int64_t iterations;	/* fixed count; 0 = let gbench choose */
	/* facts for the report */
	const char *module;	/* "peers", "events", ... */
	const char *pattern;	/* "pingpong_rtt", ... */
	long param;		/* the name's third field: size, producers, % load ... */
	long bytes;		/* payload bytes moved per message (each way) */
	const char *placement;	/* "same-cpu", "cross-cpu", "single" */
	const char *mode;	/* how a receiver waits: "spin", "spin-then-park",
				 * "park"; "none" when nothing waits */
	int spinning_procs;	/* processes that spin at once (oversubscription) */
	const char *metric;	/* primary figure: "p50_ns", "items_per_second", ... */
	/* The physical floor, measured in the same run: a result that moves
	 * the same bytes the same way (its own name for a floor).  Efficiency
	 * = floor / measured (latency) or measured / floor (throughput), the
	 * floor's figure of the same metric divided by floor_div first (0 = 1;
	 * 2 = one way from a round trip). */
	const char *floor;
	double floor_div;
	/* Like-for-like baseline: same bytes, placement and mode (NULL = none,
	 * then note must say why). */
	const char *baseline;
	const char *note;	/* free text, may be NULL */
	/* Interleaved floor (bench/ilv.h): the floor protocol this bench also
	 * runs, in short blocks alternating with its own, between the same two
	 * processes; its figures are the counters floor_* and the per-block
	 * ratio ilv_ratio.  NULL = none. */
	const char *ilv_floor;
	/* Share of the command line's min_time (0 = all of it): an interleaved
	 * bench spends as long again on its floor, so it asks for half. */
	double time_share;
};

/* Returns 0, or -1 when the name is a duplicate (the bench is dropped). */
int gbs_register(const struct gbs_bench *b);

bool gbs_keep_running(gbs_state *st);
bool gbs_keep_running_batch(gbs_state *st, int64_t n);
int64_t gbs_max_iterations(const gbs_state *st); /* planned for this invocation */
int64_t gbs_iterations(const gbs_state *st);	 /* done so far */
void gbs_set_iteration_time(gbs_state *st, double seconds);
void gbs_pause_timing(gbs_state *st);
void gbs_resume_timing(gbs_state *st);
void gbs_set_items_processed(gbs_state *st, int64_t items);
void gbs_set_bytes_processed(gbs_state *st, int64_t bytes);
/* Plain counter (reported as is). */
void gbs_counter(gbs_state *st, const char *name, double value);
/* Counter divided by the elapsed time (a rate). */
void gbs_counter_rate(gbs_state *st, const char *name, double value);
void gbs_set_label(gbs_state *st, const char *label);
/* Marks this run as failed; fn must return without further iterations. */
void gbs_skip_with_error(gbs_state *st, const char *msg);
bool gbs_error_occurred(const gbs_state *st);

void gbs_add_context(const char *key, const char *value);

/* Handles --shmk_meta=FILE and --shmk_list, then benchmark::Initialize,
 * RunSpecifiedBenchmarks and Shutdown.  Returns the process exit status. */
int gbs_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
