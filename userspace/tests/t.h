/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the AIO conformance cases: TAP output, exact-result
 * checks that print what was expected and what came back, raw Linux AIO
 * syscall wrappers, and setup helpers that bail out on failure so that each
 * case's body is the scenario itself.
 *
 * A case defines an array of struct t_case and returns t_run() from main().
 * Cases using libaio define T_LIBAIO before including this header: libaio's
 * <libaio.h> and <linux/aio_abi.h> both define struct iocb.
 */
#ifndef AIO_SYSLET_T_H
#define AIO_SYSLET_T_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#ifdef T_LIBAIO
#include <libaio.h>
#else
#include <linux/aio_abi.h>
#endif

#ifndef HAVE_STRERRORNAME_NP
/* glibc before 2.32: the names of the errnos the cases meet, else NULL. */
const char *t_strerrorname(int err);
#define strerrorname_np t_strerrorname
#endif

enum t_result { T_PASS = 0, T_FAIL = 1, T_SKIP = 77 };

struct t_case {
	const char *name;		/* what the sub-test shows, as a sentence */
	enum t_result (*fn)(void);
};

/* Runs every case, prints TAP (plan, one line per case) and returns the exit status. */
int t_run(const struct t_case *cases, size_t n);
#define T_RUN(cases) t_run(cases, sizeof(cases) / sizeof((cases)[0]))

/* Skips the whole program (TAP "1..0 # SKIP why"); call before t_run(). */
void t_skip_all(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Setup failed: TAP "Bail out!" and a hard error exit. */
void t_bail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A TAP diagnostic line ("# ..."). */
void t_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Marks the current sub-test skipped with a reason; returns T_SKIP. */
enum t_result t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A skip for want of hardware the machine lacks (AMX under QEMU's TCG):
 * its reason starts with T_SKIP_HARDWARE, and it stays a skip in
 * required-syslet mode, here, in aio-syslet-tests and in vm-check.
 */
#define T_SKIP_HARDWARE	"needs hardware: "
enum t_result t_skip_hardware(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Exact-result checks.  Each returns true on a match; on a mismatch it
 * prints a diagnostic naming the expression, the expected and the actual
 * value, and marks the running sub-test failed (so a case can go on
 * checking and still fail).
 */
bool t_check_long(long long got, long long want, const char *what, const char *file, int line);
bool t_check_errno(long ret, int want_errno, const char *what, const char *file, int line);
bool t_check_true(bool cond, const char *what, const char *file, int line);
bool t_check_mem(const void *got, const void *want, size_t len, const char *what,
		 const char *file, int line);

#define T_EQ(got, want)		t_check_long((long long)(got), (long long)(want), #got " == " #want, __FILE__, __LINE__)
#define T_ERRNO(ret, err)	t_check_errno((long)(ret), (err), #ret " fails with " #err, __FILE__, __LINE__)
#define T_TRUE(cond)		t_check_true((cond), #cond, __FILE__, __LINE__)
#define T_MEM(got, want, len)	t_check_mem((got), (want), (len), #got " matches " #want, __FILE__, __LINE__)
/* The verdict of the running sub-test so far. */
enum t_result t_result(void);

/* Test data: byte at file offset @off of the pattern file with @seed. */
static inline unsigned char t_pattern_byte(unsigned int seed, off_t off)
{
	uint64_t x = (uint64_t)off * 0x9E3779B97F4A7C15ULL + seed;

	x ^= x >> 29;
	return (unsigned char)(x ^ (x >> 8));
}
/* Fills @buf as the pattern file with @seed holds it at @off. */
void t_fill_pattern(void *buf, size_t len, unsigned int seed, off_t off);
/* True when @buf equals the pattern at @off; else prints the first difference. */
bool t_verify_pattern(const void *buf, size_t len, unsigned int seed, off_t off);

/*
 * Files live in $AIO_TEST_DIR, else $TMPDIR, else /tmp (the VM harness
 * points AIO_TEST_DIR at an ext4 disk).  Names are unique per process and
 * unlinked at exit.
 */
const char *t_test_dir(void);
/* Cold mode (AIO_TEST_COLD=1, the runner's --cold): pattern files start out of the page cache. */
bool t_cold(void);
/*
 * Reads the first @size bytes of @fd, so that the case's reads of them do
 * not block, in cold mode too: for the syslet cases whose scenario needs
 * one iocb to block and the others not.
 */
void t_cache_file(int fd, size_t size);
/* Drops the file at @path from the page cache and checks with mincore() that it left; bails if not. */
void t_drop_cache(const char *path, size_t size);
/* The same for @len bytes from @off (page-aligned), of a file or block device. */
void t_drop_range(const char *path, off_t off, size_t len);
/*
 * Creates a file of @size bytes holding the pattern @seed; returns its fd
 * (O_RDWR | @flags).  In cold mode its pages are out of the page cache, so
 * that the case's reads go to the disk and block.
 */
int t_pattern_file(size_t size, unsigned int seed, int flags, char *path_out, size_t path_len);
/* t_pattern_file() opened O_DIRECT, where main() saw O_DIRECT work: bails if it fails now. */
int t_direct_file(size_t size, unsigned int seed);
/*
 * The file @fd is @size bytes long (a read of one more stops at EOF), and
 * holds the pattern @old_seed over its first @old_size bytes, zeros after,
 * overwritten with the pattern @new_seed over [@off, @off + @len).
 */
bool t_check_overwritten(int fd, size_t size, unsigned int old_seed, size_t old_size,
			 unsigned int new_seed, off_t off, size_t len);
/* Creates an empty file; returns its fd (O_RDWR | @flags). */
int t_empty_file(int flags, char *path_out, size_t path_len);
/* Page-aligned buffer that bails on failure; free with free(). */
void *t_aligned_alloc(size_t align, size_t len);
/*
 * @iovcnt iovecs of the lengths @lens, each in a buffer of its own one byte
 * longer (room for a guard), all bytes @fill; *@total gets the sum of
 * @lens.  Bails on failure; free with t_free_iov().
 */
struct iovec *t_alloc_iov(const size_t *lens, int iovcnt, unsigned char fill, size_t *total);
void t_free_iov(struct iovec *iov, int iovcnt);
/* 1 when the effective user is root. */
bool t_is_root(void);
/* Reads an integer from a /proc/sys file; bails when it cannot. */
long long t_read_sysctl(const char *path);
/*
 * fs.aio-nr, the events every context of the system holds, read quickly:
 * the file stays open, and each read from offset 0 formats it anew.
 */
long long t_aio_nr(void);
/* Writes an integer to a /proc/sys file; returns 0 or -errno. */
int t_write_sysctl(const char *path, long long value);
/* The switch of syslet io_submit: 0 stock, else on. */
#define T_SYSLET_SYSCTL		"/proc/sys/fs/aio-syslet"
/* True when the running kernel has syslet io_submit (/proc/sys/fs/aio-syslet). */
bool t_kernel_has_syslet(void);
/* True when it has and fs.aio-syslet is not 0. */
bool t_syslet_active(void);
/* True in required-syslet mode (AIO_SYSLET_REQUIRE=1, set by the runner's --require-syslet). */
bool t_syslet_required(void);
/*
 * For syslet-only cases: skips the whole program, saying why, unless
 * syslet io_submit is active.  In required-syslet mode a kernel without
 * it is a failure (bail out), and so is every sub-test that skips.
 * Holds a shared lock on fs.aio-syslet until exit.
 */
void t_require_syslet(void);
/*
 * The same for a case that changes fs.aio-syslet or
 * fs.aio-syslet-max-threads: the lock is exclusive, so no other syslet
 * case runs meanwhile.
 */
void t_require_syslet_exclusive(void);
/* True once t_require_syslet_exclusive() holds the lock. */
bool t_syslet_exclusive(void);
/* Microseconds on CLOCK_MONOTONIC. */
long long t_now_us(void);

/*
 * A thread that writes @len bytes of @data to the pipe @fd after @delay_ms
 * unless stopped first: it completes a wait later, or rescues a read that
 * should not have kept io_submit() waiting (so a case fails instead of
 * hanging), and when it wrote tells whether the caller waited for it.
 */
struct t_writer {
	pthread_t thread;
	int fd;
	const void *data;
	size_t len;
	int delay_ms;
	int stop[2];
	_Atomic long long wrote_us;	/* t_now_us() just before the write; 0 if none */
};
void t_writer_start(struct t_writer *w, int fd, const void *data, size_t len, int delay_ms);
/* Stops the writer if it has not written; returns when it wrote, 0 if it did not. */
long long t_writer_stop(struct t_writer *w);
/* The magic number (statfs f_type) of the filesystem of the file @fd; bails when it cannot. */
unsigned long t_fs_type(int fd);
#define T_EXT4_MAGIC	0xef53UL
/* Files of @fd's filesystem are FMODE_NOWAIT in 6.12: others, tmpfs too, refuse RWF_NOWAIT. */
bool t_fs_has_nowait(int fd);
/* The first @size bytes of the file @fd still hold the pattern @seed (nothing wrote there). */
bool t_check_pattern_file(int fd, size_t size, unsigned int seed);
/* Kills the child @pid (if > 0) and reaps it, giving up (and saying so) after 5 s. */
void t_kill_child(pid_t pid);
/*
 * Waits up to @timeout_s for the child @pid to end, continuing its ptrace
 * stops if @traced; true, with its wait status in *@st, if it ended.  A
 * child still running then is killed and reaped, and the check fails.
 */
bool t_wait_child(pid_t pid, int *st, int timeout_s, bool traced);
/* t_wait_child(), and checks that the child exited with @status. */
bool t_reap_child(pid_t pid, int status, int timeout_s);
/* fork() with stdout flushed first (no TAP line printed twice); bails on failure. */
pid_t t_fork(void);
/* Runs @fn in a forked child; returns its exit status (-1: it did not exit normally in 60 s). */
int t_in_child(int (*fn)(void *), void *arg);
/* sigaction() of @fn with @flags and an empty sa_mask for @sig; bails on failure. */
void t_set_handler(int sig, void (*fn)(int), int flags);
/* The state letter (and, if @flags, the task flags) of thread @tid of @pid; false if gone. */
bool t_task_stat(pid_t pid, pid_t tid, char *state, unsigned long *flags);
/* The syscall thread @tid of @pid sleeps in (/proc/PID/task/TID/syscall); -1 if running or gone. */
long t_blocked_in(pid_t pid, pid_t tid);
/*
 * Waits up to 10 s until thread @tid of process @pid sleeps ('S' or 'D')
 * in syscall @nr (/proc/PID/task/TID/syscall); false as soon as *@stop
 * (if given) is true, and bails when the 10 s pass.
 */
bool t_wait_blocked(pid_t pid, pid_t tid, long nr, atomic_bool *stop);
/*
 * Pins the calling thread to the CPU it runs on (saving the old affinity
 * in @old if given): ring slots are handed out per CPU in batches, so a
 * pinned process sees them all and counts them exactly.
 */
void t_pin_to_this_cpu(cpu_set_t *old);

#ifdef T_LIBAIO
/* Reaps @nr events with libaio within @timeout_ms (bails on an error); returns how many came. */
static inline int t_libaio_reap(io_context_t ctx, struct io_event *ev, int nr, int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;
	int got = 0;

	while (got < nr && t_now_us() < deadline) {
		struct timespec ts = { 0, 100000000 };
		int ret = io_getevents(ctx, 1, nr - got, ev + got, &ts);

		if (ret < 0 && ret != -EINTR)
			t_bail("io_getevents: %s", strerror(-ret));
		if (ret > 0)
			got += ret;
	}
	return got;
}
#else
/* The raw AIO syscalls: return -1 and set errno on failure, as syscall(2). */
long sys_io_setup(unsigned int nr_events, aio_context_t *ctxp);
long sys_io_destroy(aio_context_t ctx);
long sys_io_submit(aio_context_t ctx, long nr, struct iocb **iocbpp);
long sys_io_cancel(aio_context_t ctx, struct iocb *iocb, struct io_event *result);
long sys_io_getevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
		      struct timespec *timeout);
long sys_io_pgetevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
		       struct timespec *timeout, const void *usig);

/* io_setup() that bails on failure. */
aio_context_t t_setup_ctx(unsigned int nr_events);
/* Fill an iocb for a read, write, vectored read/write, fsync, fdsync or poll. */
void t_prep_pread(struct iocb *cb, int fd, void *buf, size_t len, off_t off);
void t_prep_pwrite(struct iocb *cb, int fd, const void *buf, size_t len, off_t off);
void t_prep_preadv(struct iocb *cb, int fd, const struct iovec *iov, int iovcnt, off_t off);
void t_prep_pwritev(struct iocb *cb, int fd, const struct iovec *iov, int iovcnt, off_t off);
void t_prep_fsync(struct iocb *cb, int fd, bool datasync);
void t_prep_poll(struct iocb *cb, int fd, short events);
/* Submits one iocb and expects io_submit() to return 1; bails otherwise. */
void t_submit1(aio_context_t ctx, struct iocb *cb);
/*
 * Reaps exactly @nr events within @timeout_ms (bails on an error; returns
 * the number reaped, which is less than @nr only on timeout).
 */
int t_reap(aio_context_t ctx, struct io_event *events, int nr, int timeout_ms);
/*
 * Submits one iocb, reaps its event within 10 s and returns its res
 * (LLONG_MIN if none came), checking its obj, data and res2.
 */
long long t_run1(aio_context_t ctx, struct iocb *cb);
/*
 * A thread that sends a signal into a wait: once the thread that started
 * it sleeps in syscall @nr, it sends @sig to it.  With a context @ctx, it
 * then ends the wait with an event: it submits a POLL on a pipe of its own
 * to @ctx at start, and writes the pipe once the target sleeps in @nr
 * again after the signal (which therefore did not end the wait).
 */
struct t_kicker {
	pthread_t thread, target;
	pid_t tid;
	long nr;
	int sig;
	int pipe[2];			/* -1 without an ending event */
	struct iocb poll;		/* waits on pipe[0] */
	atomic_bool stop;		/* the target's call returned */
	atomic_bool sent;		/* the signal went out */
	_Atomic long long ended_us;	/* t_now_us() before the pipe was written; 0 if not */
};
void t_kicker_start(struct t_kicker *k, long nr, int sig, aio_context_t ctx);
/* The target's call returned: stops and joins the kicker; true if it sent the signal. */
bool t_kicker_stop(struct t_kicker *k);
/*
 * The wait returned @ret (errno @err) and @ev: true when that is the
 * kicker's POLL event, come after the signal went out (said if not).
 */
bool t_kicker_ended_wait(struct t_kicker *k, long ret, const struct io_event *ev, int err);
/* No event arrives within @timeout_ms (0: none sits in the ring); one that does is consumed. */
#define T_NO_EVENT(ctx, timeout_ms) \
	t_check_no_event((ctx), (timeout_ms), __FILE__, __LINE__)
bool t_check_no_event(aio_context_t ctx, int timeout_ms, const char *file, int line);
/* io_submit() of @cb alone fails with errno @err, and no event comes of it. */
#define T_SUBMIT_FAILS(ctx, cb, err) \
	t_check_submit_fails((ctx), (cb), (err), "io_submit of one iocb fails with " #err, \
			     __FILE__, __LINE__)
bool t_check_submit_fails(aio_context_t ctx, struct iocb *cb, int err, const char *what,
			  const char *file, int line);
/*
 * Context ids that name no context: 0xdeadbeef, ~0, an unmapped page and
 * a page of zeros, which reads as a ring of id 0 (the slot of a process's
 * first context).  t_bad_ctx_ids_free() unmaps the zeros.
 */
#define T_NR_BAD_CTX_IDS 4
void t_bad_ctx_ids(aio_context_t ids[T_NR_BAD_CTX_IDS]);
void t_bad_ctx_ids_free(aio_context_t ids[T_NR_BAD_CTX_IDS]);

/* The completion ring mapped at a context's id (fs/aio.c's struct aio_ring): libaio reads it. */
struct t_aio_ring {
	unsigned int id, nr, head, tail, magic;
	unsigned int compat_features, incompat_features, header_length;
	struct io_event io_events[];
};
#define T_AIO_RING_MAGIC	0xa10a10a1U

static inline volatile struct t_aio_ring *t_ring(aio_context_t ctx)
{
	return (volatile struct t_aio_ring *)(uintptr_t)ctx;
}
/* Events the ring of @ctx holds (0 if @ctx is no ring): at most this many minus 1 fit. */
unsigned int t_ring_size(aio_context_t ctx);
/* Events in the ring of @ctx not reaped yet; reads the ring without consuming any. */
unsigned int t_ring_events(aio_context_t ctx);
/* Waits up to 10 s until @n events sit in the ring, however completion is done; bails after. */
void t_wait_ring(aio_context_t ctx, unsigned int n);
#endif

#endif /* AIO_SYSLET_T_H */
