// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: per-task state that cannot follow a user context keeps its
 * thread from handing off, and says so (the syslet_unarmed event).  A
 * thread with a per-thread perf event reads synchronously, its event
 * counting, and hands off again once the event is closed.  With
 * kernel.shm_rmid_forced (in an IPC namespace of the case's own), a
 * thread that created a SysV segment nobody has attached yet (exit_shm()
 * destroys such a segment when its creator's task exits) reads
 * synchronously, and the segment outlives every helper: the task that
 * created it never became one.
 */
#include "syslet-helpers.h"

#include <linux/perf_event.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/shm.h>

static enum t_result perf_child(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_TASK_CLOCK,
	};
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_trace unarmed;
	long long count = 0;
	int fd;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("perf_event_open(task-clock, this thread): %s", strerror(errno));
	}
	sh_trace_start(&unarmed, "syslet_unarmed");
	T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	/* A helper is parked, but the thread does not arm. */
	T_TRUE(sh_read_runs(ctx, false));
	T_TRUE(sh_trace_count(&unarmed, "reason=perf") >= 1);
	T_EQ(read(fd, &count, sizeof(count)), sizeof(count));
	T_TRUE(count > 0);
	close(fd);
	/* No event left in the thread's context: it hands off again. */
	T_TRUE(sh_read_runs(ctx, true));
	sh_trace_stop(&unarmed);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_perf(void)
{
	if (!t_is_root())
		return t_skip("the trace events need root");
	return sh_in_child(perf_child);
}

#define RMID_FORCED	"/proc/sys/kernel/shm_rmid_forced"

static enum t_result shm_child(void)
{
	static const char data[] = "kept";
	struct sh_trace unarmed;
	struct shmid_ds ds;
	aio_context_t ctx;
	int id, err;
	char *p;

	/* The sysctl is the IPC namespace's: set it in one of our own. */
	if (unshare(CLONE_NEWIPC))
		return t_skip("unshare(CLONE_NEWIPC): %s", strerror(errno));
	err = t_write_sysctl(RMID_FORCED, 1);
	if (err)
		t_bail("write 1 to " RMID_FORCED ": %s", strerror(-err));
	ctx = t_setup_ctx(8);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	/*
	 * Not attached (with shm_rmid_forced the last detach destroys a
	 * segment): made for another process to attach, it lives until
	 * the task that created it exits.
	 */
	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0)
		t_bail("shmget: %s", strerror(errno));
	sh_trace_start(&unarmed, "syslet_unarmed");
	T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	T_TRUE(sh_read_runs(ctx, false));
	T_TRUE(sh_trace_count(&unarmed, "reason=sysvshm") >= 1);
	sh_trace_stop(&unarmed);
	T_EQ(sys_io_destroy(ctx), 0);
	/* Every parked helper exits first (a single thread may unshare this). */
	T_EQ(unshare(CLONE_SIGHAND), 0);
	T_EQ(sh_count_tasks(), 1);
	if (!T_EQ(shmctl(id, IPC_STAT, &ds), 0)) {
		t_diag("the segment is gone: %s", strerror(errno));
		return t_result();
	}
	T_EQ(ds.shm_segsz, 4096);
	T_EQ(ds.shm_cpid, getpid());
	p = shmat(id, NULL, 0);
	if (T_TRUE(p != (void *)-1)) {
		memcpy(p, data, sizeof(data));
		T_MEM(p, data, sizeof(data));
		T_EQ(shmdt(p), 0);
	}
	/* The last detach destroyed it (shm_rmid_forced). */
	T_ERRNO(shmctl(id, IPC_STAT, &ds), EINVAL);
	return t_result();
}

static enum t_result test_shm(void)
{
	if (!t_is_root())
		return t_skip("an IPC namespace and the trace events need root");
	return sh_in_child(shm_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a thread with a per-thread perf event reads synchronously (unarmed perf), "
		  "and hands off again once it is closed", test_perf },
		{ "with shm_rmid_forced a thread that created a segment reads synchronously "
		  "(unarmed sysvshm); the segment outlives the helpers", test_shm },
	};

	t_require_syslet();
	return T_RUN(cases);
}
