// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: scheduling state the user set follows the user context
 * through a handoff, even when set after the helper was made:
 * SCHED_RESET_ON_FORK, and the CPU mask asked for with
 * sched_setaffinity(), which must not be narrowed by the mask the thread
 * had when the helper was made.  A thread that does not lead keeps its
 * start time (/proc/thread-self/stat).
 */
#include "syslet-helpers.h"

#include <sched.h>

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK	0x40000000
#endif

static enum t_result reset_on_fork_child(void)
{
	struct sched_param sp = { 0 };
	aio_context_t ctx = t_setup_ctx(8);

	if (!sh_warm_up(ctx))
		return T_FAIL;
	/* Set after the parked helper was made: it does not have it. */
	if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp))
		t_bail("sched_setscheduler(SCHED_OTHER | SCHED_RESET_ON_FORK): %s", strerror(errno));
	T_EQ(sched_getscheduler(0), SCHED_OTHER | SCHED_RESET_ON_FORK);
	for (int i = 0; i < 2; i++) {
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		T_TRUE(sh_read_runs(ctx, true));
		if (!T_EQ(sched_getscheduler(0), SCHED_OTHER | SCHED_RESET_ON_FORK))
			t_diag("handoff %d lost SCHED_RESET_ON_FORK", i);
	}
	/* Cleared: that follows too. */
	if (sched_setscheduler(0, SCHED_OTHER, &sp))
		t_bail("sched_setscheduler(SCHED_OTHER): %s", strerror(errno));
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(sched_getscheduler(0), SCHED_OTHER);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_reset_on_fork(void)
{
	return sh_in_child(reset_on_fork_child);
}

static void set_affinity(const cpu_set_t *set)
{
	if (sched_setaffinity(0, sizeof(*set), set))
		t_bail("sched_setaffinity: %s", strerror(errno));
}

/*
 * Pinned to its last allowed CPU while its helper is made, the thread
 * then widens its mask to every allowed CPU: after the handoff
 * sched_getaffinity() gives the wide mask, not the pinned one.  Then it
 * narrows to its first CPU, which the next handoff keeps.
 */
static enum t_result affinity_child(void)
{
	cpu_set_t allowed, one, got;
	aio_context_t ctx;
	int a, z;

	sh_allowed_cpus(&allowed, &a, &z);
	if (a == z)
		return t_skip("one CPU allowed: no mask to narrow");
	ctx = t_setup_ctx(8);
	CPU_ZERO(&one);
	CPU_SET(z, &one);
	set_affinity(&one);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	set_affinity(&allowed);
	T_TRUE(sh_read_runs(ctx, true));
	if (sched_getaffinity(0, sizeof(got), &got))
		t_bail("sched_getaffinity: %s", strerror(errno));
	if (!T_TRUE(CPU_EQUAL(&got, &allowed)))
		t_diag("after the handoff %d CPUs allowed, want %d (CPU %d %s)", CPU_COUNT(&got),
		       CPU_COUNT(&allowed), a, CPU_ISSET(a, &got) ? "in" : "missing");
	CPU_ZERO(&one);
	CPU_SET(a, &one);
	set_affinity(&one);
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	if (sched_getaffinity(0, sizeof(got), &got))
		t_bail("sched_getaffinity: %s", strerror(errno));
	T_TRUE(CPU_EQUAL(&got, &one));
	T_EQ(sched_getcpu(), a);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_affinity(void)
{
	return sh_in_child(affinity_child);
}

/* Field 22 of /proc/thread-self/stat: the start time, in clock ticks. */
static unsigned long long start_ticks(void)
{
	unsigned long long st = 0;
	char buf[1024], *p;
	int field = 3;

	sh_read_file("/proc/thread-self/stat", buf, sizeof(buf));
	/* comm may hold spaces; the fields after it start past the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		t_bail("cannot parse /proc/thread-self/stat: %s", buf);
	for (p += 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &st) != 1)
		t_bail("no start time in /proc/thread-self/stat: %s", buf);
	return st;
}

static enum t_result start_time_thread(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	unsigned long long before, after;

	/* The helper is made 100 ms (10 ticks at USER_HZ 100) after this thread. */
	usleep(100000);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	before = start_ticks();
	for (int i = 0; i < 2; i++) {
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		T_TRUE(sh_read_runs(ctx, true));
		after = start_ticks();
		if (!T_EQ(after, before))
			t_diag("handoff %d: start time %llu ticks, was %llu", i, after, before);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result start_time_child(void)
{
	return sh_in_thread(start_time_thread);
}

static enum t_result test_start_time(void)
{
	return sh_in_child(start_time_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "SCHED_RESET_ON_FORK set after the helper was made survives 2 handoffs; cleared, stays clear",
		  test_reset_on_fork },
		{ "a thread pinned when its helper was made, then widened, keeps the wide mask; pinned again, the pin",
		  test_affinity },
		{ "a second thread's start time is the same after 2 handoffs", test_start_time },
	};

	t_require_syslet();
	return T_RUN(cases);
}
