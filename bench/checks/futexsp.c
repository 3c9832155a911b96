/* SPDX-License-Identifier: MIT */
/*
 * futexsp.c - bench/checks/futexsp.sh's program: the ends of futexsp.h's
 * receive, in one process (no benchmark runs).  A failing peer sets stop
 * and pokes the word its measurer waits on: the poke must not pass for the
 * reply the measurer waits for (else a made-up floor sample is recorded
 * and the peer's message lost); and a measurer parked on a dead peer must
 * come back (else `make bench` hangs).  Prints ok / FAIL lines.
 */
#include <signal.h>
#include <stdlib.h>

#include "futexsp.h"

/* The run's liveness check, as the measurer sees it (common.c's reaps the
 * peer): here the peer is dead from the start. */
static unsigned alive_calls;
bool bc_run_alive(struct bc_run *r)
{
	(void)r;
	alive_calls++;
	return false;
}

static int fails;
static void expect(bool good, const char *what)
{
	printf("%s: %s\n", good ? "ok" : "FAIL", what);
	fails += !good;
}

static void hung(int sig)
{
	(void)sig;
	static const char m[] = "FAIL: a wait on a dead peer did not come back in 2 s\n";
	(void)!write(1, m, sizeof m - 1);
	_exit(1);
}

int main(void)
{
	struct bc_ctl c;
	struct fsp_count n = {0, 0};
	_Atomic uint32_t w, waiters;
	memset(&c, 0, sizeof c);
	setvbuf(stdout, NULL, _IONBF, 0);

	/* the peer answered stamp 5 (the last reply), then failed before 7 */
	atomic_store(&w, 5);
	atomic_store(&waiters, 0);
	atomic_store_explicit(&c.stop, 1, memory_order_relaxed);
	fsp_poke(&w, &n);
	expect(fsp_recv(&w, &waiters, 7, &c, NULL, &n) == FSP_STOPPED,
	       "a failing peer's poke is no reply: the wait says stopped");
	expect(fsp_recv(&w, &waiters, 5, &c, NULL, &n) == FSP_STOPPED,
	       "nor is it the last reply again");

	/* no reply, no stop, the peer dead: one park's timeout, then the
	 * liveness check */
	struct bc_run r;
	memset(&r, 0, sizeof r);
	atomic_store(&w, 5);
	atomic_store_explicit(&c.stop, 0, memory_order_relaxed);
	signal(SIGALRM, hung);
	alarm(2);
	int rc = fsp_recv(&w, &waiters, 7, &c, &r, &n);
	alarm(0);
	expect(rc == FSP_DEAD && alive_calls == 1,
	       "a measurer parked on a dead peer comes back after one park's timeout");
	expect(atomic_load(&waiters) == 0, "and takes back its announcement");
	return fails ? 1 : 0;
}
