// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_destroy() cancels or waits for requests in flight before it returns 0. */
#include "t.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <unistd.h>

#define NR_DIO 32
#define DIO_LEN 65536
#define WATCHDOG_S 10

struct watchdog {
	pthread_t thread;
	sem_t done;
	int wfd;		/* written to end the wait if io_destroy hangs */
	bool fired;
};

static void *watchdog_fn(void *arg)
{
	struct watchdog *w = arg;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WATCHDOG_S;
	while (sem_timedwait(&w->done, &ts)) {
		if (errno == EINTR)
			continue;
		w->fired = true;
		if (write(w->wfd, "x", 1) != 1)
			abort();
		break;
	}
	return NULL;
}

static void watchdog_start(struct watchdog *w, int wfd)
{
	w->wfd = wfd;
	w->fired = false;
	sem_init(&w->done, 0, 0);
	if (pthread_create(&w->thread, NULL, watchdog_fn, w))
		t_bail("pthread_create failed");
}

static void watchdog_stop(struct watchdog *w)
{
	sem_post(&w->done);
	pthread_join(w->thread, NULL);
	sem_destroy(&w->done);
}

static enum t_result test_poll_cancelled(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct iocb cb[4], *cbp[4];
	struct watchdog w;
	int p[2];
	long ret;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	for (int i = 0; i < 4; i++) {
		t_prep_poll(&cb[i], p[0], POLLIN);
		cbp[i] = &cb[i];
	}
	ret = sys_io_submit(ctx, 4, cbp);
	if (T_EQ(ret, 4)) {
		/* Nothing will ever be written: only cancellation can end these polls. */
		watchdog_start(&w, p[1]);
		ret = sys_io_destroy(ctx);
		watchdog_stop(&w);
		T_EQ(ret, 0);
		if (w.fired)
			t_diag("io_destroy returned only when the pipe got written %d s later",
			       WATCHDOG_S);
		T_TRUE(!w.fired);
		T_ERRNO(sys_io_destroy(ctx), EINVAL);
	} else {
		sys_io_destroy(ctx);
	}
	close(p[0]);
	close(p[1]);
	return t_result();
}

static enum t_result test_dio_reads(void)
{
	int fd = t_pattern_file(NR_DIO * DIO_LEN, 51, O_DIRECT, NULL, 0);
	unsigned char *buf;
	struct iocb cb[NR_DIO], *cbp[NR_DIO];
	aio_context_t ctx;
	long submitted;

	if (fd < 0)
		return t_skip("O_DIRECT is not supported in %s", t_test_dir());
	buf = t_aligned_alloc(4096, NR_DIO * DIO_LEN);
	memset(buf, 0xa5, NR_DIO * DIO_LEN);
	ctx = t_setup_ctx(NR_DIO);
	for (int i = 0; i < NR_DIO; i++) {
		t_prep_pread(&cb[i], fd, buf + i * DIO_LEN, DIO_LEN, (off_t)i * DIO_LEN);
		cbp[i] = &cb[i];
	}
	submitted = sys_io_submit(ctx, NR_DIO, cbp);
	/* At once, with the reads still at the device: it waits for all of them. */
	T_EQ(sys_io_destroy(ctx), 0);
	T_EQ(submitted, NR_DIO);
	for (int i = 0; i < submitted; i++)
		if (!t_verify_pattern(buf + i * DIO_LEN, DIO_LEN, 51, (off_t)i * DIO_LEN))
			break;
	T_ERRNO(sys_io_destroy(ctx), EINVAL);
	free(buf);
	close(fd);
	return t_result();
}

static enum t_result test_dio_writes(void)
{
	int fd = t_pattern_file(NR_DIO * DIO_LEN, 52, O_DIRECT, NULL, 0);
	unsigned char *buf;
	struct iocb cb[NR_DIO], *cbp[NR_DIO];
	aio_context_t ctx;
	long submitted;

	if (fd < 0)
		return t_skip("O_DIRECT is not supported in %s", t_test_dir());
	buf = t_aligned_alloc(4096, NR_DIO * DIO_LEN);
	/* Overwrite the file with the pattern of another seed. */
	t_fill_pattern(buf, NR_DIO * DIO_LEN, 53, 0);
	ctx = t_setup_ctx(NR_DIO);
	for (int i = 0; i < NR_DIO; i++) {
		t_prep_pwrite(&cb[i], fd, buf + i * DIO_LEN, DIO_LEN, (off_t)i * DIO_LEN);
		cbp[i] = &cb[i];
	}
	submitted = sys_io_submit(ctx, NR_DIO, cbp);
	T_EQ(sys_io_destroy(ctx), 0);
	T_EQ(submitted, NR_DIO);
	/* The writes are done: reading back (also O_DIRECT) finds the new data. */
	memset(buf, 0, NR_DIO * DIO_LEN);
	if (T_EQ(pread(fd, buf, NR_DIO * DIO_LEN, 0), NR_DIO * DIO_LEN))
		t_verify_pattern(buf, NR_DIO * DIO_LEN, 53, 0);
	free(buf);
	close(fd);
	return t_result();
}

static enum t_result test_use_after_destroy(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(4096, 54, 0, NULL, 0);
	struct timespec zero = { 0, 0 };
	struct io_event ev;
	struct iocb cb, *cbp = &cb;
	char buf[512];

	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	t_submit1(ctx, &cb);
	T_EQ(sys_io_destroy(ctx), 0);
	/* The completed but unreaped event went with the context. */
	T_ERRNO(sys_io_getevents(ctx, 0, 1, &ev, &zero), EINVAL);
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	T_ERRNO(sys_io_cancel(ctx, &cb, &ev), EINVAL);
	T_ERRNO(sys_io_destroy(ctx), EINVAL);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_destroy cancels polls in flight and returns 0 at once", test_poll_cancelled },
		{ "io_destroy waits for O_DIRECT reads in flight", test_dio_reads },
		{ "io_destroy waits for O_DIRECT writes in flight", test_dio_writes },
		{ "a destroyed context fails every AIO call with EINVAL", test_use_after_destroy },
	};

	return T_RUN(cases);
}
