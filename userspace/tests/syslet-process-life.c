// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: the process lives on while a handed-off read is blocked.
 * SIGSTOP stops it (waitpid() WUNTRACED within 5 s) and SIGCONT resumes
 * it, and the read ends in one event; fork() gives a child without the
 * parent's helpers, whose own reads hand off, and the parent's read ends
 * once, in the parent; with the AIO ring unmapped the context is gone
 * for system calls, as on stock, and the process still exits; moved by
 * mremap(), its id is the new address, as on stock, and the read's event
 * comes.
 */
#include "syslet-helpers.h"

#include <sys/mman.h>

/* waitpid(WUNTRACED) until @pid reports a stop, for up to @ms; true if it did. */
static bool wait_stopped(pid_t pid, int ms, int *st)
{
	long long deadline = t_now_us() + ms * 1000LL;
	pid_t got;

	while ((got = waitpid(pid, st, WUNTRACED | WNOHANG)) == 0 && t_now_us() < deadline)
		usleep(1000);
	if (!T_EQ(got, pid))
		t_diag("no stop reported within %d ms", ms);
	return got == pid && T_TRUE(WIFSTOPPED(*st));
}

static enum t_result test_stop(void)
{
	struct sh_holder h;
	long long t0;
	int st = 0;

	if (!sh_holder_start(&h, NULL))
		return T_FAIL;
	t0 = t_now_us();
	T_EQ(kill(h.pid, SIGSTOP), 0);
	if (wait_stopped(h.pid, 5000, &st)) {
		T_EQ(WSTOPSIG(st), SIGSTOP);
		t_diag("stopped in %lld us", t_now_us() - t0);
	}
	T_EQ(kill(h.pid, SIGCONT), 0);
	T_EQ(waitpid(h.pid, &st, WCONTINUED), h.pid);
	T_TRUE(WIFCONTINUED(st));
	sh_holder_end(&h);
	return t_result();
}

/* In the child forked with a read handed off: no helper, the parent's context gone, its own handoffs. */
static int forked_child(aio_context_t parent_ctx)
{
	struct io_event ev;
	struct timespec zero = { 0, 0 };
	aio_context_t ctx;

	T_EQ(sh_count_tasks(), 1);
	T_EQ(sh_parked_helpers(), 0);
	/* AIO contexts are not inherited. */
	T_ERRNO(sys_io_getevents(parent_ctx, 0, 1, &ev, &zero), EINVAL);
	ctx = t_setup_ctx(8);
	if (sh_warm_up(ctx) && T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(sys_io_destroy(ctx), 0);
	fflush(stdout);
	return t_result() == T_FAIL ? 1 : SH_CHILD_PASS;
}

static enum t_result fork_inflight(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_block b;
	pid_t pid;

	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, SH_READ_DATA))
		return T_FAIL;
	pid = t_fork();
	if (pid == 0) {
		sh_watchdog(30);
		_exit(forked_child(ctx));
	}
	T_TRUE(t_reap_child(pid, SH_CHILD_PASS, 30));
	/* The parent's read was not ended by the fork: it ends now, once. */
	T_NO_EVENT(ctx, 0);
	T_TRUE(sh_block_finish(&b));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_fork(void)
{
	return sh_in_child(fork_inflight);
}

static enum t_result test_fork_thread(void)
{
	return sh_in_child_thread(fork_inflight);
}

/* The ring's size, from its header (nr events of 32 bytes after a 32-byte header). */
static size_t ring_bytes(aio_context_t ctx)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = 32 + (size_t)t_ring_size(ctx) * sizeof(struct io_event);

	return (len + page - 1) / page * page;
}

/*
 * The ring unmapped while a read is handed off: as on stock, the context
 * is found through the ring's header in user memory, so io_getevents()
 * and io_destroy() fail with EINVAL from then on.  The read still ends
 * (the pipe is written) and the process exits, its context torn down by
 * exit, within the watchdog's time.
 */
static enum t_result ring_unmapped(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct timespec zero = { 0, 0 };
	struct io_event ev;
	struct sh_block b;

	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, SH_READ_DATA))
		return T_FAIL;
	T_EQ(munmap((void *)ctx, ring_bytes(ctx)), 0);
	T_ERRNO(sys_io_getevents(ctx, 0, 1, &ev, &zero), EINVAL);
	T_ERRNO(sys_io_destroy(ctx), EINVAL);
	T_EQ(write(b.pfd[1], "c", 1), 1);
	return t_result();
}

static enum t_result test_ring_unmapped(void)
{
	return sh_in_child(ring_unmapped);
}

/*
 * The ring moved by mremap() while a read is handed off: the context's
 * id is the new address (the old one fails with EINVAL), and the event
 * is there.
 */
static enum t_result ring_moved(void)
{
	aio_context_t ctx = t_setup_ctx(8), moved;
	struct timespec zero = { 0, 0 };
	struct io_event ev;
	struct sh_block b;
	size_t len;
	void *to;

	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, SH_READ_DATA))
		return T_FAIL;
	len = ring_bytes(ctx);
	to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED)
		t_bail("mmap %zu bytes: %s", len, strerror(errno));
	if (mremap((void *)ctx, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to)
		t_bail("mremap of the ring: %s", strerror(errno));
	moved = (aio_context_t)to;
	T_ERRNO(sys_io_getevents(ctx, 0, 1, &ev, &zero), EINVAL);
	/* sh_block_finish() reaps on b.ctx. */
	b.ctx = moved;
	T_TRUE(sh_block_finish(&b));
	T_EQ(sys_io_destroy(moved), 0);
	return t_result();
}

static enum t_result test_ring_moved(void)
{
	return sh_in_child(ring_moved);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "SIGSTOP with a handed-off read blocked: stopped within 5 s, SIGCONT, one event",
		  test_stop },
		{ "leader: fork() with a handed-off read blocked: the child has no helper and hands off; the read ends once",
		  test_fork },
		{ "thread: fork() with a handed-off read blocked: the child has no helper and hands off; the read ends once",
		  test_fork_thread },
		{ "the ring unmapped with a handed-off read blocked: EINVAL as on stock, and the process exits",
		  test_ring_unmapped },
		{ "the ring moved by mremap() with a handed-off read blocked: new id, the event comes",
		  test_ring_moved },
	};

	t_require_syslet();
	return T_RUN(cases);
}
