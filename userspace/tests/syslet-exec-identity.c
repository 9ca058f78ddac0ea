// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: exec() after a handoff, by the thread that handed off or
 * by another: the new image has gettid() == getpid() == the old pid.
 */
#include "syslet-helpers.h"

#include <stdlib.h>
#include <unistd.h>

#define EXEC_FAILED	120

/* What the new image writes back. */
struct report {
	long pid, tid, argv_pid;
	long tasks;		/* threads in /proc/self/task as it starts */
	long tasks_us;		/* how long until it was alone (-1: not within 2 s) */
	char other[128];	/* the stat line of another thread it saw */
};

struct other {
	char *buf;
	size_t len;
};

/* For each thread: the stat line of one that is not us goes to @arg's buffer. */
static bool note_other(pid_t pid, pid_t tid, void *arg)
{
	struct other *o = arg;
	char path[64];
	ssize_t r;
	int fd;

	if (tid == sh_gettid())
		return true;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = read(fd, o->buf, o->len - 1);
		o->buf[r > 0 ? r : 0] = '\0';
		close(fd);
	}
	return true;
}

/* The new image: argv = { name, "--new-image", old pid, report fd }. */
static int new_image(char **argv)
{
	struct report r = {
		.pid = getpid(),
		.tid = sh_gettid(),
		.argv_pid = strtol(argv[2], NULL, 10),
		.tasks_us = -1,
	};
	int fd = (int)strtol(argv[3], NULL, 10);
	long long t0 = t_now_us();

	r.tasks = sh_each_task(getpid(), note_other, &(struct other){ r.other, sizeof(r.other) });
	while (t_now_us() - t0 < 2000000) {
		if (sh_count_tasks() == 1) {
			r.tasks_us = (long)(t_now_us() - t0);
			break;
		}
		usleep(1000);
	}
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		return 2;
	return SH_CHILD_PASS;
}

static int report_fd;
static bool in_flight;
static bool exec_other;	/* another thread execs, not the one that handed off */

static void exec_self(void)
{
	char pid[32], fd[32];
	char *argv[] = { "syslet-exec-identity", "--new-image", pid, fd, NULL };

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(fd, sizeof(fd), "%d", report_fd);
	fflush(stdout);
	execv("/proc/self/exe", argv);
	_exit(EXEC_FAILED);
}

static void *exec_thread_fn(void *p)
{
	(void)p;
	exec_self();
	return NULL;
}

/*
 * Hands off (completing the PREAD unless in_flight), then execs this
 * program, or has a thread made for it exec (exec_other).
 */
static void hand_off_and_exec(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_block b;
	pthread_t th;

	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, 0xe8ec))
		_exit(EXEC_FAILED + 1);
	if (!in_flight && !sh_block_finish(&b))
		_exit(EXEC_FAILED + 2);
	if (!exec_other)
		exec_self();
	if (pthread_create(&th, NULL, exec_thread_fn, NULL))
		_exit(EXEC_FAILED + 5);
	pthread_join(th, NULL);
	_exit(EXEC_FAILED + 6);
}

static void *thread_fn(void *p)
{
	(void)p;
	hand_off_and_exec();
	return NULL;
}

/*
 * In a child process: the leader or a second thread hands off and execs;
 * the new image reports its pid, tid and thread count.
 */
static enum t_result run(bool from_thread, bool inflight, bool other)
{
	struct report r = { .pid = -1, .tid = -1, .argv_pid = -1, .tasks = -1 };
	struct pollfd pf;
	int rep[2], cloexec[2];
	pid_t pid;

	sh_watchdog(60);
	/* Only the child holds cloexec[1]: exec closes it, before the new image runs. */
	if (pipe2(rep, O_CLOEXEC) || pipe2(cloexec, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	pid = t_fork();
	if (pid == 0) {
		pthread_t th;

		sh_watchdog(40);
		/* The new image inherits the write end. */
		report_fd = dup(rep[1]);
		in_flight = inflight;
		exec_other = other;
		if (!from_thread)
			hand_off_and_exec();
		if (pthread_create(&th, NULL, thread_fn, NULL))
			_exit(EXEC_FAILED + 3);
		pthread_join(th, NULL);
		_exit(EXEC_FAILED + 4);
	}
	close(rep[1]);
	close(cloexec[1]);
	pf = (struct pollfd){ .fd = rep[0], .events = POLLIN };
	if (T_EQ(poll(&pf, 1, 30000), 1))
		T_EQ(read(rep[0], &r, sizeof(r)), sizeof(r));
	/* The new image runs: the old one's close-on-exec files are closed. */
	pf = (struct pollfd){ .fd = cloexec[0], .events = POLLIN };
	if (!T_EQ(poll(&pf, 1, 0), 1) || !T_TRUE(pf.revents & POLLHUP))
		t_diag("a close-on-exec pipe of the old image is still open in the new one");
	close(rep[0]);
	close(cloexec[0]);
	t_reap_child(pid, SH_CHILD_PASS, 30);
	T_EQ(r.argv_pid, pid);
	T_EQ(r.pid, pid);
	T_EQ(r.tid, pid);
	/* exec() reaped the other threads, helpers included, before it returned. */
	if (!T_EQ(r.tasks, 1)) {
		r.other[sizeof(r.other) - 1] = '\0';
		r.other[strcspn(r.other, "\n")] = '\0';
		t_diag("the new image saw another thread: %s", r.other);
		t_diag("alone after %ld us", r.tasks_us);
	}
	return t_result();
}

static enum t_result test_leader(void)
{
	return run(false, false, false);
}

static enum t_result test_thread(void)
{
	return run(true, false, false);
}

static enum t_result test_leader_inflight(void)
{
	return run(false, true, false);
}

static enum t_result test_thread_inflight(void)
{
	return run(true, true, false);
}

static enum t_result test_leader_inflight_other(void)
{
	return run(false, true, true);
}

static enum t_result test_thread_inflight_other(void)
{
	return run(true, true, true);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		{ "leader hands off, then execs: gettid() == getpid() == its pid", test_leader },
		{ "thread hands off, then execs: gettid() == getpid() == the process's pid",
		  test_thread },
		{ "leader execs with its handed-off PREAD still blocked: same",
		  test_leader_inflight },
		{ "thread execs with its handed-off PREAD still blocked: same",
		  test_thread_inflight },
		{ "leader's handed-off PREAD still blocked, another thread execs: same",
		  test_leader_inflight_other },
		{ "thread's handed-off PREAD still blocked, another thread execs: same",
		  test_thread_inflight_other },
	};

	if (argc == 4 && !strcmp(argv[1], "--new-image"))
		return new_image(argv);
	t_require_syslet();
	return T_RUN(cases);
}
