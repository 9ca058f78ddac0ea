// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: the two wakeups of a handoff, raced.  The head wakes the
 * parked helper it picked, and the helper, done taking the user context
 * over, wakes the head if the head's operation ended meanwhile and it
 * waits in syslet_disarm().  Reads that a writer completes 0 to 3 ms
 * after io_submit(), in four threads at once, put the head's wait right
 * on the helper's wakeup: every event must come (a lost wakeup leaves
 * the head asleep for ever, its event never posted; review finding C3).
 * A process killed just after one of its threads handed a read off has
 * the helper wake on its own and exit while the head may not yet have
 * woken it: the process must die of SIGKILL and be reaped, and a wakeup
 * of the freed helper is a use-after-free that KASAN reports (C2).
 */
#include "syslet-helpers.h"

#define READERS		4

static atomic_int stop_readers;

struct reader {
	pthread_t thread;
	long rounds, wrong;
	long first_bad;		/* the res of the first wrong read */
};

/* Reads completed 0 to 3 ms after io_submit(), each with its event in 5 s. */
static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	aio_context_t ctx = t_setup_ctx(8);

	sh_warm_up(ctx);
	while (!atomic_load(&stop_readers)) {
		long res = sh_read_soon(ctx, (int)(r->rounds % 4));

		if (res != 1 && !r->wrong++)
			r->first_bad = res;
		r->rounds++;
		/* A read whose event never came: its head is stuck; stop here. */
		if (res == -EIO)
			break;
	}
	sys_io_destroy(ctx);
	return NULL;
}

static enum t_result readers_child(void)
{
	struct reader r[READERS] = { 0 };
	struct sh_trace handoffs;
	long rounds = 0, wrong = 0, handed;

	sh_trace_start(&handoffs, "syslet_handoff");
	for (int i = 0; i < READERS; i++)
		if (pthread_create(&r[i].thread, NULL, reader_fn, &r[i]))
			t_bail("pthread_create: %s", strerror(errno));
	usleep((3 + sh_stress_seconds(0)) * 1000000);
	atomic_store(&stop_readers, 1);
	for (int i = 0; i < READERS; i++) {
		pthread_join(r[i].thread, NULL);
		rounds += r[i].rounds;
		wrong += r[i].wrong;
		if (r[i].wrong)
			t_diag("reader %d: %ld of %ld reads wrong, the first with res %ld%s", i,
			       r[i].wrong, r[i].rounds, r[i].first_bad,
			       r[i].first_bad == -EIO ? " (no event in 5 s)" : "");
	}
	handed = sh_trace_count(&handoffs, NULL);
	sh_trace_stop(&handoffs);
	t_diag("%ld reads in %d threads, %ld handoffs", rounds, READERS, handed);
	T_EQ(wrong, 0);
	T_TRUE(rounds >= READERS);
	/* The race is only there if reads handed off. */
	T_TRUE(handed > 0);
	return t_result();
}

static enum t_result test_reads_end_in_takeover(void)
{
	if (!t_is_root())
		return t_skip("counting handoffs needs the trace events: root");
	return sh_in_child(readers_child);
}

/* The thread of the victim: a helper parked, then a read that blocks and hands off. */
static int victim_ready;

static void *victim_thread(void *p)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct iocb cb, *list = &cb;
	int pfd[2];
	char c;

	(void)p;
	if (!sh_warm_up(ctx) || pipe2(pfd, O_CLOEXEC))
		_exit(2);
	t_prep_pread(&cb, pfd[0], &c, 1, 0);
	if (write(victim_ready, "s", 1) != 1)
		_exit(3);
	sys_io_submit(ctx, 1, &list);
	/* Handed off or not, the parent's SIGKILL ends us here. */
	for (;;)
		pause();
	return NULL;
}

/*
 * A process killed @delay_us after one of its threads (not its leader:
 * a thread's task is freed as soon as it exits) was about to hand a read
 * off.  True if it died of SIGKILL and was reaped within 10 s.
 */
static bool kill_in_handoff(long delay_us)
{
	int ready[2], st = 0;
	pid_t pid;
	char c;
	bool ok;

	if (pipe2(ready, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	pid = t_fork();
	if (pid == 0) {
		pthread_t th;

		close(ready[0]);
		victim_ready = ready[1];
		sh_watchdog(30);
		if (pthread_create(&th, NULL, victim_thread, NULL))
			_exit(4);
		for (;;)
			pause();
	}
	close(ready[1]);
	ok = T_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	usleep(delay_us);
	T_EQ(kill(pid, SIGKILL), 0);
	if (!T_TRUE(t_wait_child(pid, &st, 10, false)))
		return false;
	if (!T_TRUE(WIFSIGNALED(st)) || !T_EQ(WTERMSIG(st), SIGKILL))
		t_diag("status %#x after SIGKILL", st);
	return ok && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static enum t_result test_kill_in_handoff(void)
{
	unsigned int seed = (unsigned int)getpid();
	int rounds = 0;

	/* First after the read has surely blocked, then at once or within 2 ms. */
	if (kill_in_handoff(100000))
		for (rounds = 1; rounds < 40; rounds++)
			if (!kill_in_handoff(rand_r(&seed) % 2000))
				break;
	t_diag("%d processes killed in a handoff", rounds);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "4 threads' reads completed 0-3 ms after io_submit(): every event comes",
		  test_reads_end_in_takeover },
		{ "a process killed as its thread hands a read off dies of SIGKILL, reaped",
		  test_kill_in_handoff },
	};

	t_require_syslet();
	return T_RUN(cases);
}
