// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: misaligned O_DIRECT on ext4 is submitted, then completes with res -EINVAL. */
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEED		0x5eed000cu
#define FILE_SIZE	(64u << 10)
#define ALIGN		4096

/* STATX_DIOALIGN of the test file: ext4 reports what iomap_dio_bio_iter() checks. */
static unsigned int dio_mem_align, dio_offset_align;

/* Checks through the page cache that the file is still the pattern, all FILE_SIZE of it. */
static void check_unchanged(int fd)
{
	unsigned char *got = t_aligned_alloc(ALIGN, FILE_SIZE + ALIGN);
	struct stat st;

	T_EQ(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT), 0);
	if (T_EQ(fstat(fd, &st), 0))
		T_EQ(st.st_size, FILE_SIZE);
	T_EQ(pread(fd, got, FILE_SIZE + ALIGN, 0), FILE_SIZE);
	t_verify_pattern(got, FILE_SIZE, SEED, 0);
	free(got);
}

/*
 * ext4 sends misaligned O_DIRECT to iomap_dio_rw() (no buffered fallback
 * for plain files), where iomap_dio_bio_iter() finds pos, length or a
 * buffer not aligned to the device's logical block size / DMA alignment
 * before any bio is built.  The -EINVAL is the return value of
 * ->read_iter/->write_iter, so aio_read()/aio_write() return 0 and the
 * error is the event's res: io_submit() itself succeeds.
 *
 * PREAD and PWRITE of @len at @off from @buf both fail with res -EINVAL; nothing changes.
 */
static void check_rw_einval(void *buf, size_t len, off_t off)
{
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cb;

	t_prep_pread(&cb, fd, buf, len, off);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	t_prep_pwrite(&cb, fd, buf, len, off);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	check_unchanged(fd);
	close(fd);
	sys_io_destroy(ctx);
}

static enum t_result test_buffer(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 2 * ALIGN);

	/* A queue's DMA alignment is never 1 (its mask 0 means 511): 1 byte off always fails. */
	t_fill_pattern(buf, 2 * ALIGN, SEED ^ 1, 0);
	check_rw_einval(buf + 1, ALIGN, 0);
	free(buf);
	return t_result();
}

static enum t_result test_offset(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, ALIGN);

	t_fill_pattern(buf, ALIGN, SEED ^ 1, 0);
	check_rw_einval(buf, ALIGN, 1);
	check_rw_einval(buf, ALIGN, 2 * ALIGN - 1);
	free(buf);
	return t_result();
}

static enum t_result test_length(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 2 * ALIGN);

	t_fill_pattern(buf, 2 * ALIGN, SEED ^ 1, 0);
	check_rw_einval(buf, ALIGN + 1, 0);
	check_rw_einval(buf, 1, ALIGN);
	free(buf);
	return t_result();
}

static enum t_result test_vectored(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 4 * ALIGN);
	/* Aligned in total, but each iovec must be aligned on its own. */
	struct iovec split[2] = { { buf, 100 }, { buf + 2 * ALIGN, ALIGN - 100 } };
	struct iovec shifted[2] = { { buf, ALIGN }, { buf + 2 * ALIGN + 1, ALIGN } };
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cb;

	t_prep_preadv(&cb, fd, split, 2, 0);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	t_prep_preadv(&cb, fd, shifted, 2, 0);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	t_prep_pwritev(&cb, fd, split, 2, 0);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	t_prep_pwritev(&cb, fd, shifted, 2, 0);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	check_unchanged(fd);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	return t_result();
}

static enum t_result test_extending_write(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 2 * ALIGN);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cb;

	/* Extending DIO runs under ext4's orphan handling: a failure leaves the size alone. */
	t_prep_pwrite(&cb, fd, buf, ALIGN, FILE_SIZE + 1);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	t_prep_pwrite(&cb, fd, buf, ALIGN + 1, FILE_SIZE);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	check_unchanged(fd);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	return t_result();
}

static enum t_result test_sector(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 2 * ALIGN);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	long long want;
	struct iocb cb;

	t_diag("O_DIRECT alignment: offset %u, memory %u", dio_offset_align, dio_mem_align);
	/* 512-byte offset and length: fine on 512-byte sectors, EINVAL on 4Kn. */
	want = (512 % dio_offset_align) ? -EINVAL : ALIGN + 512;
	t_prep_pread(&cb, fd, buf, ALIGN + 512, 512);
	if (T_EQ(t_run1(ctx, &cb), want) && want > 0)
		t_verify_pattern(buf, ALIGN + 512, SEED, 512);
	/* A buffer 512 bytes into a page: only the DMA alignment matters. */
	want = (512 % dio_mem_align) ? -EINVAL : ALIGN;
	t_prep_pread(&cb, fd, buf + 512, ALIGN, 0);
	if (T_EQ(t_run1(ctx, &cb), want) && want > 0)
		t_verify_pattern(buf + 512, ALIGN, SEED, 0);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	return t_result();
}

static enum t_result test_past_eof(void)
{
	unsigned char *buf = t_aligned_alloc(ALIGN, 2 * ALIGN);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_direct_file(FILE_SIZE, SEED);
	struct iocb cb;

	/*
	 * __iomap_dio_rw() returns 0 for a read starting at or past EOF before
	 * looking at alignment, and ext4 returns 0 for an empty read first.
	 */
	t_prep_pread(&cb, fd, buf + 1, ALIGN + 1, FILE_SIZE + 1);
	T_EQ(t_run1(ctx, &cb), 0);
	t_prep_pread(&cb, fd, buf + 1, 0, 1);
	T_EQ(t_run1(ctx, &cb), 0);
	/* But one starting before EOF is checked. */
	t_prep_pread(&cb, fd, buf, ALIGN, FILE_SIZE - 1);
	T_EQ(t_run1(ctx, &cb), -EINVAL);
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "O_DIRECT PREAD/PWRITE from a buffer 1 byte off completes with -EINVAL",
		  test_buffer },
		{ "O_DIRECT PREAD/PWRITE at a misaligned offset completes with -EINVAL", test_offset },
		{ "O_DIRECT PREAD/PWRITE of a misaligned length completes with -EINVAL", test_length },
		{ "O_DIRECT PREADV/PWRITEV with a misaligned iovec completes with -EINVAL",
		  test_vectored },
		{ "misaligned O_DIRECT PWRITE past EOF completes with -EINVAL, size kept",
		  test_extending_write },
		{ "O_DIRECT at 512-byte alignment follows the device's block size", test_sector },
		{ "misaligned O_DIRECT PREAD past EOF or of length 0 returns 0", test_past_eof },
	};
	unsigned long fs_type;
	struct statx stx;
	int fd = t_pattern_file(ALIGN, SEED, O_DIRECT, NULL, 0);

	if (fd < 0)
		t_skip_all("the filesystem of %s refuses O_DIRECT", t_test_dir());
	fs_type = t_fs_type(fd);
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx))
		t_bail("statx: %s", strerror(errno));
	close(fd);
	/* Other filesystems fall back to buffered I/O or align differently. */
	if (fs_type != T_EXT4_MAGIC)
		t_skip_all("%s is not ext4 (f_type 0x%lx)", t_test_dir(), fs_type);
	/*
	 * 0: ext4 does buffered I/O for this file (data=journal, verity...).
	 * Encrypted files fall back to buffered I/O when misaligned.
	 */
	if (!(stx.stx_mask & STATX_DIOALIGN) || !stx.stx_dio_offset_align ||
	    !stx.stx_dio_mem_align || (stx.stx_attributes & STATX_ATTR_ENCRYPTED))
		t_skip_all("ext4 in %s does not do plain O_DIRECT (STATX_DIOALIGN %u/%u)",
			   t_test_dir(), stx.stx_dio_offset_align, stx.stx_dio_mem_align);
	dio_mem_align = stx.stx_dio_mem_align;
	dio_offset_align = stx.stx_dio_offset_align;
	return T_RUN(cases);
}
