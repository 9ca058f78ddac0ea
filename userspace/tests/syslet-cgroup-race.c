// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a thread moved between threaded cgroups (cgroup.threads)
 * while it hands off in a loop is, after each move, in the cgroup it was
 * moved to: a handoff never carries its user context back into the
 * previous one.
 */
#include "syslet-helpers.h"

#include <sys/mount.h>

#define MOVE_ROUNDS	400

static char cg_base[4300];
static void write_file(const char *dir, const char *file, const char *val)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	sh_trace_write(path, val);
}

/* The cgroup2 path of thread @tid, from /proc/self/task/TID/cgroup ("0::PATH"). */
static void cgroup_of(pid_t tid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/cgroup", (int)tid);
	sh_read_file(path, buf, len);
	buf[strcspn(buf, "\n")] = '\0';
}

static enum t_result mover(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_reader rd;
	char dir[2][4400], rel[2][4400], pid[32], now[4400];
	long wrong = 0, rounds = 0;
	int reads;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	write_file(cg_base, "cgroup.procs", pid);
	for (int i = 0; i < 2; i++) {
		snprintf(dir[i], sizeof(dir[i]), "%s/%c", cg_base, 'a' + i);
		snprintf(rel[i], sizeof(rel[i]), "0::/%s/%c", strrchr(cg_base, '/') + 1, 'a' + i);
	}
	if (!sh_warm_up(ctx))
		return T_FAIL;
	/* The thread that is moved: pipe reads that a writer fills 2 ms later. */
	sh_reader_start(&rd, ctx, 2);
	for (; rounds < MOVE_ROUNDS; rounds++) {
		char tid[32];
		int to = (int)(rounds & 1);

		snprintf(tid, sizeof(tid), "%d", (int)atomic_load(&rd.tid));
		write_file(dir[to], "cgroup.threads", tid);
		cgroup_of(atomic_load(&rd.tid), now, sizeof(now));
		/* The move is complete when the write returns. */
		if (strcmp(now, rel[to])) {
			t_diag("round %ld: thread %d is in %s, moved to %s", rounds,
			       (int)atomic_load(&rd.tid), now, rel[to]);
			wrong++;
		}
		usleep((unsigned int)(rounds % 5) * 400);
	}
	reads = sh_reader_stop(&rd);
	t_diag("%ld moves, %d reads meanwhile", rounds, reads);
	T_EQ(wrong, 0);
	T_TRUE(reads > 3);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_move_race(void)
{
	char mnt[4096], sub[4400];
	enum t_result r;

	if (!t_is_root())
		return t_skip("mounting cgroup2 and moving threads need root");
	snprintf(mnt, sizeof(mnt), "%s/cg2-XXXXXX", t_test_dir());
	if (!mkdtemp(mnt))
		t_bail("mkdtemp %s: %s", mnt, strerror(errno));
	if (mount("cgroup2", mnt, "cgroup2", 0, NULL)) {
		int err = errno;

		rmdir(mnt);
		if (err == ENODEV)
			return t_skip("this kernel has no cgroup2 (CONFIG_CGROUPS)");
		t_bail("mount cgroup2 on %s: %s", mnt, strerror(err));
	}
	snprintf(cg_base, sizeof(cg_base), "%s/aio-syslet-%d", mnt, (int)getpid());
	if (mkdir(cg_base, 0755))
		t_bail("mkdir %s: %s", cg_base, strerror(errno));
	for (int i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s/%c", cg_base, 'a' + i);
		if (mkdir(sub, 0755))
			t_bail("mkdir %s: %s", sub, strerror(errno));
		write_file(sub, "cgroup.type", "threaded");
	}
	r = sh_in_child(mover);
	for (int i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s/%c", cg_base, 'a' + i);
		if (rmdir(sub))
			t_diag("rmdir %s: %s", sub, strerror(errno));
	}
	if (rmdir(cg_base))
		t_diag("rmdir %s: %s", cg_base, strerror(errno));
	if (umount2(mnt, MNT_DETACH) || rmdir(mnt))
		t_diag("umount, rmdir %s: %s", mnt, strerror(errno));
	return r;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a thread moved between threaded cgroups while it hands off stays where it was moved",
		  test_move_race },
	};

	t_require_syslet();
	return T_RUN(cases);
}
