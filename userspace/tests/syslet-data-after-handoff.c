// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: after many handoffs in a row every event arrives once with its data, and writes land right. */
#include "t.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SEED 23
#define WSEED 77
#define FILE_SIZE (1024 * 1024)
#define ITERATIONS 50
#define NR_FREAD 4

#include "syslet-helpers.h"

/* Reads exactly @len bytes from the pipe @fd, waiting at most 5 s for each part. */
static bool read_pipe(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) != 1) {
			t_diag("pipe: %zu of %zu bytes after 5 s", got, len);
			return false;
		}
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			t_bail("read pipe: %s", n ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
	return true;
}

static off_t read_offset(int i, int k)
{
	/* Distinct, unaligned and spread over the file: 200 reads below 1 MiB - 4 KiB. */
	return (off_t)(i * NR_FREAD + k) * 5000 + 123;
}

/* One round: [pipe read, 4 file reads], the pipe read at @pos; false on a failure. */
static bool round_trip(aio_context_t ctx, int fd, int p[2], unsigned char **buf, int i, int pos)
{
	struct iocb cb[NR_FREAD + 1], *list[NR_FREAD + 1];
	struct io_event ev[NR_FREAD + 2];
	bool seen[NR_FREAD + 1] = { false };
	char msg[9], pbuf[16] = { 0 };
	struct t_writer w;
	long ret = 0, ret2 = 0;
	int slot = 0, failed_before = t_result() == T_FAIL;

	snprintf(msg, sizeof(msg), "i%03d-ok!", i);
	for (int k = 0; k < NR_FREAD + 1; k++) {
		if (k == pos) {
			t_prep_pread(&cb[k], p[0], pbuf, sizeof(pbuf), 0);
		} else {
			memset(buf[slot], 0, 4096);
			t_prep_pread(&cb[k], fd, buf[slot], 4096, read_offset(i, slot));
			slot++;
		}
		cb[k].aio_data = ((uint64_t)i << 8) | (uint64_t)k;
		list[k] = &cb[k];
	}
	/* A helper for this round: made by an empty io_submit() if the last handoff used it. */
	T_EQ(sys_io_submit(ctx, 0, list), 0);
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		goto out;
	t_writer_start(&w, p[1], msg, 8, SH_HANDOFF_MS);
	ret = sys_io_submit(ctx, NR_FREAD + 1, list);
	/* Mode 2 counts up to the read that blocked; mode 1 goes on, as stock. */
	T_EQ(ret, t_read_sysctl(T_SYSLET_SYSCTL) == 2 ? pos + 1 : NR_FREAD + 1);
	T_EQ(atomic_load(&w.wrote_us), 0);
	/* As fio does: submit what was not taken, from the helper now running us. */
	if (ret > 0 && ret < NR_FREAD + 1) {
		ret2 = sys_io_submit(ctx, NR_FREAD + 1 - ret, list + ret);
		T_EQ(ret2, NR_FREAD + 1 - ret);
	}
	/* The file reads complete; the pipe read waits for the data. */
	T_EQ(t_reap(ctx, ev, NR_FREAD, 5000), NR_FREAD);
	if (t_writer_stop(&w) == 0 && write(p[1], msg, 8) != 8)
		t_bail("write: %s", strerror(errno));
	T_EQ(t_reap(ctx, ev + NR_FREAD, 1, 5000), 1);
	/* Exactly once each: nothing more comes. */
	T_EQ(t_reap(ctx, ev + NR_FREAD + 1, 1, 20), 0);
	for (int e = 0; e < NR_FREAD + 1; e++) {
		uint64_t k = ev[e].data & 0xff;

		if (!T_EQ(ev[e].data >> 8, i) || !T_TRUE(k <= NR_FREAD && !seen[k]))
			continue;
		seen[k] = true;
		T_EQ(ev[e].obj, (uintptr_t)&cb[k]);
		T_EQ(ev[e].res, (int)k == pos ? 8 : 4096);
		T_EQ(ev[e].res2, 0);
		/* The pipe's event comes last: only the write let it complete. */
		if ((int)k == pos)
			T_EQ(e, NR_FREAD);
	}
	T_MEM(pbuf, msg, 9);
	for (int s = 0; s < NR_FREAD; s++)
		T_TRUE(t_verify_pattern(buf[s], 4096, SEED, read_offset(i, s)));
out:
	if (t_result() == T_FAIL && !failed_before)
		t_diag("round %d, pipe read at %d: submitted %ld then %ld", i, pos, ret, ret2);
	return t_result() != T_FAIL;
}

static enum t_result test_rounds(void)
{
	aio_context_t ctx = t_setup_ctx(32);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char *buf[NR_FREAD];
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	for (int s = 0; s < NR_FREAD; s++)
		buf[s] = t_aligned_alloc(4096, 4096);
	if (sh_warm_up(ctx)) {
		/* The pipe read moves through every position of the batch. */
		for (int i = 0; i < ITERATIONS; i++)
			if (!round_trip(ctx, fd, p, buf, i, i % (NR_FREAD + 1)))
				break;
	}
	if (write(p[1], "........", 8) != 8)
		t_bail("write: %s", strerror(errno));
	T_EQ(sys_io_destroy(ctx), 0);
	for (int s = 0; s < NR_FREAD; s++)
		free(buf[s]);
	close(p[0]);
	close(p[1]);
	close(fd);
	return t_result();
}

static enum t_result test_pwrite_after_handoff(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	int fd = t_pattern_file(64 * 1024, SEED, 0, NULL, 0);
	unsigned char *wbuf = t_aligned_alloc(4096, 4096), *rbuf = t_aligned_alloc(4096, 64 * 1024);
	int p[2], rounds = 0;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		goto out;
	/* Each round's write goes to region i (3000 bytes at i * 8192 + 100), after a handoff. */
	for (int i = 0; i < 8; i++, rounds++) {
		off_t off = (off_t)i * 8192 + 100;
		struct iocb cb[2], *list[2] = { &cb[0], &cb[1] };
		struct io_event ev[2];
		struct t_writer w;
		char c = 0;
		long ret;

		t_fill_pattern(wbuf, 3000, WSEED, off);
		t_prep_pread(&cb[0], p[0], &c, 1, 0);
		t_prep_pwrite(&cb[1], fd, wbuf, 3000, off);
		T_EQ(sys_io_submit(ctx, 0, list), 0);
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		t_writer_start(&w, p[1], "p", 1, SH_HANDOFF_MS);
		ret = sys_io_submit(ctx, 2, list);
		T_EQ(ret, t_read_sysctl(T_SYSLET_SYSCTL) == 2 ? 1 : 2);
		T_EQ(atomic_load(&w.wrote_us), 0);
		if (ret == 1)
			T_EQ(sys_io_submit(ctx, 1, list + 1), 1);
		if (T_EQ(t_reap(ctx, ev, 1, 5000), 1)) {
			T_EQ(ev[0].obj, (uintptr_t)&cb[1]);
			T_EQ(ev[0].res, 3000);
		}
		if (t_writer_stop(&w) == 0 && write(p[1], "p", 1) != 1)
			t_bail("write: %s", strerror(errno));
		if (T_EQ(t_reap(ctx, ev, 1, 5000), 1)) {
			T_EQ(ev[0].obj, (uintptr_t)&cb[0]);
			T_EQ(ev[0].res, 1);
			T_EQ(c, 'p');
		}
		if (t_result() == T_FAIL)
			break;
	}
	/* Read back: the written regions hold WSEED's pattern, the rest is untouched. */
	if (pread(fd, rbuf, 64 * 1024, 0) != 64 * 1024)
		t_bail("pread: %s", strerror(errno));
	for (int i = 0; i < 8; i++) {
		off_t off = (off_t)i * 8192;

		if (i >= rounds) {
			T_TRUE(t_verify_pattern(rbuf + off, 8192, SEED, off));
			continue;
		}
		T_TRUE(t_verify_pattern(rbuf + off, 100, SEED, off));
		T_TRUE(t_verify_pattern(rbuf + off + 100, 3000, WSEED, off + 100));
		T_TRUE(t_verify_pattern(rbuf + off + 3100, 8192 - 3100, SEED, off + 3100));
	}
out:
	if (write(p[1], "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	T_EQ(sys_io_destroy(ctx), 0);
	free(wbuf);
	free(rbuf);
	close(p[0]);
	close(p[1]);
	close(fd);
	return t_result();
}

/*
 * Rescues a write blocked on a full pipe that did not hand off:
 * drains @len bytes after SH_HANDOFF_MS.
 */
struct drainer {
	pthread_t thread;
	int fd;
	size_t len;
	int stop[2];
	_Atomic long long drained_us;	/* when it began draining; 0 if it did not */
};

static void *drainer_fn(void *arg)
{
	struct drainer *d = arg;
	struct pollfd p = { .fd = d->stop[0], .events = POLLIN };
	char scratch[4096];
	int ret = poll(&p, 1, SH_HANDOFF_MS);

	if (ret < 0)
		t_bail("drainer: poll: %s", strerror(errno));
	if (ret > 0)
		return NULL;
	atomic_store(&d->drained_us, t_now_us());
	for (size_t got = 0; got < d->len; ) {
		ssize_t n = read(d->fd, scratch, sizeof(scratch));

		if (n <= 0)
			t_bail("drainer: read: %s", n ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
	return NULL;
}

static enum t_result test_pwrite_handed_off(void)
{
	enum { LEN = 16384 };
	aio_context_t ctx = t_setup_ctx(16);
	unsigned char *wbuf = t_aligned_alloc(4096, LEN), *rbuf = t_aligned_alloc(4096, LEN);
	struct iocb cb, *list = &cb;
	struct drainer d = { .len = 4096 + LEN };
	struct io_event ev;
	char fill[4096];
	int p[2], fl, err;
	long ret;

	if (pipe2(p, O_CLOEXEC) || pipe2(d.stop, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		goto out;
	/* A one-page pipe, full: the write blocks until the reader drains it. */
	if (fcntl(p[1], F_SETPIPE_SZ, 4096) < 0)
		t_bail("F_SETPIPE_SZ: %s", strerror(errno));
	fl = fcntl(p[1], F_GETFL);
	if (fl < 0 || fcntl(p[1], F_SETFL, fl | O_NONBLOCK))
		t_bail("O_NONBLOCK: %s", strerror(errno));
	memset(fill, 'f', sizeof(fill));
	while (write(p[1], fill, sizeof(fill)) > 0)
		;
	if (errno != EAGAIN || fcntl(p[1], F_SETFL, fl))
		t_bail("filling the pipe: %s", strerror(errno));
	t_fill_pattern(wbuf, LEN, WSEED, 0);
	t_prep_pwrite(&cb, p[1], wbuf, LEN, 0);
	d.fd = p[0];
	atomic_store(&d.drained_us, 0);
	err = pthread_create(&d.thread, NULL, drainer_fn, &d);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
	ret = sys_io_submit(ctx, 1, &list);
	/* Nobody drained the pipe before io_submit() returned: it handed off. */
	T_EQ(ret, 1);
	T_EQ(atomic_load(&d.drained_us), 0);
	if (write(d.stop[1], "s", 1) != 1)
		t_bail("write: %s", strerror(errno));
	pthread_join(d.thread, NULL);
	if (atomic_load(&d.drained_us) || ret != 1)
		goto out;
	T_EQ(t_reap(ctx, &ev, 1, 100), 0);
	/* The user context goes on; the blocked write finishes as the pipe drains. */
	if (T_TRUE(read_pipe(p[0], rbuf, sizeof(fill))))
		T_MEM(rbuf, fill, sizeof(fill));
	if (T_TRUE(read_pipe(p[0], rbuf, LEN)))
		T_TRUE(t_verify_pattern(rbuf, LEN, WSEED, 0));
	if (T_EQ(t_reap(ctx, &ev, 1, 5000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, LEN);
		T_EQ(ev.res2, 0);
	}
out:
	T_EQ(sys_io_destroy(ctx), 0);
	free(wbuf);
	free(rbuf);
	close(d.stop[0]);
	close(d.stop[1]);
	close(p[0]);
	close(p[1]);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "50 rounds of [pipe read, 4 file reads]: each event once, with its data", test_rounds },
		{ "a PWRITE submitted after each of 8 handoffs lands right", test_pwrite_after_handoff },
		{ "a PWRITE that blocks on a full pipe hands off and its data arrives intact", test_pwrite_handed_off },
	};

	t_require_syslet();
	return T_RUN(cases);
}
