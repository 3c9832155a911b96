static void creates(void)
{
	SPEC_VERIFY("fix.open.create");
}
static void mode(void)
{
	SPEC_VERIFY("fix.open.mode+2");
}
