# conformance/stress/stress.mk - multiprocess stress programs.
#
# Every conformance/stress/<module>_<what>.c is one standalone program (its
# own main(), harness.h helpers for h_seed/h_evidence, support.h (the t_
# helpers of conformance/support/, linked from libshmktest.a) for knobs,
# checksums and the result record).  It links the harness, the support
# library and the library archive, exactly like a test program, so adding a
# program needs no edit here.
#
#   make check    builds $(VB)/stress/<name> (sanitizer variant) and runs
#                 each with the short default STRESS_SECONDS (3 s)
#   make stress   builds an optimised, uninstrumented copy of each program
#                 under build/stress/ and runs it with STRESS_SECONDS
#                 (default 300; the events programs are count-bound and end sooner), writing
#                 reports/out/stress.json (schema shmkit.stress/1) and the
#                 logs to reports/out/stress-logs/ (scripts/run-stress.sh:
#                 one by one, then the three wake-up hunts side by side)
#
# Knobs: STRESS_SECONDS, STRESS_MESSAGES (per program/producer; each
# program has its own default), STRESS_PRODUCERS, SHMK_SEED (replay).

STRESS_SRCS := $(sort $(wildcard conformance/stress/*.c))
STRESS := $(basename $(notdir $(STRESS_SRCS)))
STRESS_BINS := $(patsubst %,$(VB)/stress/%,$(STRESS))

define stress_prog
$(VB)/stress/$(1): $(VB)/obj/conformance/stress/$(1).o $(H_OBJS) $(VLIB_A)
	@mkdir -p $$(@D)
	$(CC) $(VLDFLAGS) $(H_LDFLAGS) -pthread -o $$@ $$^ $(TEST_LDLIBS)
endef
$(foreach s,$(STRESS),$(eval $(call stress_prog,$(s))))

CHECK_PROGS += $(STRESS_BINS)
CHECK_DEPS += $(STRESS_BINS)

# ---------------------------------------------------------------- make stress
SB := build/stress
# -DSHMK_TEST_BUILD: crash points and delay points (the crash and wake-up
# programs aim at them) stay in; they cost one getenv per process.
STRESS_CFLAGS := $(CFLAGS_BASE) -Iconformance/harness -Iconformance/support -O2 -g -DSHMK_TEST_BUILD
STRESS_SECONDS ?= 300
STRESS_REL_BINS := $(patsubst %,$(SB)/bin/%,$(STRESS))

$(SB)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(STRESS_CFLAGS) -c -o $@ $<

$(eval $(call lib_archive,$(SB)/lib/libshmkit.a,$(patsubst %.c,$(SB)/obj/%.o,$(LIB_SRCS))))

define stress_rel_prog
$(SB)/bin/$(1): $(SB)/obj/conformance/stress/$(1).o $(patsubst %.c,$(SB)/obj/%.o,$(H_SRCS)) $(call sup_lib,$(SB)) $(SB)/lib/libshmkit.a
	@mkdir -p $$(@D)
	$(CC) -pthread -o $$@ $$^ $(TEST_LDLIBS)
endef
$(foreach s,$(STRESS),$(eval $(call stress_rel_prog,$(s))))
$(eval $(call sup_lib_rule,$(SB)))

# Deadlines (and the 2 x SHMK_LIVENESS_MS unblock bound) get a scheduling
# allowance of 2 on a shared 2-vCPU VM, as make check gets 3 for sanitizers;
# every program still prints the measured maximum.  The stall programs and
# ring_crash also add the scheduling delay the same run measured (t_probe,
# crash.h) once per wake-up on the blocked party's path.
STRESS_TIME_SCALE ?= 2

stress: $(STRESS_REL_BINS) build/bin/shmkit
	@STRESS_SECONDS=$(STRESS_SECONDS) SHMK_STRESS_JSON=$(CURDIR)/$(OUT)/stress.jsonl \
	  SHMK_TIME_SCALE=$${SHMK_TIME_SCALE:-$(STRESS_TIME_SCALE)} SHMKIT_BIN=$(CURDIR)/build/bin/shmkit \
	  SHMK_EVIDENCE=$(CURDIR)/$(OUT)/stress-evidence.jsonl \
	  scripts/run-stress.sh $(OUT) $(STRESS_REL_BINS)
