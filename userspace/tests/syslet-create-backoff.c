// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a process that cannot make a helper (its pids cgroup is
 * full) does not try again at every blocking iocb.
 *
 * A block that finds no helper asks for one, made at the next io_submit().
 * When that fails, the kernel waits a second before it tries again: the
 * cgroup's pids.events counts each failed fork, and 20 blocking reads in
 * well under a second may cost one or two, not twenty.  Each read runs
 * synchronously, with stock's count and event; once pids.max leaves room,
 * the process hands off again.
 *
 * A signal is no such failure: fork refuses while one is pending
 * (-ERESTARTNOINTR), and one is pending whenever it is what ended the
 * block that asked for the helper.  The next io_submit() makes the
 * helper at once, without the back-off.
 */
#include "syslet-helpers.h"

#define NR_READS	20
#define RESCUE_MS	20

static char cg[128];

/* The "max" count of @cg's pids.events; -1 if unreadable. */
static long long pids_max_events(void)
{
	char path[192], line[128];
	long long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pids.events", cg);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "max %lld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * The child, alone in the cgroup: NR_READS reads of a pipe that the
 * parent, outside, writes a byte to every RESCUE_MS.  No thread of ours
 * may need a pid: the rescuer is the parent.
 */
static int reads_in_full_cgroup(int in, int ready, int room)
{
	aio_context_t ctx;
	bool ok = true;
	char go;

	if (!sh_cgroup_write(cg, "cgroup.procs", "0"))
		t_bail("write 0 to %s/cgroup.procs: %s", cg, strerror(errno));
	ctx = t_setup_ctx(16);
	if (write(ready, "r", 1) != 1)
		t_bail("write: %s", strerror(errno));
	for (int i = 0; i < NR_READS && ok; i++) {
		struct iocb cb, *list = &cb;
		struct io_event ev;
		char c = 0;

		t_prep_pread(&cb, in, &c, 1, 0);
		cb.aio_data = i;
		ok &= T_EQ(sys_io_submit(ctx, 1, &list), 1);
		/* Synchronous: the event is in the ring as io_submit() returns. */
		ok &= T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &(struct timespec){ 0, 0 }), 1);
		ok &= T_EQ(ev.data, i) && T_EQ(ev.res, 1) && T_EQ(c, 'a' + i);
	}
	T_EQ(sh_count_tasks(), 1);
	/* The parent raised pids.max: after the back-off, a helper is made and used. */
	if (T_EQ(read(room, &go, 1), 1)) {
		usleep(1100 * 1000);
		if (sh_refill(ctx))
			T_TRUE(sh_read_runs(ctx, true));
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return ok && t_result() == T_PASS ? SH_CHILD_PASS : 1;
}

static enum t_result test_backoff(void)
{
	const char *why;
	long long before, after, t0, ms;
	int p[2], ready[2], room[2];
	char c;
	pid_t pid;

	if (!t_is_root())
		return t_skip("making a cgroup needs root");
	why = sh_make_cgroup(cg, sizeof(cg), "backoff", "pids");
	if (why)
		return t_skip("%s", why);
	/* Room for the one thread the child is: no helper fits. */
	if (!sh_cgroup_write(cg, "pids.max", "1"))
		t_bail("write 1 to %s/pids.max: %s", cg, strerror(errno));
	before = pids_max_events();
	if (pipe2(p, O_CLOEXEC) || pipe2(ready, O_CLOEXEC) || pipe2(room, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t0 = t_now_us();
	pid = t_fork();
	if (pid == 0) {
		close(p[1]);
		close(ready[0]);
		close(room[1]);
		sh_watchdog(30);
		_exit(reads_in_full_cgroup(p[0], ready[1], room[0]));
	}
	close(p[0]);
	close(ready[1]);
	close(room[0]);
	if (T_EQ(read(ready[0], &c, 1), 1)) {
		for (int i = 0; i < NR_READS; i++) {
			usleep(RESCUE_MS * 1000);
			c = 'a' + i;
			if (write(p[1], &c, 1) != 1)
				break;
		}
	}
	ms = (t_now_us() - t0) / 1000;
	after = pids_max_events();
	if (!sh_cgroup_write(cg, "pids.max", "max"))
		t_bail("write max to %s/pids.max: %s", cg, strerror(errno));
	T_EQ(write(room[1], "m", 1), 1);
	close(room[1]);
	close(p[1]);
	close(ready[0]);
	t_reap_child(pid, SH_CHILD_PASS, 30);
	if (rmdir(cg))
		t_diag("rmdir %s: %s", cg, strerror(errno));
	if (!T_TRUE(before >= 0 && after >= 0))
		return T_FAIL;
	t_diag("%d blocking reads in %lld ms: %lld failed forks", NR_READS, ms, after - before);
	/* One at the first block, then at most one a second (and one for rounding). */
	T_TRUE(after - before >= 1);
	if (!T_TRUE(after - before <= 2 + ms / 1000))
		t_diag("a failed helper creation at every blocking read: no back-off");
	return t_result();
}

static volatile sig_atomic_t usr1s;

static void on_usr1(int sig)
{
	(void)sig;
	usr1s++;
}

/*
 * In a child of its own, with no helper yet: a read of an empty pipe
 * blocks, finds no helper and asks for one; SIGUSR1, 100 ms later, ends
 * it (its event: EINTR), and was still pending as io_submit() went on to
 * make the helper.  One empty io_submit() then makes it, and a read hands
 * off.  A kernel that took the pending signal for a failed creation backs
 * off for a second and forgets the request: no helper, ever.
 */
static enum t_result signal_child(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	struct itimerspec its = { .it_value = { 0, 100 * 1000 * 1000 } };
	struct timespec ts = { 5, 0 };
	struct iocb cb, *list = &cb;
	struct io_event ev;
	aio_context_t ctx;
	timer_t timer;
	int p[2];
	char c = 0;

	t_set_handler(SIGUSR1, on_usr1, 0);
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
		t_bail("timer_create(CLOCK_MONOTONIC): %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	ctx = t_setup_ctx(4);
	T_EQ(sh_count_tasks(), 1);
	t_prep_pread(&cb, p[0], &c, 1, 0);
	cb.aio_data = 7;
	if (timer_settime(timer, 0, &its, NULL))
		t_bail("timer_settime: %s", strerror(errno));
	/* No helper to take it: synchronous until the signal. */
	T_EQ(sys_io_submit(ctx, 1, &list), 1);
	T_EQ(usr1s, 1);
	if (T_EQ(sys_io_getevents(ctx, 1, 1, &ev, &ts), 1))
		T_TRUE(ev.data == 7 && ev.res == -EINTR);
	/* One empty io_submit() makes the helper the first block asked for. */
	if (sh_refill(ctx))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(sys_io_destroy(ctx), 0);
	timer_delete(timer);
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_signal_no_backoff(void)
{
	return sh_in_child(signal_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "pids.max leaves no room for a helper: 20 synchronous reads, 1 failed fork a second; room again: hands off",
		  test_backoff },
		{ "a signal pending as the first block's helper is made: no back-off, the next io_submit() makes it",
		  test_signal_no_backoff },
	};

	t_require_syslet();
	return T_RUN(cases);
}
