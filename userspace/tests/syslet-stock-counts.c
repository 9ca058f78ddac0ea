// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: with fs.aio-syslet 1, io_submit() returns what stock
 * returns whatever blocks: nr, or the index of the first iocb that fails
 * synchronously after a handoff; the ring fills at stock's count.
 */
#include "t.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEED 43
#define FILE_SIZE (64 * 1024)
#define DATA 0x5c00
#define MAX_IOCBS 8

#include "syslet-helpers.h"

/* The mode these cases test, set for each and put back after. */
static long long saved_mode = -1;

static void set_mode(long long mode)
{
	int err;

	if (saved_mode < 0)
		saved_mode = t_read_sysctl(T_SYSLET_SYSCTL);
	err = t_write_sysctl(T_SYSLET_SYSCTL, mode);
	if (err)
		t_bail("write %lld to %s: %s", mode, T_SYSLET_SYSCTL, strerror(-err));
}

static void restore_mode(void)
{
	if (saved_mode >= 0 && t_write_sysctl(T_SYSLET_SYSCTL, saved_mode))
		t_bail("restore %s to %lld", T_SYSLET_SYSCTL, saved_mode);
}

/*
 * A batch: each iocb reads a page of the cached file ('f'), an empty pipe
 * that blocks until its writer fills it ('p'), a bad fd ('b'), or has an
 * invalid opcode ('o'); 'e' is a bad iocb pointer in the array.
 */
struct batch {
	aio_context_t ctx;
	bool own_ctx;
	int fd, n;
	const char *kinds;
	int p[MAX_IOCBS][2];
	char pbuf[MAX_IOCBS][8];
	unsigned char *buf[MAX_IOCBS];
	struct iocb cb[MAX_IOCBS];
	struct iocb *list[MAX_IOCBS];
	struct t_writer w[MAX_IOCBS];
};

/* A batch on @ctx, or on a context of its own when @ctx is 0. */
static void batch_init(struct batch *b, const char *kinds, aio_context_t ctx)
{
	memset(b, 0, sizeof(*b));
	b->own_ctx = !ctx;
	b->ctx = ctx ? ctx : t_setup_ctx(32);
	b->fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	/* Only the pipe read may block, in cold mode too. */
	t_cache_file(b->fd, FILE_SIZE);
	b->kinds = kinds;
	b->n = (int)strlen(kinds);
	for (int i = 0; i < b->n; i++) {
		b->p[i][0] = b->p[i][1] = -1;
		b->buf[i] = t_aligned_alloc(4096, 4096);
		switch (kinds[i]) {
		case 'p':
			if (pipe2(b->p[i], O_CLOEXEC))
				t_bail("pipe: %s", strerror(errno));
			t_prep_pread(&b->cb[i], b->p[i][0], b->pbuf[i], sizeof(b->pbuf[i]), 0);
			break;
		case 'b':
			t_prep_pread(&b->cb[i], -1, b->buf[i], 4096, 0);
			break;
		case 'o':
			t_prep_pread(&b->cb[i], b->fd, b->buf[i], 4096, 0);
			b->cb[i].aio_lio_opcode = 99;
			break;
		default:
			t_prep_pread(&b->cb[i], b->fd, b->buf[i], 4096, 4096 * i);
			break;
		}
		b->cb[i].aio_data = DATA + (uint64_t)i;
		b->list[i] = kinds[i] == 'e' ? (struct iocb *)(uintptr_t)8 : &b->cb[i];
	}
}

/* Writers for the pipe reads, which rescue them after SH_HANDOFF_MS. */
static void batch_start_writers(struct batch *b)
{
	for (int i = 0; i < b->n; i++)
		if (b->kinds[i] == 'p')
			t_writer_start(&b->w[i], b->p[i][1], "pipe", 4, SH_HANDOFF_MS);
}

/* Stops the writers; true if none had written yet (no iocb made io_submit() wait). */
static bool batch_stop_writers(struct batch *b)
{
	bool none = true;

	for (int i = 0; i < b->n; i++) {
		if (b->kinds[i] != 'p')
			continue;
		if (t_writer_stop(&b->w[i]))
			none = false;
		else if (write(b->p[i][1], "pipe", 4) != 4)
			t_bail("write: %s", strerror(errno));
	}
	return none;
}

/* Reaps the events of the first @submitted iocbs: each once, with its result. */
static void batch_check_events(struct batch *b, int submitted)
{
	struct io_event ev[MAX_IOCBS + 1];
	bool seen[MAX_IOCBS] = { false };
	struct timespec zero = { 0, 0 };
	int want = 0;

	for (int i = 0; i < submitted; i++)
		want += b->kinds[i] == 'f' || b->kinds[i] == 'p';
	if (!T_EQ(t_reap(b->ctx, ev, want, 10000), want))
		return;
	for (int k = 0; k < want; k++) {
		long long i = (long long)ev[k].data - DATA;

		if (!T_TRUE(i >= 0 && i < submitted && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(ev[k].obj, (uintptr_t)&b->cb[i]);
		T_EQ(ev[k].res2, 0);
		if (b->kinds[i] == 'p') {
			T_EQ(ev[k].res, 4);
			T_MEM(b->pbuf[i], "pipe", 4);
		} else {
			T_EQ(ev[k].res, 4096);
			T_TRUE(t_verify_pattern(b->buf[i], 4096, SEED, 4096 * i));
		}
	}
	/* Nothing else: no event for an iocb that was not submitted. */
	T_EQ(sys_io_getevents(b->ctx, 0, 1, ev, &zero), 0);
}

static void batch_free(struct batch *b)
{
	if (b->own_ctx)
		T_EQ(sys_io_destroy(b->ctx), 0);
	for (int i = 0; i < b->n; i++) {
		free(b->buf[i]);
		if (b->p[i][0] >= 0) {
			close(b->p[i][0]);
			close(b->p[i][1]);
		}
	}
	close(b->fd);
}

/*
 * Leaves @n helpers parked: each blocked read that hands off leaves its
 * former head to park once the read completes, and the empty io_submit()
 * makes the helper the next block asks for.
 */
static bool park_helpers(aio_context_t ctx, int n)
{
	struct iocb *none = NULL;

	if (!sh_warm_up(ctx))
		return false;
	for (int have = 1; have < n; have++) {
		struct batch b;
		bool ok;

		batch_init(&b, "p", ctx);
		batch_start_writers(&b);
		/* The read hands off to the parked helper; it must come back at once. */
		ok = T_EQ(sys_io_submit(ctx, 1, b.list), 1);
		T_EQ(sys_io_submit(ctx, 0, &none), 0);
		ok &= T_TRUE(sh_wait_parked(1, SH_PARK_MS));
		ok &= T_TRUE(batch_stop_writers(&b));
		batch_check_events(&b, 1);
		batch_free(&b);
		if (!ok || !T_TRUE(sh_wait_parked(have + 1, SH_PARK_MS)))
			return false;
	}
	return true;
}

/*
 * Submits the batch @kinds in mode 1 with @helpers parked; io_submit()
 * must return @want without waiting for any pipe, and the events of the
 * first @want iocbs must come, each once.
 */
static enum t_result mode1_batch(const char *kinds, int helpers, long want)
{
	struct batch b;
	long ret;
	bool waited;

	set_mode(1);
	batch_init(&b, kinds, 0);
	if (!park_helpers(b.ctx, helpers))
		goto out;
	batch_start_writers(&b);
	ret = sys_io_submit(b.ctx, b.n, b.list);
	waited = !batch_stop_writers(&b);
	if (!T_EQ(ret, want))
		t_diag("io_submit() of '%s' returned %ld%s", kinds, ret, ret < 0 ? strerror(errno) : "");
	if (!T_TRUE(!waited))
		t_diag("io_submit() waited for a pipe write: no handoff");
	if (ret > 0)
		batch_check_events(&b, (int)ret);
out:
	batch_free(&b);
	restore_mode();
	return t_result();
}

static enum t_result test_middle_blocks(void)
{
	return mode1_batch("fpf", 1, 3);
}

static enum t_result test_first_blocks(void)
{
	return mode1_batch("pff", 1, 3);
}

static enum t_result test_two_block(void)
{
	return mode1_batch("pfpf", 2, 4);
}

static enum t_result test_last_blocks(void)
{
	return mode1_batch("ffp", 1, 3);
}

static enum t_result test_bad_fd_after(void)
{
	return mode1_batch("fpbf", 1, 2);
}

static enum t_result test_bad_opcode_after(void)
{
	return mode1_batch("pof", 1, 1);
}

static enum t_result test_efault_after(void)
{
	return mode1_batch("fpef", 1, 2);
}

/*
 * A batch larger than the ring's free slots: @first_blocks makes its first
 * read wait for a pipe (mode 1), else it has data (mode 0: stock).
 * Returns io_submit()'s count; all reads of the rest are pipes with data.
 */
static long fill_ring(int mode, bool first_blocks, int *pipes)
{
	static struct iocb cb[1024];
	static struct iocb *list[1024];
	static char c[1024];
	aio_context_t ctx, warm;
	struct t_writer w;
	unsigned int size;
	int p[2], q[2];
	long ret;

	set_mode(mode);
	if (mode) {
		/* A helper parked through another context: this ring starts empty. */
		bool ok;

		warm = t_setup_ctx(16);
		ok = park_helpers(warm, 1);
		T_EQ(sys_io_destroy(warm), 0);
		if (!ok)
			return -2;
	}
	ctx = t_setup_ctx(1);
	size = t_ring_size(ctx);
	if (size + 8 > 1024)
		t_bail("a ring of %u events: this case fills at most 1016", size);
	if (pipe2(p, O_CLOEXEC) || pipe2(q, O_CLOEXEC) || fcntl(q[1], F_SETPIPE_SZ, 1 << 20) < 0)
		t_bail("pipe: %s", strerror(errno));
	/* Data for every read of the rest, from one pipe. */
	for (unsigned int i = 0; i < size + 8; i++)
		if (write(q[1], "d", 1) != 1)
			t_bail("write: %s", strerror(errno));
	if (!first_blocks && write(p[1], "d", 1) != 1)
		t_bail("write: %s", strerror(errno));
	for (unsigned int i = 0; i < size + 8; i++) {
		t_prep_pread(&cb[i], i ? q[0] : p[0], &c[i], 1, 0);
		list[i] = &cb[i];
	}
	if (first_blocks)
		t_writer_start(&w, p[1], "d", 1, SH_HANDOFF_MS);
	ret = sys_io_submit(ctx, size + 8, list);
	if (first_blocks) {
		if (t_writer_stop(&w)) {
			t_diag("io_submit() waited for the pipe: no handoff");
			ret = -3;
		} else if (write(p[1], "d", 1) != 1) {
			t_bail("write: %s", strerror(errno));
		}
	}
	*pipes = (int)size;
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	return ret;
}

static enum t_result test_ring_full(void)
{
	long stock, syslet;
	cpu_set_t old;
	int size;

	/* Free slots are handed out per CPU in batches: one CPU, same counts. */
	t_pin_to_this_cpu(&old);
	stock = fill_ring(0, false, &size);
	syslet = fill_ring(1, true, &size);
	restore_mode();
	if (sched_setaffinity(0, sizeof(old), &old))
		t_bail("sched_setaffinity: %s", strerror(errno));
	t_diag("ring of %d events: stock io_submit() took %ld of %d, syslet %ld", size, stock, size + 8, syslet);
	T_TRUE(stock > 0 && stock < size + 8);
	T_EQ(syslet, stock);
	return t_result();
}

/*
 * The state the next two cases act in: with fs.aio-syslet-max-threads 1,
 * the first read of the batch (an empty pipe) handed off to the one
 * helper, and the helper, now thread @tid of @pid, goes on with the batch
 * and sleeps synchronously in the second read (no helper is left to take
 * it).  No thread of @pid carries the helper flag then: the one parked
 * helper took the user context and dropped it, and the former caller
 * parks only once its read completes.  False after 10 s without it.
 */
static bool has_helper_flag(pid_t pid, pid_t tid, void *arg)
{
	unsigned long flags;
	char state;

	(void)arg;
	return t_task_stat(pid, tid, &state, &flags) && (flags & SH_PF_USER_WORKER);
}

static bool helper_blocked_in_batch(pid_t pid, pid_t tid)
{
	long long deadline = t_now_us() + 10000000;

	while (t_now_us() < deadline) {
		char state;

		if (t_blocked_in(pid, tid) == __NR_io_submit &&
		    t_task_stat(pid, tid, &state, NULL) && state == 'S' &&
		    sh_each_task(pid, has_helper_flag, NULL) == 0)
			return true;
		usleep(1000);
	}
	return false;
}

/* What the SIGUSR1 handler saw. */
static volatile sig_atomic_t usr1_count;
static volatile pid_t usr1_tid;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_tid = sh_gettid();
	usr1_count++;
}

/* The signaller: waits for the helper to sleep in the second read, then signals our TID. */
struct signaller {
	pthread_t thread, target;
	pid_t tid;
	int *rescue;		/* write ends to fill if that state never comes */
	int nr_rescue;
	atomic_bool sent;
};

static void *signaller_main(void *arg)
{
	struct signaller *s = arg;

	if (helper_blocked_in_batch(getpid(), s->tid)) {
		atomic_store(&s->sent, true);
		pthread_kill(s->target, SIGUSR1);
		return NULL;
	}
	/* No handoff, or it went wrong: free io_submit() so the case fails instead of hanging. */
	for (int i = 0; i < s->nr_rescue; i++)
		if (write(s->rescue[i], "x", 1) != 1)
			t_bail("write: %s", strerror(errno));
	return NULL;
}

/*
 * The batch pipe, pipe, file, pipe: the first read hands off, the second
 * sleeps in the helper, which a SIGUSR1 to our TID interrupts.  Stock's
 * outcome for a signal that comes while io_submit() sleeps in the second
 * read: that read ends with -EINTR, the file read runs, the last pipe
 * read ends with -EINTR at once (the signal stays pending until the
 * return to user space), io_submit() returns 4, and the handler runs
 * once in our thread; the first read completes when its pipe is written.
 */
static enum t_result signal_child(void)
{
	static const char kinds[] = "ppfp";
	aio_context_t ctx = t_setup_ctx(16);
	struct signaller s = { .target = pthread_self(), .tid = sh_gettid() };
	struct io_event ev[8];
	struct timespec zero = { 0, 0 };
	bool seen[4] = { false };
	int rescue[3], err;
	struct batch b;
	long ret;

	t_set_handler(SIGUSR1, on_usr1, 0);
	if (!sh_warm_up(ctx))
		goto out_ctx;
	batch_init(&b, kinds, ctx);
	rescue[0] = b.p[0][1];
	rescue[1] = b.p[1][1];
	rescue[2] = b.p[3][1];
	s.rescue = rescue;
	s.nr_rescue = 3;
	err = pthread_create(&s.thread, NULL, signaller_main, &s);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
	ret = sys_io_submit(ctx, b.n, b.list);
	err = pthread_join(s.thread, NULL);
	if (err)
		t_bail("pthread_join: %s", strerror(err));
	if (!T_TRUE(atomic_load(&s.sent)))
		t_diag("the helper never slept in the second read with the first handed off");
	T_EQ(ret, 4);
	T_EQ(usr1_count, 1);
	T_EQ(usr1_tid, s.tid);
	/* The other three have ended; the first read waits for its pipe still. */
	if (!T_EQ(t_reap(ctx, ev, 3, 10000), 3))
		goto out;
	for (int k = 0; k < 3; k++)
		T_TRUE(ev[k].data != DATA);
	T_EQ(sys_io_getevents(ctx, 0, 1, &ev[3], &zero), 0);
	if (write(b.p[0][1], "pipe", 4) != 4)
		t_bail("write: %s", strerror(errno));
	if (!T_EQ(t_reap(ctx, &ev[3], 1, 10000), 1))
		goto out;
	for (int k = 0; k < 4; k++) {
		long long i = (long long)ev[k].data - DATA;

		if (!T_TRUE(i >= 0 && i < 4 && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(ev[k].obj, (uintptr_t)&b.cb[i]);
		T_EQ(ev[k].res2, 0);
		switch (i) {
		case 0:
			T_EQ(ev[k].res, 4);
			T_MEM(b.pbuf[0], "pipe", 4);
			break;
		case 2:
			T_EQ(ev[k].res, 4096);
			T_TRUE(t_verify_pattern(b.buf[2], 4096, SEED, 4096 * 2));
			break;
		default:
			if (!T_EQ(ev[k].res, -EINTR))
				t_diag("read %lld: %lld, not -EINTR", i, (long long)ev[k].res);
			break;
		}
	}
	T_EQ(sys_io_getevents(ctx, 0, 1, ev, &zero), 0);
out:
	batch_free(&b);
out_ctx:
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_signal_while_helper_submits(void)
{
	enum t_result r;

	set_mode(1);
	r = sh_in_child_max_threads(1, signal_child);
	restore_mode();
	return r;
}

/*
 * The killed process's batch: a write of 4 KiB at 0 of @fd, the two pipe
 * reads (the first hands off, the helper sleeps in the second), a write
 * at 4096.  The parent kills it there.
 */
static void kill_child(int fd, int ready)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb cb[4], *list[4];
	static unsigned char wbuf[2][4096];
	char c[2];
	int p[2][2];

	for (int i = 0; i < 2; i++)
		if (pipe2(p[i], O_CLOEXEC))
			_exit(T_FAIL);
	t_fill_pattern(wbuf[0], 4096, SEED, 0);
	t_fill_pattern(wbuf[1], 4096, SEED, 4096);
	t_prep_pwrite(&cb[0], fd, wbuf[0], 4096, 0);
	t_prep_pread(&cb[1], p[0][0], &c[0], 1, 0);
	t_prep_pread(&cb[2], p[1][0], &c[1], 1, 0);
	t_prep_pwrite(&cb[3], fd, wbuf[1], 4096, 4096);
	for (int i = 0; i < 4; i++)
		list[i] = &cb[i];
	if (!sh_warm_up(ctx))
		_exit(T_FAIL);
	fflush(stdout);
	if (write(ready, "r", 1) != 1)
		_exit(T_FAIL);
	sys_io_submit(ctx, 4, list);
	/* Only a kill that never came gets here (the parent wrote the pipes). */
	_exit(T_FAIL);
}

/*
 * SIGKILL to the process while its helper sleeps in the batch: the
 * process ends at once, each of its threads with it, and the file holds
 * what stock leaves: the write before the reads, and not the one after
 * (a fatal signal fails a buffered write with EINTR before it copies).
 */
static enum t_result test_kill_while_helper_submits(void)
{
	long long old_max;
	int fd, ready[2], st = 0;
	struct stat sb;
	bool killed;
	pid_t pid;
	char r;

	set_mode(1);
	fd = t_empty_file(O_RDWR, NULL, 0);
	if (pipe2(ready, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	old_max = sh_set_max_threads(1);
	pid = t_fork();
	if (pid == 0) {
		close(ready[0]);
		sh_watchdog(40);
		kill_child(fd, ready[1]);
	}
	close(ready[1]);
	if (!T_EQ(read(ready[0], &r, 1), 1)) {
		t_kill_child(pid);
		goto out;
	}
	killed = helper_blocked_in_batch(pid, pid);
	if (!T_TRUE(killed))
		t_diag("the child's helper never slept in the second read with the first handed off");
	if (kill(pid, SIGKILL))
		t_bail("kill: %s", strerror(errno));
	if (t_wait_child(pid, &st, 10, false)) {
		if (!T_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
			t_diag("child status %#x, not killed by SIGKILL", st);
	}
	if (T_EQ(fstat(fd, &sb), 0))
		T_EQ(sb.st_size, 4096);
	T_TRUE(t_check_pattern_file(fd, 4096, SEED));
out:
	sh_restore_max_threads(old_max);
	restore_mode();
	close(ready[0]);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "mode 1: the middle read of 3 blocks: io_submit() returns 3 at once", test_middle_blocks },
		{ "mode 1: the first read of 3 blocks: 3, not 1", test_first_blocks },
		{ "mode 1: reads 1 and 3 of 4 block, two helpers parked: 4 at once", test_two_block },
		{ "mode 1: the last read of 3 blocks: 3", test_last_blocks },
		{ "mode 1: a bad fd after a read that blocked: its index, 2, as stock", test_bad_fd_after },
		{ "mode 1: an invalid opcode after a read that blocked: 1, as stock", test_bad_opcode_after },
		{ "mode 1: a bad iocb pointer after a read that blocked: 2 (EFAULT stops it), as stock", test_efault_after },
		{ "mode 1: a batch past the ring's free slots whose first read blocks: stock's count", test_ring_full },
		{ "mode 1: a signal to our thread while the helper sleeps in the batch: -EINTR there, 4, handler once",
		  test_signal_while_helper_submits },
		{ "mode 1: SIGKILL while the helper sleeps in the batch: the process ends, the file as stock leaves it",
		  test_kill_while_helper_submits },
	};

	t_require_syslet_exclusive();
	if (!t_is_root())
		t_skip_all("choosing fs.aio-syslet's mode needs root");
	return T_RUN(cases);
}
