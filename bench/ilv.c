/* SPDX-License-Identifier: MIT */
/* ilv.c - see ilv.h. */
#include "ilv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int ilv_init(struct ilv *v, gbs_state *st, uint64_t block, size_t samples, uint64_t ops)
{
	memset(v, 0, sizeof *v);
	v->block = block ? block : 1;
	/* one ratio per block pair, and some to spare */
	v->cap = ops / v->block + 64;
	int rc = samples ? bc_lat_init(&v->floor, samples) : 0;
	if (samples) {
		v->res = malloc(v->block * sizeof *v->res);
		v->flo = malloc(v->block * sizeof *v->flo);
	}
	v->ratios = malloc(v->cap * sizeof *v->ratios);
	v->floors = malloc(v->cap * sizeof *v->floors);
	if (rc || !v->ratios || !v->floors || (samples && (!v->res || !v->flo))) {
		gbs_skip_with_error(st, "out of memory for interleaved samples");
		ilv_free(v);
		return -ENOMEM;
	}
	return 0;
}

void ilv_free(struct ilv *v)
{
	bc_lat_free(&v->floor);
	free(v->res);
	free(v->flo);
	free(v->ratios);
	free(v->floors);
	memset(v, 0, sizeof *v);
}

struct pp_sh *ilv_rtt_open(struct ilv *v, gbs_state *st, size_t size)
{
	int64_t iters = gbs_max_iterations(st);
	struct pp_sh *pp = pp_area(size);
	if (!pp) {
		memset(v, 0, sizeof *v);
		gbs_skip_with_error(st, "mmap");
		return NULL;
	}
	if (ilv_init(v, st, ilv_block(ILV_RTT_BLOCK, iters), (size_t)iters, (uint64_t)iters)) {
		bc_unshared(pp, pp->len);
		return NULL;
	}
	return pp;
}

void ilv_rtt_close(struct ilv *v, struct pp_sh *pp)
{
	if (pp)
		bc_unshared(pp, pp->len);
	ilv_free(v);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_u64(uint64_t *s, size_t n)
{
	qsort(s, n, sizeof *s, cmp_u64);
	return n % 2 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2;
}

/* Each closed pair, own figure and floor figure, appended to the file
 * SHMK_BENCH_ILV_TRACE names (a diagnostic: how the ratio moves with the
 * placement, bench/README.md). */
static void add_pair(struct ilv *v, double own, double floor)
{
	static FILE *trace;
	static bool looked;
	if (!looked) {
		const char *path = getenv("SHMK_BENCH_ILV_TRACE");
		looked = true;
		trace = path && *path ? fopen(path, "a") : NULL;
	}
	if (trace)
		fprintf(trace, "%.1f %.1f\n", own, floor);
	if (v->nratios < v->cap) {
		v->floors[v->nratios] = floor;
		v->ratios[v->nratios++] = own / floor;
	}
}

bool ilv_pp_block(struct ilv *v, struct bc_run *r, struct pp_sh *pp, uint64_t *seq,
		  bool timed, uint64_t *sink)
{
	for (uint64_t i = 0; i < v->block; i++, *seq += 2) {
		uint64_t t0 = bc_now();
		bool ok = pp_rtt(r, pp, *seq, sink);
		uint64_t t1 = bc_now();
		if (!ok) {
			if (!r->failed) {
				gbs_skip_with_error(r->st, "interleaved pingpong: bad reply");
				r->failed = true;
			}
			return false;
		}
		if (timed)
			ilv_floor_add(v, t1 - t0);
	}
	ilv_pair_end(v);
	return true;
}

void ilv_pair_end(struct ilv *v)
{
	/* a pair is closed only when both blocks were timed whole: the first
	 * timed block after the warm-up may be partial */
	if (v->nres == v->block && v->nflo == v->block)
		add_pair(v, median_u64(v->res, v->nres), median_u64(v->flo, v->nflo));
	v->nres = v->nflo = 0;
}

int ilv_pp_serve(struct pp_sh *pp, uint64_t *want, uint64_t block, struct bc_ctl *stop,
		 uint64_t *sink)
{
	for (uint64_t i = 0; i < block; i++, *want += 2) {
		int rc = pp_serve(pp, *want, stop, sink);
		if (rc)
			return rc;
	}
	return 0;
}

static double pct(const double *s, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return s[i < n ? i : n - 1];
}

/* The median ratio of the quarter of the pairs whose floor was fastest
 * (lowest latency, or highest rate), and that quarter's median floor. */
static void report_fast(gbs_state *st, struct ilv *v, bool lower_faster, const char *floor_name)
{
	size_t n = v->nratios, q = (n + 3) / 4;
	double *f = malloc(n * sizeof *f), *r = malloc(q * sizeof *r), *fq = malloc(q * sizeof *fq);
	if (f && r && fq) {
		memcpy(f, v->floors, n * sizeof *f);
		qsort(f, n, sizeof *f, cmp_dbl);
		double cut = lower_faster ? f[q - 1] : f[n - q];
		size_t k = 0;
		for (size_t i = 0; i < n && k < q; i++)
			if (lower_faster ? v->floors[i] <= cut : v->floors[i] >= cut) {
				fq[k] = v->floors[i];
				r[k++] = v->ratios[i];
			}
		qsort(r, k, sizeof *r, cmp_dbl);
		qsort(fq, k, sizeof *fq, cmp_dbl);
		gbs_counter(st, "ilv_ratio_fast", pct(r, k, 0.5));
		gbs_counter(st, floor_name, pct(fq, k, 0.5));
	}
	free(f);
	free(r);
	free(fq);
}

static void report_ratios(gbs_state *st, struct ilv *v, bool lower_faster, const char *floor_name)
{
	if (!v->nratios)
		return;
	report_fast(st, v, lower_faster, floor_name);
	qsort(v->ratios, v->nratios, sizeof *v->ratios, cmp_dbl);
	gbs_counter(st, "ilv_ratio", pct(v->ratios, v->nratios, 0.5));
	gbs_counter(st, "ilv_ratio_p10", pct(v->ratios, v->nratios, 0.1));
	gbs_counter(st, "ilv_ratio_p90", pct(v->ratios, v->nratios, 0.9));
	gbs_counter(st, "ilv_blocks", (double)v->nratios);
}

void ilv_report_rtt(gbs_state *st, struct ilv *v)
{
	if (gbs_error_occurred(st) || !v->floor.n)
		return;
	bc_lat_report_as(st, &v->floor, 1, "floor_");
	report_ratios(st, v, true, "floor_fast_p50_ns");
}

bool ilv_lamport_take(void *ctx, uint64_t first, uint64_t n)
{
	struct ilv_lamport *l = ctx;
	return !lr_consume(&l->c, l->buf, first, n, l->sink, l->r);
}

int ilv_lamport_put(void *ctx, uint64_t first, uint64_t n)
{
	struct ilv_lamport *l = ctx;
	return lr_produce(&l->p, l->buf, first, n, l->stop);
}

uint64_t ilv_stream(gbs_state *st, struct ilv *v, struct ilv_ctl *k, struct ilv_side own,
		    struct ilv_side floor, struct bc_run *r)
{
	int64_t n = gbs_max_iterations(st);
	uint64_t taken = 0, floors = 0, j = 1, own_ns = 0;
	for (int64_t left = n, warm = 1; (left > 0 || warm) && !r->failed; warm = 0) {
		uint64_t b = warm || left >= (int64_t)v->block ? v->block : (uint64_t)left;
		/* both clocks include handing the block out: the same for both */
		uint64_t t0 = bc_now();
		ilv_go(k, j++, b);
		if (!own.take(own.ctx, taken, b))
			break;
		taken += b;
		uint64_t t1 = bc_now();
		ilv_go(k, j++, b);
		if (!floor.take(floor.ctx, floors, b))
			break;
		uint64_t t2 = bc_now();
		floors += b;
		if (warm)
			continue;
		own_ns += t1 - t0;
		left -= (int64_t)b;
		v->floor_items += (double)b;
		v->floor_ns += (double)(t2 - t1);
		add_pair(v, (double)b / (double)(t1 - t0) * 1e9, (double)b / (double)(t2 - t1) * 1e9);
	}
	while (gbs_keep_running_batch(st, n))
		gbs_set_iteration_time(st, (double)own_ns * 1e-9);
	gbs_set_items_processed(st, n);
	return taken;
}

int ilv_produce(struct ilv_ctl *k, struct bc_ctl *stop, struct ilv_side own, struct ilv_side floor)
{
	uint64_t sent[2] = {0, 0}; /* own, floor */
	for (uint64_t j = 1;; j++) {
		uint64_t n = ilv_wait(k, j, stop);
		if (!n)
			return 0;
		struct ilv_side *side = j % 2 ? &own : &floor;
		int rc = side->put(side->ctx, sent[j % 2 == 0], n);
		if (rc)
			return rc < 0;
		sent[j % 2 == 0] += n;
	}
}

void ilv_report_tput(gbs_state *st, struct ilv *v)
{
	if (gbs_error_occurred(st) || v->floor_ns <= 0)
		return;
	gbs_counter(st, "floor_items_per_second", v->floor_items / v->floor_ns * 1e9);
	report_ratios(st, v, false, "floor_fast_items_per_second");
}
