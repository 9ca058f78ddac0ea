// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: PI and robust mutexes and pthread_join() work across a handoff of the owner. */
#include "syslet-helpers.h"

#include <linux/futex.h>
#include <stdlib.h>
#include <unistd.h>

#define JOIN_VALUE	((void *)0x5eed)

/* glibc keeps the futex word of a mutex in __data.__lock. */
static unsigned int futex_word(pthread_mutex_t *m)
{
	return __atomic_load_n((unsigned int *)&m->__data.__lock, __ATOMIC_SEQ_CST);
}

static void init_mutex(pthread_mutex_t *m, int protocol, int robust)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	if (pthread_mutexattr_setprotocol(&a, protocol) || pthread_mutexattr_setrobust(&a, robust))
		t_bail("pthread_mutexattr");
	if (pthread_mutex_init(m, &a))
		t_bail("pthread_mutex_init");
	pthread_mutexattr_destroy(&a);
}

static struct timespec in_seconds(int s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	return ts;
}

/* Waits up to 10 s for a waiter to queue on the PI futex of @m in the kernel. */
static bool wait_for_waiter(pthread_mutex_t *m)
{
	long long deadline = t_now_us() + 10000000;

	while (!(futex_word(m) & FUTEX_WAITERS) && t_now_us() < deadline)
		usleep(1000);
	return T_TRUE(futex_word(m) & FUTEX_WAITERS);
}

struct waiter {
	pthread_mutex_t *m;
	pthread_t th;
	int lock_ret, unlock_ret;
	unsigned int word;	/* the futex word while it held the lock */
	pid_t tid;
};

static void *waiter_fn(void *p)
{
	struct waiter *w = p;
	struct timespec ts = in_seconds(10);

	w->tid = sh_gettid();
	w->lock_ret = pthread_mutex_timedlock(w->m, &ts);
	if (!w->lock_ret) {
		w->word = futex_word(w->m);
		w->unlock_ret = pthread_mutex_unlock(w->m);
	}
	return NULL;
}

static void start_waiter(struct waiter *w, pthread_mutex_t *m)
{
	memset(w, 0, sizeof(*w));
	w->m = m;
	w->lock_ret = w->unlock_ret = -1;
	if (pthread_create(&w->th, NULL, waiter_fn, w))
		t_bail("pthread_create");
}

/* The waiter got the lock, owned it under its TID and gave it back. */
static void check_waiter(struct waiter *w)
{
	struct timespec ts = in_seconds(10);

	if (!T_EQ(pthread_timedjoin_np(w->th, NULL, &ts), 0))
		t_bail("the waiter thread hangs");
	T_EQ(w->lock_ret, 0);
	T_EQ(w->word & FUTEX_TID_MASK, w->tid);
	T_EQ(w->unlock_ret, 0);
}

static enum t_result pi_uncontended(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	pthread_mutex_t m;
	struct sh_block b;

	sh_watchdog(60);
	init_mutex(&m, PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_STALLED);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	T_EQ(pthread_mutex_lock(&m), 0);
	T_EQ(futex_word(&m), sh_gettid());
	if (sh_handoff(&b, ctx, 0xf001)) {
		T_EQ(futex_word(&m), sh_gettid());
		T_EQ(pthread_mutex_unlock(&m), 0);
		T_EQ(futex_word(&m), 0);
		T_EQ(pthread_mutex_trylock(&m), 0);
		T_EQ(pthread_mutex_unlock(&m), 0);
	}
	sh_block_finish(&b);
	T_EQ(pthread_mutex_destroy(&m), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/*
 * A waiter that comes after the handoff finds the owner by the TID in
 * the futex word: that must be us, or our unlock fails.
 */
static enum t_result pi_waiter_after(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	pthread_mutex_t m;
	struct sh_block b;
	struct waiter w;

	sh_watchdog(60);
	init_mutex(&m, PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_STALLED);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	T_EQ(pthread_mutex_lock(&m), 0);
	if (sh_handoff(&b, ctx, 0xf002)) {
		start_waiter(&w, &m);
		if (wait_for_waiter(&m)) {
			T_EQ(futex_word(&m), FUTEX_WAITERS | (unsigned int)sh_gettid());
			T_EQ(pthread_mutex_unlock(&m), 0);
		}
		check_waiter(&w);
	}
	sh_block_finish(&b);
	T_EQ(pthread_mutex_destroy(&m), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/*
 * An owner of a PI futex with waiters never hands off (aio-syslet.rst):
 * io_submit() runs the PREAD to its end, and the syslet_unarmed event
 * says why (as root, which tracing needs); the unlock then wakes the
 * waiter, and with the futex passed on the owner hands off again.
 */
static enum t_result pi_waiter_before(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	bool traced = t_is_root();
	struct sh_trace unarmed;
	pthread_mutex_t m;
	struct sh_block b;
	struct waiter w;

	sh_watchdog(60);
	init_mutex(&m, PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_STALLED);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	if (traced)
		sh_trace_start(&unarmed, "syslet_unarmed");
	T_EQ(pthread_mutex_lock(&m), 0);
	start_waiter(&w, &m);
	if (wait_for_waiter(&m)) {
		sh_block_start(&b, ctx, 0xf003, 300);
		sh_expect_sync(&b, sh_block_submit(&b));
		T_TRUE(b.submit_us >= 200000);
		T_EQ(futex_word(&m), FUTEX_WAITERS | (unsigned int)sh_gettid());
		sh_block_finish(&b);
	}
	if (traced) {
		T_TRUE(sh_trace_count(&unarmed, "reason=pi_futex") >= 1);
		sh_trace_stop(&unarmed);
	} else {
		t_diag("not root: the refusal's reason is not checked");
	}
	T_EQ(pthread_mutex_unlock(&m), 0);
	check_waiter(&w);
	/* No PI state left with this thread: it hands off. */
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(pthread_mutex_destroy(&m), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/*
 * Robust mutex of a thread that hands off and then exits holding it: the
 * kernel walks the robust list of the task with our TID at exit.  The
 * PREAD is still in flight when it exits; the main thread completes it.
 */
static pthread_mutex_t robust;
static struct sh_block robust_block;
static aio_context_t robust_ctx;
static int robust_handed_off;

static void *robust_owner(void *p)
{
	(void)p;
	if (pthread_mutex_lock(&robust) || !sh_warm_up(robust_ctx))
		return NULL;
	robust_handed_off = sh_handoff(&robust_block, robust_ctx, 0xf004);
	return JOIN_VALUE;
}

static enum t_result robust_thread(void)
{
	struct timespec ts = in_seconds(10);
	void *ret = NULL;
	pthread_t th;

	sh_watchdog(60);
	robust_ctx = t_setup_ctx(8);
	init_mutex(&robust, PTHREAD_PRIO_NONE, PTHREAD_MUTEX_ROBUST);
	if (pthread_create(&th, NULL, robust_owner, NULL))
		t_bail("pthread_create");
	if (!T_EQ(pthread_timedjoin_np(th, &ret, &ts), 0))
		t_bail("the owner thread did not end");
	if (!T_TRUE(ret == JOIN_VALUE))
		return T_FAIL;		/* no PREAD was started */
	if (T_TRUE(robust_handed_off)) {
		ts = in_seconds(5);
		T_EQ(pthread_mutex_timedlock(&robust, &ts), EOWNERDEAD);
		T_EQ(pthread_mutex_consistent(&robust), 0);
		T_EQ(pthread_mutex_unlock(&robust), 0);
	}
	sh_block_finish(&robust_block);
	T_EQ(sys_io_destroy(robust_ctx), 0);
	return t_result();
}

/*
 * In a child process: the main thread, which leads the group, hands off
 * and then exits alone; a second thread joins it (the kernel clears and
 * wakes its clear_child_tid) and, with @robust, finds the robust mutex it
 * held.  The leader ends with exit(2), not pthread_exit(), which needs
 * libgcc_s (absent from the VM's initramfs): it returns no value.
 */
static pthread_t leader;
static aio_context_t leader_ctx;
static struct sh_block leader_block;
static bool leader_robust;

static void *joiner(void *p)
{
	struct timespec ts = in_seconds(10);
	void *ret = NULL;

	(void)p;
	T_EQ(pthread_timedjoin_np(leader, &ret, &ts), 0);
	if (leader_robust) {
		ts = in_seconds(5);
		T_EQ(pthread_mutex_timedlock(&robust, &ts), EOWNERDEAD);
		T_EQ(pthread_mutex_consistent(&robust), 0);
		T_EQ(pthread_mutex_unlock(&robust), 0);
	}
	T_EQ(sys_io_destroy(leader_ctx), 0);
	fflush(stdout);
	_exit(t_result() == T_PASS ? SH_CHILD_PASS : 1);
}

static enum t_result leader_exits(void)
{
	pthread_t th;

	leader = pthread_self();
	leader_ctx = t_setup_ctx(8);
	if (leader_robust) {
		init_mutex(&robust, PTHREAD_PRIO_NONE, PTHREAD_MUTEX_ROBUST);
		T_EQ(pthread_mutex_lock(&robust), 0);
	}
	if (!sh_warm_up(leader_ctx) || !sh_handoff(&leader_block, leader_ctx, 0xf005))
		return T_FAIL;
	sh_block_finish(&leader_block);
	if (pthread_create(&th, NULL, joiner, NULL))
		t_bail("pthread_create");
	fflush(stdout);
	syscall(SYS_exit, 0);
	t_bail("exit(2) returned");
}

static enum t_result robust_leader(void)
{
	leader_robust = true;
	return sh_in_child(leader_exits);
}

static enum t_result join_leader(void)
{
	leader_robust = false;
	return sh_in_child(leader_exits);
}

/* A thread that hands off, completes its PREAD and returns: join gets its value. */
static void *join_fn(void *p)
{
	aio_context_t ctx = *(aio_context_t *)p;
	struct sh_block b;
	bool ok;

	if (!sh_warm_up(ctx))
		return NULL;
	ok = sh_handoff(&b, ctx, 0xf006);
	ok &= sh_block_finish(&b);
	return ok ? JOIN_VALUE : NULL;
}

static enum t_result join_thread(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct timespec ts = in_seconds(20);
	void *ret = NULL;
	pthread_t th;

	sh_watchdog(60);
	if (pthread_create(&th, NULL, join_fn, &ctx))
		t_bail("pthread_create");
	if (T_EQ(pthread_timedjoin_np(th, &ret, &ts), 0))
		T_TRUE(ret == JOIN_VALUE);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result pi_uncontended_thread(void)
{
	return sh_in_thread(pi_uncontended);
}

static enum t_result pi_waiter_after_thread(void)
{
	return sh_in_thread(pi_waiter_after);
}

static enum t_result pi_waiter_before_thread(void)
{
	return sh_in_thread(pi_waiter_before);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: PI mutex locked before a handoff unlocks after it", pi_uncontended },
		{ "thread: PI mutex locked before a handoff unlocks after it",
		  pi_uncontended_thread },
		{ "leader: PI mutex, waiter blocks after the handoff: unlock hands it the lock",
		  pi_waiter_after },
		{ "thread: PI mutex, waiter blocks after the handoff: unlock hands it the lock",
		  pi_waiter_after_thread },
		{ "leader: PI mutex with a waiter: no handoff (reason=pi_futex), synchronous io_submit(), unlock; then hands off",
		  pi_waiter_before },
		{ "thread: PI mutex with a waiter: no handoff (reason=pi_futex), synchronous io_submit(), unlock; then hands off",
		  pi_waiter_before_thread },
		{ "leader: robust mutex of a leader that handed off and exited: EOWNERDEAD",
		  robust_leader },
		{ "thread: robust mutex of a thread that handed off and exited: EOWNERDEAD",
		  robust_thread },
		{ "leader: pthread_join() of a leader that handed off and exited returns",
		  join_leader },
		{ "thread: pthread_join() of a thread that handed off and returned gets its value",
		  join_thread },
	};

	t_require_syslet();
	return T_RUN(cases);
}
