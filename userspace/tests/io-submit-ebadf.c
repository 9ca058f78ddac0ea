// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() fails with EBADF on bad descriptors and on the wrong access mode. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define SEED 90
#define FILE_SIZE 4096

/* A descriptor number that is surely not open. */
static int closed_fd(void)
{
	int fd = dup(0);

	if (fd < 0)
		t_bail("dup: %s", strerror(errno));
	close(fd);
	return fd;
}

static bool all_bytes(const unsigned char *buf, size_t len, unsigned char c)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != c)
			return false;
	return true;
}

static enum t_result test_no_fd(void)
{
	static const int fds[] = { -1, -2, 1 << 30 };
	aio_context_t ctx = t_setup_ctx(4);
	unsigned char buf[512];
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		t_prep_pread(&cb, fds[i], buf, sizeof(buf), 0);
		T_SUBMIT_FAILS(ctx, &cb, EBADF);
	}
	t_prep_pread(&cb, closed_fd(), buf, sizeof(buf), 0);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	t_prep_fsync(&cb, closed_fd(), false);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	t_prep_poll(&cb, closed_fd(), POLLIN);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	T_TRUE(all_bytes(buf, sizeof(buf), 0xee));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/* t_pattern_file() opens O_RDWR: a second, single-mode descriptor of the same file. */
static int reopen(int mode, int *rdwr_fd)
{
	char path[4096];
	int fd;

	*rdwr_fd = t_pattern_file(FILE_SIZE, SEED, 0, path, sizeof(path));
	fd = open(path, mode | O_CLOEXEC);
	if (fd < 0)
		t_bail("open %s: %s", path, strerror(errno));
	unlink(path);
	return fd;
}

static enum t_result test_write_read_only(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int rdwr_fd, fd = reopen(O_RDONLY, &rdwr_fd);
	unsigned char buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	t_prep_pwritev(&cb, fd, &iov, 1, 0);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	t_check_pattern_file(rdwr_fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	close(rdwr_fd);
	return t_result();
}

static enum t_result test_read_write_only(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int rdwr_fd, fd = reopen(O_WRONLY, &rdwr_fd);
	unsigned char buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	t_prep_preadv(&cb, fd, &iov, 1, 0);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	T_TRUE(all_bytes(buf, sizeof(buf), 0xee));
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	close(rdwr_fd);
	return t_result();
}

static enum t_result test_o_path(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int rdwr_fd, fd = reopen(O_PATH, &rdwr_fd);
	unsigned char buf[512];
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	/* An O_PATH descriptor is no file for I/O. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	t_prep_fsync(&cb, fd, false);
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	T_TRUE(all_bytes(buf, sizeof(buf), 0xee));
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	close(rdwr_fd);
	return t_result();
}

static enum t_result test_bad_resfd(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = (uint32_t)-1;
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	cb.aio_resfd = (uint32_t)closed_fd();
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	T_TRUE(all_bytes(buf, sizeof(buf), 0xee));
	/* Same for a write: the file stays as it was. */
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = (uint32_t)closed_fd();
	T_SUBMIT_FAILS(ctx, &cb, EBADF);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "aio_fildes -1, huge or closed fails with EBADF", test_no_fd },
		{ "PWRITE and PWRITEV on an O_RDONLY fd fail with EBADF", test_write_read_only },
		{ "PREAD and PREADV on an O_WRONLY fd fail with EBADF", test_read_write_only },
		{ "an O_PATH fd fails with EBADF", test_o_path },
		{ "IOCB_FLAG_RESFD with a closed aio_resfd fails with EBADF", test_bad_resfd },
	};

	return T_RUN(cases);
}
