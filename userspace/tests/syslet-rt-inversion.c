// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a blocking read whose parked helper cannot get a CPU
 * returns when the read completes, not when the helper next runs.
 *
 * A helper has its creator's affinity until it takes a user context over.
 * Thread A, pinned to one CPU, makes the only helper, then spins there at
 * SCHED_FIFO 50; the main thread, at SCHED_FIFO 40 on another CPU, reads
 * an empty pipe that a writer fills 100 ms later.  The read hands off to
 * the helper, which cannot run until RT throttling stops A (about a
 * second on a default system; never with sched_rt_runtime_us=-1); the
 * main thread must not wait for it once its read is done.
 */
#include "syslet-helpers.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RESCUE_MS	100
/* Well below the ~950 ms the helper waits behind A at the least. */
#define LIMIT_MS	600
#define SPIN_MS		2500

static aio_context_t ctx;
static int cpu_a, cpu_b;
static atomic_int a_stage;	/* 1: helper parked, 2: go, 3: spinning, 4: stop; -1 failed */

static bool pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

static bool set_policy(int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return sched_setscheduler(0, policy, &sp) == 0;
}

static void *spinner(void *arg)
{
	long long end;

	(void)arg;
	/* The helper the warm-up makes is our copy: pinned to cpu_a. */
	if (!pin(cpu_a) || !sh_warm_up(ctx)) {
		atomic_store(&a_stage, -1);
		return NULL;
	}
	atomic_store(&a_stage, 1);
	while (atomic_load(&a_stage) == 1)
		usleep(1000);
	if (!set_policy(SCHED_FIFO, 50)) {
		t_diag("SCHED_FIFO 50: %s", strerror(errno));
		atomic_store(&a_stage, -1);
		return NULL;
	}
	atomic_store(&a_stage, 3);
	end = t_now_us() + SPIN_MS * 1000LL;
	while (atomic_load(&a_stage) == 3 && t_now_us() < end)
		;
	set_policy(SCHED_OTHER, 0);
	return NULL;
}

static enum t_result rt_inversion(void)
{
	struct sh_block b;
	pthread_t a;
	cpu_set_t all;
	long long t0;
	long ret;
	int err, cpu, n = 0;
	bool ok = true;

	if (sched_getaffinity(0, sizeof(all), &all))
		t_bail("sched_getaffinity: %s", strerror(errno));
	cpu_a = cpu_b = -1;
	for (cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		if (n++ == 0)
			cpu_b = cpu;
		else
			cpu_a = cpu;
	}
	if (cpu_a < 0)
		return t_skip("needs two CPUs: a spinning one for the helper, one for the reader");
	if (!set_policy(SCHED_FIFO, 40)) {
		if (errno == EPERM)
			return t_skip("SCHED_FIFO refused (EPERM): no real-time budget here");
		t_bail("SCHED_FIFO 40: %s", strerror(errno));
	}
	set_policy(SCHED_OTHER, 0);
	/* The writer thread sh_block_start() makes runs here too. */
	if (!pin(cpu_b))
		t_bail("sched_setaffinity: %s", strerror(errno));
	ctx = t_setup_ctx(16);
	err = pthread_create(&a, NULL, spinner, NULL);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
	while (atomic_load(&a_stage) == 0)
		usleep(1000);
	if (!T_EQ(atomic_load(&a_stage), 1))
		goto join;
	if (!set_policy(SCHED_FIFO, 40))
		t_bail("SCHED_FIFO 40: %s", strerror(errno));
	atomic_store(&a_stage, 2);
	t0 = t_now_us();
	while (atomic_load(&a_stage) == 2 && t_now_us() - t0 < 5000000)
		usleep(1000);
	if (!T_EQ(atomic_load(&a_stage), 3))
		goto join;

	sh_block_start(&b, ctx, SH_READ_DATA, RESCUE_MS);
	ret = sh_block_submit(&b);
	ok &= T_EQ(ret, 1);
	t_diag("io_submit() returned after %lld ms (the read was completed after %d ms)",
	       b.submit_us / 1000, RESCUE_MS);
	if (!T_TRUE(b.submit_us < LIMIT_MS * 1000LL))
		t_diag("the reader waited for a helper that could not run");
	ok &= sh_block_finish(&b);
join:
	set_policy(SCHED_OTHER, 0);
	atomic_store(&a_stage, 4);
	err = pthread_join(a, NULL);
	if (err)
		t_bail("pthread_join: %s", strerror(err));
	T_EQ(sys_io_destroy(ctx), 0);
	return ok ? t_result() : T_FAIL;
}

static enum t_result test_pinned_helper(void)
{
	/* One helper: the one the spinning thread makes. */
	return sh_in_child_max_threads(1, rt_inversion);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a read whose helper cannot run returns when the read is done", test_pinned_helper },
	};

	t_require_syslet_exclusive();
	return T_RUN(cases);
}
