// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_pgetevents() swaps in its signal mask for the wait, then restores it. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN	512
#define SEED	0x9e7

/* The kernel's struct __aio_sigset (not in the uapi headers). */
struct aio_sigset {
	const void *sigmask;
	size_t sigsetsize;
};

/* The kernel's sigset_t: 8 bytes, bit (sig - 1) per signal. */
#define KMASK(sig)	(1ULL << ((sig) - 1))

static volatile sig_atomic_t handled;
static volatile long long handled_at;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
	handled_at = t_now_us();
}

/* Blocks (@block) or unblocks @sig in the calling thread. */
static void thread_mask(int sig, bool block)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	if (pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL))
		t_bail("pthread_sigmask failed");
}

static bool is_blocked(int sig)
{
	sigset_t s;

	pthread_sigmask(SIG_BLOCK, NULL, &s);
	return sigismember(&s, sig) == 1;
}

/*
 * io_pgetevents(1, 1) with @mask on @ctx while the kicker @k sends @sig into
 * the wait and, with @end, then ends it with an event; returns its result,
 * *@err its errno.
 */
static long kicked_wait(aio_context_t ctx, int sig, uint64_t mask, struct timespec *ts,
			struct io_event *ev, bool end, int *err, struct t_kicker *k)
{
	struct aio_sigset us = { &mask, sizeof(mask) };
	long ret;

	t_kicker_start(k, SYS_io_pgetevents, sig, end ? ctx : 0);
	ret = sys_io_pgetevents(ctx, 1, 1, ev, ts, &us);
	*err = errno;
	t_kicker_stop(k);
	return ret;
}

static enum t_result test_masked_during_wait(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct timespec ts = { 10, 0 };
	struct t_kicker k;
	struct io_event ev;
	int err;
	long ret;

	t_set_handler(SIGUSR1, on_signal, 0);
	thread_mask(SIGUSR1, false);
	handled = 0;
	ret = kicked_wait(ctx, SIGUSR1, KMASK(SIGUSR1), &ts, &ev, true, &err, &k);
	t_set_handler(SIGUSR1, SIG_DFL, 0);
	/* Blocked for the wait: it went on until the kicker's event ended it... */
	T_TRUE(t_kicker_ended_wait(&k, ret, &ev, err));
	/* ...and the signal is delivered as the old mask comes back, on return. */
	T_EQ(handled, 1);
	if (!T_TRUE(handled_at >= atomic_load(&k.ended_us)))
		t_diag("handler ran %lld us before the wait was ended",
		       atomic_load(&k.ended_us) - handled_at);
	T_TRUE(!is_blocked(SIGUSR1));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_unmask_pending(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct timespec ts = { 10, 0 };
	uint64_t empty = 0;
	struct aio_sigset us = { &empty, sizeof(empty) };
	struct io_event ev;
	sigset_t pend;
	long long t0, dt;

	t_set_handler(SIGUSR2, on_signal, 0);
	thread_mask(SIGUSR2, true);
	handled = 0;
	pthread_kill(pthread_self(), SIGUSR2);
	T_EQ(handled, 0);
	/* The call's empty mask lets the pending signal in: EINTR at once. */
	t0 = t_now_us();
	T_ERRNO(sys_io_pgetevents(ctx, 1, 1, &ev, &ts, &us), EINTR);
	dt = t_now_us() - t0;
	if (!T_TRUE(dt < 5000000))
		t_diag("returned after %lld us", dt);
	T_EQ(handled, 1);
	/* The thread's own mask is back and nothing is left pending. */
	T_TRUE(is_blocked(SIGUSR2));
	sigpending(&pend);
	T_EQ(sigismember(&pend, SIGUSR2), 0);
	thread_mask(SIGUSR2, false);
	t_set_handler(SIGUSR2, SIG_DFL, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_unmask_during_wait(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct timespec ts = { 10, 0 };
	struct t_kicker k;
	struct io_event ev;
	long long t0, dt;
	int err;
	long ret;

	/* SA_RESTART does not matter: -ERESTARTNOHAND with a handler is EINTR. */
	t_set_handler(SIGUSR2, on_signal, SA_RESTART);
	thread_mask(SIGUSR2, true);
	handled = 0;
	t0 = t_now_us();
	ret = kicked_wait(ctx, SIGUSR2, 0, &ts, &ev, false, &err, &k);
	dt = t_now_us() - t0;
	errno = err;
	T_TRUE(atomic_load(&k.sent));
	T_ERRNO(ret, EINTR);
	if (!T_TRUE(dt < 5000000))
		t_diag("returned after %lld us", dt);
	T_EQ(handled, 1);
	T_TRUE(is_blocked(SIGUSR2));
	thread_mask(SIGUSR2, false);
	t_set_handler(SIGUSR2, SIG_DFL, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/* A context with one completed read, and the reap that proves it is still there. */
static aio_context_t one_pending(int *fd, struct iocb *cb, unsigned char *buf)
{
	aio_context_t ctx = t_setup_ctx(4);

	*fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	t_prep_pread(cb, *fd, buf, LEN, 0);
	t_submit1(ctx, cb);
	return ctx;
}

static void reap_one(aio_context_t ctx, int fd, struct iocb *cb, unsigned char *buf)
{
	struct timespec ts = { 10, 0 };
	struct io_event ev;

	if (T_EQ(sys_io_getevents(ctx, 1, 1, &ev, &ts), 1)) {
		T_EQ(ev.obj, (uintptr_t)cb);
		T_EQ(ev.res, LEN);
		t_verify_pattern(buf, LEN, SEED, 0);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
}

static enum t_result test_sigsetsize(void)
{
	unsigned char buf[LEN];
	struct timespec ts = { 10, 0 };
	uint64_t mask = 0;
	struct aio_sigset us;
	struct io_event ev;
	struct iocb cb;
	int fd;
	aio_context_t ctx = one_pending(&fd, &cb, buf);

	us.sigmask = &mask;
	us.sigsetsize = 4;
	T_ERRNO(sys_io_pgetevents(ctx, 1, 1, &ev, &ts, &us), EINVAL);
	us.sigsetsize = 16;
	T_ERRNO(sys_io_pgetevents(ctx, 1, 1, &ev, &ts, &us), EINVAL);
	/* glibc's sigset_t is 128 bytes: wrong here too. */
	us.sigsetsize = sizeof(sigset_t);
	T_ERRNO(sys_io_pgetevents(ctx, 1, 1, &ev, &ts, &us), EINVAL);
	/* Without a mask the size is not looked at: a plain io_getevents(). */
	us.sigmask = NULL;
	us.sigsetsize = 4;
	if (T_EQ(sys_io_pgetevents(ctx, 1, 1, &ev, &ts, &us), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, LEN);
		t_verify_pattern(buf, LEN, SEED, 0);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_bad_usig(void)
{
	unsigned char buf[LEN];
	struct timespec ts = { 10, 0 };
	struct aio_sigset us = { (const void *)(uintptr_t)8, 8 };
	struct io_event ev;
	struct iocb cb;
	int fd;
	aio_context_t ctx = one_pending(&fd, &cb, buf);

	T_ERRNO(sys_io_pgetevents(ctx, 1, 1, &ev, &ts, (const void *)(uintptr_t)8), EFAULT);
	T_ERRNO(sys_io_pgetevents(ctx, 1, 1, &ev, &ts, &us), EFAULT);
	/* Nothing was consumed. */
	reap_one(ctx, fd, &cb, buf);
	return t_result();
}

static enum t_result test_stop_cont(void)
{
	int status = 0, pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		aio_context_t ctx = 0;
		struct io_event ev;
		struct iocb cb, *cbp = &cb;
		long ret;

		/* Waits, without a timeout, for a POLL on the pipe the parent writes. */
		t_prep_poll(&cb, pfd[0], POLLIN);
		if (sys_io_setup(1, &ctx) || sys_io_submit(ctx, 1, &cbp) != 1)
			_exit(10);
		ret = sys_io_pgetevents(ctx, 1, 1, &ev, NULL, NULL);
		if (ret == -1)
			_exit(errno == EINTR ? 11 : 12);
		_exit(ret == 1 && ev.obj == (uintptr_t)&cb ? 0 : 13);
	}
	t_wait_blocked(pid, pid, SYS_io_pgetevents, NULL);
	kill(pid, SIGSTOP);
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		t_bail("child did not stop (status 0x%x)", status);
	kill(pid, SIGCONT);
	/*
	 * -ERESTARTNOHAND with no handler restarts the call: the child goes
	 * on waiting for the event instead of returning EINTR.
	 */
	usleep(200000);
	if (write(pfd[1], "x", 1) != 1)
		t_bail("write pipe: %s", strerror(errno));
	/* 11 would be EINTR, as io_getevents() gives. */
	t_reap_child(pid, 0, 10);
	close(pfd[0]);
	close(pfd[1]);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a signal blocked by the call's mask waits until the call returns",
		  test_masked_during_wait },
		{ "a pending signal the call's mask unblocks gives EINTR at once",
		  test_unmask_pending },
		{ "a signal the call's mask unblocks ends the wait with EINTR",
		  test_unmask_during_wait },
		{ "sigsetsize other than 8 fails with EINVAL, unless sigmask is NULL",
		  test_sigsetsize },
		{ "a bad usig or sigmask pointer fails with EFAULT", test_bad_usig },
		{ "stop and continue restart io_pgetevents instead of EINTR", test_stop_cont },
	};

	return T_RUN(cases);
}
