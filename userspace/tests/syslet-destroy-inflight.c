// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: process exit waits for a handed-off iocb still blocked, and
 * kills what a signal can.  (io_destroy() cancels such a read instead:
 * syslet-cancel.)
 */
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

#include "syslet-helpers.h"

/* The TID a new thread stores in *@tid first thing; bails if none comes within 10 s. */
static pid_t thread_tid(_Atomic pid_t *tid)
{
	long long deadline = t_now_us() + 10000000;
	pid_t t;

	while (!(t = atomic_load(tid))) {
		if (t_now_us() > deadline)
			t_bail("a new thread did not run within 10 s");
		usleep(1000);
	}
	return t;
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
	if (!sh_warm_up(ctx))
		_exit(T_FAIL);
	/* No writer can rescue this read: the parent times out if it blocks. */
	t_prep_pread(&cb, p[0], &c, 1, 0);
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)) || !T_EQ(sys_io_submit(ctx, 1, &list), 1))
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
	int p[2], ready[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	pid = t_fork();
	if (pid == 0) {
		close(ready[0]);
		exit_with_read_blocked(p, ready[1], other_thread);
	}
	close(p[0]);
	close(ready[1]);
	if (!T_TRUE(wait_byte(ready[0], 'r', 20000)))
		goto out;
	if (!t_reap_child(pid, 5, 5))
		t_diag("the child did not end as it should in 5 s: did its blocked read hold it?");
	pid = 0;
out:
	/* A child still there: its read, if still waiting, is not stuck. */
	if (pid > 0 && write(p[1], "x", 1) != 1)
		t_diag("write: %s", strerror(errno));
	t_kill_child(pid);
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
	_Atomic pid_t tid;		/* the thread's; 0 before it runs */
	atomic_bool returned;		/* its pwrite() returned */
	_Atomic long long done_us;
};

static void *holder_fn(void *arg)
{
	struct holder *h = arg;

	atomic_store(&h->tid, sh_gettid());
	h->ret = pwrite(h->fd, h->src, HOLD_PAGES * 4096, 8192);
	atomic_store(&h->done_us, t_now_us());
	atomic_store(&h->returned, true);
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
	if (!sh_warm_up(ctx))
		_exit(T_FAIL);
	if (write(ready, "w", 1) != 1 || read(go, &c, 1) != 1)
		_exit(T_FAIL);
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	T_EQ(sys_io_submit(ctx, 0, &list), 0);
	/* Without a handoff this returns once the parent's write is done: it checks. */
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)) || !T_EQ(sys_io_submit(ctx, 1, &list), 1))
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
	atomic_init(&h.tid, 0);
	atomic_init(&h.returned, false);
	atomic_init(&h.done_us, 0);
	if (pipe2(go, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	pid = t_fork();
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
	/*
	 * The holder takes the lock before the child's write comes: asleep in
	 * pwrite(), it holds it, faulting its source in (nothing else sleeps
	 * there: the lock is not contended yet).
	 */
	if (!T_TRUE(t_wait_blocked(getpid(), thread_tid(&h.tid), SYS_pwrite64, &h.returned))) {
		t_diag("the holder's pwrite() ended before it was seen asleep: too fast to tell");
		goto out;
	}
	if (write(go[1], "g", 1) != 1)
		t_bail("write: %s", strerror(errno));
	if (!T_TRUE(wait_byte(ready[0], 'r', 20000)))
		goto out;
	/* The child's write handed off while the lock was still held. */
	T_EQ(atomic_load(&h.done_us), 0);
	/* Its user thread exits; what that kills is gone, what it cannot is asleep. */
	T_TRUE(sh_wait_exit_settled(pid, 10000));
	r1 = waitpid(pid, &status, WNOHANG);
	if (atomic_load(&h.done_us)) {
		t_diag("the holder was done before the child's exit settled: too fast to tell");
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
	if (!t_reap_child(pid, 5, 5))
		t_diag("the child did not end as it should within 5 s of the lock's release");
	pid = 0;
out:
	if (started)
		pthread_join(th, NULL);
	t_kill_child(pid);
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
