// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() fails with EAGAIN on a full ring and takes only the room left. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define SEED 150
#define KEY_UNTOUCHED 0x5a5a5a5aU
/* Past any ring a context of nr_events 1 gets: a ring that never fills fails the case. */
#define MAX_IOCBS 65536

struct fill {
	aio_context_t ctx;
	struct iocb *cb;
	struct io_event *ev;
	unsigned char *seen;
	int n;			/* iocbs used so far */
};

static void fill_init(struct fill *f)
{
	f->ctx = t_setup_ctx(1);
	f->cb = calloc(MAX_IOCBS, sizeof(*f->cb));
	f->ev = calloc(MAX_IOCBS, sizeof(*f->ev));
	f->seen = calloc(MAX_IOCBS, 1);
	if (!f->cb || !f->ev || !f->seen)
		t_bail("out of memory");
	f->n = 0;
}

static void fill_free(struct fill *f)
{
	T_EQ(sys_io_destroy(f->ctx), 0);
	free(f->seen);
	free(f->ev);
	free(f->cb);
}

static struct iocb *next_poll(struct fill *f, int fd)
{
	struct iocb *cb = &f->cb[f->n];

	t_prep_poll(cb, fd, POLLIN);
	cb->aio_data = (uint64_t)f->n++;
	return cb;
}

/* Single POLLs on @fd until io_submit() fails; returns how many went in. */
static int fill_polls(struct fill *f, int fd)
{
	int k = 0;

	while (f->n < MAX_IOCBS) {
		struct iocb *cb = next_poll(f, fd);
		long ret = sys_io_submit(f->ctx, 1, &cb);

		if (ret != 1) {
			f->n--;
			T_ERRNO(ret, EAGAIN);
			return k;
		}
		k++;
	}
	T_TRUE(!"the ring never filled up");
	return k;
}

/* A poll readied by a pipe write: POLLIN, and POLLRDNORM when completed from the wakeup. */
#define POLL_RES (-1LL)

static bool res_ok(long long got, long long want)
{
	if (want == POLL_RES)
		return T_TRUE((got & POLLIN) && !(got & ~(long long)(POLLIN | POLLRDNORM)));
	return T_EQ(got, want);
}

/* Reaps exactly @k events of iocbs in [@from, @to), each once, with res @res. */
static void reap_exactly(struct fill *f, int k, int from, int to, long long res)
{
	if (T_EQ(t_reap(f->ctx, f->ev, k, 10000), k)) {
		for (int i = 0; i < k; i++) {
			uint64_t d = f->ev[i].data;

			if (!T_TRUE(d >= (uint64_t)from && d < (uint64_t)to) ||
			    !T_EQ(f->seen[d], 0) || !res_ok(f->ev[i].res, res))
				break;
			f->seen[d] = 1;
		}
	}
	T_EQ(t_reap(f->ctx, f->ev, 1, 200), 0);
}

static enum t_result test_polls(void)
{
	struct fill f;
	struct iocb *batch[8];
	unsigned int size;
	int p[2], k, k2, first;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	fill_init(&f);
	size = t_ring_size(f.ctx);
	/* Nothing is written: the polls stay in flight. */
	k = fill_polls(&f, p[0]);
	t_diag("ring of %u events took %d polls", size, k);
	T_TRUE(k >= 1);
	if (size)
		T_TRUE(k <= (int)size - 1);
	for (int i = 0; i < 8; i++) {
		batch[i] = next_poll(&f, p[0]);
		batch[i]->aio_key = KEY_UNTOUCHED;
	}
	T_ERRNO(sys_io_submit(f.ctx, 8, batch), EAGAIN);
	T_ERRNO(sys_io_submit(f.ctx, 1, batch), EAGAIN);
	/* The batch stopped at its first iocb. */
	for (int i = 1; i < 8; i++)
		T_EQ(batch[i]->aio_key, KEY_UNTOUCHED);
	f.n -= 8;

	/* One byte readies them all; none lost, none twice. */
	if (write(p[1], "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	reap_exactly(&f, k, 0, k, POLL_RES);

	/* Room again, as much as before. */
	first = f.n;
	k2 = fill_polls(&f, p[0]);
	T_EQ(k2, k);
	reap_exactly(&f, k2, first, first + k2, POLL_RES);
	fill_free(&f);
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_unreaped_reads(void)
{
	int fd = t_pattern_file(4096, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iocb *cb;
	struct fill f;
	int k = 0;
	long ret;

	fill_init(&f);
	/* Reads of cached data complete at once, but each event holds its slot until reaped. */
	while (f.n < MAX_IOCBS) {
		cb = &f.cb[f.n];
		t_prep_pread(cb, fd, buf, sizeof(buf), 512);
		cb->aio_data = (uint64_t)f.n++;
		ret = sys_io_submit(f.ctx, 1, &cb);
		if (ret != 1) {
			T_ERRNO(ret, EAGAIN);
			break;
		}
		k++;
	}
	T_TRUE(k >= 1);
	reap_exactly(&f, k, 0, k, sizeof(buf));
	t_verify_pattern(buf, sizeof(buf), SEED, 512);
	/* Reaping made the room. */
	cb = &f.cb[f.n];
	t_prep_pread(cb, fd, buf, sizeof(buf), 0);
	cb->aio_data = (uint64_t)f.n++;
	T_EQ(sys_io_submit(f.ctx, 1, &cb), 1);
	reap_exactly(&f, 1, f.n - 1, f.n, sizeof(buf));
	fill_free(&f);
	close(fd);
	return t_result();
}

static enum t_result test_partial_batch(void)
{
	struct iocb *batch[8];
	struct fill f;
	int a[2], b[2], k;

	if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	fill_init(&f);
	/* Three polls on pipe b, then pipe a's fill the ring. */
	for (int i = 0; i < 3; i++) {
		struct iocb *cb = next_poll(&f, b[0]);

		t_submit1(f.ctx, cb);
	}
	k = fill_polls(&f, a[0]);
	T_TRUE(k >= 1);

	/* Completing and reaping pipe b's three frees three slots. */
	if (write(b[1], "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	reap_exactly(&f, 3, 0, 3, POLL_RES);

	/* A batch of 8 takes the 3 that fit; then the ring is full again. */
	for (int i = 0; i < 8; i++) {
		batch[i] = next_poll(&f, a[0]);
		batch[i]->aio_key = KEY_UNTOUCHED;
	}
	T_EQ(sys_io_submit(f.ctx, 8, batch), 3);
	for (int i = 0; i < 3; i++)
		T_EQ(batch[i]->aio_key, 0);
	/* Past the iocb that found no room, none was looked at. */
	for (int i = 4; i < 8; i++)
		T_EQ(batch[i]->aio_key, KEY_UNTOUCHED);
	T_ERRNO(sys_io_submit(f.ctx, 5, batch + 3), EAGAIN);
	f.n -= 5;

	if (write(a[1], "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	reap_exactly(&f, k + 3, 3, f.n, POLL_RES);
	fill_free(&f);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "polls in flight fill a ring of nr_events 1 until EAGAIN, all reaped once",
		  test_polls },
		{ "completed but unreaped reads hold their slots until reaped",
		  test_unreaped_reads },
		{ "with 3 slots free a batch of 8 submits 3, the next fails with EAGAIN",
		  test_partial_batch },
	};

	/* Counts are exact only with every free slot in this CPU's view. */
	t_pin_to_this_cpu(NULL);
	return T_RUN(cases);
}
