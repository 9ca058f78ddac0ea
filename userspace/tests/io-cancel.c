// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_cancel() cancels only in-flight POLLs (EINPROGRESS, event in the ring). */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define LEN	512
#define SEED	0xca7

static enum t_result test_completed(void)
{
	int fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	aio_context_t ctx = t_setup_ctx(4);
	unsigned char buf[LEN];
	struct io_event ev, res;
	struct iocb cb;

	t_prep_pread(&cb, fd, buf, LEN, 0);
	t_submit1(ctx, &cb);
	/* Completed, event not reaped yet: a buffered read is never cancellable. */
	t_wait_ring(ctx, 1);
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINVAL);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, LEN);
		t_verify_pattern(buf, LEN, SEED, 0);
	}
	/* Reaped: still nothing to cancel, and no second event. */
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINVAL);
	T_NO_EVENT(ctx, 200);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_completed_poll(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	struct io_event ev, res;
	struct iocb cb;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (write(pfd[1], "x", 1) != 1)
		t_bail("write pipe: %s", strerror(errno));
	t_prep_poll(&cb, pfd[0], POLLIN);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, POLLIN);
	}
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINVAL);
	T_NO_EVENT(ctx, 200);
	T_EQ(sys_io_destroy(ctx), 0);
	close(pfd[0]);
	close(pfd[1]);
	return t_result();
}

static enum t_result test_never_submitted(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	unsigned char buf[LEN];
	struct io_event res;
	struct iocb cb;

	/* aio_key 0 is the key io_submit() writes, so this is looked up and not found. */
	t_prep_pread(&cb, 0, buf, LEN, 0);
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINVAL);
	/* Any other key is refused before the lookup. */
	cb.aio_key = 1;
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINVAL);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_bad_args(void)
{
	aio_context_t ctx = t_setup_ctx(4), other = t_setup_ctx(4);
	struct io_event ev, res;
	struct iocb cb;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_poll(&cb, pfd[0], POLLIN);
	t_submit1(ctx, &cb);
	T_ERRNO(sys_io_cancel(0, &cb, &res), EINVAL);
	/* Another context of the same process does not know the request. */
	T_ERRNO(sys_io_cancel(other, &cb, &res), EINVAL);
	/* The iocb's aio_key is read first: a bad pointer is EFAULT whatever the context. */
	T_ERRNO(sys_io_cancel(ctx, NULL, &res), EFAULT);
	T_ERRNO(sys_io_cancel(0, (struct iocb *)(uintptr_t)8, &res), EFAULT);
	/* The request survived all that: it completes normally. */
	if (write(pfd[1], "x", 1) != 1)
		t_bail("write pipe: %s", strerror(errno));
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_TRUE(ev.res & POLLIN);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	T_EQ(sys_io_destroy(other), 0);
	close(pfd[0]);
	close(pfd[1]);
	return t_result();
}

static enum t_result test_cancel_poll(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	struct io_event ev, res, untouched;
	struct iocb cb;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_poll(&cb, pfd[0], POLLIN);
	cb.aio_data = 0x1234abcd;
	t_submit1(ctx, &cb);
	memset(&res, 0xa5, sizeof(res));
	untouched = res;
	/* Cancellation only starts: the event goes to the ring, not to @result. */
	T_ERRNO(sys_io_cancel(ctx, &cb, &res), EINPROGRESS);
	T_MEM(&res, &untouched, sizeof(res));
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.data, 0x1234abcd);
		T_EQ(ev.obj, (uintptr_t)&cb);
		/* A cancelled poll reports no events rather than an error. */
		T_EQ(ev.res, 0);
		T_EQ(ev.res2, 0);
	}
	/* Exactly one event, even once the pipe becomes readable. */
	if (write(pfd[1], "x", 1) != 1)
		t_bail("write pipe: %s", strerror(errno));
	T_NO_EVENT(ctx, 200);
	T_EQ(sys_io_destroy(ctx), 0);
	close(pfd[0]);
	close(pfd[1]);
	return t_result();
}

static enum t_result test_cancel_twice(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	struct io_event ev;
	struct iocb cb;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_poll(&cb, pfd[0], POLLIN);
	t_submit1(ctx, &cb);
	/* The result pointer is not used at all. */
	T_ERRNO(sys_io_cancel(ctx, &cb, NULL), EINPROGRESS);
	/* The first cancel took it off the active list, reaped or not. */
	T_ERRNO(sys_io_cancel(ctx, &cb, NULL), EINVAL);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, 0);
	}
	T_ERRNO(sys_io_cancel(ctx, &cb, NULL), EINVAL);
	T_NO_EVENT(ctx, 200);
	T_EQ(sys_io_destroy(ctx), 0);
	close(pfd[0]);
	close(pfd[1]);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_cancel of a completed buffered read fails with EINVAL", test_completed },
		{ "io_cancel of a POLL completed at submission fails with EINVAL",
		  test_completed_poll },
		{ "io_cancel of a never-submitted iocb fails with EINVAL", test_never_submitted },
		{ "io_cancel with a bad or foreign context fails with EINVAL, bad iocb EFAULT",
		  test_bad_args },
		{ "io_cancel of an in-flight POLL gives EINPROGRESS and one event with res 0",
		  test_cancel_poll },
		{ "a second io_cancel of the same POLL fails with EINVAL", test_cancel_twice },
	};

	return T_RUN(cases);
}
