/* SPDX-License-Identifier: MIT */
/* cli tests: ls and gc. */
#include "cli_test.h"

/* ------------------------------------------------------------ ls and gc */

static void ls(void)
{
	char dir[PATH_MAX], ev[PATH_MAX], rg[PATH_MAX], fl[PATH_MAX], junk[PATH_MAX], ln[PATH_MAX];
	char pid_s[3][32];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	const char *ea[] = { dir, "a-ev", "1", "0", NULL };
	pid_t a = spawn_ready("events-peer", ea);
	pid_t b = spawn_at("ring-peer", dir, "b-ring", "1", rg, sizeof(rg));
	pid_t c = spawn_at("slots-peer", dir, "c.flink", "1", fl, sizeof(fl));
	CU_ASSERT_FATAL(a > 0 && b > 0 && c > 0);
	snprintf(pid_s[0], 32, "%d", (int)a);
	snprintf(pid_s[1], 32, "%d", (int)b);
	snprintf(pid_s[2], 32, "%d", (int)c);
	snprintf(ev, sizeof(ev), "%s/a-ev", dir);
	snprintf(junk, sizeof(junk), "%s/d-junk", dir);
	CU_ASSERT_EQUAL(spew(junk, "not ours at all, really not\n", 28), 0);
	snprintf(ln, sizeof(ln), "%s/e-link", dir);
	CU_ASSERT_EQUAL(symlink(ev, ln), 0);

	const char *a1[] = { "shmkit", "ls", "--json", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(jq_is(r.out, ".schema", "shmkit.ls/1"));
	CU_ASSERT(jq_is(r.out, ".objects | length", "3"));	/* junk and symlink skipped */
	CU_ASSERT(jq_is(r.out, "[.objects[].kind] | join(\",\")", "events,ring,flink"));
	CU_ASSERT(jq_is(r.out, ".objects[0].owner_pid", pid_s[0]));
	CU_ASSERT(jq_is(r.out, ".objects[1].owner_pid", pid_s[1]));
	CU_ASSERT(jq_is(r.out, ".objects[2].owner_pid", pid_s[2]));
	CU_ASSERT(jq_is(r.out, "[.objects[].owner] | unique | join(\",\")", "alive"));
	CU_ASSERT(jq_is(r.out, ".objects[0].size", "582400"));
	CU_ASSERT(jq_is(r.out, ".objects[0].age_s >= 0", "true"));
	res_free(&r);

	kill_wait(a);
	const char *a2[] = { "shmkit", "ls", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "KIND"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, pid_s[1]));
	char *row = strstr(r.out, "events");
	CU_ASSERT(row && strstr(row, "dead") && strstr(row, "dead") < strstr(row, "\n"));
	res_free(&r);
	/* a missing directory given explicitly is an error */
	const char *a3[] = { "shmkit", "ls", "/nonexistent-shmkit-dir", NULL };
	CU_ASSERT_EQUAL(run(&r, a3), 1);
	CU_ASSERT(one_error_line(&r, "/nonexistent-shmkit-dir"));
	res_free(&r);
	kill_wait(b);
	kill_wait(c);
	shmk_slots_reclaim_stale(fl);
	unlink(ev);
	unlink(rg);
	unlink(junk);
	unlink(ln);
}
H_REGISTER(ls, 180, "cli.ls.fields", "cli.ls.dirs");

static int has_line(const char *out, const char *verb, const char *path)
{
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s %s (", verb, path);
	return strstr(out, want) != NULL;
}

/* What gc meets: two dead objects (an events region, a slots flink), a
 * live one, a mapped one and one it cannot validate. */
struct gc_objs {
	const char *dead, *fl, *live, *mapped, *bad;
};

/* `shmkit gc [--dry-run] dir`: exit 0, nothing from the sanitizers, the
 * dead objects removed (or, dry, would be), the others kept.  The output
 * stays in r. */
static void gc_run(struct res *r, const char *dir, bool dry, const struct gc_objs *o)
{
	const char *a[] = { "shmkit", "gc", dry ? "--dry-run" : dir, dry ? dir : NULL, NULL };
	const char *gone = dry ? "would remove" : "removed";

	CU_ASSERT_EQUAL(run(r, a), 0);
	CU_ASSERT(sanitizer_quiet(r));
	CU_ASSERT(has_line(r->out, gone, o->dead));
	CU_ASSERT(has_line(r->out, gone, o->fl));
	CU_ASSERT(has_line(r->out, "kept", o->live));
	CU_ASSERT(has_line(r->out, "kept", o->mapped));
	CU_ASSERT(has_line(r->out, "kept", o->bad));
}

static void gc(void)
{
	char dir[PATH_MAX], dead[PATH_MAX], live[PATH_MAX], mapped[PATH_MAX], fl[PATH_MAX];
	char bad[PATH_MAX], seg[300];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	const char *ea[] = { dir, "dead-ev", "2", "0", NULL };
	pid_t a = spawn_ready("events-peer", ea);
	const char *eb[] = { dir, "live-ev", "2", "0", NULL };
	pid_t b = spawn_ready("events-peer", eb);
	pid_t c = spawn_at("ring-peer", dir, "mapped-ring", "2", mapped, sizeof(mapped));
	pid_t d = spawn_at("slots-peer", dir, "dead.flink", "2", fl, sizeof(fl));
	CU_ASSERT_FATAL(a > 0 && b > 0 && c > 0 && d > 0);
	snprintf(dead, sizeof(dead), "%s/dead-ev", dir);
	snprintf(live, sizeof(live), "%s/live-ev", dir);
	size_t fll;
	uint8_t *fb = slurp(fl, &fll);
	CU_ASSERT_FATAL(fb && fll < 250);
	snprintf(seg, sizeof(seg), "/dev/shm%.*s", (int)fll, (char *)fb);
	free(fb);
	/* an object whose header we cannot validate: never removed */
	snprintf(bad, sizeof(bad), "%s/bad-ev", dir);
	size_t evl;
	uint8_t *evb = slurp(dead, &evl);
	CU_ASSERT_FATAL(evb != NULL);
	put16(evb, 4, 9);	/* version */
	CU_ASSERT_EQUAL(spew(bad, evb, evl), 0);
	/* a creator that died mid-init (initialized = 1): garbage at the
	 * size events.c reserves, kept at any other size */
	char midinit[PATH_MAX], midshort[PATH_MAX];
	snprintf(midinit, sizeof(midinit), "%s/midinit-ev", dir);
	snprintf(midshort, sizeof(midshort), "%s/midinit-short", dir);
	put16(evb, 4, SHMK_EVENTS_VERSION);
	put32(evb, 16, SHMK_EVENTS_INIT_BUSY);
	CU_ASSERT_EQUAL(spew(midinit, evb, evl), 0);
	CU_ASSERT_EQUAL(spew(midshort, evb, evl - 64), 0);
	free(evb);

	/* this process maps the ring before its owner dies */
	int mfd = open(mapped, O_RDONLY);
	CU_ASSERT_FATAL(mfd >= 0);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);
	close(mfd);
	CU_ASSERT_FATAL(m != MAP_FAILED);
	kill_wait(a);
	kill_wait(c);
	kill_wait(d);

	const struct gc_objs objs = { dead, fl, live, mapped, bad };
	gc_run(&r, dir, true, &objs);
	CU_ASSERT(!strstr(r.out, "removed"));
	res_free(&r);
	CU_ASSERT(t_exists(dead) && t_exists(fl) && t_exists(seg));

	gc_run(&r, dir, false, &objs);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "mapped or open by pid"));
	CU_ASSERT(has_line(r.out, "removed", midinit));
	CU_ASSERT(has_line(r.out, "kept", midshort));
	res_free(&r);
	CU_ASSERT(!t_exists(midinit));
	CU_ASSERT(t_exists(midshort));
	CU_ASSERT(!t_exists(dead));
	CU_ASSERT(!t_exists(fl));
	CU_ASSERT(!t_exists(seg));	/* the flink's segment went with it */
	CU_ASSERT(t_exists(live));
	CU_ASSERT(t_exists(mapped));
	CU_ASSERT(t_exists(bad));

	/* unmapped now: the ring goes too; the live region still stays */
	munmap(m, 4096);
	const char *gc[] = { "shmkit", "gc", dir, NULL };
	CU_ASSERT_EQUAL(run(&r, gc), 0);
	CU_ASSERT(has_line(r.out, "removed", mapped));
	CU_ASSERT(has_line(r.out, "kept", live));
	res_free(&r);
	CU_ASSERT(!t_exists(mapped));
	CU_ASSERT(t_exists(live));
	kill_wait(b);
	unlink(live);
	unlink(bad);
	unlink(midshort);
}
H_REGISTER(gc, 240, "cli.gc.dead-owner", "cli.gc.never-live", "cli.gc.unmapped", "cli.gc.dry-run", "cli.ls.dirs");

/* As nobody, root's processes cannot be read: a warning, and --strict keeps.
 * nobody runs a copy of the tool in the harness's directory, so the test
 * does not depend on where the checkout lives (a 0700 home, say). */
static void gc_unreadable_body(void *arg)
{
	const char *tool = arg;
	char dir[PATH_MAX], ev[PATH_MAX];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(h_unique_path(dir, sizeof(dir), "gc"));
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0777), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(dir, 0777), 0);
	const char *ea[] = { dir, "ev", "1", "0", NULL };
	pid_t a = spawn_ready("events-peer", ea);
	CU_ASSERT_FATAL(a > 0);
	snprintf(ev, sizeof(ev), "%s/ev", dir);
	CU_ASSERT_EQUAL(chmod(ev, 0644), 0);
	kill_wait(a);
	/* a root process that stays alive while gc runs: this one */
	const char *strict[] = { tool, "gc", "--strict", dir, NULL };
	CU_ASSERT_EQUAL(run_env(&r, 1, NULL, strict), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "warning: cannot read /proc/"));
	CU_ASSERT(has_line(r.out, "kept", ev));
	CU_ASSERT(t_exists(ev));
	res_free(&r);
	const char *plain[] = { tool, "gc", dir, NULL };
	CU_ASSERT_EQUAL(run_env(&r, 1, NULL, plain), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "warning: cannot read /proc/"));
	CU_ASSERT(has_line(r.out, "removed", ev));
	CU_ASSERT(!t_exists(ev));
	res_free(&r);
	unlink(ev);
	rmdir(dir);
}

static void gc_unreadable(void)
{
	static char tool[PATH_MAX];

	if (geteuid() != 0)
		H_SKIP("needs root to drop to nobody");
	int rc = h_nobody_copy(bin(), tool, sizeof(tool));
	if (rc == -EACCES)
		H_SKIP("uid 65534 cannot reach the harness's temporary directory (neither $TMPDIR "
		       "nor /tmp), so it cannot run a copy of the tool");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	isolate_arg(gc_unreadable_body, tool, 120);
	unlink(tool);
}
H_REGISTER(gc_unreadable, 0, "cli.gc.unreadable");
