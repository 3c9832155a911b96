CHECK_PROGS += conformance/checks/spec-coverage-fixtures.sh
CHECK_PROGS += conformance/checks/harness-meta.sh
CHECK_PROGS += conformance/checks/private-checkout.sh
CHECK_PROGS += conformance/checks/cxx-headers.sh
CHECK_PROGS += conformance/checks/fail-detail.sh
# exports.sh reads the release shared library's dynamic symbols
CHECK_PROGS += conformance/checks/exports.sh
CHECK_DEPS += $(LIB_SO)
-include conformance/checks/reliability.mk
-include conformance/checks/tsan.mk
