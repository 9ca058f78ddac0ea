// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: helpers neither keep a process alive nor adopt orphans:
 * when the last user threads exit together the process ends at once, a
 * child whose parent thread exits is adopted by a user thread (one
 * parent-death signal, not a second one when a helper retires), and a pid
 * namespace's init that handed off still reaps.
 */
#include "syslet-helpers.h"

#include <sched.h>
#include <sys/prctl.h>

/* Rounds of two user threads exiting together. */
#define EXIT_ROUNDS		30
/* A process whose threads all exited is reaped within this (not the 10 s idle timeout). */
#define REAP_SECONDS		3
/* Longer than a parked helper's idle timeout (10 s): one that adopted a child has retired. */
#define HELPER_GONE_MS		12000

static pthread_barrier_t exit_barrier;
static aio_context_t exit_ctx;

static void *exit_thread(void *arg)
{
	(void)arg;
	/* This thread's handoff too, so that both exits are of carried user contexts. */
	if (!sh_wait_parked(1, SH_PARK_MS) || !sh_read_runs(exit_ctx, true))
		_exit(2);
	pthread_barrier_wait(&exit_barrier);
	syscall(SYS_exit, 0);
	return NULL;
}

/* A child whose main thread and one other hand off, then exit together. */
static void exit_together_child(void)
{
	pthread_t th;

	exit_ctx = t_setup_ctx(8);
	if (!sh_warm_up(exit_ctx) || !sh_read_runs(exit_ctx, true))
		_exit(2);
	pthread_barrier_init(&exit_barrier, NULL, 2);
	if (pthread_create(&th, NULL, exit_thread, NULL))
		_exit(3);
	pthread_barrier_wait(&exit_barrier);
	syscall(SYS_exit, 0);
}

static enum t_result test_exit_together(void)
{
	int slow = 0;

	for (int i = 0; i < EXIT_ROUNDS; i++) {
		long long t0 = t_now_us();
		pid_t pid = t_fork();
		int st = 0;

		if (pid == 0)
			exit_together_child();
		if (!t_wait_child(pid, &st, REAP_SECONDS, false)) {
			t_diag("round %d: the process was not reaped within %d s: helpers outlived its last user threads",
			       i, REAP_SECONDS);
			slow++;
			break;
		}
		if (!T_TRUE(WIFEXITED(st)) || !T_EQ(WEXITSTATUS(st), 0))
			break;
		if (t_now_us() - t0 > 2000000)
			t_diag("round %d: reaped after %lld ms", i, (t_now_us() - t0) / 1000);
	}
	T_EQ(slow, 0);
	return t_result();
}

/* Counts @sig, blocked, for HELPER_GONE_MS: the parent-death signals that came. */
static int count_signals(int sig)
{
	long long end = t_now_us() + HELPER_GONE_MS * 1000LL;
	sigset_t set;
	int n = 0;

	sigemptyset(&set);
	sigaddset(&set, sig);
	for (;;) {
		long long left = end - t_now_us();
		struct timespec ts;

		if (left <= 0)
			break;
		ts.tv_sec = left / 1000000;
		ts.tv_nsec = (left % 1000000) * 1000;
		if (sigtimedwait(&set, NULL, &ts) == sig)
			n++;
	}
	return n;
}

/* The thread that forks the child, then exits. */
static void *forking_thread(void *arg)
{
	int sig = SIGRTMIN + 1, ready[2];
	pid_t *kid = arg;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		_exit(4);
	*kid = t_fork();
	if (*kid == 0) {
		sigset_t set;
		int n;

		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0))
			_exit(100);
		if (write(ready[1], "r", 1) != 1)
			_exit(101);
		n = count_signals(sig);
		_exit(n);
	}
	if (read(ready[0], &c, 1) != 1)
		_exit(5);
	close(ready[0]);
	close(ready[1]);
	/* Exits: the child gets its parent-death signal and a new parent. */
	return NULL;
}

static enum t_result thread_exit_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	pid_t kid = -1;
	pthread_t th;
	int st = 0;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	/*
	 * A leader handoff: the former leader, first on the thread list,
	 * parks as a helper once its read ends.
	 */
	T_TRUE(sh_read_runs(ctx, true));
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return T_FAIL;
	if (pthread_create(&th, NULL, forking_thread, &kid))
		t_bail("pthread_create: %s", strerror(errno));
	pthread_join(th, NULL);
	if (!T_TRUE(kid > 0))
		return T_FAIL;
	/* A thread of this process adopted it: waitpid() from any thread finds it. */
	if (T_TRUE(t_wait_child(kid, &st, HELPER_GONE_MS / 1000 + 10, false))) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
			t_diag("a second parent-death signal came: a helper had adopted the child and retired");
		T_TRUE(WIFEXITED(st));
		T_EQ(WEXITSTATUS(st), 1);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_thread_exit(void)
{
	return sh_in_child(thread_exit_child);
}

/*
 * In a new pid namespace: its init (this function, pid 1) hands off from
 * its main thread, then an orphan G is reparented to it.  G arms a
 * parent-death signal once its parent is init: none may come, since init
 * lives, not even when the helper that was init's main task retires.
 */
static void orphan_grandchild(int report)
{
	int sig = SIGRTMIN + 1, n;
	long long end = t_now_us() + 5000000;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	while (getppid() != 1 && t_now_us() < end)
		usleep(1000);
	if (getppid() != 1)
		_exit(100);
	if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0))
		_exit(101);
	if (write(report, "g", 1) != 1)
		_exit(102);
	n = count_signals(sig);
	_exit(n);
}

static enum t_result ns_init(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int p[2], st = 0;
	pid_t x, g = -1;
	char c;

	if (!T_EQ(getpid(), 1))
		return T_FAIL;
	/* Our own /proc, where TIDs are this namespace's (sh_wait_parked() reads it). */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", 0, NULL))
		t_bail("a /proc of the new pid namespace: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		return T_FAIL;
	T_TRUE(sh_read_runs(ctx, true));
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return T_FAIL;
	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	x = t_fork();
	if (x == 0) {
		pid_t kid = t_fork();

		if (kid == 0)
			orphan_grandchild(p[1]);
		if (write(p[1], &kid, sizeof(kid)) != sizeof(kid))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	if (!T_EQ(read(p[0], &g, sizeof(g)), sizeof(g)))
		return T_FAIL;
	T_EQ(waitpid(x, &st, 0), x);
	/* G says when it is ours, armed. */
	if (!T_EQ(read(p[0], &c, 1), 1))
		t_diag("the orphan did not report: never reparented to init?");
	close(p[0]);
	if (T_TRUE(t_wait_child(g, &st, HELPER_GONE_MS / 1000 + 10, false))) {
		if (WIFEXITED(st) && WEXITSTATUS(st) > 0 && WEXITSTATUS(st) < 100)
			t_diag("%d parent-death signal(s) came while init lived: a helper reaped for it",
			       WEXITSTATUS(st));
		T_TRUE(WIFEXITED(st));
		T_EQ(WEXITSTATUS(st), 0);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result pid_ns_child(void)
{
	if (unshare(CLONE_NEWPID))
		t_bail("unshare(CLONE_NEWPID): %s", strerror(errno));
	return sh_in_child(ns_init);
}

static enum t_result test_pid_ns_init(void)
{
	if (!t_is_root())
		return t_skip("a new pid namespace needs CAP_SYS_ADMIN: run as root");
	if (access("/proc/self/ns/pid", F_OK))
		return t_skip("this kernel has no pid namespaces (CONFIG_PID_NS)");
	return sh_in_child(pid_ns_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "two user threads that exit together after handoffs end the process at once",
		  test_exit_together },
		{ "a child of an exiting thread gets its parent-death signal once, not again when a helper retires",
		  test_thread_exit },
		{ "an orphan in a pid namespace whose init handed off gets no parent-death signal",
		  test_pid_ns_init },
	};

	t_require_syslet();
	return T_RUN(cases);
}
