// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: libaio round trip, and its errors as negative return values instead of errno. */
#define T_LIBAIO
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define NR	4
#define LEN	4096
#define SEED	0x11ba

/* Any errno value the calls below never produce: libaio must leave errno alone. */
#define ERRNO_SENTINEL	ENOTNAM

static enum t_result test_round_trip(void)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	struct iocb cbs[NR], *ptrs[NR];
	struct io_event ev[NR];
	bool seen[NR] = { false };
	io_context_t ctx = NULL;

	if (!T_EQ(io_queue_init(NR, &ctx), 0))
		return T_FAIL;
	T_TRUE(ctx != NULL);
	for (int i = 0; i < NR; i++) {
		io_prep_pread(&cbs[i], fd, bufs + (size_t)i * LEN, LEN, (long long)i * LEN);
		cbs[i].data = &seen[i];
		ptrs[i] = &cbs[i];
	}
	if (T_EQ(io_submit(ctx, NR, ptrs), NR) && T_EQ(t_libaio_reap(ctx, ev, NR, 10000), NR)) {
		for (int i = 0; i < NR; i++) {
			long k = ev[i].obj - cbs;

			if (!T_TRUE(k >= 0 && k < NR) || !T_TRUE(!seen[k]))
				continue;
			seen[k] = true;
			/* data is handed back untouched, as the iocb's data pointer. */
			T_EQ(ev[i].data, &seen[k]);
			T_EQ(ev[i].res, LEN);
			T_EQ(ev[i].res2, 0);
			t_verify_pattern(bufs + k * LEN, LEN, SEED, (off_t)k * LEN);
		}
	}
	T_EQ(io_destroy(ctx), 0);
	free(bufs);
	close(fd);
	return t_result();
}

static enum t_result test_ebadf(void)
{
	io_context_t ctx = NULL;
	unsigned char buf[LEN];
	struct iocb cb, *cbp = &cb;
	int fd = t_empty_file(0, NULL, 0);

	if (!T_EQ(io_setup(NR, &ctx), 0))
		return T_FAIL;
	/* A descriptor that was just closed. */
	close(fd);
	io_prep_pread(&cb, fd, buf, LEN, 0);
	errno = ERRNO_SENTINEL;
	T_EQ(io_submit(ctx, 1, &cbp), -EBADF);
	T_EQ(errno, ERRNO_SENTINEL);
	io_prep_pread(&cb, -1, buf, LEN, 0);
	T_EQ(io_submit(ctx, 1, &cbp), -EBADF);
	T_EQ(io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_setup_einval(void)
{
	io_context_t ctx = NULL, live = NULL;

	errno = ERRNO_SENTINEL;
	T_EQ(io_setup(0, &ctx), -EINVAL);
	T_EQ(errno, ERRNO_SENTINEL);
	T_TRUE(ctx == NULL);
	T_EQ(io_queue_init(0, &ctx), -EINVAL);
	T_TRUE(ctx == NULL);
	/* *ctxp must be zero on entry. */
	if (T_EQ(io_setup(1, &live), 0)) {
		ctx = live;
		T_EQ(io_setup(1, &ctx), -EINVAL);
		T_TRUE(ctx == live);
		T_EQ(io_destroy(live), 0);
		/* A destroyed context is gone for io_destroy() too. */
		T_EQ(io_destroy(live), -EINVAL);
	}
	return t_result();
}

static enum t_result test_getevents_einval(void)
{
	struct timespec ts = { 10, 0 };
	io_context_t ctx = NULL;
	struct io_event ev[2];

	if (!T_EQ(io_setup(NR, &ctx), 0))
		return T_FAIL;
	errno = ERRNO_SENTINEL;
	T_EQ(io_getevents(ctx, 2, 1, ev, &ts), -EINVAL);
	T_EQ(errno, ERRNO_SENTINEL);
	T_EQ(io_getevents(ctx, 2, 1, ev, NULL), -EINVAL);
	T_EQ(io_getevents(ctx, -1, 1, ev, &ts), -EINVAL);
	T_EQ(io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_getevents_shortcut(void)
{
	struct timespec zero = { 0, 0 };
	io_context_t ctx = NULL;
	struct io_event ev[2];

	if (!T_EQ(io_setup(NR, &ctx), 0))
		return T_FAIL;
	/*
	 * libaio answers a zero-timeout poll of an empty ring itself, from
	 * the ring header, without the syscall: bad counts go unnoticed.
	 */
	T_EQ(io_getevents(ctx, 2, 1, ev, &zero), 0);
	T_EQ(io_getevents(ctx, -1, 1, ev, &zero), 0);
	T_EQ(io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_cancel(void)
{
	io_context_t ctx = NULL;
	struct iocb cb, *cbp = &cb;
	struct io_event ev, res;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!T_EQ(io_setup(NR, &ctx), 0))
		return T_FAIL;
	io_prep_poll(&cb, pfd[0], POLLIN);
	if (T_EQ(io_submit(ctx, 1, &cbp), 1)) {
		T_EQ(io_cancel(ctx, &cb, &res), -EINPROGRESS);
		if (T_EQ(t_libaio_reap(ctx, &ev, 1, 10000), 1)) {
			T_TRUE(ev.obj == &cb);
			T_EQ(ev.res, 0);
		}
		T_EQ(io_cancel(ctx, &cb, &res), -EINVAL);
	}
	T_EQ(io_destroy(ctx), 0);
	close(pfd[0]);
	close(pfd[1]);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_queue_init, io_prep_pread, io_submit, io_getevents, io_destroy round trip",
		  test_round_trip },
		{ "io_submit with a bad fd returns -EBADF, errno untouched", test_ebadf },
		{ "io_setup(0) and io_setup on a nonzero ctx return -EINVAL", test_setup_einval },
		{ "io_getevents with min_nr > nr or min_nr < 0 returns -EINVAL",
		  test_getevents_einval },
		{ "io_getevents with a zero timeout on an empty ring returns 0 without checks",
		  test_getevents_shortcut },
		{ "io_cancel of an in-flight poll returns -EINPROGRESS", test_cancel },
	};

	return T_RUN(cases);
}
