static void creates(void) { SPEC_VERIFY("fix.open.create"); }
