// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a batch of 4 O_DIRECT and buffered writes at EOF, as
 * fstests' aio-dio-eof-race submits it: io_submit() returns 4, as every
 * program that checks "err != 4" expects.  Built static, calling the
 * system call itself: no libaio can resubmit a short count for it.
 * (With the opt-in fs.aio-syslet=2 it submits the rest itself.)
 */
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK	4096
#define NR	4
#define SEED	0x5eed00e0u
#define ROUNDS	8

/* One round: the file grows by NR blocks, odd ones O_DIRECT, even ones buffered. */
static bool round_at_eof(aio_context_t ctx, int dfd, int bfd, off_t eof, unsigned char *bufs)
{
	struct iocb cb[NR], *list[NR];
	struct io_event ev[NR];
	bool seen[NR] = { false };
	long ret;

	for (int i = 0; i < NR; i++) {
		off_t off = eof + (off_t)i * BLOCK;

		t_fill_pattern(bufs + i * BLOCK, BLOCK, SEED, off);
		t_prep_pwrite(&cb[i], i % 2 ? dfd : bfd, bufs + i * BLOCK, BLOCK, off);
		cb[i].aio_data = (uint64_t)i;
		list[i] = &cb[i];
	}
	ret = sys_io_submit(ctx, NR, list);
	if (t_kernel_has_syslet() && t_read_sysctl(T_SYSLET_SYSCTL) == 2 && ret > 0 && ret < NR) {
		/*
		 * Opt-in mode 2 returns 2007's short count when a write blocks:
		 * this program would stop here, which is why it is not the
		 * default.  Submitting the rest, as libaio patched for syslets
		 * does, completes the batch.
		 */
		long more;

		t_diag("fs.aio-syslet=2: io_submit() returned %ld of %d; submitting the rest", ret, NR);
		while (ret > 0 && ret < NR && (more = sys_io_submit(ctx, NR - ret, list + ret)) > 0)
			ret += more;
	}
	/* aio-dio-eof-race: if (err != 4) { ... "error %s during io_submit" ...; return 1; } */
	if (!T_EQ(ret, NR)) {
		t_diag("io_submit() returned %ld (%s): a program checking for 4 stops here",
		       ret, ret < 0 ? strerror(errno) : "short count");
		return false;
	}
	if (!T_EQ(t_reap(ctx, ev, NR, 10000), NR))
		return false;
	for (int k = 0; k < NR; k++) {
		uint64_t i = ev[k].data;

		if (!T_TRUE(i < NR && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(ev[k].obj, (uintptr_t)&cb[i]);
		T_EQ(ev[k].res, BLOCK);
		T_EQ(ev[k].res2, 0);
	}
	return t_result() == T_PASS;
}

static enum t_result test_eof_batches(void)
{
	unsigned char *bufs = t_aligned_alloc(BLOCK, NR * BLOCK);
	unsigned char *got = t_aligned_alloc(BLOCK, BLOCK);
	aio_context_t ctx = t_setup_ctx(NR * ROUNDS);
	char path[4096];
	struct stat st;
	int bfd, dfd;

	bfd = t_empty_file(0, path, sizeof(path));
	dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (dfd < 0) {
		unlink(path);
		close(bfd);
		free(bufs);
		free(got);
		sys_io_destroy(ctx);
		return t_skip("O_DIRECT open in %s: %s", t_test_dir(), strerror(errno));
	}
	unlink(path);
	for (int r = 0; r < ROUNDS; r++)
		if (!round_at_eof(ctx, dfd, bfd, (off_t)r * NR * BLOCK, bufs))
			break;
	if (T_EQ(fstat(bfd, &st), 0))
		T_EQ(st.st_size, (off_t)ROUNDS * NR * BLOCK);
	for (off_t off = 0; off < (off_t)ROUNDS * NR * BLOCK; off += BLOCK) {
		if (!T_EQ(pread(dfd, got, BLOCK, off), BLOCK) ||
		    !t_verify_pattern(got, BLOCK, SEED, off))
			break;
	}
	close(dfd);
	close(bfd);
	T_EQ(sys_io_destroy(ctx), 0);
	free(bufs);
	free(got);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "8 batches of 4 O_DIRECT and buffered writes at EOF: io_submit() returns 4 each, data right",
		  test_eof_batches },
	};

	return T_RUN(cases);
}
