// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: a signal ends a blocked io_getevents() with EINTR, SA_RESTART or not. */
#include "t.h"

#include <fcntl.h>
#include <pthread.h>
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

static void set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		t_bail("sigaction: %s", strerror(errno));
}

/*
 * Waits up to 10 s until task @tid of process @pid sleeps in syscall @nr;
 * returns false early when *@stop (if given) becomes true.
 */
static bool wait_blocked(pid_t pid, pid_t tid, long nr, atomic_bool *stop)
{
	long long deadline = t_now_us() + 10000000;
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	while (t_now_us() < deadline) {
		FILE *f;
		long got = -1;

		if (stop && atomic_load(stop))
			return false;
		f = fopen(path, "r");
		if (!f)
			t_bail("open %s: %s", path, strerror(errno));
		if (fgets(buf, sizeof(buf), f))
			sscanf(buf, "%ld", &got);	/* "running" leaves -1 */
		fclose(f);
		if (got == nr)
			return true;
		usleep(1000);
	}
	t_bail("task %d did not block in syscall %ld within 10 s", (int)tid, nr);
}

/* The head of the ring the context id points at (the ABI libaio reads). */
struct ring_head {
	unsigned int id, nr, head, tail;
};

/* Waits up to 10 s until @n events sit in the ring, however completion is done. */
static void wait_ring(aio_context_t ctx, unsigned int n)
{
	volatile struct ring_head *r = (volatile struct ring_head *)(uintptr_t)ctx;
	long long deadline = t_now_us() + 10000000;

	while ((r->tail + r->nr - r->head) % r->nr < n) {
		if (t_now_us() > deadline)
			t_bail("%u events did not complete within 10 s", n);
		usleep(1000);
	}
}

struct kicker {
	pthread_t target;
	pid_t tid;
	int sig;
	atomic_bool stop;	/* the target's call returned */
	atomic_bool sent;
};

/* Sends the signal to the target thread once it sleeps in io_getevents(), if still in time. */
static void *kick(void *arg)
{
	struct kicker *k = arg;

	if (wait_blocked(getpid(), k->tid, SYS_io_getevents, &k->stop)) {
		pthread_kill(k->target, k->sig);
		atomic_store(&k->sent, true);
	}
	return NULL;
}

/*
 * io_getevents(min_nr, min_nr) with @ts on @ctx while a thread sends SIGUSR1
 * into the wait; returns its result, *@sent tells whether the signal went out.
 */
static long interrupted_wait(aio_context_t ctx, long min_nr, struct io_event *ev,
			     struct timespec *ts, int *err, bool *sent)
{
	struct kicker k = { .target = pthread_self(), .tid = gettid(), .sig = SIGUSR1 };
	pthread_t th;
	long ret;

	if (pthread_create(&th, NULL, kick, &k))
		t_bail("pthread_create failed");
	ret = sys_io_getevents(ctx, min_nr, min_nr, ev, ts);
	*err = errno;
	atomic_store(&k.stop, true);
	pthread_join(th, NULL);
	*sent = atomic_load(&k.sent);
	return ret;
}

static enum t_result run_eintr(int flags)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct io_event ev;
	bool sent;
	int err;
	long ret;

	set_handler(SIGUSR1, on_signal, flags);
	handled = 0;
	ret = interrupted_wait(ctx, 1, &ev, NULL, &err, &sent);
	errno = err;
	T_ERRNO(ret, EINTR);
	T_EQ(handled, 1);
	set_handler(SIGUSR1, SIG_DFL, 0);
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
	struct iocb cb;
	bool sent;
	int err;
	long ret;

	t_prep_pread(&cb, fd, buf, LEN, 0);
	t_submit1(ctx, &cb);
	wait_ring(ctx, 1);
	set_handler(SIGUSR1, on_signal, 0);
	handled = 0;
	/* Interrupted with one of two in hand: the one is returned, not EINTR. */
	ret = interrupted_wait(ctx, 2, ev, NULL, &err, &sent);
	if (T_EQ(ret, 1)) {
		T_EQ(ev[0].obj, (uintptr_t)&cb);
		T_EQ(ev[0].res, LEN);
		t_verify_pattern(buf, LEN, SEED, 0);
	} else {
		t_diag("errno %s", strerrorname_np(err));
	}
	T_EQ(handled, 1);
	set_handler(SIGUSR1, SIG_DFL, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_ignored(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct timespec ts = { 0, 300000000 };
	struct io_event ev;
	long long t0, dt;
	bool sent;
	int err;
	long ret;

	/* An ignored signal is dropped when sent and wakes nobody. */
	set_handler(SIGUSR1, SIG_IGN, 0);
	t0 = t_now_us();
	ret = interrupted_wait(ctx, 1, &ev, &ts, &err, &sent);
	dt = t_now_us() - t0;
	set_handler(SIGUSR1, SIG_DFL, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	if (!sent)
		return t_skip("the signal could not be sent within the 300 ms wait");
	if (!T_EQ(ret, 0))
		t_diag("errno %s", strerrorname_np(err));
	if (!T_TRUE(dt >= 250000))
		t_diag("returned after %lld us", dt);
	return t_result();
}

static enum t_result test_stop_cont(void)
{
	long long deadline;
	int status = 0;
	pid_t pid, w;

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
	wait_blocked(pid, pid, SYS_io_getevents, NULL);
	kill(pid, SIGSTOP);
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		t_bail("child did not stop (status 0x%x)", status);
	kill(pid, SIGCONT);
	/*
	 * With no handler at all, stop and continue still end the wait with
	 * EINTR; a kernel that restarts the call leaves the child waiting.
	 */
	deadline = t_now_us() + 5000000;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && t_now_us() < deadline)
		usleep(1000);
	if (!T_EQ(w, pid)) {
		t_diag("child still waits after SIGCONT");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return T_FAIL;
	}
	T_TRUE(WIFEXITED(status));
	T_EQ(WEXITSTATUS(status), 0);
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
