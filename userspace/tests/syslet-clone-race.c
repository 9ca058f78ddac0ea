// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: threads created while the leader hands off: the process
 * still exits or execs at once (a new thread must not keep the old leader).
 *
 * A leader handoff moves group leadership to the helper: every thread's
 * group_leader points at it.  A thread that clone() links meanwhile must
 * see the new leader; one that kept the old one made exit_group() or exec
 * (zap_other_threads(), de_thread()) loop with interrupts off or wait for
 * ever while thread walks wrapped around to the leader, and makes exec
 * from that thread take the old leader's place (de_thread()) still.  The leader handoff that races must be
 * the last before the exit (the next one rewrites every group_leader), so
 * each trial is a fresh process: three threads create and join threads
 * without pause while its main thread hands one read off, which a partner
 * completes at once, and exits or execs as soon as io_submit() returns.
 */
#include "syslet-helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define CREATORS	3
/* Trials per sub-test: the first of these bounds to come ends it. */
#define MAX_TRIALS	400
#define BUDGET_S	20
/* Exit status of a trial's process that exited as planned. */
#define TRIAL_EXIT	7

static atomic_bool stop;

static void *noop(void *arg)
{
	return arg;
}

static void *creator(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pthread_t t;

		if (!pthread_create(&t, NULL, noop, NULL))
			pthread_join(t, NULL);
	}
	return NULL;
}

struct partner {
	pthread_t thread;
	int fd;
	atomic_bool go;
};

/* Completes the read a few microseconds after io_submit() is entered. */
static void *partner_main(void *arg)
{
	struct partner *p = arg;

	while (!atomic_load(&p->go))
		;
	usleep(20);
	if (write(p->fd, "c", 1) != 1)
		_exit(3);
	return NULL;
}

/* One trial's process: it exits (TRIAL_EXIT when all went as planned). */
static int trial(void *arg)
{
	bool exec_after = *(bool *)arg;
	aio_context_t ctx = t_setup_ctx(16);
	pthread_t creators[CREATORS];
	struct iocb cb, *list = &cb;
	struct partner part = { 0 };
	int p[2];
	char c;

	if (pipe2(p, O_CLOEXEC))
		_exit(4);
	if (!sh_warm_up(ctx))
		_exit(5);
	for (int i = 0; i < CREATORS; i++)
		if (pthread_create(&creators[i], NULL, creator, NULL))
			_exit(6);
	part.fd = p[1];
	if (pthread_create(&part.thread, NULL, partner_main, &part))
		_exit(6);
	/* Let the creators get going first. */
	usleep(2000);
	t_prep_pread(&cb, p[0], &c, 1, 0);
	atomic_store(&part.go, true);
	if (sys_io_submit(ctx, 1, &list) != 1)
		_exit(8);
	if (exec_after) {
		char *argv[] = { "syslet-clone-race", "--exit", NULL };

		execv("/proc/self/exe", argv);
		_exit(9);
	}
	/* exit_group() while the creators still run. */
	_exit(TRIAL_EXIT);
}

static enum t_result trials(bool exec_after)
{
	long long end = t_now_us() + BUDGET_S * 1000000LL;
	int n = 0;

	while (n < MAX_TRIALS && t_now_us() < end) {
		/* A trial takes well under a second: -1 means it hung or was killed. */
		int st = t_in_child(trial, &exec_after);

		n++;
		if (!T_EQ(st, TRIAL_EXIT)) {
			t_diag("trial %d: exit status %d", n, st);
			break;
		}
	}
	t_diag("%d trials", n);
	return t_result();
}

static enum t_result test_exit(void)
{
	return trials(false);
}

static enum t_result test_exec(void)
{
	return trials(true);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		{ "threads created during a leader handoff: exit_group() right after ends the process",
		  test_exit },
		{ "the same with execve() right after: the new image runs and exits", test_exec },
	};

	/* The image a trial execs: it only exits. */
	if (argc == 2 && !strcmp(argv[1], "--exit"))
		_exit(TRIAL_EXIT);
	t_require_syslet();
	return T_RUN(cases);
}
