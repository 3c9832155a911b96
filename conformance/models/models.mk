# conformance/models/models.mk - SPIN model checks of the lock-free cores.
# run-models.sh builds each pan verifier in a scratch directory under /tmp
# (never in the tree) and writes evidence for the clauses the models cite.
CHECK_PROGS += conformance/models/run-models.sh
