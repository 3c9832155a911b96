# conformance/checks/reliability.mk - the cross-module reliability programs
# (issue 11, items 4-8), included from checks.mk.
#
# conformance/tests/reliability.c and conformance/stress/reliability_*.c
# reach every primitive; like every program they link the library archive
# (the test and stress templates), so they need no rule of their own.
