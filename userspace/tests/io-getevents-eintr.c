// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: a signal ends a blocked io_getevents() with EINTR, SA_RESTART or not. */
#include "t.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN	512
#define SEED	0x1e1

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

/*
 * io_getevents(min_nr, min_nr) with @ts on @ctx while the kicker @k sends
 * SIGUSR1 into the wait and, with @end, then ends it with an event;
 * returns its result, *@err its errno.
 */
static long interrupted_wait(aio_context_t ctx, long min_nr, struct io_event *ev,
			     struct timespec *ts, bool end, int *err, struct t_kicker *k)
{
	long ret;

	t_kicker_start(k, SYS_io_getevents, SIGUSR1, end ? ctx : 0);
	ret = sys_io_getevents(ctx, min_nr, min_nr, ev, ts);
	*err = errno;
	t_kicker_stop(k);
	return ret;
}

static enum t_result run_eintr(int flags)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct t_kicker k;
	struct io_event ev;
	int err;
	long ret;

	t_set_handler(SIGUSR1, on_signal, flags);
	handled = 0;
	ret = interrupted_wait(ctx, 1, &ev, NULL, false, &err, &k);
	errno = err;
	T_ERRNO(ret, EINTR);
	T_EQ(handled, 1);
	t_set_handler(SIGUSR1, SIG_DFL, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_no_restart(void)
{
	return run_eintr(0);
}

static enum t_result test_restart(void)
{
	/* io_getevents() returns -EINTR itself, not a restart code: SA_RESTART is moot. */
	return run_eintr(SA_RESTART);
}

static enum t_result test_partial(void)
{
	int fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	aio_context_t ctx = t_setup_ctx(4);
	unsigned char buf[LEN];
	struct io_event ev[2];
	struct t_kicker k;
	struct iocb cb;
	int err;
	long ret;

	t_prep_pread(&cb, fd, buf, LEN, 0);
	t_submit1(ctx, &cb);
	t_wait_ring(ctx, 1);
	t_set_handler(SIGUSR1, on_signal, 0);
	handled = 0;
	/* Interrupted with one of two in hand: the one is returned, not EINTR. */
	ret = interrupted_wait(ctx, 2, ev, NULL, false, &err, &k);
	if (T_EQ(ret, 1)) {
		T_EQ(ev[0].obj, (uintptr_t)&cb);
		T_EQ(ev[0].res, LEN);
		t_verify_pattern(buf, LEN, SEED, 0);
	} else {
		t_diag("errno %s", strerrorname_np(err));
	}
	T_EQ(handled, 1);
	t_set_handler(SIGUSR1, SIG_DFL, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_ignored(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct timespec ts = { 10, 0 };
	struct t_kicker k;
	struct io_event ev;
	int err;
	long ret;

	/* An ignored signal is dropped when sent and wakes nobody... */
	t_set_handler(SIGUSR1, SIG_IGN, 0);
	ret = interrupted_wait(ctx, 1, &ev, &ts, true, &err, &k);
	t_set_handler(SIGUSR1, SIG_DFL, 0);
	/* ...so the wait went on until the kicker's event ended it. */
	T_TRUE(t_kicker_ended_wait(&k, ret, &ev, err));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_stop_cont(void)
{
	int status = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		aio_context_t ctx = 0;
		struct io_event ev;
		long ret;

		if (sys_io_setup(1, &ctx))
			_exit(10);
		ret = sys_io_getevents(ctx, 1, 1, &ev, NULL);
		if (ret != -1)
			_exit(11);
		_exit(errno == EINTR ? 0 : 12);
	}
	t_wait_blocked(pid, pid, SYS_io_getevents, NULL);
	kill(pid, SIGSTOP);
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		t_bail("child did not stop (status 0x%x)", status);
	kill(pid, SIGCONT);
	/*
	 * With no handler at all, stop and continue still end the wait with
	 * EINTR; a kernel that restarts the call leaves the child waiting.
	 */
	t_reap_child(pid, 0, 5);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a handler without SA_RESTART ends the wait with EINTR", test_no_restart },
		{ "a handler with SA_RESTART ends the wait with EINTR too", test_restart },
		{ "a signal after some events returns those events", test_partial },
		{ "an ignored signal does not end the wait", test_ignored },
		{ "stop and continue without a handler end the wait with EINTR", test_stop_cont },
	};

	return T_RUN(cases);
}
