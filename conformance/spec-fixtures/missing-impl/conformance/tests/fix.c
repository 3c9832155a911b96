/* The registration table the gate reads (the bodies do not matter here). */
static const struct h_test tests[] = {
	H_TEST(creates, 0, "fix.open.create"),
	{ 0 },
};
