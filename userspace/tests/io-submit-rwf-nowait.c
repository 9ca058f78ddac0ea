// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: RWF_NOWAIT reads and writes: data when ready, res -EAGAIN when they would block. */
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define SEED 130
#define FILE_SIZE (256 * 1024)

/* Submits one iocb with RWF_NOWAIT; returns the event's res (bails if it does not complete). */
static long long nowait_res(aio_context_t ctx, struct iocb *cb)
{
	struct io_event ev;

	cb->aio_rw_flags = RWF_NOWAIT;
	if (!T_EQ(sys_io_submit(ctx, 1, &cb), 1))
		return -1000000;
	if (t_reap(ctx, &ev, 1, 10000) != 1)
		t_bail("a RWF_NOWAIT request did not complete in 10 s");
	T_EQ(ev.data, cb->aio_data);
	return ev.res;
}

/* A second descriptor of a fresh pattern file, opened with just @mode. */
static int pattern_file_mode(int mode)
{
	char path[4096];
	int rdwr = t_pattern_file(FILE_SIZE, SEED, 0, path, sizeof(path));
	int fd = open(path, mode | O_CLOEXEC);

	if (fd < 0)
		t_bail("open %s: %s", path, strerror(errno));
	unlink(path);
	close(rdwr);
	return fd;
}

/*
 * RWF_NOWAIT read of data just read the plain way, so cached.  Memory
 * pressure may drop the pages again in between: on -EAGAIN, retried.
 */
static long long cached_nowait_res(aio_context_t ctx, int fd, struct iocb *cb)
{
	static unsigned char scratch[FILE_SIZE];
	long long res = -EAGAIN;

	for (int i = 0; i < 5 && res == -EAGAIN; i++) {
		if (pread(fd, scratch, FILE_SIZE, 0) != FILE_SIZE)
			t_bail("pread: %s", strerror(errno));
		res = nowait_res(ctx, cb);
	}
	return res;
}

static enum t_result test_cached(void)
{
	aio_context_t ctx;
	int fd = pattern_file_mode(O_RDONLY);
	unsigned char *buf;
	struct iovec iov[2];
	struct iocb cb;

	if (!t_fs_has_nowait(fd)) {
		close(fd);
		return t_skip("files in %s do not take RWF_NOWAIT", t_test_dir());
	}
	ctx = t_setup_ctx(4);
	buf = malloc(FILE_SIZE);
	if (!buf)
		t_bail("out of memory");
	memset(buf, 0, FILE_SIZE);
	t_prep_pread(&cb, fd, buf, FILE_SIZE, 0);
	T_EQ(cached_nowait_res(ctx, fd, &cb), FILE_SIZE);
	t_verify_pattern(buf, FILE_SIZE, SEED, 0);
	memset(buf, 0, FILE_SIZE);
	iov[0] = (struct iovec){ buf, 1000 };
	iov[1] = (struct iovec){ buf + 5000, 3000 };
	t_prep_preadv(&cb, fd, iov, 2, 70000);
	T_EQ(cached_nowait_res(ctx, fd, &cb), 4000);
	t_verify_pattern(buf, 1000, SEED, 70000);
	t_verify_pattern(buf + 5000, 3000, SEED, 71000);
	free(buf);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

/*
 * An O_DIRECT read of a range with dirty page cache has to wait for its
 * writeback, so with RWF_NOWAIT it completes with -EAGAIN whatever the
 * disk's speed.  (An uncached buffered read is no such proof: a virtual
 * disk backed by the host's page cache can finish the read's own
 * readahead before the read looks, and then the data is simply there.)
 * The flusher may clean the page in between: it is dirtied again, retried.
 */
static enum t_result test_dirty_direct(void)
{
	char path[4096];
	int rdwr = t_pattern_file(FILE_SIZE, SEED, 0, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	unsigned char page[4096], *buf;
	bool eagain = false;
	aio_context_t ctx;
	struct iocb cb;

	unlink(path);
	if (fd < 0 && errno == EINVAL) {
		close(rdwr);
		return t_skip("the filesystem of %s refuses O_DIRECT", t_test_dir());
	}
	if (fd < 0)
		t_bail("open %s O_DIRECT: %s", path, strerror(errno));
	if (!t_fs_has_nowait(fd)) {
		close(fd);
		close(rdwr);
		return t_skip("files in %s do not take RWF_NOWAIT", t_test_dir());
	}
	ctx = t_setup_ctx(4);
	buf = t_aligned_alloc(4096, sizeof(page));
	for (int i = 0; i < 20 && !eagain; i++) {
		long long res;

		/* Rewriting the same bytes dirties the page all the same. */
		if (pread(rdwr, page, sizeof(page), 0) != sizeof(page) ||
		    pwrite(rdwr, page, sizeof(page), 0) != sizeof(page))
			t_bail("rewriting page 0 of %s: %s", path, strerror(errno));
		memset(buf, 0, sizeof(page));
		t_prep_pread(&cb, fd, buf, sizeof(page), 0);
		res = nowait_res(ctx, &cb);
		eagain = res == -EAGAIN;
		if (eagain)
			break;
		/* Else written back before the read looked: the data, all of it. */
		if (!T_EQ(res, (long long)sizeof(page)) ||
		    !T_TRUE(t_verify_pattern(buf, sizeof(page), SEED, 0)))
			break;
		t_diag("page 0 was written back before the read looked, retrying");
	}
	free(buf);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	close(rdwr);
	T_TRUE(eagain);
	return t_result();
}

static enum t_result test_pipe(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	unsigned char buf[8192], data[100];
	struct iocb cb;
	int p[2], n = 0;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	/* Empty: a blocking read would stall io_submit(); NOWAIT completes with -EAGAIN. */
	t_prep_pread(&cb, p[0], buf, sizeof(buf), 0);
	T_EQ(nowait_res(ctx, &cb), -EAGAIN);
	/* With data: what is there. */
	t_fill_pattern(data, sizeof(data), SEED, 0);
	if (write(p[1], data, sizeof(data)) != (ssize_t)sizeof(data))
		t_bail("write: %s", strerror(errno));
	t_prep_pread(&cb, p[0], buf, sizeof(buf), 0);
	T_EQ(nowait_res(ctx, &cb), sizeof(data));
	T_MEM(buf, data, sizeof(data));
	/* Room to write: all of it. */
	t_prep_pwrite(&cb, p[1], data, sizeof(data), 0);
	T_EQ(nowait_res(ctx, &cb), sizeof(data));
	T_EQ(read(p[0], buf, sizeof(buf)), sizeof(data));
	/* Full: -EAGAIN. */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (write(p[1], buf, sizeof(buf)) > 0)
		n++;
	fcntl(p[1], F_SETFL, 0);
	T_TRUE(n > 0);
	t_prep_pwrite(&cb, p[1], data, sizeof(data), 0);
	T_EQ(nowait_res(ctx, &cb), -EAGAIN);
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_not_nowait_file(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = open("/dev/full", O_RDWR | O_CLOEXEC);
	struct timespec zero = { 0, 0 };
	unsigned char buf[512];
	struct iocb cb, *cbp = &cb;
	struct io_event ev;

	if (fd < 0) {
		sys_io_destroy(ctx);
		return t_skip("cannot open /dev/full: %s", strerror(errno));
	}
	/* /dev/full is not FMODE_NOWAIT: refused at submission. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_rw_flags = RWF_NOWAIT;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EOPNOTSUPP);
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_rw_flags = RWF_NOWAIT;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EOPNOTSUPP);
	T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &zero), 0);
	/* Without the flag, it reads zeros. */
	memset(buf, 0xee, sizeof(buf));
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		if (!T_EQ(buf[i], 0))
			break;
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_ext4_write(void)
{
	aio_context_t ctx;
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512], got[512];
	struct iocb cb;

	if (t_fs_type(fd) != T_EXT4_MAGIC) {
		close(fd);
		return t_skip("%s is not ext4", t_test_dir());
	}
	ctx = t_setup_ctx(4);
	/* ext4 has no non-blocking buffered write path: the event says so. */
	memset(buf, 0xee, sizeof(buf));
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	T_EQ(nowait_res(ctx, &cb), -EOPNOTSUPP);
	if (T_EQ(pread(fd, got, sizeof(got), 0), sizeof(got)))
		t_verify_pattern(got, sizeof(got), SEED, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "RWF_NOWAIT reads cached file data", test_cached },
		{ "RWF_NOWAIT O_DIRECT read over dirty page cache completes with -EAGAIN",
		  test_dirty_direct },
		{ "RWF_NOWAIT on a pipe: data or room, else -EAGAIN", test_pipe },
		{ "RWF_NOWAIT on a file without FMODE_NOWAIT fails with EOPNOTSUPP",
		  test_not_nowait_file },
		{ "RWF_NOWAIT buffered write on ext4 completes with -EOPNOTSUPP", test_ext4_write },
	};

	return T_RUN(cases);
}
