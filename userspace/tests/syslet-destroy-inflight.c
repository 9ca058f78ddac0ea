// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_destroy() and process exit wait for a handed-off iocb still blocked; exit kills what a signal can. */
#include "t.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Long enough that an io_submit() which hands off returns well before it, even under TCG. */
#define RESCUE_MS 3000

#include "syslet-writer.h"

/* Hands off a read of the empty pipe @p[0] into @c; false if it did not hand off. */
static bool hand_off_read(aio_context_t ctx, struct iocb *cb, int p[2], char *c)
{
	struct iocb *list = cb;
	struct writer w;
	bool ok;

	t_prep_pread(cb, p[0], c, 1, 0);
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	if (!T_TRUE(sh_wait_parked(1, 5000)))
		return false;
	writer_start(&w, p[1], "d", 1, RESCUE_MS);
	ok = T_EQ(sys_io_submit(ctx, 1, &list), 1);
	return T_EQ(writer_stop(&w), 0) && ok;
}

struct destroyer {
	aio_context_t ctx;
	_Atomic long long done_us;	/* when io_destroy() returned; 0 before */
	long ret;
	int err;
};

static void *destroyer_fn(void *arg)
{
	struct destroyer *d = arg;

	d->ret = sys_io_destroy(d->ctx);
	d->err = errno;
	atomic_store(&d->done_us, t_now_us());
	return NULL;
}

static enum t_result test_io_destroy(void)
{
	struct destroyer d = { .ctx = t_setup_ctx(16) };
	long long wrote, deadline;
	struct iocb cb;
	pthread_t th;
	int p[2], err;
	char c = 0;

	atomic_store(&d.done_us, 0);
	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	if (!warm_up(d.ctx) || !hand_off_read(d.ctx, &cb, p, &c)) {
		if (write(p[1], "d", 1) != 1)
			t_bail("write: %s", strerror(errno));
		T_EQ(sys_io_destroy(d.ctx), 0);
		goto out;
	}
	err = pthread_create(&th, NULL, destroyer_fn, &d);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
	/* The read is in flight: io_destroy() waits for it. */
	usleep(300000);
	T_EQ(atomic_load(&d.done_us), 0);
	wrote = t_now_us();
	if (write(p[1], "d", 1) != 1)
		t_bail("write: %s", strerror(errno));
	deadline = wrote + 5000000;
	while (!atomic_load(&d.done_us) && t_now_us() < deadline)
		usleep(2000);
	if (!T_TRUE(atomic_load(&d.done_us) != 0)) {
		/* Stuck in the kernel: nothing to join. */
		t_diag("io_destroy() has not returned 5 s after the write");
		goto out;
	}
	pthread_join(th, NULL);
	errno = d.err;
	T_EQ(d.ret, 0);
	T_TRUE(atomic_load(&d.done_us) >= wrote);
	/* The read completed before its context went. */
	T_EQ(c, 'd');
out:
	close(p[0]);
	close(p[1]);
	return t_result();
}

static void *exit_group_fn(void *arg)
{
	(void)arg;
	syscall(SYS_exit_group, 5);
	return NULL;
}

/* Exits with status 5, from this thread (exit()) or from another (exit_group()). */
static void __attribute__((noreturn)) exit_5(bool other_thread)
{
	pthread_t th;

	fflush(stdout);
	if (!other_thread)
		exit(5);
	if (pthread_create(&th, NULL, exit_group_fn, NULL))
		_exit(T_FAIL);
	for (;;)
		pause();
}

static bool wait_child(pid_t pid, int *status, int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;
	pid_t w;

	while ((w = waitpid(pid, status, WNOHANG)) == 0) {
		if (t_now_us() > deadline)
			return false;
		usleep(2000);
	}
	if (w != pid)
		t_bail("waitpid: %s", strerror(errno));
	return true;
}

static bool wait_byte(int fd, char want, int timeout_ms)
{
	struct pollfd pr = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&pr, 1, timeout_ms) != 1 || read(fd, &c, 1) != 1 || c != want) {
		t_diag("no '%c' from the child within %d ms", want, timeout_ms);
		return false;
	}
	return true;
}

static void reap_child(pid_t pid)
{
	int status;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
}

/*
 * In the child: hand off a read of the empty pipe @p[0] (its only writer
 * is the parent), say so on @ready, and exit with status 5.
 */
static void __attribute__((noreturn)) exit_with_read_blocked(int p[2], int ready, bool other_thread)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb cb, *list = &cb;
	char c;

	close(p[1]);
	if (!warm_up(ctx))
		_exit(T_FAIL);
	/* No writer can rescue this read: the parent times out if it blocks. */
	t_prep_pread(&cb, p[0], &c, 1, 0);
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	if (!T_TRUE(sh_wait_parked(1, 5000)) || !T_EQ(sys_io_submit(ctx, 1, &list), 1))
		_exit(T_FAIL);
	if (write(ready, "r", 1) != 1)
		_exit(T_FAIL);
	exit_5(other_thread);
}

/*
 * A pipe read waits interruptibly: exit kills it as it kills a thread
 * blocked in a synchronous read(), so the process ends without the data.
 */
static enum t_result exit_interrupts_read(bool other_thread)
{
	int p[2], ready[2], status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(ready[0]);
		exit_with_read_blocked(p, ready[1], other_thread);
	}
	close(p[0]);
	close(ready[1]);
	if (!T_TRUE(wait_byte(ready[0], 'r', 20000)))
		goto out;
	if (!T_TRUE(wait_child(pid, &status, 5000))) {
		t_diag("the child has not ended in 5 s: its blocked read held it");
		goto out;
	}
	pid = 0;
	T_TRUE(WIFEXITED(status));
	T_EQ(status, 5 << 8);
out:
	/* A child still there: its read, if still waiting, is not stuck. */
	if (pid > 0 && write(p[1], "x", 1) != 1)
		t_diag("write: %s", strerror(errno));
	reap_child(pid);
	close(p[1]);
	close(ready[0]);
	return t_result();
}

static enum t_result test_exit_pipe(void)
{
	return exit_interrupts_read(false);
}

static enum t_result test_exit_group_pipe(void)
{
	return exit_interrupts_read(true);
}

/*
 * A write that waits for the inode lock waits uninterruptibly: exit
 * cannot cut it short and must wait for it.  The parent holds the lock of
 * the file: its pwrite() faults in its source buffer with the lock held,
 * and the buffer is an uncached mapping of null_blk (20 ms a page).
 */
#define NULLB "/dev/nullb0"
#define HOLD_PAGES 128

struct holder {
	int fd;
	const void *src;
	ssize_t ret;
	_Atomic long long done_us;
};

static void *holder_fn(void *arg)
{
	struct holder *h = arg;

	h->ret = pwrite(h->fd, h->src, HOLD_PAGES * 4096, 8192);
	atomic_store(&h->done_us, t_now_us());
	return NULL;
}

static void __attribute__((noreturn)) exit_with_write_blocked(int fd, int go, int ready,
							       bool other_thread)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb cb, *list = &cb;
	static char buf[4096];
	char c;

	memset(buf, 'c', sizeof(buf));
	if (!warm_up(ctx))
		_exit(T_FAIL);
	if (write(ready, "w", 1) != 1 || read(go, &c, 1) != 1)
		_exit(T_FAIL);
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	/* Without a handoff this returns once the parent's write is done: it checks. */
	if (!T_TRUE(sh_wait_parked(1, 5000)) || !T_EQ(sys_io_submit(ctx, 1, &list), 1))
		_exit(T_FAIL);
	if (write(ready, "r", 1) != 1)
		_exit(T_FAIL);
	exit_5(other_thread);
}

static enum t_result exit_waits_for_write(bool other_thread)
{
	struct holder h = { .ret = -1 };
	int go[2], ready[2], status = 0, dev, err;
	bool started = false;
	pthread_t th;
	void *map;
	pid_t pid = 0, r1;

	if (access(NULLB, F_OK))
		return t_skip("%s is absent: nothing slow enough to hold an inode lock with", NULLB);
	if (!t_is_root())
		return t_skip("opening %s and dropping its page cache need root", NULLB);
	dev = open(NULLB, O_RDONLY | O_CLOEXEC);
	if (dev < 0)
		t_bail("open %s: %s", NULLB, strerror(errno));
	/* Every page of the source buffer is read from the device as it faults. */
	errno = posix_fadvise(dev, 0, 0, POSIX_FADV_DONTNEED);
	if (errno || ioctl(dev, BLKFLSBUF, 0))
		t_bail("dropping the page cache of %s: %s", NULLB, strerror(errno));
	map = mmap(NULL, HOLD_PAGES * 4096, PROT_READ, MAP_SHARED, dev, 0);
	if (map == MAP_FAILED || madvise(map, HOLD_PAGES * 4096, MADV_RANDOM))
		t_bail("mmap %s: %s", NULLB, strerror(errno));
	h.src = map;
	h.fd = t_empty_file(0, NULL, 0);
	atomic_store(&h.done_us, 0);
	if (pipe2(go, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		exit_with_write_blocked(h.fd, go[0], ready[1], other_thread);
	}
	close(go[0]);
	close(ready[1]);
	if (!T_TRUE(wait_byte(ready[0], 'w', 20000)))
		goto out;
	err = pthread_create(&th, NULL, holder_fn, &h);
	if (err)
		t_bail("pthread_create: %s", strerror(err));
	started = true;
	/* Let the holder take the lock before the child's write comes. */
	usleep(100000);
	if (write(go[1], "g", 1) != 1)
		t_bail("write: %s", strerror(errno));
	if (!T_TRUE(wait_byte(ready[0], 'r', 20000)))
		goto out;
	/* The child's write handed off while the lock was still held. */
	T_EQ(atomic_load(&h.done_us), 0);
	usleep(300000);
	r1 = waitpid(pid, &status, WNOHANG);
	if (atomic_load(&h.done_us)) {
		t_diag("the lock holder finished within 300 ms: too fast to tell");
		T_TRUE(false);
	}
	/* The child is exiting, but its write waits for the lock and keeps it. */
	if (!T_EQ(r1, 0)) {
		t_diag("the child ended (status 0x%x) with its write blocked", status);
		pid = 0;
		goto out;
	}
	pthread_join(th, NULL);
	started = false;
	T_EQ(h.ret, HOLD_PAGES * 4096);
	if (!T_TRUE(wait_child(pid, &status, 5000))) {
		t_diag("the child has not ended 5 s after the lock was released");
		goto out;
	}
	pid = 0;
	T_TRUE(WIFEXITED(status));
	T_EQ(status, 5 << 8);
out:
	if (started)
		pthread_join(th, NULL);
	reap_child(pid);
	munmap(map, HOLD_PAGES * 4096);
	close(go[1]);
	close(ready[0]);
	close(h.fd);
	close(dev);
	return t_result();
}

static enum t_result test_exit_write(void)
{
	return exit_waits_for_write(false);
}

static enum t_result test_exit_group_write(void)
{
	return exit_waits_for_write(true);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_destroy() returns only once a blocked handed-off read completes", test_io_destroy },
		{ "exit() interrupts a handed-off pipe read, as a synchronous one: the process ends", test_exit_pipe },
		{ "so does exit_group() from another thread", test_exit_group_pipe },
		{ "exit() waits for a handed-off write blocked on an inode lock", test_exit_write },
		{ "so does exit_group() from another thread", test_exit_group_write },
	};

	t_require_syslet();
	/* A write to the pipe of a child already gone fails with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	return T_RUN(cases);
}
