/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For the syslet-* cases that check counts and helper threads: a writer
 * thread that rescues a pipe read which did not hand off (so a case fails
 * instead of hanging, and can tell whether io_submit() waited), and the
 * warm-up that leaves one parked.
 */
#ifndef AIO_SYSLET_SYSLET_WRITER_H
#define AIO_SYSLET_SYSLET_WRITER_H

#include "t.h"
#include "syslet-helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * A thread that writes @len bytes to the pipe @fd after @delay_ms unless
 * stopped first: it rescues a read that did not hand off, so nothing
 * hangs, and when it wrote tells whether io_submit() waited for the data.
 */
struct writer {
	pthread_t thread;
	int fd;
	const void *data;
	size_t len;
	int delay_ms;
	int stop[2];
	_Atomic long long wrote_us;	/* t_now_us() just before the write; 0 if none */
};

static inline void *writer_fn(void *arg)
{
	struct writer *w = arg;
	struct pollfd p = { .fd = w->stop[0], .events = POLLIN };
	int ret = poll(&p, 1, w->delay_ms);

	if (ret < 0)
		t_bail("writer: poll: %s", strerror(errno));
	if (ret > 0)
		return NULL;
	atomic_store(&w->wrote_us, t_now_us());
	if (write(w->fd, w->data, w->len) != (ssize_t)w->len)
		t_bail("writer: write: %s", strerror(errno));
	return NULL;
}

static inline void writer_start(struct writer *w, int fd, const void *data, size_t len, int delay_ms)
{
	int err;

	w->fd = fd;
	w->data = data;
	w->len = len;
	w->delay_ms = delay_ms;
	atomic_store(&w->wrote_us, 0);
	if (pipe2(w->stop, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	err = pthread_create(&w->thread, NULL, writer_fn, w);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
}

/* Stops the writer if it has not written; returns when it wrote, 0 if it did not. */
static inline long long writer_stop(struct writer *w)
{
	if (write(w->stop[1], "s", 1) != 1)
		t_bail("write: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	return atomic_load(&w->wrote_us);
}

/*
 * The first block of a process finds no parked helper and stays
 * synchronous; the pool makes one for the next.  Blocks once on a pipe a
 * writer fills after 50 ms, then waits for a helper to park: an empty
 * io_submit() runs the preparation that makes one if still wanted.
 */
static inline bool warm_up(aio_context_t ctx)
{
	struct iocb cb, *list = &cb;
	struct io_event ev;
	struct writer w;
	int p[2];
	char c = 0;
	bool ok;

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t_prep_pread(&cb, p[0], &c, 1, 0);
	writer_start(&w, p[1], "w", 1, 50);
	ok = T_EQ(sys_io_submit(ctx, 1, &list), 1);
	ok = T_EQ(t_reap(ctx, &ev, 1, 5000), 1) && ok;
	ok = ok && T_EQ(ev.res, 1) && T_EQ(c, 'w');
	writer_stop(&w);
	close(p[0]);
	close(p[1]);
	ok = T_EQ(sys_io_submit(ctx, 0, &list), 0) && ok;
	return T_TRUE(sh_wait_parked(1, 5000)) && ok;
}

#endif /* AIO_SYSLET_SYSLET_WRITER_H */
