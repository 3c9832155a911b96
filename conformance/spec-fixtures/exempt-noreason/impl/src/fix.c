/* r[impl fix.open.create] */
/* r[exempt fix.open.hint] */
