/* SPDX-License-Identifier: MIT */
/* events tests: the helpers the files share, and main(). */
#include "events_test.h"

/* ------------------------------------------------------------ helpers */

char *new_path(void)
{
	static char buf[PATH_MAX];

	return (char *)h_unique_path(buf, sizeof(buf), "ev");
}

struct shmk_events *must_open(const char *path, const struct shmk_events_opts *o)
{
	struct shmk_events *r = NULL;
	int rc = shmk_events_open_path_with(path, o, &r);

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return r;
}

int evq_attach(struct evq *q, const char *path, int mpsc)
{
	*q = (struct evq){ .path = path, .mpsc = mpsc };
	int rc = shmk_events_open_path(path, &q->r);
	if (rc)
		return rc;
	q->l = LAYOUT(q->r);
	return (mpsc ? shmk_events_split_mpsc : shmk_events_split_spsc)(q->r, &q->tx, &q->rx);
}

void evq_open(struct evq *q, int mpsc)
{
	CU_ASSERT_EQUAL_FATAL(evq_attach(q, new_path(), mpsc), 0);
}

void evq_close(struct evq *q, bool remove)
{
	shmk_events_tx_close(q->tx);
	shmk_events_rx_close(q->rx);
	shmk_events_close(q->r);
	if (remove)
		unlink(q->path);
}

struct shmk_events_wake *ev_wake_of(struct shmk_events *r)
{
	return (void *)((uint8_t *)shmk_events_as_ptr(r, NULL) + SHMK_EVENTS_BASE_BYTES);
}

struct shmk_events_rx *ev_blocking_rx(const char *path, struct shmk_events **r)
{
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	*r = must_open(path, &o);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(*r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	return rx;
}

/* Message: u32 producer, u32 seq, u32 crc, then payload; the crc covers the
 * producer, the sequence and the payload. */
size_t make_msg(uint8_t *buf, uint32_t prod, uint32_t seq)
{
	size_t plen = (seq * 7u + prod * 13u) % 200u;

	memcpy(buf, &prod, 4);
	memcpy(buf + 4, &seq, 4);
	for (size_t i = 0; i < plen; i++)
		buf[12 + i] = (uint8_t)(seq + i * 3 + prod);
	uint32_t crc = t_crc32(0, buf, 8);
	crc = t_crc32(crc, buf + 12, plen);
	memcpy(buf + 8, &crc, 4);
	return 12 + plen;
}

/* 0 ok, -1 corrupt; *prod, *seq out */
int check_msg(const uint8_t *buf, size_t len, uint32_t *prod, uint32_t *seq)
{
	uint32_t crc;

	if (len < 12)
		return -1;
	memcpy(prod, buf, 4);
	memcpy(seq, buf + 4, 4);
	memcpy(&crc, buf + 8, 4);
	uint32_t c = t_crc32(0, buf, 8);
	c = t_crc32(c, buf + 12, len - 12);
	if (c != crc || len != 12 + (*seq * 7u + *prod * 13u) % 200u)
		return -1;
	return 0;
}

int open_job_fn(void *a)
{
	struct open_job *j = a;
	struct shmk_events *r = NULL;

	j->rc = shmk_events_open_path_with(j->path, &j->o, &r);
	shmk_events_close(r);
	return 0;
}

/* Opens path in a separate process and returns what open returned there. */
int open_in_child(const char *path, const struct shmk_events_opts *o)
{
	struct open_job *j = t_shared_alloc(sizeof(*j));

	j->path = path;
	j->o = o ? *o : (struct shmk_events_opts){ 0 };
	j->rc = 12345;
	pid_t pid = t_fork_run(open_job_fn, j);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	int rc = j->rc;
	t_shared_free(j, sizeof(*j));
	return rc;
}

struct shmk_events_header *map_hdr(const char *path, int *fd)
{
	*fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(*fd >= 0);
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	CU_ASSERT_FATAL(p != MAP_FAILED);
	return p;
}

void unmap_hdr(struct shmk_events_header *h, int fd)
{
	munmap(h, 4096);
	close(fd);
}

int mapped(const char *path)
{
	char line[PATH_MAX + 256];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, path))
			found = 1;
	fclose(f);
	return found;
}

pid_t spawn_with_env(const char *role, const char *const *args, const char *var,
		     const char *val)
{
	setenv(var, val, 1);
	pid_t pid = h_spawn_role(role, args);
	unsetenv(var);
	return pid;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	return h_main(argc, argv, "events", NULL, NULL);
}
