// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_CMD_PWRITE stores exactly its bytes, extends the file and leaves zero holes. */
#include "t.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define OLD_SEED	0x5eed0002u
#define NEW_SEED	0x5eed0003u
#define OLD_SIZE	65536

/* Writes @len bytes of the @seed pattern at @off through one PWRITE iocb. */
static void aio_pwrite_seed(int fd, size_t len, off_t off, unsigned int seed)
{
	unsigned char *buf = malloc(len);
	aio_context_t ctx = t_setup_ctx(1);
	struct io_event ev;
	struct iocb cb;

	if (!buf)
		t_bail("malloc(%zu)", len);
	t_fill_pattern(buf, len, seed, off);
	t_prep_pwrite(&cb, fd, buf, len, off);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, len);
		T_EQ(ev.res2, 0);
	}
	sys_io_destroy(ctx);
	free(buf);
}

static void aio_pwrite(int fd, size_t len, off_t off)
{
	aio_pwrite_seed(fd, len, off, NEW_SEED);
}

static enum t_result test_inside(void)
{
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);

	aio_pwrite(fd, 5001, 4093);
	t_check_overwritten(fd, OLD_SIZE, OLD_SEED, OLD_SIZE, NEW_SEED, 4093, 5001);
	close(fd);
	return t_result();
}

static enum t_result test_across_eof(void)
{
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);

	aio_pwrite(fd, 20, OLD_SIZE - 10);
	t_check_overwritten(fd, OLD_SIZE + 10, OLD_SEED, OLD_SIZE, NEW_SEED, OLD_SIZE - 10, 20);
	close(fd);
	return t_result();
}

static enum t_result test_past_eof(void)
{
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);

	/* [OLD_SIZE, 200003) becomes a hole that reads as zeros. */
	aio_pwrite(fd, 777, 200003);
	t_check_overwritten(fd, 200003 + 777, OLD_SEED, OLD_SIZE, NEW_SEED, 200003, 777);
	close(fd);
	return t_result();
}

static enum t_result test_empty_file(void)
{
	int fd = t_empty_file(0, NULL, 0);

	aio_pwrite(fd, 1u << 20, 0);
	t_check_overwritten(fd, 1u << 20, OLD_SEED, 0, NEW_SEED, 0, 1u << 20);
	close(fd);
	return t_result();
}

static enum t_result test_sequence(void)
{
	unsigned char want[16384] = { 0 }, got[16384 + 1];
	int fd = t_empty_file(0, NULL, 0);
	struct stat st;

	/* Later writes land on top of earlier ones; the largest end is the size. */
	aio_pwrite_seed(fd, 8192, 8192, NEW_SEED);
	aio_pwrite_seed(fd, 100, 0, NEW_SEED);
	aio_pwrite_seed(fd, 3, 9000, OLD_SEED);
	t_fill_pattern(want, 100, NEW_SEED, 0);
	t_fill_pattern(want + 8192, 8192, NEW_SEED, 8192);
	t_fill_pattern(want + 9000, 3, OLD_SEED, 9000);
	if (T_EQ(fstat(fd, &st), 0))
		T_EQ(st.st_size, sizeof(want));
	T_EQ(pread(fd, got, sizeof(got), 0), sizeof(want));
	T_MEM(got, want, sizeof(want));
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "PWRITE inside the file replaces exactly its bytes", test_inside },
		{ "PWRITE across EOF extends the file to its end", test_across_eof },
		{ "PWRITE past EOF extends the file and leaves a hole of zeros", test_past_eof },
		{ "PWRITE of 1 MiB into an empty file stores it whole", test_empty_file },
		{ "PWRITEs one after another keep every byte", test_sequence },
	};

	return T_RUN(cases);
}
