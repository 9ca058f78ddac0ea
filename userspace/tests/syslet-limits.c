// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: limits on helpers.  Under an RLIMIT_NPROC that leaves no
 * room for a helper, blocking reads run synchronously with stock's counts
 * and events, no errno leaks, and the failed helper creations back off
 * (at most 2 in 8 reads); with the limit raised, reads hand off again.
 * fs.aio-syslet-max-threads lowered from 16 to 2 while 8 reads are handed
 * off: every read ends once, and 2 helpers at most stay parked.
 * fs.aio-syslet set to 0 while reads are handed off: they end once, the
 * next read runs as on stock, and with 1 again reads hand off.
 */
#include "syslet-helpers.h"

#include <grp.h>
#include <sys/resource.h>

#define NEW_ID		4242
#define NR_SYNC		8
#define TICK_MS		40

/*
 * A writer process, forked while forking is still allowed: writes one
 * byte to @fd every TICK_MS, @n times, then exits.
 */
static pid_t start_ticker(int fd, int n)
{
	pid_t pid = t_fork();

	if (pid == 0) {
		for (int i = 0; i < n; i++) {
			usleep(TICK_MS * 1000);
			if (write(fd, "t", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	return pid;
}

/* The child of test_nproc, as NEW_ID: exits SH_CHILD_PASS when every check held. */
static int nproc_child(void)
{
	struct rlimit one = { 1, 64 }, room = { 64, 64 };
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb cb, *list = &cb;
	struct io_event ev;
	pid_t ticker;
	int p[2];
	char c;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	ticker = start_ticker(p[1], NR_SYNC);
	if (setgroups(0, NULL) || setresgid(NEW_ID, NEW_ID, NEW_ID) ||
	    setresuid(NEW_ID, NEW_ID, NEW_ID) || setrlimit(RLIMIT_NPROC, &one))
		t_bail("drop to uid %d with RLIMIT_NPROC 1: %s", NEW_ID, strerror(errno));
	/* No thread fits now: the rescuer of sh_read_runs() could not be made either. */
	for (int i = 0; i < NR_SYNC; i++) {
		long long t0 = t_now_us();
		long ret;

		t_prep_pread(&cb, p[0], &c, 1, 0);
		cb.aio_data = i;
		errno = 0;
		ret = sys_io_submit(ctx, 1, &list);
		if (!T_EQ(ret, 1))
			t_diag("read %d: io_submit() returned %ld (%s)", i, ret, strerror(errno));
		/* Synchronous: the event is in the ring as io_submit() returns. */
		T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &(struct timespec){ 0, 0 }), 1);
		T_EQ(ev.data, i);
		T_EQ(ev.res, 1);
		T_EQ(c, 't');
		if (i == 0)
			t_diag("the first read took %lld us", t_now_us() - t0);
	}
	T_EQ(sh_count_tasks(), 1);
	T_TRUE(t_reap_child(ticker, 0, 10));
	/* Room again: after the back-off, a helper is made and used. */
	if (setrlimit(RLIMIT_NPROC, &room))
		t_bail("setrlimit(RLIMIT_NPROC, 64): %s", strerror(errno));
	usleep(1100 * 1000);
	if (sh_refill(ctx))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	fflush(stdout);
	return t_result() == T_FAIL ? 1 : SH_CHILD_PASS;
}

static enum t_result test_nproc(void)
{
	struct sh_trace creates, missed;
	long failed, made;
	pid_t pid;

	if (!t_is_root())
		return t_skip("changing to another user and reading the trace events need root");
	sh_trace_start(&creates, "syslet_create");
	sh_trace_start(&missed, "syslet_no_helper");
	pid = t_fork();
	if (pid == 0) {
		sh_watchdog(40);
		_exit(nproc_child());
	}
	T_TRUE(t_reap_child(pid, SH_CHILD_PASS, 45));
	made = sh_trace_count_tgid(&creates, pid, " err=0");
	failed = sh_trace_count_tgid(&creates, pid, NULL) - made;
	t_diag("helper creations: %ld failed, %ld made", failed, made);
	T_TRUE(failed >= 1);
	T_TRUE(failed <= 2);
	T_TRUE(made >= 1);
	T_TRUE(sh_trace_count_tgid(&missed, pid, NULL) >= NR_SYNC);
	sh_trace_stop(&creates);
	sh_trace_stop(&missed);
	return t_result();
}

/* 8 reads of 8 pipes, each handed off by an io_submit() of its own. */
struct eight {
	int p[8][2];
	char c[8];
	struct iocb cb[8];
};

static bool eight_start(struct eight *e, aio_context_t ctx)
{
	bool ok = true;

	for (int i = 0; i < 8 && ok; i++) {
		if (pipe2(e->p[i], O_CLOEXEC))
			t_bail("pipe2: %s", strerror(errno));
		ok = sh_hand_off_read(ctx, &e->cb[i], e->p[i], &e->c[i]);
	}
	return ok;
}

/* Writes every pipe and reaps 8 events, one per read, with its byte; then no more. */
static bool eight_end(struct eight *e, aio_context_t ctx)
{
	struct io_event ev[8], extra;
	unsigned int seen = 0;
	bool ok = true;
	int n;

	for (int i = 0; i < 8; i++)
		if (write(e->p[i][1], "e", 1) != 1)
			t_bail("write: %s", strerror(errno));
	n = t_reap(ctx, ev, 8, 10000);
	ok &= T_EQ(n, 8);
	for (int i = 0; i < n; i++) {
		struct iocb *cb = (struct iocb *)(uintptr_t)ev[i].obj;
		long k = cb - e->cb;

		ok &= T_TRUE(k >= 0 && k < 8 && !(seen & (1u << k)));
		ok &= T_EQ(ev[i].res, 1);
		if (k >= 0 && k < 8) {
			seen |= 1u << k;
			ok &= T_EQ(e->c[k], 'e');
		}
	}
	ok &= T_EQ(sys_io_getevents(ctx, 0, 1, &extra, &(struct timespec){ 0, 0 }), 0);
	for (int i = 0; i < 8; i++) {
		close(e->p[i][0]);
		close(e->p[i][1]);
	}
	return ok;
}

static enum t_result lowered_child(void)
{
	aio_context_t ctx = t_setup_ctx(32);
	struct iocb *none = NULL;
	struct eight e;
	long long old;
	int parked = 0, tasks = 0;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	if (!T_TRUE(eight_start(&e, ctx)))
		t_diag("not every read handed off");
	T_NO_EVENT(ctx, 0);
	old = sh_set_max_threads(2);
	/* The pool learns the bound at the next io_submit(), before the reads end. */
	T_EQ(sys_io_submit(ctx, 0, &none), 0);
	T_TRUE(eight_end(&e, ctx));
	/* The former heads park, and those over the bound exit. */
	for (int i = 0; i < 250; i++) {
		parked = sh_parked_helpers();
		tasks = sh_count_tasks();
		if (parked <= 2 && tasks <= 3)
			break;
		usleep(20000);
	}
	if (!T_TRUE(parked <= 2) || !T_TRUE(tasks <= 3))
		t_diag("%d helpers parked, %d threads, 5 s after the bound went to 2", parked, tasks);
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	sh_restore_max_threads(old);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_lowered(void)
{
	if (!t_is_root())
		return t_skip("changing fs.aio-syslet-max-threads needs root");
	return sh_in_child_max_threads(16, lowered_child);
}

static enum t_result flip_child(void)
{
	aio_context_t ctx = t_setup_ctx(32);
	long long mode = t_read_sysctl(T_SYSLET_SYSCTL);
	struct sh_block b[2];
	int err;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	T_TRUE(sh_handoff(&b[0], ctx, SH_READ_DATA));
	sh_refill(ctx);
	T_TRUE(sh_handoff(&b[1], ctx, SH_READ_DATA + 1));
	err = t_write_sysctl(T_SYSLET_SYSCTL, 0);
	if (err)
		t_bail("write 0 to " T_SYSLET_SYSCTL ": %s", strerror(-err));
	T_TRUE(sh_block_finish(&b[0]));
	T_TRUE(sh_block_finish(&b[1]));
	/* Off: the next read runs in io_submit(), as on stock, helpers parked or not. */
	T_TRUE(sh_read_runs(ctx, false));
	err = t_write_sysctl(T_SYSLET_SYSCTL, mode);
	if (err)
		t_bail("write %lld to " T_SYSLET_SYSCTL ": %s", mode, strerror(-err));
	if (sh_refill(ctx))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_flip(void)
{
	if (!t_is_root())
		return t_skip("changing fs.aio-syslet needs root");
	return sh_in_child(flip_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "RLIMIT_NPROC with no room for a helper: synchronous reads, stock counts, creation backs off; room again: hands off",
		  test_nproc },
		{ "fs.aio-syslet-max-threads lowered to 2 with 8 reads handed off: each ends once, at most 2 helpers stay",
		  test_lowered },
		{ "fs.aio-syslet set to 0 with 2 reads handed off: each ends once, the next runs as on stock; back on, hands off",
		  test_flip },
	};

	t_require_syslet_exclusive();
	return T_RUN(cases);
}
