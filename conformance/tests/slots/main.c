/* SPDX-License-Identifier: MIT */
/* slots tests: the helpers the files share, and main(). */
#include "slots_test.h"

struct shared *sh;

void fresh_shared(void)
{
	sh = t_shared_alloc(sizeof(*sh));
	CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
	memset((void *)sh, 0, sizeof(*sh));
}

const char *new_flink(char *buf, size_t len)
{
	return h_unique_path(buf, len, "slots.flink");
}

/* Block until pid is a zombie without reaping it. */
int wait_zombie(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
}

/* Wait (futex, no sleep) until *w >= want. */
int wait_value(_Atomic uint32_t *w, uint32_t want, unsigned deadline_s)
{
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(deadline_s) * 1000000000LL;

	for (;;) {
		uint32_t v = atomic_load(w);
		if (v >= want)
			return 0;
		if (shmk_now_ns() > end)
			return -ETIMEDOUT;
		shmk_futex_wait(w, v, 50000000);
	}
}

void bump(_Atomic uint32_t *w)
{
	atomic_fetch_add(w, 1);
	shmk_futex_wake(w, INT32_MAX);
}

void fill(uint8_t *p, size_t len, uint64_t sn)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(sn * 131u + i * 7u + (i >> 8));
}

int check_fill(const uint8_t *p, size_t len, uint64_t sn)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(sn * 131u + i * 7u + (i >> 8)))
			return 0;
	return 1;
}

/* Owner: reserve for everyone, waiting on the generation while full. */
int reserve_wait(struct shmk_slots *s, uint32_t mask, shmk_slot_handle_t *h,
		 unsigned deadline_s)
{
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(deadline_s) * 1000000000LL;

	for (;;) {
		uint64_t g = shmk_slots_notify_generation(s);
		int rc = shmk_slots_reserve_slot(s, mask, h);
		if (rc != SHMK_EFULL)
			return rc;
		if (shmk_now_ns() > end)
			return -ETIMEDOUT;
		shmk_slots_wait_for_change(s, g, 100000000);
	}
}

/* Owner: publish one sample of len bytes carrying pattern(sn), where sn is
 * the owner's own count (*next), through the zero-copy loan. */
int publish(struct shmk_slots *s, uint64_t *next, size_t len)
{
	shmk_slot_handle_t h;
	void *p;
	size_t cap;
	uint64_t sn = 0;
	int rc = reserve_wait(s, UINT32_MAX, &h, 40);

	if (rc)
		return rc;
	rc = shmk_slots_slot_data_ptr(s, h, &p, &cap);
	if (rc)
		return rc;
	fill(p, len, *next);
	rc = shmk_slots_commit_in_place(s, h, len, &sn, NULL);
	if (rc)
		return rc;
	if (sn != *next)
		return -EPROTO;
	++*next;
	return 0;
}

/* Raw mapping of a segment by name, for tests that inspect or lie. */
void *raw_map(const char *name, size_t *len)
{
	return t_raw_map(shm_open(name, O_RDWR, 0), len);
}

int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, data, len);
	fchmod(fd, mode);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* ------------------------------------------------------------ reader process */

/* Attach, register, then take `expect` samples checking order and content. */
void *seg_map(struct shmk_slots *o, size_t *len)
{
	void *m = raw_map(shmk_slots_shm_name(o), len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

struct sfx sfx_new(uint32_t count, size_t cap, int slot)
{
	struct sfx f = { .o = NULL };

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(f.fl, sizeof(f.fl)), count, cap, &f.o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(f.fl, &f.r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(f.r, slot, &f.idx), 0);
	return f;
}

void sfx_close(struct sfx *f)
{
	shmk_slots_close(f->r);
	shmk_slots_close(f->o);
}

int reader_proc(void *argp)
{
	struct rd_arg *a = argp;
	struct shmk_slots *s;
	unsigned idx;
	static uint8_t buf[1 << 20];
	int rc = shmk_slots_attach(a->flink, &s);

	if (rc) {
		sh->rc[a->slot] = rc;
		return 2;
	}
	rc = shmk_slots_register_reader(s, a->want_index, &idx);
	if (rc) {
		sh->rc[a->slot] = rc;
		return 3;
	}
	sh->idx[a->slot] = idx;
	sh->token[a->slot] = shmk_self_token();
	bump(&sh->ready);
	if (a->hold)
		for (;;)
			pause();
	uint64_t prev = 0;
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(40) * 1000000000LL;
	while (sh->got[a->slot] < a->expect && shmk_now_ns() < end) {
		uint64_t g = shmk_slots_notify_generation(s);
		shmk_slot_handle_t h;
		rc = shmk_slots_next_unread_slot(s, idx, &h);
		if (rc < 0) {
			sh->rc[a->slot] = rc;
			return 4;
		}
		if (rc == 0) {
			rc = shmk_slots_wait_for_change(s, g, 1000000000);
			if (rc && rc != -ETIMEDOUT) {
				sh->rc[a->slot] = rc;
				return 5;
			}
			continue;
		}
		const void *p = buf;
		size_t len = 0;
		if (a->copy) {
			struct shmk_slot_info info;
			rc = shmk_slots_read_slot(s, h, buf, sizeof(buf), &info);
			len = info.sample_size;
			if (!rc && info.sn != h.sn)
				rc = -EPROTO;
		} else {
			rc = shmk_slots_slot_read_ptr(s, h, &p, &len);
		}
		if (rc || h.sn <= prev || len != a->len || !check_fill(p, len, h.sn))
			sh->bad[a->slot]++;
		if (!prev)
			sh->first_sn[a->slot] = h.sn;
		prev = h.sn;
		sh->last_sn[a->slot] = h.sn;
		if (shmk_slots_mark_read(s, h, idx))
			sh->bad[a->slot]++;
		sh->got[a->slot]++;
		bump(&sh->progress);
	}
	shmk_slots_close(s);
	return sh->got[a->slot] == a->expect ? 0 : 6;
}

int main(int argc, char **argv)
{
	return h_main(argc, argv, "slots", NULL, NULL);
}
