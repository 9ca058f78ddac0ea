// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a process whose only thread handed off is still
 * single-threaded where that matters: unshare() of the thread group, the
 * signal handlers and the address space (what unshare(CLONE_NEWUSER)
 * implies) and setns() into a mount namespace succeed as on stock (its
 * parked helpers exit), and handoffs go on afterwards; with a second user
 * thread unshare() fails with EINVAL, as on stock.
 */
#include "syslet-helpers.h"

#include <sched.h>

/*
 * The main thread hands off twice, so that helpers are parked; then waits
 * until it is the only thread besides them: the cases' rescuer threads,
 * though joined, may still be on the thread list, and the helper that
 * ended the last read on its way to park, and either makes unshare()
 * fail with EINVAL on any kernel.
 */
static bool handed_off_twice(aio_context_t ctx)
{
	bool ok;

	if (!sh_warm_up(ctx))
		return false;
	ok = T_TRUE(sh_read_runs(ctx, true));
	ok &= T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	ok &= T_TRUE(sh_read_runs(ctx, true));
	ok &= T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	ok &= T_TRUE(sh_wait_only_parked(SH_PARK_MS));
	return ok;
}

/*
 * Unsharing the thread group, the signal handlers and the address space
 * is what stock allows a single-threaded process (it has nothing to
 * unshare), and what CLONE_NEWUSER implies (CLONE_THREAD).
 */
#define SINGLE_THREADED_FLAGS	(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)

/* After the change, a new helper is made and used. */
static void hands_off_again(aio_context_t ctx)
{
	T_TRUE(sh_warm_up(ctx));
	T_TRUE(sh_read_runs(ctx, true));
}

static enum t_result unshare_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);

	if (!handed_off_twice(ctx))
		return T_FAIL;
	T_TRUE(sh_count_tasks() > 1);
	if (!T_EQ(unshare(SINGLE_THREADED_FLAGS), 0))
		t_diag("unshare(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM): %s", strerror(errno));
	/* The helpers are gone, and nothing else changed. */
	T_EQ(sh_count_tasks(), 1);
	hands_off_again(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_unshare(void)
{
	return sh_in_child(unshare_child);
}

static enum t_result setns_mnt_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		t_bail("open /proc/self/ns/mnt: %s", strerror(errno));
	if (!handed_off_twice(ctx))
		return T_FAIL;
	/* Its own mount namespace: only the "one fs_struct user" check can refuse. */
	if (!T_EQ(setns(fd, CLONE_NEWNS), 0))
		t_diag("setns(mnt): %s", strerror(errno));
	T_EQ(sh_count_tasks(), 1);
	close(fd);
	hands_off_again(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_setns_mnt(void)
{
	if (!t_is_root())
		return t_skip("setns() into a mount namespace needs CAP_SYS_ADMIN: run as root");
	return sh_in_child(setns_mnt_child);
}

static int second_thread_pipe[2];

static void *second_thread(void *arg)
{
	char c;

	(void)arg;
	if (read(second_thread_pipe[0], &c, 1) < 0)
		return NULL;
	return arg;
}

static enum t_result second_thread_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	pthread_t th;

	if (!handed_off_twice(ctx))
		return T_FAIL;
	if (pipe2(second_thread_pipe, O_CLOEXEC) ||
	    pthread_create(&th, NULL, second_thread, NULL))
		t_bail("pipe2, pthread_create: %s", strerror(errno));
	/* A user thread besides us: stock's answer, and the helpers stay. */
	T_ERRNO(unshare(SINGLE_THREADED_FLAGS), EINVAL);
	T_TRUE(sh_parked_helpers() >= 1);
	T_TRUE(sh_read_runs(ctx, true));
	if (write(second_thread_pipe[1], "x", 1) != 1)
		t_bail("write: %s", strerror(errno));
	pthread_join(th, NULL);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_second_thread(void)
{
	return sh_in_child(second_thread_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "after handoffs from its only thread, a process can unshare(CLONE_THREAD|CLONE_SIGHAND|CLONE_VM); handoffs go on",
		  test_unshare },
		{ "after handoffs from its only thread, a process can setns() into a mount namespace",
		  test_setns_mnt },
		{ "with a second user thread, unshare(CLONE_THREAD|CLONE_SIGHAND|CLONE_VM) fails with EINVAL as on stock",
		  test_second_thread },
	};

	t_require_syslet();
	return T_RUN(cases);
}
