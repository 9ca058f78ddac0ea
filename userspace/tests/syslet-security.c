// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: no handoff to a helper of other credentials, seccomp filter,
 * no_new_privs, fs or files table, nor from an I/O flusher or a traced
 * caller; the state set before the read is the state after it.  Equal
 * credentials in another struct cred, and a head's credentials overridden
 * for the read (overlayfs), do not stop a handoff.
 */
#include "t.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif
#define NEW_ID 4242

#include "syslet-helpers.h"

struct id_check {
	const char *key;	/* "Uid:" or "Gid:" */
	unsigned int id;
};

/* True (and says so) when a real, effective, saved or fs id of @tid is not @arg's. */
static bool task_without_id(pid_t pid, pid_t tid, void *arg)
{
	const struct id_check *c = arg;
	unsigned int r, e, s, f;
	char val[128];

	(void)pid;
	if (!sh_status_field(tid, c->key, val, sizeof(val)))
		return false;
	if (sscanf(val, "%u %u %u %u", &r, &e, &s, &f) == 4 &&
	    r == c->id && e == c->id && s == c->id && f == c->id)
		return false;
	t_diag("task %d: %s %s", (int)tid, c->key, val);
	return true;
}

/* Counts the tasks whose "Uid:" or "Gid:" (@key) ids are not all @id. */
static int tasks_without_id(const char *key, unsigned int id)
{
	struct id_check c = { key, id };

	return sh_each_task(getpid(), task_without_id, &c);
}

static int wait_tasks_with_id(const char *key, unsigned int id, int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;
	int n;

	/* A helper that refused exits on its own: give it a moment. */
	while ((n = tasks_without_id(key, id)) && t_now_us() < deadline)
		usleep(20000);
	return n;
}

static enum t_result creds_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb *none = NULL;

	/* A helper parks with root's credentials. */
	if (!sh_warm_up(ctx))
		return T_FAIL;
	/*
	 * glibc changes every thread it knows of; the helper is not one of
	 * them.  Root's supplementary groups go too, as in any privilege drop.
	 */
	if (setgroups(0, NULL) || setresgid(NEW_ID, NEW_ID, NEW_ID) ||
	    setresuid(NEW_ID, NEW_ID, NEW_ID))
		t_bail("setgroups/setresgid/setresuid %d: %s", NEW_ID, strerror(errno));
	T_TRUE(sh_parked_helpers() >= 1);
	/* The parked helper is root's: not used, the read runs in io_submit(). */
	T_TRUE(sh_read_runs(ctx, false));
	/* And it does not stay: every thread is the new user's. */
	T_EQ(wait_tasks_with_id("Uid:", NEW_ID, 5000), 0);
	T_EQ(tasks_without_id("Gid:", NEW_ID), 0);
	/* A helper made now has the new credentials, and is used. */
	T_EQ(sys_io_submit(ctx, 0, &none), 0);
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS))) {
		T_EQ(tasks_without_id("Uid:", NEW_ID), 0);
		T_TRUE(sh_read_runs(ctx, true));
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_creds(void)
{
	if (!t_is_root())
		return t_skip("changing the credentials of a process needs root");
	return sh_in_child(creds_child);
}

/*
 * Each thread that calls setgroups() gets a struct cred of its own, equal
 * to the others' when the list is the one it had (glibc makes every thread
 * call it; setresgid() to the same IDs changes nothing at all): a helper
 * made before still has the same credentials, and serves them.
 */
static aio_context_t equal_ctx;

static enum t_result equal_creds_thread(void)
{
	T_TRUE(sh_read_runs(equal_ctx, true));
	return t_result();
}

static enum t_result equal_creds_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb *none = NULL;
	gid_t groups[256];
	int n;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	n = getgroups(256, groups);
	if (n < 0 || setgroups(n, groups))
		t_bail("setgroups() to the groups we have: %s", strerror(errno));
	T_TRUE(sh_parked_helpers() >= 1);
	T_TRUE(sh_read_runs(ctx, true));
	/* And from a second thread, made since. */
	equal_ctx = ctx;
	T_EQ(sys_io_submit(ctx, 0, &none), 0);
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_EQ(sh_in_thread(equal_creds_thread), T_PASS);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_equal_creds(void)
{
	if (!t_is_root())
		return t_skip("setgroups() needs CAP_SETGID here: run as root");
	return sh_in_child(equal_creds_child);
}

#define OVL_READS	5
/* Reads large enough that the helper mostly runs before the read ends. */
#define OVL_READ	(2 * 1024 * 1024)
#define OVL_SIZE	(OVL_READS * OVL_READ)

/* Makes @dir/@name, OVL_SIZE bytes of the pattern, on disk. */
static void ovl_write_file(const char *dir, const char *name, char *path, size_t len)
{
	static char buf[OVL_SIZE];
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		t_bail("create %s: %s", path, strerror(errno));
	t_fill_pattern(buf, sizeof(buf), 5, 0);
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd))
		t_bail("write %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * overlayfs reads its lower file with the mounter's credentials
 * (override_creds()): a read through it that blocks hands off all the
 * same, and nothing is refused for "cred".  A read that ends before the
 * helper it picked begins to run keeps its user context (syslet_reclaimed);
 * one that blocks before the last read's former head has parked again
 * finds no helper (syslet_no_helper); one whose pages arrive before it
 * ever sleeps (the disk is the host's page cache) has nothing to hand
 * off, and its thread makes no voluntary context switch.  Every read is
 * one of the four.
 */
static enum t_result overlay_child(void)
{
	char base[4096], dirs[4][4200], lower[4400], merged[4400], opts[17000];
	static const char *const names[] = { "lower", "upper", "work", "merged" };
	static char buf[OVL_READ];
	aio_context_t ctx;
	struct sh_trace handoffs, refusals, reclaims, missed, unarmed;
	long handed, unexplained = 0;
	int fd;

	/* Our own mount namespace, before any helper: they must share it. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		t_bail("unshare(CLONE_NEWNS): %s", strerror(errno));
	snprintf(base, sizeof(base), "%s/ovl-XXXXXX", t_test_dir());
	if (!mkdtemp(base))
		t_bail("mkdtemp %s: %s", base, strerror(errno));
	for (int i = 0; i < 4; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/%s", base, names[i]);
		if (mkdir(dirs[i], 0700))
			t_bail("mkdir %s: %s", dirs[i], strerror(errno));
	}
	ovl_write_file(dirs[0], "f", lower, sizeof(lower));
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", dirs[0], dirs[1], dirs[2]);
	if (mount("overlay", dirs[3], "overlay", 0, opts)) {
		int err = errno;

		/* A distribution kernel has overlayfs as a module. */
		if (err == ENODEV && system("modprobe overlay 2>/dev/null") == 0 &&
		    !mount("overlay", dirs[3], "overlay", 0, opts))
			err = 0;
		if (err == ENODEV)
			return t_skip("this kernel has no overlayfs (CONFIG_OVERLAY_FS)");
		if (err)
			t_bail("mount overlay on %s: %s", dirs[3], strerror(err));
	}
	snprintf(merged, sizeof(merged), "%s/f", dirs[3]);
	fd = open(merged, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_bail("open %s: %s", merged, strerror(errno));

	ctx = t_setup_ctx(16);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_trace_start(&handoffs, "syslet_handoff");
	sh_trace_start(&refusals, "syslet_refused");
	sh_trace_start(&reclaims, "syslet_reclaimed");
	sh_trace_start(&missed, "syslet_no_helper");
	sh_trace_start(&unarmed, "syslet_unarmed");
	for (int i = 0; i < OVL_READS; i++) {
		long h0 = sh_trace_count(&handoffs, NULL), k0 = sh_trace_count(&reclaims, NULL);
		long m0 = sh_trace_count(&missed, NULL), h, k, m;
		struct iocb cb, *list = &cb;
		struct rusage r0, r1;
		struct io_event ev;
		long long t0, t1;

		/* The overlay file's pages are the lower file's. */
		t_drop_cache(lower, OVL_SIZE);
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;
		t_prep_pread(&cb, fd, buf, sizeof(buf), (off_t)i * OVL_READ);
		t0 = t_now_us();
		getrusage(RUSAGE_THREAD, &r0);
		T_EQ(sys_io_submit(ctx, 1, &list), 1);
		getrusage(RUSAGE_THREAD, &r1);
		t1 = t_now_us();
		if (!T_EQ(t_reap(ctx, &ev, 1, 5000), 1))
			break;
		h = sh_trace_count(&handoffs, NULL) - h0;
		k = sh_trace_count(&reclaims, NULL) - k0;
		m = sh_trace_count(&missed, NULL) - m0;
		t_diag("read %d: io_submit() %lld us, event after %lld us; %ld handoffs, %ld kept, %ld without a helper",
		       i, t1 - t0, t_now_us() - t0, h, k, m);
		/* Without a handoff the thread is the same task: its own count. */
		if (!h && !k && !m) {
			long slept = r1.ru_nvcsw - r0.ru_nvcsw;

			t_diag("read %d: no event; %ld voluntary context switches in io_submit()",
			       i, slept);
			if (slept)
				unexplained++;
		}
		T_EQ(ev.res, sizeof(buf));
		T_TRUE(t_verify_pattern(buf, sizeof(buf), 5, (off_t)i * OVL_READ));
	}
	handed = sh_trace_count(&handoffs, NULL);
	t_diag("%d cold reads through overlayfs: %ld handed off, %ld kept (the read was quicker), %ld without a helper",
	       OVL_READS, handed, sh_trace_count(&reclaims, NULL), sh_trace_count(&missed, NULL));
	/*
	 * What P1 is about: the mounter's credentials refuse no helper, and
	 * reads hand off.  Under TCG not every one does, but each read that
	 * does not says why.
	 */
	T_EQ(sh_trace_count(&refusals, NULL), 0);
	T_EQ(sh_trace_count(&unarmed, NULL), 0);
	T_TRUE(handed > 0);
	T_EQ(unexplained, 0);
	sh_trace_stop(&handoffs);
	sh_trace_stop(&refusals);
	sh_trace_stop(&reclaims);
	sh_trace_stop(&missed);
	sh_trace_stop(&unarmed);
	close(fd);
	T_EQ(sys_io_destroy(ctx), 0);
	if (umount2(dirs[3], MNT_DETACH))
		t_diag("umount %s: %s", dirs[3], strerror(errno));
	unlink(lower);
	snprintf(merged, sizeof(merged), "%s/work", dirs[2]);
	rmdir(merged);	/* overlayfs' own */
	for (int i = 3; i >= 0; i--)
		rmdir(dirs[i]);
	if (rmdir(base))
		t_diag("rmdir %s: %s", base, strerror(errno));
	return t_result();
}

static enum t_result test_overlay(void)
{
	if (!t_is_root())
		return t_skip("mounting overlayfs and reading trace events need root");
	return sh_in_child(overlay_child);
}

static enum t_result io_flusher_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct iocb *none = NULL;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0))
		t_bail("PR_SET_IO_FLUSHER 1: %s", strerror(errno));
	/* A helper is parked, but an I/O flusher does not hand off. */
	T_TRUE(sh_read_runs(ctx, false));
	T_TRUE(sh_read_runs(ctx, false));
	if (prctl(PR_SET_IO_FLUSHER, 0, 0, 0, 0))
		t_bail("PR_SET_IO_FLUSHER 0: %s", strerror(errno));
	/* No longer one: it does. */
	T_EQ(sys_io_submit(ctx, 0, &none), 0);
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_io_flusher(void)
{
	if (!t_is_root())
		return t_skip("PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE");
	return sh_in_child(io_flusher_child);
}

/*
 * A block hands off, so a parked helper really is there to misuse (the
 * positive control of every "runs synchronously" below); then one more
 * helper is left parked for the next block: the head of the handoff.
 */
static bool hands_off_now(aio_context_t ctx)
{
	bool ok;

	if (!sh_warm_up(ctx))
		return false;
	ok = T_TRUE(sh_read_runs(ctx, true));
	return T_TRUE(sh_wait_parked(1, SH_PARK_MS)) && ok;
}

/* After the change: the stale helper is not used, and a fresh one is. */
static void sync_then_fresh_helper(aio_context_t ctx)
{
	struct iocb *none = NULL;

	T_TRUE(sh_parked_helpers() >= 1);
	T_TRUE(sh_read_runs(ctx, false));
	T_EQ(sys_io_submit(ctx, 0, &none), 0);
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
}

/*
 * sync_then_fresh_helper(), and the helper that was not used said why:
 * one syslet_refused event with "check=@check" (root: tracing).
 */
static void refused_then_fresh_helper(aio_context_t ctx, const char *check)
{
	struct sh_trace refusals;
	char match[64];

	snprintf(match, sizeof(match), "check=%s", check);
	sh_trace_start(&refusals, "syslet_refused");
	sync_then_fresh_helper(ctx);
	if (!T_EQ(sh_trace_count(&refusals, match), 1))
		t_diag("want one syslet_refused event with %s", match);
	sh_trace_stop(&refusals);
}

/* The namespace of type @type (uts, mnt) this thread is in, as /proc shows it. */
static void ns_link(const char *type, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/thread-self/ns/%s", type);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		t_bail("readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
}

/* A filter that fails getppid() with EPERM and allows everything else. */
static int deny_getppid(unsigned int flags)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]), .filter = insns };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static enum t_result seccomp_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	pid_t ppid = getppid();

	if (!hands_off_now(ctx))
		return T_FAIL;
	/* This thread only: the parked helper has no filter. */
	if (deny_getppid(0))
		t_bail("seccomp(SECCOMP_SET_MODE_FILTER): %s", strerror(errno));
	T_ERRNO(syscall(SYS_getppid), EPERM);
	sync_then_fresh_helper(ctx);
	/* Whoever runs this code now, the filter holds. */
	T_ERRNO(syscall(SYS_getppid), EPERM);
	T_TRUE(ppid > 1);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_seccomp(void)
{
	/* Without no_new_privs, which would change the helper's state too. */
	if (!t_is_root())
		return t_skip("a seccomp filter without no_new_privs needs CAP_SYS_ADMIN");
	return sh_in_child(seccomp_child);
}

static enum t_result seccomp_tsync_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);

	if (!hands_off_now(ctx))
		return T_FAIL;
	/* Every thread, parked helpers too: the helper stays usable. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || deny_getppid(SECCOMP_FILTER_FLAG_TSYNC))
		t_bail("seccomp(SECCOMP_FILTER_FLAG_TSYNC): %s", strerror(errno));
	T_TRUE(sh_parked_helpers() >= 1);
	T_TRUE(sh_read_runs(ctx, true));
	T_ERRNO(syscall(SYS_getppid), EPERM);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_seccomp_tsync(void)
{
	return sh_in_child(seccomp_tsync_child);
}

static enum t_result nnp_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);

	if (!hands_off_now(ctx))
		return T_FAIL;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		t_bail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	sync_then_fresh_helper(ctx);
	T_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_nnp(void)
{
	return sh_in_child(nnp_child);
}

static enum t_result fs_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	char cwd[4096];

	if (!hands_off_now(ctx))
		return T_FAIL;
	/* Our own fs_struct from here; the helper keeps the shared one. */
	if (unshare(CLONE_FS) || chdir("/"))
		t_bail("unshare(CLONE_FS), chdir /: %s", strerror(errno));
	umask(077);
	sync_then_fresh_helper(ctx);
	T_TRUE(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0);
	T_EQ(umask(077), 077);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_fs(void)
{
	return sh_in_child(fs_child);
}

static enum t_result files_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		t_bail("open /dev/null: %s", strerror(errno));
	if (!hands_off_now(ctx))
		return T_FAIL;
	/* Our own file table from here, without @fd; the helper's still has it. */
	if (unshare(CLONE_FILES) || close(fd))
		t_bail("unshare(CLONE_FILES), close: %s", strerror(errno));
	sync_then_fresh_helper(ctx);
	T_ERRNO(fcntl(fd, F_GETFD), EBADF);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_files(void)
{
	return sh_in_child(files_child);
}

#define NEW_HOSTNAME	"aio-syslet-uts"

/* A UTS namespace of the thread's own, named anew: the helper's is the old one. */
static enum t_result uts_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	char ns[64], now[64];
	struct utsname u;

	if (!hands_off_now(ctx))
		return T_FAIL;
	if (unshare(CLONE_NEWUTS) || sethostname(NEW_HOSTNAME, strlen(NEW_HOSTNAME)))
		t_bail("unshare(CLONE_NEWUTS), sethostname: %s", strerror(errno));
	ns_link("uts", ns, sizeof(ns));
	refused_then_fresh_helper(ctx, "namespaces");
	ns_link("uts", now, sizeof(now));
	T_TRUE(strcmp(ns, now) == 0);
	T_EQ(uname(&u), 0);
	T_TRUE(strcmp(u.nodename, NEW_HOSTNAME) == 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_uts(void)
{
	if (!t_is_root())
		return t_skip("unshare(CLONE_NEWUTS) and the trace events need root");
	return sh_in_child(uts_child);
}

/*
 * A mount namespace of the thread's own, with a tmpfs mounted in it: it
 * comes with an fs_struct of its own, which is what the helper is
 * refused for first; after the handoff the mount is still seen.
 */
static enum t_result mnt_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	char dir[4096], ns[64], now[64];
	struct stat before, after;

	snprintf(dir, sizeof(dir), "%s/syslet-mnt-XXXXXX", t_test_dir());
	if (!mkdtemp(dir))
		t_bail("mkdtemp %s: %s", dir, strerror(errno));
	if (stat(dir, &before))
		t_bail("stat %s: %s", dir, strerror(errno));
	if (!hands_off_now(ctx))
		return T_FAIL;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", dir, "tmpfs", 0, "size=64k"))
		t_bail("unshare(CLONE_NEWNS), mount tmpfs on %s: %s", dir, strerror(errno));
	ns_link("mnt", ns, sizeof(ns));
	refused_then_fresh_helper(ctx, "fs");
	ns_link("mnt", now, sizeof(now));
	T_TRUE(strcmp(ns, now) == 0);
	T_EQ(stat(dir, &after), 0);
	T_TRUE(after.st_dev != before.st_dev);
	T_EQ(umount(dir), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	if (rmdir(dir))
		t_diag("rmdir %s: %s", dir, strerror(errno));
	return t_result();
}

static enum t_result test_mnt(void)
{
	if (!t_is_root())
		return t_skip("unshare(CLONE_NEWNS), mount and the trace events need root");
	return sh_in_child(mnt_child);
}

#define PRIO_BE(level)	((2 << 13) | (level))	/* IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, level) */

/*
 * The thread's I/O priority, set after the helper parked, goes with its
 * io_context to that helper: no refusal, and the priority reads back
 * after each handoff.  Were the io_context left behind, the thread would
 * go on with the helper's, of the default priority.
 */
static enum t_result ioprio_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct sh_trace refusals, handoffs;

	if (!hands_off_now(ctx))
		return T_FAIL;
	if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, PRIO_BE(7)))
		t_bail("ioprio_set(best effort, 7): %s", strerror(errno));
	sh_trace_start(&refusals, "syslet_refused");
	sh_trace_start(&handoffs, "syslet_handoff");
	T_TRUE(sh_parked_helpers() >= 1);
	T_TRUE(sh_read_runs(ctx, true));
	T_EQ(syscall(SYS_ioprio_get, 1, 0), PRIO_BE(7));
	/* And again, on the helper the first handoff left parked. */
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(sh_read_runs(ctx, true));
	T_EQ(syscall(SYS_ioprio_get, 1, 0), PRIO_BE(7));
	T_EQ(sh_trace_count(&handoffs, NULL), 2);
	T_EQ(sh_trace_count(&refusals, NULL), 0);
	sh_trace_stop(&handoffs);
	sh_trace_stop(&refusals);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_ioprio(void)
{
	if (!t_is_root())
		return t_skip("the trace events need root");
	return sh_in_child(ioprio_child);
}

/*
 * CAP_SYS_ADMIN dropped by capset() in this thread only (the raw system
 * call: glibc has no broadcast for it): the helper still has it, and is
 * not used; after the handoff sethostname() is refused.
 */
static enum t_result capset_child(void)
{
	struct { uint32_t version; int pid; } hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct { uint32_t effective, permitted, inheritable; } data[2];
	aio_context_t ctx = t_setup_ctx(16);

	if (unshare(CLONE_NEWUTS))
		t_bail("unshare(CLONE_NEWUTS): %s", strerror(errno));
	if (!hands_off_now(ctx))
		return T_FAIL;
	if (syscall(SYS_capget, &hdr, data))
		t_bail("capget: %s", strerror(errno));
	data[0].effective &= ~(1u << 21);	/* CAP_SYS_ADMIN */
	data[0].permitted &= ~(1u << 21);
	if (syscall(SYS_capset, &hdr, data))
		t_bail("capset without CAP_SYS_ADMIN: %s", strerror(errno));
	refused_then_fresh_helper(ctx, "cred");
	T_ERRNO(sethostname(NEW_HOSTNAME, strlen(NEW_HOSTNAME)), EPERM);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_capset(void)
{
	if (!t_is_root())
		return t_skip("dropping CAP_SYS_ADMIN needs it first: run as root");
	return sh_in_child(capset_child);
}

/* Other supplementary groups: the helper keeps the old list, and is not used. */
static enum t_result groups_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	gid_t want = NEW_ID, got[4];

	if (!hands_off_now(ctx))
		return T_FAIL;
	if (setgroups(1, &want))
		t_bail("setgroups(%d): %s", NEW_ID, strerror(errno));
	refused_then_fresh_helper(ctx, "cred");
	T_EQ(getgroups(4, got), 1);
	T_EQ(got[0], NEW_ID);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_groups(void)
{
	if (!t_is_root())
		return t_skip("setgroups() needs CAP_SETGID here: run as root");
	return sh_in_child(groups_child);
}

static enum t_result traced_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);

	if (!sh_warm_up(ctx))
		return T_FAIL;
	/* The parent traces us from here on. */
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
		t_diag("PTRACE_TRACEME: %s", strerror(errno));
		T_EQ(sys_io_destroy(ctx), 0);
		return T_SKIP;
	}
	/* A helper is parked, but a traced caller does not hand off. */
	T_TRUE(sh_parked_helpers() >= 1);
	T_TRUE(sh_read_runs(ctx, false));
	T_TRUE(sh_read_runs(ctx, false));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_traced(void)
{
	return sh_in_traced_child(traced_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a parked helper with the old credentials is not used after setresuid(); it exits", test_creds },
		{ "after setgroups() to the same groups (a new struct cred per thread) a parked helper still takes over",
		  test_equal_creds },
		{ "cold reads through overlayfs (the mounter's credentials) hand off, none refused",
		  test_overlay },
		{ "a parked helper without this thread's seccomp filter is not used; the filter holds after", test_seccomp },
		{ "a filter set on every thread (TSYNC) reaches the parked helper, which stays usable", test_seccomp_tsync },
		{ "a parked helper without no_new_privs is not used; no_new_privs holds after", test_nnp },
		{ "after unshare(CLONE_FS), chdir and umask a parked helper of the old fs is not used", test_fs },
		{ "after unshare(CLONE_FILES) and close a parked helper of the old file table is not used", test_files },
		{ "an I/O flusher (PR_SET_IO_FLUSHER) does not hand off", test_io_flusher },
		{ "a traced caller (PTRACE_TRACEME) does not hand off", test_traced },
		{ "after unshare(CLONE_NEWUTS) and sethostname() a parked helper of the old namespaces is not used (check=namespaces)",
		  test_uts },
		{ "after unshare(CLONE_NEWNS) and a mount a parked helper of the old fs is not used (check=fs); the mount holds after",
		  test_mnt },
		{ "after ioprio_set() a parked helper of the old I/O priority takes the thread and its I/O priority", test_ioprio },
		{ "after capset() drops CAP_SYS_ADMIN a parked helper that has it is not used (check=cred)", test_capset },
		{ "after setgroups() to another list a parked helper of the old list is not used (check=cred)", test_groups },
	};

	t_require_syslet();
	return T_RUN(cases);
}
