// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: the thread list stays whole while the leader hands off:
 * /proc/PID/task lists every thread that never submitted exactly once, and
 * the process CPU clock never goes back.
 *
 * A leader handoff makes the helper the group leader.  The series used to
 * move the helper to the front of the thread list for that, deleting and
 * re-adding its node with no RCU grace period between (review C1): a
 * lockless walker standing on the helper went round again from the front.
 * Threads that never submit ("bystanders") keep their TID and their place
 * in the list, so no listing of /proc/self/task (one getdents64() each)
 * may hold one of them twice, however the leader hands off meanwhile; and
 * CLOCK_PROCESS_CPUTIME_ID, which sums the runtime of every thread on the
 * list, must never decrease.
 *
 * Only a helper that never led yet sits behind the bystanders on the list,
 * so in the listing sub-test every handoff goes to a new helper: each read
 * stays blocked, holding its former head, until the round ends, and the
 * pool makes the next helper at the end of the list.  Each round is a new
 * process.  No thread exits during a round (an exit can end a listing
 * early in any kernel).  A rescuer thread writes a read's pipe only if
 * io_submit() did not return.
 */
#include "syslet-helpers.h"

#include <stdatomic.h>
#include <time.h>

#define BYSTANDERS	8
/* Listing sub-test: processes, and handoffs (helpers) in each. */
#define ROUNDS		10
#define HANDOFFS	30
/* Clock sub-test: seconds, and threads that burn CPU. */
#define CLOCK_S		5
#define BUSY_THREADS	2

static atomic_bool stop;

struct bystander {
	pthread_t thread;
	atomic_int tid;
};

/* Never submits: its TID and its place in the thread list never change. */
static void *bystander_main(void *arg)
{
	struct bystander *b = arg;

	atomic_store(&b->tid, sh_gettid());
	while (!atomic_load(&stop))
		usleep(1000);
	return NULL;
}

struct lister {
	pthread_t thread;
	struct bystander *by;
	long listings;
	long twice;	/* listings that held a bystander twice */
	long missing;	/* listings without one (cut short) */
};

/* Lists /proc/self/task with one getdents64() at a time, without pause. */
static void *lister_main(void *arg)
{
	struct lister *l = arg;
	static char buf[32768];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		t_bail("open /proc/self/task: %s", strerror(errno));
	while (!atomic_load(&stop)) {
		int seen[BYSTANDERS] = { 0 };
		long n, off;

		if (lseek(fd, 0, SEEK_SET) < 0)
			t_bail("lseek /proc/self/task: %s", strerror(errno));
		n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n < 0)
			t_bail("getdents64 /proc/self/task: %s", strerror(errno));
		for (off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			int tid = atoi(de->d_name);

			for (int i = 0; i < BYSTANDERS; i++)
				if (tid == atomic_load(&l->by[i].tid))
					seen[i]++;
			off += de->d_reclen;
		}
		l->listings++;
		for (int i = 0; i < BYSTANDERS; i++) {
			if (seen[i] > 1 && l->twice++ < 3)
				t_diag("listing %ld: thread %d listed %d times",
				       l->listings, atomic_load(&l->by[i].tid), seen[i]);
			if (seen[i] == 0)
				l->missing++;
		}
	}
	close(fd);
	return NULL;
}

struct clock_reader {
	pthread_t thread;
	long reads, backwards;
};

/* Reads the process CPU clock without pause, counting backward steps. */
static void *clock_main(void *arg)
{
	struct clock_reader *c = arg;
	long long last = 0;

	while (!atomic_load(&stop)) {
		struct timespec ts;
		long long now;

		if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
			t_bail("clock_gettime: %s", strerror(errno));
		now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
		if (now < last && c->backwards++ < 3)
			t_diag("the process CPU clock went back by %lld ns", last - now);
		last = now;
		c->reads++;
	}
	return NULL;
}

/* Burns CPU, so that the clock has runtime to count twice or miss. */
static void *busy_main(void *arg)
{
	volatile unsigned long spin = 0;

	while (!atomic_load(&stop))
		spin++;
	return arg;
}

struct rescuer {
	pthread_t thread;
	atomic_int fd;
	/* When io_submit() was entered (t_now_us()), 0 once it returned. */
	atomic_llong armed_at;
	long wrote;
};

/* Writes the pipe if a read did not hand off within SH_HANDOFF_MS. */
static void *rescuer_main(void *arg)
{
	struct rescuer *r = arg;

	while (!atomic_load(&stop)) {
		long long t = atomic_load(&r->armed_at);

		if (t && t_now_us() - t > SH_HANDOFF_MS * 1000LL &&
		    atomic_compare_exchange_strong(&r->armed_at, &t, 0)) {
			if (write(atomic_load(&r->fd), "R", 1) != 1)
				t_bail("rescuer write: %s", strerror(errno));
			r->wrote++;
		}
		usleep(1000);
	}
	return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(t, NULL, fn, arg);

	if (err)
		t_bail("pthread_create: %s", strerror(err));
}

static void start_bystanders(struct bystander *by)
{
	for (int i = 0; i < BYSTANDERS; i++) {
		atomic_store(&by[i].tid, 0);
		start(&by[i].thread, bystander_main, &by[i]);
	}
	for (int i = 0; i < BYSTANDERS; i++)
		while (!atomic_load(&by[i].tid))
			usleep(100);
}

/*
 * io_submit() of a PREAD of @fd (an empty pipe whose other end is
 * @wfd): true if it handed off, i.e. returned 1 before the rescuer wrote
 * and with no event in the ring yet.  *@sync counts reads that did not.
 */
static bool hand_off_read(aio_context_t ctx, struct rescuer *r, struct iocb *cb, char *ch,
			  int fd, int wfd, uint64_t data, long *sync)
{
	struct timespec zero = { 0, 0 };
	struct iocb *list = cb;
	struct io_event ev;
	long ret;

	t_prep_pread(cb, fd, ch, 1, 0);
	cb->aio_data = data;
	atomic_store(&r->fd, wfd);
	atomic_store(&r->armed_at, t_now_us());
	ret = sys_io_submit(ctx, 1, &list);
	/* Nonzero: io_submit() returned before the rescuer wrote. */
	if (atomic_exchange(&r->armed_at, 0) && T_EQ(ret, 1) &&
	    sys_io_getevents(ctx, 0, 1, &ev, &zero) == 0)
		return true;
	(*sync)++;
	return false;
}

/* Reaps @n events, each a 1-byte read with aio_data 1 to @n once. */
static bool reap_reads(aio_context_t ctx, int n)
{
	bool seen[HANDOFFS + 1] = { false };
	bool ok = true;

	for (int i = 0; i < n; i++) {
		struct io_event ev;

		if (!T_EQ(t_reap(ctx, &ev, 1, 5000), 1))
			return false;
		ok &= T_EQ(ev.res, 1);
		if (!T_TRUE(ev.data >= 1 && ev.data <= (uint64_t)n && !seen[ev.data]))
			return false;
		seen[ev.data] = true;
	}
	return ok;
}

/*
 * One round: HANDOFFS reads of empty pipes, each handed off to a new
 * helper and left blocked, while the lister lists the threads.
 */
static enum t_result scenario_listing(void)
{
	struct bystander by[BYSTANDERS];
	struct lister l = { .by = by };
	struct rescuer r = { 0 };
	static struct iocb cbs[HANDOFFS];
	static int pipes[HANDOFFS][2];
	static char chs[HANDOFFS];
	aio_context_t ctx = t_setup_ctx(2 * HANDOFFS);
	long handoffs = 0, sync = 0;
	int n;

	start_bystanders(by);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	start(&r.thread, rescuer_main, &r);
	start(&l.thread, lister_main, &l);

	for (n = 0; n < HANDOFFS; n++) {
		struct iocb *none = NULL;

		if (pipe2(pipes[n], O_CLOEXEC))
			t_bail("pipe: %s", strerror(errno));
		/* The last handoff took the helper: the pool makes one, at the end. */
		if (n)
			T_EQ(sys_io_submit(ctx, 0, &none), 0);
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		if (!hand_off_read(ctx, &r, &cbs[n], &chs[n], pipes[n][0], pipes[n][1], n + 1, &sync))
			break;
		handoffs++;
	}
	atomic_store(&stop, true);
	pthread_join(l.thread, NULL);
	pthread_join(r.thread, NULL);
	for (int i = 0; i < n + (n < HANDOFFS); i++)
		if (i < n && write(pipes[i][1], "c", 1) != 1)
			t_bail("write to the pipe: %s", strerror(errno));
	reap_reads(ctx, n + (n < HANDOFFS && r.wrote));
	for (int i = 0; i < BYSTANDERS; i++)
		pthread_join(by[i].thread, NULL);

	t_diag("%ld handoffs to new helpers, %ld listings (%ld cut short by an exit)",
	       handoffs, l.listings, l.missing);
	T_TRUE(l.listings > 0);
	T_EQ(l.twice, 0);
	T_EQ(handoffs, HANDOFFS);
	T_EQ(sync, 0);
	return t_result();
}

/*
 * The main thread, which leads the group, hands off reads of an empty pipe
 * for CLOCK_S seconds, completing each at once, while threads burn CPU and
 * one reads the process CPU clock.
 */
static enum t_result scenario_clock(void)
{
	struct bystander by[BYSTANDERS];
	struct clock_reader c = { 0 };
	struct rescuer r = { 0 };
	pthread_t busy[BUSY_THREADS];
	aio_context_t ctx = t_setup_ctx(16);
	long handoffs = 0, sync = 0, bad = 0;
	long long end;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	start_bystanders(by);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	start(&r.thread, rescuer_main, &r);
	for (int i = 0; i < BUSY_THREADS; i++)
		start(&busy[i], busy_main, NULL);
	start(&c.thread, clock_main, &c);

	end = t_now_us() + CLOCK_S * 1000000LL;
	for (uint64_t i = 1; t_now_us() < end; i++) {
		struct io_event ev;
		struct iocb cb;
		char ch = 0;

		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		if (hand_off_read(ctx, &r, &cb, &ch, p[0], p[1], i, &sync)) {
			handoffs++;
			if (write(p[1], "c", 1) != 1)
				t_bail("write to the pipe: %s", strerror(errno));
		}
		if (!T_EQ(t_reap(ctx, &ev, 1, 5000), 1))
			break;
		if ((ev.data != i || ev.res != 1) && bad++ < 3)
			t_diag("read %llu: event data %llu res %lld", (unsigned long long)i,
			       (unsigned long long)ev.data, (long long)ev.res);
	}

	atomic_store(&stop, true);
	for (int i = 0; i < BYSTANDERS; i++)
		pthread_join(by[i].thread, NULL);
	pthread_join(r.thread, NULL);
	for (int i = 0; i < BUSY_THREADS; i++)
		pthread_join(busy[i], NULL);
	pthread_join(c.thread, NULL);
	t_diag("%ld leader handoffs, %ld clock reads", handoffs, c.reads);
	T_TRUE(c.reads > 0);
	T_EQ(c.backwards, 0);
	T_TRUE(handoffs > 0);
	T_EQ(sync, 0);
	T_EQ(bad, 0);
	return t_result();
}

static enum t_result test_listing(void)
{
	for (int i = 0; i < ROUNDS; i++)
		if (sh_in_child(scenario_listing) != T_PASS) {
			t_diag("round %d of %d failed", i + 1, ROUNDS);
			return T_FAIL;
		}
	return t_result();
}

static enum t_result test_clock(void)
{
	return sh_in_child(scenario_clock);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "/proc/self/task never lists a thread twice while leadership passes to new helpers",
		  test_listing },
		{ "CLOCK_PROCESS_CPUTIME_ID never goes back during leader handoffs", test_clock },
	};

	t_require_syslet();
	return T_RUN(cases);
}
