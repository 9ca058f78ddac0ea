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
/* Drops the file at @path from the page cache and checks with mincore() that it left; bails if not. */
void t_drop_cache(const char *path, size_t size);
/*
 * Creates a file of @size bytes holding the pattern @seed; returns its fd
 * (O_RDWR | @flags).  In cold mode its pages are out of the page cache, so
 * that the case's reads go to the disk and block.
 */
int t_pattern_file(size_t size, unsigned int seed, int flags, char *path_out, size_t path_len);
/* Creates an empty file; returns its fd (O_RDWR | @flags). */
int t_empty_file(int flags, char *path_out, size_t path_len);
/* Page-aligned buffer that bails on failure; free with free(). */
void *t_aligned_alloc(size_t align, size_t len);
/* 1 when the effective user is root. */
bool t_is_root(void);
/* Reads an integer from a /proc/sys file; bails when it cannot. */
long long t_read_sysctl(const char *path);
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

#ifndef T_LIBAIO
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
#endif

#endif /* AIO_SYSLET_T_H */
