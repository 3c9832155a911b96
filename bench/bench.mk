# bench/bench.mk - release-mode benchmark programs and `make bench`.
# Included by the top-level Makefile.  Benchmarks never run in `make check`.
#
#   make bench            full run (>= 5 repetitions, compared benches adjacent)
#   make bench QUICK=1    every bench once, briefly (smoke test, <= 3 min)
#   make bench-build      just the programs
#
# Programs (build/bench/):
#   peers                 every baseline except iceoryx (bench/peers/*.c)
#   iceoryx               the iceoryx C binding baseline (needs iox-roudi)
#   <module>              bench/<module>.c + the bench build of the library
#                         archive (build/bench/lib/libshmkit.a: release flags
#                         plus the futex counters)
#   cycle-<name>          tiny whole-process programs for hyperfine

BB := build/bench
# The bench build of the library: release flags plus SHMK_BENCH_COUNTERS
# (counted futex calls, impl/src/common.c), in its own object directory so
# the release and check builds stay as they are.
BENCH_CFLAGS := $(STD) $(WARN) $(INC) -Ibench -O2 -g -MMD -MP -pthread -DSHMK_BENCH_COUNTERS
BLIB := $(BB)/lib/obj
BENCH_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -O2 -g -MMD -MP -pthread
BENCH_LIBS := -lbenchmark -lpthread -lrt
IOX_INC := /usr/include/iceoryx/v2.0.3
IOX_LIBS := -liceoryx_binding_c -liceoryx_posh -liceoryx_hoofs -liceoryx_platform

# floors.o and ilv.o: the floor protocols and their interleaving, one copy
# for the peers program and every module program (bench/ilv.h).
BENCH_SHIM := $(BB)/obj/bench/gbshim.o $(BB)/obj/bench/common.o $(BB)/obj/bench/main.o \
	$(BB)/obj/bench/floors.o $(BB)/obj/bench/ilv.o
PEER_SRCS := $(filter-out bench/peers/iceoryx.c,$(sort $(wildcard bench/peers/*.c)))
PEER_OBJS := $(patsubst %.c,$(BB)/obj/%.o,$(PEER_SRCS))
# The bench build of the library archive: every impl/src file, like the
# release archive, with the counters compiled in.
BENCH_LIB := $(BB)/lib/libshmkit.a
$(BENCH_LIB): $(patsubst %.c,$(BLIB)/%.o,$(LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Module benches: bench/<m>.c for every library module that has a source.
BENCH_MODS := $(filter $(MODULES),$(basename $(notdir $(wildcard bench/*.c))))
# Whole-process programs: bench/cycle/<name>.c (raw = the syscall sequence).
CYCLE_NAMES := $(filter raw $(MODULES),$(basename $(notdir $(wildcard bench/cycle/*.c))))
CYCLE_BINS := $(patsubst %,$(BB)/cycle-%,$(CYCLE_NAMES))

BENCH_BINS := $(BB)/peers $(BB)/iceoryx $(patsubst %,$(BB)/%,$(BENCH_MODS)) $(CYCLE_BINS)

$(BLIB)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(REL_FLAGS) -DSHMK_BENCH_COUNTERS -c -o $@ $<

$(BB)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -c -o $@ $<

$(BB)/obj/%.o: %.cc | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CXXFLAGS) -c -o $@ $<

$(BB)/obj/bench/peers/iceoryx.o: bench/peers/iceoryx.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -I$(IOX_INC) -c -o $@ $<

$(BB)/peers: $(PEER_OBJS) $(BENCH_SHIM)
	$(CXX) -pthread -o $@ $^ $(BENCH_LIBS)

$(BB)/iceoryx: $(BB)/obj/bench/peers/iceoryx.o $(BENCH_SHIM)
	$(CXX) -pthread -o $@ $^ $(IOX_LIBS) $(BENCH_LIBS)

define bench_mod_prog
$(BB)/$(1): $(BB)/obj/bench/$(1).o $(BENCH_SHIM) $(BENCH_LIB)
	$$(CXX) -pthread -o $$@ $$^ $(BENCH_LIBS)
endef
$(foreach m,$(BENCH_MODS),$(eval $(call bench_mod_prog,$(m))))

$(BB)/cycle-raw: $(BB)/obj/bench/cycle/raw.o $(BB)/obj/bench/cycle/cycle.o
	$(CC) -o $@ $^ $(LDLIBS)

define cycle_prog
$(BB)/cycle-$(1): $(BB)/obj/bench/cycle/$(1).o $(BB)/obj/bench/cycle/cycle.o $(BENCH_LIB)
	$$(CC) -pthread -o $$@ $$^ $(LDLIBS)
endef
$(foreach m,$(filter-out raw,$(CYCLE_NAMES)),$(eval $(call cycle_prog,$(m))))

.PHONY: bench-build
bench-build: $(DEPS_STAMP)
	@bench/run.sh --build-only

# The run: builds what builds (a broken module is reported and skipped),
# starts iox-roudi, runs each program, hyperfine, merges, then `make report`.
bench: $(DEPS_STAMP)
	@QUICK=$(QUICK) bench/run.sh
	@$(MAKE) --no-print-directory report

# Two revisions on this machine, bench by bench, each pair run next to each
# other per repetition: make bench-ab A=<rev> B=<rev> [BENCH_FILTER=re].
.PHONY: bench-ab
bench-ab: $(DEPS_STAMP)
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make bench-ab A=<rev> B=<rev>"; exit 2; }
	@scripts/bench-ab.py --filter '$(or $(BENCH_FILTER),.)' $(A) $(B)

# The runner asks for the program list (one per line).
.PHONY: bench-list
bench-list:
	@printf '%s\n' $(BENCH_BINS)

# `make check` runs no benchmark: a smoke test of compare.sh and render.py
# on synthetic results, and the check of every bench's registration (from
# `prog --shmk_meta`, so check-build builds the bench programs).
CHECK_PROGS += bench/checks/compare-smoke.sh bench/checks/futexsp.sh bench/checks/registry.sh bench/checks/schedule.sh
CHECK_DEPS += $(BB)/peers $(BB)/iceoryx $(patsubst %,$(BB)/%,$(BENCH_MODS))
