// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a thread's CPU clock and its CPU timers follow its user
 * context through a handoff.  The clock (CLOCK_THREAD_CPUTIME_ID,
 * RUSAGE_THREAD, /proc/thread-self/stat and schedstat) reads on from where
 * it stood, never back from the helper's few microseconds; a thread CPU
 * timer armed before a handoff still fires for the thread, and one armed
 * after it fires after the CPU time it was set for, not later.
 */
#include "syslet-helpers.h"

#include <sys/resource.h>

/* CPU time burnt before a handoff: what a broken clock would lose. */
#define BURN_MS		300
/* A thread CPU timer's interval, and the CPU time allowed for it to fire. */
#define TIMER_MS	100
#define TIMER_LIMIT_MS	400

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static int64_t ns_of(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		t_bail("clock_gettime(%d): %s", (int)clock, strerror(errno));
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t thread_ns(void)
{
	return ns_of(CLOCK_THREAD_CPUTIME_ID);
}

/* Spins until the thread's CPU clock has advanced @ms. */
static void burn_ms(unsigned int ms)
{
	int64_t end = thread_ns() + (int64_t)ms * 1000000;

	while (thread_ns() < end)
		;
}

/* The thread's own user+system time, in microseconds, by getrusage(). */
static int64_t rusage_thread_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		t_bail("getrusage(RUSAGE_THREAD): %s", strerror(errno));
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* utime + stime of /proc/thread-self/stat, in clock ticks. */
static long long stat_ticks(void)
{
	unsigned long long ut, st;
	char buf[1024], *p;

	sh_read_file("/proc/thread-self/stat", buf, sizeof(buf));
	/* The fields after comm, which may hold anything but ends at the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		t_bail("cannot parse /proc/thread-self/stat: %s", buf);
	return (long long)(ut + st);
}

/* The first field of /proc/thread-self/schedstat: CPU time in ns. */
static long long schedstat_ns(void)
{
	long long ns = -1;
	char buf[128];

	sh_read_file("/proc/thread-self/schedstat", buf, sizeof(buf));
	if (sscanf(buf, "%lld", &ns) != 1)
		t_bail("cannot parse /proc/thread-self/schedstat: %s", buf);
	return ns;
}

struct clocks {
	int64_t thread_ns, process_ns, rusage_us;
	long long ticks, sched_ns;
};

static void read_clocks(struct clocks *c)
{
	c->thread_ns = thread_ns();
	c->rusage_us = rusage_thread_us();
	c->ticks = stat_ticks();
	c->sched_ns = schedstat_ns();
	c->process_ns = ns_of(CLOCK_PROCESS_CPUTIME_ID);
}

/* Every reading after a handoff is at least the one before it. */
static bool clocks_went_on(const struct clocks *a, const struct clocks *b)
{
	bool ok = true;

	ok &= T_TRUE(b->thread_ns >= a->thread_ns);
	ok &= T_TRUE(b->rusage_us >= a->rusage_us);
	ok &= T_TRUE(b->ticks >= a->ticks);
	ok &= T_TRUE(b->sched_ns >= a->sched_ns);
	/* The process total holds the thread's time, wherever it ran. */
	ok &= T_TRUE(b->process_ns >= b->thread_ns);
	if (!ok)
		t_diag("before: thread %lld ns, rusage %lld us, %lld ticks, schedstat %lld ns; "
		       "after: %lld ns, %lld us, %lld ticks, %lld ns, process %lld ns",
		       (long long)a->thread_ns, (long long)a->rusage_us, a->ticks, a->sched_ns,
		       (long long)b->thread_ns, (long long)b->rusage_us, b->ticks, b->sched_ns,
		       (long long)b->process_ns);
	return ok;
}

static enum t_result clock_scenario(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct clocks before, after;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (int i = 0; i < 3; i++) {
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		burn_ms(BURN_MS);
		read_clocks(&before);
		/* A fresh helper's own clock reads almost nothing. */
		T_TRUE(before.thread_ns >= (int64_t)BURN_MS * 1000000 * (i + 1));
		if (!T_TRUE(sh_read_runs(ctx, true)))
			t_diag("read %d did not hand off", i);
		read_clocks(&after);
		if (!clocks_went_on(&before, &after))
			t_diag("handoff %d: the thread's CPU clock went back", i);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_clock_leader(void)
{
	return sh_in_child(clock_scenario);
}

static enum t_result clock_in_thread(void)
{
	return sh_in_thread(clock_scenario);
}

static enum t_result test_clock_thread(void)
{
	return sh_in_child(clock_in_thread);
}

/* A one-shot CPU timer on the thread's clock, signalling SIGRTMIN to the thread. */
static timer_t thread_timer(unsigned int ms)
{
	struct sigevent sev = { 0 };
	struct itimerspec its = { 0 };
	timer_t timer;

	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN;
	sev.sigev_value.sival_int = 0x5157;
	sev.sigev_notify_thread_id = sh_gettid();
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer))
		t_bail("timer_create(CLOCK_THREAD_CPUTIME_ID): %s", strerror(errno));
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	if (timer_settime(timer, 0, &its, NULL))
		t_bail("timer_settime: %s", strerror(errno));
	return timer;
}

/*
 * Spins until SIGRTMIN is pending for the thread, or its CPU clock has
 * advanced @limit_ms from @from_ns; returns the clock's advance then, in
 * ms, or -1 with no signal.  The clock is read after the pending check:
 * read before it, a timer that fired in between would be seen pending at
 * a reading from before its expiry (99 ms of a 100 ms timer, once in CI).
 */
static long long spin_for_signal(int64_t from_ns, unsigned int limit_ms)
{
	int64_t now;
	sigset_t pending;

	for (;;) {
		if (sigpending(&pending))
			t_bail("sigpending: %s", strerror(errno));
		now = thread_ns();
		if (sigismember(&pending, SIGRTMIN))
			return (now - from_ns) / 1000000;
		if (now - from_ns >= (int64_t)limit_ms * 1000000)
			return -1;
	}
}

/* Exactly one timer signal is pending: it is taken, with its value. */
static bool one_timer_signal(void)
{
	struct timespec zero = { 0, 0 };
	siginfo_t si;
	sigset_t set;
	bool ok;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	ok = T_EQ(sigtimedwait(&set, &si, &zero), SIGRTMIN);
	ok &= T_EQ(si.si_code, SI_TIMER);
	ok &= T_EQ(si.si_value.sival_int, 0x5157);
	ok &= T_ERRNO(sigtimedwait(&set, &si, &zero), EAGAIN);
	return ok;
}

/*
 * The thread timer armed when the thread's CPU clock read @armed fires
 * once, after TIMER_MS of that clock and within TIMER_LIMIT_MS; @when
 * ("before", "after") places the arming against the handoff.
 */
static bool timer_fired(int64_t armed, const char *when)
{
	long long advance = spin_for_signal(armed, TIMER_LIMIT_MS);

	if (!T_TRUE(advance >= TIMER_MS)) {
		t_diag("the timer armed %d ms of CPU %s the handoff: %lld ms (-1: no signal in %d ms)",
		       TIMER_MS, when, advance, TIMER_LIMIT_MS);
		return false;
	}
	return one_timer_signal();
}

static void block_timer_signal(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		t_bail("sigprocmask: %s", strerror(errno));
}

/*
 * A timer armed before the handoff: it stays with the thread.  On a
 * kernel that leaves it on the former head, it measures a parked task
 * and never fires.
 */
static enum t_result timer_before_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct itimerspec its;
	int64_t armed;
	timer_t timer;

	block_timer_signal();
	if (!sh_warm_up(ctx))
		return T_FAIL;
	armed = thread_ns();
	timer = thread_timer(TIMER_MS);
	burn_ms(TIMER_MS / 4);
	T_TRUE(sh_read_runs(ctx, true));
	timer_fired(armed, "before");
	if (timer_gettime(timer, &its))
		t_bail("timer_gettime: %s", strerror(errno));
	T_EQ(its.it_value.tv_sec, 0);
	T_EQ(its.it_value.tv_nsec, 0);
	T_EQ(timer_delete(timer), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_timer_before(void)
{
	return sh_in_child(timer_before_child);
}

/*
 * A timer armed after the handoff, by a thread whose clock carries the
 * CPU time of the task before: it fires after TIMER_MS of the thread's
 * CPU time, not TIMER_MS after the helper's own counters reach the reading.
 */
static enum t_result timer_after_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int64_t armed;
	timer_t timer;

	block_timer_signal();
	if (!sh_warm_up(ctx))
		return T_FAIL;
	burn_ms(2 * TIMER_LIMIT_MS);
	T_TRUE(sh_read_runs(ctx, true));
	armed = thread_ns();
	timer = thread_timer(TIMER_MS);
	timer_fired(armed, "after");
	T_EQ(timer_delete(timer), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_timer_after(void)
{
	return sh_in_child(timer_after_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "the main thread's CPU clock, rusage, stat and schedstat go on through 3 handoffs",
		  test_clock_leader },
		{ "a second thread's CPU clock, rusage, stat and schedstat go on through 3 handoffs",
		  test_clock_thread },
		{ "a thread CPU timer armed before a handoff fires once, for the thread",
		  test_timer_before },
		{ "a thread CPU timer armed after a handoff fires after its CPU time, not later",
		  test_timer_after },
	};

	t_require_syslet();
	return T_RUN(cases);
}
