/* The registration table the gate reads (the bodies do not matter here). */
static const struct h_test tests[] = {
	H_TEST(creates, 0, "fix.open.create"),
	H_TEST(mode, 0, "fix.open.mode+2"),
	{ 0 },
};
