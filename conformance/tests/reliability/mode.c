/* SPDX-License-Identifier: MIT */
/* Reliability 6b: the mode a create leaves, whatever the umask. */
#include "reliability_test.h"

/* The mode of `path`, or 0 when it cannot be stat'ed. */
static mode_t mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : st.st_mode & 07777;
}

/* Under a umask that narrows 0600 to 0400, every primitive's create still
 * leaves exactly 0600 on what it made (the slots segment and its flink). */
static void create_mode_body(void *arg)
{
	enum t_rel_kind k = *(const enum t_rel_kind *)arg;
	const struct t_rel_prim *p = &t_rel_prims[k];
	char dir[256], where[300], fs[300];
	struct t_rel_obj o;

	own_dir(dir, sizeof(dir), "mode", geteuid());
	object_at(k, dir, "obj", where, sizeof(where));
	const char *wfs = t_rel_fs_path(p, where, fs, sizeof(fs));
	umask(0277);
	CU_ASSERT_EQUAL_FATAL(p->create(where, &o), 0);
	CU_ASSERT_EQUAL(mode_of(wfs), 0600);
	if (k == REL_SLOTS) {
		/* the flink names the segment, an object in /dev/shm */
		char seg[300] = "/dev/shm";
		FILE *f = fopen(wfs, "r");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_PTR_NOT_NULL(fgets(seg + 8, (int)sizeof(seg) - 8, f));
		fclose(f);
		seg[strcspn(seg, "\n")] = '\0';
		CU_ASSERT_EQUAL(mode_of(seg), 0600);
	}
	/* a peer of the same uid opens it read-write: nothing was narrowed
	 * (a ring has one reader: its creator's handle goes first) */
	struct t_rel_obj peer;
	if (k == REL_RING)
		p->release(&o);
	int rc = p->attach(where, &peer);
	CU_ASSERT_EQUAL(rc, 0);
	if (!rc)
		p->release(&peer);
	if (k != REL_RING)
		p->release(&o);
	p->remove(where);
	rm_tree(dir);
}

static void create_mode(void)
{
	for (int k = 0; k < REL_N; k++)
		isolate_arg(create_mode_body, (void *)&kinds[k], 60);
}
H_REGISTER_IN("mode", create_mode, 0, "common.create.mode");
