// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: PWRITE appends under O_APPEND or RWF_APPEND, and RWF_DSYNC/RWF_SYNC writes land. */
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define OLD_SEED	0x5eed0008u
#define NEW_SEED	0x5eed0009u
#define OLD_SIZE	10000
#define LEN		3000

/*
 * Checks the file is the old pattern, then @len bytes of @buf at @at, and
 * @size bytes in all.
 */
static void check_file(int fd, const void *buf, size_t len, off_t at, size_t size)
{
	unsigned char *got = calloc(1, size + 1);
	struct stat st;

	if (!got)
		t_bail("calloc(%zu)", size + 1);
	if (T_EQ(fstat(fd, &st), 0))
		T_EQ(st.st_size, size);
	T_EQ(pread(fd, got, size + 1, 0), size);
	if (at > 0)
		t_verify_pattern(got, (size_t)at < OLD_SIZE ? (size_t)at : OLD_SIZE, OLD_SEED, 0);
	T_MEM(got + at, buf, len);
	if ((size_t)at + len < OLD_SIZE)
		t_verify_pattern(got + at + len, OLD_SIZE - (size_t)at - len, OLD_SEED,
				 at + (off_t)len);
	free(got);
}

/* Writes LEN new bytes at offset 0 of a fresh pattern file with @rw_flags; returns the fd. */
static int write_at_zero(int open_flags, int rw_flags, unsigned char *buf)
{
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, open_flags, NULL, 0);
	struct iocb cb;

	t_fill_pattern(buf, LEN, NEW_SEED, 0);
	t_prep_pwrite(&cb, fd, buf, LEN, 0);
	cb.aio_rw_flags = rw_flags;
	T_EQ(t_run1(ctx, &cb), LEN);
	sys_io_destroy(ctx);
	return fd;
}

static enum t_result test_o_append(void)
{
	unsigned char buf[LEN];
	int fd = write_at_zero(O_APPEND, 0, buf);

	/* aio_offset 0 is ignored: the bytes go to the old EOF. */
	check_file(fd, buf, LEN, OLD_SIZE, OLD_SIZE + LEN);
	close(fd);
	return t_result();
}

static enum t_result test_rwf_append(void)
{
	unsigned char buf[LEN];
	int fd = write_at_zero(0, RWF_APPEND, buf);

	check_file(fd, buf, LEN, OLD_SIZE, OLD_SIZE + LEN);
	close(fd);
	return t_result();
}

static enum t_result test_rwf_noappend(void)
{
	unsigned char buf[LEN];
	int fd = write_at_zero(O_APPEND, RWF_NOAPPEND, buf);

	/* RWF_NOAPPEND lifts O_APPEND for this write: it goes to aio_offset. */
	check_file(fd, buf, LEN, 0, OLD_SIZE);
	close(fd);
	return t_result();
}

static enum t_result test_rwf_dsync(void)
{
	unsigned char buf[LEN];
	int fd = write_at_zero(0, RWF_DSYNC, buf);

	check_file(fd, buf, LEN, 0, OLD_SIZE);
	close(fd);
	return t_result();
}

static enum t_result test_rwf_sync(void)
{
	unsigned char buf[LEN];
	int fd = write_at_zero(0, RWF_SYNC, buf);

	check_file(fd, buf, LEN, 0, OLD_SIZE);
	close(fd);
	return t_result();
}

static enum t_result test_append_batch(void)
{
	enum { A = 1000, B = 2345 };
	static unsigned char a[A], b[B], got[OLD_SIZE + A + B + 1];
	aio_context_t ctx = t_setup_ctx(2);
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, O_APPEND, NULL, 0);
	struct iocb cbs[2], *ptrs[2] = { &cbs[0], &cbs[1] };
	struct io_event evs[2];
	struct stat st;

	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	t_prep_pwrite(&cbs[0], fd, a, A, 0);
	t_prep_pwrite(&cbs[1], fd, b, B, 0);
	T_EQ(sys_io_submit(ctx, 2, ptrs), 2);
	if (T_EQ(t_reap(ctx, evs, 2, 10000), 2)) {
		T_EQ(evs[0].res + evs[1].res, A + B);
		T_EQ(evs[0].res2 + evs[1].res2, 0);
	}
	if (T_EQ(fstat(fd, &st), 0))
		T_EQ(st.st_size, OLD_SIZE + A + B);
	T_EQ(pread(fd, got, sizeof(got), 0), OLD_SIZE + A + B);
	t_verify_pattern(got, OLD_SIZE, OLD_SEED, 0);
	/* Each append is whole; their order is not part of the ABI. */
	if (got[OLD_SIZE] == 0x11) {
		T_MEM(got + OLD_SIZE, a, A);
		T_MEM(got + OLD_SIZE + A, b, B);
	} else {
		T_MEM(got + OLD_SIZE, b, B);
		T_MEM(got + OLD_SIZE + B, a, A);
	}
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "PWRITE at offset 0 on an O_APPEND fd appends", test_o_append },
		{ "PWRITE with RWF_APPEND on a plain fd appends", test_rwf_append },
		{ "PWRITE with RWF_NOAPPEND on an O_APPEND fd writes at aio_offset",
		  test_rwf_noappend },
		{ "PWRITE with RWF_DSYNC stores its bytes", test_rwf_dsync },
		{ "PWRITE with RWF_SYNC stores its bytes", test_rwf_sync },
		{ "two O_APPEND PWRITEs in one batch both append whole", test_append_batch },
	};

	return T_RUN(cases);
}
