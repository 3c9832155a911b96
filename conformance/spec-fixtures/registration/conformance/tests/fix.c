/* The registration table the gate reads: `mode` is registered for
 * fix.open.mode+2 but its evidence names fix.open.create, and `creates`
 * wrote evidence for a clause it does not register. */
static const struct h_test tests[] = {
	H_TEST(creates, 0, "fix.open.create"),
	H_TEST(mode, 0, "fix.open.mode+2"),
	{ 0 },
};
