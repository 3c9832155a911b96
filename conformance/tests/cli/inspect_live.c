/* SPDX-License-Identifier: MIT */
/* cli tests: inspect on live peers. */
#include "cli_test.h"

/* ------------------------------------------------------------ inspect: live peers */

static void inspect_events(void)
{
	char dir[PATH_MAX], path[PATH_MAX], pid_s[32];
	struct res r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	const char *args[] = { dir, "ev", "7", "3", NULL };
	pid_t peer = spawn_ready("events-peer", args);
	CU_ASSERT_FATAL(peer > 0);
	snprintf(path, sizeof(path), "%s/ev", dir);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)peer);

	const char *a1[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT_EQUAL(r.errlen, 0);
	/* one object on one line */
	CU_ASSERT(r.outlen > 0 && r.out[r.outlen - 1] == '\n' && !memchr(r.out, '\n', r.outlen - 1));
	CU_ASSERT(jq_is(r.out, ".schema", "shmkit.inspect/1"));
	CU_ASSERT(jq_is(r.out, ".kind", "events"));
	CU_ASSERT(jq_is(r.out, ".ok", "true"));
	CU_ASSERT(jq_is(r.out, ".header.init", "ready"));
	CU_ASSERT(jq_is(r.out, ".header.cap_wake", "true"));
	CU_ASSERT(jq_is(r.out, ".header.cap_seq", "true"));
	CU_ASSERT(jq_is(r.out, ".header.cap_asym", "true"));
	/* each announcement word as its count and its two flags */
	CU_ASSERT(jq_is(r.out, ".wake | length", "4"));
	CU_ASSERT(jq_is(r.out, ".wake[0].waiters_fenced | type", "boolean"));
	CU_ASSERT(jq_is(r.out, ".wake[3].waiters_taken | type", "boolean"));
	CU_ASSERT(jq_u64(r.out, "[.wake[].waiters] | max") <= SHMK_WAIT_COUNT);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.layout_bytes"),
			SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".spsc.depth"), 7);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".spsc.tail - .spsc.head"), 7);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".mpsc.depth"), 3);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".pool.held"), 10);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".pool.free"), SHMK_EVENTS_SLOTS - 10);
	CU_ASSERT(jq_is(r.out, ".owner.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".owner.alive", "true"));
	CU_ASSERT(jq_is(r.out, ".spsc.sender.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".spsc.receiver", "null"));
	CU_ASSERT(jq_is(r.out, ".mpsc.producers[0].pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".mpsc.producers | length", "1"));
	res_free(&r);

	/* text form: the same facts */
	const char *a2[] = { "shmkit", "inspect", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "depth: 7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "kind: events\n"));
	res_free(&r);

	/* after the peer dies the owner shows dead */
	kill_wait(peer);
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(jq_is(r.out, ".owner.alive", "false"));
	CU_ASSERT(jq_is(r.out, ".spsc.sender.alive", "false"));
	res_free(&r);
	unlink(path);
}
H_REGISTER(inspect_events, 120, "cli.inspect.queues", "cli.inspect.liveness", "cli.inspect.json", "cli.inspect.validate");

/* A live peer (role, started with its count n) on <fresh dir>/leaf, whose
 * path goes to path (PATH_MAX) and pid, as text, to pid_s (32).  Its pid. */
static pid_t live_peer(const char *role, const char *leaf, const char *n, char *path, char *pid_s)
{
	char dir[PATH_MAX];

	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dir(dir, sizeof(dir)));
	pid_t peer = spawn_at(role, dir, leaf, n, path, PATH_MAX);
	CU_ASSERT_FATAL(peer > 0);
	snprintf(pid_s, 32, "%d", (int)peer);
	return peer;
}

static void inspect_ring(void)
{
	char path[PATH_MAX], pid_s[32];
	struct res r;
	pid_t peer = live_peer("ring-peer", "ring", "20", path, pid_s);
	uint64_t head = 0;
	for (int i = 0; i < 20; i++)
		head += shmk_ring_record_len((size_t)(3 * i));

	const char *a1[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(jq_is(r.out, ".kind", "ring"));
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.head"), head);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.tail"), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.used"), head);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.capacity"), 65536);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records | length"), 16);	/* the default limit */
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[5].len"), 15);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[5].tag"), RING_TAG);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[1].index"), shmk_ring_record_len(0));
	CU_ASSERT(jq_is(r.out, ".records_more", "true"));
	CU_ASSERT(jq_is(r.out, ".owner.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".writers.slots[0].pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".writers.slots[0].alive", "true"));
	res_free(&r);

	const char *a2[] = { "shmkit", "inspect", "--limit", "20", "--json", path, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records | length"), 20);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".records[19].len"), 57);
	CU_ASSERT(jq_is(r.out, ".records_more", "false"));
	res_free(&r);

	/* a header-only copy (the file is over the copy limit) still reports
	 * cursors and validates against the real file size */
	const char *a3[] = { "shmkit", "inspect", "--json", path, NULL };
	CU_ASSERT_EQUAL(run_env(&r, 0, "SHMKIT_MAX_COPY=4096", a3), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".copied"), 4096);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".cursors.head"), head);
	res_free(&r);
	kill_wait(peer);
	unlink(path);
}
H_REGISTER(inspect_ring, 120, "cli.inspect.ring", "cli.inspect.copy");

static void inspect_slots(void)
{
	char flink[PATH_MAX], pid_s[32], seg[300];
	struct res r;
	pid_t peer = live_peer("slots-peer", "s.flink", "3", flink, pid_s);

	const char *a1[] = { "shmkit", "inspect", "--json", flink, NULL };
	CU_ASSERT_EQUAL(run(&r, a1), 0);
	CU_ASSERT(sanitizer_quiet(&r));
	CU_ASSERT(jq_is(r.out, ".kind", "slots"));
	CU_ASSERT(jq_is(r.out, ".flink", flink));
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.slot_count"), 8);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.slot_capacity"), 100);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".header.next_sn"), SLOTS_FIRST_SN + 3);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".committed"), 3);
	/* sequence numbers past UINT32_MAX survive the trip */
	CU_ASSERT_EQUAL(jq_u64(r.out, "[.slots[] | select(.sn != 0) | .sn] | max"),
			SLOTS_FIRST_SN + 2);
	CU_ASSERT_EQUAL(jq_u64(r.out, "[.slots[] | select(.sn == 4294967295) | .size][0]"), 11);
	CU_ASSERT(jq_is(r.out, ".readers[0].pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".readers[0].alive", "true"));
	CU_ASSERT(jq_is(r.out, ".owner.pid", pid_s));
	CU_ASSERT(jq_is(r.out, ".owner_state", "live"));
	CU_ASSERT(jq(r.out, ".path", seg, sizeof(seg)) == 0);
	res_free(&r);

	/* the segment itself, by path and by bare NAME (/dev/shm lookup) */
	const char *a2[] = { "shmkit", "inspect", "--json", seg, NULL };
	CU_ASSERT_EQUAL(run(&r, a2), 0);
	CU_ASSERT_EQUAL(jq_u64(r.out, ".committed"), 3);
	res_free(&r);
	const char *name = strrchr(seg, '/') ? strrchr(seg, '/') + 1 : seg;
	const char *a3[] = { "shmkit", "inspect", "--json", name, NULL };
	CU_ASSERT_EQUAL(run(&r, a3), 0);
	CU_ASSERT(jq_is(r.out, ".path", seg));
	res_free(&r);
	kill_wait(peer);
	shmk_slots_reclaim_stale(flink);
}
H_REGISTER(inspect_slots, 120, "cli.inspect.slots", "cli.inspect.flink", "cli.inspect.name");
