// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: threads sharing one context for submit and reap lose and duplicate nothing. */
#include "t.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SUBMITTERS	4
#define PER_THREAD	64
#define TOTAL		(SUBMITTERS * PER_THREAD)
#define LEN		4096
#define SEED		0x7ead

struct shared {
	aio_context_t ctx;
	int fd;
	int batch;			/* iocbs per io_submit() */
	struct iocb cbs[TOTAL];
	unsigned char *bufs;
	pthread_barrier_t start;
	atomic_int seen[TOTAL];		/* events per aio_data */
	atomic_int reaped;
	atomic_int bad_events;		/* events with a wrong obj or res */
	atomic_int submit_errors;
};

struct submitter {
	struct shared *sh;
	int index;
};

/* Submits this thread's PER_THREAD reads, @batch per call; each block once. */
static void *submit_fn(void *arg)
{
	struct submitter *s = arg;
	struct shared *sh = s->sh;
	int first = s->index * PER_THREAD;

	pthread_barrier_wait(&sh->start);
	for (int i = 0; i < PER_THREAD; i += sh->batch) {
		struct iocb *ptrs[PER_THREAD];
		int n = sh->batch;

		for (int j = 0; j < n; j++)
			ptrs[j] = &sh->cbs[first + i + j];
		if (sys_io_submit(sh->ctx, n, ptrs) != n)
			atomic_fetch_add(&sh->submit_errors, 1);
	}
	return NULL;
}

/* Reaps until all TOTAL events are in (across reapers) or 10 s pass. */
static void *reap_fn(void *arg)
{
	struct shared *sh = arg;
	long long deadline = t_now_us() + 10000000;

	pthread_barrier_wait(&sh->start);
	while (atomic_load(&sh->reaped) < TOTAL && t_now_us() < deadline) {
		struct timespec ts = { 0, 20000000 };
		struct io_event ev[32];
		long n = sys_io_getevents(sh->ctx, 1, 32, ev, &ts);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			atomic_fetch_add(&sh->bad_events, 1);
			break;
		}
		for (long i = 0; i < n; i++) {
			uint64_t d = ev[i].data;

			if (d >= TOTAL || ev[i].obj != (uintptr_t)&sh->cbs[d] ||
			    ev[i].res != LEN || ev[i].res2 != 0) {
				atomic_fetch_add(&sh->bad_events, 1);
				continue;
			}
			atomic_fetch_add(&sh->seen[d], 1);
		}
		atomic_fetch_add(&sh->reaped, (int)n);
	}
	return NULL;
}

static void run(int batch, int reapers)
{
	struct shared *sh = calloc(1, sizeof(*sh));
	struct submitter subs[SUBMITTERS];
	pthread_t th[SUBMITTERS + 2];
	int missing = 0, dup = 0;
	struct timespec zero = { 0, 0 };
	struct io_event ev;

	if (!sh)
		t_bail("calloc failed");
	sh->batch = batch;
	sh->fd = t_pattern_file(TOTAL * LEN, SEED, 0, NULL, 0);
	sh->ctx = t_setup_ctx(TOTAL);
	sh->bufs = t_aligned_alloc(4096, TOTAL * LEN);
	/* aio_data is the block index: every block read exactly once, into its own buffer. */
	for (int i = 0; i < TOTAL; i++) {
		t_prep_pread(&sh->cbs[i], sh->fd, sh->bufs + (size_t)i * LEN, LEN, (off_t)i * LEN);
		sh->cbs[i].aio_data = (uint64_t)i;
	}
	pthread_barrier_init(&sh->start, NULL, SUBMITTERS + reapers);
	for (int i = 0; i < reapers; i++)
		if (pthread_create(&th[SUBMITTERS + i], NULL, reap_fn, sh))
			t_bail("pthread_create failed");
	for (int i = 0; i < SUBMITTERS; i++) {
		subs[i].sh = sh;
		subs[i].index = i;
		if (pthread_create(&th[i], NULL, submit_fn, &subs[i]))
			t_bail("pthread_create failed");
	}
	for (int i = 0; i < SUBMITTERS + reapers; i++)
		pthread_join(th[i], NULL);

	T_EQ(atomic_load(&sh->submit_errors), 0);
	T_EQ(atomic_load(&sh->bad_events), 0);
	T_EQ(atomic_load(&sh->reaped), TOTAL);
	for (int i = 0; i < TOTAL; i++) {
		int n = atomic_load(&sh->seen[i]);

		missing += n == 0;
		dup += n > 1;
		if (n == 1)
			t_verify_pattern(sh->bufs + (size_t)i * LEN, LEN, SEED, (off_t)i * LEN);
	}
	T_EQ(missing, 0);
	T_EQ(dup, 0);
	/* No stray event after the last one. */
	T_EQ(sys_io_getevents(sh->ctx, 0, 1, &ev, &zero), 0);
	T_EQ(sys_io_destroy(sh->ctx), 0);
	pthread_barrier_destroy(&sh->start);
	close(sh->fd);
	free(sh->bufs);
	free(sh);
}

static enum t_result test_single(void)
{
	run(1, 1);
	return t_result();
}

static enum t_result test_batches(void)
{
	run(8, 1);
	return t_result();
}

static enum t_result test_two_reapers(void)
{
	run(1, 2);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "4 threads x 64 single reads, one reaper: each event exactly once",
		  test_single },
		{ "4 threads x 8 batches of 8 reads, one reaper: each event exactly once",
		  test_batches },
		{ "4 threads x 64 single reads, two reapers: each event exactly once overall",
		  test_two_reapers },
	};

	return T_RUN(cases);
}
