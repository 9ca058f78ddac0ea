// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: per-thread state a thread sets on itself after its helper
 * parked reads back the same after a handoff: personality, timer slack,
 * scheduling policy and nice (SCHED_BATCH, SCHED_IDLE, SCHED_FIFO); a
 * CLOCK_MONOTONIC timer aimed at the thread's TID (SIGEV_THREAD_ID) fires
 * once, in that thread, while its read is handed off; a thread pidfd
 * (PIDFD_THREAD) signals the thread and does not report it exited; and a
 * child forked with PR_SET_PDEATHSIG before a handoff gets no signal
 * when the former head retires.  In the thread-group leader and in a
 * second thread where that differs.
 */
#include "syslet-helpers.h"

#include <poll.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD	O_EXCL
#endif
#ifndef SCHED_BATCH
#define SCHED_BATCH	3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE	5
#endif

#define SLACK_NS	123457UL

/*
 * One read of an empty pipe handed off, then completed: the state set
 * before must read back the same after (the caller checks).
 */
static bool one_handoff(aio_context_t ctx)
{
	return T_TRUE(sh_wait_parked(1, SH_PARK_MS)) && T_TRUE(sh_read_runs(ctx, true));
}

static enum t_result personality_slack(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int want = PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26;
	int old = personality(0xffffffff);

	if (!sh_warm_up(ctx))
		return T_FAIL;
	T_EQ(personality(want), old);
	T_EQ(prctl(PR_SET_TIMERSLACK, SLACK_NS, 0, 0, 0), 0);
	one_handoff(ctx);
	T_EQ(personality(0xffffffff), want);
	T_EQ(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), (long)SLACK_NS);
	T_EQ(personality(old), want);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_personality_leader(void)
{
	return sh_in_child(personality_slack);
}

static enum t_result test_personality_thread(void)
{
	return sh_in_child_thread(personality_slack);
}

struct policy_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

static void set_policy(uint32_t policy, int nice, uint32_t prio)
{
	struct policy_attr a = {
		.size = sizeof(a), .sched_policy = policy, .sched_nice = nice, .sched_priority = prio,
	};

	if (syscall(SYS_sched_setattr, 0, &a, 0))
		t_bail("sched_setattr(policy %u, nice %d, priority %u): %s", policy, nice, prio,
		       strerror(errno));
}

static bool policy_is(uint32_t policy, int nice, uint32_t prio)
{
	struct policy_attr a;
	bool ok;

	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0))
		t_bail("sched_getattr: %s", strerror(errno));
	ok = T_EQ(a.sched_policy, policy);
	ok &= T_EQ(a.sched_priority, prio);
	if (policy != SCHED_FIFO) {
		ok &= T_EQ(a.sched_nice, nice);
		errno = 0;
		ok &= T_EQ(getpriority(PRIO_PROCESS, sh_gettid()), nice);
	}
	return ok;
}

/* The thread sets its own policy after its helper parked; each survives a handoff. */
static enum t_result policies(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	static const struct { uint32_t policy; int nice; uint32_t prio; } steps[] = {
		{ SCHED_BATCH, 5, 0 },
		/* nice is no SCHED_IDLE parameter: BATCH's 5 stays, as on stock. */
		{ SCHED_IDLE, 5, 0 },
		{ SCHED_FIFO, 0, 1 },
		{ SCHED_OTHER, 3, 0 },
	};

	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		set_policy(steps[i].policy, steps[i].nice, steps[i].prio);
		if (!one_handoff(ctx))
			t_diag("policy %u: the read did not hand off", steps[i].policy);
		if (!policy_is(steps[i].policy, steps[i].nice, steps[i].prio))
			t_diag("policy %u, nice %d, priority %u: not kept", steps[i].policy,
			       steps[i].nice, steps[i].prio);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_policies_leader(void)
{
	if (!t_is_root())
		return t_skip("SCHED_FIFO and a lower nice value need root");
	return sh_in_child(policies);
}

static enum t_result test_policies_thread(void)
{
	if (!t_is_root())
		return t_skip("SCHED_FIFO and a lower nice value need root");
	return sh_in_child_thread(policies);
}

/* What the timer's and the pidfd's signals record. */
static atomic_int sig_count;
static atomic_int sig_tid;
static atomic_int sig_code;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	atomic_fetch_add(&sig_count, 1);
	atomic_store(&sig_tid, sh_gettid());
	atomic_store(&sig_code, si->si_code);
}

static void catch_usr1(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART };

	atomic_store(&sig_count, 0);
	atomic_store(&sig_tid, 0);
	atomic_store(&sig_code, 0);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		t_bail("sigaction SIGUSR1: %s", strerror(errno));
}

/* Waits up to @ms for @n SIGUSR1s; returns how many came. */
static int wait_usr1(int n, int ms)
{
	long long deadline = t_now_us() + ms * 1000LL;

	while (atomic_load(&sig_count) < n && t_now_us() < deadline)
		usleep(1000);
	return atomic_load(&sig_count);
}

/*
 * A CLOCK_MONOTONIC timer aimed at this thread (SIGEV_THREAD_ID), due
 * while the thread's read is handed off and still blocked: it fires
 * once, in this thread, and the read completes after.
 */
static enum t_result thread_timer(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1 };
	struct itimerspec its = { .it_value = { 0, 200 * 1000000L } };
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_block b;
	timer_t timer;

	catch_usr1();
	sev._sigev_un._tid = sh_gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
		t_bail("timer_create(CLOCK_MONOTONIC, SIGEV_THREAD_ID): %s", strerror(errno));
	if (!sh_warm_up(ctx) || !T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return T_FAIL;
	if (sh_handoff(&b, ctx, SH_READ_DATA)) {
		T_EQ(timer_settime(timer, 0, &its, NULL), 0);
		T_EQ(wait_usr1(1, 3000), 1);
		T_EQ(atomic_load(&sig_tid), sh_gettid());
		T_EQ(atomic_load(&sig_code), SI_TIMER);
		/* The read, still handed off, has no event yet. */
		T_NO_EVENT(ctx, 0);
	}
	T_TRUE(sh_block_finish(&b));
	usleep(100 * 1000);
	T_EQ(atomic_load(&sig_count), 1);
	T_EQ(timer_delete(timer), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_timer_leader(void)
{
	return sh_in_child(thread_timer);
}

static enum t_result test_timer_thread(void)
{
	return sh_in_child_thread(thread_timer);
}

/*
 * pidfd_open(gettid(), PIDFD_THREAD) before a handoff: after it (and
 * after the former head parked again) the pidfd still signals this
 * thread, and poll() does not report it exited.
 */
static enum t_result thread_pidfd(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct pollfd pfd;
	int fd;

	catch_usr1();
	fd = (int)syscall(SYS_pidfd_open, sh_gettid(), PIDFD_THREAD);
	if (fd < 0) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("pidfd_open(gettid(), PIDFD_THREAD): %s (before 6.9)", strerror(errno));
	}
	if (!sh_warm_up(ctx))
		return T_FAIL;
	one_handoff(ctx);
	T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	T_EQ(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0), 0);
	T_EQ(wait_usr1(1, 3000), 1);
	T_EQ(atomic_load(&sig_tid), sh_gettid());
	/* A thread pidfd's signal is a tkill()'s. */
	T_EQ(atomic_load(&sig_code), SI_TKILL);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	T_EQ(poll(&pfd, 1, 0), 0);
	close(fd);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_pidfd_leader(void)
{
	return sh_in_child(thread_pidfd);
}

static enum t_result test_pidfd_thread(void)
{
	return sh_in_child_thread(thread_pidfd);
}

/*
 * A child forked before a handoff asks for SIGUSR1 when its parent
 * thread dies (PR_SET_PDEATHSIG): the thread that forked it lives on
 * under its TID, so when the former head, now a parked helper, retires
 * (unshare(CLONE_SIGHAND) in a process of one user thread retires parked
 * helpers), the child gets nothing, and its parent is still this process.
 */
static enum t_result pdeath_child_kept(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int up[2], st = 0;
	pid_t kid, me = getpid();
	char c = 0;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	if (pipe2(up, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	kid = t_fork();
	if (kid == 0) {
		sigset_t set;
		siginfo_t si;
		struct timespec wait = { 5, 0 };

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) || getppid() != me)
			_exit(2);
		if (write(up[1], "r", 1) != 1)
			_exit(3);
		/* SIGTERM from the parent ends the wait; SIGUSR1 would be the bug. */
		if (sigtimedwait(&set, &si, &wait) != SIGTERM)
			_exit(4);
		_exit(getppid() == me ? 0 : 5);
	}
	close(up[1]);
	T_EQ(read(up[0], &c, 1), 1);
	close(up[0]);
	/* The forking task's user context moves to a helper; it parks. */
	one_handoff(ctx);
	T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	T_EQ(unshare(CLONE_SIGHAND), 0);
	T_EQ(sh_parked_helpers(), 0);
	usleep(300 * 1000);
	T_EQ(kill(kid, SIGTERM), 0);
	if (T_TRUE(t_wait_child(kid, &st, 10, false))) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 4)
			t_diag("the child got SIGUSR1 (its parent-death signal), or nothing");
		T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_pdeath_child(void)
{
	return sh_in_child(pdeath_child_kept);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: personality and timer slack set after the helper parked are kept",
		  test_personality_leader },
		{ "thread: personality and timer slack set after the helper parked are kept",
		  test_personality_thread },
		{ "leader: SCHED_BATCH nice 5, SCHED_IDLE, SCHED_FIFO 1, SCHED_OTHER nice 3: each kept",
		  test_policies_leader },
		{ "thread: SCHED_BATCH nice 5, SCHED_IDLE, SCHED_FIFO 1, SCHED_OTHER nice 3: each kept",
		  test_policies_thread },
		{ "leader: a SIGEV_THREAD_ID timer fires once, in this thread, while its read is handed off",
		  test_timer_leader },
		{ "thread: a SIGEV_THREAD_ID timer fires once, in this thread, while its read is handed off",
		  test_timer_thread },
		{ "leader: a PIDFD_THREAD pidfd still signals the thread and does not poll as exited",
		  test_pidfd_leader },
		{ "thread: a PIDFD_THREAD pidfd still signals the thread and does not poll as exited",
		  test_pidfd_thread },
		{ "a child with PR_SET_PDEATHSIG forked before a handoff gets nothing when the former head retires",
		  test_pdeath_child },
	};

	t_require_syslet();
	return T_RUN(cases);
}
