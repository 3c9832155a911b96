static void creates(void) { SPEC_VERIFY("fix.open.create"); }
static void other(void) { SPEC_VERIFY("fix.open.gone"); }
