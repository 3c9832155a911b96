# impl/cli/cli.mk - the `shmkit` command (inspect, ls, gc).
#
#   build/bin/shmkit         release binary (REL_FLAGS, links build/lib/libshmkit.a)
#   build/bin/shmkit-shared  the same sources linked against build/lib/libshmkit.so
#                            (found through its rpath $ORIGIN/../lib)
#   $(VB)/bin/shmkit         sanitizer build the tests run (links $(VLIB_A))
#
# The tool uses public headers only (shmkit/*.h; no -Iimpl/src), so it links
# against either library; a call of an internal function would not link
# against the shared one, whose internal symbols are hidden.  make check runs
# the cli tests against $(VB)/bin/shmkit and, through impl/cli/shared-check.sh,
# the inspect and ls tests against shmkit-shared.
#
# impl/cli/inspect.c is the parse/print core (no main): the fuzz target
# links it through FUZZ_CLI_SRCS.

CLI_SRCS := $(sort $(wildcard impl/cli/*.c))
FUZZ_CLI_SRCS := impl/cli/inspect.c
CLI_DEFS := -DSHMK_VERSION='"$(VERSION)"' -Iimpl/cli

CLI_REL_OBJS := $(patsubst %.c,build/rel/obj/%.o,$(CLI_SRCS))
CLI_V_OBJS := $(patsubst %.c,$(VB)/obj/%.o,$(CLI_SRCS))

$(CLI_REL_OBJS) $(CLI_V_OBJS): CFLAGS_BASE := $(STD) $(WARN) -Iimpl/include -MMD -MP -pthread \
	$(CLI_DEFS)

build/bin/shmkit: $(CLI_REL_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $(CLI_REL_OBJS) $(LIB_A) $(LDLIBS)

build/bin/shmkit-shared: $(CLI_REL_OBJS) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -o $@ $(CLI_REL_OBJS) -Lbuild/lib -lshmkit -Wl,-rpath,'$$ORIGIN/../lib' $(LDLIBS)

$(VB)/bin/shmkit: $(CLI_V_OBJS) $(VLIB_A)
	@mkdir -p $(@D)
	$(CC) $(VLDFLAGS) -pthread -o $@ $^ $(LDLIBS)

# conformance/tests/cli.c runs the sanitizer binary; it is built with the
# other test programs.
$(VB)/tests/cli: | $(VB)/bin/shmkit

ALL_EXTRA += build/bin/shmkit build/bin/shmkit-shared
INSTALL_EXTRA += build/bin/shmkit build/bin/shmkit-shared
INSTALL_EXTRA_CMDS += install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 && \
	install -m 0755 build/bin/shmkit $(DESTDIR)$(PREFIX)/bin/ && \
	install -m 0644 impl/cli/shmkit.1 $(DESTDIR)$(PREFIX)/share/man/man1/;
CHECK_DEPS += $(VB)/bin/shmkit build/bin/shmkit-shared
CHECK_PROGS += impl/cli/shared-check.sh

.PHONY: shmkit
shmkit: build/bin/shmkit build/bin/shmkit-shared $(VB)/bin/shmkit
