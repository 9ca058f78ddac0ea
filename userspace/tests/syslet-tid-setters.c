// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a change made to a thread by its TID while the thread
 * hands off in a loop is never lost: after each sched_setaffinity(),
 * setpriority(), ioprio_set() and write to /proc/self/task/TID/comm,
 * reading the same TID back gives what was set.  (Without a retry, a change that found
 * the thread's old task after the helper copied it went to a task that
 * no longer carries the thread.)
 */
#include "syslet-helpers.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define SET_ROUNDS	600
#define WHO_PROCESS	1			/* IOPRIO_WHO_PROCESS */
#define PRIO_BE(level)	((2 << 13) | (level))	/* IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, level) */

static void comm_path(pid_t tid, char *path, size_t len)
{
	snprintf(path, len, "/proc/self/task/%d/comm", (int)tid);
}

/* Appends " TID:name" for thread @tid to the line @arg; one that exited is left out. */
static bool add_name(pid_t pid, pid_t tid, void *arg)
{
	char *line = arg, path[64], name[32];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, name, sizeof(name) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return false;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	snprintf(line + strlen(line), 512 - strlen(line), " %d:%s", (int)tid, name);
	return true;
}

/* Every thread's TID and name, to tell which task a lost name came from. */
static void diag_names(void)
{
	char line[512] = "";

	sh_each_task(getpid(), add_name, line);
	t_diag("threads now:%s", line);
}

static enum t_result setter(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_reader rd;
	long lost_mask = 0, lost_nice = 0, lost_ioprio = 0, lost_comm = 0;
	cpu_set_t allowed, one, got;
	int a, z, rounds, reads;
	pid_t tid;

	sh_allowed_cpus(&allowed, &a, &z);
	CPU_ZERO(&one);
	CPU_SET(a, &one);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	/* The thread changed: pipe reads that a writer fills 1 ms later. */
	sh_reader_start(&rd, ctx, 1);
	tid = atomic_load(&rd.tid);
	for (rounds = 0; rounds < SET_ROUNDS; rounds++) {
		const cpu_set_t *mask = rounds & 1 ? &one : &allowed;
		int nice = rounds & 1 ? 5 : 0, ioprio = PRIO_BE(rounds % 8), prio;
		char path[64], name[16], now[32];

		if (sched_setaffinity(tid, sizeof(*mask), mask))
			t_bail("sched_setaffinity(%d): %s", (int)tid, strerror(errno));
		if (sched_getaffinity(tid, sizeof(got), &got))
			t_bail("sched_getaffinity(%d): %s", (int)tid, strerror(errno));
		if (!CPU_EQUAL(&got, mask)) {
			t_diag("round %d: %d CPUs allowed, set %d", rounds, CPU_COUNT(&got),
			       CPU_COUNT(mask));
			lost_mask++;
		}

		if (setpriority(PRIO_PROCESS, tid, nice))
			t_bail("setpriority(%d, %d): %s", (int)tid, nice, strerror(errno));
		errno = 0;
		prio = getpriority(PRIO_PROCESS, tid);
		if (errno)
			t_bail("getpriority(%d): %s", (int)tid, strerror(errno));
		if (prio != nice) {
			t_diag("round %d: nice %d, set %d", rounds, prio, nice);
			lost_nice++;
		}

		/* The io_context moves with the thread: its priority must too. */
		if (syscall(SYS_ioprio_set, WHO_PROCESS, tid, ioprio))
			t_bail("ioprio_set(%d, %#x): %s", (int)tid, ioprio, strerror(errno));
		prio = (int)syscall(SYS_ioprio_get, WHO_PROCESS, tid);
		if (prio < 0)
			t_bail("ioprio_get(%d): %s", (int)tid, strerror(errno));
		if (prio != ioprio) {
			t_diag("round %d: I/O priority %#x, set %#x", rounds, prio, ioprio);
			lost_ioprio++;
		}

		comm_path(tid, path, sizeof(path));
		snprintf(name, sizeof(name), "reader-%d", rounds);
		sh_trace_write(path, name);
		sh_read_file(path, now, sizeof(now));
		now[strcspn(now, "\n")] = '\0';
		if (strcmp(now, name)) {
			t_diag("round %d: TID %d named %s, set %s", rounds, (int)tid, now, name);
			diag_names();
			lost_comm++;
		}
	}
	reads = sh_reader_stop(&rd);
	t_diag("%d rounds, %d reads meanwhile", rounds, reads);
	T_EQ(lost_mask, 0);
	T_EQ(lost_nice, 0);
	T_EQ(lost_ioprio, 0);
	T_EQ(lost_comm, 0);
	T_TRUE(reads > 3);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_setters(void)
{
	/* Nice goes back down from 5 to 0: CAP_SYS_NICE. */
	if (!t_is_root())
		return t_skip("lowering a thread's nice value back to 0 needs root");
	return sh_in_child(setter);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "CPU mask, nice, I/O priority and name set by TID while the thread hands off are each read back",
		  test_setters },
	};

	t_require_syslet();
	return T_RUN(cases);
}
