// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a tracer that seizes, interrupts, waits for and detaches a
 * thread, over and over while that thread hands off in a loop, always
 * traces the thread it named: waitpid() finds it stopped, and its
 * TracerPid is the tracer's.  (A TID that moved between the tracer's
 * lookup and its attach used to leave the tracer with another task.)
 */
#include "syslet-helpers.h"

#include <sys/ptrace.h>

#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE		0x4206
#define PTRACE_INTERRUPT	0x4207
#endif

/* The tracer closed @stop: it is done. */
static bool stopped(int stop)
{
	struct pollfd pf = { .fd = stop, .events = POLLIN };

	return poll(&pf, 1, 0) == 1;
}

/*
 * One read of sh_read_soon(), saying what went wrong unless io_submit()
 * took the iocb and its event came within 5 s with res 1 or -EINTR (a
 * ptrace interrupt can end the pipe read with EINTR).
 */
static bool tracee_read(aio_context_t ctx, long round)
{
	struct iocb cb, *list = &cb;
	long long t0 = t_now_us();
	struct t_writer w;
	struct io_event ev;
	long ret, got = 0;
	int p[2], err = 0;
	char c = 0;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	t_prep_pread(&cb, p[0], &c, 1, 0);
	t_writer_start(&w, p[1], "x", 1, 2);
	ret = sys_io_submit(ctx, 1, &list);
	err = errno;
	if (ret == 1)
		got = t_reap(ctx, &ev, 1, 5000);
	t_writer_stop(&w);
	close(p[0]);
	close(p[1]);
	if (ret == 1 && got == 1 && (ev.res == 1 || (long)ev.res == -EINTR))
		return true;
	if (ret != 1)
		printf("# tracee: read %ld: io_submit() returned %ld (%s) after %lld us\n", round,
		       ret, ret < 0 ? strerror(err) : "no error", t_now_us() - t0);
	else if (got != 1)
		printf("# tracee: read %ld: no event %lld us after io_submit()\n", round,
		       t_now_us() - t0);
	else
		printf("# tracee: read %ld: res %lld res2 %lld data %#llx after %lld us\n", round,
		       (long long)ev.res, (long long)ev.res2, (unsigned long long)ev.data,
		       t_now_us() - t0);
	return false;
}

/*
 * The tracee: the main thread of a child, reading pipes that a writer
 * fills 2 ms later, until the tracer closes @stop.
 */
static void tracee_loop(int ready, int stop)
{
	aio_context_t ctx = t_setup_ctx(8);
	long rounds = 0, bad = 0;

	if (!sh_warm_up(ctx))
		_exit(2);
	if (write(ready, "r", 1) != 1)
		_exit(3);
	close(ready);
	while (!stopped(stop)) {
		if (!tracee_read(ctx, rounds))
			bad++;
		rounds++;
	}
	sys_io_destroy(ctx);
	printf("# tracee: %ld reads, %ld wrong\n", rounds, bad);
	fflush(stdout);
	_exit(bad ? 1 : SH_CHILD_PASS);
}

/* waitpid(@pid, __WALL), for up to 2 s. */
static pid_t wait_stop(pid_t pid, int *st)
{
	long long end = t_now_us() + 2000000;
	pid_t got;

	while ((got = waitpid(pid, st, __WALL | WNOHANG)) == 0 && t_now_us() < end)
		usleep(200);
	return got;
}

static enum t_result tracer(void)
{
	unsigned int seconds = sh_stress_seconds(10);
	long long end;
	long rounds = 0, lost = 0, wrong_tracer = 0;
	int ready[2], stop[2], st = 0;
	char c;
	pid_t b;

	if (pipe2(ready, O_CLOEXEC) || pipe2(stop, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	b = t_fork();
	if (b == 0) {
		close(ready[0]);
		close(stop[1]);
		tracee_loop(ready[1], stop[0]);
	}
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &c, 1) != 1) {
		t_diag("the tracee did not start");
		t_wait_child(b, &st, 10, false);
		return T_FAIL;
	}
	close(ready[0]);
	end = t_now_us() + seconds * 1000000LL;
	while (t_now_us() < end) {
		char val[64];
		pid_t got;

		if (ptrace(PTRACE_SEIZE, b, NULL, NULL)) {
			if (errno == ESRCH)
				break;	/* the tracee is done */
			t_diag("round %ld: PTRACE_SEIZE: %s", rounds, strerror(errno));
			lost++;
			break;
		}
		if (ptrace(PTRACE_INTERRUPT, b, NULL, NULL))
			t_diag("round %ld: PTRACE_INTERRUPT: %s", rounds, strerror(errno));
		got = wait_stop(b, &st);
		if (got != b) {
			t_diag("round %ld: waitpid(%d) returned %d (%s): the tracee is another task",
			       rounds, (int)b, (int)got, got < 0 ? strerror(errno) : "");
			lost++;
			break;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		if (sh_task_status_field(b, b, "TracerPid:", val, sizeof(val)) && atoi(val) != getpid()) {
			t_diag("round %ld: TracerPid of %d is %s, not %d", rounds, (int)b, val,
			       (int)getpid());
			wrong_tracer++;
		}
		if (ptrace(PTRACE_DETACH, b, NULL, NULL))
			t_diag("round %ld: PTRACE_DETACH: %s", rounds, strerror(errno));
		rounds++;
		/* Let it run into a handoff or two before the next seize. */
		usleep((unsigned int)(rounds % 4) * 500);
	}
	close(stop[1]);
	t_diag("%ld seize/interrupt/wait/detach rounds", rounds);
	T_EQ(lost, 0);
	T_EQ(wrong_tracer, 0);
	T_TRUE(rounds > 0);
	if (lost)
		kill(b, SIGKILL);
	if (T_TRUE(t_wait_child(b, &st, seconds + 30, true))) {
		T_TRUE(WIFEXITED(st));
		T_EQ(WEXITSTATUS(st), SH_CHILD_PASS);
	}
	return t_result();
}

static enum t_result test_seize_race(void)
{
	return sh_in_child(tracer);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "seize/interrupt/wait/detach of a thread that hands off in a loop always finds that thread",
		  test_seize_race },
	};

	t_require_syslet();
	return T_RUN(cases);
}
