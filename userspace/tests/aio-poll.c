// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_CMD_POLL on pipes completes at once or on wake-up; stray fields are EINVAL. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

static void make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
}

/* Polls @fd for @events and expects the event at once with res exactly @want. */
static void check_ready(int fd, short events, long long want)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct io_event ev;
	struct iocb cb;

	t_prep_poll(&cb, fd, events);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.data, (uintptr_t)&cb);
		/* Only asked-for events plus POLLERR/POLLHUP are reported. */
		T_EQ(ev.res, want);
		T_EQ(ev.res2, 0);
	}
	sys_io_destroy(ctx);
}

static enum t_result test_pollin_ready(void)
{
	int p[2];

	make_pipe(p);
	T_EQ(write(p[1], "x", 1), 1);
	check_ready(p[0], POLLIN, POLLIN);
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_pollin_wakeup(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct timespec wait = { 0, 200 * 1000 * 1000 };
	struct io_event ev;
	struct iocb cb;
	int p[2];

	make_pipe(p);
	t_prep_poll(&cb, p[0], POLLIN);
	t_submit1(ctx, &cb);
	/* Nothing to read: the poll stays pending. */
	T_EQ(sys_io_getevents(ctx, 1, 1, &ev, &wait), 0);
	T_EQ(write(p[1], "x", 1), 1);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res2, 0);
		/*
		 * Completed from the wake-up, res is the waker's key (POLLIN |
		 * POLLRDNORM); from the work item, it is POLLIN: both are stock.
		 */
		T_TRUE(ev.res & POLLIN);
		T_EQ(ev.res & ~(long long)(POLLIN | POLLRDNORM), 0);
	}
	close(p[0]);
	close(p[1]);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_pollout_ready(void)
{
	int p[2];

	make_pipe(p);
	check_ready(p[1], POLLOUT, POLLOUT);
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_hangup(void)
{
	int p[2];

	/* POLLERR and POLLHUP come whether or not they were asked for. */
	make_pipe(p);
	close(p[1]);
	check_ready(p[0], POLLIN, POLLHUP);
	close(p[0]);
	make_pipe(p);
	close(p[0]);
	check_ready(p[1], POLLOUT, POLLOUT | POLLERR);
	close(p[1]);
	return t_result();
}

static enum t_result test_regular_file(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(4096, 0x5eed000eu, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;

	/*
	 * No ->poll: vfs_poll() gives DEFAULT_POLLMASK without queueing.
	 * Any asked-for bit in it completes; none left is aio_poll()'s
	 * "no support" EINVAL.
	 */
	check_ready(fd, POLLIN, POLLIN);
	check_ready(fd, POLLIN | POLLOUT | POLLPRI, POLLIN | POLLOUT);
	t_prep_poll(&cb, fd, POLLPRI);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	T_NO_EVENT(ctx, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_bad_fields(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct iocb cb, *cbp = &cb;
	int p[2];

	/* aio_poll() rejects any field a poll does not define. */
	make_pipe(p);
	T_EQ(write(p[1], "x", 1), 1);
	t_prep_poll(&cb, p[0], POLLIN);
	cb.aio_offset = 1;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	t_prep_poll(&cb, p[0], POLLIN);
	cb.aio_nbytes = 1;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	t_prep_poll(&cb, p[0], POLLIN);
	cb.aio_rw_flags = RWF_NOWAIT;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	/* Events live in the low 16 bits of aio_buf. */
	t_prep_poll(&cb, p[0], POLLIN);
	cb.aio_buf |= 1ULL << 16;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	t_prep_poll(&cb, p[0], POLLIN);
	cb.aio_buf |= 1ULL << 63;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	T_NO_EVENT(ctx, 0);
	close(p[0]);
	close(p[1]);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "POLL for POLLIN on a pipe with data completes with POLLIN", test_pollin_ready },
		{ "POLL for POLLIN on an empty pipe waits, then completes after a write",
		  test_pollin_wakeup },
		{ "POLL for POLLOUT on a pipe's write end completes with POLLOUT", test_pollout_ready },
		{ "POLL on a widowed pipe end reports POLLHUP or POLLERR unasked", test_hangup },
		{ "POLL on a regular file completes with its default mask or fails EINVAL",
		  test_regular_file },
		{ "POLL with aio_offset, aio_nbytes, aio_rw_flags or high aio_buf bits fails EINVAL",
		  test_bad_fields },
	};

	return T_RUN(cases);
}
