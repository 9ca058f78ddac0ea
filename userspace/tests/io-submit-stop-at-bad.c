// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() stops a batch at the first bad iocb and counts only those before it. */
#include "t.h"

#include <fcntl.h>
#include <unistd.h>

#define SEED 140
#define FILE_SIZE 4096
#define KEY_UNTOUCHED 0x5a5a5a5aU

struct batch {
	int fd;
	struct iocb cb[4];
	struct iocb *cbp[4];
	unsigned char rbuf[3][512];
	unsigned char wbuf[512];
};

/* Three reads and, last, a write whose effect would show in the file. */
static void batch_init(struct batch *b)
{
	b->fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	memset(b->wbuf, 0xee, sizeof(b->wbuf));
	for (int i = 0; i < 3; i++)
		t_prep_pread(&b->cb[i], b->fd, b->rbuf[i], 512, 512 * i);
	t_prep_pwrite(&b->cb[3], b->fd, b->wbuf, sizeof(b->wbuf), 2048);
	for (int i = 0; i < 4; i++) {
		b->cb[i].aio_data = 1000 + (uint64_t)i;
		b->cb[i].aio_key = KEY_UNTOUCHED;
		b->cbp[i] = &b->cb[i];
	}
}

/* Exactly the first @n iocbs completed, each once, and nothing past them ran. */
static void batch_check(aio_context_t ctx, struct batch *b, int n)
{
	unsigned char data[FILE_SIZE];
	struct io_event ev[4];
	bool seen[4] = { false };

	if (n > 0 && T_EQ(t_reap(ctx, ev, n, 10000), n)) {
		for (int i = 0; i < n; i++) {
			long long k = (long long)ev[i].data - 1000;

			if (!T_TRUE(k >= 0 && k < n) || !T_TRUE(!seen[k]))
				continue;
			seen[k] = true;
			T_EQ(ev[i].res, 512);
			t_verify_pattern(b->rbuf[k], 512, SEED, 512 * k);
		}
	}
	T_EQ(t_reap(ctx, ev, 1, 200), 0);
	for (int i = n + 1; i < 4; i++)
		T_EQ(b->cb[i].aio_key, KEY_UNTOUCHED);
	if (T_EQ(pread(b->fd, data, sizeof(data), 0), sizeof(data)))
		t_verify_pattern(data, sizeof(data), SEED, 0);
	close(b->fd);
}

static enum t_result test_bad_fd_third(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct batch b;

	batch_init(&b);
	b.cb[2].aio_fildes = (uint32_t)-1;
	T_EQ(sys_io_submit(ctx, 4, b.cbp), 2);
	batch_check(ctx, &b, 2);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_bad_first(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct batch b;

	/* Nothing queued: the error of the first iocb is the call's. */
	batch_init(&b);
	b.cb[0].aio_fildes = (uint32_t)-1;
	T_ERRNO(sys_io_submit(ctx, 4, b.cbp), EBADF);
	batch_check(ctx, &b, 0);

	batch_init(&b);
	b.cb[0].aio_reserved2 = 1;
	T_ERRNO(sys_io_submit(ctx, 4, b.cbp), EINVAL);
	batch_check(ctx, &b, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_bad_opcode_second(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct batch b;

	batch_init(&b);
	b.cb[1].aio_lio_opcode = 99;
	T_EQ(sys_io_submit(ctx, 4, b.cbp), 1);
	batch_check(ctx, &b, 1);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_bad_pointer_third(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct batch b;

	batch_init(&b);
	b.cbp[2] = NULL;
	T_EQ(sys_io_submit(ctx, 4, b.cbp), 2);
	batch_check(ctx, &b, 2);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_failures_free_slots(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	/* Three times the ring: leaked slots would run it dry well before. */
	long rounds = t_ring_size(ctx) ? 3L * t_ring_size(ctx) : 3000;
	struct batch b;
	long bad = 0;

	batch_init(&b);
	for (long i = 0; i < rounds && !bad; i++) {
		struct iocb *cbp = &b.cb[0];

		b.cb[0].aio_fildes = (uint32_t)-1;
		if (!T_ERRNO(sys_io_submit(ctx, 1, &cbp), EBADF))
			bad++;
		b.cb[0].aio_fildes = (uint32_t)b.fd;
		b.cb[0].aio_lio_opcode = 99;
		if (!T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL))
			bad++;
		b.cb[0].aio_lio_opcode = IOCB_CMD_PREAD;
	}
	T_EQ(bad, 0);
	/* The ring is as empty as before: a batch of three goes in whole. */
	T_EQ(sys_io_submit(ctx, 3, b.cbp), 3);
	batch_check(ctx, &b, 3);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a bad fd at index 2 of 4: returns 2, two events, the rest not run",
		  test_bad_fd_third },
		{ "a bad first iocb fails the call with its error, nothing runs", test_bad_first },
		{ "a bad opcode at index 1 of 4: returns 1, one event", test_bad_opcode_second },
		{ "a NULL iocb pointer at index 2 of 4: returns 2, two events",
		  test_bad_pointer_third },
		{ "failed iocbs give their ring slot back", test_failures_free_slots },
	};

	return T_RUN(cases);
}
