/* SPDX-License-Identifier: MIT */
/* Names for shmkit's return codes; see error.h for the table of causes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shmkit/error.h"
#include "internal.h"

struct shmk_code {
	int code;
	const char *name;
	const char *text;
};

static const struct shmk_code shmk_codes[] = {
	{ SHMK_EBADMAGIC, "SHMK_EBADMAGIC", "bad magic number" },
	{ SHMK_EVERSION, "SHMK_EVERSION", "unsupported layout version" },
	{ SHMK_ENOTINIT, "SHMK_ENOTINIT", "region not initialised" },
	{ SHMK_EINCOMPAT, "SHMK_EINCOMPAT", "incompatible options or missing capability" },
	{ SHMK_ELAYOUT, "SHMK_ELAYOUT", "header fields inconsistent with each other or the mapping" },
	{ SHMK_ETOOSMALL, "SHMK_ETOOSMALL", "region or file too small" },
	{ SHMK_EMISALIGNED, "SHMK_EMISALIGNED", "mapping base misaligned" },
	{ SHMK_EFULL, "SHMK_EFULL", "full: no free slot or space" },
	{ SHMK_EEMPTY, "SHMK_EEMPTY", "empty: nothing pending" },
	{ SHMK_ETOOLARGE, "SHMK_ETOOLARGE", "message or sample too large" },
	{ SHMK_EBUFSMALL, "SHMK_EBUFSMALL", "destination buffer too small" },
	{ SHMK_ERANGE, "SHMK_ERANGE", "index out of range" },
	{ SHMK_EOVERFLOW, "SHMK_EOVERFLOW", "capacity overflow" },
	{ SHMK_EALIGN, "SHMK_EALIGN", "bad alignment" },
	{ SHMK_EBADLEN, "SHMK_EBADLEN", "bad record length" },
	{ SHMK_EINTEGRITY, "SHMK_EINTEGRITY", "peer indices are inconsistent (data integrity)" },
	{ SHMK_EPEERDEAD, "SHMK_EPEERDEAD", "peer closed or dead" },
	{ SHMK_EBUSY, "SHMK_EBUSY", "role held by a live process" },
	{ SHMK_ETRUNCATED, "SHMK_ETRUNCATED", "backing file shrank under the mapping" },
	{ SHMK_EUNSAFE, "SHMK_EUNSAFE", "unsafe path (symlink, foreign owner, wider mode, not a regular file)" },
	{ SHMK_ESTALE, "SHMK_ESTALE", "stale object left by a dead owner" },
	{ SHMK_ESKIPPED, "SHMK_ESKIPPED", "the consumer unblocked our claimed cell: message not sent" },
};

#define N_CODES (sizeof(shmk_codes) / sizeof(shmk_codes[0]))

/* shmkit's own entry for rc, or NULL. */
static const struct shmk_code *own_code(int rc)
{
	for (size_t i = 0; i < N_CODES; i++)
		if (shmk_codes[i].code == rc)
			return &shmk_codes[i];
	return NULL;
}

/* r[impl common.error.names] */
const char *shmk_errname(int rc)
{
	if (rc >= 0)
		return "OK";
	const struct shmk_code *c = own_code(rc);
	return c ? c->name : rc >= -4095 ? strerrorname_np(-rc) : NULL;
}

const char *shmk_strerror(int rc)
{
	if (rc >= 0)
		return "ok";
	const struct shmk_code *c = own_code(rc);
	if (c)
		return c->text;
	if (rc >= -4095) {
		const char *d = strerrordesc_np(-rc);
		return d ? d : "unknown error";
	}
	return "unknown error";
}

static _Thread_local char shmk_detail_buf[256];
/* r[impl common.error.detail] A failure without a specific reason (one of
 * the SHMK_FAIL sites) records only where it happened and its code: two
 * stores, no formatting, because some of them are hot (an empty try_recv
 * polled in a loop).  shmk_errdetail() formats on demand. */
_Thread_local struct shmk_detail_at shmk__detail_at __attribute__((tls_model("initial-exec")));

const char *shmk_errdetail(void)
{
	const char *site = shmk__detail_at.site;
	int rc = shmk__detail_at.rc;

	if (site) {
		snprintf(shmk_detail_buf, sizeof(shmk_detail_buf), "%s: %s (%s)", site,
			 shmk_strerror(rc), shmk_errname(rc) ? shmk_errname(rc) : "?");
		shmk__detail_at.site = NULL;
	}
	return shmk_detail_buf;
}

int shmk_fail(int rc, const char *fmt, ...)
{
	va_list ap;

	shmk__detail_at.site = NULL;
	va_start(ap, fmt);
	vsnprintf(shmk_detail_buf, sizeof(shmk_detail_buf), fmt, ap);
	va_end(ap);
	return rc;
}

int shmk_fail_at(int rc, const char *site)
{
	return shmk__fail_here(rc, site);
}

void shmk_clear_detail(void)
{
	shmk__detail_at.site = NULL;
	shmk_detail_buf[0] = '\0';
}
