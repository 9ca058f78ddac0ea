// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: a handoff keeps TID, PID, /proc views and children; the group still exits right. */
#include "syslet-helpers.h"

#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#define CHILD_STATUS	43

/* Field @n (1-based, n >= 3) of /proc/@pid/stat, or field 1 for n == 1. */
static long long stat_field(const char *path, int n)
{
	char buf[1024], *p;
	long long v = -1;

	sh_read_file(path, buf, sizeof(buf));
	if (n == 1)
		return strtoll(buf, NULL, 10);
	p = strrchr(buf, ')');
	if (!p)
		t_bail("%s: no ')'", path);
	p += 2;		/* field 3, the state */
	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (!p)
			t_bail("%s: no field %d", path, n);
		p++;
	}
	sscanf(p, "%lld", &v);
	return v;
}

/* The "Name:\tvalue" line of a status file. */
static long long status_field(const char *path, const char *name)
{
	char buf[4096], *p;
	size_t len = strlen(name);

	sh_read_file(path, buf, sizeof(buf));
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == ':')
			return strtoll(p + len + 1, NULL, 10);
	t_bail("%s: no %s line", path, name);
}

/* Waits up to 10 s for @fd to be readable. */
static bool wait_readable(int fd)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	return poll(&pf, 1, 10000) == 1;
}

/* The child forked before the handoff: reports its parent once told to. */
static void child(int go, int report)
{
	pid_t ppid;
	char c;

	if (!wait_readable(go) || read(go, &c, 1) != 1)
		_exit(1);
	ppid = getppid();
	if (write(report, &ppid, sizeof(ppid)) != sizeof(ppid))
		_exit(2);
	_exit(CHILD_STATUS);
}

static enum t_result scenario(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	pid_t pid = getpid(), tid = sh_gettid(), ppid = getppid();
	char path[64], want[64], link[64];
	int go[2], report[2], st = 0;
	long long deadline;
	struct sh_block b;
	pid_t kid, got, kid_ppid = 0;
	ssize_t n;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	if (pipe2(go, O_CLOEXEC) || pipe2(report, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	kid = t_fork();
	if (kid == 0)
		child(go[0], report[1]);

	if (!sh_handoff(&b, ctx, 0x1de0)) {
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
		sh_block_finish(&b);
		return T_FAIL;
	}
	T_EQ(sh_gettid(), tid);
	T_EQ(getpid(), pid);
	T_EQ(syscall(SYS_getpid), pid);
	T_EQ(getppid(), ppid);

	T_EQ(stat_field("/proc/self/stat", 1), pid);
	n = readlink("/proc/self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%d", (int)pid);
	T_TRUE(!strcmp(link, want));
	n = readlink("/proc/thread-self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%d/task/%d", (int)pid, (int)tid);
	if (!T_TRUE(!strcmp(link, want)))
		t_diag("/proc/thread-self is %s, want %s", link, want);
	T_EQ(stat_field("/proc/thread-self/stat", 1), tid);
	T_EQ(status_field("/proc/thread-self/status", "Pid"), tid);
	T_EQ(status_field("/proc/thread-self/status", "Tgid"), pid);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	T_EQ(stat_field(path, 1), tid);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)kid);
	T_EQ(stat_field(path, 4), pid);

	/* Our child: it sees us as its parent, and we reap it, this very thread. */
	if (write(go[1], "g", 1) != 1)
		t_bail("write: %s", strerror(errno));
	if (T_TRUE(wait_readable(report[0])))
		T_EQ(read(report[0], &kid_ppid, sizeof(kid_ppid)), sizeof(kid_ppid));
	T_EQ(kid_ppid, pid);
	deadline = t_now_us() + 10000000;
	while ((got = waitpid(kid, &st, WNOHANG | __WNOTHREAD)) == 0 && t_now_us() < deadline)
		usleep(1000);
	if (!T_EQ(got, kid)) {
		t_diag("waitpid(%d, __WNOTHREAD): %s", (int)kid,
		       got < 0 ? strerror(errno) : "nothing");
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
	} else {
		T_TRUE(WIFEXITED(st));
		T_EQ(WEXITSTATUS(st), CHILD_STATUS);
	}
	sh_block_finish(&b);

	close(go[0]);
	close(go[1]);
	close(report[0]);
	close(report[1]);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/*
 * How a child process ends after a handoff, with a thread "other" made
 * before it: the handoff's thread is then not last in the thread group.
 */
enum how {
	OUTLIVED,	/* the leader exits alone, other exits last */
	HANDER_EXITS,	/* the thread that handed off calls exit() */
	OTHER_EXITS,	/* other calls exit() */
};

static struct {
	enum how how;
	int go[2];		/* tells other to go on */
	int alive[2];		/* other's end: EOF once it is gone */
} grp;

static void *other_fn(void *p)
{
	struct pollfd pf = { .fd = grp.go[0], .events = POLLIN };
	char c = 0;

	(void)p;
	/* With HANDER_EXITS nothing comes: exit() must kill us meanwhile. */
	if (poll(&pf, 1, 10000) != 1 || read(grp.go[0], &c, 1) != 1) {
		if (write(grp.alive[1], "L", 1) < 0)
			_exit(3);
		syscall(SYS_exit, 0);
	}
	if (grp.how == OTHER_EXITS)
		exit(SH_CHILD_PASS);
	/* OUTLIVED: the leader is gone; we are the last thread. */
	usleep(300000);
	if (write(grp.alive[1], "A", 1) < 0)
		_exit(3);
	syscall(SYS_exit, SH_CHILD_PASS);
	return NULL;
}

/* Hands off, then ends as grp.how says. */
static void *hand_off_then_end(void *p)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_block b;

	(void)p;
	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, 0x1de1) || !sh_block_finish(&b))
		_exit(4);
	fflush(stdout);
	switch (grp.how) {
	case OUTLIVED:
		if (write(grp.go[1], "g", 1) != 1)
			_exit(5);
		syscall(SYS_exit, 1);
		break;
	case HANDER_EXITS:
		exit(SH_CHILD_PASS);
	case OTHER_EXITS:
		if (write(grp.go[1], "g", 1) != 1)
			_exit(5);
		break;
	}
	return NULL;
}

static enum t_result run_group(enum how how, bool from_thread)
{
	long long t0, reaped_at = -1, alive_at = -1, eof_at = -1;
	pid_t pid, got = 0;
	int st = 0;

	sh_watchdog(60);
	grp.how = how;
	if (pipe2(grp.go, O_CLOEXEC) || pipe2(grp.alive, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	pid = t_fork();
	if (pid == 0) {
		pthread_t oth, th;

		sh_watchdog(40);
		close(grp.alive[0]);
		if (pthread_create(&oth, NULL, other_fn, NULL))
			_exit(6);
		if (from_thread) {
			if (pthread_create(&th, NULL, hand_off_then_end, NULL))
				_exit(6);
			pthread_join(th, NULL);
		} else {
			hand_off_then_end(NULL);
		}
		/* OTHER_EXITS: other's exit() ends us meanwhile. */
		sleep(20);
		_exit(7);
	}
	close(grp.go[0]);
	close(grp.go[1]);
	close(grp.alive[1]);
	t0 = t_now_us();
	while (t_now_us() - t0 < 20000000) {
		struct pollfd pf = { .fd = grp.alive[0], .events = POLLIN };
		char c;

		if (eof_at >= 0)
			usleep(2000);
		else if (poll(&pf, 1, 2) == 1) {
			ssize_t n = read(grp.alive[0], &c, 1);

			if (n == 0)
				eof_at = t_now_us() - t0;
			else if (n == 1 && c == 'A')
				alive_at = t_now_us() - t0;
			else if (n == 1)
				t_diag("other thread still ran 10 s after exit() (wrote '%c')", c);
		}
		if (!got) {
			got = waitpid(pid, &st, WNOHANG);
			if (got)
				reaped_at = t_now_us() - t0;
		}
		/* Its last file is closed within 2 s of the reap. */
		if (got && (eof_at >= 0 || t_now_us() - t0 > reaped_at + 2000000))
			break;
	}
	close(grp.alive[0]);
	if (!got) {
		t_diag("child %d still running after 20 s: killed", (int)pid);
		t_kill_child(pid);
		return T_FAIL;
	}
	if (T_EQ(got, pid) && T_TRUE(WIFEXITED(st)))
		T_EQ(WEXITSTATUS(st), SH_CHILD_PASS);
	else if (got == pid && WIFSIGNALED(st))
		t_diag("child killed by signal %d", WTERMSIG(st));
	if (how == OUTLIVED && !T_TRUE(alive_at >= 0 && alive_at < reaped_at))
		t_diag("reaped at %lld ms; the thread outliving the leader ran at %lld ms",
		       reaped_at / 1000, alive_at / 1000);
	if (!T_TRUE(eof_at >= 0))
		t_diag("a thread of the child still holds its files 2 s after the reap");
	return t_result();
}

static enum t_result test_outlived(void)
{
	return run_group(OUTLIVED, false);
}

static enum t_result test_leader_exits(void)
{
	return run_group(HANDER_EXITS, false);
}

static enum t_result test_thread_exits(void)
{
	return run_group(HANDER_EXITS, true);
}

static enum t_result test_other_exits_thread(void)
{
	return run_group(OTHER_EXITS, true);
}

static enum t_result test_other_exits_leader(void)
{
	return run_group(OTHER_EXITS, false);
}

/*
 * A child with two threads, forked before the handoff: when the process
 * that handed off exits, every thread of that child must be reparented
 * (to us, a subreaper), not only its leader.  A kernel that moves only
 * the leader to the carrier's new task leaves the second thread's
 * parent pointing at a dying task: forget_original_parent() then hits
 * its BUG_ON, and the exit never ends.
 */
static int twin_report[2];

static void *pause_forever(void *p)
{
	(void)p;
	for (;;)
		pause();
	return NULL;
}

static enum t_result threaded_child_scenario(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_block b;
	int up[2];
	pid_t kid;
	char c;

	if (pipe2(up, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	kid = t_fork();
	if (kid == 0) {
		pthread_t th;

		if (pthread_create(&th, NULL, pause_forever, NULL))
			_exit(1);
		if (write(up[1], "r", 1) != 1)
			_exit(2);
		pause_forever(NULL);
	}
	if (!T_TRUE(wait_readable(up[0])) || !T_EQ(read(up[0], &c, 1), 1)) {
		t_kill_child(kid);
		return T_FAIL;
	}
	close(up[0]);
	close(up[1]);
	if (write(twin_report[1], &kid, sizeof(kid)) != sizeof(kid))
		t_bail("write: %s", strerror(errno));
	if (!sh_warm_up(ctx) || !sh_handoff(&b, ctx, 0x1de2)) {
		sh_block_finish(&b);
		return T_FAIL;
	}
	T_TRUE(sh_block_finish(&b));
	T_EQ(sys_io_destroy(ctx), 0);
	/* The caller's _exit() now reparents the child, with its two threads. */
	return t_result();
}

static enum t_result run_threaded_child(bool from_thread)
{
	char path[64];
	pid_t kid = 0, got;
	int st = 0;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		t_bail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	if (pipe2(twin_report, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	if (from_thread)
		T_EQ(sh_in_child_thread(threaded_child_scenario), T_PASS);
	else
		T_EQ(sh_in_child(threaded_child_scenario), T_PASS);
	close(twin_report[1]);
	if (!T_EQ(read(twin_report[0], &kid, sizeof(kid)), sizeof(kid)))
		return T_FAIL;
	close(twin_report[0]);

	/* Alive, ours now, and still two threads. */
	T_EQ(waitpid(kid, &st, WNOHANG), 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)kid);
	T_EQ(stat_field(path, 4), getpid());
	snprintf(path, sizeof(path), "/proc/%d/status", (int)kid);
	T_EQ(status_field(path, "Threads"), 2);
	T_EQ(kill(kid, SIGKILL), 0);
	got = waitpid(kid, &st, 0);
	if (T_EQ(got, kid) && T_TRUE(WIFSIGNALED(st)))
		T_EQ(WTERMSIG(st), SIGKILL);
	if (prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0))
		t_bail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	return t_result();
}

static enum t_result test_threaded_child_leader(void)
{
	return run_threaded_child(false);
}

static enum t_result test_threaded_child_thread(void)
{
	return run_threaded_child(true);
}

/* The leader runs in a child process: our waitpid() then checks its exit after a handoff. */
static enum t_result test_leader(void)
{
	return sh_in_child(scenario);
}

static enum t_result test_thread(void)
{
	sh_watchdog(60);
	return sh_in_thread(scenario);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: identity and children kept; the parent reaps it: its pid, its status",
		  test_leader },
		{ "thread: identity and children kept", test_thread },
		{ "leader: exits alone after its handoff, an older thread lives on: reaped later",
		  test_outlived },
		{ "leader: exit() after its handoff ends an older thread: reaped, status right",
		  test_leader_exits },
		{ "thread: exit() after its handoff ends an older thread: reaped, status right",
		  test_thread_exits },
		{ "thread: after its handoff, an older thread calls exit(): reaped, status right",
		  test_other_exits_thread },
		{ "leader: exits after its handoff with a 2-thread child: both threads reparented",
		  test_threaded_child_leader },
		{ "thread: its process exits after its handoff with a 2-thread child: reparented",
		  test_threaded_child_thread },
		/* Last: on a kernel that loops in zap_other_threads() here, the machine hangs. */
		{ "leader: after its handoff, an older thread calls exit(): reaped, status right",
		  test_other_exits_leader },
	};

	t_require_syslet();
	return T_RUN(cases);
}
