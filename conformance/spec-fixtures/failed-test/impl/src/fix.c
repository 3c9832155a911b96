/* r[impl fix.open.create] */
