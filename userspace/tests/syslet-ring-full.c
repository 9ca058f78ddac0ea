// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: pipe reads that hand off fill a ring of nr_events 1; then EAGAIN, and no event is lost. */
#include "t.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS_SYSCTL "/proc/sys/fs/aio-syslet-max-threads"
#define AIO_RING_MAGIC 0xa10a10a1U
/* Past any ring a context of nr_events 1 gets. */
#define MAX_IOCBS 1024
/* Long enough that an io_submit() which hands off returns well before it, even under TCG. */
#define RESCUE_MS 3000
#define PF_USER_WORKER 0x00004000

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

static void *writer_fn(void *arg)
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

static void writer_start(struct writer *w, int fd, const void *data, size_t len, int delay_ms)
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
static long long writer_stop(struct writer *w)
{
	if (write(w->stop[1], "s", 1) != 1)
		t_bail("write: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	return atomic_load(&w->wrote_us);
}

/* Parked helpers: sleeping tasks with PF_USER_WORKER in /proc/self/task/N/stat. */
static int count_parked(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		t_bail("opendir /proc/self/task: %s", strerror(errno));
	while ((de = readdir(d))) {
		char path[300], buf[1024], state, *p;
		unsigned long flags;
		ssize_t len;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* exited meanwhile */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "tid (comm) state ppid pgrp session tty_nr tpgid flags ..." */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) == 2 &&
		    state == 'S' && (flags & PF_USER_WORKER))
			n++;
	}
	closedir(d);
	return n;
}

static bool wait_parked(int n, int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;

	while (count_parked() < n) {
		if (t_now_us() > deadline) {
			t_diag("no %d parked helper(s) after %d ms", n, timeout_ms);
			return false;
		}
		usleep(2000);
	}
	return true;
}

/*
 * The first block of a process finds no parked helper and stays
 * synchronous; the pool makes one for the next.  Blocks once on a pipe a
 * writer fills after 50 ms, then waits for a helper to park: an empty
 * io_submit() runs the preparation that makes one if still wanted.
 */
static bool warm_up(aio_context_t ctx)
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
	return T_TRUE(wait_parked(1, 5000)) && ok;
}

/*
 * Free slots are handed out per CPU in batches: pinned to one CPU (the
 * helpers that carry the user context on inherit that), the counts do
 * not depend on where it ran.
 */
static void pin_to_this_cpu(cpu_set_t *old)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0 || sched_getaffinity(0, sizeof(*old), old))
		t_bail("sched_getcpu: %s", strerror(errno));
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		t_bail("sched_setaffinity: %s", strerror(errno));
}

/* Events the ring holds (0 if the id is no ring): at most this many minus 1 fit. */
static unsigned int ring_size(aio_context_t ctx)
{
	const unsigned int *ring = (const unsigned int *)(uintptr_t)ctx;

	return ring[4] == AIO_RING_MAGIC ? ring[1] : 0;
}

static enum t_result test_fill(void)
{
	static int p[MAX_IOCBS][2];
	static char c[MAX_IOCBS];
	static struct iocb cb[MAX_IOCBS];
	static struct io_event ev[MAX_IOCBS];
	static unsigned char seen[MAX_IOCBS];
	unsigned int size;
	aio_context_t ctx;
	cpu_set_t old;
	int k = 0, n;
	long ret = 1;

	pin_to_this_cpu(&old);
	ctx = t_setup_ctx(1);
	size = ring_size(ctx);
	/* Each blocked read holds a helper: the bound must not stop the handoffs first. */
	if (t_read_sysctl(MAX_THREADS_SYSCTL) <= size) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("fs.aio-syslet-max-threads is %lld, not above the ring's %u events",
			      t_read_sysctl(MAX_THREADS_SYSCTL), size);
	}
	if (!warm_up(ctx))
		goto out;
	while (k < MAX_IOCBS) {
		struct iocb *list = &cb[k];
		struct writer w;

		if (pipe2(p[k], O_CLOEXEC))
			t_bail("pipe: %s", strerror(errno));
		t_prep_pread(&cb[k], p[k][0], &c[k], 1, 0);
		cb[k].aio_data = (uint64_t)k;
		/* A helper for this read: the last handoff used the one parked. */
		T_EQ(sys_io_submit(ctx, 0, &list), 0);
		if (!T_TRUE(wait_parked(1, 5000)))
			break;
		writer_start(&w, p[k][1], "k", 1, RESCUE_MS);
		ret = sys_io_submit(ctx, 1, &list);
		if (writer_stop(&w)) {
			t_diag("read %d did not hand off: io_submit() waited for the data", k);
			T_TRUE(false);
			break;
		}
		if (ret != 1)
			break;
		k++;
	}
	/* Stopped by a full ring, after k reads in flight, every submit before returning 1. */
	T_ERRNO(ret, EAGAIN);
	t_diag("ring of %u events took %d blocked reads", size, k);
	T_TRUE(k >= 1);
	if (size)
		T_TRUE(k <= (int)size - 1);
	/* Nothing has completed. */
	T_EQ(t_reap(ctx, ev, 1, 100), 0);
	for (int i = 0; i < k; i++)
		if (write(p[i][1], "k", 1) != 1)
			t_bail("write: %s", strerror(errno));
	n = t_reap(ctx, ev, k, 20000);
	T_EQ(n, k);
	for (int i = 0; i < n; i++) {
		uint64_t d = ev[i].data;

		if (!T_TRUE(d < (uint64_t)k) || !T_EQ(seen[d], 0))
			continue;
		seen[d] = 1;
		T_EQ(ev[i].obj, (uintptr_t)&cb[d]);
		T_EQ(ev[i].res, 1);
		T_EQ(ev[i].res2, 0);
	}
	for (int i = 0; i < k; i++)
		T_EQ(c[i], 'k');
	/* None twice, none left over. */
	T_EQ(t_reap(ctx, ev, 1, 200), 0);
out:
	/* Whatever failed, nothing stays blocked: io_destroy() waits for it. */
	for (int i = 0; i <= k && i < MAX_IOCBS; i++)
		if (p[i][1] > 0 && write(p[i][1], "k", 1) != 1)
			t_bail("write: %s", strerror(errno));
	T_EQ(sys_io_destroy(ctx), 0);
	for (int i = 0; i <= k && i < MAX_IOCBS; i++) {
		if (p[i][1] > 0) {
			close(p[i][0]);
			close(p[i][1]);
		}
	}
	if (sched_setaffinity(0, sizeof(old), &old))
		t_bail("sched_setaffinity: %s", strerror(errno));
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "blocked handed-off reads fill a ring of nr_events 1: then EAGAIN, and k events, none lost", test_fill },
	};

	t_require_syslet();
	return T_RUN(cases);
}
