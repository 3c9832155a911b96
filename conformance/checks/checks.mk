CHECK_PROGS += conformance/checks/spec-coverage-fixtures.sh
CHECK_PROGS += conformance/checks/harness-meta.sh
CHECK_PROGS += conformance/checks/private-checkout.sh
-include conformance/checks/reliability.mk
-include conformance/checks/tsan.mk
