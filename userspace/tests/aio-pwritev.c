// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_CMD_PWRITEV gathers its iovecs into the file in order; zero iovecs write 0. */
#include "t.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define OLD_SEED	0x5eed0005u
#define NEW_SEED	0x5eed0006u
#define OLD_SIZE	65536

/*
 * Writes the NEW_SEED pattern for [@off, @off + sum of @lens) from @iovcnt
 * separately allocated iovecs, then checks the whole file.
 */
static void check_pwritev(const size_t *lens, int iovcnt, off_t off)
{
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);
	size_t total, end, at = 0;
	struct iovec *iov = t_alloc_iov(lens, iovcnt, 0, &total);
	struct iocb cb;

	for (int i = 0; i < iovcnt; i++) {
		t_fill_pattern(iov[i].iov_base, lens[i], NEW_SEED, off + (off_t)at);
		at += lens[i];
	}
	t_prep_pwritev(&cb, fd, iov, iovcnt, off);
	T_EQ(t_run1(ctx, &cb), total);
	end = (size_t)off + total;
	t_check_overwritten(fd, end > OLD_SIZE ? end : OLD_SIZE, OLD_SEED, OLD_SIZE, NEW_SEED,
			    off, total);
	t_free_iov(iov, iovcnt);
	close(fd);
	sys_io_destroy(ctx);
}

static enum t_result test_one(void)
{
	static const size_t lens[] = { 6000 };

	check_pwritev(lens, 1, 1001);
	return t_result();
}

static enum t_result test_several(void)
{
	static const size_t lens[] = { 1, 4096, 0, 3333, 70000 };

	/* Ends past EOF: the file grows to the last iovec's end. */
	check_pwritev(lens, 5, 4095);
	return t_result();
}

static enum t_result test_iov_max(void)
{
	size_t lens[IOV_MAX];

	for (int i = 0; i < IOV_MAX; i++)
		lens[i] = (size_t)(i * 53) % 97;
	check_pwritev(lens, IOV_MAX, 77);
	return t_result();
}

static enum t_result test_zero_iovecs(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);
	struct iovec iov = { NULL, 0 };
	struct iocb cb;

	/* Nothing written anywhere, not even a size change past EOF. */
	t_prep_pwritev(&cb, fd, &iov, 0, 100);
	T_EQ(t_run1(ctx, &cb), 0);
	t_prep_pwritev(&cb, fd, &iov, 0, OLD_SIZE + 4096);
	T_EQ(t_run1(ctx, &cb), 0);
	t_check_overwritten(fd, OLD_SIZE, OLD_SEED, OLD_SIZE, NEW_SEED, 0, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_zero_length_iovecs(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);
	struct iovec iov[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	struct iocb cb;

	t_prep_pwritev(&cb, fd, iov, 3, OLD_SIZE + 4096);
	T_EQ(t_run1(ctx, &cb), 0);
	t_check_overwritten(fd, OLD_SIZE, OLD_SEED, OLD_SIZE, NEW_SEED, 0, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "PWRITEV with one iovec writes its bytes", test_one },
		{ "PWRITEV with several iovecs, one empty, gathers them in order", test_several },
		{ "PWRITEV with IOV_MAX iovecs of mixed sizes gathers them all", test_iov_max },
		{ "PWRITEV with zero iovecs completes with res 0 and writes nothing",
		  test_zero_iovecs },
		{ "PWRITEV with only empty iovecs past EOF completes with res 0", test_zero_length_iovecs },
	};

	return T_RUN(cases);
}
