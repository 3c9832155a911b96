/* SPDX-License-Identifier: MIT */
/* reliability tests: 7, a failing syscall at every step. */
#include "reliability_test.h"

/* ------------------------------------------------------------ 7: faults */

static const char *const sites[] = { "open", "shm_open", "ftruncate", "fallocate",
				     "mmap", "mremap", "fstat", "futex" };
#define NSITES (sizeof(sites) / sizeof(sites[0]))
#define MAX_N 64

/* A forked peer attaches to what a failed call left: it must come back
 * (success or an error), not crash or hang.  Returns h_wait's status. */
static int peer_attach(const struct t_rel_prim *p, const char *where)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct t_rel_obj o;
		int rc = p->attach(where, &o);
		if (!rc)
			p->release(&o);
		_exit(rc == 0 || t_rel_documented(p->attach_errs, rc) ? 0 : 1);
	}
	return pid < 0 ? -errno : h_wait(pid, 20);
}

/* What the fault loops count. */
struct tally {
	unsigned calls, leaks, recovered;
	unsigned per_site[NSITES];
};

/* call(where) with sites[s] failing at its nth call.  0 when the fault did
 * not fire (the call must then succeed; its object is released), else 1
 * once the fault is checked: the call failed, unless a futex wait fired,
 * and no descriptor or mapping leaked (the counts are still fds0, maps0). */
static int one_fault(const struct t_rel_prim *p, int (*call)(const char *, struct t_rel_obj *),
		     const char *what, const char *where, size_t s, int n, int fds0, int maps0,
		     struct tally *t)
{
	struct t_rel_obj o;
	char spec[64];

	snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
	CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
	int rc = call(where, &o);
	int hit = shmk_fault_fired();
	shmk_fault_set(NULL);
	t->calls++;
	if (!hit) {
		CU_ASSERT_EQUAL(rc, 0);
		if (!rc)
			p->release(&o);
		return 0;
	}
	t->per_site[s]++;
	if (rc == 0) {
		/* only a futex wait may fail without failing the call: it is a
		 * sleep, and the caller re-checks */
		t->recovered++;
		printf("\n    %s %s, %s: fired, call recovered", p->name, what, spec);
		CU_ASSERT_STRING_EQUAL(sites[s], "futex");
		p->release(&o);
	}
	int fds = t_count_fds(), maps = count_maps();
	if (fds != fds0 || maps != maps0) {
		t->leaks++;
		printf("\n    %s %s, %s: %d fds (was %d), %d maps (was %d)", p->name, what, spec,
		       fds, fds0, maps, maps0);
	}
	CU_ASSERT_EQUAL(fds, fds0);
	CU_ASSERT_EQUAL(maps, maps0);
	return 1;
}

/* mmap_region also remaps after setup (resize): the mremap and fallocate
 * sites there fail cleanly and keep the old mapping. */
static void resize_faults(const struct t_rel_prim *p, const char *where, struct tally *t)
{
	struct t_rel_obj o;
	char spec[64];

	CU_ASSERT_EQUAL_FATAL(p->attach(where, &o), 0);
	size_t len = shmk_mmap_region_len(o.h), grow = len;
	for (size_t s = 0; s < NSITES; s++) {
		for (int n = 1; n <= MAX_N; n++) {
			void *base = shmk_mmap_region_ptr(o.h);
			size_t cur = shmk_mmap_region_len(o.h);
			int fds = t_count_fds(), maps = count_maps();
			snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
			CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
			int rc = shmk_mmap_region_resize(o.h, cur + 4096);
			int hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			t->calls++;
			if (!hit) {
				CU_ASSERT_EQUAL(rc, 0);
				grow += 4096;
				break;
			}
			t->per_site[s]++;
			CU_ASSERT(rc < 0);
			/* mmap_region.resize.keeps_old */
			CU_ASSERT_PTR_EQUAL(shmk_mmap_region_ptr(o.h), base);
			CU_ASSERT_EQUAL(shmk_mmap_region_len(o.h), cur);
			((volatile uint8_t *)base)[cur - 1] = 1;
			CU_ASSERT_EQUAL(t_count_fds(), fds);
			CU_ASSERT_EQUAL(count_maps(), maps);
		}
	}
	printf("\n    %s: resize under faults grew %zu -> %zu bytes", p->name, len,
	       shmk_mmap_region_len(o.h));
	CU_ASSERT(shmk_mmap_region_len(o.h) >= grow);
	p->release(&o);
}

static void faults(enum t_rel_kind k)
{
	const struct t_rel_prim *p = &t_rel_prims[k];
	char dir[256], where[300], fs[300];
	unsigned fired_create = 0, fired_attach = 0, visible = 0;
	struct tally t = { 0 };

	own_dir(dir, sizeof(dir), "faults", geteuid());
	object_at(k, dir, "obj", where, sizeof(where));
	const char *wfs = t_rel_fs_path(p, where, fs, sizeof(fs));
	int fds0 = t_count_fds(), maps0 = count_maps();

	/* create: what a failed create left is gone, or a peer attaches cleanly */
	for (size_t s = 0; s < NSITES; s++)
		for (int n = 1; n <= MAX_N; n++) {
			int fired = one_fault(p, p->create, "create", where, s, n, fds0, maps0, &t);
			fired_create += fired;
			if (fired && t_exists(wfs)) {
				visible++;
				CU_ASSERT_EQUAL(peer_attach(p, where), 0);
			}
			p->remove(where);
			unlink(wfs);
			if (!fired)
				break;
		}

	/* attach to a good object; the owner stays where the module needs one */
	struct t_rel_obj owner, o;
	CU_ASSERT_EQUAL_FATAL(p->create(where, &owner), 0);
	bool keep = k == REL_SLOTS || k == REL_SHM;
	if (!keep)
		p->release(&owner);
	int fds1 = t_count_fds(), maps1 = count_maps();
	for (size_t s = 0; s < NSITES; s++)
		for (int n = 1; n <= MAX_N; n++) {
			if (!one_fault(p, p->attach, "attach", where, s, n, fds1, maps1, &t))
				break;
			fired_attach++;
			/* the object is intact: a clean attach still works (a
			 * failed ring attach must not keep the reader role) */
			int rc = p->attach(where, &o);
			CU_ASSERT_EQUAL(rc, 0);
			if (!rc)
				p->release(&o);
		}
	if (keep)
		p->release(&owner);
	if (k == REL_MMAP)
		resize_faults(p, where, &t);
	p->remove(where);
	unlink(wfs);
	printf("\n    %s: %u calls, %u create and %u attach faults fired (%u recovered), "
	       "%u leaks, %u left a name (peer attach clean)",
	       p->name, t.calls, fired_create, fired_attach, t.recovered, t.leaks, visible);
	printf("\n    %s: faults fired per site:", p->name);
	for (size_t s = 0; s < NSITES; s++)
		printf(" %s=%u", sites[s], t.per_site[s]);
	CU_ASSERT(fired_create + fired_attach > 0);
	rm_tree(dir);
}

static void faults_shm(void)
{
	faults(REL_SHM);
}
H_REGISTER_IN("faults", faults_shm, 60, "common.fault.hook", "shm.open.no_leftover");
static void faults_mmap_region(void)
{
	faults(REL_MMAP);
}
H_REGISTER_IN("faults", faults_mmap_region, 60, "common.fault.hook", "mmap_region.create.no_leftover", "mmap_region.resize.keeps_old");
static void faults_events(void)
{
	faults(REL_EVENTS);
}
H_REGISTER_IN("faults", faults_events, 60, "common.fault.hook", "events.init.once");
static void faults_ring(void)
{
	faults(REL_RING);
}
H_REGISTER_IN("faults", faults_ring, 60, "common.fault.hook", "ring.create.cleanup");
static void faults_slots(void)
{
	faults(REL_SLOTS);
}
H_REGISTER_IN("faults", faults_slots, 60, "common.fault.hook", "slots.create.exclusive");
