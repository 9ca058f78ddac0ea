/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the syslet cases: a watchdog, running a scenario in
 * the thread-group leader, in a second pthread or in a forked child, the
 * warm-up that leaves a helper parked, and a PREAD on an empty pipe that
 * blocks, so that io_submit() hands off, until the case writes the pipe.
 *
 * A handoff is proven, not timed: io_submit() returned 1 while the event
 * is not in the ring and nothing wrote the pipe yet.  A "rescuer" thread
 * writes the pipe if io_submit() has not returned within SH_HANDOFF_MS
 * (syslet-threads.h), so a synchronous io_submit() fails the check instead
 * of hanging.
 */
#ifndef AIO_SYSLET_SYSLET_HELPERS_H
#define AIO_SYSLET_SYSLET_HELPERS_H

#include "t.h"
#include "syslet-threads.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* aio_data of the warm-up's iocbs, and of sh_read_runs()'s. */
#define SH_WARM_DATA		0x5757000000000000ULL
#define SH_READ_DATA		0x5252000000000000ULL
/* Exit status of a forked scenario that passed: distinct from 0 on purpose. */
#define SH_CHILD_PASS		42
/* How long a PREAD that should run synchronously waits for its rescuer. */
#define SH_SYNC_MS		300

static inline void sh_alarm(int sig)
{
	static const char msg[] = "Bail out! watchdog: the sub-test hung\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(98);
}

/*
 * A sub-test that hangs fails: the program bails out after @seconds.
 * t_run() disarms it as the sub-test returns, whichever way.
 */
static inline void sh_watchdog(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = sh_alarm };

	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

static inline pid_t sh_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * How long a stress sub-test runs, in seconds: @dflt, or
 * AIO_SYSLET_STRESS_SECONDS when set (the 10-minute runs of the debug
 * flavour).  Bails on a value that is not a positive number.
 */
static inline unsigned int sh_stress_seconds(unsigned int dflt)
{
	const char *v = getenv("AIO_SYSLET_STRESS_SECONDS");
	char *end;
	unsigned long n;

	if (!v || !*v)
		return dflt;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n == 0 || n > 86400)
		t_bail("AIO_SYSLET_STRESS_SECONDS=%s: expected seconds, 1 to 86400", v);
	return (unsigned int)n;
}

struct sh_thread_arg {
	enum t_result (*fn)(void);
	enum t_result r;
};

static inline void *sh_thread_main(void *p)
{
	struct sh_thread_arg *a = p;

	a->r = a->fn();
	return p;
}

/* Runs @fn in a new pthread, which does not lead the thread group. */
static inline enum t_result sh_in_thread(enum t_result (*fn)(void))
{
	struct sh_thread_arg a = { fn, T_FAIL };
	struct timespec ts;
	void *ret = NULL;
	pthread_t th;
	int err;

	err = pthread_create(&th, NULL, sh_thread_main, &a);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30 + sh_stress_seconds(0);
	err = pthread_timedjoin_np(th, &ret, &ts);
	if (err)
		t_bail("pthread_join of the test thread: %s", strerror(err));
	T_TRUE(ret == &a);
	return a.r;
}

/* sh_in_child() and sh_in_traced_child(). */
static inline enum t_result sh_fork_scenario(enum t_result (*fn)(void), bool traced)
{
	/* A stress budget beyond the usual 40 s stretches the watchdogs. */
	unsigned int budget = 40 + sh_stress_seconds(0);
	pid_t pid;
	int st = 0;

	pid = t_fork();
	if (pid == 0) {
		enum t_result r;

		sh_watchdog(budget);
		r = fn();
		fflush(stdout);
		if (t_result() == T_FAIL)
			r = T_FAIL;
		_exit(r == T_PASS ? SH_CHILD_PASS : r == T_SKIP ? T_SKIP : 1);
	}
	if (!t_wait_child(pid, &st, budget + 5, traced))
		return T_FAIL;
	if (WIFEXITED(st) && WEXITSTATUS(st) == T_SKIP)
		return t_skip("the child skipped (its diagnostic says why)");
	if (WIFSIGNALED(st))
		t_diag("child %d killed by signal %d", (int)pid, WTERMSIG(st));
	if (!T_TRUE(WIFEXITED(st)) || !T_EQ(WEXITSTATUS(st), SH_CHILD_PASS))
		return T_FAIL;
	return T_PASS;
}

/*
 * Runs @fn in a forked child process, in its main thread: the leader of
 * a new thread group.  The child exits SH_CHILD_PASS when @fn passed (77
 * when it skipped); the parent's waitpid() must return its pid and that
 * status.
 */
static inline enum t_result sh_in_child(enum t_result (*fn)(void))
{
	return sh_fork_scenario(fn, false);
}

/* sh_in_child() for an @fn that makes itself a tracee (PTRACE_TRACEME): stops are continued. */
static inline enum t_result sh_in_traced_child(enum t_result (*fn)(void))
{
	return sh_fork_scenario(fn, true);
}

/* sh_in_child_thread(): the scenario the forked child runs in a second thread. */
static enum t_result (*sh_child_thread_fn)(void);

static inline enum t_result sh_child_thread_main(void)
{
	return sh_in_thread(sh_child_thread_fn);
}

/*
 * Runs @fn in a second thread of a forked child: a thread that does not
 * lead its group, in a process of its own (no helper of the case's).
 */
static inline enum t_result sh_in_child_thread(enum t_result (*fn)(void))
{
	sh_child_thread_fn = fn;
	return sh_in_child(sh_child_thread_main);
}

/*
 * Sets fs.aio-syslet-max-threads to @n (root only: else skips); the
 * program must hold the exclusive syslet lock (t_require_syslet_exclusive()),
 * so that no other syslet case runs under the changed bound.  Returns the
 * value to put back with sh_restore_max_threads().
 */
static inline long long sh_set_max_threads(long long n)
{
	long long old;
	int err;

	if (!t_syslet_exclusive())
		t_bail("changing fs.aio-syslet-max-threads without t_require_syslet_exclusive()");
	old = t_read_sysctl(SH_MAX_THREADS_SYSCTL);
	err = t_write_sysctl(SH_MAX_THREADS_SYSCTL, n);
	if (err)
		t_bail("write %lld to %s: %s", n, SH_MAX_THREADS_SYSCTL, strerror(-err));
	return old;
}

static inline void sh_restore_max_threads(long long old)
{
	int err = t_write_sysctl(SH_MAX_THREADS_SYSCTL, old);

	if (err)
		t_bail("restore %s to %lld: %s", SH_MAX_THREADS_SYSCTL, old, strerror(-err));
}

/* sh_in_child() with fs.aio-syslet-max-threads set to @n, restored after; skipped without root. */
static inline enum t_result sh_in_child_max_threads(long long n, enum t_result (*fn)(void))
{
	enum t_result r;
	long long old;

	if (!t_is_root())
		return t_skip("changing fs.aio-syslet-max-threads needs root");
	old = sh_set_max_threads(n);
	r = sh_in_child(fn);
	sh_restore_max_threads(old);
	return r;
}

/*
 * Reads an eventfd's counter once it is readable, within @timeout_ms (0:
 * it was not).  aio_complete() posts the event first, then signals the
 * eventfd: a reaper can see the event before the signal.
 */
static inline uint64_t sh_eventfd_wait(int efd, int timeout_ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t count = 0;

	if (poll(&pfd, 1, timeout_ms) == 1 && read(efd, &count, sizeof(count)) != sizeof(count))
		t_bail("read of the eventfd: %s", strerror(errno));
	return count;
}

/*
 * io_submit() of @nr iocbs, the rest submitted again after each short
 * count, as fio and the updated libaio do; each call must take at least
 * one (checked).  Returns how many went in; the first call's return in
 * @first unless NULL.
 */
static inline long sh_submit_all(aio_context_t ctx, struct iocb **list, long nr, long *first)
{
	long done = 0, ret;

	if (first)
		*first = -1;
	while (done < nr) {
		ret = sys_io_submit(ctx, nr - done, list + done);
		if (first && *first < 0)
			*first = ret;
		if (!T_TRUE(ret > 0)) {
			t_diag("io_submit of %ld: %ld (%s)", nr - done, ret,
			       ret < 0 ? strerror(errno) : "no error");
			break;
		}
		done += ret;
	}
	return done;
}

/* One PREAD of an empty pipe, and what became of it. */
struct sh_block {
	aio_context_t ctx;
	int pfd[2];		/* the PREAD waits on pfd[0] */
	struct t_writer rescuer;	/* writes "R" to pfd[1] unless stopped first */
	bool rescuer_running;
	bool reaped;		/* the event was taken from the ring early */
	struct io_event ev;
	struct iocb cb;
	struct iocb *list[1];
	char buf[8];
	long long submit_us;	/* how long io_submit() took */
};

/*
 * Prepares in @b a PREAD of up to 8 bytes from a new empty pipe, with
 * @data as aio_data, and starts the rescuer, which writes "R" to the pipe
 * after @rescue_ms unless told that io_submit() returned.
 */
static inline void sh_block_start(struct sh_block *b, aio_context_t ctx, uint64_t data,
				  int rescue_ms)
{
	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	if (pipe2(b->pfd, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	t_prep_pread(&b->cb, b->pfd[0], b->buf, sizeof(b->buf), 0);
	b->cb.aio_data = data;
	b->list[0] = &b->cb;
	t_writer_start(&b->rescuer, b->pfd[1], "R", 1, rescue_ms);
	b->rescuer_running = true;
}

/* The rescuer wrote the pipe (so far). */
static inline bool sh_block_rescued(struct sh_block *b)
{
	return atomic_load(&b->rescuer.wrote_us) != 0;
}

/* io_submit() of the PREAD; returns what io_submit() returned. */
static inline long sh_block_submit(struct sh_block *b)
{
	long long t0 = t_now_us();
	long ret = sys_io_submit(b->ctx, 1, b->list);

	b->submit_us = t_now_us() - t0;
	return ret;
}

/* Tells the rescuer io_submit() returned; true if it had written the pipe. */
static inline bool sh_block_stop_rescuer(struct sh_block *b)
{
	if (b->rescuer_running) {
		t_writer_stop(&b->rescuer);
		b->rescuer_running = false;
	}
	return sh_block_rescued(b);
}

/*
 * io_submit() returned @ret: checks that it handed off, i.e. returned 1
 * while the PREAD still waits (no event yet, the pipe still empty).
 */
static inline bool sh_expect_handoff(struct sh_block *b, long ret)
{
	struct timespec zero = { 0, 0 };
	long n = sys_io_getevents(b->ctx, 0, 1, &b->ev, &zero);
	bool rescued = sh_block_stop_rescuer(b);
	bool ok = T_EQ(ret, 1);

	if (n == 1)
		b->reaped = true;
	if (!T_EQ(n, 0))
		t_diag("the event was in the ring when io_submit() returned: no handoff");
	if (!T_TRUE(!rescued))
		t_diag("io_submit() returned only after the pipe was written (%lld us): no handoff",
		       b->submit_us);
	return ok && n == 0 && !rescued;
}

/*
 * The opposite: io_submit() ran the PREAD to its end, returning 1 only
 * once the rescuer had written the pipe, with the event in the ring.
 */
static inline bool sh_expect_sync(struct sh_block *b, long ret)
{
	struct timespec zero = { 0, 0 };
	bool ok = T_EQ(ret, 1);
	long n;

	ok &= T_TRUE(sh_block_rescued(b));
	n = sys_io_getevents(b->ctx, 0, 1, &b->ev, &zero);
	if (n == 1)
		b->reaped = true;
	ok &= T_EQ(n, 1);
	sh_block_stop_rescuer(b);
	return ok;
}

/* The PREAD blocked in a handoff: starts it and checks that it handed off. */
static inline bool sh_handoff(struct sh_block *b, aio_context_t ctx, uint64_t data)
{
	sh_block_start(b, ctx, data, SH_HANDOFF_MS);
	return sh_expect_handoff(b, sh_block_submit(b));
}

/*
 * Completes the PREAD by writing "c" to the pipe (unless the rescuer
 * wrote) and reaps its event: exactly one, with the iocb's aio_data and
 * obj, res 1, the byte read; then no other event.  Closes the pipes.
 */
static inline bool sh_block_finish(struct sh_block *b)
{
	struct timespec zero = { 0, 0 };
	bool rescued = sh_block_stop_rescuer(b);
	char want = rescued ? 'R' : 'c';
	struct io_event extra;
	bool ok = true;

	if (!b->reaped) {
		if (!rescued && write(b->pfd[1], "c", 1) != 1)
			t_bail("write to the pipe: %s", strerror(errno));
		ok &= T_EQ(t_reap(b->ctx, &b->ev, 1, 5000), 1);
	}
	ok &= T_EQ(b->ev.data, b->cb.aio_data);
	ok &= T_EQ(b->ev.obj, (uintptr_t)&b->cb);
	ok &= T_EQ(b->ev.res, 1);
	ok &= T_EQ(b->ev.res2, 0);
	ok &= T_EQ(b->buf[0], want);
	ok &= T_EQ(sys_io_getevents(b->ctx, 0, 1, &extra, &zero), 0);
	close(b->pfd[0]);
	close(b->pfd[1]);
	return ok;
}

/*
 * A PREAD of an empty pipe from start to finish: true when io_submit()
 * handed it off (@handoff) or ran it synchronously (!@handoff), as
 * sh_expect_handoff() and sh_expect_sync() check, and its event is right.
 * A synchronous one waits SH_SYNC_MS for the rescuer.
 */
static inline bool sh_read_runs(aio_context_t ctx, bool handoff)
{
	struct sh_block b;
	bool ok;

	sh_block_start(&b, ctx, SH_READ_DATA, handoff ? SH_HANDOFF_MS : SH_SYNC_MS);
	if (handoff)
		ok = sh_expect_handoff(&b, sh_block_submit(&b));
	else
		ok = sh_expect_sync(&b, sh_block_submit(&b));
	return sh_block_finish(&b) && ok;
}

/*
 * Leaves a helper parked, so that the next blocking iocb hands off: a
 * block that finds no helper runs synchronously and asks the pool for
 * one, which the next io_submit() makes; it is usable once parked.
 */
static inline bool sh_warm_up(aio_context_t ctx)
{
	struct timespec ts = { 5, 0 };
	struct iocb cb, *list[1] = { &cb };
	struct io_event ev;
	struct sh_block b;
	bool ok = true;
	int pfd[2];
	char c = 0;

	/* Handed off if a helper is parked already, else synchronous for 50 ms. */
	sh_block_start(&b, ctx, SH_WARM_DATA, 50);
	ok &= T_EQ(sh_block_submit(&b), 1);
	ok &= sh_block_finish(&b);

	/* A PREAD of a pipe holding a byte does not block. */
	if (pipe2(pfd, O_CLOEXEC) || write(pfd[1], "p", 1) != 1)
		t_bail("pipe: %s", strerror(errno));
	t_prep_pread(&cb, pfd[0], &c, 1, 0);
	cb.aio_data = SH_WARM_DATA + 1;
	ok &= T_EQ(sys_io_submit(ctx, 1, list), 1);
	ok &= T_EQ(sys_io_getevents(ctx, 1, 1, &ev, &ts), 1);
	ok &= T_EQ(ev.data, SH_WARM_DATA + 1);
	ok &= T_EQ(ev.res, 1);
	close(pfd[0]);
	close(pfd[1]);

	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		ok = false;
	return ok;
}

/*
 * After a handoff took the parked helper: an empty io_submit() has the
 * pool make another, and this waits until it is parked.
 */
static inline bool sh_refill(aio_context_t ctx)
{
	struct iocb *none = NULL;

	T_EQ(sys_io_submit(ctx, 0, &none), 0);
	return T_TRUE(sh_wait_parked(1, SH_PARK_MS));
}

/*
 * Hands off a read of the empty pipe @p[0] into @c, left blocked until
 * @p[1] is written: an empty io_submit() first has the pool make a helper
 * if the last handoff took the one parked.  False (checked) if io_submit()
 * did not return before a writer rescued the read after SH_HANDOFF_MS.
 */
static inline bool sh_hand_off_read(aio_context_t ctx, struct iocb *cb, int p[2], char *c)
{
	struct iocb *list = cb;
	struct t_writer w;
	bool ok;

	t_prep_pread(cb, p[0], c, 1, 0);
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return false;
	t_writer_start(&w, p[1], "R", 1, SH_HANDOFF_MS);
	ok = T_EQ(sys_io_submit(ctx, 1, &list), 1);
	return T_EQ(t_writer_stop(&w), 0) && ok;
}

/*
 * One PREAD of a byte from a new pipe that a writer fills @delay_ms later,
 * from io_submit() to its event, whether it hands off or not: the loops of
 * the race cases.  Returns the event's res, or -EIO when io_submit() did
 * not take the iocb or no event came within 5 s.
 */
static inline long sh_read_soon(aio_context_t ctx, int delay_ms)
{
	struct iocb cb, *list = &cb;
	struct t_writer w;
	struct io_event ev;
	long res = -EIO;
	char c = 0;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	t_prep_pread(&cb, p[0], &c, 1, 0);
	t_writer_start(&w, p[1], "x", 1, delay_ms);
	if (sys_io_submit(ctx, 1, &list) == 1 && t_reap(ctx, &ev, 1, 5000) == 1)
		res = ev.res;
	t_writer_stop(&w);
	close(p[0]);
	close(p[1]);
	return res;
}

/*
 * A thread that hands off in a loop while the case acts on it by TID
 * (the race cases): sh_read_soon() over and over on @ctx until
 * sh_reader_stop().  sh_reader_start() returns once the thread has done 3
 * reads, its TID in r->tid; r->reads counts the reads done.
 */
struct sh_reader {
	aio_context_t ctx;
	int delay_ms;
	atomic_int tid;
	atomic_int stop;
	atomic_int reads;
	pthread_t th;
};

static inline void *sh_reader_fn(void *arg)
{
	struct sh_reader *r = arg;

	atomic_store(&r->tid, sh_gettid());
	while (!atomic_load(&r->stop)) {
		sh_read_soon(r->ctx, r->delay_ms);
		atomic_fetch_add(&r->reads, 1);
	}
	return NULL;
}

static inline void sh_reader_start(struct sh_reader *r, aio_context_t ctx, int delay_ms)
{
	r->ctx = ctx;
	r->delay_ms = delay_ms;
	atomic_init(&r->tid, 0);
	atomic_init(&r->stop, 0);
	atomic_init(&r->reads, 0);
	if (pthread_create(&r->th, NULL, sh_reader_fn, r))
		t_bail("pthread_create: %s", strerror(errno));
	while (!atomic_load(&r->tid) || atomic_load(&r->reads) < 3)
		usleep(1000);
}

/* Returns the number of reads the thread did. */
static inline int sh_reader_stop(struct sh_reader *r)
{
	atomic_store(&r->stop, 1);
	pthread_join(r->th, NULL);
	return atomic_load(&r->reads);
}

/*
 * The CPUs the calling thread may run on, and the first and the last of
 * them (the same CPU when only one is allowed).
 */
static inline void sh_allowed_cpus(cpu_set_t *allowed, int *first, int *last)
{
	*first = *last = -1;
	if (sched_getaffinity(0, sizeof(*allowed), allowed))
		t_bail("sched_getaffinity: %s", strerror(errno));
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, allowed)) {
			if (*first < 0)
				*first = c;
			*last = c;
		}
	if (*first < 0)
		t_bail("sched_getaffinity: no CPU allowed");
}

/* Reads one line of a /proc file into @buf; bails when it cannot. */
static inline void sh_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		t_bail("open %s: %s", path, strerror(errno));
	n = read(fd, buf, len - 1);
	if (n < 0)
		t_bail("read %s: %s", path, strerror(errno));
	buf[n] = '\0';
	close(fd);
}

/*
 * The syslet trace events, in a tracefs instance of the case's own (so
 * that vm-check's count of handoffs in the top buffer is not disturbed):
 * sh_trace_start() enables @event, sh_trace_count() counts its lines for
 * this process that contain @match, sh_trace_stop() removes the instance.
 * sh_trace_start_system() does the same for an event of another
 * subsystem; t->dir is then the instance to read.  Needs root; bails if
 * tracefs or the event is missing.
 */
#define SH_TRACEFS	"/sys/kernel/tracing"

struct sh_trace {
	char dir[128];
	char system[32];
	char event[64];
};

static inline void sh_trace_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		t_bail("write %s to %s: %s", val, path, strerror(errno));
	close(fd);
}

/*
 * A child process that holds a handed-off read blocked while its parent
 * does something to it (stops it, freezes it).  sh_holder_start() forks
 * it, runs @setup(pid) in the parent before the child makes its helper
 * (NULL: nothing; a cgroup move, so that the helpers are made there),
 * and returns once the child's read is handed off and a helper parked
 * again; false (checked) otherwise.  sh_holder_end() lets the read end
 * and reaps the child, which has checked that the read ended in exactly
 * one event (its byte, or EINTR as a blocked read on stock when a stop
 * or a freeze interrupted it) and that its next read hands off.
 */
struct sh_holder {
	pid_t pid;
	int tell, go;		/* the parent's ends of the two pipes */
};

static inline void sh_holder_child(int tell, int go)
{
	struct timespec zero = { 0, 0 };
	struct io_event extra;
	struct sh_block b;
	aio_context_t ctx;
	char c;

	sh_watchdog(40);
	if (read(go, &c, 1) != 1)	/* once the parent's setup is done */
		_exit(5);
	ctx = t_setup_ctx(8);
	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, SH_READ_DATA) || !sh_refill(ctx))
		_exit(1);
	if (write(tell, "h", 1) != 1)
		_exit(2);
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	if (write(b.pfd[1], "c", 1) != 1)
		_exit(3);
	T_EQ(t_reap(ctx, &b.ev, 1, 5000), 1);
	T_EQ(b.ev.data, SH_READ_DATA);
	if (b.ev.res == -EINTR) {
		t_diag("the read was interrupted: EINTR, as a blocked read on stock");
	} else {
		T_EQ(b.ev.res, 1);
		T_EQ(b.buf[0], 'c');
	}
	T_EQ(sys_io_getevents(ctx, 0, 1, &extra, &zero), 0);
	close(b.pfd[0]);
	close(b.pfd[1]);
	if (sh_refill(ctx))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(sys_io_destroy(ctx), 0);
	fflush(stdout);
	_exit(t_result() == T_FAIL ? 4 : SH_CHILD_PASS);
}

static inline bool sh_holder_end(struct sh_holder *h)
{
	/* A child that failed early closed its end: the write fails, no SIGPIPE. */
	if (write(h->go, "g", 1) != 1)
		t_diag("the holder child is gone: %s", strerror(errno));
	close(h->go);
	close(h->tell);
	return T_TRUE(t_reap_child(h->pid, SH_CHILD_PASS, 30));
}

static inline bool sh_holder_start(struct sh_holder *h, void (*setup)(pid_t pid))
{
	int tell[2], go[2];
	char c;

	if (pipe2(tell, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	h->pid = t_fork();
	if (h->pid == 0) {
		close(tell[0]);
		close(go[1]);
		sh_holder_child(tell[1], go[0]);
	}
	close(tell[1]);
	close(go[0]);
	h->tell = tell[0];
	h->go = go[1];
	if (setup)
		setup(h->pid);
	if (T_EQ(write(h->go, "s", 1), 1) && T_EQ(read(h->tell, &c, 1), 1))
		return true;
	sh_holder_end(h);
	return false;
}

#define SH_CGROOT	"/sys/fs/cgroup"

/* Writes @val to @file of cgroup directory @cg; false (errno set) if it fails. */
static inline bool sh_cgroup_write(const char *cg, const char *file, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val);
}

/*
 * Makes the cgroup v2 group SH_CGROOT/aio-syslet-@name-PID for a case,
 * its path in @cg, mounting cgroup2 on SH_CGROOT first where nothing is
 * there, with @controller (NULL: none) enabled for it.  Returns NULL, or
 * why there is none: the reason to skip.  The case rmdir()s it.
 */
static inline const char *sh_make_cgroup(char *cg, size_t len, const char *name,
					 const char *controller)
{
	static char why[256];
	char ctl[256] = "", plus[64];
	FILE *f;

	if (access(SH_CGROOT "/cgroup.controllers", F_OK) &&
	    mount("none", SH_CGROOT, "cgroup2", 0, NULL)) {
		snprintf(why, sizeof(why), "no cgroup2 at %s and mounting one failed: %s",
			 SH_CGROOT, strerror(errno));
		return why;
	}
	if (controller) {
		f = fopen(SH_CGROOT "/cgroup.controllers", "re");
		if (!f || !fgets(ctl, sizeof(ctl), f) || !strstr(ctl, controller)) {
			if (f)
				fclose(f);
			snprintf(why, sizeof(why), "cgroup2 has no %s controller here", controller);
			return why;
		}
		fclose(f);
		snprintf(plus, sizeof(plus), "+%s", controller);
		if (!sh_cgroup_write(SH_CGROOT, "cgroup.subtree_control", plus)) {
			snprintf(why, sizeof(why), "enabling %s in %s/cgroup.subtree_control: %s",
				 controller, SH_CGROOT, strerror(errno));
			return why;
		}
	}
	snprintf(cg, len, "%s/aio-syslet-%s-%d", SH_CGROOT, name, (int)getpid());
	if (mkdir(cg, 0755))
		t_bail("mkdir %s: %s", cg, strerror(errno));
	return NULL;
}

/*
 * No command-line recording: enabling the first event of an instance
 * would otherwise register a probe on sched_switch, patching __schedule()
 * while every CPU runs it, and disabling its last event patch it back.
 * (Under TCG an INT3 of that patch was twice executed after the patch
 * had finished: an oops in __schedule().)  The option is the top level's,
 * which instances copy as they are made; the events carry the pids.
 */
static inline void sh_trace_no_cmdlines(void)
{
	sh_trace_write(SH_TRACEFS "/options/record-cmd", "0");
}

static inline void sh_trace_start_system(struct sh_trace *t, const char *system,
					 const char *event)
{
	char path[256];

	if (access(SH_TRACEFS "/instances", F_OK) &&
	    mount("nodev", SH_TRACEFS, "tracefs", 0, NULL))
		t_bail("mount tracefs on " SH_TRACEFS ": %s", strerror(errno));
	snprintf(t->dir, sizeof(t->dir), SH_TRACEFS "/instances/aio-syslet-%d-%s", (int)getpid(),
		 event);
	snprintf(t->system, sizeof(t->system), "%s", system);
	snprintf(t->event, sizeof(t->event), "%s", event);
	sh_trace_no_cmdlines();
	if (mkdir(t->dir, 0700) && errno != EEXIST)
		t_bail("mkdir %s: %s", t->dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/events/%s/%s/enable", t->dir, system, event);
	sh_trace_write(path, "1");
}

static inline void sh_trace_start(struct sh_trace *t, const char *event)
{
	sh_trace_start_system(t, "syslet", event);
}

/* sh_trace_count() for the process @pid (a child's events, read by its parent). */
static inline long sh_trace_count_tgid(struct sh_trace *t, pid_t pid, const char *match)
{
	char path[256], line[512], tgid[32];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", t->dir);
	snprintf(tgid, sizeof(tgid), "tgid=%d ", (int)pid);
	f = fopen(path, "re");
	if (!f)
		t_bail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, t->event) && strstr(line, tgid) &&
		    (!match || strstr(line, match)))
			n++;
	fclose(f);
	return n;
}

static inline long sh_trace_count(struct sh_trace *t, const char *match)
{
	return sh_trace_count_tgid(t, getpid(), match);
}

static inline void sh_trace_stop(struct sh_trace *t)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/%s/%s/enable", t->dir, t->system, t->event);
	sh_trace_write(path, "0");
	if (rmdir(t->dir))
		t_diag("rmdir %s: %s", t->dir, strerror(errno));
}


/*
 * A probe on a function of this program, defined in tracefs's
 * uprobe_events: sh_uprobe_define() puts a uprobe (@kind 'p') or a
 * return probe ('r') on @fn and enables it in a tracefs instance of the
 * case's own; sh_uprobe_hits() counts its hits; sh_uprobe_remove() takes
 * it away.  sh_uprobe_unavailable() says why probes cannot be defined
 * here (no root, no CONFIG_UPROBE_EVENTS), or returns NULL.
 */
struct sh_uprobe {
	char group[48];
	char dir[160];		/* the tracefs instance */
};

static inline const char *sh_uprobe_unavailable(void)
{
	if (!t_is_root())
		return "defining a uprobe needs root";
	if (access(SH_TRACEFS "/uprobe_events", F_OK))
		mount("nodev", SH_TRACEFS, "tracefs", 0, NULL);
	if (access(SH_TRACEFS "/uprobe_events", F_OK))
		return "no " SH_TRACEFS "/uprobe_events: this kernel has no uprobe events "
		       "(CONFIG_UPROBE_EVENTS) or no tracefs";
	return NULL;
}

/* Offset of @fn in the file it was mapped from, and that file's path. */
static inline unsigned long sh_file_offset(void *fn, char *path, size_t len)
{
	unsigned long addr = (unsigned long)fn, start, end, pgoff;
	char line[4200], file[4096];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		t_bail("open /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		file[0] = '\0';
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %4095s", &start, &end, &pgoff, file) < 3)
			continue;
		if (addr >= start && addr < end && file[0] == '/') {
			fclose(f);
			snprintf(path, len, "%s", file);
			return addr - start + pgoff;
		}
	}
	fclose(f);
	t_bail("%p: not in a file mapping of /proc/self/maps", fn);
}

static inline void sh_uprobe_define(struct sh_uprobe *u, void *fn, char kind)
{
	char path[4096], def[4400];
	unsigned long off = sh_file_offset(fn, path, sizeof(path));
	int fd;

	snprintf(u->group, sizeof(u->group), "aio_syslet_%d_%c", (int)getpid(), kind);
	snprintf(def, sizeof(def), "%c:%s/target %s:0x%lx\n", kind, u->group, path, off);
	fd = open(SH_TRACEFS "/uprobe_events", O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, def, strlen(def)) != (ssize_t)strlen(def))
		t_bail("define %s in " SH_TRACEFS "/uprobe_events: %s", def, strerror(errno));
	close(fd);
	snprintf(u->dir, sizeof(u->dir), SH_TRACEFS "/instances/aio-syslet-%d-uprobe-%c",
		 (int)getpid(), kind);
	sh_trace_no_cmdlines();
	if (mkdir(u->dir, 0700) && errno != EEXIST)
		t_bail("mkdir %s: %s", u->dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/events/%s/target/enable", u->dir, u->group);
	sh_trace_write(path, "1");
}

static inline long sh_uprobe_hits(struct sh_uprobe *u)
{
	char path[256], line[512];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", u->dir);
	f = fopen(path, "re");
	if (!f)
		t_bail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, " target:"))
			n++;
	fclose(f);
	return n;
}

static inline void sh_uprobe_remove(struct sh_uprobe *u)
{
	char path[256], def[80];
	int fd;

	snprintf(path, sizeof(path), "%s/events/%s/target/enable", u->dir, u->group);
	sh_trace_write(path, "0");
	if (rmdir(u->dir))
		t_diag("rmdir %s: %s", u->dir, strerror(errno));
	snprintf(def, sizeof(def), "-:%s/target\n", u->group);
	fd = open(SH_TRACEFS "/uprobe_events", O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, def, strlen(def)) != (ssize_t)strlen(def))
		t_diag("remove %s/target from uprobe_events: %s", u->group, strerror(errno));
	if (fd >= 0)
		close(fd);
}

#endif /* AIO_SYSLET_SYSLET_HELPERS_H */
