// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_CMD_PREADV scatters the file over 1 to IOV_MAX iovecs; bad vectors fail. */
#include "t.h"

#include <limits.h>
#include <unistd.h>

#define SEED		0x5eed0004u
#define FILE_SIZE	(256u << 10)
#define GUARD		0xa5

/*
 * Reads at @off into @iovcnt iovecs of the sizes @lens, each in its own
 * guarded buffer, and checks res and every iovec's bytes and guards.
 */
static void check_preadv(const size_t *lens, int iovcnt, off_t off)
{
	unsigned char guard[2] = { GUARD, GUARD };
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	size_t total;
	/* One guard byte after each iovec catches an overrun. */
	struct iovec *iov = t_alloc_iov(lens, iovcnt, GUARD, &total);
	struct iocb cb;

	t_prep_preadv(&cb, fd, iov, iovcnt, off);
	if (T_EQ(t_run1(ctx, &cb), total)) {
		for (int i = 0; i < iovcnt; i++) {
			unsigned char *p = iov[i].iov_base;

			if (!t_verify_pattern(p, lens[i], SEED, off))
				t_diag("in iovec %d of %d", i, iovcnt);
			T_MEM(p + lens[i], guard, 1);
			off += (off_t)lens[i];
		}
	}
	t_free_iov(iov, iovcnt);
	close(fd);
	sys_io_destroy(ctx);
}

static enum t_result test_one(void)
{
	static const size_t lens[] = { 10000 };

	check_preadv(lens, 1, 333);
	return t_result();
}

static enum t_result test_three(void)
{
	/* The zero-length iovec in the middle takes no byte. */
	static const size_t lens[] = { 4097, 0, 511 };

	check_preadv(lens, 3, 4095);
	return t_result();
}

static enum t_result test_iov_max(void)
{
	size_t lens[IOV_MAX];

	/* Sizes 0..198 in a scrambled order, several of them zero. */
	for (int i = 0; i < IOV_MAX; i++)
		lens[i] = (size_t)(i * 37) % 199;
	check_preadv(lens, IOV_MAX, 12345);
	return t_result();
}

static enum t_result test_too_many(void)
{
	static unsigned char buf[IOV_MAX + 1];
	static struct iovec iov[IOV_MAX + 1];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;

	/* UIO_MAXIOV is 1024 == IOV_MAX: one more is refused at submission. */
	for (int i = 0; i <= IOV_MAX; i++) {
		iov[i].iov_base = &buf[i];
		iov[i].iov_len = 1;
	}
	t_prep_preadv(&cb, fd, iov, IOV_MAX + 1, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	T_NO_EVENT(ctx, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_negative_len(void)
{
	static unsigned char buf[3][16];
	struct iovec one[1] = { { buf[0], (size_t)-1 } };
	struct iovec three[3] = {
		{ buf[0], 16 }, { buf[1], (size_t)SSIZE_MAX + 1 }, { buf[2], 16 },
	};
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;

	/* An iov_len that is negative as ssize_t is EINVAL, alone or among others. */
	t_prep_preadv(&cb, fd, one, 1, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	t_prep_preadv(&cb, fd, three, 3, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	T_NO_EVENT(ctx, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_overflowing_total(void)
{
	static unsigned char buf[2][16];
	struct iovec two[2] = {
		{ buf[0], (size_t)SSIZE_MAX / 2 + 1 }, { buf[1], (size_t)SSIZE_MAX / 2 + 1 },
	};
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;

	/*
	 * Each length is valid but the sum passes SSIZE_MAX: no EINVAL, as
	 * the total is capped at MAX_RW_COUNT, but such a length overruns the
	 * user address space, so access_ok() in __import_iovec() says EFAULT.
	 */
	t_prep_preadv(&cb, fd, two, 2, 0);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EFAULT);
	T_NO_EVENT(ctx, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "PREADV with one iovec reads its bytes", test_one },
		{ "PREADV with three iovecs, one empty, scatters the bytes in order", test_three },
		{ "PREADV with IOV_MAX iovecs of mixed sizes scatters them all", test_iov_max },
		{ "PREADV with IOV_MAX + 1 iovecs fails io_submit with EINVAL", test_too_many },
		{ "PREADV with a negative iov_len fails io_submit with EINVAL", test_negative_len },
		{ "PREADV whose iov_lens add up past SSIZE_MAX fails io_submit with EFAULT",
		  test_overflowing_total },
	};

	return T_RUN(cases);
}
