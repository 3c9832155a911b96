# conformance/checks/tsan.mk - ThreadSanitizer builds of the thread
# variants conformance/stress/*_tsan.c (issue 11, item 8), included from
# checks.mk.  TSan cannot see across processes, so these run the SPSC,
# MPSC, ring and slot workloads with threads of one process; TSan and ASan
# do not mix, so everything is built again under build/tsan/obj.
# `make check` runs conformance/checks/tsan.sh, which runs each binary with
# TSAN_OPTIONS=halt_on_error=1 exitcode=66 and fails on any report.
# (With V=tsan the stress template already builds these paths.)

TSAN_SRCS := $(sort $(wildcard conformance/stress/*_tsan.c))
TSAN_PROGS := $(basename $(notdir $(TSAN_SRCS)))
TSAN_BINS := $(patsubst %,build/tsan/stress/%,$(TSAN_PROGS))

ifneq ($(V),tsan)
TSAN_VFLAGS := -O1 -g -fsanitize=thread -DSHMK_TEST_BUILD

build/tsan/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -Iconformance/harness -Iconformance/support $(TSAN_VFLAGS) -c -o $@ $<

$(eval $(call lib_archive,build/tsan/lib/libshmkit.a,$(patsubst %.c,build/tsan/obj/%.o,$(LIB_SRCS))))

define tsan_prog
build/tsan/stress/$(1): build/tsan/obj/conformance/stress/$(1).o $(patsubst %.c,build/tsan/obj/%.o,$(H_SRCS)) $(call sup_lib,build/tsan) build/tsan/lib/libshmkit.a
	@mkdir -p $$(@D)
	$(CC) -fsanitize=thread -pthread -o $$@ $$^ $(TEST_LDLIBS)
endef
$(foreach s,$(TSAN_PROGS),$(eval $(call tsan_prog,$(s))))
$(eval $(call sup_lib_rule,build/tsan))
endif

.PHONY: tsan
tsan: $(TSAN_BINS)
	@conformance/checks/tsan.sh $(TSAN_BINS)

CHECK_PROGS += conformance/checks/tsan.sh
CHECK_DEPS += $(TSAN_BINS)
