// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * aio-syslet-torture: processes that keep reads handed off while they are
 * killed, exec, fork and make threads, for a given time; every read of a
 * process that is not killed must end in exactly one event with its byte.
 *
 * Each victim process runs reader threads.  A reader submits 1 to 3 reads
 * of empty pipes in one io_submit() (resubmitting the rest after a short
 * count, as the updated libaio does), starts a thread that writes each
 * pipe a few milliseconds later, and reaps the events on its own context:
 * a missing event is "lost", a second one for a read "duplicated", a
 * wrong result or byte "wrong".  Meanwhile the parent picks a victim now
 * and then and kills it (SIGKILL: it is replaced), has its main thread
 * exec the program again, has it fork a child that does reads of its own,
 * or sends it a SIGUSR1 that lands on any of its threads.  At the end
 * every victim is told to stop, ends its reads and reports; the program
 * prints the totals and exits 1 if anything was lost, duplicated or
 * wrong, or a victim died other than by our SIGKILL.
 *
 * With --eio-nullb NAME it first makes a null_blk of its own through
 * configfs, /dev/NAME, with 20 ms completions and every other 64 KiB of
 * its 4 MiB bad blocks (null_blk's error injection), and a reader's batch
 * may add a 4 KiB read of it, O_DIRECT or through the page cache (dropped first, so
 * that it blocks and hands off): of a bad chunk it must end in -EIO, of a
 * good one with the chunk's bytes.  The device goes when the run ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG		"aio-syslet-torture"
#define EXIT_USAGE	2
#define MAX_VICTIMS	64
#define MAX_READERS	16
#define BATCH		3

/* The --eio-nullb device: bad and good chunks in turn, the first bad. */
#define EIO_SIZE_MB	4
#define EIO_CHUNK	(64 << 10)
#define EIO_NR_CHUNKS	((EIO_SIZE_MB << 20) / EIO_CHUNK)
#define EIO_READ	4096
#define CONFIGFS_NULLB	"/sys/kernel/config/nullb"

/* Counters of one victim slot, in memory shared by every process. */
struct slot_stats {
	atomic_long reads, lost, dup, wrong, short_counts, errors;
	atomic_long execs, forks, fork_bad, threads, signals, injected, interrupted;
	atomic_long dev_reads, eio;	/* --eio-nullb: reads of it, -EIO of a bad chunk */
	atomic_int pid;
	atomic_int want_exec, want_fork;	/* the parent's requests */
};

struct shared {
	struct slot_stats slot[MAX_VICTIMS];
	atomic_long kills, victims;
	atomic_int stop;
};

static struct shared *sh;
static unsigned int opt_seconds = 60, opt_victims = 4, opt_readers = 4;
static uint64_t opt_seed = 1;
/* --eio-nullb: its configfs name, and the device (made by the parent). */
static const char *opt_eio_nullb;
static char eio_dev[64];
static int eio_fd = -1, eio_fd_buf = -1;	/* O_DIRECT, and through the page cache */
/* Under fault injection, ENOMEM and EAGAIN are expected: counted, not errors. */
static bool opt_faults;
/*
 * make check's proof that a lost event is reported: with
 * AIO_SYSLET_TORTURE_FORGET=1 each victim ignores the first event it
 * reaps, as if it never came, and waits 1 s, not 10, for it; no victim
 * is killed or made to exec then.
 */
static atomic_int forget;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static long io_setup_(unsigned int nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long io_destroy_(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

static long io_submit_(aio_context_t ctx, long nr, struct iocb **list)
{
	return syscall(SYS_io_submit, ctx, nr, list);
}

static long io_getevents_(aio_context_t ctx, long min, long nr, struct io_event *ev,
			  struct timespec *ts)
{
	return syscall(SYS_io_getevents, ctx, min, nr, ev, ts);
}

/* ---- the victim ---- */

static struct slot_stats *me;

/* A failure of @what with @err: injected (under --faults) or an error, the first described. */
static void failed(const char *what, int err)
{
	if (opt_faults && (err == ENOMEM || err == EAGAIN || err == ENFILE || err == EMFILE))
		atomic_fetch_add(&me->injected, 1);
	else if (atomic_fetch_add(&me->errors, 1) < 3)
		fprintf(stderr, PROG ": pid %d: %s: %s\n", (int)getpid(), what,
			err ? strerror(err) : "returned 0");
}

struct feed {
	int fd[BATCH];
	char byte[BATCH];
	int n;
	int delay_ms;
};

static void *feeder(void *arg)
{
	struct feed *f = arg;

	usleep((useconds_t)f->delay_ms * 1000);
	for (int i = 0; i < f->n; i++)
		if (write(f->fd[i], &f->byte[i], 1) != 1)
			failed("write to a pipe", errno);
	return NULL;
}

/* The bytes of the --eio-nullb device at @off, in a good chunk. */
static unsigned char eio_byte(uint64_t off)
{
	return (unsigned char)((off >> 12) * 31 + (off & 0xfff) * 7 + 0x5a);
}

static bool eio_bad(uint64_t off)
{
	return (off / EIO_CHUNK) % 2 == 0;
}

/* Each reader's O_DIRECT buffer; NULL while an injected fault keeps it away. */
static __thread unsigned char *dev_buf;

/* Whether the device read ended as it must; counts it. */
static void check_dev_read(const struct io_event *e, uint64_t off)
{
	bool ok;

	atomic_fetch_add(&me->dev_reads, 1);
	if (opt_faults && (e->res == -ENOMEM || e->res == -EAGAIN)) {
		atomic_fetch_add(&me->injected, 1);
		return;
	}
	if (eio_bad(off)) {
		ok = e->res == -EIO;
		if (ok)
			atomic_fetch_add(&me->eio, 1);
	} else {
		ok = e->res == EIO_READ;
		for (int b = 0; ok && b < EIO_READ; b++)
			ok = dev_buf[b] == eio_byte(off + (uint64_t)b);
	}
	if (!ok && atomic_fetch_add(&me->wrong, 1) < 3)
		fprintf(stderr, PROG ": pid %d: %s read at %" PRIu64 " (a %s chunk): res %lld\n",
			(int)getpid(), eio_dev, off, eio_bad(off) ? "bad" : "good",
			(long long)e->res);
}

/*
 * One round: n reads of n new pipes, written a few ms later, each ending
 * once; with --eio-nullb, sometimes one more of the device.
 */
static void one_round(aio_context_t ctx, uint64_t *rnd, int n)
{
	struct iocb cb[BATCH + 1], *list[BATCH + 1];
	struct io_event ev[BATCH + 1];
	char buf[BATCH] = { 0 };
	bool reaped[BATCH + 1] = { false };
	int p[BATCH][2], done = 0, seen = 0, total = n;
	bool einval = false;
	struct feed f = { .n = n, .delay_ms = 1 + (int)(next_rand(rnd) % 8) };
	uint64_t dev_off = 0;
	pthread_t th;
	long long deadline;

	if (eio_fd >= 0 && !dev_buf && posix_memalign((void **)&dev_buf, 4096, EIO_READ))
		dev_buf = NULL;
	if (eio_fd >= 0 && dev_buf && next_rand(rnd) % 2) {
		bool direct = next_rand(rnd) % 2;

		dev_off = (next_rand(rnd) % ((EIO_SIZE_MB << 20) / EIO_READ)) * EIO_READ;
		/* Out of the page cache: the buffered read blocks, and hands off. */
		if (!direct)
			posix_fadvise(eio_fd_buf, (off_t)dev_off, EIO_READ, POSIX_FADV_DONTNEED);
		memset(dev_buf, 0, EIO_READ);
		memset(&cb[n], 0, sizeof(cb[n]));
		cb[n].aio_lio_opcode = IOCB_CMD_PREAD;
		cb[n].aio_fildes = (uint32_t)(direct ? eio_fd : eio_fd_buf);
		cb[n].aio_buf = (uintptr_t)dev_buf;
		cb[n].aio_nbytes = EIO_READ;
		cb[n].aio_offset = (int64_t)dev_off;
		cb[n].aio_data = (uint64_t)n;
		list[n] = &cb[n];	/* last: list[i] is cb[i] */
		total = n + 1;
	}
	for (int i = 0; i < n; i++) {
		if (pipe2(p[i], O_CLOEXEC)) {
			failed("pipe2", errno);
			while (i-- > 0) {
				close(p[i][0]);
				close(p[i][1]);
			}
			return;
		}
		memset(&cb[i], 0, sizeof(cb[i]));
		cb[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cb[i].aio_fildes = (uint32_t)p[i][0];
		cb[i].aio_buf = (uintptr_t)&buf[i];
		cb[i].aio_nbytes = 1;
		cb[i].aio_data = (uint64_t)i;
		list[i] = &cb[i];
		f.fd[i] = p[i][1];
		f.byte[i] = (char)('a' + (next_rand(rnd) % 26));
	}
	if (pthread_create(&th, NULL, feeder, &f)) {
		/* EAGAIN while another thread execs: the round is dropped, uncounted. */
		for (int i = 0; i < n; i++) {
			close(p[i][0]);
			close(p[i][1]);
		}
		usleep(1000);
		return;
	}
	atomic_fetch_add(&me->threads, 1);
	/* Submit them all, resubmitting the rest after a short count. */
	while (done < total) {
		long r = io_submit_(ctx, total - done, list + done);

		if (r < 0 && errno == EINTR)
			continue;
		/*
		 * io_submit() finds the context by reading the ring's header;
		 * a page fault there that an injected failure fails makes it
		 * EINVAL, on stock too.  Counted as injected if the same call
		 * then goes through: a context really gone fails again.
		 */
		if (r < 0 && errno == EINVAL && opt_faults && !einval) {
			einval = true;
			continue;
		}
		if (r <= 0) {
			failed("io_submit", r < 0 ? errno : 0);
			break;
		}
		if (einval) {
			atomic_fetch_add(&me->injected, 1);
			einval = false;
		}
		if (done + r < total)
			atomic_fetch_add(&me->short_counts, 1);
		done += (int)r;
	}
	/* Reap what was submitted: each once, with its byte. */
	deadline = now_ms() + (getenv("AIO_SYSLET_TORTURE_FORGET") ? 1000 : 10000);
	while (seen < done && now_ms() < deadline) {
		struct timespec ts = { 0, 100 * 1000000L };
		long got = io_getevents_(ctx, 1, done - seen, ev, &ts);

		if (got < 0 && errno == EINTR)
			continue;
		for (long k = 0; k < got; k++) {
			unsigned int i = (unsigned int)ev[k].data;

			if (atomic_exchange(&forget, 0))
				continue;

			if (i >= (unsigned int)done || ev[k].obj != (uintptr_t)&cb[i]) {
				if (atomic_fetch_add(&me->wrong, 1) < 3)
					fprintf(stderr, PROG ": pid %d: an event for no read of this round: data %llu of %d\n",
						(int)getpid(), (unsigned long long)ev[k].data, done);
				continue;
			}
			if (reaped[i]) {
				atomic_fetch_add(&me->dup, 1);
				continue;
			}
			reaped[i] = true;
			seen++;
			if (i == (unsigned int)n) {
				check_dev_read(&ev[k], dev_off);
				continue;
			}
			if (opt_faults && ev[k].res == -ENOMEM) {
				atomic_fetch_add(&me->injected, 1);
			} else if (ev[k].res == -EINTR) {
				/* A SIGUSR1 interrupted the blocked read, as it would on stock. */
				atomic_fetch_add(&me->interrupted, 1);
			} else if (ev[k].res != 1 || buf[i] != f.byte[i]) {
				if (atomic_fetch_add(&me->wrong, 1) < 3)
					fprintf(stderr, PROG ": pid %d: read %u of %d: res %lld, byte 0x%02x, wrote 0x%02x\n",
						(int)getpid(), i, done, (long long)ev[k].res,
						(unsigned char)buf[i], (unsigned char)f.byte[i]);
			}
		}
	}
	atomic_fetch_add(&me->lost, done - seen);
	atomic_fetch_add(&me->reads, seen);
	pthread_join(th, NULL);
	for (int i = 0; i < n; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

static void *reader(void *arg)
{
	uint64_t rnd = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	aio_context_t ctx = 0;

	while (io_setup_(BATCH * 2, &ctx)) {
		failed("io_setup", errno);
		if (atomic_load(&sh->stop))
			return NULL;
		usleep(10000);
	}
	while (!atomic_load(&sh->stop))
		one_round(ctx, &rnd, 1 + (int)(next_rand(&rnd) % BATCH));
	io_destroy_(ctx);
	return NULL;
}

/* SIGUSR1 is noise: it interrupts whatever thread it lands on. */
static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&me->signals, 1);
}

/*
 * A child forked by a victim (whose readers have reads in flight): a few
 * rounds of its own, counted apart from the victim's, then its verdict.
 */
static int forked_child(void)
{
	static struct slot_stats mine;
	aio_context_t ctx = 0;
	uint64_t rnd = (uint64_t)getpid();

	me = &mine;
	if (io_setup_(BATCH * 2, &ctx))
		return opt_faults && (errno == ENOMEM || errno == EAGAIN) ? 0 : 1;
	for (int i = 0; i < 5; i++)
		one_round(ctx, &rnd, 1 + (int)(next_rand(&rnd) % BATCH));
	io_destroy_(ctx);
	return atomic_load(&mine.reads) > 0 && !atomic_load(&mine.lost) &&
	       !atomic_load(&mine.dup) && !atomic_load(&mine.wrong) &&
	       !atomic_load(&mine.errors) ? 0 : 1;
}

static char *self_exe;

/*
 * Under --faults a system call that reads its argument from a page not yet
 * faulted in fails with EFAULT when fail_page_alloc fails that page (the
 * kernel cannot retry a fault it takes itself): such a call is made again.
 */
#define FAULT_TRIES	1000

/*
 * The victims' signals, blocked across exec (the mask and what is pending
 * survive it) until the new image has its handlers: a signal in between
 * would kill it.
 */
static void victim_signals(int how)
{
	sigset_t set;
	int tries = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (sigprocmask(how, &set, NULL) && errno == EFAULT && ++tries < FAULT_TRIES)
		;
	if (tries == FAULT_TRIES)
		die("sigprocmask: %s", strerror(errno));
}

/* The SIGUSR1 handler, which must be in place before the signal is unblocked. */
static void victim_handler(void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };
	int tries = 0;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	while (sigaction(SIGUSR1, &sa, NULL) && errno == EFAULT && ++tries < FAULT_TRIES)
		;
	if (tries == FAULT_TRIES)
		die("sigaction(SIGUSR1): %s", strerror(errno));
}

/*
 * Under --faults, a victim has the kernel's fault injection (failslab,
 * fail_page_alloc with task-filter) fail its own allocations and those
 * of every thread it makes, the syslet helpers included: "1" once it
 * runs, so that its exec() from the parent is not what fails.  This
 * thread's only (/proc/self is the leader's); an open() that an
 * injected fault fails is tried again.
 */
static void set_make_it_fail(const char *val)
{
	int fd, tries = 0;

	while ((fd = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC)) < 0 &&
	       (errno == ENOMEM || errno == EAGAIN) && ++tries < 1000)
		;
	if (fd < 0)
		die("--faults: /proc/thread-self/make-it-fail: %s (a kernel without CONFIG_FAULT_INJECTION?)",
		    strerror(errno));
	if (write(fd, val, 1) != 1)
		die("--faults: write %s to /proc/thread-self/make-it-fail: %s", val,
		    strerror(errno));
	close(fd);
}

/* Execs this program as victim @slot; returns only if the exec failed. */
static void exec_victim(int slot)
{
	char s[16], r[16];

	snprintf(s, sizeof(s), "%d", slot);
	snprintf(r, sizeof(r), "%u", opt_readers);
	execl(self_exe, PROG, "--victim", s, r, opt_faults ? "1" : "0",
	      eio_dev[0] ? eio_dev : "-", (char *)NULL);
}

static int victim(int slot)
{
	pthread_t th[MAX_READERS];

	me = &sh->slot[slot];
	atomic_store(&me->pid, getpid());
	if (eio_dev[0]) {
		/* An open that an injected fault fails is tried again. */
		for (int tries = 0; tries < 1000 && (eio_fd < 0 || eio_fd_buf < 0); tries++) {
			if (eio_fd < 0)
				eio_fd = open(eio_dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
			if (eio_fd_buf < 0)
				eio_fd_buf = open(eio_dev, O_RDONLY | O_CLOEXEC);
		}
		if (eio_fd < 0 || eio_fd_buf < 0)
			die("open %s: %s", eio_dev, strerror(errno));
	}
	if (getenv("AIO_SYSLET_TORTURE_FORGET") && !atomic_load(&me->execs))
		atomic_store(&forget, 1);
	victim_handler(on_signal);
	victim_signals(SIG_UNBLOCK);
	for (unsigned int i = 0; i < opt_readers; i++) {
		int err;

		while ((err = pthread_create(&th[i], NULL, reader,
					     (void *)(uintptr_t)(slot * 100 + i + 1)))) {
			failed("pthread_create", err);
			usleep(10000);
		}
	}
	while (!atomic_load(&sh->stop)) {
		usleep(5000);
		if (atomic_exchange(&me->want_fork, 0)) {
			pid_t pid = fork();
			int st = 0;

			if (pid == 0)
				_exit(forked_child());
			if (pid < 0) {
				failed("fork", errno);
				continue;
			}
			atomic_fetch_add(&me->forks, 1);
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
				atomic_fetch_add(&me->fork_bad, 1);
		}
		if (atomic_exchange(&me->want_exec, 0)) {
			/* This thread execs while the readers have reads in flight. */
			atomic_fetch_add(&me->execs, 1);
			/*
			 * An exec that fails past its point of no return kills
			 * the process (SIGSEGV), on any kernel: no fault in it,
			 * nor in the mask that must survive it.  The new image
			 * fails again from its start.
			 */
			if (opt_faults)
				set_make_it_fail("0");
			victim_signals(SIG_BLOCK);
			exec_victim(slot);
			failed("exec", errno);
		}
	}
	for (unsigned int i = 0; i < opt_readers; i++)
		pthread_join(th[i], NULL);
	return 0;
}

/* ---- the parent ---- */

static pid_t start_victim(int slot)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		victim_signals(SIG_BLOCK);
		exec_victim(slot);
		_exit(127);
	}
	atomic_fetch_add(&sh->victims, 1);
	return pid;
}

/* Writes @val to the attribute @attr of the --eio-nullb configfs directory. */
static void eio_attr(const char *attr, const char *val)
{
	char path[256];
	int fd;
	ssize_t len = (ssize_t)strlen(val);

	snprintf(path, sizeof(path), CONFIGFS_NULLB "/%s/%s", opt_eio_nullb, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, (size_t)len) != len)
		die("--eio-nullb: write '%s' to %s: %s", val, path, strerror(errno));
	close(fd);
}

/*
 * Makes the --eio-nullb device: 20 ms completions (the reads block),
 * memory backed, the even chunks bad blocks; writes the good ones' bytes
 * and checks that a bad chunk fails and a good one reads back.
 */
static void eio_setup(void)
{
	unsigned char *buf;
	char dir[256], val[64];
	int fd;

	snprintf(dir, sizeof(dir), CONFIGFS_NULLB "/%s", opt_eio_nullb);
	if (mkdir(dir, 0755))
		die("--eio-nullb: mkdir %s: %s (needs root, null_blk, and configfs mounted on "
		    "/sys/kernel/config)", dir, strerror(errno));
	snprintf(val, sizeof(val), "%d", EIO_SIZE_MB);
	eio_attr("size", val);
	eio_attr("memory_backed", "1");
	eio_attr("irqmode", "2");
	eio_attr("completion_nsec", "20000000");
	for (int c = 0; c < EIO_NR_CHUNKS; c += 2) {
		snprintf(val, sizeof(val), "+%d-%d", c * (EIO_CHUNK / 512),
			 (c + 1) * (EIO_CHUNK / 512) - 1);
		eio_attr("badblocks", val);
	}
	eio_attr("power", "1");
	/* A null_blk made in configfs takes the directory's name as its disk's. */
	snprintf(eio_dev, sizeof(eio_dev), "/dev/%s", opt_eio_nullb);
	for (int i = 0; i < 500 && access(eio_dev, F_OK); i++)
		usleep(10000);
	fd = open(eio_dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		die("--eio-nullb: open %s: %s", eio_dev, strerror(errno));
	if (posix_memalign((void **)&buf, 4096, EIO_CHUNK))
		die("--eio-nullb: out of memory");
	for (int c = 1; c < EIO_NR_CHUNKS; c += 2) {
		off_t off = (off_t)c * EIO_CHUNK;

		for (int b = 0; b < EIO_CHUNK; b++)
			buf[b] = eio_byte((uint64_t)off + (uint64_t)b);
		if (pwrite(fd, buf, EIO_CHUNK, off) != EIO_CHUNK)
			die("--eio-nullb: write of %s at %lld: %s", eio_dev, (long long)off,
			    strerror(errno));
	}
	/* The injection works: a bad chunk fails with EIO, a good one reads back. */
	errno = 0;
	if (pread(fd, buf, EIO_READ, 0) != -1 || errno != EIO)
		die("--eio-nullb: a read of %s's bad blocks did not fail with EIO: %s", eio_dev,
		    errno ? strerror(errno) : "it succeeded");
	if (pread(fd, buf, EIO_READ, EIO_CHUNK) != EIO_READ || buf[5] != eio_byte(EIO_CHUNK + 5))
		die("--eio-nullb: %s's good blocks do not read back", eio_dev);
	free(buf);
	close(fd);
}

static void eio_teardown(void)
{
	char dir[256];

	eio_attr("power", "0");
	snprintf(dir, sizeof(dir), CONFIGFS_NULLB "/%s", opt_eio_nullb);
	if (rmdir(dir))
		fprintf(stderr, PROG ": --eio-nullb: rmdir %s: %s\n", dir, strerror(errno));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " [-T SECONDS] [-p VICTIMS] [-t READERS] [--seed N]\n"
		"  -T SECONDS  how long to run (default 60)\n"
		"  -p VICTIMS  victim processes (1-%d, default 4)\n"
		"  -t READERS  reader threads per victim (1-%d, default 4)\n"
		"  --seed N    the choice of victims and actions (default 1)\n"
		"  --faults    under fault injection: ENOMEM and EAGAIN are counted, not errors,\n"
		"              and so is an io_submit() EINVAL that the same call then does not repeat\n"
		"  --eio-nullb NAME  also read a null_blk made in configfs as NAME, every other\n"
		"              64 KiB of it bad blocks: those reads must fail with EIO (root)\n",
		MAX_VICTIMS, MAX_READERS);
}

static unsigned long parse_num(const char *what, const char *s, unsigned long min,
			       unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max) {
		fprintf(stderr, PROG ": %s '%s': expected a number from %lu to %lu\n", what, s,
			min, max);
		usage();
		exit(EXIT_USAGE);
	}
	return v;
}

int main(int argc, char **argv)
{
	pid_t pids[MAX_VICTIMS];
	long long end;
	long tot[15] = { 0 };
	int bad = 0;

	self_exe = "/proc/self/exe";
	if (argc == 6 && !strcmp(argv[1], "--victim")) {
		/* The counters: the memfd the parent left at fd 3 (exec keeps it). */
		int slot = (int)parse_num("slot", argv[2], 0, MAX_VICTIMS - 1);
		int fd = 3;

		opt_readers = (unsigned int)parse_num("readers", argv[3], 1, MAX_READERS);
		opt_faults = parse_num("faults", argv[4], 0, 1);
		if (strcmp(argv[5], "-"))
			snprintf(eio_dev, sizeof(eio_dev), "%s", argv[5]);
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (sh == MAP_FAILED)
			die("mmap of the shared counters (fd 3): %s", strerror(errno));
		if (opt_faults)
			set_make_it_fail("1");
		return victim(slot);
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-T") && i + 1 < argc)
			opt_seconds = (unsigned int)parse_num("-T", argv[++i], 1, 86400);
		else if (!strcmp(argv[i], "-p") && i + 1 < argc)
			opt_victims = (unsigned int)parse_num("-p", argv[++i], 1, MAX_VICTIMS);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			opt_readers = (unsigned int)parse_num("-t", argv[++i], 1, MAX_READERS);
		else if (!strcmp(argv[i], "--faults"))
			opt_faults = true;
		else if (!strcmp(argv[i], "--eio-nullb") && i + 1 < argc) {
			opt_eio_nullb = argv[++i];
			if (!*opt_eio_nullb || strchr(opt_eio_nullb, '/') || strlen(opt_eio_nullb) > 31) {
				fprintf(stderr, PROG ": --eio-nullb '%s': a configfs name of 1 to 31 characters, no '/'\n",
					opt_eio_nullb);
				usage();
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			opt_seed = parse_num("--seed", argv[++i], 1, ~0UL);
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		} else {
			fprintf(stderr, PROG ": unknown argument '%s'\n", argv[i]);
			usage();
			return EXIT_USAGE;
		}
	}
	/* The counters live in a memfd at fd 3, which victims keep across exec. */
	{
		int fd = memfd_create(PROG, 0);

		if (fd < 0 || ftruncate(fd, sizeof(*sh)) || dup2(fd, 3) != 3)
			die("memfd for the shared counters: %s", strerror(errno));
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0);
		if (sh == MAP_FAILED)
			die("mmap: %s", strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);
	if (opt_eio_nullb)
		eio_setup();
	for (unsigned int i = 0; i < opt_victims; i++)
		pids[i] = start_victim((int)i);
	end = now_ms() + opt_seconds * 1000LL;
	while (now_ms() < end) {
		unsigned int v = (unsigned int)(next_rand(&opt_seed) % opt_victims);
		unsigned int act = (unsigned int)(next_rand(&opt_seed) % 4);

		usleep((useconds_t)(20 + next_rand(&opt_seed) % 180) * 1000);
		/* A kill or an exec would take the forgotten event's round with it. */
		if (act <= 1 && getenv("AIO_SYSLET_TORTURE_FORGET"))
			act = 3;
		if (act == 0) {
			int st;

			kill(pids[v], SIGKILL);
			waitpid(pids[v], &st, 0);
			atomic_fetch_add(&sh->kills, 1);
			/* A killed victim's rounds in flight were never counted. */
			pids[v] = start_victim((int)v);
		} else if (act == 1) {
			atomic_store(&sh->slot[v].want_exec, 1);
		} else if (act == 2) {
			atomic_store(&sh->slot[v].want_fork, 1);
		} else {
			kill(pids[v], SIGUSR1);
		}
	}
	atomic_store(&sh->stop, 1);
	for (unsigned int i = 0; i < opt_victims; i++) {
		long long give_up = now_ms() + 30000;
		pid_t got;
		int st = 0;

		while ((got = waitpid(pids[i], &st, WNOHANG)) == 0 && now_ms() < give_up)
			usleep(10000);
		if (got == 0) {
			fprintf(stderr, PROG ": victim %d (pid %d) still running 30 s after the stop: killed\n",
				i, (int)pids[i]);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st, 0);
			bad = 1;
		} else if (got != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, PROG ": victim %d (pid %d) ended badly: status 0x%x\n", i,
				(int)pids[i], st);
			bad = 1;
		}
	}
	for (unsigned int i = 0; i < opt_victims; i++) {
		struct slot_stats *s = &sh->slot[i];

		tot[0] += atomic_load(&s->reads);
		tot[1] += atomic_load(&s->lost);
		tot[2] += atomic_load(&s->dup);
		tot[3] += atomic_load(&s->wrong);
		tot[4] += atomic_load(&s->short_counts);
		tot[5] += atomic_load(&s->errors);
		tot[6] += atomic_load(&s->execs);
		tot[7] += atomic_load(&s->forks);
		tot[8] += atomic_load(&s->fork_bad);
		tot[9] += atomic_load(&s->threads);
		tot[10] += atomic_load(&s->signals);
		tot[11] += atomic_load(&s->injected);
		tot[12] += atomic_load(&s->interrupted);
		tot[13] += atomic_load(&s->dev_reads);
		tot[14] += atomic_load(&s->eio);
	}
	if (opt_eio_nullb)
		eio_teardown();
	printf(PROG ": %u s, %ld victims, %ld kills, %ld execs, %ld forks (%ld bad), %ld threads, %ld signals\n",
	       opt_seconds, atomic_load(&sh->victims), atomic_load(&sh->kills), tot[6], tot[7],
	       tot[8], tot[9], tot[10]);
	printf(PROG ": reads %ld, lost %ld, duplicated %ld, wrong %ld, interrupted %ld, short counts %ld, errors %ld, injected failures %ld\n",
	       tot[0], tot[1], tot[2], tot[3], tot[12], tot[4], tot[5], tot[11]);
	if (opt_eio_nullb)
		printf(PROG ": %s (--eio-nullb %s): %ld reads, %ld failed with EIO as its bad blocks must\n",
		       eio_dev, opt_eio_nullb, tot[13], tot[14]);
	/* With --eio-nullb, no EIO means the injected errors were never seen. */
	if (tot[1] || tot[2] || tot[3] || tot[5] || tot[8] || bad || !tot[0] ||
	    (opt_eio_nullb && !tot[14])) {
		printf(PROG ": FAILED\n");
		return 1;
	}
	printf(PROG ": passed\n");
	return 0;
}
