// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: in mode 2 (fs.aio-syslet 2), io_submit() on syslets counts
 * the iocb that blocked and never returns 0; with 0 it is stock.
 */
#include "t.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SEED 41
#define FILE_SIZE (64 * 1024)
#define DATA 0x7100
#define SYSLET_SYSCTL T_SYSLET_SYSCTL

#include "syslet-helpers.h"

/* A batch of three reads: the one at @pipe_at reads the empty pipe, the others the cached file. */
struct batch {
	aio_context_t ctx;
	int fd, p[2];
	char pbuf[16];
	unsigned char *buf[3];
	struct iocb cb[3];
	struct iocb *list[3];
	int pipe_at;
};

static void batch_init(struct batch *b, int pipe_at)
{
	b->ctx = t_setup_ctx(16);
	b->fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	/* Only the pipe read may block, in cold mode too. */
	t_cache_file(b->fd, FILE_SIZE);
	if (pipe2(b->p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	memset(b->pbuf, 0, sizeof(b->pbuf));
	b->pipe_at = pipe_at;
	for (int i = 0; i < 3; i++) {
		b->buf[i] = t_aligned_alloc(4096, 4096);
		if (i == pipe_at)
			t_prep_pread(&b->cb[i], b->p[0], b->pbuf, sizeof(b->pbuf), 0);
		else
			t_prep_pread(&b->cb[i], b->fd, b->buf[i], 4096, 4096 * (i + 1));
		b->cb[i].aio_data = DATA + (uint64_t)i;
		b->list[i] = &b->cb[i];
	}
}

/* Checks event @ev is that of iocb @i of the batch, with its result and data. */
static void check_event(struct batch *b, const struct io_event *ev, int i)
{
	T_EQ(ev->data, DATA + (uint64_t)i);
	T_EQ(ev->obj, (uintptr_t)&b->cb[i]);
	T_EQ(ev->res2, 0);
	if (i == b->pipe_at) {
		T_EQ(ev->res, 5);
		T_MEM(b->pbuf, "hello", 6);
	} else {
		T_EQ(ev->res, 4096);
		T_TRUE(t_verify_pattern(b->buf[i], 4096, SEED, 4096 * (i + 1)));
	}
}

static void batch_free(struct batch *b)
{
	/* Whatever failed, nothing stays blocked: io_destroy() waits for it. */
	if (write(b->p[1], "hello", 5) != 5)
		t_bail("write: %s", strerror(errno));
	T_EQ(sys_io_destroy(b->ctx), 0);
	for (int i = 0; i < 3; i++)
		free(b->buf[i]);
	close(b->p[0]);
	close(b->p[1]);
	close(b->fd);
}

static long getevents_now(aio_context_t ctx, struct io_event *ev, long nr)
{
	struct timespec zero = { 0, 0 };

	return sys_io_getevents(ctx, 0, nr, ev, &zero);
}

static enum t_result test_middle_blocks(void)
{
	struct io_event ev[3];
	struct t_writer w;
	struct batch b;
	long ret;

	batch_init(&b, 1);
	if (!sh_warm_up(b.ctx))
		goto out;
	t_writer_start(&w, b.p[1], "hello", 5, SH_HANDOFF_MS);
	ret = sys_io_submit(b.ctx, 3, b.list);
	/* Counted up to the blocked read, which is included. */
	T_EQ(ret, 2);
	T_EQ(atomic_load(&w.wrote_us), 0);
	/* The cached read completed in io_submit(): its event is there at once. */
	if (T_EQ(getevents_now(b.ctx, ev, 3), 1))
		check_event(&b, &ev[0], 0);
	/* The pipe read waits for data. */
	T_EQ(t_reap(b.ctx, ev, 1, 100), 0);
	if (t_writer_stop(&w) == 0 && write(b.p[1], "hello", 5) != 5)
		t_bail("write: %s", strerror(errno));
	if (T_EQ(t_reap(b.ctx, ev, 1, 5000), 1))
		check_event(&b, &ev[0], 1);
	if (ret == 2) {
		/* The third was not looked at: submitting it now does it. */
		T_EQ(sys_io_submit(b.ctx, 1, b.list + 2), 1);
		if (T_EQ(t_reap(b.ctx, ev, 1, 5000), 1))
			check_event(&b, &ev[0], 2);
	}
	T_EQ(getevents_now(b.ctx, ev, 3), 0);
out:
	batch_free(&b);
	return t_result();
}

static enum t_result test_first_blocks(void)
{
	struct io_event ev[3];
	struct t_writer w;
	struct batch b;
	long ret;

	batch_init(&b, 0);
	if (!sh_warm_up(b.ctx))
		goto out;
	t_writer_start(&w, b.p[1], "hello", 5, SH_HANDOFF_MS);
	ret = sys_io_submit(b.ctx, 3, b.list);
	/* 1, never 0: the blocked iocb was submitted. */
	T_EQ(ret, 1);
	T_EQ(atomic_load(&w.wrote_us), 0);
	T_EQ(getevents_now(b.ctx, ev, 3), 0);
	if (ret == 1) {
		T_EQ(sys_io_submit(b.ctx, 2, b.list + 1), 2);
		if (T_EQ(t_reap(b.ctx, ev, 2, 5000), 2)) {
			bool first = ev[0].data == DATA + 1;

			check_event(&b, &ev[first ? 0 : 1], 1);
			check_event(&b, &ev[first ? 1 : 0], 2);
		}
	}
	if (t_writer_stop(&w) == 0 && write(b.p[1], "hello", 5) != 5)
		t_bail("write: %s", strerror(errno));
	if (T_EQ(t_reap(b.ctx, ev, 1, 5000), 1))
		check_event(&b, &ev[0], 0);
	T_EQ(getevents_now(b.ctx, ev, 3), 0);
out:
	batch_free(&b);
	return t_result();
}

static enum t_result test_nr_zero(void)
{
	struct io_event ev[3];
	struct batch b;

	batch_init(&b, 0);
	if (!sh_warm_up(b.ctx))
		goto out;
	/* A helper is parked, yet there is nothing to run: 0, and no event. */
	T_EQ(sys_io_submit(b.ctx, 0, b.list), 0);
	T_EQ(sys_io_submit(b.ctx, 0, NULL), 0);
	T_EQ(t_reap(b.ctx, ev, 1, 100), 0);
	/* The pipe read was not submitted: written data stays in the pipe. */
	if (write(b.p[1], "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	T_EQ(read(b.p[0], b.pbuf, sizeof(b.pbuf)), 1);
out:
	batch_free(&b);
	return t_result();
}

static enum t_result test_sysctl_off(void)
{
	long long old, wrote, end;
	struct io_event ev[3];
	struct t_writer w;
	struct batch b;
	long ret;
	int err;

	if (!t_is_root())
		return t_skip("changing fs.aio-syslet needs root");
	batch_init(&b, 1);
	if (!sh_warm_up(b.ctx))
		goto out;
	/* A helper is parked: with fs.aio-syslet 1 the pipe read would hand off. */
	/* No other syslet case runs meanwhile: main() holds the lock exclusively. */
	old = t_read_sysctl(SYSLET_SYSCTL);
	err = t_write_sysctl(SYSLET_SYSCTL, 0);
	if (err)
		t_bail("write 0 to %s: %s", SYSLET_SYSCTL, strerror(-err));
	t_writer_start(&w, b.p[1], "hello", 5, 300);
	ret = sys_io_submit(b.ctx, 3, b.list);
	end = t_now_us();
	wrote = t_writer_stop(&w);
	err = t_write_sysctl(SYSLET_SYSCTL, old);
	if (err)
		t_bail("restore %s to %lld: %s", SYSLET_SYSCTL, old, strerror(-err));
	/* Stock: every iocb ran, the blocking one to completion. */
	T_EQ(ret, 3);
	T_TRUE(wrote != 0 && end >= wrote);
	if (T_EQ(t_reap(b.ctx, ev, 3, 5000), 3)) {
		bool seen[3] = { false };

		for (int i = 0; i < 3; i++) {
			long long k = (long long)ev[i].data - DATA;

			if (!T_TRUE(k >= 0 && k < 3 && !seen[k]))
				continue;
			seen[k] = true;
			check_event(&b, &ev[i], (int)k);
		}
	}
out:
	batch_free(&b);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a batch whose middle read blocks returns 2; its event comes once the pipe is written", test_middle_blocks },
		{ "a batch whose first read blocks returns 1, never 0", test_first_blocks },
		{ "nr 0 returns 0 with a helper parked", test_nr_zero },
		{ "with fs.aio-syslet 0 the batch blocks in io_submit() and returns 3", test_sysctl_off },
	};

	long long mode;
	int ret, err;

	t_require_syslet_exclusive();
	/*
	 * The short counts of 2007's design are mode 2; mode 1 returns
	 * stock's counts (syslet-stock-counts).  No other syslet case runs
	 * meanwhile: the lock is exclusive.
	 */
	if (!t_is_root())
		t_skip_all("choosing fs.aio-syslet's mode 2 needs root");
	mode = t_read_sysctl(SYSLET_SYSCTL);
	err = t_write_sysctl(SYSLET_SYSCTL, 2);
	if (err)
		t_bail("write 2 to %s (a kernel without mode 2?): %s", SYSLET_SYSCTL, strerror(-err));
	ret = T_RUN(cases);
	err = t_write_sysctl(SYSLET_SYSCTL, mode);
	if (err)
		t_bail("restore %s to %lld: %s", SYSLET_SYSCTL, mode, strerror(-err));
	return ret;
}
