// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: a handoff keeps signal mask, sigaltstack and pending signals; signals reach us. */
#include "syslet-helpers.h"

#include <stdlib.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM		(1U << 31)
#endif

#define ALTSTACK_SIZE		(64 * 1024)

/* What the handlers saw; each sub-test runs in one thread at a time. */
static volatile sig_atomic_t usr1_count, usr2_count, rt_count;
static volatile pid_t usr1_tid, usr2_tid, rt_tid;
static volatile int usr1_code, rt_code[2], rt_value[2], rt_pid[2];
static volatile uintptr_t usr1_sp;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	volatile char here;

	(void)sig;
	(void)uc;
	usr1_tid = sh_gettid();
	usr1_code = si->si_code;
	usr1_sp = (uintptr_t)&here;
	usr1_count++;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_tid = sh_gettid();
	usr2_count++;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rt_tid = sh_gettid();
	if (rt_count < 2) {
		rt_code[rt_count] = si->si_code;
		rt_value[rt_count] = si->si_value.sival_int;
		rt_pid[rt_count] = si->si_pid;
	}
	rt_count++;
}

static void handle(int sig, void (*fn)(int), void (*act)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa = { .sa_flags = flags };

	if (act) {
		sa.sa_sigaction = act;
		sa.sa_flags |= SA_SIGINFO;
	} else {
		sa.sa_handler = fn;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		t_bail("sigaction(%d): %s", sig, strerror(errno));
}

/* Each signal a program can block: in @got as in @want. */
static bool same_sigset(const sigset_t *got, const sigset_t *want, const char *what)
{
	bool ok = true;

	for (int s = 1; s <= SIGRTMAX; s++) {
		if (s == SIGKILL || s == SIGSTOP || (s > 31 && s < SIGRTMIN))
			continue;	/* unblockable, or glibc's own */
		if (sigismember(got, s) != sigismember(want, s)) {
			t_diag("%s: signal %d %s", what, s,
			       sigismember(want, s) ? "missing" : "unexpected");
			ok = false;
		}
	}
	return T_TRUE(ok);
}

static enum t_result test_mask_pending(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	void *stack = t_aligned_alloc(4096, ALTSTACK_SIZE);
	stack_t ss = { .ss_sp = stack, .ss_size = ALTSTACK_SIZE, .ss_flags = SS_AUTODISARM };
	stack_t now, off = { .ss_flags = SS_DISABLE };
	int rt = SIGRTMIN + 3;
	sigset_t set, pend, old, cur, one;
	pid_t tid = sh_gettid();
	union sigval v1, v2;
	struct sh_block b;

	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	usr2_count = rt_count = 0;
	handle(SIGUSR2, on_usr2, NULL, 0);
	handle(rt, NULL, on_rt, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, rt);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGTTIN);
	sigaddset(&set, SIGRTMIN + 7);
	sigaddset(&set, SIGRTMAX);
	if (pthread_sigmask(SIG_SETMASK, &set, &old))
		t_bail("pthread_sigmask");
	if (sigaltstack(&ss, NULL))
		t_bail("sigaltstack: %s", strerror(errno));
	/* Thread-directed and blocked: they wait in our pending set, RT ones queued. */
	v1.sival_int = 111;
	v2.sival_int = 222;
	if (syscall(SYS_tgkill, getpid(), tid, SIGUSR2) ||
	    pthread_sigqueue(pthread_self(), rt, v1) ||
	    pthread_sigqueue(pthread_self(), rt, v2))
		t_bail("queueing signals: %s", strerror(errno));
	sigemptyset(&pend);
	sigaddset(&pend, SIGUSR2);
	sigaddset(&pend, rt);
	sigpending(&cur);
	same_sigset(&cur, &pend, "pending before the handoff");

	if (!sh_handoff(&b, ctx, 0x5165)) {
		sh_block_finish(&b);
		return T_FAIL;
	}
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	same_sigset(&cur, &set, "mask after the handoff");
	memset(&now, 0, sizeof(now));
	sigaltstack(NULL, &now);
	T_TRUE(now.ss_sp == stack);
	T_EQ(now.ss_size, ALTSTACK_SIZE);
	T_EQ((unsigned int)now.ss_flags, SS_AUTODISARM);
	sigpending(&cur);
	same_sigset(&cur, &pend, "pending after the handoff");
	T_EQ(usr2_count, 0);
	T_EQ(rt_count, 0);

	/* Unblocked, each runs its handler before sigprocmask() returns, here. */
	sigemptyset(&one);
	sigaddset(&one, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	T_EQ(usr2_count, 1);
	T_EQ(usr2_tid, tid);
	sigemptyset(&one);
	sigaddset(&one, rt);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	if (T_EQ(rt_count, 2)) {
		T_EQ(rt_tid, tid);
		T_EQ(rt_value[0], 111);
		T_EQ(rt_value[1], 222);
		T_EQ(rt_code[0], SI_QUEUE);
		T_EQ(rt_code[1], SI_QUEUE);
		T_EQ(rt_pid[0], getpid());
	}
	sigpending(&cur);
	sigemptyset(&pend);
	same_sigset(&cur, &pend, "pending after unblocking");
	sh_block_finish(&b);

	sigaltstack(&off, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR2, SIG_DFL);
	signal(rt, SIG_DFL);
	free(stack);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/* The last SIGUSR1 ran in thread @tid, on the alternate stack, from a tkill. */
static void check_usr1(int count, pid_t tid, const void *stack)
{
	T_EQ(usr1_count, count);
	T_EQ(usr1_tid, tid);
	T_EQ(usr1_code, SI_TKILL);
	T_TRUE(usr1_sp >= (uintptr_t)stack && usr1_sp < (uintptr_t)stack + ALTSTACK_SIZE);
}

/* Records a thread that is not @arg's (ours): the parked former head. */
static bool other_task(pid_t pid, pid_t tid, void *arg)
{
	pid_t *found = arg;

	(void)pid;
	if (tid == found[0])
		return false;
	found[1] = tid;
	return true;
}

/*
 * After one handoff and its read's end, the only other thread is the
 * former caller, parked, holding the TID the helper gave it: a signal
 * sent to that TID is the user thread's, and runs in it, at once.  A
 * sender that found a caller by TID just before the TID moved queues
 * the same way: this is that race made deterministic.
 */
static enum t_result to_former_head(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	pid_t ids[2] = { sh_gettid(), 0 };
	long long deadline;
	struct sh_block b;
	siginfo_t si;
	sigset_t one;

	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, 0x5e4e))
		return T_FAIL;
	if (!sh_block_finish(&b) || !T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return T_FAIL;
	if (!T_EQ(sh_each_task(getpid(), other_task, ids), 1))
		return T_FAIL;
	rt_count = 0;
	rt_tid = 0;
	handle(SIGRTMIN, NULL, on_rt, 0);
	sigemptyset(&one);
	sigaddset(&one, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGRTMIN;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = 77;
	T_EQ(syscall(SYS_rt_tgsigqueueinfo, getpid(), ids[1], SIGRTMIN, &si), 0);
	deadline = t_now_us() + 2000000;
	while (!rt_count && t_now_us() < deadline)
		usleep(1000);
	if (!T_EQ(rt_count, 1))
		t_diag("a signal sent to the parked former caller's TID %d never ran", (int)ids[1]);
	T_EQ(rt_tid, ids[0]);
	T_EQ(rt_value[0], 77);
	signal(SIGRTMIN, SIG_DFL);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_to_former_head(void)
{
	return sh_in_child(to_former_head);
}

static enum t_result test_send(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	void *stack = t_aligned_alloc(4096, ALTSTACK_SIZE);
	stack_t ss = { .ss_sp = stack, .ss_size = ALTSTACK_SIZE };
	stack_t off = { .ss_flags = SS_DISABLE };
	pid_t tid = sh_gettid();
	sigset_t one, old;
	struct sh_block b;

	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	usr1_count = 0;
	handle(SIGUSR1, NULL, on_usr1, SA_ONSTACK);
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &one, &old);
	if (sigaltstack(&ss, NULL))
		t_bail("sigaltstack: %s", strerror(errno));

	if (sh_handoff(&b, ctx, 0x5e4d)) {
		/* A signal a thread sends itself is handled before the call returns. */
		T_EQ(syscall(SYS_tgkill, getpid(), sh_gettid(), SIGUSR1), 0);
		check_usr1(1, tid, stack);
		T_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
		check_usr1(2, tid, stack);
		T_EQ(raise(SIGUSR1), 0);
		check_usr1(3, tid, stack);
	}
	sh_block_finish(&b);

	sigaltstack(&off, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
	free(stack);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/*
 * A thread made before the handoff, "taker", is the only one that does
 * not block SIGUSR1: a signal to the process must wake it.
 */
static int taker_ready[2], taker_done[2];

static void *taker(void *p)
{
	struct pollfd pf = { .fd = taker_done[0], .events = POLLIN };
	sigset_t one;
	pid_t tid = sh_gettid();

	(void)p;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	if (write(taker_ready[1], &tid, sizeof(tid)) != sizeof(tid))
		t_bail("write: %s", strerror(errno));
	/* The handler interrupts this; the test's last resort is a write. */
	poll(&pf, 1, 20000);
	return NULL;
}

static enum t_result test_process_signal(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct pollfd pf;
	sigset_t one, old;
	struct sh_block b;
	pid_t taker_tid = 0;
	long long t0;
	pthread_t th;

	sh_watchdog(60);
	usr1_count = 0;
	usr1_tid = 0;
	handle(SIGUSR1, NULL, on_usr1, 0);
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &one, &old);
	if (pipe2(taker_ready, O_CLOEXEC) || pipe2(taker_done, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	if (pthread_create(&th, NULL, taker, NULL))
		t_bail("pthread_create");
	pf = (struct pollfd){ .fd = taker_ready[0], .events = POLLIN };
	if (poll(&pf, 1, 10000) != 1 || read(taker_ready[0], &taker_tid, sizeof(taker_tid)) !=
	    sizeof(taker_tid))
		t_bail("the taker thread did not start");
	if (!sh_warm_up(ctx))
		return T_FAIL;

	if (sh_handoff(&b, ctx, 0x5190)) {
		T_EQ(kill(getpid(), SIGUSR1), 0);
		t0 = t_now_us();
		while (!usr1_count && t_now_us() - t0 < 5000000)
			usleep(1000);
		if (!T_EQ(usr1_count, 1))
			t_diag("the thread that takes SIGUSR1 was not woken: lost wakeup");
		else
			T_EQ(usr1_tid, taker_tid);
	}
	sh_block_finish(&b);

	/* Ends the taker, woken or not. */
	if (write(taker_done[1], "d", 1) != 1)
		t_bail("write: %s", strerror(errno));
	pthread_join(th, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
	close(taker_ready[0]);
	close(taker_ready[1]);
	close(taker_done[0]);
	close(taker_done[1]);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/* In a new process: the thread list then has the old leader first, as it always has. */
static enum t_result test_process_signal_leader(void)
{
	return sh_in_child(test_process_signal);
}

static enum t_result test_process_signal_thread(void)
{
	sigset_t one, old;
	enum t_result r;

	/* This thread must not take the signal either. */
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &one, &old);
	r = sh_in_thread(test_process_signal);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Blocks the report's signals, SIGWINCH and SIGRTMIN+3, and puts them in @set. */
static void report_mask(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGWINCH);
	sigaddset(set, SIGRTMIN + 3);
	if (sigprocmask(SIG_BLOCK, set, NULL))
		t_bail("sigprocmask: %s", strerror(errno));
}

/*
 * The report of the kernel review: in the main thread of a new process,
 * a mask set with sigprocmask() before any helper exists, then handoffs
 * (the first to a helper made for it, the second to whichever helper is
 * parked then): the mask read back after each is the one set.
 */
static enum t_result fresh_process_mask(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	sigset_t set, cur;

	report_mask(&set);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (int i = 0; i < 2; i++) {
		struct sh_block b;

		if (i) {
			struct iocb *none = NULL;

			/* A helper for the next block: the last one took the user context. */
			T_EQ(sys_io_submit(ctx, 0, &none), 0);
			if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
				break;
		}
		if (!sh_handoff(&b, ctx, 0x5170 + i)) {
			sh_block_finish(&b);
			break;
		}
		sigprocmask(SIG_BLOCK, NULL, &cur);
		same_sigset(&cur, &set, i ? "mask after the second handoff" : "mask after the first handoff");
		sh_block_finish(&b);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_fresh_process_mask(void)
{
	return sh_in_child(fresh_process_mask);
}

#define COLD_READS	16
#define COLD_STRIDE	(256 << 10)	/* apart, beyond readahead: each read goes to the disk */
#define COLD_SEED	0x5171

/*
 * The report exactly: the same mask, then cold file reads submitted
 * until one hands off (the syslet_handoff event counts them), the mask
 * read back after every io_submit() and every read's data checked.
 */
static enum t_result fresh_process_mask_cold(void)
{
	static struct iocb cb[COLD_READS];
	struct iocb *list[COLD_READS];
	struct io_event ev[COLD_READS];
	aio_context_t ctx = t_setup_ctx(COLD_READS);
	size_t size = (size_t)COLD_READS * COLD_STRIDE;
	unsigned char *buf = t_aligned_alloc(4096, (size_t)COLD_READS * 4096);
	long handed = 0, calls = 0;
	struct sh_trace handoffs;
	sigset_t set, cur;
	char path[4096];
	int fd, round;

	report_mask(&set);
	fd = t_pattern_file(size, COLD_SEED, 0, path, sizeof(path));
	sh_trace_start(&handoffs, "syslet_handoff");
	for (round = 0; round < 20 && !handed; round++) {
		long n;

		t_drop_cache(path, size);
		memset(buf, 0, (size_t)COLD_READS * 4096);
		for (int i = 0; i < COLD_READS; i++) {
			t_prep_pread(&cb[i], fd, buf + (size_t)i * 4096, 4096, (off_t)i * COLD_STRIDE);
			cb[i].aio_data = (uint64_t)i;
			list[i] = &cb[i];
		}
		for (long done = 0; done < COLD_READS; done += n) {
			n = sys_io_submit(ctx, COLD_READS - done, list + done);
			calls++;
			sigprocmask(SIG_BLOCK, NULL, &cur);
			if (!same_sigset(&cur, &set, "mask after an io_submit() of cold reads") ||
			    !T_TRUE(n > 0)) {
				n = -1;
				break;
			}
		}
		if (n < 0)
			break;
		if (!T_EQ(t_reap(ctx, ev, COLD_READS, 20000), COLD_READS))
			break;
		for (int e = 0; e < COLD_READS; e++) {
			uint64_t i = ev[e].data;

			if (!T_TRUE(i < COLD_READS) || !T_EQ(ev[e].res, 4096))
				continue;
			T_TRUE(t_verify_pattern(buf + i * 4096, 4096, COLD_SEED, (off_t)i * COLD_STRIDE));
		}
		handed = sh_trace_count(&handoffs, NULL);
	}
	sh_trace_stop(&handoffs);
	t_diag("%ld handoffs in %d rounds of %d cold reads (%ld io_submit() calls)", handed, round,
	       COLD_READS, calls);
	/* The positive control: the mask was read back after a handoff. */
	T_TRUE(handed >= 1);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	same_sigset(&cur, &set, "mask at the end");
	close(fd);
	free(buf);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_fresh_process_mask_cold(void)
{
	if (!t_is_root())
		return t_skip("counting handoffs (the trace events) needs root");
	return sh_in_child(fresh_process_mask_cold);
}

static enum t_result test_mask_pending_thread(void)
{
	return sh_in_thread(test_mask_pending);
}

static enum t_result test_send_thread(void)
{
	return sh_in_thread(test_send);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: mask, altstack, pending (queued RT) signals kept, then delivered",
		  test_mask_pending },
		{ "thread: mask, altstack, pending (queued RT) signals kept, then delivered",
		  test_mask_pending_thread },
		{ "new process's main thread: a mask set before any helper exists, kept by two handoffs",
		  test_fresh_process_mask },
		{ "new process's main thread: the same mask, kept through cold file reads until one hands off",
		  test_fresh_process_mask_cold },
		{ "a signal to the parked former caller's TID runs in the user thread at once",
		  test_to_former_head },
		{ "leader: tgkill, pthread_kill, raise after a handoff: handler runs in our thread",
		  test_send },
		{ "thread: tgkill, pthread_kill, raise after a handoff: handler runs in our thread",
		  test_send_thread },
		{ "leader: after a handoff, a signal to the process wakes the one thread taking it",
		  test_process_signal_leader },
		{ "thread: after a handoff, a signal to the process wakes the one thread taking it",
		  test_process_signal_thread },
	};

	t_require_syslet();
	return T_RUN(cases);
}
