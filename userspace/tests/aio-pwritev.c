// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_CMD_PWRITEV gathers its iovecs into the file in order; zero iovecs write 0. */
#include "t.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define OLD_SEED	0x5eed0005u
#define NEW_SEED	0x5eed0006u
#define OLD_SIZE	65536

/* Submits one iocb and returns its event's res (checking obj and res2). */
static long long run1(aio_context_t ctx, struct iocb *cb)
{
	struct io_event ev;

	t_submit1(ctx, cb);
	if (!T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		return LLONG_MIN;
	T_EQ(ev.obj, (uintptr_t)cb);
	T_EQ(ev.res2, 0);
	return ev.res;
}

/* Checks size and contents: OLD_SEED pattern, NEW_SEED in [@off, @off + @len). */
static void check_file(int fd, off_t off, size_t len, size_t size)
{
	unsigned char *want = calloc(1, size + 1), *got = calloc(1, size + 1);
	struct stat st;

	if (!want || !got)
		t_bail("calloc(%zu)", size + 1);
	t_fill_pattern(want, OLD_SIZE, OLD_SEED, 0);
	t_fill_pattern(want + off, len, NEW_SEED, off);
	if (T_EQ(fstat(fd, &st), 0))
		T_EQ(st.st_size, size);
	T_EQ(pread(fd, got, size + 1, 0), size);
	T_MEM(got, want, size);
	free(want);
	free(got);
}

/*
 * Writes the NEW_SEED pattern for [@off, @off + sum of @lens) from @iovcnt
 * separately allocated iovecs, then checks the whole file.
 */
static void check_pwritev(const size_t *lens, int iovcnt, off_t off)
{
	struct iovec *iov = calloc((size_t)iovcnt, sizeof(*iov));
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);
	size_t total = 0, end;
	struct iocb cb;

	if (!iov)
		t_bail("calloc");
	for (int i = 0; i < iovcnt; i++) {
		unsigned char *p = malloc(lens[i] + 1);

		if (!p)
			t_bail("malloc(%zu)", lens[i] + 1);
		t_fill_pattern(p, lens[i], NEW_SEED, off + (off_t)total);
		iov[i].iov_base = p;
		iov[i].iov_len = lens[i];
		total += lens[i];
	}
	t_prep_pwritev(&cb, fd, iov, iovcnt, off);
	T_EQ(run1(ctx, &cb), total);
	end = (size_t)off + total;
	check_file(fd, off, total, end > OLD_SIZE ? end : OLD_SIZE);
	for (int i = 0; i < iovcnt; i++)
		free(iov[i].iov_base);
	free(iov);
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
	T_EQ(run1(ctx, &cb), 0);
	t_prep_pwritev(&cb, fd, &iov, 0, OLD_SIZE + 4096);
	T_EQ(run1(ctx, &cb), 0);
	check_file(fd, 0, 0, OLD_SIZE);
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
	T_EQ(run1(ctx, &cb), 0);
	check_file(fd, 0, 0, OLD_SIZE);
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
