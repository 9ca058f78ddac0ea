// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() fails nr < 0, ignores the array for nr 0 and stops at a full ring. */
#include "t.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#define KEY_UNTOUCHED 0x5a5a5a5aU

static void prep_read(struct iocb *cb, int fd, void *buf, uint64_t data)
{
	t_prep_pread(cb, fd, buf, 512, 0);
	cb->aio_data = data;
	cb->aio_key = KEY_UNTOUCHED;
}

static enum t_result test_negative(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(4096, 60, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;
	struct timespec zero = { 0, 0 };
	struct io_event ev;
	char buf[512];

	prep_read(&cb, fd, buf, 1);
	T_ERRNO(sys_io_submit(ctx, -1, &cbp), EINVAL);
	T_ERRNO(sys_io_submit(ctx, LONG_MIN, &cbp), EINVAL);
	T_ERRNO(sys_io_submit(ctx, -1, NULL), EINVAL);
	/* Checked before the context. */
	T_ERRNO(sys_io_submit(0, -1, &cbp), EINVAL);
	T_EQ(cb.aio_key, KEY_UNTOUCHED);
	T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &zero), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_zero(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	struct timespec zero = { 0, 0 };
	struct io_event ev;

	/* The array is not read: NULL and a bad pointer are fine. */
	T_EQ(sys_io_submit(ctx, 0, NULL), 0);
	T_EQ(sys_io_submit(ctx, 0, (struct iocb **)1), 0);
	T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &zero), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	/* The context is still looked up. */
	T_ERRNO(sys_io_submit(ctx, 0, NULL), EINVAL);
	T_ERRNO(sys_io_submit(0, 0, NULL), EINVAL);
	return t_result();
}

static enum t_result test_only_nr_read(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(4096, 61, 0, NULL, 0);
	struct iocb cb[2], *cbp[3] = { &cb[0], &cb[1], (struct iocb *)1 };
	struct io_event ev[3];
	char buf[2][512];

	prep_read(&cb[0], fd, buf[0], 100);
	prep_read(&cb[1], fd, buf[1], 101);
	/* Entries past nr, here a bad pointer, are never looked at. */
	T_EQ(sys_io_submit(ctx, 1, cbp), 1);
	T_EQ(cb[1].aio_key, KEY_UNTOUCHED);
	if (T_EQ(t_reap(ctx, ev, 1, 10000), 1)) {
		T_EQ(ev[0].data, 100);
		T_EQ(ev[0].res, 512);
	}
	T_EQ(t_reap(ctx, ev, 1, 200), 0);
	T_EQ(sys_io_submit(ctx, 2, cbp + 1), 1);
	if (T_EQ(t_reap(ctx, ev, 1, 10000), 1))
		T_EQ(ev[0].data, 101);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

/*
 * More iocbs than the ring has slots: the ring (nr_events rounded up and
 * doubled inside) takes at least the nr_events asked for and fewer than its
 * size, one slot staying free.  Reads of cached data complete at once and
 * nothing is reaped, so the batch stops where the ring is full.
 */
static enum t_result check_past_ring(unsigned int nr_events, bool nr_long_max)
{
	aio_context_t ctx = t_setup_ctx(nr_events);
	unsigned int size = t_ring_size(ctx);
	int fd = t_pattern_file(4096, 62, 0, NULL, 0);
	struct iocb *cb, **cbp;
	struct io_event *ev;
	unsigned char *seen;
	char buf[512];
	long n, got;

	if (!size) {
		sys_io_destroy(ctx);
		close(fd);
		return t_skip("the context id is no AIO ring: cannot learn the ring size");
	}
	n = (long)size + 50;
	cb = calloc((size_t)n, sizeof(*cb));
	cbp = calloc((size_t)n, sizeof(*cbp));
	ev = calloc((size_t)n, sizeof(*ev));
	seen = calloc((size_t)n, 1);
	if (!cb || !cbp || !ev || !seen)
		t_bail("out of memory");
	for (long i = 0; i < n; i++) {
		prep_read(&cb[i], fd, buf, (uint64_t)i);
		cbp[i] = &cb[i];
	}
	got = sys_io_submit(ctx, nr_long_max ? LONG_MAX : n, cbp);
	t_diag("nr_events %u: ring of %u events took %ld of %ld", nr_events, size, got, n);
	T_TRUE(got >= (long)nr_events);
	T_TRUE(got <= (long)size - 1);
	for (long i = got + 1; i < n; i++)
		if (!T_EQ(cb[i].aio_key, KEY_UNTOUCHED))
			break;
	if (got > 0) {
		if (T_EQ(t_reap(ctx, ev, (int)got, 10000), got)) {
			for (long i = 0; i < got; i++) {
				if (!T_TRUE(ev[i].data < (uint64_t)got) ||
				    !T_EQ(seen[ev[i].data], 0))
					break;
				seen[ev[i].data] = 1;
				T_EQ(ev[i].res, 512);
			}
		}
		T_EQ(t_reap(ctx, ev, 1, 200), 0);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	free(seen);
	free(ev);
	free(cbp);
	free(cb);
	close(fd);
	return t_result();
}

static enum t_result test_past_ring_1(void)
{
	return check_past_ring(1, false);
}

static enum t_result test_past_ring_200(void)
{
	return check_past_ring(200, false);
}

static enum t_result test_past_ring_long_max(void)
{
	/* nr LONG_MAX is cut down to the ring size as well: the full ring ends the batch. */
	return check_past_ring(64, true);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "negative nr fails with EINVAL before anything is read", test_negative },
		{ "nr 0 returns 0 without reading the array", test_zero },
		{ "only the first nr entries of the array are read", test_only_nr_read },
		{ "nr past the ring of nr_events 1 submits what fits, all reaped once",
		  test_past_ring_1 },
		{ "nr past the ring of nr_events 200 submits what fits, all reaped once",
		  test_past_ring_200 },
		{ "nr LONG_MAX submits what fits in the ring", test_past_ring_long_max },
	};

	return T_RUN(cases);
}
