// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a process that cannot make a helper (its pids cgroup is
 * full) does not try again at every blocking iocb.
 *
 * A block that finds no helper asks for one, made at the next io_submit().
 * When that fails, the kernel waits a second before it tries again: the
 * cgroup's pids.events counts each failed fork, and 20 blocking reads in
 * well under a second may cost one or two, not twenty.
 */
#include "syslet-helpers.h"

#include <sys/mount.h>
#include <sys/stat.h>

#define CGROOT		"/sys/fs/cgroup"
#define NR_READS	20
#define RESCUE_MS	20

static char cg[128];

static bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val);
}

/* The "max" count of @cg's pids.events; -1 if unreadable. */
static long long pids_max_events(void)
{
	char path[192], line[128];
	long long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pids.events", cg);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "max %lld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* A pids cgroup under cgroup2, made for this case; a reason to skip when none. */
static const char *make_cgroup(void)
{
	static char why[256];
	char path[192], ctl[256] = "";
	FILE *f;

	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("none", CGROOT, "cgroup2", 0, NULL)) {
		snprintf(why, sizeof(why), "no cgroup2 at %s and mounting one failed: %s",
			 CGROOT, strerror(errno));
		return why;
	}
	f = fopen(CGROOT "/cgroup.controllers", "re");
	if (!f || !fgets(ctl, sizeof(ctl), f) || !strstr(ctl, "pids")) {
		if (f)
			fclose(f);
		return "cgroup2 has no pids controller here";
	}
	fclose(f);
	if (!write_file(CGROOT "/cgroup.subtree_control", "+pids")) {
		snprintf(why, sizeof(why), "enabling pids in %s/cgroup.subtree_control: %s",
			 CGROOT, strerror(errno));
		return why;
	}
	snprintf(cg, sizeof(cg), "%s/aio-syslet-backoff-%d", CGROOT, (int)getpid());
	if (mkdir(cg, 0755))
		t_bail("mkdir %s: %s", cg, strerror(errno));
	/* Room for the one thread the child is: no helper fits. */
	snprintf(path, sizeof(path), "%s/pids.max", cg);
	if (!write_file(path, "1"))
		t_bail("write 1 to %s: %s", path, strerror(errno));
	return NULL;
}

/*
 * The child, alone in the cgroup: NR_READS reads of a pipe that the
 * parent, outside, writes a byte to every RESCUE_MS.  No thread of ours
 * may need a pid: the rescuer is the parent.
 */
static int reads_in_full_cgroup(int in, int ready)
{
	aio_context_t ctx;
	char path[192];
	bool ok = true;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	if (!write_file(path, "0"))
		t_bail("write 0 to %s: %s", path, strerror(errno));
	ctx = t_setup_ctx(16);
	if (write(ready, "r", 1) != 1)
		t_bail("write: %s", strerror(errno));
	for (int i = 0; i < NR_READS && ok; i++) {
		struct iocb cb, *list = &cb;
		struct io_event ev;
		char c = 0;

		t_prep_pread(&cb, in, &c, 1, 0);
		cb.aio_data = i;
		ok &= T_EQ(sys_io_submit(ctx, 1, &list), 1);
		ok &= T_EQ(t_reap(ctx, &ev, 1, 5000), 1);
		ok &= T_EQ(ev.data, i) && T_EQ(ev.res, 1) && T_EQ(c, 'a' + i);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return ok && t_result() == T_PASS ? SH_CHILD_PASS : 1;
}

static enum t_result test_backoff(void)
{
	const char *why;
	long long before, after, t0, ms;
	int p[2], ready[2];
	char c;
	pid_t pid;

	if (!t_is_root())
		return t_skip("making a cgroup needs root");
	why = make_cgroup();
	if (why)
		return t_skip("%s", why);
	before = pids_max_events();
	if (pipe2(p, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	t0 = t_now_us();
	pid = t_fork();
	if (pid == 0) {
		close(p[1]);
		close(ready[0]);
		_exit(reads_in_full_cgroup(p[0], ready[1]));
	}
	close(p[0]);
	close(ready[1]);
	if (T_EQ(read(ready[0], &c, 1), 1)) {
		for (int i = 0; i < NR_READS; i++) {
			usleep(RESCUE_MS * 1000);
			c = 'a' + i;
			if (write(p[1], &c, 1) != 1)
				break;
		}
	}
	close(p[1]);
	close(ready[0]);
	t_reap_child(pid, SH_CHILD_PASS, 20);
	ms = (t_now_us() - t0) / 1000;
	after = pids_max_events();
	if (rmdir(cg))
		t_diag("rmdir %s: %s", cg, strerror(errno));
	if (!T_TRUE(before >= 0 && after >= 0))
		return T_FAIL;
	t_diag("%d blocking reads in %lld ms: %lld failed forks", NR_READS, ms, after - before);
	/* One at the first block, then at most one a second (and one for rounding). */
	T_TRUE(after - before >= 1);
	if (!T_TRUE(after - before <= 2 + ms / 1000))
		t_diag("a failed helper creation at every blocking read: no back-off");
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "pids.max leaves no room for a helper: 20 blocking reads, 1 failed fork a second", test_backoff },
	};

	t_require_syslet();
	return T_RUN(cases);
}
