// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: libaio batches: partial submission counts (bad iocb, full ring), io_set_eventfd, fsync and fdsync. */
#define T_LIBAIO
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NR	8
#define LEN	4096
#define SEED	0xba7c

/* Nothing more arrives within 200 ms (a nonzero timeout: libaio makes the syscall). */
static void expect_no_event(io_context_t ctx)
{
	struct timespec ts = { 0, 200000000 };
	struct io_event ev;

	T_EQ(io_getevents(ctx, 1, 1, &ev, &ts), 0);
}

/* NR reads of consecutive blocks into @bufs. */
static void prep_reads(struct iocb *cbs, struct iocb **ptrs, int fd, unsigned char *bufs)
{
	for (int i = 0; i < NR; i++) {
		io_prep_pread(&cbs[i], fd, bufs + (size_t)i * LEN, LEN, (long long)i * LEN);
		ptrs[i] = &cbs[i];
	}
}

/* @n read events, for iocbs among the first @n of @cbs, each once and with its data. */
static void check_reads(struct io_event *ev, int n, struct iocb *cbs, unsigned char *bufs)
{
	bool seen[NR] = { false };

	for (int i = 0; i < n; i++) {
		long k = ev[i].obj - cbs;

		if (!T_TRUE(k >= 0 && k < n) || !T_TRUE(!seen[k]))
			continue;
		seen[k] = true;
		T_EQ(ev[i].res, LEN);
		T_EQ(ev[i].res2, 0);
		t_verify_pattern(bufs + k * LEN, LEN, SEED, (off_t)k * LEN);
	}
}

enum bad_kind { BAD_FD, BAD_OPCODE, BAD_POINTER };

/* A batch of NR whose 4th entry is bad in the way @kind says. */
static void run_bad_fourth(enum bad_kind kind)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	struct iocb cbs[NR], *ptrs[NR];
	struct io_event ev[NR];
	io_context_t ctx = NULL;

	if (!T_EQ(io_setup(NR, &ctx), 0))
		return;
	prep_reads(cbs, ptrs, fd, bufs);
	if (kind == BAD_FD)
		cbs[3].aio_fildes = -1;
	else if (kind == BAD_OPCODE)
		cbs[3].aio_lio_opcode = 42;
	else
		ptrs[3] = NULL;
	/* The kernel stops at the bad one and reports the count; libaio passes it on. */
	if (T_EQ(io_submit(ctx, NR, ptrs), 3) && T_EQ(t_libaio_reap(ctx, ev, 3, 10000), 3)) {
		check_reads(ev, 3, cbs, bufs);
		expect_no_event(ctx);
	}
	T_EQ(io_destroy(ctx), 0);
	free(bufs);
	close(fd);
}

static enum t_result test_bad_fourth(void)
{
	run_bad_fourth(BAD_FD);
	run_bad_fourth(BAD_OPCODE);
	run_bad_fourth(BAD_POINTER);
	return t_result();
}

static enum t_result test_bad_first(void)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	struct iocb cbs[NR], *ptrs[NR];
	io_context_t ctx = NULL;

	if (!T_EQ(io_setup(NR, &ctx), 0))
		return T_FAIL;
	prep_reads(cbs, ptrs, fd, bufs);
	/* Nothing was queued, so the first one's error is the result. */
	cbs[0].aio_fildes = -1;
	T_EQ(io_submit(ctx, NR, ptrs), -EBADF);
	expect_no_event(ctx);
	T_EQ(io_destroy(ctx), 0);
	free(bufs);
	close(fd);
	return t_result();
}

/* More than any ring io_setup(1) makes; the reads all hit one cached block. */
#define BIG	4096

/*
 * A batch larger than the ring: io_submit() returns what the ring took,
 * the rest gets -EAGAIN, and every event that went in is reaped once.
 */
static enum t_result test_ring_full(void)
{
	int fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	struct iocb *cbs = calloc(BIG, sizeof(*cbs)), **ptrs = calloc(BIG, sizeof(*ptrs));
	unsigned char *seen = calloc(BIG, 1), buf[BIG];
	struct io_event ev[64];
	io_context_t ctx = NULL;
	int n, got = 0;

	if (!cbs || !ptrs || !seen)
		t_bail("out of memory");
	if (!T_EQ(io_setup(1, &ctx), 0))
		return T_FAIL;
	for (int i = 0; i < BIG; i++) {
		io_prep_pread(&cbs[i], fd, &buf[i], 1, i % LEN);
		ptrs[i] = &cbs[i];
	}
	n = io_submit(ctx, BIG, ptrs);
	t_diag("io_submit of %d reads into a ring for 1 returned %d", BIG, n);
	if (T_TRUE(n > 0 && n < BIG)) {
		T_EQ(io_submit(ctx, BIG - n, ptrs + n), -EAGAIN);
		while (got < n) {
			struct timespec ts = { 5, 0 };
			int r = io_getevents(ctx, 1, 64, ev, &ts);

			if (!T_TRUE(r > 0))
				break;
			for (int i = 0; i < r; i++) {
				long k = (struct iocb *)ev[i].obj - cbs;

				if (T_TRUE(k >= 0 && k < n) && T_EQ(seen[k], 0)) {
					seen[k] = 1;
					T_EQ(ev[i].res, 1);
				}
			}
			got += r;
		}
		T_EQ(got, n);
		expect_no_event(ctx);
	}
	T_EQ(io_destroy(ctx), 0);
	free(cbs);
	free(ptrs);
	free(seen);
	close(fd);
	return t_result();
}

static enum t_result test_eventfd(void)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	struct iocb cbs[NR], *ptrs[NR];
	struct io_event ev[NR];
	io_context_t ctx = NULL;
	unsigned long long sum = 0;
	long long deadline;
	uint64_t v;

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	if (!T_EQ(io_setup(NR, &ctx), 0))
		return T_FAIL;
	prep_reads(cbs, ptrs, fd, bufs);
	/* After io_prep_pread: the prep helpers clear the whole iocb. */
	for (int i = 0; i < NR; i++)
		io_set_eventfd(&cbs[i], efd);
	if (T_EQ(io_submit(ctx, NR, ptrs), NR) && T_EQ(t_libaio_reap(ctx, ev, NR, 10000), NR)) {
		check_reads(ev, NR, cbs, bufs);
		/* The eventfd is signalled just after the ring slot: allow it to trail. */
		deadline = t_now_us() + 10000000;
		while (sum < NR && t_now_us() < deadline) {
			if (read(efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
				sum += v;
			else
				usleep(1000);
		}
		T_EQ(sum, NR);
		T_ERRNO(read(efd, &v, sizeof(v)), EAGAIN);
	}
	T_EQ(io_destroy(ctx), 0);
	free(bufs);
	close(efd);
	close(fd);
	return t_result();
}

static enum t_result test_fsync(void)
{
	int fd = t_empty_file(0, NULL, 0);
	unsigned char buf[LEN];
	struct iocb cbs[2], *ptrs[2] = { &cbs[0], &cbs[1] };
	struct io_event ev[2];
	io_context_t ctx = NULL;
	bool seen[2] = { false };

	t_fill_pattern(buf, LEN, SEED, 0);
	if (pwrite(fd, buf, LEN, 0) != LEN)
		t_bail("pwrite: %s", strerror(errno));
	if (!T_EQ(io_setup(NR, &ctx), 0))
		return T_FAIL;
	io_prep_fsync(&cbs[0], fd);
	io_prep_fdsync(&cbs[1], fd);
	if (T_EQ(io_submit(ctx, 2, ptrs), 2) && T_EQ(t_libaio_reap(ctx, ev, 2, 10000), 2)) {
		for (int i = 0; i < 2; i++) {
			long k = ev[i].obj - cbs;

			if (!T_TRUE(k == 0 || k == 1) || !T_TRUE(!seen[k]))
				continue;
			seen[k] = true;
			T_EQ(ev[i].res, 0);
			T_EQ(ev[i].res2, 0);
		}
	}
	T_EQ(io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a batch of 8 whose 4th iocb is bad returns 3, and 3 events arrive",
		  test_bad_fourth },
		{ "a batch of 8 whose 1st iocb is bad returns -EBADF, no events", test_bad_first },
		{ "a batch larger than the ring returns what it took, then -EAGAIN; each event reaped once",
		  test_ring_full },
		{ "io_set_eventfd on a batch of 8 reads: the eventfd counter reads 8",
		  test_eventfd },
		{ "io_prep_fsync and io_prep_fdsync complete with res 0", test_fsync },
	};

	return T_RUN(cases);
}
