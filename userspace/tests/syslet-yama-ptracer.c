// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: Yama's PR_SET_PTRACER exception follows a leader handoff.
 * With kernel.yama.ptrace_scope=1 a process may be attached only by an
 * ancestor or by the tracer it named with PR_SET_PTRACER, an exception
 * Yama keys on the group leader's task_struct.  After the main thread
 * hands off, the named tracer must still attach (the review's S1: it got
 * EPERM), another child must still not, and PR_SET_PTRACER(0) must still
 * revoke the exception.
 */
#include "syslet-helpers.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>

#define PTRACE_SCOPE	"/proc/sys/kernel/yama/ptrace_scope"

/* One would-be tracer: a child that attaches to its parent on request. */
struct prober {
	pid_t pid;
	int cmd[2], res[2];
};

/*
 * The prober's loop: for each byte read, PTRACE_ATTACH to the parent,
 * wait for its stop, detach, and write back 0 or the attach's errno.
 */
static void prober_loop(struct prober *p)
{
	pid_t parent = getppid();
	char c;

	while (read(p->cmd[0], &c, 1) == 1 && c == 'a') {
		int err = 0, st;

		if (ptrace(PTRACE_ATTACH, parent, NULL, NULL)) {
			err = errno;
		} else {
			if (waitpid(parent, &st, __WALL) != parent || !WIFSTOPPED(st))
				err = 1000;	/* no stop: not an errno */
			if (ptrace(PTRACE_DETACH, parent, NULL, NULL))
				err = 1001;
		}
		if (write(p->res[1], &err, sizeof(err)) != sizeof(err))
			_exit(2);
	}
	_exit(0);
}

/*
 * Root may attach to anything with CAP_SYS_PTRACE, ptrace_scope=1 or not:
 * the case gives it up, in its effective and permitted sets, before it
 * forks the probers.
 */
static void drop_cap_sys_ptrace(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		t_bail("capget: %s", strerror(errno));
	data[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective &= ~CAP_TO_MASK(CAP_SYS_PTRACE);
	data[CAP_TO_INDEX(CAP_SYS_PTRACE)].permitted &= ~CAP_TO_MASK(CAP_SYS_PTRACE);
	if (syscall(SYS_capset, &hdr, data))
		t_bail("capset: %s", strerror(errno));
}

static void prober_start(struct prober *p)
{
	if (pipe2(p->cmd, O_CLOEXEC) || pipe2(p->res, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	p->pid = t_fork();
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prober_loop(p);
	}
	close(p->cmd[0]);
	close(p->res[1]);
}

/* Has the prober try once; returns 0 or the errno of its PTRACE_ATTACH. */
static int prober_try(struct prober *p)
{
	int err = -1;

	if (write(p->cmd[1], "a", 1) != 1)
		t_bail("write to the prober: %s", strerror(errno));
	if (read(p->res[0], &err, sizeof(err)) != sizeof(err))
		t_bail("read from the prober: %s", strerror(errno));
	return err;
}

static void prober_stop(struct prober *p)
{
	/* Not EOF: the other prober holds a copy of our write end. */
	if (write(p->cmd[1], "q", 1) != 1)
		t_bail("write to the prober: %s", strerror(errno));
	close(p->cmd[1]);
	T_TRUE(t_reap_child(p->pid, 0, 10));
	close(p->res[0]);
}

static enum t_result ptracer_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct prober named, other;

	/*
	 * The probers run without CAP_SYS_PTRACE; so must we, or the
	 * capability check (the tracer's permitted set must cover ours)
	 * refuses them before Yama is asked.
	 */
	drop_cap_sys_ptrace();
	prober_start(&named);
	prober_start(&other);
	if (prctl(PR_SET_PTRACER, named.pid, 0, 0, 0))
		t_bail("prctl(PR_SET_PTRACER, %d): %s", (int)named.pid, strerror(errno));
	/* Before any handoff: the exception works, and only for the named child. */
	T_EQ(prober_try(&named), 0);
	T_EQ(prober_try(&other), EPERM);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (int i = 0; i < 3; i++) {
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		/* The main thread, the leader, hands off. */
		T_TRUE(sh_read_runs(ctx, true));
		if (!T_EQ(prober_try(&named), 0))
			t_diag("handoff %d: the named tracer could not attach any more", i);
		T_EQ(prober_try(&other), EPERM);
	}
	/* Revoked on the new leader: the named tracer is refused too. */
	if (prctl(PR_SET_PTRACER, 0, 0, 0, 0))
		t_bail("prctl(PR_SET_PTRACER, 0): %s", strerror(errno));
	T_EQ(prober_try(&named), EPERM);
	prober_stop(&named);
	prober_stop(&other);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_ptracer(void)
{
	long long old;
	enum t_result r;
	int err;

	if (access(PTRACE_SCOPE, F_OK))
		return t_skip("this kernel has no Yama (no " PTRACE_SCOPE ")");
	if (!t_is_root())
		return t_skip("setting " PTRACE_SCOPE " needs root");
	old = t_read_sysctl(PTRACE_SCOPE);
	if (old > 1)
		return t_skip("ptrace_scope is %lld: only 0 and 1 can be set back", old);
	err = t_write_sysctl(PTRACE_SCOPE, 1);
	if (err)
		t_bail("write 1 to " PTRACE_SCOPE ": %s", strerror(-err));
	r = sh_in_child(ptracer_child);
	err = t_write_sysctl(PTRACE_SCOPE, old);
	if (err)
		t_bail("write %lld back to " PTRACE_SCOPE ": %s", old, strerror(-err));
	return r;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a PR_SET_PTRACER exception still admits its tracer after 3 leader handoffs, "
		  "and no other, until revoked", test_ptracer },
	};

	/* ptrace_scope=1 would stop the other cases' tracers: run alone. */
	t_require_syslet_exclusive();
	return T_RUN(cases);
}
