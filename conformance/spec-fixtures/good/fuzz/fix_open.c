/* r[verify fix.open.create] */
