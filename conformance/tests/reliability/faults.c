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
static int peer_attach(const struct rel_prim *p, const char *where)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rel_obj o;
		int rc = p->attach(where, &o);
		if (!rc)
			p->release(&o);
		_exit(rc == 0 || rel_documented(p->attach_errs, rc) ? 0 : 1);
	}
	return pid < 0 ? -errno : h_wait(pid, 20);
}

static void faults_body(void *arg)
{
	enum rel_kind k = *(const enum rel_kind *)arg;
	const struct rel_prim *p = &rel_prims[k];
	char dir[256], where[300], fs[300], spec[64];
	unsigned fired_create = 0, fired_attach = 0, leaks = 0, visible = 0, calls = 0, recovered = 0;
	unsigned per_site[NSITES] = { 0 };

	own_dir(dir, sizeof(dir), "faults", geteuid());
	object_at(k, dir, "obj", where, sizeof(where));
	const char *wfs = rel_fs_path(p, where, fs, sizeof(fs));
	int fds0 = t_count_fds(), maps0 = count_maps();

	/* create */
	for (size_t s = 0; s < NSITES; s++) {
		for (int n = 1; n <= MAX_N; n++) {
			struct rel_obj o;
			snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
			CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
			int rc = p->create(where, &o);
			int hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			calls++;
			if (!hit) {
				CU_ASSERT_EQUAL(rc, 0);
				if (!rc)
					p->release(&o);
				p->remove(where);
				break;
			}
			fired_create++;
			per_site[s]++;
			if (rc == 0) {
				/* only a futex wait may fail without failing the
				 * call: it is a sleep, and the caller re-checks */
				recovered++;
				printf("\n    %s create, %s: fired, call recovered", p->name, spec);
				CU_ASSERT_STRING_EQUAL(sites[s], "futex");
				p->release(&o);
			}
			int fds = t_count_fds(), maps = count_maps();
			if (fds != fds0 || maps != maps0) {
				leaks++;
				printf("\n    %s create, %s: %d fds (was %d), %d maps (was %d)", p->name,
				       spec, fds, fds0, maps, maps0);
			}
			CU_ASSERT_EQUAL(fds, fds0);
			CU_ASSERT_EQUAL(maps, maps0);
			if (exists(wfs)) {
				visible++;
				CU_ASSERT_EQUAL(peer_attach(p, where), 0);
			}
			p->remove(where);
			unlink(wfs);
		}
	}

	/* attach to a good object; the owner stays where the module needs one */
	struct rel_obj owner;
	CU_ASSERT_EQUAL_FATAL(p->create(where, &owner), 0);
	bool keep = k == REL_SLOTS || k == REL_SHM;
	if (!keep)
		p->release(&owner);
	int fds1 = t_count_fds(), maps1 = count_maps();
	for (size_t s = 0; s < NSITES; s++) {
		for (int n = 1; n <= MAX_N; n++) {
			struct rel_obj o;
			snprintf(spec, sizeof(spec), "%s:%d", sites[s], n);
			CU_ASSERT_EQUAL_FATAL(shmk_fault_set(spec), 0);
			int rc = p->attach(where, &o);
			int hit = shmk_fault_fired();
			shmk_fault_set(NULL);
			calls++;
			if (!hit) {
				CU_ASSERT_EQUAL(rc, 0);
				if (!rc)
					p->release(&o);
				break;
			}
			fired_attach++;
			per_site[s]++;
			if (rc == 0) {
				/* only a futex wait may fail without failing the
				 * call: it is a sleep, and the caller re-checks */
				recovered++;
				printf("\n    %s attach, %s: fired, call recovered", p->name, spec);
				CU_ASSERT_STRING_EQUAL(sites[s], "futex");
				p->release(&o);
			}
			int fds = t_count_fds(), maps = count_maps();
			if (fds != fds1 || maps != maps1) {
				leaks++;
				printf("\n    %s attach, %s: %d fds (was %d), %d maps (was %d)", p->name,
				       spec, fds, fds1, maps, maps1);
			}
			CU_ASSERT_EQUAL(fds, fds1);
			CU_ASSERT_EQUAL(maps, maps1);
			/* the object is intact: a clean attach still works (a
			 * failed ring attach must not keep the reader role) */
			rc = p->attach(where, &o);
			CU_ASSERT_EQUAL(rc, 0);
			if (!rc)
				p->release(&o);
		}
	}
	if (keep)
		p->release(&owner);

	/* mmap_region also remaps after setup (resize): the mremap and
	 * fallocate sites there fail cleanly and keep the old mapping */
	if (k == REL_MMAP) {
		struct rel_obj o;
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
				calls++;
				if (!hit) {
					CU_ASSERT_EQUAL(rc, 0);
					grow += 4096;
					break;
				}
				per_site[s]++;
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
	p->remove(where);
	unlink(wfs);
	printf("\n    %s: %u calls, %u create and %u attach faults fired (%u recovered), "
	       "%u leaks, %u left a name (peer attach clean)",
	       p->name, calls, fired_create, fired_attach, recovered, leaks, visible);
	printf("\n    %s: faults fired per site:", p->name);
	for (size_t s = 0; s < NSITES; s++)
		printf(" %s=%u", sites[s], per_site[s]);
	CU_ASSERT(fired_create + fired_attach > 0);
	rm_tree(dir);
}

static void faults_shm(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_SHM], 60);
}
H_REGISTER_IN("faults", faults_shm, 0, "common.fault.hook", "shm.open.no_leftover");
static void faults_mmap_region(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_MMAP], 60);
}
H_REGISTER_IN("faults", faults_mmap_region, 0, "common.fault.hook", "mmap_region.create.no_leftover", "mmap_region.resize.keeps_old");
static void faults_events(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_EVENTS], 60);
}
H_REGISTER_IN("faults", faults_events, 0, "common.fault.hook", "events.init.once");
static void faults_ring(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_RING], 60);
}
H_REGISTER_IN("faults", faults_ring, 0, "common.fault.hook", "ring.create.cleanup");
static void faults_slots(void)
{
	isolate_arg(faults_body, (void *)&kinds[REL_SLOTS], 60);
}
H_REGISTER_IN("faults", faults_slots, 0, "common.fault.hook", "slots.create.exclusive");
