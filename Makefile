# shmkit - non-recursive GNU Makefile.
#
#   make            release library (static + shared) and the shmkit tool
#   make check      installs missing Debian packages, builds with ASan+UBSan,
#                   runs every test program, the spec-coverage gate, and ends
#                   with `check: N passed, N failed, N skipped`
#   make bench      benchmarks -> reports/out/bench.json, then `make report`
#   make stress     long stress / crash runs -> reports/out/stress.json
#   make fuzz       libFuzzer targets for FUZZ_SECONDS -> reports/out/fuzz.json
#   make spec-coverage, coverage, report, install, clean
#
# Area fragments (included below, each owned by its area; a missing one is an
# error, never silently skipped) add programs:
#   bench/bench.mk  fuzz/fuzz.mk  conformance/stress/stress.mk
#   conformance/models/models.mk  impl/cli/cli.mk

SHELL := /bin/bash
.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

CC := gcc
CXX := g++
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0
OUT := reports/out

# V selects the instrumented variant that tests are built in.
V ?= check
VB := build/$(V)

STD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror
INC := -Iimpl/include -Iimpl/src
CFLAGS_BASE := $(STD) $(WARN) $(INC) -MMD -MP -pthread
LDLIBS := -lpthread -lrt

ifeq ($(V),check)
VFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all -DSHMK_TEST_BUILD
VLDFLAGS := -fsanitize=address,undefined
else ifeq ($(V),cov)
VFLAGS := -O0 -g --coverage -DSHMK_TEST_BUILD -DSHMK_GCOV_WRAP
VLDFLAGS := --coverage
# children's _exit() dumps their counters first (conformance/harness/gcov_exit.c)
H_LDFLAGS := -Wl,--wrap=_exit
else ifeq ($(V),tsan)
VFLAGS := -O1 -g -fsanitize=thread -DSHMK_TEST_BUILD
VLDFLAGS := -fsanitize=thread
else
$(error unknown variant V=$(V): check, cov or tsan)
endif

# -fno-semantic-interposition: -fPIC alone makes every call to an exported
# function inside the library go through its PLT slot and forbids inlining
# it (an LD_PRELOAD may replace it); shmkit promises no such interposition.
REL_FLAGS := -O2 -g -fPIC -fvisibility=default -fno-semantic-interposition

DEPS_STAMP := build/.deps-stamp
$(DEPS_STAMP): scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(@D) && touch $@

# ------------------------------------------------------------------ library
# Every impl/src/*.c is part of the library; every program links the
# library archive of its build (release: build/lib/libshmkit.a, a variant:
# $(VB)/lib/libshmkit.a), never objects picked by file name, so a new
# library file links everywhere and the linker takes what a program uses.
LIB_SRCS := $(sort $(wildcard impl/src/*.c))
HEADERS := $(sort $(wildcard impl/include/shmkit/*.h))
# The five modules, named by their public headers (not the shared ones):
# program names match them (bench/<module>.c, bench/cycle/<module>.c),
# linking never does.
MODULES := $(filter-out error util wire,$(basename $(notdir $(HEADERS))))

REL_OBJS := $(patsubst %.c,build/rel/obj/%.o,$(LIB_SRCS))
LIB_A := build/lib/libshmkit.a
LIB_SO := build/lib/libshmkit.so.0
SOVERSION := 0

build/rel/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(REL_FLAGS) -c -o $@ $<

$(VB)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -Iconformance/harness -Iconformance/support $(VFLAGS) -c -o $@ $<

# lib_archive(archive, objects): one rule shape for every build's archive.
define lib_archive
$(1): $(2)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(eval $(call lib_archive,$(LIB_A),$(REL_OBJS)))

$(LIB_SO): $(REL_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libshmkit.so.$(SOVERSION) -o $@ $^ $(LDLIBS)
	ln -sf libshmkit.so.$(SOVERSION) build/lib/libshmkit.so

lib: $(LIB_A) $(LIB_SO)

# The instrumented variant's library: tests, stress, fixtures and the
# variant's shmkit tool link it.
VLIB_OBJS := $(patsubst %.c,$(VB)/obj/%.o,$(LIB_SRCS))
VLIB_A := $(VB)/lib/libshmkit.a
$(eval $(call lib_archive,$(VLIB_A),$(VLIB_OBJS)))

# ------------------------------------------------------------------ harness
H_SRCS := $(sort $(wildcard conformance/harness/*.c))
# conformance/support/*.c: the t_ helpers, one archive per build directory
# (a program pulls in only the members it uses, so the events load never
# drags the events module into a shm test).  $(call sup_lib,DIR)
SUP_SRCS := $(sort $(wildcard conformance/support/*.c))
sup_lib = $(1)/lib/libshmktest.a
define sup_lib_rule
$(1)/lib/libshmktest.a: $(patsubst %.c,$(1)/obj/%.o,$(SUP_SRCS))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(eval $(call sup_lib_rule,$(VB)))
H_OBJS := $(patsubst %.c,$(VB)/obj/%.o,$(H_SRCS)) $(call sup_lib,$(VB))
TEST_LDLIBS := -lcunit $(LDLIBS)

# ------------------------------------------------------------------ tests
# conformance/tests/<name>.c, or conformance/tests/<name>/*.c split by
# concern -> $(VB)/tests/<name>, one program per module.
TESTS := $(sort $(basename $(notdir $(wildcard conformance/tests/*.c))) \
	 $(patsubst conformance/tests/%/,%,$(sort $(dir $(wildcard conformance/tests/*/*.c)))))
TEST_BINS := $(patsubst %,$(VB)/tests/%,$(TESTS))
test_objs = $(patsubst %.c,$(VB)/obj/%.o,$(or $(wildcard conformance/tests/$(1)/*.c),conformance/tests/$(1).c))

define test_prog
$(VB)/tests/$(1): $(call test_objs,$(1)) $(H_OBJS) $(VLIB_A)
	@mkdir -p $$(@D)
	$(CC) $(VLDFLAGS) $(H_LDFLAGS) -pthread -o $$@ $$^ $(TEST_LDLIBS)
endef

# Deliberately bad programs that the harness meta-test runs (never in CHECK_PROGS).
FIXTURES := $(sort $(basename $(notdir $(wildcard conformance/harness/fixtures/*.c))))
FIXTURE_BINS := $(patsubst %,$(VB)/fixtures/%,$(FIXTURES))
define fixture_prog
$(VB)/fixtures/$(1): $(VB)/obj/conformance/harness/fixtures/$(1).o $(H_OBJS) $(VLIB_A)
	@mkdir -p $$(@D)
	$(CC) $(VLDFLAGS) $(H_LDFLAGS) -pthread -o $$@ $$^ $(TEST_LDLIBS)
endef
$(foreach t,$(FIXTURES),$(eval $(call fixture_prog,$(t))))

# Programs `make check` runs, in order; fragments append stress, fuzz replay,
# CLI and model checks.  Scripts (.sh) run as they are.
CHECK_PROGS := $(TEST_BINS)
CHECK_DEPS := $(TEST_BINS) $(FIXTURE_BINS)

# ------------------------------------------------------------------ fragments
include conformance/stress/stress.mk
include conformance/checks/checks.mk
include conformance/models/models.mk
include impl/cli/cli.mk
include fuzz/fuzz.mk
include bench/bench.mk

$(foreach t,$(TESTS),$(eval $(call test_prog,$(t))))

# The gate runs last, after every program has written its evidence.
CHECK_PROGS += scripts/spec-coverage-gate.sh

# ------------------------------------------------------------------ targets
.PHONY: all lib check check-build check-run stress fuzz bench spec-coverage coverage \
	report install clean deps

all: lib $(ALL_EXTRA)

deps: $(DEPS_STAMP)

check-build: $(CHECK_DEPS)

check-run: check-build
	@scripts/run-tests.sh --variant $(V) --hygiene $(CHECK_PROGS)

# The build of `make check` (~280 objects and programs) takes one job per CPU
# unless the caller chose (-j or -j1 on the command line or in MAKEFLAGS):
# built serially it was a third of the CI budget. The tests still run one
# program at a time (check-run).
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS)) check-build
	@$(MAKE) --no-print-directory check-run

spec-coverage: | $(DEPS_STAMP)
	@scripts/spec-coverage.py

coverage: $(DEPS_STAMP)
	@rm -rf build/cov/obj && find build/cov -name '*.gcda' -delete 2>/dev/null; true
	@$(MAKE) --no-print-directory V=cov check-build
	-@$(MAKE) --no-print-directory V=cov check-run
	@scripts/coverage.sh build/cov

report: | $(DEPS_STAMP)
	@scripts/render.py

PC_FILE := build/lib/shmkit.pc
$(PC_FILE): Makefile
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'libdir=$${prefix}/lib' '' \
	  'Name: shmkit' 'Description: shared-memory IPC primitives' 'Version: $(VERSION)' \
	  'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lshmkit' 'Libs.private: -lpthread -lrt' > $@

install: lib $(PC_FILE) $(INSTALL_EXTRA)
	install -d $(DESTDIR)$(PREFIX)/include/shmkit $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/shmkit/
	install -m 0644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libshmkit.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libshmkit.so
	install -m 0644 $(PC_FILE) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	$(INSTALL_EXTRA_CMDS)

clean:
	rm -rf build $(OUT)

-include $(shell find build -name '*.d' 2>/dev/null)
