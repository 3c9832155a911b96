# Fuzz targets: fuzz/<target>.c, each with fuzz/corpus/<target>/ (and
# optionally fuzz/dict/<target>.dict, fuzz/regress/<target>/).  Every target
# links the library archive of its build (inspect_* also the CLI core).
#
#   make check   replays corpus + regress with gcc + ASan/UBSan (build/fuzz-replay)
#   make fuzz    runs each target under libFuzzer (clang-14) for FUZZ_SECONDS

FUZZ_SUPPORT := replay peer common
FUZZ_TARGETS := $(filter-out $(FUZZ_SUPPORT),$(sort $(basename $(notdir $(wildcard fuzz/*.c)))))
FUZZ_SECONDS ?= 60

FRB := build/fuzz-replay
FZB := build/fuzz
FZ_SAN := -O1 -g -fno-omit-frame-pointer -DSHMK_TEST_BUILD -DSHMK_FUZZ_PEER
FRB_FLAGS := $(FZ_SAN) -fsanitize=address,undefined -fno-sanitize-recover=all
FZB_FLAGS := $(FZ_SAN) -DSHMK_LIBFUZZER -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
CLANG := clang-14

$(FRB)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -Iconformance/harness -Iconformance/support -Ifuzz -Iimpl/cli $(FRB_FLAGS) -c -o $@ $<

$(FZB)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_BASE) -Iconformance/support -Ifuzz -Iimpl/cli $(FZB_FLAGS) -c -o $@ $<

$(eval $(call lib_archive,$(FRB)/lib/libshmkit.a,$(patsubst %.c,$(FRB)/obj/%.o,$(LIB_SRCS))))
$(eval $(call lib_archive,$(FZB)/lib/libshmkit.a,$(patsubst %.c,$(FZB)/obj/%.o,$(LIB_SRCS))))
# CLI sources an inspect_* target links besides the library.
fz_cli = $(if $(filter inspect_%,$(1)),$(FUZZ_CLI_SRCS))

define fuzz_prog
$(FRB)/$(1): $(FRB)/obj/fuzz/$(1).o $(FRB)/obj/fuzz/replay.o $(FRB)/obj/fuzz/peer.o $(FRB)/obj/fuzz/common.o \
	     $(FRB)/obj/conformance/harness/harness.o $(call sup_lib,$(FRB)) \
	     $(patsubst %.c,$(FRB)/obj/%.o,$(call fz_cli,$(1))) $(FRB)/lib/libshmkit.a
	@mkdir -p $$(@D)
	$(CC) -fsanitize=address,undefined -pthread -o $$@ $$^ $(TEST_LDLIBS)
$(FZB)/$(1): $(FZB)/obj/fuzz/$(1).o $(FZB)/obj/fuzz/peer.o $(FZB)/obj/fuzz/common.o \
	     $(FZB)/obj/conformance/support/rand.o $(FZB)/obj/conformance/support/mem.o \
	     $(patsubst %.c,$(FZB)/obj/%.o,$(call fz_cli,$(1))) $(FZB)/lib/libshmkit.a
	@mkdir -p $$(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -pthread -o $$@ $$^ $(LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_prog,$(t))))
$(eval $(call sup_lib_rule,$(FRB)))

# The planted double fetch: only libFuzzer, only to prove the peer model.
$(FZB)/planted_double_fetch: $(FZB)/obj/fuzz/planted/double_fetch.o $(FZB)/obj/fuzz/peer.o
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^

CHECK_PROGS += $(patsubst %,$(FRB)/%,$(FUZZ_TARGETS)) conformance/checks/fuzz-planted.sh
CHECK_DEPS += $(patsubst %,$(FRB)/%,$(FUZZ_TARGETS)) $(FZB)/planted_double_fetch

.PHONY: fuzz fuzz-build
fuzz-build: $(patsubst %,$(FZB)/%,$(FUZZ_TARGETS)) $(FZB)/planted_double_fetch

fuzz: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)
