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
#include <sys/resource.h>
#include <unistd.h>

/* Past the ring a context of nr_events 1 gets with up to 500 possible CPUs. */
#define MAX_IOCBS 4096

#include "syslet-helpers.h"

/* Room for @n open files: a pipe per blocked read. */
static void need_fds(unsigned int n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		t_bail("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= n)
		return;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;	/* root may; others bail, saying why */
	if (setrlimit(RLIMIT_NOFILE, &rl))
		t_bail("setrlimit(RLIMIT_NOFILE, %u) for a pipe per blocked read: %s", n, strerror(errno));
}

static enum t_result test_fill(void)
{
	static int p[MAX_IOCBS][2];
	static char c[MAX_IOCBS];
	static struct iocb cb[MAX_IOCBS];
	static struct io_event ev[MAX_IOCBS];
	static unsigned char seen[MAX_IOCBS];
	long long max_threads, saved_max = -1;
	unsigned int size;
	aio_context_t ctx;
	cpu_set_t old;
	int k = 0, n;
	long ret = 1;

	/* Static for their size; a second run starts from nothing too. */
	memset(p, 0, sizeof(p));
	memset(c, 0, sizeof(c));
	memset(seen, 0, sizeof(seen));
	ctx = t_setup_ctx(1);
	size = t_ring_size(ctx);
	/*
	 * Each blocked read holds a helper: the bound must not stop the
	 * handoffs first.  The ring of nr_events 1 grows with the possible
	 * CPUs (383 events from 32 of them, above the default bound of 256),
	 * so the bound is raised past it for the test when it is not.
	 */
	if (size >= MAX_IOCBS)
		t_bail("a ring of %u events: this case fills at most %d", size, MAX_IOCBS - 1);
	max_threads = t_read_sysctl(SH_MAX_THREADS_SYSCTL);
	if (max_threads <= size) {
		if (!t_is_root()) {
			T_EQ(sys_io_destroy(ctx), 0);
			return t_skip("fs.aio-syslet-max-threads is %lld, not above the ring's %u events, and raising it needs root",
				      max_threads, size);
		}
		t_diag("ring of %u events: fs.aio-syslet-max-threads raised from %lld to %u for the test",
		       size, max_threads, size + 16);
		saved_max = sh_set_max_threads(size + 16);
	}
	/* Exact counts need every free slot in this CPU's view; helpers inherit the pinning. */
	t_pin_to_this_cpu(&old);
	need_fds(2 * size + 64);
	if (!sh_warm_up(ctx))
		goto out;
	while (k < MAX_IOCBS) {
		struct iocb *list = &cb[k];
		struct t_writer w;

		if (pipe2(p[k], O_CLOEXEC))
			t_bail("pipe: %s", strerror(errno));
		t_prep_pread(&cb[k], p[k][0], &c[k], 1, 0);
		cb[k].aio_data = (uint64_t)k;
		/* A helper for this read: the last handoff used the one parked. */
		T_EQ(sys_io_submit(ctx, 0, &list), 0);
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		t_writer_start(&w, p[k][1], "k", 1, SH_HANDOFF_MS);
		ret = sys_io_submit(ctx, 1, &list);
		if (t_writer_stop(&w)) {
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
	if (saved_max >= 0)
		sh_restore_max_threads(saved_max);
	if (sched_setaffinity(0, sizeof(old), &old))
		t_bail("sched_setaffinity: %s", strerror(errno));
	return t_result();
}

/*
 * The same where the bound starts below the ring's size, as it does by
 * default with 32 or more possible CPUs: the case raises it itself.
 */
static enum t_result test_fill_low_bound(void)
{
	enum t_result r;
	unsigned int size;
	aio_context_t ctx;
	long long old;

	if (!t_is_root())
		return t_skip("lowering fs.aio-syslet-max-threads needs root");
	ctx = t_setup_ctx(1);
	size = t_ring_size(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	old = sh_set_max_threads(size / 2);
	/*
	 * In a new process: the helpers the first sub-test left parked retire
	 * one by one while this one runs, and an empty io_submit() does not
	 * replace a helper that retired (only one a handoff used).
	 */
	r = sh_in_child(test_fill);
	T_EQ(t_read_sysctl(SH_MAX_THREADS_SYSCTL), size / 2);
	sh_restore_max_threads(old);
	return r;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "blocked handed-off reads fill a ring of nr_events 1: then EAGAIN, and k events, none lost", test_fill },
		{ "the same with fs.aio-syslet-max-threads below the ring's size (as with 32+ CPUs)",
		  test_fill_low_bound },
	};

	t_require_syslet_exclusive();
	return T_RUN(cases);
}
