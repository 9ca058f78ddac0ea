// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: per-task state outside the registers, the signals and the
 * credentials follows the user context through a handoff (the parent-death
 * signal, the machine-check kill policy, the memory policy), state that
 * cannot follow it keeps a helper out (the audit login UID, the
 * core-scheduling cookie, AppArmor's pending change_onexec), and a thread
 * with a memory policy or that hit a uprobe still hands off.  Helpers are
 * named aio-syslet; the user thread keeps its name.
 */
#include "syslet-helpers.h"

#include <sys/prctl.h>

#ifndef MPOL_PREFERRED
#define MPOL_DEFAULT	0
#define MPOL_PREFERRED	1
#endif
#ifndef PR_MCE_KILL
#define PR_MCE_KILL		33
#define PR_MCE_KILL_CLEAR	0
#define PR_MCE_KILL_SET		1
#define PR_MCE_KILL_LATE	0
#define PR_MCE_KILL_EARLY	1
#define PR_MCE_KILL_DEFAULT	2
#define PR_MCE_KILL_GET		34
#endif

#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE			62
#define PR_SCHED_CORE_GET		0
#define PR_SCHED_CORE_CREATE		1
#define PR_SCHED_CORE_SCOPE_THREAD	0
#endif

/* How long a signal that should not come is waited for. */
#define NO_SIGNAL_MS	1000

/*
 * The parent-death signal scenario, in the grandchild C of a subreaper R:
 * C arms @sig, hands off from its main thread, then re-arms @after (0:
 * disarms), and its parent P exits.  The kernel sends every thread's
 * pdeath_signal to C's group: C must receive @after exactly once (none
 * for 0), not the copy a former head kept.
 */
struct pdeath_plan {
	int sig;
	int after;
};

static void pdeath_grandchild(const struct pdeath_plan *plan, int tell_parent)
{
	struct timespec wait = { NO_SIGNAL_MS / 1000, (NO_SIGNAL_MS % 1000) * 1000000L };
	aio_context_t ctx;
	sigset_t set;
	int got, n = 0;

	/* Blocked: pdeath signals pend in the group's queue and are counted. */
	sigemptyset(&set);
	sigaddset(&set, plan->sig);
	if (plan->after)
		sigaddset(&set, plan->after);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		t_bail("sigprocmask: %s", strerror(errno));
	ctx = t_setup_ctx(8);
	if (!sh_warm_up(ctx))
		goto out;
	if (prctl(PR_SET_PDEATHSIG, plan->sig, 0, 0, 0))
		t_bail("PR_SET_PDEATHSIG %d: %s", plan->sig, strerror(errno));
	T_TRUE(sh_read_runs(ctx, true));
	if (prctl(PR_SET_PDEATHSIG, plan->after, 0, 0, 0))
		t_bail("PR_SET_PDEATHSIG %d: %s", plan->after, strerror(errno));
	T_TRUE(sh_parked_helpers() >= 1);
	/* The parent exits now. */
	if (write(tell_parent, "x", 1) != 1)
		t_bail("write to the parent: %s", strerror(errno));
	close(tell_parent);
	while ((got = sigtimedwait(&set, NULL, &wait)) > 0) {
		if (got != plan->after || !plan->after)
			t_diag("signal %d came; expected %s %d", got,
			       plan->after ? "only" : "none, not even", plan->after);
		T_EQ(got, plan->after);
		n++;
	}
	T_EQ(errno, EAGAIN);
	T_EQ(n, plan->after ? 1 : 0);
	T_EQ(sys_io_destroy(ctx), 0);
out:
	fflush(stdout);
	_exit(t_result() == T_FAIL ? 1 : SH_CHILD_PASS);
}

static const struct pdeath_plan *pdeath_current;

/* R: the subreaper that C is reparented to when P exits; waits for both. */
static enum t_result pdeath_reaper(void)
{
	int p[2], q[2], st = 0;
	pid_t parent, grandchild = -1;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		t_bail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC) || pipe2(q, O_CLOEXEC))
		t_bail("pipe2: %s", strerror(errno));
	parent = t_fork();
	if (parent == 0) {
		char c;
		pid_t kid = t_fork();

		if (kid == 0) {
			close(p[0]);
			close(q[1]);
			pdeath_grandchild(pdeath_current, p[1]);
		}
		close(p[1]);
		if (write(q[1], &kid, sizeof(kid)) != sizeof(kid))
			_exit(2);
		/* C says when; a C that failed before closes the pipe. */
		if (read(p[0], &c, 1) < 0)
			_exit(3);
		_exit(0);
	}
	close(p[0]);
	close(p[1]);
	close(q[1]);
	if (read(q[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
		t_bail("read the grandchild's pid: %s", strerror(errno));
	close(q[0]);
	T_EQ(waitpid(parent, &st, 0), parent);
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* C, now ours. */
	if (T_TRUE(t_wait_child(grandchild, &st, 30, false))) {
		if (WIFSIGNALED(st))
			t_diag("the grandchild was killed by signal %d", WTERMSIG(st));
		T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == SH_CHILD_PASS);
	}
	return t_result();
}

static enum t_result pdeath_run(const struct pdeath_plan *plan)
{
	pdeath_current = plan;
	return sh_in_child(pdeath_reaper);
}

static enum t_result test_pdeath_carried(void)
{
	/* Real-time: two senders would queue two. */
	const struct pdeath_plan plan = { SIGRTMIN + 1, SIGRTMIN + 1 };

	return pdeath_run(&plan);
}

static enum t_result test_pdeath_disarmed(void)
{
	static const struct pdeath_plan plan = { SIGUSR1, 0 };

	return pdeath_run(&plan);
}

static enum t_result test_pdeath_changed(void)
{
	const struct pdeath_plan plan = { SIGRTMIN + 2, SIGRTMIN + 3 };

	return pdeath_run(&plan);
}

/* PR_MCE_KILL's policy, after a handoff, is the one last set. */
static enum t_result mce_child(void)
{
	static const struct { int set, arg, want; } steps[] = {
		{ PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, PR_MCE_KILL_EARLY },
		{ PR_MCE_KILL_SET, PR_MCE_KILL_LATE, PR_MCE_KILL_LATE },
		{ PR_MCE_KILL_CLEAR, 0, PR_MCE_KILL_DEFAULT },
		{ PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, PR_MCE_KILL_EARLY },
	};
	aio_context_t ctx = t_setup_ctx(8);

	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (prctl(PR_MCE_KILL, steps[i].set, steps[i].arg, 0, 0))
			t_bail("PR_MCE_KILL %d %d: %s", steps[i].set, steps[i].arg, strerror(errno));
		T_EQ(prctl(PR_MCE_KILL_GET, 0, 0, 0, 0), steps[i].want);
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)) || !T_TRUE(sh_read_runs(ctx, true)))
			break;
		if (!T_EQ(prctl(PR_MCE_KILL_GET, 0, 0, 0, 0), steps[i].want))
			t_diag("step %zu: the policy was lost in the handoff", i);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_mce_kill(void)
{
	return sh_in_child(mce_child);
}

/*
 * A thread with a memory policy (numactl --preferred, --interleave) hands
 * off, and its user context keeps the policy.
 */
static enum t_result mempolicy_child(void)
{
	unsigned long mask = 1, got_mask = 0;
	aio_context_t ctx = t_setup_ctx(8);
	int mode = -1;

	if (syscall(SYS_set_mempolicy, MPOL_PREFERRED, &mask, 8 * sizeof(mask))) {
		if (errno == ENOSYS)
			return t_skip("this kernel has no NUMA support (set_mempolicy: ENOSYS)");
		t_bail("set_mempolicy(MPOL_PREFERRED, node 0): %s", strerror(errno));
	}
	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (int i = 0; i < 3; i++) {
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		if (!T_TRUE(sh_read_runs(ctx, true)))
			t_diag("read %d: a thread with a memory policy did not hand off", i);
		mode = -1;
		got_mask = 0;
		if (syscall(SYS_get_mempolicy, &mode, &got_mask, 8 * sizeof(got_mask), NULL, 0))
			t_bail("get_mempolicy: %s", strerror(errno));
		T_EQ(mode, MPOL_PREFERRED);
		T_EQ(got_mask, 1);
	}
	/* Back to the default: that follows too. */
	if (syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0))
		t_bail("set_mempolicy(MPOL_DEFAULT): %s", strerror(errno));
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	if (syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 0))
		t_bail("get_mempolicy: %s", strerror(errno));
	T_EQ(mode, MPOL_DEFAULT);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_mempolicy(void)
{
	return sh_in_child(mempolicy_child);
}

/*
 * State of the task outside struct cred that a helper cannot carry: a
 * helper parked before @change() must not take over (the read runs
 * synchronously and syslet_refused counts @check once); one made after
 * has the state, and serves.  @changed() says, after each step, that the
 * thread still has what @change() set.  @change() may skip (T_SKIP) when
 * the state cannot be changed here.
 */
static enum t_result refused_then_served(const char *check, enum t_result (*change)(void),
					 bool (*changed)(void))
{
	aio_context_t ctx = t_setup_ctx(8);
	struct iocb *none = NULL;
	struct sh_trace refusals;
	enum t_result r;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	T_TRUE(sh_read_runs(ctx, true));
	if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return T_FAIL;
	r = change();
	if (r != T_PASS) {
		T_EQ(sys_io_destroy(ctx), 0);
		return r;
	}
	T_TRUE(changed());
	sh_trace_start(&refusals, "syslet_refused");
	/* The parked helper has the old state: not used. */
	T_TRUE(sh_read_runs(ctx, false));
	T_TRUE(changed());
	T_EQ(sh_trace_count(&refusals, check), 1);
	sh_trace_stop(&refusals);
	/* A helper made now has the new state, and is used; the thread keeps it. */
	T_EQ(sys_io_submit(ctx, 0, &none), 0);
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	T_TRUE(changed());
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/*
 * The audit login UID and session ID are the task's, outside struct cred:
 * a helper made before a write to /proc/self/loginuid has the old ones and
 * must not take over; one made after has the new ones, and does.
 */
#define LOGINUID	"/proc/self/loginuid"

static long long loginuid_want;

static enum t_result loginuid_change(void)
{
	long long old = t_read_sysctl(LOGINUID);
	int err;

	loginuid_want = old == 1000 ? 1001 : 1000;
	err = t_write_sysctl(LOGINUID, loginuid_want);
	if (err == -EPERM)
		return t_skip("the login UID %lld is immutable here (audit)", old);
	if (err)
		t_bail("write %lld to " LOGINUID ": %s", loginuid_want, strerror(-err));
	return T_PASS;
}

static bool loginuid_changed(void)
{
	return T_EQ(t_read_sysctl(LOGINUID), loginuid_want);
}

static enum t_result loginuid_child(void)
{
	return refused_then_served("check=loginuid", loginuid_change, loginuid_changed);
}

static enum t_result test_loginuid(void)
{
	if (access("/proc/self/loginuid", F_OK))
		return t_skip("this kernel has no audit login UID (CONFIG_AUDIT)");
	if (!t_is_root())
		return t_skip("writing /proc/self/loginuid needs CAP_AUDIT_CONTROL: run as root");
	if (access(SH_TRACEFS, F_OK))
		return t_skip("no %s: the refusal is counted in a trace event", SH_TRACEFS);
	return sh_in_child(loginuid_child);
}

/*
 * The core-scheduling cookie is the task's (task->core_cookie), not the
 * process's: a helper parked before PR_SCHED_CORE_CREATE has none and must
 * not take over, or the thread would run beside SMT siblings it asked to
 * be kept from.  A helper made after has the cookie, and serves.
 * PR_SCHED_CORE_GET says which cookie the user context runs with.
 */
static unsigned long long core_cookie(void)
{
	unsigned long long id = ~0ULL;

	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, 0, PR_SCHED_CORE_SCOPE_THREAD, &id))
		t_bail("PR_SCHED_CORE_GET: %s", strerror(errno));
	return id;
}

static unsigned long long core_cookie_want;

static enum t_result core_cookie_change(void)
{
	T_EQ(core_cookie(), 0);
	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0, PR_SCHED_CORE_SCOPE_THREAD, 0))
		t_bail("PR_SCHED_CORE_CREATE: %s", strerror(errno));
	core_cookie_want = core_cookie();
	T_TRUE(core_cookie_want != 0);
	return T_PASS;
}

static bool core_cookie_changed(void)
{
	return T_EQ(core_cookie(), core_cookie_want);
}

static enum t_result core_cookie_child(void)
{
	return refused_then_served("check=core_cookie", core_cookie_change, core_cookie_changed);
}

static enum t_result test_core_cookie(void)
{
	unsigned long long id;

	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, 0, PR_SCHED_CORE_SCOPE_THREAD, &id)) {
		if (errno == EINVAL)
			return t_skip("this kernel has no core scheduling (CONFIG_SCHED_CORE)");
		if (errno == ENODEV)
			return t_skip(T_SKIP_HARDWARE "core scheduling needs SMT siblings");
		t_bail("PR_SCHED_CORE_GET: %s", strerror(errno));
	}
	if (access(SH_TRACEFS, F_OK))
		return t_skip("no %s: the refusal is counted in a trace event", SH_TRACEFS);
	return sh_in_child(core_cookie_child);
}

/*
 * AppArmor keeps a pending change_onexec in the task's LSM blob, outside
 * struct cred: a helper parked before it was set has none, and would let
 * the next exec run without the profile change.  Such a helper must not
 * take over; one made after has it, and serves.  The pending label reads
 * back from the thread's own "exec" attribute.
 */
#define AA_ONEXEC	"/proc/thread-self/attr/apparmor/exec"

/* The thread's pending exec label is @want ("" for none; says what it is if not). */
static bool aa_onexec_is(const char *want)
{
	char label[256];
	int fd = open(AA_ONEXEC, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		t_bail("open " AA_ONEXEC ": %s", strerror(errno));
	n = read(fd, label, sizeof(label) - 1);
	/* AppArmor says EINVAL, or reads nothing, when no change is pending. */
	if (n < 0 && errno != EINVAL)
		t_bail("read " AA_ONEXEC ": %s", strerror(errno));
	close(fd);
	label[n < 0 ? 0 : n] = '\0';
	label[strcspn(label, "\n")] = '\0';
	if (strcmp(label, want))
		t_diag("pending exec label \"%s\", want \"%s\"", label, want);
	return T_TRUE(!strcmp(label, want));
}

static enum t_result aa_onexec_change(void)
{
	static const char change[] = "exec unconfined";
	int fd;

	aa_onexec_is("");
	fd = open(AA_ONEXEC, O_WRONLY);
	if (fd < 0 || write(fd, change, strlen(change)) != (ssize_t)strlen(change))
		t_bail("write \"%s\" to " AA_ONEXEC ": %s", change, strerror(errno));
	close(fd);
	return T_PASS;
}

static bool aa_onexec_changed(void)
{
	return aa_onexec_is("unconfined");
}

static enum t_result aa_onexec_child(void)
{
	return refused_then_served("check=lsm_task", aa_onexec_change, aa_onexec_changed);
}

static enum t_result test_aa_onexec(void)
{
	char enabled[8] = "";

	if (access("/sys/module/apparmor/parameters/enabled", F_OK))
		return t_skip("this kernel has no AppArmor (CONFIG_SECURITY_APPARMOR)");
	sh_read_file("/sys/module/apparmor/parameters/enabled", enabled, sizeof(enabled));
	if (enabled[0] != 'Y')
		return t_skip("AppArmor is built but not enabled (the lsm= boot list)");
	if (access(AA_ONEXEC, F_OK))
		return t_skip("no %s (AppArmor is not among the active LSMs)", AA_ONEXEC);
	if (access(SH_TRACEFS, F_OK))
		return t_skip("no %s: the refusal is counted in a trace event", SH_TRACEFS);
	return sh_in_child(aa_onexec_child);
}

/*
 * A uprobe on a function of this program: the thread that hits it gets
 * the kernel's uprobe task state (t->utask) for ever, and must still hand
 * off; the probe goes on firing for the user context.
 */
static void __attribute__((noinline)) uprobe_target(void)
{
	__asm__ __volatile__("" ::: "memory");
}

static enum t_result uprobe_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_uprobe u;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_uprobe_define(&u, (void *)uprobe_target, 'p');
	uprobe_target();
	T_EQ(sh_uprobe_hits(&u), 1);
	for (int i = 0; i < 3; i++) {
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		if (!T_TRUE(sh_read_runs(ctx, true)))
			t_diag("read %d: a thread that hit a uprobe did not hand off", i);
		uprobe_target();
		T_EQ(sh_uprobe_hits(&u), 2 + i);
	}
	sh_uprobe_remove(&u);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_uprobe(void)
{
	const char *why = sh_uprobe_unavailable();

	if (why)
		return t_skip("%s", why);
	return sh_in_child(uprobe_child);
}

/* Thread @tid is a parked helper whose name is not "aio-syslet" (says so). */
static bool not_helper_named(pid_t pid, pid_t tid, void *arg)
{
	char path[64], name[32];

	if (tid == *(pid_t *)arg || !sh_is_parked(pid, tid, NULL))
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	if (access(path, F_OK))
		return false;	/* gone */
	sh_read_file(path, name, sizeof(name));
	name[strcspn(name, "\n")] = '\0';
	if (!strcmp(name, "aio-syslet"))
		return false;
	t_diag("thread %d is named \"%s\"", (int)tid, name);
	return true;
}

static enum t_result names_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	char name[32];

	if (prctl(PR_SET_NAME, "ts-main", 0, 0, 0))
		t_bail("PR_SET_NAME: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (int i = 0; i < 3; i++) {
		pid_t me = sh_gettid();

		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)) || !T_TRUE(sh_read_runs(ctx, true)))
			break;
		T_TRUE(sh_wait_parked(1, SH_PARK_MS));
		sh_read_file("/proc/thread-self/comm", name, sizeof(name));
		T_EQ(strcmp(name, "ts-main\n"), 0);
		T_EQ(prctl(PR_GET_NAME, name, 0, 0, 0), 0);
		T_EQ(strcmp(name, "ts-main"), 0);
		/*
		 * Every parked helper, the former head of this read among them,
		 * has the helpers' name (a rescuer thread may still be exiting).
		 */
		T_EQ(sh_each_task(getpid(), not_helper_named, &me), 0);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_names(void)
{
	return sh_in_child(names_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a parent-death signal armed before a handoff comes once when the parent dies",
		  test_pdeath_carried },
		{ "PR_SET_PDEATHSIG(0) after a handoff disarms it: no signal when the parent dies",
		  test_pdeath_disarmed },
		{ "a parent-death signal changed after a handoff: only the new one comes",
		  test_pdeath_changed },
		{ "the PR_MCE_KILL policy set before each handoff is the one after it", test_mce_kill },
		{ "a thread with a memory policy hands off and keeps the policy", test_mempolicy },
		{ "after a write to loginuid a helper with the old login UID is refused; a new one serves",
		  test_loginuid },
		{ "after PR_SCHED_CORE_CREATE a helper without the cookie is refused; a new one serves",
		  test_core_cookie },
		{ "after an AppArmor change_onexec a helper without it is refused; a new one serves",
		  test_aa_onexec },
		{ "a thread that hit a uprobe hands off, and the uprobe still fires", test_uprobe },
		{ "parked helpers are named aio-syslet; the user thread keeps its PR_SET_NAME name",
		  test_names },
	};

	t_require_syslet();
	return T_RUN(cases);
}
