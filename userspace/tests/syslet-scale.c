// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: many threads and contexts at once.  16 threads read in a
 * loop, each read handing off or not, on one shared context and on one
 * context each, with fs.aio-syslet-max-threads at 4: every read ends in
 * exactly one event with its byte, and the process never has more than
 * 4 helpers.  Two contexts with a handed-off read each:
 * io_destroy() of one ends its read and leaves the other's, which ends
 * with its data.  A handed-off read with IOCB_FLAG_RESFD adds exactly one
 * to its eventfd, when it ends.
 */
#include "syslet-helpers.h"

#include <sys/eventfd.h>

#define NR_THREADS	16
#define MAX_HELPERS	4
#define SCALE_READS	20

struct reader {
	pthread_t th;
	aio_context_t ctx;	/* shared, or 0: the thread makes its own */
	int ok, bad;
};

static atomic_int go;
static struct reader readers[NR_THREADS];

/*
 * Thread @tid is a helper (PF_USER_WORKER): parked, or finishing an
 * operation; not one that is exiting, which the pool no longer counts.
 */
struct helper_set {
	int n;
	pid_t tid[NR_THREADS * 4];
};

static bool is_helper(pid_t pid, pid_t tid, void *arg)
{
	struct helper_set *set = arg;
	unsigned long flags;
	char state;

	if (!t_task_stat(pid, tid, &state, &flags) || !(flags & SH_PF_USER_WORKER) ||
	    (flags & SH_PF_EXITING) || state == 'Z' || state == 'X')
		return false;
	if (set->n < (int)(sizeof(set->tid) / sizeof(set->tid[0])))
		set->tid[set->n++] = tid;
	return true;
}

/*
 * The helpers at one moment, or -1.  A handoff moves the flag from the
 * helper to the former head: one scan of /proc can see both flagged,
 * one before the move and one after.  Two scans that find the same
 * threads saw no move in between.
 */
static int helpers_now(void)
{
	struct helper_set a = { 0 }, b = { 0 };

	sh_each_task(getpid(), is_helper, &a);
	sh_each_task(getpid(), is_helper, &b);
	if (a.n != b.n || memcmp(a.tid, b.tid, a.n * sizeof(a.tid[0])))
		return -1;
	return a.n;
}

/*
 * The most helpers the pool counted (nr_threads of each syslet_park
 * event of ours: every helper alive, former heads still blocked
 * included), or -1 without an event.
 */
static int most_parked_with(struct sh_trace *t)
{
	char path[256], line[512], tgid[32];
	unsigned int nr;
	int most = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", t->dir);
	snprintf(tgid, sizeof(tgid), "tgid=%d ", (int)getpid());
	f = fopen(path, "re");
	if (!f)
		t_bail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " nr_threads=");

		if (line[0] != '#' && strstr(line, tgid) && p && sscanf(p, " nr_threads=%u", &nr) == 1 &&
		    (int)nr > most)
			most = (int)nr;
	}
	fclose(f);
	return most;
}

/* Shared context: any thread may reap any read's event; each is marked once here. */
static atomic_int seen[NR_THREADS][SCALE_READS];
static char bufs[NR_THREADS][SCALE_READS];

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	aio_context_t ctx = r->ctx;
	int me = (int)(r - readers);

	if (!ctx && sys_io_setup(SCALE_READS, &ctx))
		return NULL;
	while (!atomic_load(&go))
		usleep(100);
	for (int i = 0; i < SCALE_READS; i++) {
		struct iocb cb, *list = &cb;
		struct t_writer w;
		struct io_event ev;
		int p[2];

		if (!r->ctx) {
			/* A context of its own: sh_read_soon() reaps its own read. */
			if (sh_read_soon(ctx, 2 + i % 5) == 1)
				r->ok++;
			else
				r->bad++;
			continue;
		}
		if (pipe2(p, O_CLOEXEC))
			t_bail("pipe2: %s", strerror(errno));
		t_prep_pread(&cb, p[0], &bufs[me][i], 1, 0);
		cb.aio_data = (uint64_t)me << 16 | (uint64_t)i;
		t_writer_start(&w, p[1], "x", 1, 2 + i % 5);
		if (sys_io_submit(ctx, 1, &list) != 1) {
			r->bad++;
		} else if (t_reap(ctx, &ev, 1, 5000) != 1) {
			r->bad++;
		} else {
			/* Someone's read ended: once, with its byte. */
			int t = (int)(ev.data >> 16), k = (int)(ev.data & 0xffff);

			if (t < NR_THREADS && k < SCALE_READS && ev.res == 1 &&
			    atomic_fetch_add(&seen[t][k], 1) == 0 && bufs[t][k] == 'x')
				r->ok++;
			else
				r->bad++;
		}
		/* The writer is a rescuer that a stop cancels: let it write first. */
		while (!atomic_load(&w.wrote_us))
			usleep(500);
		t_writer_stop(&w);
		close(p[0]);
		close(p[1]);
	}
	if (!r->ctx)
		sys_io_destroy(ctx);
	return r;
}

static enum t_result many(bool shared)
{
	struct reader *rs = readers;
	aio_context_t ctx = shared ? t_setup_ctx(NR_THREADS * 2) : 0;
	bool joined[NR_THREADS] = { false };
	int most = 0, ok = 0, bad = 0, done = 0, samples = 0, counted;
	struct sh_trace parks;

	atomic_store(&go, 0);
	sh_trace_start(&parks, "syslet_park");
	for (int i = 0; i < NR_THREADS; i++) {
		rs[i] = (struct reader){ .ctx = ctx };
		if (pthread_create(&rs[i].th, NULL, reader_fn, &rs[i]))
			t_bail("pthread_create: %s", strerror(errno));
	}
	atomic_store(&go, 1);
	/* Count the helpers until every reader is done. */
	while (done < NR_THREADS) {
		int n = helpers_now();

		if (n >= 0)
			samples++;
		if (n > most)
			most = n;
		for (int i = 0; i < NR_THREADS; i++)
			if (!joined[i] && pthread_tryjoin_np(rs[i].th, NULL) == 0) {
				joined[i] = true;
				done++;
			}
		usleep(2000);
	}
	for (int i = 0; i < NR_THREADS; i++) {
		ok += rs[i].ok;
		bad += rs[i].bad;
		for (int k = 0; shared && k < SCALE_READS; k++)
			if (atomic_load(&seen[i][k]) != 1) {
				t_diag("read %d of thread %d: %d events", k, i, atomic_load(&seen[i][k]));
				bad++;
			}
	}
	counted = most_parked_with(&parks);
	sh_trace_stop(&parks);
	t_diag("%d reads ended right, %d not; at most %d helpers in the pool's count, %d seen "
	       "at once in /proc (%d samples)", ok, bad, counted, most, samples);
	T_EQ(ok, NR_THREADS * SCALE_READS);
	T_EQ(bad, 0);
	/* The pool's own count, at each park, and what /proc showed when it held still. */
	T_TRUE(counted >= 1);
	T_TRUE(counted <= MAX_HELPERS);
	T_TRUE(most <= MAX_HELPERS);
	if (shared)
		T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result many_shared(void)
{
	return many(true);
}

static enum t_result many_private(void)
{
	return many(false);
}

static enum t_result test_shared(void)
{
	return sh_in_child_max_threads(MAX_HELPERS, many_shared);
}

static enum t_result test_private(void)
{
	return sh_in_child_max_threads(MAX_HELPERS, many_private);
}

static enum t_result two_contexts(void)
{
	aio_context_t a = t_setup_ctx(8), b = t_setup_ctx(8);
	struct timespec zero = { 0, 0 };
	struct sh_block ra, rb;
	struct io_event ev;
	long long t0;

	if (!sh_warm_up(a) || !sh_handoff(&ra, a, SH_READ_DATA))
		return T_FAIL;
	if (!sh_refill(a) || !sh_handoff(&rb, b, SH_READ_DATA + 1))
		return T_FAIL;
	t0 = t_now_us();
	T_EQ(sys_io_destroy(a), 0);
	t_diag("io_destroy() of the first context took %lld us", t_now_us() - t0);
	T_TRUE(t_now_us() - t0 < 5000000);
	T_ERRNO(sys_io_getevents(a, 0, 1, &ev, &zero), EINVAL);
	close(ra.pfd[0]);
	close(ra.pfd[1]);
	/* The other context's read is still there, and ends with its data. */
	T_NO_EVENT(b, 0);
	T_TRUE(sh_block_finish(&rb));
	T_EQ(sys_io_destroy(b), 0);
	return t_result();
}

static enum t_result test_two_contexts(void)
{
	return sh_in_child(two_contexts);
}

static enum t_result resfd(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	uint64_t count = 0;
	struct sh_block b;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	if (!sh_warm_up(ctx) || !T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return T_FAIL;
	sh_block_start(&b, ctx, SH_READ_DATA, SH_HANDOFF_MS);
	b.cb.aio_flags = IOCB_FLAG_RESFD;
	b.cb.aio_resfd = (uint32_t)efd;
	T_TRUE(sh_expect_handoff(&b, sh_block_submit(&b)));
	/* Nothing yet: the read is still blocked. */
	T_ERRNO(read(efd, &count, sizeof(count)), EAGAIN);
	T_TRUE(sh_block_finish(&b));
	/* The signal may come just after the event was reaped: waited for. */
	T_EQ(sh_eventfd_wait(efd, 5000), 1);
	/* No second signal, however late. */
	T_EQ(sh_eventfd_wait(efd, 200), 0);
	T_ERRNO(read(efd, &count, sizeof(count)), EAGAIN);
	close(efd);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_resfd(void)
{
	return sh_in_child(resfd);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "16 threads, one shared context, at most 4 helpers: every read ends once, no thread over the bound",
		  test_shared },
		{ "16 threads, a context each, at most 4 helpers: every read ends once, no thread over the bound",
		  test_private },
		{ "two contexts with a handed-off read each: io_destroy() of one leaves the other's read, which ends",
		  test_two_contexts },
		{ "a handed-off read with IOCB_FLAG_RESFD adds exactly 1 to its eventfd, when it ends",
		  test_resfd },
	};

	t_require_syslet_exclusive();
	return T_RUN(cases);
}
