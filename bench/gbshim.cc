// SPDX-License-Identifier: MIT
// gbshim.cc - the C view of Google Benchmark 1.7.1 declared in gbshim.h.
#include "gbshim.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace {

struct Entry {
	gbs_bench b;
	std::string name, module, pattern, placement, mode, metric, floor, baseline, note, ilv_floor;
	benchmark::internal::Benchmark *bm;
};

std::vector<Entry *> &entries()
{
	static std::vector<Entry *> v;
	return v;
}

std::string s(const char *p)
{
	return p ? p : "";
}

benchmark::State *S(gbs_state *st)
{
	return reinterpret_cast<benchmark::State *>(st);
}

const benchmark::State *S(const gbs_state *st)
{
	return reinterpret_cast<const benchmark::State *>(st);
}

std::string jstr(const std::string &v)
{
	std::string o = "\"";
	for (unsigned char c : v) {
		if (c == '"' || c == '\\') {
			o += '\\';
			o += (char)c;
		} else if (c < 0x20) {
			char buf[8];
			snprintf(buf, sizeof buf, "\\u%04x", c);
			o += buf;
		} else {
			o += (char)c;
		}
	}
	return o + "\"";
}

std::string jnull(const std::string &v)
{
	return v.empty() ? "null" : jstr(v);
}

int write_meta(const char *path)
{
	FILE *f = std::strcmp(path, "-") ? std::fopen(path, "w") : stdout;
	if (!f)
		return -1;
	std::fprintf(f, "[\n");
	bool first = true;
	for (Entry *e : entries()) {
		std::fprintf(f, "%s {\"name\": %s, \"module\": %s, \"pattern\": %s, \"param\": %ld, "
			     "\"bytes\": %ld, \"placement\": %s, \"mode\": %s, \"spinning_procs\": %d, "
			     "\"metric\": %s, \"floor\": %s, \"floor_div\": %g, \"baseline\": %s, "
			     "\"note\": %s, \"ilv_floor\": %s}\n",
			     first ? "" : ",", jstr(e->name).c_str(), jstr(e->module).c_str(),
			     jstr(e->pattern).c_str(), e->b.param, e->b.bytes, jstr(e->placement).c_str(),
			     jstr(e->mode).c_str(), e->b.spinning_procs, jstr(e->metric).c_str(),
			     jnull(e->floor).c_str(), e->b.floor_div > 0 ? e->b.floor_div : 1.0,
			     jnull(e->baseline).c_str(), jnull(e->note).c_str(),
			     jnull(e->ilv_floor).c_str());
		first = false;
	}
	std::fprintf(f, "]\n");
	if (f != stdout)
		return std::fclose(f) == 0 ? 0 : -1;
	return 0;
}

} // namespace

extern "C" {

int gbs_register(const struct gbs_bench *b)
{
	static std::set<std::string> names;
	if (!b || !b->name || !b->fn || !names.insert(b->name).second)
		return -1;
	Entry *e = new Entry();
	e->b = *b;
	e->name = b->name;
	e->module = s(b->module);
	e->pattern = s(b->pattern);
	e->placement = b->placement ? b->placement : "single";
	e->mode = s(b->mode);
	e->metric = b->metric ? b->metric : "real_time";
	e->floor = s(b->floor);
	e->baseline = s(b->baseline);
	e->note = s(b->note);
	e->ilv_floor = s(b->ilv_floor);
	entries().push_back(e);

	// Setup/teardown run around every invocation inside the lambda: 1.7.1's
	// Benchmark::Setup takes a bare function pointer with no user argument.
	auto *bm = benchmark::RegisterBenchmark(e->name.c_str(), [e](benchmark::State &st) {
		// Progress for bench/run.sh: one line when another bench starts
		// being invoked, i.e. (with random interleaving) per repetition.
		static const bool progress = std::getenv("SHMK_BENCH_PROGRESS") != nullptr;
		// Within a repetition the planned iterations only grow (gbench's
		// estimation); a repeat of the same bench starts again at or below.
		static const Entry *last = nullptr;
		static benchmark::IterationCount last_iters = 0;
		if (progress && (last != e || st.max_iterations <= last_iters)) {
			std::fprintf(stderr, "@@progress %s\n", e->name.c_str());
			std::fflush(stderr);
		}
		last = e;
		last_iters = st.max_iterations;
		if (e->b.setup)
			e->b.setup(e->b.arg);
		e->b.fn(reinterpret_cast<gbs_state *>(&st), e->b.arg);
		if (e->b.teardown)
			e->b.teardown(e->b.arg);
	});
	if (b->manual_time)
		bm->UseManualTime();
	if (b->iterations > 0)
		bm->Iterations(b->iterations);
	else if (b->min_time > 0)
		bm->MinTime(b->min_time);
	bm->Unit(benchmark::kNanosecond);
	e->bm = bm;
	return 0;
}

bool gbs_keep_running(gbs_state *st)
{
	return S(st)->KeepRunning();
}

bool gbs_keep_running_batch(gbs_state *st, int64_t n)
{
	return S(st)->KeepRunningBatch(n);
}

int64_t gbs_max_iterations(const gbs_state *st)
{
	return S(st)->max_iterations;
}

int64_t gbs_iterations(const gbs_state *st)
{
	return S(st)->iterations();
}

void gbs_set_iteration_time(gbs_state *st, double seconds)
{
	S(st)->SetIterationTime(seconds);
}

void gbs_pause_timing(gbs_state *st)
{
	S(st)->PauseTiming();
}

void gbs_resume_timing(gbs_state *st)
{
	S(st)->ResumeTiming();
}

void gbs_set_items_processed(gbs_state *st, int64_t items)
{
	S(st)->SetItemsProcessed(items);
}

void gbs_set_bytes_processed(gbs_state *st, int64_t bytes)
{
	S(st)->SetBytesProcessed(bytes);
}

void gbs_counter(gbs_state *st, const char *name, double value)
{
	S(st)->counters[name] = benchmark::Counter(value);
}

void gbs_counter_rate(gbs_state *st, const char *name, double value)
{
	S(st)->counters[name] = benchmark::Counter(value, benchmark::Counter::kIsRate);
}

void gbs_set_label(gbs_state *st, const char *label)
{
	S(st)->SetLabel(label);
}

void gbs_skip_with_error(gbs_state *st, const char *msg)
{
	S(st)->SkipWithError(msg);
}

bool gbs_error_occurred(const gbs_state *st)
{
	return S(st)->error_occurred();
}

void gbs_add_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value);
}

int gbs_main(int argc, char **argv)
{
	std::vector<char *> rest;
	const char *meta = nullptr;
	bool list = false;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && !std::strncmp(argv[i], "--shmk_meta=", 12))
			meta = argv[i] + 12;
		else if (i > 0 && !std::strcmp(argv[i], "--shmk_list"))
			list = true;
		else
			rest.push_back(argv[i]);
	}
	if (meta && write_meta(meta) != 0) {
		std::fprintf(stderr, "%s: cannot write %s\n", argv[0], meta);
		return 2;
	}
	if (list) {
		for (Entry *e : entries())
			std::printf("%s\n", e->name.c_str());
		return 0;
	}
	if (meta)
		return 0;
	// A share of min_time needs the command line's value (gbench's default
	// 0.5 s when none is given), known only now, after registration.
	double min_time = 0.5;
	for (char *a : rest)
		if (!std::strncmp(a, "--benchmark_min_time=", 21))
			min_time = std::atof(a + 21);
	for (Entry *e : entries())
		if (e->b.time_share > 0 && e->b.iterations <= 0 && e->b.min_time <= 0 && min_time > 0)
			e->bm->MinTime(e->b.time_share * min_time);
	int n = (int)rest.size();
	rest.push_back(nullptr);
	benchmark::Initialize(&n, rest.data());
	if (benchmark::ReportUnrecognizedArguments(n, rest.data()))
		return 2;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}

} // extern "C"
