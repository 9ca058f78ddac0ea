// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: the cgroup v2 freezer and helpers.  A process with a
 * helper parked and a read handed off and still blocked is frozen
 * (cgroup.events says "frozen 1" within 5 s) and thawed; the read then
 * ends in exactly one event, and the next read hands off.
 */
#include "syslet-helpers.h"

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

int main(void)
{
	static const struct t_case cases[] = {
		{ "cgroup v2: frozen within 5 s with a helper parked and a read handed off; thawed, the read ends once",
		  test_cgroup_freeze },
	};

	t_require_syslet();
	return T_RUN(cases);
}
