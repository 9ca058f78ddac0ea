// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: which aio_rw_flags PREAD/PWRITE refuse or accept, and what the accepted do. */
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef RWF_ATOMIC
#define RWF_ATOMIC 0x40		/* uapi of 6.11 and later */
#endif

#define SEED 120
#define FILE_SIZE 8192

static long long file_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		t_bail("fstat: %s", strerror(errno));
	return st.st_size;
}

/* Submits one iocb with @flags and expects it queued with event res @res. */
static void check_res(aio_context_t ctx, struct iocb *cb, int flags, long long res)
{
	struct io_event ev;

	cb->aio_rw_flags = flags;
	if (!T_EQ(sys_io_submit(ctx, 1, &cb), 1))
		return;
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, res);
}

static void check_refused(aio_context_t ctx, struct iocb *cb, int flags, int err)
{
	cb->aio_rw_flags = flags;
	T_SUBMIT_FAILS(ctx, cb, err);
}

static enum t_result test_refused(void)
{
	/*
	 * Not in RWF_SUPPORTED of 6.12.  0x80 and 0x100 are left out: later
	 * kernels took them for RWF_DONTCACHE and RWF_NOSIGNAL.
	 */
	static const int unknown[] = { 0x200, 0x10000, 1 << 30, (int)(1U << 31) };
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
		check_refused(ctx, &cb, unknown[i], EOPNOTSUPP);
		t_prep_pwritev(&cb, fd, &iov, 1, 0);
		check_refused(ctx, &cb, unknown[i], EOPNOTSUPP);
		t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
		check_refused(ctx, &cb, unknown[i], EOPNOTSUPP);
	}
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	check_refused(ctx, &cb, RWF_APPEND | RWF_NOAPPEND, EINVAL);
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	check_refused(ctx, &cb, RWF_APPEND | RWF_NOAPPEND, EINVAL);
	/* Atomic is for writes only. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	check_refused(ctx, &cb, RWF_ATOMIC, EOPNOTSUPP);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_hipri(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	int dfd = t_pattern_file(FILE_SIZE, SEED + 1, O_DIRECT, NULL, 0);
	unsigned char *buf = t_aligned_alloc(4096, 4096);
	struct iocb cb;

	/* AIO clears IOCB_HIPRI: nobody would poll for the completion. */
	t_prep_pread(&cb, fd, buf, 512, 1024);
	check_res(ctx, &cb, RWF_HIPRI, 512);
	t_verify_pattern(buf, 512, SEED, 1024);
	if (dfd >= 0) {
		t_prep_pread(&cb, dfd, buf, 4096, 4096);
		check_res(ctx, &cb, RWF_HIPRI, 4096);
		t_verify_pattern(buf, 4096, SEED + 1, 4096);
		close(dfd);
	} else {
		t_diag("O_DIRECT is not supported in %s: buffered only", t_test_dir());
	}
	free(buf);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_nowait_cached(void)
{
	aio_context_t ctx;
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[FILE_SIZE];
	struct iocb cb;

	if (!t_fs_has_nowait(fd)) {
		close(fd);
		return t_skip("files in %s do not take RWF_NOWAIT", t_test_dir());
	}
	ctx = t_setup_ctx(4);

	/* Cached by the pread() first: NOWAIT has nothing to wait for. */
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		t_bail("pread: %s", strerror(errno));
	memset(buf, 0, sizeof(buf));
	t_prep_pread(&cb, fd, buf, 3000, 100);
	check_res(ctx, &cb, RWF_NOWAIT, 3000);
	t_verify_pattern(buf, 3000, SEED, 100);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_append_read(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iocb cb;

	/* Reads take the flags and ignore them: data comes from aio_offset. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), 2048);
	check_res(ctx, &cb, RWF_APPEND, sizeof(buf));
	t_verify_pattern(buf, sizeof(buf), SEED, 2048);
	t_prep_pread(&cb, fd, buf, sizeof(buf), 4096);
	check_res(ctx, &cb, RWF_NOAPPEND, sizeof(buf));
	t_verify_pattern(buf, sizeof(buf), SEED, 4096);
	T_EQ(file_size(fd), FILE_SIZE);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_append_write(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	char path[4096];
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, path, sizeof(path));
	int afd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	unsigned char buf[512], got[512];
	struct iocb cb;

	if (afd < 0)
		t_bail("open %s: %s", path, strerror(errno));
	unlink(path);
	/* RWF_APPEND: at end of file, whatever aio_offset says. */
	t_fill_pattern(buf, sizeof(buf), SEED + 2, 0);
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	check_res(ctx, &cb, RWF_APPEND, sizeof(buf));
	T_EQ(file_size(fd), FILE_SIZE + 512);
	if (T_EQ(pread(fd, got, sizeof(got), FILE_SIZE), sizeof(got)))
		T_MEM(got, buf, sizeof(buf));
	t_check_pattern_file(fd, FILE_SIZE, SEED);

	/* O_APPEND descriptor: at end of file too ... */
	t_fill_pattern(buf, sizeof(buf), SEED + 3, 0);
	t_prep_pwrite(&cb, afd, buf, sizeof(buf), 0);
	check_res(ctx, &cb, 0, sizeof(buf));
	T_EQ(file_size(fd), FILE_SIZE + 1024);
	if (T_EQ(pread(fd, got, sizeof(got), FILE_SIZE + 512), sizeof(got)))
		T_MEM(got, buf, sizeof(buf));

	/* ... unless RWF_NOAPPEND puts it back at aio_offset. */
	t_fill_pattern(buf, sizeof(buf), SEED + 4, 0);
	t_prep_pwrite(&cb, afd, buf, sizeof(buf), 512);
	check_res(ctx, &cb, RWF_NOAPPEND, sizeof(buf));
	T_EQ(file_size(fd), FILE_SIZE + 1024);
	if (T_EQ(pread(fd, got, sizeof(got), 512), sizeof(got)))
		T_MEM(got, buf, sizeof(buf));
	if (T_EQ(pread(fd, got, sizeof(got), 0), sizeof(got)))
		t_verify_pattern(got, sizeof(got), SEED, 0);
	if (T_EQ(pread(fd, got, sizeof(got), 1024), sizeof(got)))
		t_verify_pattern(got, sizeof(got), SEED, 1024);
	T_EQ(sys_io_destroy(ctx), 0);
	close(afd);
	close(fd);
	return t_result();
}

static enum t_result test_sync_write(void)
{
	static const int flags[] = { RWF_DSYNC, RWF_SYNC, RWF_DSYNC | RWF_SYNC | RWF_HIPRI };
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512], got[512];
	struct iocb cb;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		t_fill_pattern(buf, sizeof(buf), SEED + 10 + (unsigned int)i, 0);
		t_prep_pwrite(&cb, fd, buf, sizeof(buf), (off_t)i * 1024);
		check_res(ctx, &cb, flags[i], sizeof(buf));
		if (T_EQ(pread(fd, got, sizeof(got), (off_t)i * 1024), sizeof(got)))
			T_MEM(got, buf, sizeof(buf));
	}
	T_EQ(file_size(fd), FILE_SIZE);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "unknown rw flags fail with EOPNOTSUPP, APPEND|NOAPPEND with EINVAL",
		  test_refused },
		{ "RWF_HIPRI is accepted and ignored", test_hipri },
		{ "RWF_NOWAIT reads cached data", test_nowait_cached },
		{ "RWF_APPEND and RWF_NOAPPEND on a read change nothing", test_append_read },
		{ "RWF_APPEND writes at end of file, RWF_NOAPPEND undoes O_APPEND",
		  test_append_write },
		{ "RWF_DSYNC and RWF_SYNC writes complete with their data", test_sync_write },
	};

	return T_RUN(cases);
}
