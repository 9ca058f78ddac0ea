// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: syslet helpers are threads of the process, bounded, with every signal blocked, and gone with it. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* SigBlk blocking all 64 signals but SIGKILL (bit 8) and SIGSTOP (bit 18), which cannot be. */
#define ALL_BLOCKED "fffffffffffbfeff"

#include "syslet-helpers.h"

/* Waits up to @timeout_ms for the task count to drop to @n (exiting threads linger a moment). */
static int settle_tasks(int n, int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;
	int got;

	while ((got = sh_count_tasks()) > n && t_now_us() < deadline)
		usleep(5000);
	return got;
}

/* Writes the pipe of a read handed off by sh_hand_off_read() and reaps its event. */
static bool finish_read(aio_context_t ctx, struct iocb *cb, int p[2], char *c)
{
	struct io_event ev;

	if (write(p[1], "r", 1) != 1)
		t_bail("write: %s", strerror(errno));
	return T_EQ(t_reap(ctx, &ev, 1, 5000), 1) && T_EQ(ev.obj, (uintptr_t)cb) &&
	       T_EQ(ev.res, 1) && T_EQ(*c, 'r');
}

/* Checks that thread @tid shows @pid as its Tgid and itself as its Pid; false if it is gone. */
static bool check_ids(pid_t pid, pid_t tid, void *arg)
{
	char val[64];

	(void)arg;
	if (!sh_status_field(tid, "Tgid:", val, sizeof(val)))
		return false;
	if (!T_EQ(atoll(val), pid))
		t_diag("task %d", (int)tid);
	if (sh_status_field(tid, "Pid:", val, sizeof(val)))
		T_EQ(atoll(val), tid);
	return true;
}

static enum t_result test_visible(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	pid_t tid = gettid(), pid = getpid();
	int before = sh_count_tasks(), after, p[2];
	struct iocb cb;
	char c;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (sh_warm_up(ctx) && sh_hand_off_read(ctx, &cb, p, &c)) {
		finish_read(ctx, &cb, p, &c);
		/*
		 * The helper the warm-up made carries the user context, and the
		 * former caller, done, parks in its place (helpers stay 10 s):
		 * one thread more, once the writers' threads are gone.
		 */
		after = settle_tasks(before + 1, 2000);
		t_diag("%d task(s) before, %d after the handoff", before, after);
		T_EQ(after, before + 1);
	}
	/* The user context kept its IDs. */
	T_EQ(gettid(), tid);
	T_EQ(getpid(), pid);
	sh_each_task(pid, check_ids, NULL);
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	return t_result();
}

/* For a parked helper @tid: checks its SigBlk, and returns true. */
static bool check_sigblk(pid_t pid, pid_t tid, void *arg)
{
	char val[64];

	if (!sh_is_parked(pid, tid, arg) || !sh_status_field(tid, "SigBlk:", val, sizeof(val)))
		return false;
	if (!T_MEM(val, ALL_BLOCKED, sizeof(ALL_BLOCKED)))
		t_diag("helper %d: SigBlk %s", (int)tid, val);
	return true;
}

/* Checks SigBlk of every parked helper; returns how many it checked. */
static int check_parked_sigblk(void)
{
	return sh_each_task(getpid(), check_sigblk, NULL);
}

static enum t_result test_sigblk(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	sigset_t usr1, old, now;
	int p[2], parked;
	struct iocb cb;
	char c, val[64];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	/* The caller's mask is SIGUSR1 only: a helper must not take that one. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (pthread_sigmask(SIG_SETMASK, &usr1, &old))
		t_bail("pthread_sigmask failed");
	if (!sh_warm_up(ctx))
		goto out;
	parked = sh_parked_helpers();
	T_EQ(check_parked_sigblk(), parked);
	if (!sh_hand_off_read(ctx, &cb, p, &c))
		goto out;
	/* The mask went with the user context. */
	if (T_TRUE(sh_status_field(gettid(), "SigBlk:", val, sizeof(val))))
		T_MEM(val, "0000000000000200", 17);
	if (pthread_sigmask(SIG_SETMASK, NULL, &now))
		t_bail("pthread_sigmask failed");
	for (int sig = 1; sig < 65; sig++)
		if (sigismember(&now, sig) != (sig == SIGUSR1))
			T_EQ(sig, -1);
	finish_read(ctx, &cb, p, &c);
	/* The former caller, done, parks too (the count is back), with all blocked. */
	T_TRUE(sh_wait_parked(parked, SH_PARK_MS));
	T_TRUE(check_parked_sigblk() >= parked);
out:
	if (pthread_sigmask(SIG_SETMASK, &old, NULL))
		t_bail("pthread_sigmask failed");
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	return t_result();
}

enum { NR_PIPES = 8, MAX_HELPERS = 2 };

static enum t_result bounded_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	int p[NR_PIPES][2], handed = 0;
	char c[NR_PIPES] = { 0 };
	struct iocb cb[NR_PIPES];
	struct io_event ev;

	for (int i = 0; i < NR_PIPES; i++)
		if (pipe2(p[i], O_CLOEXEC))
			t_bail("pipe: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		goto out;
	for (int i = 0; i < NR_PIPES; i++) {
		struct iocb *list = &cb[i];
		long long wrote, end;
		struct t_writer w;
		long ret;

		t_prep_pread(&cb[i], p[i][0], &c[i], 1, 0);
		T_EQ(sys_io_submit(ctx, 0, &list), 0);
		/* The first two find a helper; then the bound stops the pool making more. */
		if (i < MAX_HELPERS && !T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		t_writer_start(&w, p[i][1], "b", 1, i < MAX_HELPERS ? SH_HANDOFF_MS : 300);
		ret = sys_io_submit(ctx, 1, &list);
		end = t_now_us();
		wrote = t_writer_stop(&w);
		T_EQ(ret, 1);
		if (i < MAX_HELPERS) {
			/* Handed off: blocked still, in a thread of its own. */
			if (T_EQ(wrote, 0))
				handed++;
			continue;
		}
		/* Synchronous: io_submit() returned only once the writer wrote. */
		if (!T_TRUE(wrote != 0 && end >= wrote))
			t_diag("read %d: io_submit() returned %lld us before the write", i, wrote - end);
		if (T_EQ(t_reap(ctx, &ev, 1, 5000), 1)) {
			T_EQ(ev.obj, (uintptr_t)&cb[i]);
			T_EQ(ev.res, 1);
		}
		T_EQ(c[i], 'b');
		if (t_result() == T_FAIL)
			break;
	}
	/* This thread and the two blocked former callers: the writers are gone. */
	T_EQ(settle_tasks(1 + MAX_HELPERS, 2000), 1 + MAX_HELPERS);
	T_EQ(handed, MAX_HELPERS);
out:
	for (int i = 0; i < NR_PIPES; i++)
		if (write(p[i][1], "b", 1) != 1)
			t_bail("write: %s", strerror(errno));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_max_threads(void)
{
	return sh_in_child_max_threads(MAX_HELPERS, bounded_child);
}

/* With a helper parked, a bound of 0 stops handoffs, not only the making of helpers. */
static enum t_result zero_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	long long old;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	old = sh_set_max_threads(0);
	if (!T_TRUE(sh_read_runs(ctx, false)))
		t_diag("a read handed off with fs.aio-syslet-max-threads 0");
	sh_restore_max_threads(old);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_zero_threads(void)
{
	if (!t_is_root())
		return t_skip("changing fs.aio-syslet-max-threads needs root");
	return sh_in_child(zero_child);
}

/*
 * Two helpers parked under a bound of 2, then the bound lowered to 1:
 * after one more handoff, the former caller exits instead of parking.
 */
static enum t_result lowered_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb cb, *list = &cb;
	int p[2];
	char c = 0;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!sh_warm_up(ctx) || !sh_hand_off_read(ctx, &cb, p, &c))
		return T_FAIL;
	/*
	 * The handoff took the parked helper and its caller is blocked:
	 * the pool makes a second helper, and the caller parks too.
	 */
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)) || !finish_read(ctx, &cb, p, &c))
		return T_FAIL;
	if (!T_TRUE(sh_wait_parked(2, SH_PARK_MS)))
		return T_FAIL;
	T_EQ(settle_tasks(1 + 2, 2000), 1 + 2);
	sh_set_max_threads(1);
	c = 0;
	if (!sh_hand_off_read(ctx, &cb, p, &c) || !finish_read(ctx, &cb, p, &c))
		return T_FAIL;
	/* This thread and one helper. */
	T_EQ(settle_tasks(1 + 1, 5000), 1 + 1);
	close(p[0]);
	close(p[1]);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_lowered_threads(void)
{
	/* Restores the bound lowered_child() lowers from 2 to 1. */
	return sh_in_child_max_threads(2, lowered_child);
}

/*
 * The child's user context leaves with a raw thread exit, leaving the
 * helpers alone (glibc's pthread_exit() would call exit() in what it
 * sees as its last thread).  With @blocked, a handed-off read of @p[0]
 * is still blocked then (its writer is the parent), and with @back the
 * user context went through two handoffs first, so the first thread
 * leads the group again; else a helper made later leads it.
 */
static void leave_helpers_alone(int p[2], int ready, bool blocked, bool back)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb cb, *list = &cb;
	int q[2];
	char c;

	close(p[1]);
	if (pipe2(q, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		_exit(T_FAIL);
	if (back && (!sh_hand_off_read(ctx, &cb, q, &c) || !finish_read(ctx, &cb, q, &c)))
		_exit(T_FAIL);
	if (blocked) {
		t_prep_pread(&cb, p[0], &c, 1, 0);
		T_EQ(sys_io_submit(ctx, 0, &list), 0);
		/* No writer can rescue this one: the parent times out if it blocks. */
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)) || !T_EQ(sys_io_submit(ctx, 1, &list), 1))
			_exit(T_FAIL);
		/* Its helper went: an empty io_submit() makes another. */
		T_EQ(sys_io_submit(ctx, 0, &list), 0);
	}
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		_exit(T_FAIL);
	fflush(stdout);
	if (write(ready, "r", 1) != 1)
		_exit(T_FAIL);
	syscall(SYS_exit, 3);
	_exit(T_FAIL);
}

static enum t_result last_thread_exits(bool blocked, bool back)
{
	struct pollfd pr;
	int p[2], ready[2], status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	pid = t_fork();
	if (pid == 0) {
		close(ready[0]);
		leave_helpers_alone(p, ready[1], blocked, back);
	}
	close(p[0]);
	close(ready[1]);
	pr = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	if (!T_EQ(poll(&pr, 1, 20000), 1)) {
		t_diag("the child did not get ready in 20 s");
		goto out;
	}
	if (blocked) {
		/*
		 * Its blocked read keeps a thread, and so the process, alive:
		 * still there once its user thread has exited and the parked
		 * helpers it orphaned have gone.
		 */
		T_TRUE(sh_wait_exit_settled(pid, 10000));
		if (!T_EQ(waitpid(pid, &status, WNOHANG), 0)) {
			t_diag("the child was reaped (status 0x%x) with a thread still blocked", status);
			pid = 0;
			goto out;
		}
		if (write(p[1], "x", 1) != 1)
			t_bail("write: %s", strerror(errno));
	}
	/* Only helpers left: they exit, and the process with them. */
	t_reap_child(pid, 3, 10);
	pid = 0;
out:
	t_kill_child(pid);
	close(p[1]);
	close(ready[0]);
	return t_result();
}

static enum t_result test_last_thread_exits(void)
{
	return last_thread_exits(false, true);
}

static enum t_result test_last_thread_exits_blocked(void)
{
	return last_thread_exits(true, true);
}

static enum t_result test_last_thread_exits_blocked_helper_leads(void)
{
	return last_thread_exits(true, false);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "helpers show in /proc/self/task, each with the process's Tgid", test_visible },
		{ "parked helpers block every signal but SIGKILL and SIGSTOP", test_sigblk },
		{ "fs.aio-syslet-max-threads 2: two reads hand off, six run synchronously", test_max_threads },
		{ "fs.aio-syslet-max-threads 0 with a helper parked: a read runs synchronously", test_zero_threads },
		{ "fs.aio-syslet-max-threads lowered from 2 to 1: one helper left after a handoff", test_lowered_threads },
		{ "when the last user thread exits, the parked helpers go and the process exits", test_last_thread_exits },
		{ "when it exits with a read blocked, the process exits once the read completes", test_last_thread_exits_blocked },
		{ "the same with the user context (and group leadership) on a later helper", test_last_thread_exits_blocked_helper_leads },
	};

	t_require_syslet_exclusive();
	/* A write to the pipe of a child already gone fails with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	return T_RUN(cases);
}
