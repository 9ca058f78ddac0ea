// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: a forked child cannot use its parent's AIO context; the parent's keeps working. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define LEN	512
#define SEED	0xf0c

/* A child's exit code names the first of its checks that failed. */
static void check_child(int status, const char *const *what, int nwhat)
{
	if (!T_EQ(status, 0) && status > 0 && status <= nwhat)
		t_diag("child: %s", what[status - 1]);
}

#define child_status(status, what) \
	check_child((status), (what), (int)(sizeof(what) / sizeof((what)[0])))

struct scene {
	aio_context_t ctx;
	int fd;
	struct iocb cb;
	unsigned char buf[LEN];
};

/* The parent's context works: a read round trip with the data checked. */
static void parent_read(aio_context_t ctx, int fd)
{
	unsigned char buf[LEN];
	struct io_event ev;
	struct iocb cb;

	memset(buf, 0, sizeof(buf));
	t_prep_pread(&cb, fd, buf, LEN, 0);
	if (!T_EQ(sys_io_submit(ctx, 1, (struct iocb *[]){ &cb }), 1))
		return;
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, LEN);
		t_verify_pattern(buf, LEN, SEED, 0);
	}
}

static const char *const calls_what[] = {
	"io_submit on the parent's id did not fail with EINVAL",
	"io_getevents on the parent's id did not fail with EINVAL",
	"io_cancel on the parent's id did not fail with EINVAL",
	"io_destroy on the parent's id did not fail with EINVAL",
	"io_pgetevents on the parent's id did not fail with EINVAL",
};

static int child_calls(void *arg)
{
	struct scene *s = arg;
	struct timespec zero = { 0, 0 };
	struct iocb *cbp = &s->cb;
	struct io_event ev;

	/* The child's mm starts with no context table: every lookup misses. */
	if (sys_io_submit(s->ctx, 1, &cbp) != -1 || errno != EINVAL)
		return 1;
	if (sys_io_getevents(s->ctx, 0, 1, &ev, &zero) != -1 || errno != EINVAL)
		return 2;
	if (sys_io_cancel(s->ctx, &s->cb, &ev) != -1 || errno != EINVAL)
		return 3;
	if (sys_io_destroy(s->ctx) != -1 || errno != EINVAL)
		return 4;
	if (sys_io_pgetevents(s->ctx, 0, 1, &ev, &zero, NULL) != -1 || errno != EINVAL)
		return 5;
	return 0;
}

static enum t_result test_child_calls(void)
{
	struct scene s;

	s.fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	s.ctx = t_setup_ctx(4);
	t_prep_pread(&s.cb, s.fd, s.buf, LEN, 0);
	child_status(t_in_child(child_calls, &s), calls_what);
	/* The child's io_destroy did not touch the parent's context. */
	parent_read(s.ctx, s.fd);
	T_EQ(sys_io_destroy(s.ctx), 0);
	close(s.fd);
	return t_result();
}

static const char *const ring_what[] = {
	"the ring header's magic is not AIO_RING_MAGIC in the child",
	"the ring header's nr differs in the child",
	"the ring header's tail differs in the child",
};

struct ring_seen {
	aio_context_t ctx;
	unsigned int nr, tail;
};

static int child_ring(void *arg)
{
	struct ring_seen *rs = arg;
	volatile struct t_aio_ring *r = t_ring(rs->ctx);

	/* A MAP_SHARED mapping is inherited: the child reads the parent's ring pages. */
	if (r->magic != T_AIO_RING_MAGIC)
		return 1;
	if (r->nr != rs->nr)
		return 2;
	if (r->tail != rs->tail)
		return 3;
	return 0;
}

static enum t_result test_ring_inherited(void)
{
	int fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	volatile struct t_aio_ring *r;
	struct ring_seen rs;
	struct io_event ev;

	rs.ctx = t_setup_ctx(4);
	r = t_ring(rs.ctx);
	/* One completion first, so that tail is not trivially 0. */
	parent_read(rs.ctx, fd);
	rs.nr = r->nr;
	rs.tail = r->tail;
	T_EQ(r->magic, T_AIO_RING_MAGIC);
	T_EQ(rs.tail, 1);
	child_status(t_in_child(child_ring, &rs), ring_what);
	T_EQ(sys_io_getevents(rs.ctx, 0, 1, &ev, &(struct timespec){ 0, 0 }), 0);
	T_EQ(sys_io_destroy(rs.ctx), 0);
	close(fd);
	return t_result();
}

static const char *const own_what[] = {
	"io_setup in the child failed",
	"the child's context id equals the parent's",
	"io_getevents on the parent's id did not fail with EINVAL after io_setup",
	"a read on the child's own context did not complete with its data",
	"io_destroy of the child's own context failed",
};

static int child_own(void *arg)
{
	struct scene *s = arg;
	struct timespec ts = { 10, 0 };
	aio_context_t mine = 0;
	struct iocb *cbp = &s->cb;
	struct io_event ev;

	if (sys_io_setup(4, &mine))
		return 1;
	if (mine == s->ctx)
		return 2;
	/* The child's table now has slot 0, as the parent's ring id says, but another ring. */
	if (sys_io_getevents(s->ctx, 0, 1, &ev, &ts) != -1 || errno != EINVAL)
		return 3;
	memset(s->buf, 0, sizeof(s->buf));
	if (sys_io_submit(mine, 1, &cbp) != 1 ||
	    sys_io_getevents(mine, 1, 1, &ev, &ts) != 1 || ev.res != LEN ||
	    ev.obj != (uintptr_t)&s->cb || !t_verify_pattern(s->buf, LEN, SEED, 0))
		return 4;
	if (sys_io_destroy(mine))
		return 5;
	return 0;
}

static enum t_result test_child_own_ctx(void)
{
	struct scene s;

	s.fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	s.ctx = t_setup_ctx(4);
	t_prep_pread(&s.cb, s.fd, s.buf, LEN, 0);
	child_status(t_in_child(child_own, &s), own_what);
	parent_read(s.ctx, s.fd);
	T_EQ(sys_io_destroy(s.ctx), 0);
	close(s.fd);
	return t_result();
}

struct poll_scene {
	aio_context_t ctx;
	int pfd[2];
	struct iocb cb;
	bool child_writes;
};

static const char *const poll_what[] = {
	"the child could not write the pipe",
	"io_getevents on the parent's id did not fail with EINVAL",
};

static int child_poll(void *arg)
{
	struct poll_scene *ps = arg;
	struct timespec zero = { 0, 0 };
	struct io_event ev;

	if (ps->child_writes && write(ps->pfd[1], "x", 1) != 1)
		return 1;
	if (sys_io_getevents(ps->ctx, 0, 1, &ev, &zero) != -1 || errno != EINVAL)
		return 2;
	return 0;
}

/* A POLL submitted before fork; the child writes the pipe or only exits. */
static void run_poll(bool child_writes)
{
	struct poll_scene ps = { .child_writes = child_writes };
	struct timespec ts = { 0, 200000000 };
	struct io_event ev;
	char c;

	ps.ctx = t_setup_ctx(4);
	if (pipe2(ps.pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_poll(&ps.cb, ps.pfd[0], POLLIN);
	ps.cb.aio_data = 0xf00d;
	t_submit1(ps.ctx, &ps.cb);
	child_status(t_in_child(child_poll, &ps), poll_what);
	if (!child_writes) {
		/* The child's exit neither completed nor cancelled the request. */
		T_EQ(sys_io_getevents(ps.ctx, 1, 1, &ev, &ts), 0);
		if (write(ps.pfd[1], "x", 1) != 1)
			t_bail("write pipe: %s", strerror(errno));
	}
	if (T_EQ(t_reap(ps.ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.data, 0xf00d);
		T_EQ(ev.obj, (uintptr_t)&ps.cb);
		T_TRUE(ev.res & POLLIN);
	}
	/* Once only. */
	T_EQ(sys_io_getevents(ps.ctx, 1, 1, &ev, &ts), 0);
	if (read(ps.pfd[0], &c, 1) != 1)
		t_bail("read pipe: %s", strerror(errno));
	T_EQ(sys_io_destroy(ps.ctx), 0);
	close(ps.pfd[0]);
	close(ps.pfd[1]);
}

static enum t_result test_inflight_child_writes(void)
{
	run_poll(true);
	return t_result();
}

static enum t_result test_inflight_child_exits(void)
{
	run_poll(false);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "the parent's context id fails with EINVAL in the child for every call",
		  test_child_calls },
		{ "the child sees the parent's ring through the inherited mapping",
		  test_ring_inherited },
		{ "io_setup in the child works; the parent's id still fails there",
		  test_child_own_ctx },
		{ "a POLL in flight at fork completes once in the parent when the child writes",
		  test_inflight_child_writes },
		{ "the child's exit leaves the parent's in-flight POLL alone",
		  test_inflight_child_exits },
	};

	return T_RUN(cases);
}
