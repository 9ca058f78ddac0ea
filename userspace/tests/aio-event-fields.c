// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_event holds aio_data, the iocb address, res and res2 = 0; errors as -errno. */
#include "t.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define SEED	0x5eed000fu

static enum t_result test_data_obj(void)
{
	enum { NR = 5 };
	static const uint64_t datas[NR] = {
		0xdeadbeefcafef00dULL, 0, ~0ULL, 1ULL << 63, 0x0123456789abcdefULL,
	};
	static unsigned char bufs[NR][512];
	aio_context_t ctx = t_setup_ctx(NR);
	int fd = t_pattern_file(65536, SEED, 0, NULL, 0);
	struct iocb *cbs[NR];
	struct io_event evs[NR];
	bool seen[NR] = { false };
	int got;

	/* Separately allocated iocbs: obj is each one's own address. */
	for (int i = 0; i < NR; i++) {
		cbs[i] = malloc(sizeof(*cbs[i]));
		if (!cbs[i])
			t_bail("malloc");
		t_prep_pread(cbs[i], fd, bufs[i], 100 + (size_t)i, (off_t)i * 1000);
		cbs[i]->aio_data = datas[i];
	}
	T_EQ(sys_io_submit(ctx, NR, cbs), NR);
	got = t_reap(ctx, evs, NR, 10000);
	T_EQ(got, NR);
	for (int e = 0; e < got; e++) {
		int i;

		for (i = 0; i < NR; i++)
			if ((uintptr_t)cbs[i] == evs[e].obj)
				break;
		if (!T_TRUE(i < NR && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(evs[e].data, datas[i]);
		T_EQ(evs[e].res, 100 + i);
		T_EQ(evs[e].res2, 0);
		t_verify_pattern(bufs[i], 100 + (size_t)i, SEED, (off_t)i * 1000);
	}
	for (int i = 0; i < NR; i++)
		free(cbs[i]);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_write_fields(void)
{
	static unsigned char buf[777];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_empty_file(0, NULL, 0);
	struct io_event ev;
	struct iocb cb;

	t_fill_pattern(buf, sizeof(buf), SEED, 0);
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_data = 0xdeadbeefcafef00dULL;
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.data, 0xdeadbeefcafef00dULL);
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, sizeof(buf));
		T_EQ(ev.res2, 0);
	}
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_aio_key(void)
{
	static unsigned char buf[64];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(4096, SEED, 0, NULL, 0);
	struct iocb cb, before;
	struct io_event ev;

	/* io_submit() stores KIOCB_KEY (0) in aio_key and changes nothing else. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_key = 0x12345678;
	before = cb;
	before.aio_key = 0;
	t_submit1(ctx, &cb);
	T_EQ(cb.aio_key, 0);
	T_MEM(&cb, &before, sizeof(cb));
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, sizeof(buf));
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_efault_res(void)
{
	long page = sysconf(_SC_PAGESIZE);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(65536, SEED, 0, NULL, 0);
	struct io_event ev;
	struct iocb cb;
	void *none;

	/*
	 * A PROT_NONE buffer passes access_ok() at submission; the copy then
	 * faults inside ->read_iter/->write_iter, so the error is the event's.
	 */
	none = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none == MAP_FAILED)
		t_bail("mmap: %s", strerror(errno));
	t_prep_pread(&cb, fd, none, (size_t)page, 0);
	cb.aio_data = 0xdeadbeefcafef00dULL;
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.data, 0xdeadbeefcafef00dULL);
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, -EFAULT);
		T_EQ(ev.res2, 0);
	}
	t_prep_pwrite(&cb, fd, none, (size_t)page, 0);
	cb.aio_data = 0xfeedfacef00dbabeULL;
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.data, 0xfeedfacef00dbabeULL);
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, -EFAULT);
		T_EQ(ev.res2, 0);
	}
	munmap(none, (size_t)page);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

static enum t_result test_negative_offset(void)
{
	static unsigned char buf[64];
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(4096, SEED, 0, NULL, 0);
	struct iocb cb, *cbp = &cb;

	/* rw_verify_area() refuses it before any I/O: io_submit fails, no event. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), -1);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), -4096);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	/* So does an end past the largest loff_t. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), INT64_MAX - 10);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	T_NO_EVENT(ctx, 0);
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "each event echoes its iocb's aio_data and address, res = bytes read",
		  test_data_obj },
		{ "a PWRITE's event has aio_data, obj, res = bytes written and res2 = 0",
		  test_write_fields },
		{ "io_submit zeroes aio_key and leaves the rest of the iocb alone", test_aio_key },
		{ "a fault on the buffer is an event with res -EFAULT and res2 0", test_efault_res },
		{ "a negative offset fails io_submit with EINVAL and posts no event",
		  test_negative_offset },
	};

	return T_RUN(cases);
}
