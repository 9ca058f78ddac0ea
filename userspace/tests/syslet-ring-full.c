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

#define AIO_RING_MAGIC 0xa10a10a1U
/* Past any ring a context of nr_events 1 gets. */
#define MAX_IOCBS 1024
/* Long enough that an io_submit() which hands off returns well before it, even under TCG. */
#define RESCUE_MS 3000

#include "syslet-writer.h"

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
	if (t_read_sysctl(SH_MAX_THREADS_SYSCTL) <= size) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("fs.aio-syslet-max-threads is %lld, not above the ring's %u events",
			      t_read_sysctl(SH_MAX_THREADS_SYSCTL), size);
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
		if (!T_TRUE(sh_wait_parked(1, 5000)))
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
