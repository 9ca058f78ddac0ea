// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: the freezers and helpers.  A process with a helper
 * parked and a read handed off and still blocked is frozen by the cgroup
 * v2 freezer (cgroup.events says "frozen 1" within 5 s) and thawed, and
 * by the suspend freezer (/sys/power/pm_test at "freezer": every task
 * frozen for 5 s, then thawed, and the write to /sys/power/state
 * succeeds); the read then ends in exactly one event, and the next read
 * hands off.
 */
#include "syslet-helpers.h"

#define PM_TEST		"/sys/power/pm_test"
#define PM_STATE	"/sys/power/state"
/* The pm_test levels wait this long with everything frozen. */
#define PM_TEST_DELAY_US	5000000LL

static char cg[128];

static void cg_write(const char *file, const char *val)
{
	if (!sh_cgroup_write(cg, file, val))
		t_bail("write %s to %s/%s: %s", val, cg, file, strerror(errno));
}

/* Waits up to @ms for "frozen @want" in cgroup.events. */
static bool frozen_is(int want, int ms)
{
	long long deadline = t_now_us() + ms * 1000LL;
	char path[192], line[64];
	int frozen = -1;

	snprintf(path, sizeof(path), "%s/cgroup.events", cg);
	do {
		FILE *f = fopen(path, "re");

		if (!f)
			t_bail("open %s: %s", path, strerror(errno));
		while (fgets(line, sizeof(line), f))
			sscanf(line, "frozen %d", &frozen);
		fclose(f);
		if (frozen == want)
			return true;
		usleep(5000);
	} while (t_now_us() < deadline);
	t_diag("%s: frozen %d, not %d, after %d ms", path, frozen, want, ms);
	return false;
}

/* The whole process, its helpers to come included. */
static void move_to_cgroup(pid_t pid)
{
	char pid_s[32];

	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	cg_write("cgroup.procs", pid_s);
}

static enum t_result test_cgroup_freeze(void)
{
	struct sh_holder h;
	const char *why;

	if (!t_is_root())
		return t_skip("making a cgroup needs root");
	why = sh_make_cgroup(cg, sizeof(cg), "freezer", NULL);
	if (why)
		return t_skip("%s", why);
	if (sh_holder_start(&h, move_to_cgroup)) {
		cg_write("cgroup.freeze", "1");
		T_TRUE(frozen_is(1, 5000));
		cg_write("cgroup.freeze", "0");
		T_TRUE(frozen_is(0, 5000));
		sh_holder_end(&h);
	}
	if (rmdir(cg))
		t_diag("rmdir %s: %s", cg, strerror(errno));
	return t_result();
}

/*
 * Suspend to idle, stopped by pm_test right after the freezer: every user
 * task and freezable kernel thread frozen, 5 s, thawed.  A task that
 * would not freeze (a helper, or a former head in its read) fails the
 * write with EBUSY, "Freezing of tasks failed" in the log.
 */
static enum t_result test_suspend_freeze(void)
{
	char levels[256], states[256];
	struct sh_holder h;
	long long t0, took;
	ssize_t n;
	int fd;

	if (!t_is_root())
		return t_skip("suspending needs root");
	if (access(PM_TEST, W_OK))
		return t_skip("no %s (a kernel without CONFIG_PM_DEBUG or CONFIG_SUSPEND): %s", PM_TEST,
			      strerror(errno));
	sh_read_file(PM_TEST, levels, sizeof(levels));
	sh_read_file(PM_STATE, states, sizeof(states));
	if (!strstr(levels, "freezer") || !strstr(states, "freeze"))
		return t_skip("no freezer test level (%s) or no suspend to idle (%s)", levels, states);
	if (sh_holder_start(&h, NULL)) {
		sh_trace_write(PM_TEST, "freezer");
		fd = open(PM_STATE, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			t_bail("open %s: %s", PM_STATE, strerror(errno));
		t0 = t_now_us();
		n = write(fd, "freeze", 6);
		took = t_now_us() - t0;
		if (!T_EQ(n, 6))
			t_diag("write freeze to %s: %s (a task would not freeze?)", PM_STATE,
			       strerror(errno));
		close(fd);
		sh_trace_write(PM_TEST, "none");
		/*
		 * The control: the freezer level ran, holding everything frozen
		 * for its delay.  That delay is mdelay(), a calibrated busy loop,
		 * which under a loaded emulator has measured 4.3 s of the 5: half
		 * of it still tells the wait from no wait at all.
		 */
		if (!T_TRUE(took >= PM_TEST_DELAY_US / 2))
			t_diag("the suspend took %lld us: it stopped before the freezer test", took);
		sh_holder_end(&h);
	}
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "cgroup v2: frozen within 5 s with a helper parked and a read handed off; thawed, the read ends once",
		  test_cgroup_freeze },
		{ "suspend freezer (pm_test): every task frozen with a helper parked and a read handed off; thawed, the read ends once",
		  test_suspend_freeze },
	};

	/* The suspend freezer stops every task: no other syslet case runs meanwhile. */
	t_require_syslet_exclusive();
	return T_RUN(cases);
}
