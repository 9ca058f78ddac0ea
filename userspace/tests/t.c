// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: shared helpers of the AIO conformance cases (see t.h). */
#include "t.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

/* The reason the sub-test gave for skipping, if any. */
static const char *t_skip_reason(void)
{
	if (skip_reason[0])
		return skip_reason;
	return "(no reason given)";
}
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

enum t_result t_skip_hardware(const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(skip_reason, sizeof(skip_reason), "%s", T_SKIP_HARDWARE);
	va_start(ap, fmt);
	vsnprintf(skip_reason + n, sizeof(skip_reason) - n, fmt, ap);
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
		/* A sub-test's watchdog (sh_watchdog()) ends with it, whichever way it returned. */
		alarm(0);
		/* A sub-test that noted a failed check fails, whatever it returned. */
		if (current == T_FAIL)
			r = T_FAIL;
		if (r == T_SKIP && skips_fail &&
		    strncmp(skip_reason, T_SKIP_HARDWARE, strlen(T_SKIP_HARDWARE))) {
			printf("not ok %zu - %s # required-syslet mode (AIO_SYSLET_REQUIRE=1): skipped: %s\n",
			       i + 1, cases[i].name, t_skip_reason());
			failed++;
		} else if (r == T_SKIP)
			printf("ok %zu - %s # SKIP %s\n", i + 1, cases[i].name, t_skip_reason());
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

void t_cache_file(int fd, size_t size)
{
	char buf[65536];

	for (size_t off = 0; off < size; off += sizeof(buf)) {
		size_t len = size - off < sizeof(buf) ? size - off : sizeof(buf);

		if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
			t_bail("reading the file into the page cache: %s", strerror(errno));
	}
}

/* Pages of @fd from @off (page-aligned) on, @size bytes, in the page cache, by mincore(). */
static size_t resident_pages(int fd, off_t off, size_t size)
{
	size_t pages = (size + 4095) / 4096, n = 0;
	unsigned char *vec;
	void *map;

	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, off);
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

void t_drop_range(const char *path, off_t off, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t left = 0;

	if (fd < 0)
		t_bail("open %s: %s", path, strerror(errno));
	if (len == 0) {
		close(fd);
		return;
	}
	/* Clean pages go at once; a page still under writeback may need a retry. */
	for (int i = 0; i < 50; i++) {
		if (fdatasync(fd) && errno != EINVAL)
			t_bail("fdatasync %s: %s", path, strerror(errno));
		errno = posix_fadvise(fd, off, (off_t)len, POSIX_FADV_DONTNEED);
		if (errno)
			t_bail("posix_fadvise(DONTNEED) %s: %s", path, strerror(errno));
		left = resident_pages(fd, off, len);
		if (left == 0)
			break;
		usleep(10000);
	}
	close(fd);
	if (left)
		t_bail("%zu page(s) of %s from %lld stay in the page cache", left, path,
		       (long long)off);
}

void t_drop_cache(const char *path, size_t size)
{
	t_drop_range(path, 0, size);
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

int t_direct_file(size_t size, unsigned int seed)
{
	int fd = t_pattern_file(size, seed, O_DIRECT, NULL, 0);

	if (fd < 0)
		t_bail("O_DIRECT open failed: %s", strerror(errno));
	return fd;
}

bool t_check_overwritten(int fd, size_t size, unsigned int old_seed, size_t old_size,
			 unsigned int new_seed, off_t off, size_t len)
{
	unsigned char *want = calloc(1, size + 1), *got = calloc(1, size + 1);
	struct stat st;
	bool ok = true;

	if (!want || !got)
		t_bail("calloc(%zu)", size + 1);
	t_fill_pattern(want, old_size, old_seed, 0);
	t_fill_pattern(want + off, len, new_seed, off);
	if (T_EQ(fstat(fd, &st), 0))
		ok &= T_EQ(st.st_size, size);
	else
		ok = false;
	/* One byte more than the size: the read must stop at EOF. */
	ok &= T_EQ(pread(fd, got, size + 1, 0), size);
	ok &= T_MEM(got, want, size);
	free(want);
	free(got);
	return ok;
}

void *t_aligned_alloc(size_t align, size_t len)
{
	void *p;

	if (posix_memalign(&p, align, len))
		t_bail("posix_memalign(%zu, %zu) failed", align, len);
	memset(p, 0, len);
	return p;
}

struct iovec *t_alloc_iov(const size_t *lens, int iovcnt, unsigned char fill, size_t *total)
{
	struct iovec *iov = calloc((size_t)iovcnt, sizeof(*iov));

	if (!iov)
		t_bail("calloc");
	*total = 0;
	for (int i = 0; i < iovcnt; i++) {
		unsigned char *p = malloc(lens[i] + 1);

		if (!p)
			t_bail("malloc(%zu)", lens[i] + 1);
		memset(p, fill, lens[i] + 1);
		iov[i].iov_base = p;
		iov[i].iov_len = lens[i];
		*total += lens[i];
	}
	return iov;
}

void t_free_iov(struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		free(iov[i].iov_base);
	free(iov);
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

long long t_aio_nr(void)
{
	static int fd = -1;
	char buf[32];
	ssize_t len;

	if (fd < 0) {
		fd = open("/proc/sys/fs/aio-nr", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			t_bail("open /proc/sys/fs/aio-nr: %s", strerror(errno));
	}
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	if (len <= 0)
		t_bail("read /proc/sys/fs/aio-nr: %s", strerror(errno));
	buf[len] = '\0';
	return strtoll(buf, NULL, 10);
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

static void *writer_fn(void *arg)
{
	struct t_writer *w = arg;
	struct pollfd p = { .fd = w->stop[0], .events = POLLIN };
	long long deadline = t_now_us() + w->delay_ms * 1000LL, left;
	int ret;

	/* A signal for the process may land in this thread: wait on. */
	do {
		left = deadline - t_now_us();
		ret = poll(&p, 1, left > 0 ? (int)((left + 999) / 1000) : 0);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		t_bail("writer: poll: %s", strerror(errno));
	if (ret > 0)
		return NULL;
	atomic_store(&w->wrote_us, t_now_us());
	if (write(w->fd, w->data, w->len) != (ssize_t)w->len)
		t_bail("writer: write: %s", strerror(errno));
	return NULL;
}

void t_writer_start(struct t_writer *w, int fd, const void *data, size_t len, int delay_ms)
{
	int err;

	w->fd = fd;
	w->data = data;
	w->len = len;
	w->delay_ms = delay_ms;
	atomic_init(&w->wrote_us, 0);
	if (pipe2(w->stop, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	err = pthread_create(&w->thread, NULL, writer_fn, w);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
}

long long t_writer_stop(struct t_writer *w)
{
	if (write(w->stop[1], "s", 1) != 1)
		t_bail("write: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	return atomic_load(&w->wrote_us);
}

unsigned long t_fs_type(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs))
		t_bail("fstatfs: %s", strerror(errno));
	return (unsigned long)sfs.f_type;
}

bool t_fs_has_nowait(int fd)
{
	switch (t_fs_type(fd)) {
	case T_EXT4_MAGIC:
	case 0x58465342:	/* xfs */
	case 0x9123683e:	/* btrfs */
	case 0xf2f52010:	/* f2fs */
		return true;
	}
	return false;
}

bool t_check_pattern_file(int fd, size_t size, unsigned int seed)
{
	unsigned char *data = malloc(size);
	bool ok;

	if (!data)
		t_bail("malloc(%zu)", size);
	ok = T_EQ(pread(fd, data, size, 0), size) && t_verify_pattern(data, size, seed, 0);
	free(data);
	return ok;
}

void t_kill_child(pid_t pid)
{
	long long deadline = t_now_us() + 5000000;
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (t_now_us() > deadline) {
			t_diag("child %d survives SIGKILL for 5 s: left behind", (int)pid);
			return;
		}
		usleep(2000);
	}
}

bool t_wait_child(pid_t pid, int *st, int timeout_s, bool traced)
{
	long long deadline = t_now_us() + timeout_s * 1000000LL;
	pid_t got;

	while ((got = waitpid(pid, st, WNOHANG)) == 0 ||
	       (got == pid && traced && WIFSTOPPED(*st))) {
		if (got == pid) {
			int sig = WSTOPSIG(*st) == SIGTRAP ? 0 : WSTOPSIG(*st);

			if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig))
				t_bail("PTRACE_CONT: %s", strerror(errno));
			continue;
		}
		if (t_now_us() > deadline) {
			t_diag("child %d still running after %d s: killed", (int)pid, timeout_s);
			t_kill_child(pid);
			return T_TRUE(!"child hung");
		}
		usleep(1000);
	}
	return T_EQ(got, pid);
}

bool t_reap_child(pid_t pid, int status, int timeout_s)
{
	int st = 0;

	if (!t_wait_child(pid, &st, timeout_s, false))
		return false;
	if (WIFSIGNALED(st))
		t_diag("child %d killed by signal %d", (int)pid, WTERMSIG(st));
	if (!T_TRUE(WIFEXITED(st)))
		return false;
	return T_EQ(WEXITSTATUS(st), status);
}

pid_t t_fork(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	return pid;
}

int t_in_child(int (*fn)(void *), void *arg)
{
	int status = 0;
	pid_t pid = t_fork();

	if (pid == 0) {
		int ret = fn(arg);

		fflush(stdout);
		_exit(ret);
	}
	if (!t_wait_child(pid, &status, 60, false))
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void t_set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		t_bail("sigaction: %s", strerror(errno));
}

bool t_task_stat(pid_t pid, pid_t tid, char *state, unsigned long *flags)
{
	char path[64], buf[1024], *p;
	unsigned long f;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	/* The name may hold anything: fields follow the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", state, &f) != 2)
		return false;
	if (flags)
		*flags = f;
	return true;
}

/* The syscall thread @tid of @pid sleeps in (-1: running, or gone). */
long t_blocked_in(pid_t pid, pid_t tid)
{
	char path[64], buf[256];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f && errno != ENOENT && errno != ESRCH)
		t_bail("open %s: %s", path, strerror(errno));
	if (!f)
		return -1;
	/* "running" when it is not asleep, which leaves -1. */
	if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr;
}

bool t_wait_blocked(pid_t pid, pid_t tid, long nr, atomic_bool *stop)
{
	long long deadline = t_now_us() + 10000000;

	while (t_now_us() < deadline) {
		char state;

		if (stop && atomic_load(stop))
			return false;
		if (t_blocked_in(pid, tid) == nr && t_task_stat(pid, tid, &state, NULL) &&
		    (state == 'S' || state == 'D'))
			return true;
		usleep(1000);
	}
	t_bail("task %d did not sleep in syscall %ld within 10 s", (int)tid, nr);
}

void t_pin_to_this_cpu(cpu_set_t *old)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		t_bail("sched_getcpu: %s", strerror(errno));
	if (old && sched_getaffinity(0, sizeof(*old), old))
		t_bail("sched_getaffinity: %s", strerror(errno));
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		t_bail("sched_setaffinity: %s", strerror(errno));
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
long long t_run1(aio_context_t ctx, struct iocb *cb)
{
	struct io_event ev;

	t_submit1(ctx, cb);
	if (!T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		return LLONG_MIN;
	T_EQ(ev.obj, (uintptr_t)cb);
	T_EQ(ev.data, cb->aio_data);
	T_EQ(ev.res2, 0);
	return ev.res;
}

bool t_check_no_event(aio_context_t ctx, int timeout_ms, const char *file, int line)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	struct io_event ev;
	long n;

	do
		n = sys_io_getevents(ctx, timeout_ms ? 1 : 0, 1, &ev, &ts);
	while (n < 0 && errno == EINTR);
	return t_check_long(n, 0, "events that came", file, line);
}

bool t_check_submit_fails(aio_context_t ctx, struct iocb *cb, int err, const char *what,
			  const char *file, int line)
{
	bool ok = t_check_errno(sys_io_submit(ctx, 1, &cb), err, what, file, line);

	return t_check_no_event(ctx, 0, file, line) && ok;
}

void t_bad_ctx_ids(aio_context_t ids[T_NR_BAD_CTX_IDS])
{
	size_t page = (size_t)getpagesize();
	void *zeros = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *gone = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (zeros == MAP_FAILED || gone == MAP_FAILED)
		t_bail("mmap: %s", strerror(errno));
	munmap(gone, page);
	ids[0] = 0xdeadbeef;
	ids[1] = ~0UL;
	ids[2] = (aio_context_t)gone;
	ids[3] = (aio_context_t)zeros;
}

void t_bad_ctx_ids_free(aio_context_t ids[T_NR_BAD_CTX_IDS])
{
	munmap((void *)ids[3], (size_t)getpagesize());
}

unsigned int t_ring_size(aio_context_t ctx)
{
	return t_ring(ctx)->magic == T_AIO_RING_MAGIC ? t_ring(ctx)->nr : 0;
}

unsigned int t_ring_events(aio_context_t ctx)
{
	volatile struct t_aio_ring *r = t_ring(ctx);
	unsigned int tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	return (tail + r->nr - r->head) % r->nr;
}

void t_wait_ring(aio_context_t ctx, unsigned int n)
{
	long long deadline = t_now_us() + 10000000;

	while (t_ring_events(ctx) < n) {
		if (t_now_us() > deadline)
			t_bail("%u events did not complete within 10 s", n);
		usleep(1000);
	}
}
static void *kick(void *arg)
{
	struct t_kicker *k = arg;
	pid_t pid = getpid();

	if (!t_wait_blocked(pid, k->tid, k->nr, &k->stop))
		return NULL;
	pthread_kill(k->target, k->sig);
	atomic_store(&k->sent, true);
	/*
	 * A signal that wakes the target makes it runnable before
	 * pthread_kill() returns: asleep in the call again, it went on waiting.
	 */
	if (k->pipe[1] < 0 || !t_wait_blocked(pid, k->tid, k->nr, &k->stop))
		return NULL;
	atomic_store(&k->ended_us, t_now_us());
	if (write(k->pipe[1], "k", 1) != 1)
		t_bail("kicker: write: %s", strerror(errno));
	return NULL;
}

void t_kicker_start(struct t_kicker *k, long nr, int sig, aio_context_t ctx)
{
	int err;

	memset(k, 0, sizeof(*k));
	k->target = pthread_self();
	k->tid = (pid_t)syscall(SYS_gettid);
	k->nr = nr;
	k->sig = sig;
	k->pipe[0] = k->pipe[1] = -1;
	atomic_init(&k->stop, false);
	atomic_init(&k->sent, false);
	atomic_init(&k->ended_us, 0);
	if (ctx) {
		if (pipe2(k->pipe, O_CLOEXEC))
			t_bail("pipe: %s", strerror(errno));
		t_prep_poll(&k->poll, k->pipe[0], POLLIN);
		t_submit1(ctx, &k->poll);
	}
	err = pthread_create(&k->thread, NULL, kick, k);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
}

bool t_kicker_stop(struct t_kicker *k)
{
	atomic_store(&k->stop, true);
	/* Once joined, a signal sent late has been delivered too. */
	pthread_join(k->thread, NULL);
	/* A POLL still waiting holds its file: io_destroy() cancels it. */
	if (k->pipe[0] >= 0) {
		close(k->pipe[0]);
		close(k->pipe[1]);
	}
	return atomic_load(&k->sent);
}

bool t_kicker_ended_wait(struct t_kicker *k, long ret, const struct io_event *ev, int err)
{
	bool ok = T_TRUE(atomic_load(&k->sent));

	if (!T_TRUE(atomic_load(&k->ended_us) != 0))
		t_diag("the caller did not sleep on in the call after the signal");
	if (!T_EQ(ret, 1)) {
		t_diag("errno %s", strerrorname_np(err) ?: "?");
		return false;
	}
	ok &= T_EQ(ev->obj, (uintptr_t)&k->poll);
	ok &= T_TRUE(ev->res & POLLIN);
	return ok && atomic_load(&k->ended_us) != 0;
}
#endif
