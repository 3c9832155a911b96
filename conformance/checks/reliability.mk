# conformance/checks/reliability.mk - the cross-module reliability programs
# (issue 11, items 4-8), included from checks.mk.
#
# conformance/tests/reliability.c and conformance/stress/reliability_*.c
# reach every primitive, so they link every library module.  Their rules
# come from the test and stress templates (evaluated before this file);
# a rule without a recipe adds the module objects to those prerequisites,
# and the templates link $^.

REL_MODS := $(filter-out $(CORE),$(MODULES))
REL_STRESS := $(filter reliability_%,$(STRESS))

$(VB)/tests/reliability: $(patsubst %,$(VB)/obj/impl/src/%.o,$(REL_MODS))
$(patsubst %,$(VB)/stress/%,$(REL_STRESS)): $(patsubst %,$(VB)/obj/impl/src/%.o,$(REL_MODS))
$(patsubst %,$(SB)/bin/%,$(REL_STRESS)): $(patsubst %,$(SB)/obj/impl/src/%.o,$(REL_MODS))
