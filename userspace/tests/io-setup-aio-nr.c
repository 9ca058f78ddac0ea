// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: fs.aio-nr sums the nr_events of live contexts and is bounded by fs.aio-max-nr. */
#include "t.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#define AIO_MAX_NR "/proc/sys/fs/aio-max-nr"

/*
 * fs.aio-nr is system wide and other cases make contexts in parallel: each
 * step is measured on its own, between two quick reads, and retried until
 * one ran undisturbed; it fails only if none did.
 */
#define ATTEMPTS 100

static void pause_between_attempts(int i)
{
	/* Irregular, so that copies running in step drift apart. */
	usleep(1000 + (useconds_t)(rand() % 10000) + (useconds_t)i * 100);
}

static aio_context_t setup_or_bail(unsigned int n)
{
	aio_context_t ctx = 0;

	if (sys_io_setup(n, &ctx))
		t_bail("io_setup(%u): %s", n, strerror(errno));
	return ctx;
}

/* io_setup(n) that raised aio-nr by exactly n in an undisturbed attempt; 0 if none was. */
static aio_context_t measured_setup(unsigned int n)
{
	long long before = 0, after = 0;

	for (int i = 0; i < ATTEMPTS; i++) {
		aio_context_t ctx;

		before = t_aio_nr();
		ctx = setup_or_bail(n);
		after = t_aio_nr();
		if (after - before == n)
			return ctx;
		sys_io_destroy(ctx);
		pause_between_attempts(i);
	}
	t_diag("io_setup(%u) never raised aio-nr by %u alone: last %lld -> %lld",
	       n, n, before, after);
	return 0;
}

/* io_destroy() of a context of n that lowered aio-nr by exactly n, undisturbed. */
static bool measured_destroy(aio_context_t ctx, unsigned int n)
{
	long long before = 0, after = 0;

	for (int i = 0; i < ATTEMPTS; i++) {
		if (i) {
			pause_between_attempts(i);
			ctx = setup_or_bail(n);
		}
		before = t_aio_nr();
		if (sys_io_destroy(ctx))
			t_bail("io_destroy: %s", strerror(errno));
		after = t_aio_nr();
		if (before - after == n)
			return true;
	}
	t_diag("io_destroy of a context of %u never lowered aio-nr by %u alone: last %lld -> %lld",
	       n, n, before, after);
	return false;
}

static enum t_result check_setup_destroy(unsigned int n)
{
	aio_context_t ctx = measured_setup(n);

	if (!T_TRUE(ctx != 0))
		return T_FAIL;
	T_TRUE(measured_destroy(ctx, n));
	return t_result();
}

static enum t_result test_one(void)
{
	/* The internal ring is far larger than 1 event, but only 1 is counted. */
	return check_setup_destroy(1);
}

static enum t_result test_many(void)
{
	return check_setup_destroy(1237);
}

static enum t_result test_several(void)
{
	static const unsigned int nr[] = { 3, 100, 1000 };
	/* Destroyed out of creation order. */
	static const int order[] = { 1, 0, 2 };
	aio_context_t ctx[3] = { 0 };

	/* Each is counted on top of the ones still live. */
	for (int i = 0; i < 3; i++) {
		ctx[i] = measured_setup(nr[i]);
		if (!T_TRUE(ctx[i] != 0))
			ctx[i] = setup_or_bail(nr[i]);
	}
	for (int i = 0; i < 3; i++)
		T_TRUE(measured_destroy(ctx[order[i]], nr[order[i]]));
	return t_result();
}

/* A child with a context exits without io_destroy(): the exit takes its count off. */
static bool exit_once(unsigned int n)
{
	int up[2], down[2], status;
	long long before, after;
	char c = 0;
	pid_t pid;

	if (pipe(up) || pipe(down))
		t_bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		aio_context_t ctx = 0;

		c = sys_io_setup(n, &ctx) ? 1 : 0;
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	if (read(up[0], &c, 1) != 1 || c)
		t_bail("io_setup(%u) in the child failed", n);
	before = t_aio_nr();
	if (write(down[1], &c, 1) != 1)
		t_bail("write: %s", strerror(errno));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		t_bail("child did not exit cleanly");
	/* The exiting mm killed the context before the parent could see the exit. */
	after = t_aio_nr();
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	if (before - after == n)
		return true;
	t_diag("child with a context of %u exited: aio-nr %lld -> %lld (disturbed?)",
	       n, before, after);
	return false;
}

static enum t_result test_exit(void)
{
	bool ok = false;

	for (int i = 0; i < ATTEMPTS && !ok; i++) {
		ok = exit_once(731);
		if (!ok)
			pause_between_attempts(i);
	}
	T_TRUE(ok);
	return t_result();
}

static long long saved_max = -1;

static void restore_max(void)
{
	if (saved_max >= 0 && t_write_sysctl(AIO_MAX_NR, saved_max))
		fprintf(stderr, "could not restore %s to %lld\n", AIO_MAX_NR, saved_max);
	saved_max = -1;
}

/*
 * The limit is lowered to leave exactly room for n - 1 (EAGAIN), then for n
 * (success), then restored.  n is large so that cases running in parallel
 * still find room for their small contexts meanwhile.  Returns 1 when both
 * went as expected, 0 when disturbed, -1 on a wrong result.
 */
static int max_nr_once(unsigned int n)
{
	aio_context_t ctx = 0, ctx2 = 0;
	long ret1, ret2;
	int err1, err2;
	long long nr;
	sigset_t all, old;

	/* No signal may end the process while the limit is lowered. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	nr = t_aio_nr();
	if (nr + n > saved_max) {
		/* Others hold so much that this would raise the limit: wait for them. */
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	if (t_write_sysctl(AIO_MAX_NR, nr + n - 1))
		t_bail("write %s: %s", AIO_MAX_NR, strerror(errno));
	ret1 = sys_io_setup(n, &ctx);
	err1 = errno;
	if (t_write_sysctl(AIO_MAX_NR, nr + n))
		t_bail("write %s: %s", AIO_MAX_NR, strerror(errno));
	ret2 = sys_io_setup(n, &ctx2);
	err2 = errno;
	restore_max();
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (ret1 == 0)
		sys_io_destroy(ctx);
	if (ret2 == 0)
		sys_io_destroy(ctx2);
	/* Other contexts went away in between (ret1 0) or came (ret2 -1): retry. */
	if (ret1 == 0 || (ret1 == -1 && err1 == EAGAIN && ret2 == -1 && err2 == EAGAIN)) {
		t_diag("aio-nr moved during the measurement, retrying");
		return 0;
	}
	errno = err1;
	if (!T_ERRNO(ret1, EAGAIN) || !T_EQ(ctx, 0) || !T_EQ(ret2, 0))
		return -1;
	return 1;
}

static enum t_result test_max_nr(void)
{
	const unsigned int n = 10000;
	int lock, r = 0;

	if (!t_is_root())
		return t_skip("changing fs.aio-max-nr needs root");
	/* Package builds run in chroots and containers whose /proc/sys is read-only. */
	if (access(AIO_MAX_NR, W_OK))
		return t_skip("cannot change fs.aio-max-nr here: %s", strerror(errno));
	/* Copies of this case must not save each other's lowered limit as the original. */
	lock = open(AIO_MAX_NR, O_RDONLY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX))
		t_bail("lock %s: %s", AIO_MAX_NR, strerror(errno));
	saved_max = t_read_sysctl(AIO_MAX_NR);
	if (t_aio_nr() + n > saved_max) {
		long long max = saved_max;

		saved_max = -1;
		close(lock);
		return t_skip("fs.aio-max-nr %lld leaves no room to lower it below aio-nr + %u",
			      max, n);
	}
	for (int i = 0; i < ATTEMPTS && r == 0; i++) {
		if (i)
			pause_between_attempts(i);
		saved_max = t_read_sysctl(AIO_MAX_NR);
		r = max_nr_once(n);
	}
	close(lock);
	T_EQ(r, 1);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_setup(1) adds 1 to fs.aio-nr, io_destroy takes it off", test_one },
		{ "io_setup(1237) adds 1237 to fs.aio-nr, io_destroy takes it off", test_many },
		{ "several contexts add up in fs.aio-nr and leave one by one", test_several },
		{ "a context of an exited process leaves fs.aio-nr", test_exit },
		{ "io_setup beyond fs.aio-max-nr - fs.aio-nr fails with EAGAIN, up to it works",
		  test_max_nr },
	};

	srand((unsigned int)getpid());
	atexit(restore_max);
	return T_RUN(cases);
}
