// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a read that a syslet handed off and that waits for data
 * (a pipe, a socket) can be cancelled.  io_cancel() returns EINPROGRESS,
 * the one event for it has res -ECANCELED, and the data written later is
 * still there for the next read; a second io_cancel() fails with EINVAL.
 * io_destroy() with such a read in flight cancels it and returns at once
 * instead of waiting for data that may never come.
 */
#include "syslet-helpers.h"

#include <sys/socket.h>

/* How long io_destroy() may take with a cancellable read in flight. */
#define DESTROY_MS	2000

/*
 * Hands off a read of the empty @fd into @c, which nothing will write:
 * the io_submit() returns 1 at once.  A kernel that does not hand off
 * blocks, and the read's writer thread rescues it after SH_HANDOFF_MS by
 * writing 'R' to @wfd: then false (checked).
 */
static bool hand_off_forever(aio_context_t ctx, struct iocb *cb, int fd, int wfd, char *c)
{
	struct iocb *list = cb;
	struct t_writer w;
	bool ok;

	t_prep_pread(cb, fd, c, 1, 0);
	cb->aio_data = 0xca11;
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return false;
	t_writer_start(&w, wfd, "R", 1, SH_HANDOFF_MS);
	ok = T_EQ(sys_io_submit(ctx, 1, &list), 1);
	return T_EQ(t_writer_stop(&w), 0) && ok;
}

/*
 * io_cancel() of the read on @fd (written through @wfd): EINPROGRESS, one
 * event with res -ECANCELED and nothing read; a second cancel fails with
 * EINVAL; a byte written after it is left for read().
 */
static enum t_result cancel_read(int fd, int wfd)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct io_event ev, res;
	struct iocb cb;
	char c = 0, got = 0;

	if (!sh_warm_up(ctx) || !hand_off_forever(ctx, &cb, fd, wfd, &c))
		goto out;
	/* Still in flight: nothing to reap. */
	T_NO_EVENT(ctx, 100);
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINPROGRESS);
	if (T_EQ(t_reap(ctx, &ev, 1, 5000), 1)) {
		T_EQ(ev.data, 0xca11);
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, -ECANCELED);
		T_EQ(ev.res2, 0);
	}
	T_EQ(c, 0);
	/* Cancelled and completed: nothing left to cancel, no other event. */
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINVAL);
	T_NO_EVENT(ctx, 200);
	/* The cancelled read took nothing: the next byte goes to read(). */
	if (write(wfd, "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	T_EQ(read(fd, &got, 1), 1);
	T_EQ(got, 'x');
out:
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result cancel_pipe_read(void)
{
	enum t_result r;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	r = cancel_read(p[0], p[1]);
	close(p[0]);
	close(p[1]);
	return r;
}

static enum t_result test_cancel_pipe(void)
{
	return sh_in_child(cancel_pipe_read);
}

static enum t_result cancel_socket_read(void)
{
	enum t_result r;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		t_bail("socketpair: %s", strerror(errno));
	r = cancel_read(sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
	return r;
}

static enum t_result test_cancel_socket(void)
{
	return sh_in_child(cancel_socket_read);
}

/*
 * io_destroy() with a handed-off read of an empty pipe in flight returns
 * 0 within DESTROY_MS (the kernel cancelled the read), and the byte
 * written after it is left for read().
 */
static enum t_result destroy_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	long long start, took;
	struct iocb cb;
	char c = 0, got = 0;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!sh_warm_up(ctx) || !hand_off_forever(ctx, &cb, p[0], p[1], &c)) {
		T_EQ(sys_io_destroy(ctx), 0);
		return T_FAIL;
	}
	/* The child's watchdog ends a destroy that waits for ever. */
	start = t_now_us();
	T_EQ(sys_io_destroy(ctx), 0);
	took = (t_now_us() - start) / 1000;
	if (!T_TRUE(took < DESTROY_MS))
		t_diag("io_destroy() took %lld ms", took);
	T_EQ(c, 0);
	if (write(p[1], "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	T_EQ(read(p[0], &got, 1), 1);
	T_EQ(got, 'x');
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_destroy(void)
{
	return sh_in_child(destroy_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_cancel of a handed-off pipe read: EINPROGRESS, one event with -ECANCELED, "
		  "the data left for read()", test_cancel_pipe },
		{ "io_cancel of a handed-off socket read: the same", test_cancel_socket },
		{ "io_destroy with a handed-off pipe read in flight cancels it and returns at once",
		  test_destroy },
	};

	t_require_syslet();
	return T_RUN(cases);
}
