/* r[impl fix.open.create] */
/* r[exempt fix.open.create] not worth it */
