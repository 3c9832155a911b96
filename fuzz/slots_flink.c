/* SPDX-License-Identifier: MIT */
/*
 * slots_flink: flink parsing.  The input is the flink's content (and how
 * the flink file looks); attach and reclaim_stale read it.  A real segment
 * made by the library exists under the name "/shmk-fuzz-seg", so a content
 * that names it reaches the segment checks.
 *
 * Input: [kind u8][content ...]
 *   kind bit 0-1: regular 0600 / mode 0644 / symlink to a good flink / FIFO
 *   kind bit 2: the segment's owner is dead; bit 3: reclaim_stale too
 */
#include <sys/mman.h>

#include "common.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

const char *const shmk_fuzz_clauses[] = {
	"slots.flink.content",
	"slots.flink.safe",
	"slots.stale.reclaim",
	NULL,
};

#define SEG "/shmk-fuzz-seg"

static char flink[128], good[128];
static uint8_t image[SHMK_SLOTS_HDR_SIZE + 4 * 128];

static bool name_ok(const uint8_t *c, size_t n)
{
	if (n && c[n - 1] == '\n')
		n--;
	if (n < 2 || n > 255 || c[0] != '/')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= 'A' && c[i] <= 'Z') ||
		      (c[i] >= '0' && c[i] <= '9') || c[i] == '-' || c[i] == '_' || c[i] == '.'))
			return false;
	return !(n == 2 && c[1] == '.') && !(n == 3 && c[1] == '.' && c[2] == '.');
}

static void ensure_segment(void)
{
	int fd = shm_open(SEG, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	pwrite(fd, image, sizeof(image), 0);
	close(fd);
}

static int setup(void)
{
	struct shmk_slots *o;
	char fl[128];

	fz_init();
	snprintf(fl, sizeof(fl), FZ_DIR "/owner-%d.flink", (int)getpid());
	unlink(fl);
	if (shmk_slots_create(fl, 4, 64, &o))
		return -1;
	int fd = shm_open(shmk_slots_shm_name(o), O_RDONLY, 0);
	pread(fd, image, sizeof(image), 0);
	close(fd);
	shmk_slots_close(o);
	/* the owner's token stays ours (alive) and its state LIVE */
	struct shmk_slots_hdr *h = (void *)image;
	atomic_store(&h->owner_state, SHMK_SLOTS_OWNER_LIVE);
	ensure_segment();
	snprintf(flink, sizeof(flink), FZ_DIR "/fz-%d.flink", (int)getpid());
	snprintf(good, sizeof(good), FZ_DIR "/good-%d.flink", (int)getpid());
	fz_write_file(good, SEG "\n", sizeof(SEG), sizeof(SEG));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		if (setup())
			return 0;
		ready = 1;
	}
	fz_live_reset();
	if (!size)
		return 0;
	uint8_t kind = data[0];
	const uint8_t *c = data + 1;
	size_t n = size - 1;
	if (kind & 4)
		fz_kill(shmk_self_token());
	unlink(flink);
	switch (kind & 3) {
	case 0: fz_write_file(flink, c, n, n); break;
	case 1:
		fz_write_file(flink, c, n, n);
		chmod(flink, 0644);
		break;
	case 2: symlink(good, flink); break;
	default: mkfifo(flink, 0600); break;
	}
	ensure_segment();

	struct shmk_slots *s = NULL;
	int rc = shmk_slots_attach(flink, &s);
	fz_rc(rc);
	if ((kind & 3) != 0) {
		/* slots.flink.safe: wider mode, symlink, not a regular file */
		FUZZ_ASSERT(rc == SHMK_EUNSAFE);
	} else if (!name_ok(c, n) || n > 256) {
		/* slots.flink.content */
		FUZZ_ASSERT(rc == SHMK_ELAYOUT);
	} else if (rc == 0) {
		/* what it attached is the segment the flink names */
		size_t k = c[n - 1] == '\n' ? n - 1 : n;
		FUZZ_ASSERT(strlen(shmk_slots_shm_name(s)) == k &&
			    !memcmp(shmk_slots_shm_name(s), c, k));
	}
	if (s)
		FUZZ_ASSERT(shmk_slots_close(s) == 0);
	if (kind & 8) {
		rc = shmk_slots_reclaim_stale(flink);
		fz_rc(rc);
		if ((kind & 3) == 0 && rc == 0)
			FUZZ_ASSERT(name_ok(c, n)); /* slots.stale.reclaim */
	}
	return 0;
}

size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	static const char *const seeds[] = { "\0/shmk-fuzz-seg\n", "\0/shmk-fuzz-seg",
					     "\x0c/shmk-fuzz-seg\n", "\0/no-such-seg\n",
					     "\0/../etc\n", "\x01/shmk-fuzz-seg\n", "\x02",
					     "\x03", "\0/a\nb" };
	if (i >= sizeof(seeds) / sizeof(seeds[0]) || max < 64)
		return 0;
	size_t n = 1 + strlen(seeds[i] + 1);
	memcpy(out, seeds[i], n);
	return n;
}
