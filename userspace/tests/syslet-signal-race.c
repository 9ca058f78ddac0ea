// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: queued signals sent to a thread while it hands off again and
 * again: each delivered once, in that thread, none stranded on a helper.
 *
 * tgkill() and rt_tgsigqueueinfo() look the target up by TID, then queue
 * under siglock: a signal can land on a head after its TID moved to the
 * helper, and the head, parked, blocks everything.  The kernel passes such
 * signals on to whoever holds the TID.  Here one thread hands a pipe read
 * off in a loop (a partner completes each at once) while another keeps up
 * to 64 numbered SIGRTMIN signals queued for it; its handler records each
 * number and the thread it ran in.  The third sub-test adds two threads
 * that create and join threads without pause, as the leader's handoffs
 * move group leadership (the 10-minute stress of the debug flavour sets
 * AIO_SYSLET_STRESS_SECONDS=600).
 */
#include "syslet-helpers.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Seconds; for the third sub-test, AIO_SYSLET_STRESS_SECONDS when set. */
#define BUDGET_S	10
/* Enough for 10 minutes at the rate TCG reaches. */
#define MAX_SIGNALS	4000000
#define IN_FLIGHT	64

static atomic_int received, wrong_thread, duplicates, sent, churned;
static atomic_bool done;
/*
 * Open while the target has SIGRTMIN blocked around a read: signals are
 * sent only then, so that they race the handoffs, and the handler has
 * the rest of the time to itself (a sender that never paused could keep
 * it running handlers for ever).
 */
static atomic_bool window;
/* Threads created and exiting around the handoffs (review finding C1). */
static bool with_churn;
static unsigned char seen[MAX_SIGNALS + 1];
static pid_t target_tid;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	int seq = si->si_value.sival_int;

	(void)sig;
	(void)uc;
	if (sh_gettid() != target_tid)
		atomic_fetch_add(&wrong_thread, 1);
	if (seq < 1 || seq > MAX_SIGNALS || seen[seq]++)
		atomic_fetch_add(&duplicates, 1);
	atomic_fetch_add(&received, 1);
}

static void *sender(void *arg)
{
	pid_t pid = getpid();

	(void)arg;
	while (!atomic_load(&done) && atomic_load(&sent) < MAX_SIGNALS) {
		siginfo_t si;

		if (!atomic_load(&window) ||
		    atomic_load(&sent) - atomic_load(&received) >= IN_FLIGHT) {
			sched_yield();
			continue;
		}
		memset(&si, 0, sizeof(si));
		si.si_signo = SIGRTMIN;
		si.si_code = SI_QUEUE;
		si.si_pid = pid;
		si.si_uid = getuid();
		si.si_value.sival_int = atomic_load(&sent) + 1;
		if (syscall(SYS_rt_tgsigqueueinfo, pid, target_tid, SIGRTMIN, &si)) {
			if (errno == EAGAIN) {
				sched_yield();
				continue;
			}
			t_bail("rt_tgsigqueueinfo: %s", strerror(errno));
		}
		atomic_fetch_add(&sent, 1);
	}
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

/* Creates and joins threads without pause until done. */
static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		pthread_t t;
		int err = pthread_create(&t, NULL, nothing, NULL);

		if (err == EAGAIN) {
			sched_yield();
			continue;
		}
		if (!err)
			err = pthread_join(t, NULL);
		if (err)
			t_bail("churn: pthread_create/join: %s", strerror(err));
		atomic_fetch_add(&churned, 1);
	}
	return NULL;
}

/* Completes the read of each pipe it is handed a few microseconds later. */
struct partner {
	pthread_t thread;
	atomic_int fd;		/* the pipe to write next; -1: nothing; -2: stop */
};

static void *partner_main(void *arg)
{
	struct partner *p = arg;

	for (;;) {
		int fd = atomic_exchange(&p->fd, -1);

		if (fd == -2)
			return NULL;
		if (fd < 0) {
			sched_yield();
			continue;
		}
		usleep(10);
		if (write(fd, "p", 1) != 1)
			t_bail("partner: write: %s", strerror(errno));
	}
}

static enum t_result signal_race(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct partner part = { .fd = -1 };
	long long end, wait_end;
	pthread_t snd, ch[2];
	struct sigaction sa;
	sigset_t rt;
	int p[2], n = 0, err;
	bool ok = true;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL))
		t_bail("sigaction: %s", strerror(errno));
	target_tid = sh_gettid();
	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		return T_FAIL;
	err = pthread_create(&part.thread, NULL, partner_main, &part);
	if (!err)
		err = pthread_create(&snd, NULL, sender, NULL);
	for (int i = 0; with_churn && i < 2 && !err; i++)
		err = pthread_create(&ch[i], NULL, churn, NULL);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	end = t_now_us() + (with_churn ? sh_stress_seconds(BUDGET_S) : BUDGET_S) * 1000000LL;
	while (ok && t_now_us() < end) {
		struct iocb cb, *list = &cb;
		struct io_event ev;
		char c;

		/*
		 * Blocked while the read runs, so that none interrupts it
		 * (stock would end it with -EINTR): they queue, on our TID
		 * wherever it moves, and run when unblocked.
		 */
		pthread_sigmask(SIG_BLOCK, &rt, NULL);
		atomic_store(&window, true);
		t_prep_pread(&cb, p[0], &c, 1, 0);
		atomic_store(&part.fd, p[1]);
		ok = T_EQ(sys_io_submit(ctx, 1, &list), 1);
		ok = ok && T_EQ(t_reap(ctx, &ev, 1, 5000), 1) && T_EQ(ev.res, 1);
		atomic_store(&window, false);
		pthread_sigmask(SIG_UNBLOCK, &rt, NULL);
		n++;
	}
	atomic_store(&done, true);
	err = pthread_join(snd, NULL);
	for (int i = 0; with_churn && i < 2 && !err; i++)
		err = pthread_join(ch[i], NULL);
	atomic_store(&part.fd, -2);
	if (!err)
		err = pthread_join(part.thread, NULL);
	if (err)
		t_bail("pthread_join: %s", strerror(err));
	/* Each one queued for us runs here, promptly: nothing waits on a helper. */
	wait_end = t_now_us() + 5000000;
	while (atomic_load(&received) < atomic_load(&sent) && t_now_us() < wait_end)
		usleep(1000);
	t_diag("%d reads, %d signals sent, %d received, %d threads created and joined",
	       n, atomic_load(&sent), atomic_load(&received), atomic_load(&churned));
	if (with_churn)
		T_TRUE(atomic_load(&churned) > 0);
	T_EQ(atomic_load(&received), atomic_load(&sent));
	T_TRUE(atomic_load(&sent) > 0);
	T_EQ(atomic_load(&wrong_thread), 0);
	T_EQ(atomic_load(&duplicates), 0);
	signal(SIGRTMIN, SIG_DFL);
	close(p[0]);
	close(p[1]);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_leader(void)
{
	return sh_in_child(signal_race);
}

static enum t_result signal_race_churn(void)
{
	with_churn = true;
	return signal_race();
}

static enum t_result test_leader_churn(void)
{
	return sh_in_child(signal_race_churn);
}

static enum t_result signal_race_thread(void)
{
	return sh_in_thread(signal_race);
}

static enum t_result test_thread(void)
{
	return sh_in_child(signal_race_thread);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: numbered RT signals during handoffs: each once, all in our thread", test_leader },
		{ "thread: the same in a thread that does not lead the group", test_thread },
		{ "leader: the same while two threads create and join threads", test_leader_churn },
	};

	t_require_syslet();
	return T_RUN(cases);
}
