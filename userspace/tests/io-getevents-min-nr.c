// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_getevents() min_nr, nr and timeout: how many events and when it returns. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define LEN	512
#define SEED	0x313

/* Three completed reads of consecutive blocks. */
static void three_done(aio_context_t ctx, int fd, struct iocb *cbs, unsigned char *bufs)
{
	struct iocb *ptrs[3] = { &cbs[0], &cbs[1], &cbs[2] };

	for (int i = 0; i < 3; i++)
		t_prep_pread(&cbs[i], fd, bufs + i * LEN, LEN, (off_t)i * LEN);
	if (sys_io_submit(ctx, 3, ptrs) != 3)
		t_bail("io_submit of 3 reads: %s", strerror(errno));
	/* Completed, so that the test does not depend on completion being synchronous. */
	t_wait_ring(ctx, 3);
}

/* @ev is a read event of @cbs not seen before; marks it seen. */
static void check_read(const struct io_event *ev, struct iocb *cbs, unsigned char *bufs,
		       bool *seen)
{
	for (int i = 0; i < 3; i++) {
		if (ev->obj != (uintptr_t)&cbs[i])
			continue;
		T_TRUE(!seen[i]);
		seen[i] = true;
		T_EQ(ev->res, LEN);
		t_verify_pattern(bufs + i * LEN, LEN, SEED, (off_t)i * LEN);
		return;
	}
	T_TRUE(!"event for an unknown iocb");
}

static enum t_result test_partial(void)
{
	int fd = t_pattern_file(3 * LEN, SEED, 0, NULL, 0);
	aio_context_t ctx = t_setup_ctx(8);
	unsigned char bufs[3 * LEN];
	struct timespec ts = { 10, 0 };
	struct io_event ev[3];
	struct iocb cbs[3];
	bool seen[3] = { false };

	three_done(ctx, fd, cbs, bufs);
	/* At most nr, even though more are ready. */
	if (T_EQ(sys_io_getevents(ctx, 1, 2, ev, &ts), 2)) {
		check_read(&ev[0], cbs, bufs, seen);
		check_read(&ev[1], cbs, bufs, seen);
	}
	if (T_EQ(sys_io_getevents(ctx, 1, 2, ev, &ts), 1))
		check_read(&ev[0], cbs, bufs, seen);
	ts.tv_sec = 0;
	T_EQ(sys_io_getevents(ctx, 0, 3, ev, &ts), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_short_on_timeout(void)
{
	int fd = t_pattern_file(3 * LEN, SEED, 0, NULL, 0);
	aio_context_t ctx = t_setup_ctx(8);
	unsigned char bufs[3 * LEN];
	struct timespec ts = { 0, 200000000 };
	struct io_event ev[4];
	struct iocb cbs[3];
	bool seen[3] = { false };
	long long t0, dt;

	three_done(ctx, fd, cbs, bufs);
	/* Fewer than min_nr: it waits the whole timeout, then hands over what it has. */
	t0 = t_now_us();
	if (T_EQ(sys_io_getevents(ctx, 4, 4, ev, &ts), 3))
		for (int i = 0; i < 3; i++)
			check_read(&ev[i], cbs, bufs, seen);
	dt = t_now_us() - t0;
	if (!T_TRUE(dt >= 150000))
		t_diag("returned after %lld us", dt);
	/* They were consumed. */
	ts.tv_nsec = 0;
	T_EQ(sys_io_getevents(ctx, 0, 4, ev, &ts), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_zero_timeout(void)
{
	int fd = t_pattern_file(3 * LEN, SEED, 0, NULL, 0);
	aio_context_t ctx = t_setup_ctx(8);
	unsigned char bufs[3 * LEN];
	struct timespec ts = { 0, 0 };
	struct io_event ev[5];
	struct iocb cbs[3];
	bool seen[3] = { false };
	long long t0, dt;

	t0 = t_now_us();
	T_EQ(sys_io_getevents(ctx, 1, 5, ev, &ts), 0);
	dt = t_now_us() - t0;
	if (!T_TRUE(dt < 1000000))
		t_diag("returned after %lld us", dt);
	/* With some ready, a zero timeout returns them even below min_nr. */
	three_done(ctx, fd, cbs, bufs);
	if (T_EQ(sys_io_getevents(ctx, 5, 5, ev, &ts), 3))
		for (int i = 0; i < 3; i++)
			check_read(&ev[i], cbs, bufs, seen);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_null_timeout(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct t_writer w;
	struct io_event ev;
	struct iocb cb;
	long long t0, dt;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_poll(&cb, pfd[0], POLLIN);
	t_submit1(ctx, &cb);
	t0 = t_now_us();
	t_writer_start(&w, pfd[1], "x", 1, 100);
	if (T_EQ(sys_io_getevents(ctx, 1, 1, &ev, NULL), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		/*
		 * Completed inline from the pipe's wakeup the result is the
		 * wakeup key (POLLIN | POLLRDNORM); completed from the worker it
		 * is vfs_poll() masked by the requested events (POLLIN).
		 */
		T_TRUE(ev.res & POLLIN);
		T_EQ(ev.res & ~(POLLIN | POLLRDNORM), 0);
	}
	dt = t_now_us() - t0;
	if (!T_TRUE(dt >= 80000))
		t_diag("returned after %lld us", dt);
	t_writer_stop(&w);
	T_EQ(sys_io_destroy(ctx), 0);
	close(pfd[0]);
	close(pfd[1]);
	return t_result();
}

static enum t_result test_min_nr_zero(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct io_event ev[2];

	/* min_nr 0 is met by nothing: no wait even without a timeout. */
	T_EQ(sys_io_getevents(ctx, 0, 2, ev, NULL), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_min_nr_two(void)
{
	static const int delay_ms[2] = { 50, 300 };
	aio_context_t ctx = t_setup_ctx(8);
	struct timespec ts = { 10, 0 };
	struct io_event ev[2];
	struct iocb cbs[2], *ptrs[2] = { &cbs[0], &cbs[1] };
	struct t_writer w[2];
	long long t0, dt;
	int pfd[2][2];

	for (int i = 0; i < 2; i++) {
		if (pipe2(pfd[i], O_CLOEXEC))
			t_bail("pipe: %s", strerror(errno));
		t_prep_poll(&cbs[i], pfd[i][0], POLLIN);
	}
	if (sys_io_submit(ctx, 2, ptrs) != 2)
		t_bail("io_submit of 2 polls: %s", strerror(errno));
	t0 = t_now_us();
	for (int i = 0; i < 2; i++)
		t_writer_start(&w[i], pfd[i][1], "x", 1, delay_ms[i]);
	/* The first completion does not end a wait for two. */
	if (T_EQ(sys_io_getevents(ctx, 2, 2, ev, &ts), 2)) {
		/* Both, in whichever order the writer threads got to run. */
		T_TRUE(ev[0].obj == (uintptr_t)&cbs[0] || ev[0].obj == (uintptr_t)&cbs[1]);
		T_TRUE(ev[1].obj == (uintptr_t)&cbs[0] || ev[1].obj == (uintptr_t)&cbs[1]);
		T_TRUE(ev[0].obj != ev[1].obj);
	}
	dt = t_now_us() - t0;
	if (!T_TRUE(dt >= 250000))
		t_diag("returned after %lld us", dt);
	for (int i = 0; i < 2; i++) {
		t_writer_stop(&w[i]);
		close(pfd[i][0]);
		close(pfd[i][1]);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "min_nr 1 nr 2 with 3 completed returns 2, then the last 1", test_partial },
		{ "min_nr 4 with 3 completed waits out a 200 ms timeout and returns 3",
		  test_short_on_timeout },
		{ "a zero timeout returns what is there at once, even below min_nr",
		  test_zero_timeout },
		{ "a NULL timeout waits until an event arrives", test_null_timeout },
		{ "min_nr 0 with a NULL timeout returns 0 at once", test_min_nr_zero },
		{ "min_nr 2 is not satisfied by the first of two completions", test_min_nr_two },
	};

	return T_RUN(cases);
}
