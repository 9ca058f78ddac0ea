// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_FLAG_RESFD adds one to the eventfd counter per completed request. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NR	8
#define LEN	4096
#define SEED	0x5e5f
/* How long a check that no signal comes waits for a late one. */
#define LATE_MS	200

/* Prepares NR reads of consecutive blocks, aio_data = index, optionally with RESFD. */
static long submit_reads(aio_context_t ctx, int fd, struct iocb *cbs, unsigned char *bufs,
			 int resfd, bool flag)
{
	struct iocb *ptrs[NR];

	for (int i = 0; i < NR; i++) {
		t_prep_pread(&cbs[i], fd, bufs + (size_t)i * LEN, LEN, (off_t)i * LEN);
		cbs[i].aio_data = (uint64_t)i;
		cbs[i].aio_resfd = (uint32_t)resfd;
		if (flag)
			cbs[i].aio_flags = IOCB_FLAG_RESFD;
		ptrs[i] = &cbs[i];
	}
	return sys_io_submit(ctx, NR, ptrs);
}

/* The RESFD flag changes nothing in the ring: NR events, each once, data intact. */
static void reap_reads(aio_context_t ctx, struct iocb *cbs, unsigned char *bufs)
{
	struct io_event ev[NR];
	bool seen[NR] = { false };

	if (!T_EQ(t_reap(ctx, ev, NR, 10000), NR))
		return;
	for (int i = 0; i < NR; i++) {
		uint64_t d = ev[i].data;

		if (!T_TRUE(d < NR) || !T_TRUE(!seen[d]))
			continue;
		seen[d] = true;
		T_EQ(ev[i].obj, (uintptr_t)&cbs[d]);
		T_EQ(ev[i].res, LEN);
		T_EQ(ev[i].res2, 0);
		t_verify_pattern(bufs + d * LEN, LEN, SEED, (off_t)d * LEN);
	}
}

/*
 * Reads the (O_NONBLOCK) eventfd until @want has been read or 10 s pass:
 * stock signals the eventfd right after filling the ring slot, so a ring
 * reaper may briefly be ahead of it.  Returns the sum; *@reads gets the count
 * of successful reads, and every value read lands in @vals (up to @max).
 */
static unsigned long long drain(int efd, unsigned long long want, int *reads,
				uint64_t *vals, int max)
{
	long long deadline = t_now_us() + 10000000;
	unsigned long long sum = 0;

	*reads = 0;
	while (sum < want && t_now_us() < deadline) {
		uint64_t v;
		ssize_t n = read(efd, &v, sizeof(v));

		if (n == (ssize_t)sizeof(v)) {
			if (*reads < max)
				vals[*reads] = v;
			(*reads)++;
			sum += v;
		} else if (n < 0 && errno == EAGAIN) {
			usleep(1000);
		} else {
			T_EQ(n, sizeof(v));
			break;
		}
	}
	return sum;
}

/* Nothing more is signalled: an O_NONBLOCK eventfd read fails with EAGAIN. */
static void expect_empty(int efd)
{
	uint64_t v;

	T_ERRNO(read(efd, &v, sizeof(v)), EAGAIN);
}

/*
 * What the (O_NONBLOCK, not semaphore) eventfd counts once a late signal
 * had LATE_MS to show up; 0 if nothing came.  A negative check waits this
 * long, and beside it, the same wait sees a signal that is due.
 */
static uint64_t late_count(int efd)
{
	uint64_t v;

	usleep(LATE_MS * 1000);
	if (read(efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		return v;
	T_EQ(errno, EAGAIN);
	return 0;
}

static enum t_result test_counter(void)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	aio_context_t ctx = t_setup_ctx(NR);
	struct iocb cbs[NR];
	uint64_t vals[NR];
	int reads;

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	if (T_EQ(submit_reads(ctx, fd, cbs, bufs, efd, true), NR)) {
		reap_reads(ctx, cbs, bufs);
		T_EQ(drain(efd, NR, &reads, vals, NR), NR);
		expect_empty(efd);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	free(bufs);
	close(efd);
	close(fd);
	return t_result();
}

static enum t_result test_semaphore(void)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC | EFD_SEMAPHORE);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	aio_context_t ctx = t_setup_ctx(NR);
	struct iocb cbs[NR];
	uint64_t vals[NR + 1];
	int reads;

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	if (T_EQ(submit_reads(ctx, fd, cbs, bufs, efd, true), NR)) {
		reap_reads(ctx, cbs, bufs);
		/* A semaphore eventfd hands out the count one by one. */
		T_EQ(drain(efd, NR, &reads, vals, NR + 1), NR);
		T_EQ(reads, NR);
		for (int i = 0; i < reads && i < NR; i++)
			T_EQ(vals[i], 1);
		expect_empty(efd);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	free(bufs);
	close(efd);
	close(fd);
	return t_result();
}

static enum t_result test_no_flag(void)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	aio_context_t ctx = t_setup_ctx(NR);
	struct iocb cbs[NR];

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	/* aio_resfd is only looked at when IOCB_FLAG_RESFD is set. */
	if (T_EQ(submit_reads(ctx, fd, cbs, bufs, efd, false), NR)) {
		reap_reads(ctx, cbs, bufs);
		T_EQ(late_count(efd), 0);
	}
	/* The control: with the flag, the same reads and the same wait see every signal. */
	if (T_EQ(submit_reads(ctx, fd, cbs, bufs, efd, true), NR)) {
		reap_reads(ctx, cbs, bufs);
		T_EQ(late_count(efd), NR);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	free(bufs);
	close(efd);
	close(fd);
	return t_result();
}

static enum t_result test_bad_resfd(void)
{
	int fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	aio_context_t ctx = t_setup_ctx(NR);
	struct io_event ev;
	struct timespec zero = { 0, 0 };
	unsigned char buf[LEN];
	struct iocb cb, *cbp = &cb;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_pread(&cb, fd, buf, LEN, 0);
	cb.aio_flags = IOCB_FLAG_RESFD;
	/* A valid descriptor that is not an eventfd. */
	cb.aio_resfd = (uint32_t)pfd[0];
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	/* A closed descriptor. */
	cb.aio_resfd = (uint32_t)pfd[1];
	close(pfd[1]);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EBADF);
	/* Neither request was queued. */
	T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &zero), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	close(pfd[0]);
	close(fd);
	return t_result();
}

static enum t_result test_poll_resfd(void)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	aio_context_t ctx = t_setup_ctx(NR);
	struct io_event ev;
	struct iocb cb;
	int pfd[2];

	if (efd < 0 || pipe2(pfd, O_CLOEXEC))
		t_bail("eventfd/pipe: %s", strerror(errno));
	/* A POLL completes from a waitqueue callback: the eventfd signal is deferred. */
	t_prep_poll(&cb, pfd[0], POLLIN);
	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = (uint32_t)efd;
	t_submit1(ctx, &cb);
	T_EQ(late_count(efd), 0);
	if (write(pfd[1], "x", 1) != 1)
		t_bail("write pipe: %s", strerror(errno));
	/* The control: once the poll completes, the same wait sees its signal. */
	T_EQ(late_count(efd), 1);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_TRUE(ev.res & POLLIN);
	}
	expect_empty(efd);
	T_EQ(sys_io_destroy(ctx), 0);
	close(pfd[0]);
	close(pfd[1]);
	close(efd);
	return t_result();
}

static enum t_result test_saturate(void)
{
	int fd = t_pattern_file(NR * LEN, SEED, 0, NULL, 0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	unsigned char *bufs = t_aligned_alloc(4096, NR * LEN);
	aio_context_t ctx = t_setup_ctx(NR);
	/* write(2) can raise the counter to 2^64 - 2 at most. */
	uint64_t v = UINT64_MAX - 1;
	struct iocb cbs[NR];
	struct pollfd p;
	long long deadline;

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	if (write(efd, &v, sizeof(v)) != sizeof(v))
		t_bail("eventfd write: %s", strerror(errno));
	/* The kernel side stops at 2^64 - 1 instead of wrapping to a small count. */
	if (T_EQ(submit_reads(ctx, fd, cbs, bufs, efd, true), NR)) {
		reap_reads(ctx, cbs, bufs);
		p.fd = efd;
		p.events = POLLIN;
		/* The first signal saturates it (the others trail the ring at most briefly). */
		deadline = t_now_us() + 10000000;
		while (poll(&p, 1, 0) == 1 && !(p.revents & POLLERR) && t_now_us() < deadline)
			usleep(1000);
		/* A counter at 2^64 - 1 polls as POLLERR (overflow) besides readable. */
		T_EQ(p.revents, POLLIN | POLLERR);
		T_EQ(read(efd, &v, sizeof(v)), sizeof(v));
		T_EQ(v, UINT64_MAX);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	free(bufs);
	close(efd);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "eventfd counter reads N after N RESFD reads, events also in the ring",
		  test_counter },
		{ "EFD_SEMAPHORE eventfd yields N reads of 1", test_semaphore },
		{ "aio_resfd without IOCB_FLAG_RESFD leaves the eventfd alone", test_no_flag },
		{ "RESFD on a non-eventfd fails with EINVAL, on a closed fd with EBADF",
		  test_bad_resfd },
		{ "RESFD on a POLL signals the eventfd once the poll completes", test_poll_resfd },
		{ "eventfd counter saturates at 2^64-1", test_saturate },
	};

	return T_RUN(cases);
}
