// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: with fs.aio-syslet 1, io_submit() returns what stock
 * returns whatever blocks: nr, or the index of the first iocb that fails
 * synchronously after a handoff; the ring fills at stock's count.
 */
#include "t.h"

#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SEED 43
#define FILE_SIZE (64 * 1024)
#define DATA 0x5c00
#define MAX_IOCBS 8

#include "syslet-helpers.h"

/* The mode these cases test, set for each and put back after. */
static long long saved_mode = -1;

static void set_mode(long long mode)
{
	int err;

	if (saved_mode < 0)
		saved_mode = t_read_sysctl(T_SYSLET_SYSCTL);
	err = t_write_sysctl(T_SYSLET_SYSCTL, mode);
	if (err)
		t_bail("write %lld to %s: %s", mode, T_SYSLET_SYSCTL, strerror(-err));
}

static void restore_mode(void)
{
	if (saved_mode >= 0 && t_write_sysctl(T_SYSLET_SYSCTL, saved_mode))
		t_bail("restore %s to %lld", T_SYSLET_SYSCTL, saved_mode);
}

/*
 * A batch: each iocb reads a page of the cached file ('f'), an empty pipe
 * that blocks until its writer fills it ('p'), a bad fd ('b'), or has an
 * invalid opcode ('o'); 'e' is a bad iocb pointer in the array.
 */
struct batch {
	aio_context_t ctx;
	bool own_ctx;
	int fd, n;
	const char *kinds;
	int p[MAX_IOCBS][2];
	char pbuf[MAX_IOCBS][8];
	unsigned char *buf[MAX_IOCBS];
	struct iocb cb[MAX_IOCBS];
	struct iocb *list[MAX_IOCBS];
	struct t_writer w[MAX_IOCBS];
};

/* A batch on @ctx, or on a context of its own when @ctx is 0. */
static void batch_init(struct batch *b, const char *kinds, aio_context_t ctx)
{
	memset(b, 0, sizeof(*b));
	b->own_ctx = !ctx;
	b->ctx = ctx ? ctx : t_setup_ctx(32);
	b->fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	/* Only the pipe read may block, in cold mode too. */
	t_cache_file(b->fd, FILE_SIZE);
	b->kinds = kinds;
	b->n = (int)strlen(kinds);
	for (int i = 0; i < b->n; i++) {
		b->p[i][0] = b->p[i][1] = -1;
		b->buf[i] = t_aligned_alloc(4096, 4096);
		switch (kinds[i]) {
		case 'p':
			if (pipe2(b->p[i], O_CLOEXEC))
				t_bail("pipe: %s", strerror(errno));
			t_prep_pread(&b->cb[i], b->p[i][0], b->pbuf[i], sizeof(b->pbuf[i]), 0);
			break;
		case 'b':
			t_prep_pread(&b->cb[i], -1, b->buf[i], 4096, 0);
			break;
		case 'o':
			t_prep_pread(&b->cb[i], b->fd, b->buf[i], 4096, 0);
			b->cb[i].aio_lio_opcode = 99;
			break;
		default:
			t_prep_pread(&b->cb[i], b->fd, b->buf[i], 4096, 4096 * i);
			break;
		}
		b->cb[i].aio_data = DATA + (uint64_t)i;
		b->list[i] = kinds[i] == 'e' ? (struct iocb *)(uintptr_t)8 : &b->cb[i];
	}
}

/* Writers for the pipe reads, which rescue them after SH_HANDOFF_MS. */
static void batch_start_writers(struct batch *b)
{
	for (int i = 0; i < b->n; i++)
		if (b->kinds[i] == 'p')
			t_writer_start(&b->w[i], b->p[i][1], "pipe", 4, SH_HANDOFF_MS);
}

/* Stops the writers; true if none had written yet (no iocb made io_submit() wait). */
static bool batch_stop_writers(struct batch *b)
{
	bool none = true;

	for (int i = 0; i < b->n; i++) {
		if (b->kinds[i] != 'p')
			continue;
		if (t_writer_stop(&b->w[i]))
			none = false;
		else if (write(b->p[i][1], "pipe", 4) != 4)
			t_bail("write: %s", strerror(errno));
	}
	return none;
}

/* Reaps the events of the first @submitted iocbs: each once, with its result. */
static void batch_check_events(struct batch *b, int submitted)
{
	struct io_event ev[MAX_IOCBS + 1];
	bool seen[MAX_IOCBS] = { false };
	struct timespec zero = { 0, 0 };
	int want = 0;

	for (int i = 0; i < submitted; i++)
		want += b->kinds[i] == 'f' || b->kinds[i] == 'p';
	if (!T_EQ(t_reap(b->ctx, ev, want, 10000), want))
		return;
	for (int k = 0; k < want; k++) {
		long long i = (long long)ev[k].data - DATA;

		if (!T_TRUE(i >= 0 && i < submitted && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(ev[k].obj, (uintptr_t)&b->cb[i]);
		T_EQ(ev[k].res2, 0);
		if (b->kinds[i] == 'p') {
			T_EQ(ev[k].res, 4);
			T_MEM(b->pbuf[i], "pipe", 4);
		} else {
			T_EQ(ev[k].res, 4096);
			T_TRUE(t_verify_pattern(b->buf[i], 4096, SEED, 4096 * i));
		}
	}
	/* Nothing else: no event for an iocb that was not submitted. */
	T_EQ(sys_io_getevents(b->ctx, 0, 1, ev, &zero), 0);
}

static void batch_free(struct batch *b)
{
	if (b->own_ctx)
		T_EQ(sys_io_destroy(b->ctx), 0);
	for (int i = 0; i < b->n; i++) {
		free(b->buf[i]);
		if (b->p[i][0] >= 0) {
			close(b->p[i][0]);
			close(b->p[i][1]);
		}
	}
	close(b->fd);
}

/*
 * Leaves @n helpers parked: each blocked read that hands off leaves its
 * former head to park once the read completes, and the empty io_submit()
 * makes the helper the next block asks for.
 */
static bool park_helpers(aio_context_t ctx, int n)
{
	struct iocb *none = NULL;

	if (!sh_warm_up(ctx))
		return false;
	for (int have = 1; have < n; have++) {
		struct batch b;
		bool ok;

		batch_init(&b, "p", ctx);
		batch_start_writers(&b);
		/* The read hands off to the parked helper; it must come back at once. */
		ok = T_EQ(sys_io_submit(ctx, 1, b.list), 1);
		T_EQ(sys_io_submit(ctx, 0, &none), 0);
		ok &= T_TRUE(sh_wait_parked(1, 5000));
		ok &= T_TRUE(batch_stop_writers(&b));
		batch_check_events(&b, 1);
		batch_free(&b);
		if (!ok || !T_TRUE(sh_wait_parked(have + 1, 5000)))
			return false;
	}
	return true;
}

/*
 * Submits the batch @kinds in mode 1 with @helpers parked; io_submit()
 * must return @want without waiting for any pipe, and the events of the
 * first @want iocbs must come, each once.
 */
static enum t_result mode1_batch(const char *kinds, int helpers, long want)
{
	struct batch b;
	long ret;
	bool waited;

	set_mode(1);
	batch_init(&b, kinds, 0);
	if (!park_helpers(b.ctx, helpers))
		goto out;
	batch_start_writers(&b);
	ret = sys_io_submit(b.ctx, b.n, b.list);
	waited = !batch_stop_writers(&b);
	if (!T_EQ(ret, want))
		t_diag("io_submit() of '%s' returned %ld%s", kinds, ret, ret < 0 ? strerror(errno) : "");
	if (!T_TRUE(!waited))
		t_diag("io_submit() waited for a pipe write: no handoff");
	if (ret > 0)
		batch_check_events(&b, (int)ret);
out:
	batch_free(&b);
	restore_mode();
	return t_result();
}

static enum t_result test_middle_blocks(void)
{
	return mode1_batch("fpf", 1, 3);
}

static enum t_result test_first_blocks(void)
{
	return mode1_batch("pff", 1, 3);
}

static enum t_result test_two_block(void)
{
	return mode1_batch("pfpf", 2, 4);
}

static enum t_result test_last_blocks(void)
{
	return mode1_batch("ffp", 1, 3);
}

static enum t_result test_bad_fd_after(void)
{
	return mode1_batch("fpbf", 1, 2);
}

static enum t_result test_bad_opcode_after(void)
{
	return mode1_batch("pof", 1, 1);
}

static enum t_result test_efault_after(void)
{
	return mode1_batch("fpef", 1, 2);
}

/*
 * A batch larger than the ring's free slots: @first_blocks makes its first
 * read wait for a pipe (mode 1), else it has data (mode 0: stock).
 * Returns io_submit()'s count; all reads of the rest are pipes with data.
 */
static long fill_ring(int mode, bool first_blocks, int *pipes)
{
	static struct iocb cb[1024];
	static struct iocb *list[1024];
	static char c[1024];
	aio_context_t ctx, warm;
	struct t_writer w;
	unsigned int size;
	int p[2], q[2];
	long ret;

	set_mode(mode);
	if (mode) {
		/* A helper parked through another context: this ring starts empty. */
		bool ok;

		warm = t_setup_ctx(16);
		ok = park_helpers(warm, 1);
		T_EQ(sys_io_destroy(warm), 0);
		if (!ok)
			return -2;
	}
	ctx = t_setup_ctx(1);
	size = t_ring_size(ctx);
	if (size + 8 > 1024)
		t_bail("a ring of %u events: this case fills at most 1016", size);
	if (pipe2(p, O_CLOEXEC) || pipe2(q, O_CLOEXEC) || fcntl(q[1], F_SETPIPE_SZ, 1 << 20) < 0)
		t_bail("pipe: %s", strerror(errno));
	/* Data for every read of the rest, from one pipe. */
	for (unsigned int i = 0; i < size + 8; i++)
		if (write(q[1], "d", 1) != 1)
			t_bail("write: %s", strerror(errno));
	if (!first_blocks && write(p[1], "d", 1) != 1)
		t_bail("write: %s", strerror(errno));
	for (unsigned int i = 0; i < size + 8; i++) {
		t_prep_pread(&cb[i], i ? q[0] : p[0], &c[i], 1, 0);
		list[i] = &cb[i];
	}
	if (first_blocks)
		t_writer_start(&w, p[1], "d", 1, SH_HANDOFF_MS);
	ret = sys_io_submit(ctx, size + 8, list);
	if (first_blocks) {
		if (t_writer_stop(&w)) {
			t_diag("io_submit() waited for the pipe: no handoff");
			ret = -3;
		} else if (write(p[1], "d", 1) != 1) {
			t_bail("write: %s", strerror(errno));
		}
	}
	*pipes = (int)size;
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	return ret;
}

static enum t_result test_ring_full(void)
{
	long stock, syslet;
	cpu_set_t old;
	int size;

	/* Free slots are handed out per CPU in batches: one CPU, same counts. */
	t_pin_to_this_cpu(&old);
	stock = fill_ring(0, false, &size);
	syslet = fill_ring(1, true, &size);
	restore_mode();
	if (sched_setaffinity(0, sizeof(old), &old))
		t_bail("sched_setaffinity: %s", strerror(errno));
	t_diag("ring of %d events: stock io_submit() took %ld of %d, syslet %ld", size, stock, size + 8, syslet);
	T_TRUE(stock > 0 && stock < size + 8);
	T_EQ(syslet, stock);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "mode 1: the middle read of 3 blocks: io_submit() returns 3 at once", test_middle_blocks },
		{ "mode 1: the first read of 3 blocks: 3, not 1", test_first_blocks },
		{ "mode 1: reads 1 and 3 of 4 block, two helpers parked: 4 at once", test_two_block },
		{ "mode 1: the last read of 3 blocks: 3", test_last_blocks },
		{ "mode 1: a bad fd after a read that blocked: its index, 2, as stock", test_bad_fd_after },
		{ "mode 1: an invalid opcode after a read that blocked: 1, as stock", test_bad_opcode_after },
		{ "mode 1: a bad iocb pointer after a read that blocked: 2 (EFAULT stops it), as stock", test_efault_after },
		{ "mode 1: a batch past the ring's free slots whose first read blocks: stock's count", test_ring_full },
	};

	t_require_syslet_exclusive();
	if (!t_is_root())
		t_skip_all("choosing fs.aio-syslet's mode needs root");
	return T_RUN(cases);
}
