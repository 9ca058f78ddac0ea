// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() with bad user pointers: EFAULT at submission, or as the event's res. */
#include "t.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define SEED 80
#define FILE_SIZE 16384
/* A kernel address (x86-64 direct map): access_ok() refuses it. */
#define KERNEL_ADDR 0xffff888000000000UL

static size_t page;

/* Two pages of which only the first stays mapped. */
static unsigned char *map_half(void)
{
	unsigned char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_bail("mmap: %s", strerror(errno));
	munmap(p + page, page);
	return p;
}

/* Submits one iocb, expects it queued and its event to carry @res. */
static void check_event_res(aio_context_t ctx, struct iocb *cb, long long res)
{
	struct io_event ev;

	if (!T_EQ(sys_io_submit(ctx, 1, &cb), 1))
		return;
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.data, cb->aio_data);
		T_EQ(ev.res, res);
	}
}

static enum t_result test_bad_array(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	unsigned char *half = map_half();

	T_ERRNO(sys_io_submit(ctx, 1, NULL), EFAULT);
	T_ERRNO(sys_io_submit(ctx, 1, (struct iocb **)1), EFAULT);
	T_ERRNO(sys_io_submit(ctx, 1, (struct iocb **)(half + page)), EFAULT);
	T_ERRNO(sys_io_submit(ctx, 1, (struct iocb **)KERNEL_ADDR), EFAULT);
	T_NO_EVENT(ctx, 200);
	munmap(half, page);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_bad_entry(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char *half = map_half();
	struct iocb cb, *cbp[2];
	struct io_event ev;
	char buf[512];

	cbp[0] = NULL;
	T_ERRNO(sys_io_submit(ctx, 1, cbp), EFAULT);
	cbp[0] = (struct iocb *)(half + page);
	T_ERRNO(sys_io_submit(ctx, 1, cbp), EFAULT);
	/* An iocb straddling into the unmapped page cannot be copied in either. */
	cbp[0] = (struct iocb *)(half + page - 32);
	T_ERRNO(sys_io_submit(ctx, 1, cbp), EFAULT);
	T_NO_EVENT(ctx, 200);

	/* A bad second entry: the first is queued and counted. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	cbp[0] = &cb;
	cbp[1] = (struct iocb *)(half + page);
	T_EQ(sys_io_submit(ctx, 2, cbp), 1);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.data, cb.aio_data);
	T_NO_EVENT(ctx, 200);
	munmap(half, page);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_read_only_iocb(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb *cb = mmap(NULL, page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[512];

	if (cb == MAP_FAILED)
		t_bail("mmap: %s", strerror(errno));
	memset(buf, 0xee, sizeof(buf));
	t_prep_pwrite(cb, fd, buf, sizeof(buf), 0);
	mprotect(cb, page, PROT_READ);
	/* Readable, but aio_key cannot be stored: not run at all. */
	T_ERRNO(sys_io_submit(ctx, 1, &cb), EFAULT);
	T_NO_EVENT(ctx, 200);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	munmap(cb, page);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_read_unmapped_buf(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char *half = map_half();
	struct iocb cb;

	/* access_ok() passes a user address: the fault shows only in the result. */
	t_prep_pread(&cb, fd, half + page, 512, 0);
	check_event_res(ctx, &cb, -EFAULT);
	/* Faulting after one page: a short read of that page. */
	t_prep_pread(&cb, fd, half, 2 * page, 0);
	check_event_res(ctx, &cb, (long long)page);
	t_verify_pattern(half, page, SEED, 0);
	munmap(half, page);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_write_unmapped_buf(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char *half = map_half();
	struct iocb cb;

	t_prep_pwrite(&cb, fd, half + page, 512, 0);
	check_event_res(ctx, &cb, -EFAULT);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	munmap(half, page);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_kernel_buf(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;

	/* Not a user address at all: refused before anything is queued. */
	t_prep_pread(&cb, fd, (void *)KERNEL_ADDR, 512, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EFAULT);
	t_prep_pwrite(&cb, fd, (void *)KERNEL_ADDR, 512, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EFAULT);
	T_NO_EVENT(ctx, 200);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_bad_iovec(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char *half = map_half();
	struct iocb cb, *cbp = &cb;
	struct iovec iov[2];
	char buf[512];

	/* The iovec array is copied in at submission. */
	t_prep_preadv(&cb, fd, (struct iovec *)(half + page), 1, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EFAULT);
	t_prep_pwritev(&cb, fd, (struct iovec *)(half + page), 1, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EFAULT);
	t_prep_preadv(&cb, fd, (struct iovec *)(half + page - sizeof(iov[0])), 2, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EFAULT);
	T_NO_EVENT(ctx, 200);
	t_check_pattern_file(fd, FILE_SIZE, SEED);

	/* A good array with a bad iov_base: the event reports the fault. */
	iov[0].iov_base = half + page;
	iov[0].iov_len = 512;
	t_prep_preadv(&cb, fd, iov, 1, 0);
	check_event_res(ctx, &cb, -EFAULT);
	t_prep_pwritev(&cb, fd, iov, 1, 0);
	check_event_res(ctx, &cb, -EFAULT);
	/* A bad second segment after a good first: short transfer. */
	iov[0].iov_base = buf;
	iov[0].iov_len = sizeof(buf);
	iov[1].iov_base = half + page;
	iov[1].iov_len = 512;
	t_prep_preadv(&cb, fd, iov, 2, 0);
	check_event_res(ctx, &cb, sizeof(buf));
	t_verify_pattern(buf, sizeof(buf), SEED, 0);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	munmap(half, page);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a bad iocbpp fails with EFAULT", test_bad_array },
		{ "a bad iocbpp[0] fails with EFAULT, a bad iocbpp[1] stops after one",
		  test_bad_entry },
		{ "an iocb in read-only memory fails with EFAULT and is not run",
		  test_read_only_iocb },
		{ "PREAD into unmapped memory completes with res -EFAULT or short",
		  test_read_unmapped_buf },
		{ "PWRITE from unmapped memory completes with res -EFAULT",
		  test_write_unmapped_buf },
		{ "PREAD/PWRITE with a kernel aio_buf fails with EFAULT", test_kernel_buf },
		{ "PREADV/PWRITEV with a bad iovec array fail with EFAULT, bad segments in res",
		  test_bad_iovec },
	};

	page = (size_t)getpagesize();
	return T_RUN(cases);
}
