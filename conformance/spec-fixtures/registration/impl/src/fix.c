/* r[impl fix.open.create] r[impl fix.open.mode+2] */
int fix_create(void) { return 0; }
/* r[exempt fix.open.hint] hints are advisory; nothing to implement */
