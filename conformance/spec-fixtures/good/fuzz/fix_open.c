/* a fuzz target's clause array is its one list */
const char *const shmk_fuzz_clauses[] = {
	"fix.open.create",
	NULL,
};
