// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_getevents() argument checks: counts, context, event and timeout pointers. */
#include "t.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#define LEN	512
#define SEED	0x6e7a

static const struct timespec ten_s = { 10, 0 };
static const struct timespec zero = { 0, 0 };

/* A context with one completed read in its ring. */
struct pending {
	aio_context_t ctx;
	int fd;
	struct iocb cb;
	unsigned char buf[LEN];
};

static void pending_setup(struct pending *p)
{
	p->fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	p->ctx = t_setup_ctx(4);
	memset(p->buf, 0, sizeof(p->buf));
	t_prep_pread(&p->cb, p->fd, p->buf, LEN, 0);
	t_submit1(p->ctx, &p->cb);
}

/* The event is still there (nothing consumed it) and holds the data. */
static void pending_reap(struct pending *p)
{
	struct io_event ev[2];
	struct timespec ts = ten_s;

	if (T_EQ(sys_io_getevents(p->ctx, 1, 2, ev, &ts), 1)) {
		T_EQ(ev[0].obj, (uintptr_t)&p->cb);
		T_EQ(ev[0].res, LEN);
		t_verify_pattern(p->buf, LEN, SEED, 0);
	}
	T_EQ(sys_io_destroy(p->ctx), 0);
	close(p->fd);
}

static enum t_result test_min_gt_nr(void)
{
	struct pending p;
	struct io_event ev[4];
	struct timespec ts = ten_s;

	pending_setup(&p);
	T_ERRNO(sys_io_getevents(p.ctx, 2, 1, ev, &ts), EINVAL);
	T_ERRNO(sys_io_getevents(p.ctx, 4, 3, ev, NULL), EINVAL);
	T_ERRNO(sys_io_getevents(p.ctx, 1, 0, ev, &ts), EINVAL);
	pending_reap(&p);
	return t_result();
}

static enum t_result test_negative(void)
{
	struct pending p;
	struct io_event ev[4];
	struct timespec ts = ten_s;

	pending_setup(&p);
	/* There is no separate nr check: nr < 0 fails as nr < min_nr or min_nr < 0. */
	T_ERRNO(sys_io_getevents(p.ctx, 0, -1, ev, &ts), EINVAL);
	T_ERRNO(sys_io_getevents(p.ctx, -1, 1, ev, &ts), EINVAL);
	T_ERRNO(sys_io_getevents(p.ctx, -2, -1, ev, &ts), EINVAL);
	T_ERRNO(sys_io_getevents(p.ctx, LONG_MIN, 1, ev, NULL), EINVAL);
	T_ERRNO(sys_io_getevents(p.ctx, 0, LONG_MIN, ev, NULL), EINVAL);
	pending_reap(&p);
	return t_result();
}

static enum t_result test_bad_ctx(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct io_event ev;
	struct timespec ts = zero;
	/* Readable memory whose "ring id" is 0 but that is no ring. */
	static unsigned int fake_ring[8];

	T_ERRNO(sys_io_getevents(0, 0, 1, &ev, &ts), EINVAL);
	T_ERRNO(sys_io_getevents((aio_context_t)(uintptr_t)fake_ring, 0, 1, &ev, &ts), EINVAL);
	T_ERRNO(sys_io_getevents(ctx + 4096, 0, 1, &ev, &ts), EINVAL);
	T_EQ(sys_io_destroy(ctx), 0);
	T_ERRNO(sys_io_getevents(ctx, 0, 1, &ev, &ts), EINVAL);
	/* The context is looked up before min_nr/nr are checked, and both give EINVAL. */
	T_ERRNO(sys_io_getevents(0, 2, 1, &ev, &ts), EINVAL);
	return t_result();
}

static enum t_result test_bad_events(void)
{
	struct io_event *bad = (struct io_event *)(uintptr_t)8;
	aio_context_t ctx = t_setup_ctx(4);
	struct timespec ts = zero;
	struct pending p;

	/* Nothing to copy out: the pointer is never touched. */
	T_EQ(sys_io_getevents(ctx, 0, 1, bad, &ts), 0);
	T_EQ(sys_io_getevents(ctx, 1, 1, bad, &ts), 0);
	T_EQ(sys_io_destroy(ctx), 0);

	pending_setup(&p);
	ts = ten_s;
	T_ERRNO(sys_io_getevents(p.ctx, 1, 1, bad, &ts), EFAULT);
	T_ERRNO(sys_io_getevents(p.ctx, 0, 1, bad, NULL), EFAULT);
	/* A failed copy does not consume the event. */
	pending_reap(&p);
	return t_result();
}

static enum t_result test_bad_timeout(void)
{
	struct timespec *bad = (struct timespec *)(uintptr_t)8;
	struct pending p;
	struct io_event ev;

	pending_setup(&p);
	T_ERRNO(sys_io_getevents(p.ctx, 1, 1, &ev, bad), EFAULT);
	/* The timeout is read before the context is looked up. */
	T_ERRNO(sys_io_getevents(0, 1, 1, &ev, bad), EFAULT);
	T_ERRNO(sys_io_getevents(p.ctx, 2, 1, &ev, bad), EFAULT);
	pending_reap(&p);
	return t_result();
}

static enum t_result test_timespec_unchecked(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct io_event ev;
	struct timespec ts;
	long long t0, dt;

	/*
	 * The timespec is not validated, only summed into nanoseconds:
	 * { 0, 1e9 } waits a second rather than failing with EINVAL.
	 */
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000;
	t0 = t_now_us();
	T_EQ(sys_io_getevents(ctx, 1, 1, &ev, &ts), 0);
	dt = t_now_us() - t0;
	if (!T_TRUE(dt >= 950000))
		t_diag("waited %lld us", dt);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/* Waits with @ts for a POLL that a thread completes 200 ms later. */
static void wait_negative(const struct timespec *ts)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct timespec t = *ts;
	struct t_writer w;
	struct io_event ev;
	struct iocb cb;
	long long t0, dt;
	int pfd[2];
	char c;

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_poll(&cb, pfd[0], POLLIN);
	t_submit1(ctx, &cb);
	t0 = t_now_us();
	t_writer_start(&w, pfd[1], "x", 1, 200);
	T_EQ(sys_io_getevents(ctx, 1, 1, &ev, &t), 1);
	dt = t_now_us() - t0;
	if (!T_TRUE(dt >= 150000))
		t_diag("returned after %lld us", dt);
	T_EQ(ev.obj, (uintptr_t)&cb);
	if (T_TRUE(t_writer_stop(&w)) && read(pfd[0], &c, 1) != 1)
		t_bail("read pipe: %s", strerror(errno));
	T_EQ(sys_io_destroy(ctx), 0);
	close(pfd[0]);
	close(pfd[1]);
}

static enum t_result test_negative_timeout(void)
{
	static const struct timespec neg_ns = { 0, -1 }, neg_s = { -1, 0 };

	/*
	 * A negative relative timeout overflows hrtimer's "now + timeout"
	 * check, which saturates to the maximum: it waits like NULL.
	 */
	wait_negative(&neg_ns);
	wait_negative(&neg_s);
	return t_result();
}

static enum t_result test_nr_zero(void)
{
	struct pending p;
	struct io_event ev;
	struct timespec ts = ten_s;

	pending_setup(&p);
	/* min_nr 0 is satisfied at once, even without a timeout, and copies nothing. */
	T_EQ(sys_io_getevents(p.ctx, 0, 0, &ev, &ts), 0);
	T_EQ(sys_io_getevents(p.ctx, 0, 0, &ev, NULL), 0);
	T_EQ(sys_io_getevents(p.ctx, 0, 0, (struct io_event *)(uintptr_t)8, NULL), 0);
	pending_reap(&p);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "min_nr > nr fails with EINVAL", test_min_gt_nr },
		{ "negative nr or min_nr fails with EINVAL", test_negative },
		{ "an invalid or destroyed context fails with EINVAL", test_bad_ctx },
		{ "a bad events pointer fails with EFAULT only when there are events",
		  test_bad_events },
		{ "a bad timeout pointer fails with EFAULT, before the context check",
		  test_bad_timeout },
		{ "tv_nsec 1e9 is accepted as one second, not EINVAL", test_timespec_unchecked },
		{ "a negative timeout waits until an event arrives", test_negative_timeout },
		{ "nr 0 returns 0 at once and consumes nothing", test_nr_zero },
	};

	return T_RUN(cases);
}
