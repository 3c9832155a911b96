/* SPDX-License-Identifier: MIT */
/* reliability tests: 6, path attacks. */
#include "reliability_test.h"

/* ------------------------------------------------------------ 6: path attacks */

enum attack {
	A_SYMLINK_FINAL, A_SYMLINK_PARENT, A_FOREIGN, A_WIDER, A_HARDLINK, A_FIFO, A_DIR, A_SHORT,
	A_N
};
static const char *const attack_names[A_N] = {
	"symlink at the final path", "symlink at a parent", "file of another uid",
	"mode wider than asked", "hard link", "FIFO", "directory", "too-short file",
};
/* the reason shmk_errdetail() must name */
static const char *const attack_reason[A_N] = {
	"symbolic link", "symbolic link", "owned by", "wider", "hard link", "not a regular",
	"not a regular", NULL,
};

/* A too-short object of kind k at `where` (owned by the caller, 0600). */
static int make_short(enum t_rel_kind k, const char *where, const char *dir, char *segname,
		      size_t seglen)
{
	int fd;
	switch (k) {
	case REL_SHM:
		fd = shm_open(where, O_RDWR | O_CREAT | O_EXCL, 0600); /* size 0 */
		break;
	case REL_MMAP:
		fd = open(where, O_RDWR | O_CREAT | O_EXCL, 0600); /* empty */
		break;
	case REL_SLOTS: {
		/* a flink naming a 16-byte segment */
		snprintf(segname, seglen, "/shmk-rel-short-%d", (int)getpid());
		int sfd = shm_open(segname, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (sfd < 0 || ftruncate(sfd, 16))
			return -1;
		close(sfd);
		fd = open(where, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 && write(fd, segname, strlen(segname)) != (ssize_t)strlen(segname))
			return -1;
		break;
	}
	default: /* events, ring: 16 bytes, less than any header */
		fd = open(where, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 && ftruncate(fd, 16))
			return -1;
		break;
	}
	(void)dir;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

struct path_ctx {
	enum t_rel_kind k;
	unsigned refused[A_N], wrong[A_N], changed[A_N], na[A_N];
};

/* One attack: returns after checking code, detail and victim. */
static void attack_one(struct path_ctx *cx, enum attack a, const char *target,
		       const char *victim_fs, uint64_t victim_fp)
{
	const struct t_rel_prim *p = &t_rel_prims[cx->k];
	struct t_rel_obj o;
	shmk_fail(0, "%s", ""); /* no stale detail from an earlier call */
	int rc = p->attach(target, &o);
	const char *detail = shmk_errdetail();
	int want = a == A_SHORT ? SHMK_ETOOSMALL : SHMK_EUNSAFE;
	bool reason_ok = !attack_reason[a] || strstr(detail, attack_reason[a]) != NULL;

	if (!rc)
		p->release(&o);
	if (rc == want && reason_ok)
		cx->refused[a]++;
	else
		cx->wrong[a]++;
	uint64_t after = fingerprint(victim_fs);
	if (after != victim_fp)
		cx->changed[a]++;
	printf("\n    %-11s %-26s -> %-14s %s%s", p->name, attack_names[a],
	       rc ? shmk_errname(rc) ?: "?" : "ACCEPTED", detail,
	       after != victim_fp ? "  VICTIM CHANGED" : "");
	CU_ASSERT_EQUAL(rc, want);
	CU_ASSERT(reason_ok);
	CU_ASSERT_EQUAL(after, victim_fp);
}

static void paths_body(void *arg)
{
	enum t_rel_kind k = *(const enum t_rel_kind *)arg;
	const struct t_rel_prim *p = &t_rel_prims[k];
	const uid_t nobody = 65534;
	struct path_ctx cx = { .k = k };
	char dir[256], victim[300], vfs[300], t[300], t2[300], fs[300], seg[128] = "";
	struct t_rel_obj vo;

	own_dir(dir, sizeof(dir), "paths", nobody);
	/* as root: 64 KiB owned by another uid, readable and writable by all,
	 * so only the owner check can refuse it (it is checked before any
	 * content is read) */
	char foreign[300], ffs[300];
	int ffd;
	if (p->by_name) {
		snprintf(foreign, sizeof(foreign), "/shmk-rel-foreign-%d", (int)getppid());
		snprintf(ffs, sizeof(ffs), "/dev/shm%s", foreign);
		ffd = shm_open(foreign, O_RDWR | O_CREAT | O_EXCL, 0600);
	} else {
		snprintf(foreign, sizeof(foreign), "%s/foreign", dir);
		snprintf(ffs, sizeof(ffs), "%s", foreign);
		ffd = open(foreign, O_RDWR | O_CREAT | O_EXCL, 0600);
	}
	CU_ASSERT_FATAL(ffd >= 0);
	CU_ASSERT_FATAL(ftruncate(ffd, 65536) == 0 && fchown(ffd, OTHER_UID, OTHER_UID) == 0 &&
			fchmod(ffd, 0666) == 0);
	close(ffd);

	/* the rest runs as nobody, like the attacker and the victim */
	CU_ASSERT_EQUAL_FATAL(h_drop_privileges(), 0);

	object_at(k, dir, "victim", victim, sizeof(victim));
	CU_ASSERT_EQUAL_FATAL(p->create(victim, &vo), 0);
	/* the victim file: for slots the flink (what attach opens) */
	snprintf(vfs, sizeof(vfs), "%s", p->by_name ? t_rel_fs_path(p, victim, fs, sizeof(fs)) : victim);
	uint64_t fp = fingerprint(vfs);

	for (int a = 0; a < A_N; a++) {
		switch (a) {
		case A_SYMLINK_FINAL:
			object_at(k, dir, "link", t, sizeof(t));
			CU_ASSERT_FATAL(symlink(vfs, t_rel_fs_path(p, t, fs, sizeof(fs))) == 0);
			attack_one(&cx, a, t, vfs, fp);
			unlink(fs);
			/* a dangling link must not make create write through it */
			object_at(k, dir, "dangling", t, sizeof(t));
			snprintf(t2, sizeof(t2), "%s/created-through-link", dir);
			CU_ASSERT_FATAL(symlink(t2, t_rel_fs_path(p, t, fs, sizeof(fs))) == 0);
			struct t_rel_obj co;
			int rc = p->create(t, &co);
			if (!rc)
				p->release(&co);
			/* refused either way; never written through */
			CU_ASSERT(rc == SHMK_EUNSAFE || rc == -EEXIST);
			CU_ASSERT_FALSE(t_exists(t2));
			printf("\n    %-11s %-26s -> %s", p->name, "create at a dangling link",
			       shmk_errname(rc) ?: "CREATED");
			unlink(fs);
			break;
		case A_SYMLINK_PARENT:
			if (p->by_name) {
				cx.na[a]++; /* a shm name has no parent component */
				printf("\n    %-11s %-26s -> n/a (a name has no directory)", p->name,
				       attack_names[a]);
				break;
			}
			snprintf(t2, sizeof(t2), "%s/parent-link", dir);
			CU_ASSERT_FATAL(symlink(dir, t2) == 0);
			snprintf(t, sizeof(t), "%s/victim", t2);
			attack_one(&cx, a, t, vfs, fp);
			unlink(t2);
			break;
		case A_FOREIGN:
			attack_one(&cx, a, foreign, ffs, fingerprint(ffs));
			break;
		case A_WIDER:
			CU_ASSERT_FATAL(chmod(vfs, 0640) == 0);
			attack_one(&cx, a, victim, vfs, fingerprint(vfs));
			CU_ASSERT_FATAL(chmod(vfs, 0600) == 0);
			break;
		case A_HARDLINK:
			object_at(k, dir, "hardlink", t, sizeof(t));
			CU_ASSERT_FATAL(link(vfs, t_rel_fs_path(p, t, fs, sizeof(fs))) == 0);
			attack_one(&cx, a, t, vfs, fingerprint(vfs));
			unlink(fs);
			break;
		case A_FIFO:
		case A_DIR: /* not a regular file */
			object_at(k, dir, a == A_FIFO ? "fifo" : "dir", t, sizeof(t));
			t_rel_fs_path(p, t, fs, sizeof(fs));
			CU_ASSERT_FATAL((a == A_FIFO ? mkfifo(fs, 0600) : mkdir(fs, 0700)) == 0);
			attack_one(&cx, a, t, vfs, fp);
			if (a == A_FIFO)
				unlink(fs);
			else
				rmdir(fs);
			break;
		case A_SHORT:
			object_at(k, dir, "short", t, sizeof(t));
			CU_ASSERT_FATAL(make_short(k, t, dir, seg, sizeof(seg)) == 0);
			attack_one(&cx, a, t, vfs, fp);
			if (p->by_name)
				shm_unlink(t);
			else
				unlink(t);
			if (seg[0])
				shm_unlink(seg);
			break;
		}
	}
	CU_ASSERT_EQUAL(fingerprint(vfs), fp);
	p->release(&vo);
	p->remove(victim);
	unsigned refused = 0, tried = 0;
	for (int a = 0; a < A_N; a++) {
		refused += cx.refused[a];
		tried += cx.refused[a] + cx.wrong[a];
	}
	printf("\n    %s: %u/%u attacks refused as documented, victim unchanged", p->name, refused,
	       tried);
	/* the foreign object stays for the parent (root) to remove */
}

static void run_paths(enum t_rel_kind k)
{
	char name[64];
	if (geteuid() != 0)
		H_SKIP("needs root to make a file of another uid and to drop to nobody");
	isolate_arg(paths_body, (void *)&kinds[k], 60);
	/* the foreign shm object root made (nobody cannot remove it) */
	snprintf(name, sizeof(name), "/shmk-rel-foreign-%d", (int)getpid());
	shm_unlink(name);
}

static void paths_shm(void)
{
	run_paths(REL_SHM);
}
H_REGISTER_IN("paths", paths_shm, 0, "shm.open.check", "shm.open.nosymlink", "shm.map.zero_size");
static void paths_mmap_region(void)
{
	run_paths(REL_MMAP);
}
H_REGISTER_IN("paths", paths_mmap_region, 0, "mmap_region.path.nosymlink", "mmap_region.attach.check", "mmap_region.attach.empty", "common.path.nosymlink", "common.path.owner");
static void paths_events(void)
{
	run_paths(REL_EVENTS);
}
H_REGISTER_IN("paths", paths_events, 0, "events.open.mode", "events.validate.short");
static void paths_ring(void)
{
	run_paths(REL_RING);
}
H_REGISTER_IN("paths", paths_ring, 0, "ring.attach.safe", "ring.attach.validate");
static void paths_slots(void)
{
	run_paths(REL_SLOTS);
}
H_REGISTER_IN("paths", paths_slots, 0, "slots.flink.safe", "slots.attach.magic+2");
