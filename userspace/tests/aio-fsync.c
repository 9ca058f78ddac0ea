// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_CMD_FSYNC/FDSYNC complete with 0; no ->fsync or stray fields is EINVAL. */
#include "t.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEED	0x5eed000du
#define DATA	0xdeadbeefcafef00dULL

/* A PWRITE then an (F)DSYNC of the file: both events exact, the sync's aio_data echoed. */
static void check_sync(bool datasync)
{
	static unsigned char buf[8192];
	aio_context_t ctx = t_setup_ctx(2);
	int fd = t_empty_file(0, NULL, 0);
	unsigned char got[sizeof(buf)];
	struct io_event ev;
	struct iocb wcb, scb;

	t_fill_pattern(buf, sizeof(buf), SEED, 0);
	t_prep_pwrite(&wcb, fd, buf, sizeof(buf), 0);
	t_submit1(ctx, &wcb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, sizeof(buf));
	t_prep_fsync(&scb, fd, datasync);
	scb.aio_data = DATA;
	/* The sync runs from a workqueue: the event comes after io_submit returns. */
	t_submit1(ctx, &scb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.data, DATA);
		T_EQ(ev.obj, (uintptr_t)&scb);
		T_EQ(ev.res, 0);
		T_EQ(ev.res2, 0);
	}
	T_EQ(pread(fd, got, sizeof(got), 0), sizeof(got));
	T_MEM(got, buf, sizeof(buf));
	close(fd);
	sys_io_destroy(ctx);
}

static enum t_result test_fsync(void)
{
	check_sync(false);
	return t_result();
}

static enum t_result test_fdsync(void)
{
	check_sync(true);
	return t_result();
}

/* FSYNC and FDSYNC of @fd both fail io_submit with EINVAL and leave no event. */
static void check_no_fsync_op(aio_context_t ctx, int fd)
{
	struct iocb cb, *cbp = &cb;

	t_prep_fsync(&cb, fd, false);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	t_prep_fsync(&cb, fd, true);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	T_NO_EVENT(ctx, 0);
}

static enum t_result test_no_fsync_op(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	int p[2], s[2], null;

	/* Pipes, sockets and /dev/null have no ->fsync: aio_fsync() says EINVAL. */
	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s))
		t_bail("socketpair: %s", strerror(errno));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		t_bail("open /dev/null: %s", strerror(errno));
	check_no_fsync_op(ctx, p[0]);
	check_no_fsync_op(ctx, p[1]);
	check_no_fsync_op(ctx, s[0]);
	check_no_fsync_op(ctx, null);
	close(p[0]);
	close(p[1]);
	close(s[0]);
	close(s[1]);
	close(null);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_stray_fields(void)
{
	static char buf[16];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(4096, SEED, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;
	struct io_event ev;

	/* aio_fsync() takes no buffer, offset, length or RWF_* flags. */
	for (int ds = 0; ds < 2; ds++) {
		t_prep_fsync(&cb, fd, ds);
		cb.aio_buf = (uintptr_t)buf;
		T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
		t_prep_fsync(&cb, fd, ds);
		cb.aio_offset = 4096;
		T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
		t_prep_fsync(&cb, fd, ds);
		cb.aio_offset = -1;
		T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
		t_prep_fsync(&cb, fd, ds);
		cb.aio_nbytes = 1;
		T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
		t_prep_fsync(&cb, fd, ds);
		cb.aio_rw_flags = RWF_DSYNC;
		T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	}
	T_NO_EVENT(ctx, 0);
	/* The same iocb without the stray field is fine. */
	t_prep_fsync(&cb, fd, false);
	T_EQ(sys_io_submit(ctx, 1, &cbp), 1);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_readonly_fd(void)
{
	char path[4096];
	aio_context_t ctx = t_setup_ctx(1);
	int wfd = t_pattern_file(4096, SEED, 0, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct io_event ev;
	struct iocb cb;

	/* Syncing needs no write access, as with fsync(2). */
	unlink(path);
	if (fd < 0)
		t_bail("open %s: %s", path, strerror(errno));
	t_prep_fsync(&cb, fd, false);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, 0);
	t_prep_fsync(&cb, fd, true);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, 0);
	close(fd);
	close(wfd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "FSYNC after a PWRITE completes with res 0 and echoes aio_data", test_fsync },
		{ "FDSYNC after a PWRITE completes with res 0 and echoes aio_data", test_fdsync },
		{ "FSYNC/FDSYNC of a pipe, socket or /dev/null fail io_submit with EINVAL",
		  test_no_fsync_op },
		{ "FSYNC/FDSYNC with aio_buf, aio_offset, aio_nbytes or aio_rw_flags fail with EINVAL",
		  test_stray_fields },
		{ "FSYNC/FDSYNC of a read-only fd complete with res 0", test_readonly_fd },
	};

	return T_RUN(cases);
}
