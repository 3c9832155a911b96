/* SPDX-License-Identifier: MIT */
/* slots tests: attach: flink safety and content, lying headers, upstream-style readers, sizes and bounds. */
#include "slots_test.h"

/* ------------------------------------------------------------ attach */

static void flink_safe(void)
{
	char fl[256], other[256];
	struct shmk_slots *o, *r;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), 0);
	shmk_slots_close(r);
	/* symbolic link to the flink */
	h_unique_path(other, sizeof(other), "link.flink");
	CU_ASSERT_EQUAL(symlink(fl, other), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(other, &r), SHMK_EUNSAFE);
	unlink(other);
	/* hard link */
	CU_ASSERT_EQUAL(link(fl, other), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_EUNSAFE);
	unlink(other);
	/* wider mode */
	CU_ASSERT_EQUAL(chmod(fl, 0644), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_EUNSAFE);
	CU_ASSERT_EQUAL(chmod(fl, 0600), 0);
	/* not a regular file */
	h_unique_path(other, sizeof(other), "fifo.flink");
	CU_ASSERT_EQUAL(mkfifo(other, 0600), 0);
	int rc = shmk_slots_attach(other, &r);
	CU_ASSERT(rc == SHMK_EUNSAFE || rc == -ENXIO);
	unlink(other);
	/* owned by another uid (root can chown it) */
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(chown(fl, 65534, 65534), 0);
		CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_EUNSAFE);
		CU_ASSERT_EQUAL(chown(fl, 0, 0), 0);
	}
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), 0);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(flink_safe, 20, "slots.flink.safe");

static void flink_content(void)
{
	static const struct {
		const char *bytes;
		size_t len;
		int rc;
	} cases[] = {
		{ "", 0, SHMK_ELAYOUT },
		{ "/", 1, SHMK_ELAYOUT },
		{ "noslash", 7, SHMK_ELAYOUT },
		{ "/a/b", 4, SHMK_ELAYOUT },
		{ "/..", 3, SHMK_ELAYOUT },
		{ "/.", 2, SHMK_ELAYOUT },
		{ "/a b", 4, SHMK_ELAYOUT },
		{ "/ok\n\n", 5, SHMK_ELAYOUT },
		{ "/nul\0x", 6, SHMK_ELAYOUT },
		{ "/shmk-no-such-segment\n", 22, -ENOENT },
		{ "/shmk-no-such-segment", 21, -ENOENT },
	};
	char fl[256], big[400];
	struct shmk_slots *r = (void *)1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		new_flink(fl, sizeof(fl));
		CU_ASSERT_EQUAL_FATAL(write_file(fl, cases[i].bytes, cases[i].len, 0600), 0);
		int rc = shmk_slots_attach(fl, &r);
		if (rc != cases[i].rc)
			fprintf(stderr, "flink case %zu: rc %d want %d\n", i, rc, cases[i].rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_NULL(r);
		unlink(fl);
	}
	/* a name of 255 characters is too long, 254 after '/' is the limit */
	big[0] = '/';
	memset(big + 1, 'a', sizeof(big) - 1);
	new_flink(fl, sizeof(fl));
	CU_ASSERT_EQUAL_FATAL(write_file(fl, big, 256, 0600), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_ELAYOUT);
	CU_ASSERT_EQUAL_FATAL(write_file(fl, big, sizeof(big), 0600), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_ELAYOUT);
	CU_ASSERT_EQUAL_FATAL(write_file(fl, big, 255, 0600), 0);
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), -ENOENT);	/* valid, absent */
	unlink(fl);
}
H_REGISTER(flink_content, 20, "slots.flink.content");

/* A real segment from an owner, then one header field lies; every attach
 * runs in its own process so a crash would be caught as a failure. */
struct lie {
	const char *what;
	size_t off;
	uint32_t val;
	size_t trunc;	/* ftruncate the segment to this size when non-zero */
	int rc;
};

static void lie_run(const struct lie *lies, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char fl[256];
		struct shmk_slots *o;
		size_t len;

		CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 100, &o), 0);
		uint8_t *m = seg_map(o, &len);
		if (lies[i].trunc) {
			int fd = shm_open(shmk_slots_shm_name(o), O_RDWR, 0);
			CU_ASSERT_EQUAL(ftruncate(fd, (off_t)lies[i].trunc), 0);
			close(fd);
		} else {
			memcpy(m + lies[i].off, &lies[i].val, 4);
		}
		pid_t pid = fork();
		if (pid == 0) {
			struct shmk_slots *r = NULL;
			int rc = shmk_slots_attach(fl, &r);
			_exit(rc == lies[i].rc && !r ? 0 : 1);
		}
		int st = h_wait(pid, 10);
		if (st)
			fprintf(stderr, "lie '%s': attach status %d\n", lies[i].what, st);
		CU_ASSERT_EQUAL(st, 0);
		munmap(m, len);
		shmk_slots_close(o);
	}
}

static void attach_magic(void)
{
	static const struct lie lies[] = {
		{ "magic", 0x00, 0x5353445Au, 0, SHMK_EBADMAGIC },
		{ "magic zero", 0x00, 0, 0, SHMK_EBADMAGIC },
		{ "short file", 0, 0, 0x13f, SHMK_ETOOSMALL },
		{ "empty file", 0, 0, 0, 0 },	/* placeholder replaced below */
	};
	lie_run(lies, 3);
}
H_REGISTER(attach_magic, 30, "slots.attach.magic+2");

/* An upstream ZeroDDS flatdata v1 owner, laid out exactly as its create()
 * writes it and SEGMENT_HEADER_SIZE documents: u32 magic 0x5A445353,
 * slot_count, slot_total_size, next_sn at 0x0c, the futex generation at
 * 0x10, a 0x20 header (the module's layout table still shows the older 0x10
 * one), then slots of {u32 sn, u32 sample_size, u32 reader_mask, pad} and
 * data; the flink holds the shm name.  arg: slot count. */
static char g_up_flink[256], g_up_name[64];
static int upstream_owner(void *arg)
{
	uint32_t count = (uint32_t)(uintptr_t)arg, total = 128;	/* align_up(16 + 64, 64) */
	size_t size = SHMK_SLOTS_ZERODDS_HDR_SIZE + (size_t)count * total;
	int fd = shm_open(g_up_name, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)size))
		return 10;
	uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 11;
	uint32_t w[5] = { SHMK_SLOTS_ZERODDS_MAGIC, count, total, 1, 0 };
	memcpy(m, w, sizeof(w));
	uint32_t slot[3] = { 0, 5, 0 };	/* sn 0, "hello", nobody read it */
	memcpy(m + SHMK_SLOTS_ZERODDS_HDR_SIZE, slot, sizeof(slot));
	memcpy(m + SHMK_SLOTS_ZERODDS_HDR_SIZE + 16, "hello", 5);
	munmap(m, size);
	fd = open(g_up_flink, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, g_up_name, strlen(g_up_name)) != (ssize_t)strlen(g_up_name))
		return 12;
	close(fd);
	return 0;
}

static void attach_upstream(void)
{
	char fl[256];
	struct shmk_slots *r = NULL, *o;
	size_t len;

	/* 4 slots: 0x20 + 512 bytes, longer than our header; 1 slot: 0xa0
	 * bytes, shorter: both are named, neither is a bare size error */
	static const uintptr_t counts[] = { 4, 1 };
	for (size_t k = 0; k < 2; k++) {
		uintptr_t count = counts[k];
		new_flink(g_up_flink, sizeof(g_up_flink));
		h_unique_shm_name(g_up_name, sizeof(g_up_name));
		pid_t pid = t_fork_run(upstream_owner, (void *)count);
		CU_ASSERT_FATAL(pid > 0);
		CU_ASSERT_EQUAL_FATAL(h_wait(pid, 10), 0);
		int arc = shmk_slots_attach(g_up_flink, &r);
		if (arc != SHMK_EBADMAGIC)
			fprintf(stderr, "upstream %zu: %s: %s\n", (size_t)count, shmk_errname(arc),
				shmk_errdetail());
		CU_ASSERT_EQUAL(arc, SHMK_EBADMAGIC);
		CU_ASSERT_PTR_NULL(r);
		CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(),
					      "ZeroDDS flatdata v1 layout, 0x20 header"));
		CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "not supported"));
		/* the one validator says the same (inspect, fuzzers) */
		uint8_t *m = raw_map(g_up_name, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(shmk_slots_validate(m, len, len, NULL), SHMK_EBADMAGIC);
		munmap(m, len);
		shm_unlink(g_up_name);
		unlink(g_up_flink);
	}

	/* the other way round: upstream's attach checks only the first u32
	 * against its magic, and a shmkit segment (from another process's
	 * create) fails that check */
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 64, &o), 0);
	uint8_t *m = seg_map(o, &len);
	uint32_t first;
	memcpy(&first, m, 4);
	CU_ASSERT_NOT_EQUAL(first, 0x5A445353u);
	CU_ASSERT_EQUAL(first, SHMK_SLOTS_MAGIC);
	munmap(m, len);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}
H_REGISTER(attach_upstream, 30, "slots.attach.upstream", "slots.layout.magic");

/* Reader with an index agreed out of band (upstream style): refused at
 * its first read with a detail; once registered it gets the samples
 * committed after that. */
static const char *g_unreg_flink;
static int unregistered_reader(void *arg)
{
	struct shmk_slots *r;
	shmk_slot_handle_t h = { 0 };
	unsigned idx;
	char buf[8];

	(void)arg;
	if (shmk_slots_attach(g_unreg_flink, &r))
		return 10;
	bump(&sh->ready);
	if (wait_value(&sh->go, 1, 10))
		return 11;
	/* sample "A" is committed for mask UINT32_MAX; index 0 is ours by
	 * agreement only */
	if (shmk_slots_next_unread_slot(r, 0, &h) != -EPERM ||
	    !strstr(shmk_errdetail(), "shmk_slots_register_reader"))
		return 12;
	if (shmk_slots_mark_read(r, h, 0) != -EPERM)
		return 13;
	if (shmk_slots_register_reader(r, 0, &idx) || idx != 0)
		return 14;
	/* "A" was addressed before we registered: never ours */
	if (shmk_slots_next_unread_slot(r, 0, &h) != 0)
		return 15;
	if (shmk_slots_next_unread_slot(r, 1, &h) != -EPERM || !strstr(shmk_errdetail(), "not 1"))
		return 16;
	bump(&sh->ready);
	if (wait_value(&sh->go, 2, 10))
		return 17;
	if (shmk_slots_next_unread_slot(r, 0, &h) != 1 ||
	    shmk_slots_read_slot(r, h, buf, sizeof(buf), NULL) || memcmp(buf, "B", 2) ||
	    shmk_slots_mark_read(r, h, 0))
		return 18;
	return shmk_slots_close(r) ? 19 : 0;
}

static void reader_unregistered(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h;
	uint64_t sn;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	g_unreg_flink = fl;
	pid_t pid = t_fork_run(unregistered_reader, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(wait_value(&sh->ready, 1, 10), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "A", 2, &sn, NULL), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(wait_value(&sh->ready, 2, 10), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), 0);
	CU_ASSERT_EQUAL(shmk_slots_commit_slot(o, h, "B", 2, &sn, NULL), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	CU_ASSERT_EQUAL(shmk_slots_close(o), 0);
}
H_REGISTER(reader_unregistered, 30, "slots.reader.unregistered");

static void attach_sizes(void)
{
	static const struct lie lies[] = {
		{ "hdr_size", 0x1c, 0x20, 0, SHMK_ELAYOUT },
		{ "count zero", 0x04, 0, 0, SHMK_ELAYOUT },
		{ "count huge", 0x04, 65537, 0, SHMK_ELAYOUT },
		{ "count max", 0x04, UINT32_MAX, 0, SHMK_ELAYOUT },
		{ "capacity zero", 0x0c, 0, 0, SHMK_ELAYOUT },
		{ "capacity max", 0x0c, UINT32_MAX, 0, SHMK_ELAYOUT },
		{ "capacity limit+1", 0x0c, UINT32_MAX - 78, 0, SHMK_ELAYOUT },
		{ "capacity bigger", 0x0c, 113, 0, SHMK_ELAYOUT },	/* 113 needs 192, not 128 */
		{ "total zero", 0x08, 0, 0, SHMK_ELAYOUT },
		{ "total small", 0x08, 64, 0, SHMK_ELAYOUT },
		{ "total big", 0x08, 192, 0, SHMK_ELAYOUT },
		{ "total odd", 0x08, 129, 0, SHMK_ELAYOUT },
		{ "total max", 0x08, UINT32_MAX, 0, SHMK_ELAYOUT },
	};
	lie_run(lies, sizeof(lies) / sizeof(lies[0]));
}
H_REGISTER(attach_sizes, 60, "slots.attach.sizes");

static void attach_bounds(void)
{
	static const struct lie lies[] = {
		{ "count 5 of 4", 0x04, 5, 0, SHMK_ELAYOUT },
		{ "count 65536", 0x04, 65536, 0, SHMK_ELAYOUT },
		{ "file shrank by one byte", 0, 0, 0x140 + 4 * 128 - 1, SHMK_ELAYOUT },
		{ "file holds the header only", 0, 0, 0x140, SHMK_ELAYOUT },
	};
	lie_run(lies, sizeof(lies) / sizeof(lies[0]));
	/* capacity and total agree but count x total is far beyond the file */
	char fl[256];
	struct shmk_slots *o;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 4, 100, &o), 0);
	uint8_t *m = seg_map(o, &len);
	uint32_t cap = UINT32_MAX - 79, total = UINT32_MAX - 63, count = 65536;
	memcpy(m + 0x0c, &cap, 4);
	memcpy(m + 0x08, &total, 4);
	memcpy(m + 0x04, &count, 4);
	struct shmk_slots *r = NULL;
	CU_ASSERT_EQUAL(shmk_slots_attach(fl, &r), SHMK_ELAYOUT);
	CU_ASSERT_PTR_NULL(r);
	munmap(m, len);
	shmk_slots_close(o);
}
H_REGISTER(attach_bounds, 30, "slots.attach.bounds");
