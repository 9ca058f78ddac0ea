// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: one io_submit() of every opcode at once: each event right, data right. */
#include "t.h"

#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

enum { W, R, WV, RV, FDS, POLL, NR };

static enum t_result test_mixed(void)
{
	aio_context_t ctx = t_setup_ctx(32);
	int fd = t_pattern_file(64 * 1024, 3, 0, NULL, 0);
	char *wbuf = t_aligned_alloc(4096, 4096), *rbuf = t_aligned_alloc(4096, 4096);
	char *v[4];
	struct iovec wiov[2], riov[2];
	struct iocb cbs[NR], *list[NR];
	struct io_event ev[NR];
	int pfd[2];
	bool seen[NR] = { false };

	if (pipe(pfd))
		t_bail("pipe: %s", strerror(errno));
	if (write(pfd[1], "x", 1) != 1)
		t_bail("write to pipe: %s", strerror(errno));
	for (int i = 0; i < 4; i++)
		v[i] = t_aligned_alloc(64, 1000);
	/* Written regions take the pattern of seed 5: the rest stays seed 3. */
	t_fill_pattern(wbuf, 4096, 5, 0);
	t_fill_pattern(v[0], 1000, 5, 8192);
	t_fill_pattern(v[1], 1000, 5, 9192);
	wiov[0] = (struct iovec){ v[0], 1000 };
	wiov[1] = (struct iovec){ v[1], 1000 };
	riov[0] = (struct iovec){ v[2], 1000 };
	riov[1] = (struct iovec){ v[3], 1000 };
	t_prep_pwrite(&cbs[W], fd, wbuf, 4096, 0);
	t_prep_pread(&cbs[R], fd, rbuf, 4096, 16384);
	t_prep_pwritev(&cbs[WV], fd, wiov, 2, 8192);
	t_prep_preadv(&cbs[RV], fd, riov, 2, 32768);
	t_prep_fsync(&cbs[FDS], fd, true);
	t_prep_poll(&cbs[POLL], pfd[0], POLLIN);
	for (int i = 0; i < NR; i++) {
		cbs[i].aio_data = 0x5000 + (uint64_t)i;
		list[i] = &cbs[i];
	}
	T_EQ(sys_io_submit(ctx, NR, list), NR);
	T_EQ(t_reap(ctx, ev, NR, 10000), NR);
	for (int i = 0; i < NR; i++) {
		long long k = (long long)ev[i].data - 0x5000;

		if (!T_TRUE(k >= 0 && k < NR && !seen[k]))
			continue;
		seen[k] = true;
		T_EQ(ev[i].obj, (uintptr_t)&cbs[k]);
		T_EQ(ev[i].res2, 0);
		switch (k) {
		case W:
		case R:
			T_EQ(ev[i].res, 4096);
			break;
		case WV:
		case RV:
			T_EQ(ev[i].res, 2000);
			break;
		case FDS:
			T_EQ(ev[i].res, 0);
			break;
		case POLL:
			T_EQ(ev[i].res, POLLIN);
			break;
		}
	}
	T_TRUE(t_verify_pattern(rbuf, 4096, 3, 16384));
	T_TRUE(t_verify_pattern(v[2], 1000, 3, 32768));
	T_TRUE(t_verify_pattern(v[3], 1000, 3, 33768));
	if (pread(fd, rbuf, 4096, 0) != 4096)
		t_bail("pread: %s", strerror(errno));
	T_TRUE(t_verify_pattern(rbuf, 4096, 5, 0));
	if (pread(fd, rbuf, 2000, 8192) != 2000)
		t_bail("pread: %s", strerror(errno));
	T_TRUE(t_verify_pattern(rbuf, 2000, 5, 8192));
	T_EQ(sys_io_destroy(ctx), 0);
	for (int i = 0; i < 4; i++)
		free(v[i]);
	free(wbuf);
	free(rbuf);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "PWRITE, PREAD, PWRITEV, PREADV, FDSYNC and POLL in one batch", test_mixed },
	};

	return T_RUN(cases);
}
