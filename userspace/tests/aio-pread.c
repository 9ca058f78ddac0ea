// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_CMD_PREAD reads the file's bytes: page, odd, 1 MiB and a batch of 16. */
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

#define SEED		0x5eed0001u
#define FILE_SIZE	(2u << 20)

/* Reads @len bytes at @off through one PREAD iocb and checks the event and the data. */
static void check_pread(size_t len, off_t off)
{
	unsigned char *buf = malloc(len);
	aio_context_t ctx = t_setup_ctx(1);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct io_event ev;
	struct iocb cb;

	if (!buf)
		t_bail("malloc(%zu)", len);
	memset(buf, 0, len);
	t_prep_pread(&cb, fd, buf, len, off);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.data, (uintptr_t)&cb);
		T_EQ(ev.res, len);
		T_EQ(ev.res2, 0);
		t_verify_pattern(buf, len, SEED, off);
	}
	close(fd);
	sys_io_destroy(ctx);
	free(buf);
}

static enum t_result test_page(void)
{
	check_pread(4096, 0);
	return t_result();
}

static enum t_result test_odd(void)
{
	/* Straddles page boundaries at both ends. */
	check_pread(12345, 4095 + 2 * 4096 + 7);
	return t_result();
}

static enum t_result test_one_mib(void)
{
	check_pread(1u << 20, 1u << 19);
	return t_result();
}

static enum t_result test_batch(void)
{
	enum { NR = 16, LEN = 3000 };
	static unsigned char bufs[NR][LEN];
	aio_context_t ctx = t_setup_ctx(NR);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	struct iocb cbs[NR], *ptrs[NR];
	struct io_event evs[NR];
	bool seen[NR] = { false };
	int got;

	memset(bufs, 0, sizeof(bufs));
	for (int i = 0; i < NR; i++) {
		/* Distinct, unordered, odd offsets: a mixed-up result shows. */
		off_t off = (off_t)((i * 7) % NR) * 100003 + i;

		t_prep_pread(&cbs[i], fd, bufs[i], LEN, off);
		cbs[i].aio_data = 0x1000 + (uint64_t)i;
		ptrs[i] = &cbs[i];
	}
	T_EQ(sys_io_submit(ctx, NR, ptrs), NR);
	got = t_reap(ctx, evs, NR, 10000);
	T_EQ(got, NR);
	for (int e = 0; e < got; e++) {
		long long i = (long long)evs[e].data - 0x1000;

		if (!T_TRUE(i >= 0 && i < NR && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(evs[e].obj, (uintptr_t)&cbs[i]);
		T_EQ(evs[e].res, LEN);
		T_EQ(evs[e].res2, 0);
		t_verify_pattern(bufs[i], LEN, SEED, (off_t)cbs[i].aio_offset);
	}
	close(fd);
	sys_io_destroy(ctx);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "PREAD of 4 KiB at offset 0 returns the page", test_page },
		{ "PREAD of an odd length at an odd offset returns those bytes", test_odd },
		{ "PREAD of 1 MiB returns it whole", test_one_mib },
		{ "16 PREADs in one io_submit each return their own range", test_batch },
	};

	return T_RUN(cases);
}
