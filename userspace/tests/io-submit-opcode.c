// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() rejects unknown opcodes and bad per-opcode fields; it zeroes aio_key. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define SEED 110
#define FILE_SIZE 4096
#define KEY_GARBAGE 0xdeadbeefU

static enum t_result test_unknown(void)
{
	/* 4 was IOCB_CMD_PREADX; IOCB_CMD_NOOP (6) was never implemented. */
	static const uint16_t ops[] = { 4, IOCB_CMD_NOOP, 9, 99, 0xffff };
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
		cb.aio_lio_opcode = ops[i];
		T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	}
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_unknown_bad_fd(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	unsigned char buf[512];
	struct iocb cb, *cbp = &cb;

	/* The descriptor is looked up before the opcode is. */
	t_prep_pread(&cb, -1, buf, sizeof(buf), 0);
	cb.aio_lio_opcode = 99;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EBADF);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_fsync_fields(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cb;

	/* FSYNC and FDSYNC take no buffer, length, offset or rw flags. */
	for (int datasync = 0; datasync < 2; datasync++) {
		t_prep_fsync(&cb, fd, datasync);
		cb.aio_buf = 1;
		T_SUBMIT_FAILS(ctx, &cb, EINVAL);
		t_prep_fsync(&cb, fd, datasync);
		cb.aio_nbytes = 1;
		T_SUBMIT_FAILS(ctx, &cb, EINVAL);
		t_prep_fsync(&cb, fd, datasync);
		cb.aio_offset = 1;
		T_SUBMIT_FAILS(ctx, &cb, EINVAL);
		t_prep_fsync(&cb, fd, datasync);
		cb.aio_rw_flags = RWF_DSYNC;
		T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_poll_fields(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	struct iocb cb;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	/* The write end is ready: a valid POLL here would complete at once. */
	t_prep_poll(&cb, p[1], POLLOUT);
	cb.aio_buf |= 1ULL << 16;	/* events must fit in 16 bits */
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	t_prep_poll(&cb, p[1], POLLOUT);
	cb.aio_offset = 1;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	t_prep_poll(&cb, p[1], POLLOUT);
	cb.aio_nbytes = 1;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	t_prep_poll(&cb, p[1], POLLOUT);
	cb.aio_rw_flags = RWF_NOWAIT;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_key_zeroed(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char rbuf[512], wbuf[512];
	struct iocb cb[4], *cbp[4];
	struct io_event ev[4];
	/* read, write, fsync, and the ready events of the poll */
	const long long want[4] = { sizeof(rbuf), sizeof(wbuf), 0, POLLOUT };
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_fill_pattern(wbuf, sizeof(wbuf), SEED, 0);	/* rewrites what is there */
	t_prep_pread(&cb[0], fd, rbuf, sizeof(rbuf), 0);
	t_prep_pwrite(&cb[1], fd, wbuf, sizeof(wbuf), 0);
	t_prep_fsync(&cb[2], fd, false);
	t_prep_poll(&cb[3], p[1], POLLOUT);
	for (int i = 0; i < 4; i++) {
		cb[i].aio_key = KEY_GARBAGE;
		cbp[i] = &cb[i];
	}
	if (T_EQ(sys_io_submit(ctx, 4, cbp), 4)) {
		/* KIOCB_KEY is 0: io_cancel() later checks for it. */
		for (int i = 0; i < 4; i++)
			T_EQ(cb[i].aio_key, 0);
		if (T_EQ(t_reap(ctx, ev, 4, 10000), 4))
			for (int i = 0; i < 4; i++) {
				int k = (int)((struct iocb *)(uintptr_t)ev[i].data - cb);

				if (T_TRUE(k >= 0 && k < 4))
					T_EQ(ev[i].res, want[k]);
			}
	}
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "unknown opcodes, IOCB_CMD_NOOP too, fail with EINVAL", test_unknown },
		{ "an unknown opcode with a bad fd fails with EBADF", test_unknown_bad_fd },
		{ "FSYNC/FDSYNC with buffer, length, offset or rw flags fail with EINVAL",
		  test_fsync_fields },
		{ "POLL with wide events, offset, length or rw flags fails with EINVAL",
		  test_poll_fields },
		{ "a successful submit sets aio_key to 0 over garbage", test_key_zeroed },
	};

	return T_RUN(cases);
}
