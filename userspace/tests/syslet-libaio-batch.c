// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: libaio's io_submit() returns nr for a batch whose reads each hand off; the kernel's own count is 1. */
#define T_LIBAIO
#include "t.h"
#include "syslet-threads.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* Reads in the batch, each on its own empty pipe. */
#define K		4

struct pipes {
	int fd[K][2];
	char buf[K];
	struct iocb cb[K];
	struct iocb *list[K];
	int stop[2];
	pthread_t rescuer;
	int rescue_ms;
	int rescued;
};

static void *rescue(void *arg)
{
	struct pipes *p = arg;
	struct pollfd pf = { .fd = p->stop[0], .events = POLLIN };

	if (poll(&pf, 1, p->rescue_ms) == 0) {
		__atomic_store_n(&p->rescued, 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < K && p->fd[i][1] >= 0; i++)
			if (write(p->fd[i][1], "R", 1) != 1)
				t_bail("rescuer: write: %s", strerror(errno));
	}
	return NULL;
}

/* @n empty pipes, a PREAD of each, and a rescuer that writes them after @rescue_ms. */
static void pipes_start(struct pipes *p, int n, int rescue_ms)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->rescue_ms = rescue_ms;
	for (int i = 0; i < n; i++) {
		if (pipe2(p->fd[i], O_CLOEXEC))
			t_bail("pipe2: %s", strerror(errno));
		io_prep_pread(&p->cb[i], p->fd[i][0], &p->buf[i], 1, 0);
		p->cb[i].data = &p->buf[i];
		p->list[i] = &p->cb[i];
	}
	for (int i = n; i < K; i++)
		p->fd[i][0] = p->fd[i][1] = -1;
	if (pipe2(p->stop, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	err = pthread_create(&p->rescuer, NULL, rescue, p);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
}

/* Stops the rescuer; true if it had to write the pipes. */
static bool pipes_stop_rescuer(struct pipes *p)
{
	if (write(p->stop[1], "s", 1) != 1)
		t_bail("write: %s", strerror(errno));
	pthread_join(p->rescuer, NULL);
	close(p->stop[0]);
	close(p->stop[1]);
	return __atomic_load_n(&p->rescued, __ATOMIC_SEQ_CST);
}

/* Writes "c" to the first @n pipes (unless rescued) and reaps their @n events, checked. */
static bool pipes_finish(io_context_t ctx, struct pipes *p, int n, bool rescued)
{
	struct timespec zero = { 0, 0 };
	struct io_event ev[K];
	char want = rescued ? 'R' : 'c';
	bool ok = true;
	int got;

	for (int i = 0; i < n && !rescued; i++)
		if (write(p->fd[i][1], "c", 1) != 1)
			t_bail("write: %s", strerror(errno));
	got = t_libaio_reap(ctx, ev, n, 5000);
	ok &= T_EQ(got, n);
	for (int i = 0; i < got; i++) {
		char *b = ev[i].data;

		ok &= T_EQ(ev[i].res, 1);
		ok &= T_TRUE(b >= p->buf && b < p->buf + n);
		ok &= T_EQ(*b, want);
	}
	ok &= T_EQ(io_getevents(ctx, 0, K, ev, &zero), 0);
	for (int i = 0; i < K; i++) {
		if (p->fd[i][0] >= 0) {
			close(p->fd[i][0]);
			close(p->fd[i][1]);
		}
	}
	return ok;
}

/*
 * Leaves at least K helpers parked.  A read that finds no helper runs
 * synchronously and makes the pool want one, which the next io_submit()
 * makes; so K reads handed off one by one, each after an empty
 * io_submit(), leave K former callers blocked, which park once the reads
 * complete.
 */
static bool fill_pool(io_context_t ctx)
{
	struct pipes p;
	bool ok = true;

	/* The first block finds no helper: synchronous, until the rescuer writes. */
	pipes_start(&p, 1, 50);
	ok &= T_EQ(io_submit(ctx, 1, p.list), 1);
	ok &= pipes_finish(ctx, &p, 1, pipes_stop_rescuer(&p));

	pipes_start(&p, K, SH_HANDOFF_MS * K);
	for (int i = 0; ok && i < K; i++) {
		ok &= T_EQ(io_submit(ctx, 0, NULL), 0) && sh_wait_parked(1, SH_PARK_MS);
		ok &= T_EQ(io_submit(ctx, 1, &p.list[i]), 1);
		if (__atomic_load_n(&p.rescued, __ATOMIC_SEQ_CST)) {
			t_diag("warm-up read %d did not hand off", i);
			ok = false;
		}
	}
	ok &= pipes_finish(ctx, &p, K, pipes_stop_rescuer(&p));
	return ok && sh_wait_parked(K, SH_PARK_MS);
}

static enum t_result run_batch(bool once)
{
	io_context_t ctx = 0;
	struct timespec zero = { 0, 0 };
	struct io_event ev;
	struct pipes p;
	bool rescued;
	int ret, err;

	err = io_queue_init(64, &ctx);
	if (err)
		t_bail("io_queue_init: %s", strerror(-err));
	if (!fill_pool(ctx))
		goto out;
	pipes_start(&p, K, SH_HANDOFF_MS);
	if (once && setenv("LIBAIO_SUBMIT_ONCE", "1", 1))
		t_bail("setenv: %s", strerror(errno));
	ret = io_submit(ctx, K, p.list);
	unsetenv("LIBAIO_SUBMIT_ONCE");
	if (once && t_read_sysctl(T_SYSLET_SYSCTL) == 2) {
		/* Mode 2, the kernel's count: the first read blocked and was handed off. */
		T_EQ(ret, 1);
		if (ret == 1)
			T_EQ(io_submit(ctx, K - 1, p.list + 1), K - 1);
	} else if (once) {
		/* Mode 1: the kernel's count is stock's, each block handed on to the next helper. */
		T_EQ(ret, K);
	} else if (!T_EQ(ret, K)) {
		t_diag("libaio returned the kernel's short count: is the patched libaio (patches/libaio) the one loaded?");
	}
	rescued = pipes_stop_rescuer(&p);
	if (!T_TRUE(!rescued))
		t_diag("io_submit() waited for a read: a read did not hand off");
	/* Every read is still blocked: nothing has completed. */
	T_EQ(io_getevents(ctx, 0, 1, &ev, &zero), 0);
	pipes_finish(ctx, &p, K, rescued);
out:
	T_EQ(io_queue_release(ctx), 0);
	return t_result();
}

static enum t_result test_whole_batch(void)
{
	return run_batch(false);
}

static enum t_result test_submit_once(void)
{
	return run_batch(true);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_submit() of 4 pipe reads that each hand off returns 4 in one call", test_whole_batch },
		{ "with LIBAIO_SUBMIT_ONCE=1 it returns the kernel's count: 4 in mode 1, 1 in mode 2", test_submit_once },
	};

	t_require_syslet();
	return T_RUN(cases);
}
