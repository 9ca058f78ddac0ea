// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: aligned O_DIRECT PREAD/PWRITE/PREADV complete with the right bytes and res. */
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEED		0x5eed000au
#define NEW_SEED	0x5eed000bu
#define FILE_SIZE	(256u << 10)
#define ALIGN		4096	/* a multiple of any usual logical block size */

static enum t_result test_read(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 16 * ALIGN);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cb;

	t_prep_pread(&cb, fd, buf, 16 * ALIGN, 3 * ALIGN);
	T_EQ(t_run1(ctx, &cb), 16 * ALIGN);
	t_verify_pattern(buf, 16 * ALIGN, SEED, 3 * ALIGN);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	return t_result();
}

static enum t_result test_write(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 2 * ALIGN);
	unsigned char *got = t_aligned_alloc(ALIGN, FILE_SIZE);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cb;
	int fl;

	t_fill_pattern(buf, 2 * ALIGN, NEW_SEED, 5 * ALIGN);
	t_prep_pwrite(&cb, fd, buf, 2 * ALIGN, 5 * ALIGN);
	T_EQ(t_run1(ctx, &cb), 2 * ALIGN);
	/* Read back through the page cache: clear O_DIRECT on the fd. */
	fl = fcntl(fd, F_GETFL);
	T_EQ(fcntl(fd, F_SETFL, fl & ~O_DIRECT), 0);
	T_EQ(pread(fd, got, FILE_SIZE, 0), FILE_SIZE);
	t_verify_pattern(got, 5 * ALIGN, SEED, 0);
	t_verify_pattern(got + 5 * ALIGN, 2 * ALIGN, NEW_SEED, 5 * ALIGN);
	t_verify_pattern(got + 7 * ALIGN, FILE_SIZE - 7 * ALIGN, SEED, 7 * ALIGN);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	free(got);
	return t_result();
}

static enum t_result test_extend(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, ALIGN);
	unsigned char *got = t_aligned_alloc(ALIGN, 4 * ALIGN);
	unsigned char zero[ALIGN] = { 0 };
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(2 * ALIGN, SEED);
	struct stat st;
	struct iocb cb;

	/* One block past EOF: the file grows and the block between is a hole. */
	t_fill_pattern(buf, ALIGN, NEW_SEED, 3 * ALIGN);
	t_prep_pwrite(&cb, fd, buf, ALIGN, 3 * ALIGN);
	T_EQ(t_run1(ctx, &cb), ALIGN);
	if (T_EQ(fstat(fd, &st), 0))
		T_EQ(st.st_size, 4 * ALIGN);
	T_EQ(pread(fd, got, 4 * ALIGN, 0), 4 * ALIGN);
	t_verify_pattern(got, 2 * ALIGN, SEED, 0);
	T_MEM(got + 2 * ALIGN, zero, ALIGN);
	t_verify_pattern(got + 3 * ALIGN, ALIGN, NEW_SEED, 3 * ALIGN);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	free(got);
	return t_result();
}

static enum t_result test_read_eof(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 4 * ALIGN);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(2 * ALIGN + 100, SEED);
	struct iocb cb;

	/* The aligned request runs past an unaligned EOF: res stops at EOF. */
	t_prep_pread(&cb, fd, buf, 4 * ALIGN, ALIGN);
	T_EQ(t_run1(ctx, &cb), ALIGN + 100);
	t_verify_pattern(buf, ALIGN + 100, SEED, ALIGN);
	t_prep_pread(&cb, fd, buf, ALIGN, 4 * ALIGN);
	T_EQ(t_run1(ctx, &cb), 0);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	return t_result();
}

static enum t_result test_preadv(void)
{
	unsigned char *a = t_aligned_alloc(ALIGN, ALIGN), *b = t_aligned_alloc(ALIGN, 3 * ALIGN);
	struct iovec iov[2] = { { a, ALIGN }, { b, 3 * ALIGN } };
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cb;

	t_prep_preadv(&cb, fd, iov, 2, 10 * ALIGN);
	T_EQ(t_run1(ctx, &cb), 4 * ALIGN);
	t_verify_pattern(a, ALIGN, SEED, 10 * ALIGN);
	t_verify_pattern(b, 3 * ALIGN, SEED, 11 * ALIGN);
	close(fd);
	sys_io_destroy(ctx);
	free(a);
	free(b);
	return t_result();
}

static enum t_result test_batch(void)
{
	enum { NR = 8 };
	unsigned char *bufs[NR];
	aio_context_t ctx = t_setup_ctx(NR);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cbs[NR], *ptrs[NR];
	struct io_event evs[NR];
	bool seen[NR] = { false };
	int got;

	for (int i = 0; i < NR; i++) {
		bufs[i] = t_aligned_alloc(ALIGN, 2 * ALIGN);
		t_prep_pread(&cbs[i], fd, bufs[i], 2 * ALIGN, (off_t)((i * 5) % NR) * 7 * ALIGN);
		cbs[i].aio_data = 0x2000 + (uint64_t)i;
		ptrs[i] = &cbs[i];
	}
	T_EQ(sys_io_submit(ctx, NR, ptrs), NR);
	got = t_reap(ctx, evs, NR, 10000);
	T_EQ(got, NR);
	for (int e = 0; e < got; e++) {
		long long i = (long long)evs[e].data - 0x2000;

		if (!T_TRUE(i >= 0 && i < NR && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(evs[e].obj, (uintptr_t)&cbs[i]);
		T_EQ(evs[e].res, 2 * ALIGN);
		T_EQ(evs[e].res2, 0);
		t_verify_pattern(bufs[i], 2 * ALIGN, SEED, (off_t)cbs[i].aio_offset);
	}
	for (int i = 0; i < NR; i++)
		free(bufs[i]);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "aligned O_DIRECT PREAD returns the file's bytes", test_read },
		{ "aligned O_DIRECT PWRITE is seen by a buffered read", test_write },
		{ "aligned O_DIRECT PWRITE past EOF extends the file over a hole", test_extend },
		{ "aligned O_DIRECT PREAD across EOF stops at EOF, at EOF returns 0", test_read_eof },
		{ "aligned O_DIRECT PREADV scatters the bytes", test_preadv },
		{ "8 O_DIRECT PREADs in one batch all complete with their data", test_batch },
	};
	int fd = t_pattern_file(ALIGN, SEED, O_DIRECT, NULL, 0);

	if (fd < 0)
		t_skip_all("the filesystem of %s refuses O_DIRECT", t_test_dir());
	close(fd);
	return T_RUN(cases);
}
