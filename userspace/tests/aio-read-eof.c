// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: reads that reach EOF are short and reads at or past EOF complete with res 0. */
#include "t.h"

#include <unistd.h>

#define SEED		0x5eed0007u
#define FILE_SIZE	10000	/* not a multiple of the page size */
#define FILL		0xa5

/* True when @len bytes at @p all hold FILL, i.e. the read did not touch them. */
static bool untouched(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != FILL)
			return false;
	return true;
}

static enum t_result test_short(void)
{
	static unsigned char buf[8192];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb;

	memset(buf, FILL, sizeof(buf));
	t_prep_pread(&cb, fd, buf, sizeof(buf), FILE_SIZE - 100);
	T_EQ(t_run1(ctx, &cb), 100);
	t_verify_pattern(buf, 100, SEED, FILE_SIZE - 100);
	T_TRUE(untouched(buf + 100, sizeof(buf) - 100));
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_short_vectored(void)
{
	static unsigned char a[50], b[100], c[50];
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb;

	/* EOF falls inside the second iovec: the third stays untouched. */
	memset(a, FILL, sizeof(a));
	memset(b, FILL, sizeof(b));
	memset(c, FILL, sizeof(c));
	t_prep_preadv(&cb, fd, iov, 3, FILE_SIZE - 120);
	T_EQ(t_run1(ctx, &cb), 120);
	t_verify_pattern(a, 50, SEED, FILE_SIZE - 120);
	t_verify_pattern(b, 70, SEED, FILE_SIZE - 70);
	T_TRUE(untouched(b + 70, 30));
	T_TRUE(untouched(c, sizeof(c)));
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_at_eof(void)
{
	static unsigned char buf[4096];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb;

	memset(buf, FILL, sizeof(buf));
	t_prep_pread(&cb, fd, buf, sizeof(buf), FILE_SIZE);
	T_EQ(t_run1(ctx, &cb), 0);
	T_TRUE(untouched(buf, sizeof(buf)));
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_past_eof(void)
{
	static unsigned char buf[4096];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb;

	memset(buf, FILL, sizeof(buf));
	t_prep_pread(&cb, fd, buf, sizeof(buf), FILE_SIZE + 1);
	T_EQ(t_run1(ctx, &cb), 0);
	t_prep_pread(&cb, fd, buf, sizeof(buf), 1LL << 40);
	T_EQ(t_run1(ctx, &cb), 0);
	T_TRUE(untouched(buf, sizeof(buf)));
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_empty(void)
{
	static unsigned char buf[4096];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_empty_file(0, NULL, 0);
	struct iocb cb;

	memset(buf, FILL, sizeof(buf));
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	T_EQ(t_run1(ctx, &cb), 0);
	T_TRUE(untouched(buf, sizeof(buf)));
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "PREAD of 8 KiB at size - 100 returns the last 100 bytes", test_short },
		{ "PREADV across EOF fills the iovecs up to EOF only", test_short_vectored },
		{ "PREAD at EOF returns 0", test_at_eof },
		{ "PREAD past EOF returns 0", test_past_eof },
		{ "PREAD of an empty file returns 0", test_empty },
	};

	return T_RUN(cases);
}
