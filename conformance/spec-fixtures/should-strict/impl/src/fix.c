/* r[impl fix.open.create] r[impl fix.open.mode] */
