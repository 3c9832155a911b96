CHECK_PROGS += conformance/checks/spec-coverage-fixtures.sh
