// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: shared helpers of the AIO conformance cases (see t.h). */
#include "t.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef HAVE_STRERRORNAME_NP
const char *t_strerrorname(int err)
{
#define T_ERRNAME(e) case e: return #e
	switch (err) {
	T_ERRNAME(EPERM); T_ERRNAME(ENOENT); T_ERRNAME(ESRCH); T_ERRNAME(EINTR);
	T_ERRNAME(EIO); T_ERRNAME(E2BIG); T_ERRNAME(EBADF); T_ERRNAME(ECHILD);
	T_ERRNAME(EAGAIN); T_ERRNAME(ENOMEM); T_ERRNAME(EACCES); T_ERRNAME(EFAULT);
	T_ERRNAME(EBUSY); T_ERRNAME(EEXIST); T_ERRNAME(EINVAL); T_ERRNAME(ENOSPC);
	T_ERRNAME(ESPIPE); T_ERRNAME(ENOSYS); T_ERRNAME(EOPNOTSUPP); T_ERRNAME(ECANCELED);
	T_ERRNAME(EINPROGRESS); T_ERRNAME(EOVERFLOW); T_ERRNAME(EOWNERDEAD);
	}
#undef T_ERRNAME
	return NULL;
}
#endif

static enum t_result current = T_PASS;
static char skip_reason[256];
/* A syslet case runs in required-syslet mode: its skips are failures. */
static bool skips_fail;

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void t_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("# ", fmt, ap);
	va_end(ap);
}

void t_skip_all(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("1..0 # SKIP ", fmt, ap);
	va_end(ap);
	exit(0);
}

void t_bail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("Bail out! ", fmt, ap);
	va_end(ap);
	exit(99);
}

enum t_result t_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
	return T_SKIP;
}

enum t_result t_result(void)
{
	return current;
}

static bool fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	current = T_FAIL;
	return false;
}

bool t_check_long(long long got, long long want, const char *what, const char *file, int line)
{
	if (got == want)
		return true;
	return fail(file, line, "%s: expected %lld, got %lld", what, want, got);
}

bool t_check_errno(long ret, int want_errno, const char *what, const char *file, int line)
{
	int err = errno;

	if (ret == -1 && err == want_errno)
		return true;
	if (ret != -1)
		return fail(file, line, "%s: expected -1/%s, got %ld", what,
			    strerrorname_np(want_errno), ret);
	return fail(file, line, "%s: expected errno %s, got %s", what,
		    strerrorname_np(want_errno), strerrorname_np(err) ?: "?");
}

bool t_check_true(bool cond, const char *what, const char *file, int line)
{
	if (cond)
		return true;
	return fail(file, line, "expected %s", what);
}

bool t_check_mem(const void *got, const void *want, size_t len, const char *what,
		 const char *file, int line)
{
	const unsigned char *g = got, *w = want;

	for (size_t i = 0; i < len; i++)
		if (g[i] != w[i])
			return fail(file, line, "%s: first difference at byte %zu: expected 0x%02x, got 0x%02x",
				    what, i, w[i], g[i]);
	return true;
}

int t_run(const struct t_case *cases, size_t n)
{
	int failed = 0;

	printf("1..%zu\n", n);
	fflush(stdout);
	for (size_t i = 0; i < n; i++) {
		enum t_result r;

		current = T_PASS;
		skip_reason[0] = '\0';
		r = cases[i].fn();
		/* A sub-test that noted a failed check fails, whatever it returned. */
		if (current == T_FAIL)
			r = T_FAIL;
		if (r == T_SKIP && skips_fail) {
			printf("not ok %zu - %s # required-syslet mode (AIO_SYSLET_REQUIRE=1): skipped: %s\n",
			       i + 1, cases[i].name, skip_reason[0] ? skip_reason : "(no reason given)");
			failed++;
		} else if (r == T_SKIP)
			printf("ok %zu - %s # SKIP %s\n", i + 1, cases[i].name,
			       skip_reason[0] ? skip_reason : "(no reason given)");
		else if (r == T_PASS)
			printf("ok %zu - %s\n", i + 1, cases[i].name);
		else {
			printf("not ok %zu - %s\n", i + 1, cases[i].name);
			failed++;
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

void t_fill_pattern(void *buf, size_t len, unsigned int seed, off_t off)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = t_pattern_byte(seed, off + (off_t)i);
}

bool t_verify_pattern(const void *buf, size_t len, unsigned int seed, off_t off)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		unsigned char want = t_pattern_byte(seed, off + (off_t)i);

		if (p[i] != want) {
			t_diag("data at file offset %lld: expected 0x%02x, got 0x%02x",
			       (long long)(off + (off_t)i), want, p[i]);
			current = T_FAIL;
			return false;
		}
	}
	return true;
}

const char *t_test_dir(void)
{
	const char *d = getenv("AIO_TEST_DIR");

	if (!d || !*d)
		d = getenv("TMPDIR");
	if (!d || !*d)
		d = "/tmp";
	return d;
}

static int make_file(int flags, char *path_out, size_t path_len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/aio-test-XXXXXX", t_test_dir());
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		t_bail("mkostemp in %s: %s", t_test_dir(), strerror(errno));
	close(fd);
	fd = open(path, O_RDWR | O_CLOEXEC | flags);
	if (fd < 0) {
		int err = errno;

		unlink(path);
		errno = err;
		return -1;
	}
	if (path_out)
		snprintf(path_out, path_len, "%s", path);
	else
		unlink(path);	/* nobody needs the name: gone at close */
	return fd;
}

int t_empty_file(int flags, char *path_out, size_t path_len)
{
	int fd = make_file(flags, path_out, path_len);

	if (fd < 0)
		t_bail("open in %s with flags 0x%x: %s", t_test_dir(), flags, strerror(errno));
	return fd;
}

bool t_cold(void)
{
	const char *v = getenv("AIO_TEST_COLD");

	return v && strcmp(v, "1") == 0;
}

/* Pages of the file at @path in the page cache, by mincore(). */
static size_t resident_pages(int fd, size_t size)
{
	size_t pages = (size + 4095) / 4096, n = 0;
	unsigned char *vec;
	void *map;

	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		t_bail("mmap for mincore: %s", strerror(errno));
	vec = malloc(pages);
	if (!vec)
		t_bail("malloc");
	if (mincore(map, size, vec))
		t_bail("mincore: %s", strerror(errno));
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	munmap(map, size);
	return n;
}

void t_drop_cache(const char *path, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t left = 0;

	if (fd < 0)
		t_bail("open %s: %s", path, strerror(errno));
	if (size == 0) {
		close(fd);
		return;
	}
	/* Clean pages go at once; a page still under writeback may need a retry. */
	for (int i = 0; i < 50; i++) {
		if (fdatasync(fd) && errno != EINVAL)
			t_bail("fdatasync %s: %s", path, strerror(errno));
		errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (errno)
			t_bail("posix_fadvise(DONTNEED) %s: %s", path, strerror(errno));
		left = resident_pages(fd, size);
		if (left == 0)
			break;
		usleep(10000);
	}
	close(fd);
	if (left)
		t_bail("AIO_TEST_COLD: %zu page(s) of %s stay in the page cache", left, path);
}

int t_pattern_file(size_t size, unsigned int seed, int flags, char *path_out, size_t path_len)
{
	char path[4096];
	int wfd = make_file(0, path, sizeof(path));
	unsigned char buf[65536];
	int fd;

	if (wfd < 0)
		t_bail("open in %s: %s", t_test_dir(), strerror(errno));
	for (size_t off = 0; off < size; off += sizeof(buf)) {
		size_t len = size - off < sizeof(buf) ? size - off : sizeof(buf);

		t_fill_pattern(buf, len, seed, (off_t)off);
		if (pwrite(wfd, buf, len, (off_t)off) != (ssize_t)len)
			t_bail("writing %s: %s", path, strerror(errno));
	}
	if (fsync(wfd))
		t_bail("fsync %s: %s", path, strerror(errno));
	close(wfd);
	if (t_cold())
		t_drop_cache(path, size);
	fd = open(path, O_RDWR | O_CLOEXEC | flags);
	if (fd < 0) {
		int err = errno;

		unlink(path);
		if (err == EINVAL && (flags & O_DIRECT))
			return -1;	/* the caller skips: no O_DIRECT here */
		t_bail("open %s with flags 0x%x: %s", path, flags, strerror(err));
	}
	if (path_out)
		snprintf(path_out, path_len, "%s", path);
	else
		unlink(path);
	return fd;
}

void *t_aligned_alloc(size_t align, size_t len)
{
	void *p;

	if (posix_memalign(&p, align, len))
		t_bail("posix_memalign(%zu, %zu) failed", align, len);
	memset(p, 0, len);
	return p;
}

bool t_is_root(void)
{
	return geteuid() == 0;
}

long long t_read_sysctl(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v;

	if (!f)
		t_bail("open %s: %s", path, strerror(errno));
	if (fscanf(f, "%lld", &v) != 1)
		t_bail("parse %s", path);
	fclose(f);
	return v;
}

int t_write_sysctl(const char *path, long long value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	char buf[32];
	int len;

	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%lld\n", value);
	if (write(fd, buf, (size_t)len) != len) {
		int err = errno;

		close(fd);
		return -err;
	}
	close(fd);
	return 0;
}

bool t_kernel_has_syslet(void)
{
	return access(T_SYSLET_SYSCTL, F_OK) == 0;
}

bool t_syslet_active(void)
{
	return t_kernel_has_syslet() && t_read_sysctl(T_SYSLET_SYSCTL) != 0;
}

bool t_syslet_required(void)
{
	const char *v = getenv("AIO_SYSLET_REQUIRE");

	return v && strcmp(v, "1") == 0;
}

static int syslet_lock_fd = -1;
static int syslet_lock_how;

static void require_syslet(int how)
{
	if (!t_kernel_has_syslet()) {
		if (t_syslet_required())
			t_bail("required-syslet mode (AIO_SYSLET_REQUIRE=1): kernel without %s",
			       T_SYSLET_SYSCTL);
		t_skip_all("kernel without %s: stock io_submit, no handoff to test", T_SYSLET_SYSCTL);
	}
	/*
	 * Held until exit (and shared with forked children): a case that
	 * changes the global knobs holds it exclusively, so that under
	 * `make -j check` or `aio-syslet-tests -j` no other syslet case runs
	 * while fs.aio-syslet is 0 or the helper bound is lowered.
	 */
	syslet_lock_fd = open(T_SYSLET_SYSCTL, O_RDONLY | O_CLOEXEC);
	if (syslet_lock_fd < 0)
		t_bail("open %s: %s", T_SYSLET_SYSCTL, strerror(errno));
	while (flock(syslet_lock_fd, how))
		if (errno != EINTR)
			t_bail("flock %s: %s", T_SYSLET_SYSCTL, strerror(errno));
	syslet_lock_how = how;
	if (!t_syslet_active())
		t_skip_all("fs.aio-syslet is 0: io_submit runs as stock, no handoff to test");
	skips_fail = t_syslet_required();
}

void t_require_syslet(void)
{
	require_syslet(LOCK_SH);
}

void t_require_syslet_exclusive(void)
{
	require_syslet(LOCK_EX);
}

bool t_syslet_exclusive(void)
{
	return syslet_lock_fd >= 0 && syslet_lock_how == LOCK_EX;
}

long long t_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#ifndef T_LIBAIO
long sys_io_setup(unsigned int nr_events, aio_context_t *ctxp)
{
	return syscall(__NR_io_setup, nr_events, ctxp);
}

long sys_io_destroy(aio_context_t ctx)
{
	return syscall(__NR_io_destroy, ctx);
}

long sys_io_submit(aio_context_t ctx, long nr, struct iocb **iocbpp)
{
	return syscall(__NR_io_submit, ctx, nr, iocbpp);
}

long sys_io_cancel(aio_context_t ctx, struct iocb *iocb, struct io_event *result)
{
	return syscall(__NR_io_cancel, ctx, iocb, result);
}

long sys_io_getevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
		      struct timespec *timeout)
{
	return syscall(__NR_io_getevents, ctx, min_nr, nr, events, timeout);
}

long sys_io_pgetevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
		       struct timespec *timeout, const void *usig)
{
	return syscall(__NR_io_pgetevents, ctx, min_nr, nr, events, timeout, usig);
}

aio_context_t t_setup_ctx(unsigned int nr_events)
{
	aio_context_t ctx = 0;

	if (sys_io_setup(nr_events, &ctx))
		t_bail("io_setup(%u): %s", nr_events, strerror(errno));
	return ctx;
}

static void prep(struct iocb *cb, int fd, int opcode, const void *buf, size_t len, off_t off)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_lio_opcode = (uint16_t)opcode;
	cb->aio_buf = (uint64_t)(uintptr_t)buf;
	cb->aio_nbytes = len;
	cb->aio_offset = off;
	cb->aio_data = (uint64_t)(uintptr_t)cb;
}

void t_prep_pread(struct iocb *cb, int fd, void *buf, size_t len, off_t off)
{
	prep(cb, fd, IOCB_CMD_PREAD, buf, len, off);
}

void t_prep_pwrite(struct iocb *cb, int fd, const void *buf, size_t len, off_t off)
{
	prep(cb, fd, IOCB_CMD_PWRITE, buf, len, off);
}

void t_prep_preadv(struct iocb *cb, int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	prep(cb, fd, IOCB_CMD_PREADV, iov, (size_t)iovcnt, off);
}

void t_prep_pwritev(struct iocb *cb, int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	prep(cb, fd, IOCB_CMD_PWRITEV, iov, (size_t)iovcnt, off);
}

void t_prep_fsync(struct iocb *cb, int fd, bool datasync)
{
	prep(cb, fd, datasync ? IOCB_CMD_FDSYNC : IOCB_CMD_FSYNC, NULL, 0, 0);
}

void t_prep_poll(struct iocb *cb, int fd, short events)
{
	prep(cb, fd, IOCB_CMD_POLL, (void *)(uintptr_t)(unsigned short)events, 0, 0);
}

void t_submit1(aio_context_t ctx, struct iocb *cb)
{
	long ret = sys_io_submit(ctx, 1, &cb);

	if (ret != 1)
		t_bail("io_submit of one iocb returned %ld (%s)", ret,
		       ret < 0 ? strerror(errno) : "no error");
}

int t_reap(aio_context_t ctx, struct io_event *events, int nr, int timeout_ms)
{
	long long deadline = t_now_us() + (long long)timeout_ms * 1000;
	int got = 0;

	while (got < nr) {
		long long left = deadline - t_now_us();
		struct timespec ts;
		long ret;

		if (left <= 0)
			break;
		ts.tv_sec = left / 1000000;
		ts.tv_nsec = (left % 1000000) * 1000;
		ret = sys_io_getevents(ctx, 1, nr - got, events + got, &ts);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			t_bail("io_getevents: %s", strerror(errno));
		}
		got += (int)ret;
	}
	return got;
}
#endif
