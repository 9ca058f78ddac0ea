/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The threads of a process as /proc/PID/task shows them: how many, each
 * one's status fields, and how many are parked syslet helpers; and the
 * handoff timeout.  Free of the AIO ABI headers, so that cases using
 * libaio's <libaio.h> can include it too.
 */
#ifndef AIO_SYSLET_SYSLET_THREADS_H
#define AIO_SYSLET_SYSLET_THREADS_H

#include "t.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * How long io_submit() of a read that should hand off may take before the
 * case's rescuer writes the pipe (and the case fails, as a synchronous
 * io_submit() would make it): long enough even under TCG with KASAN.
 */
#define SH_HANDOFF_MS		3000
/* task->flags bits that /proc/PID/task/TID/stat shows: a syslet helper, an exiting task. */
#define SH_PF_USER_WORKER	0x00004000UL
#define SH_PF_EXITING		0x00000004UL
/* The per-process bound on helpers. */
#define SH_MAX_THREADS_SYSCTL	"/proc/sys/fs/aio-syslet-max-threads"

/*
 * Calls @fn for each thread of process @pid (/proc/PID/task) with its TID;
 * returns for how many it returned true (without @fn: how many there are).
 */
static inline int sh_each_task(pid_t pid, bool (*fn)(pid_t pid, pid_t tid, void *arg), void *arg)
{
	struct dirent *de;
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		t_bail("opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (!fn || fn(pid, (pid_t)atoi(de->d_name), arg)))
			n++;
	closedir(d);
	return n;
}

/* Threads of this process, helpers included. */
static inline int sh_count_tasks(void)
{
	return sh_each_task(getpid(), NULL, NULL);
}

/*
 * Thread @tid of @pid is a parked syslet helper: asleep, flagged
 * PF_USER_WORKER, and waiting where the syslet code parks it (its wchan
 * names a syslet_ function), not still finishing its last operation
 * (a deferred fput(), say) on the way there.  A kernel that does not
 * tell wchan ("0") is taken at its state and flag.
 */
static inline bool sh_is_parked(pid_t pid, pid_t tid, void *arg)
{
	char path[64], wchan[64] = "";
	unsigned long flags;
	char state;
	FILE *f;

	(void)arg;
	if (!t_task_stat(pid, tid, &state, &flags) || state != 'S' || !(flags & SH_PF_USER_WORKER))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (!fgets(wchan, sizeof(wchan), f))
		wchan[0] = '\0';
	fclose(f);
	return !wchan[0] || !strcmp(wchan, "0") || !strncmp(wchan, "syslet_", 7);
}

/* Parked syslet helpers of this process. */
static inline int sh_parked_helpers(void)
{
	return sh_each_task(getpid(), sh_is_parked, NULL);
}

/*
 * The value of field @key ("Tgid:") of /proc/@pid/task/@tid/status (@pid
 * 0: /proc/self), up to the end of its line; false if the task (or the
 * field) is not there.
 */
static inline bool sh_task_status_field(pid_t pid, pid_t tid, const char *key, char *val,
					size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	bool found = false;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen))
			continue;
		snprintf(val, len, "%s", line + klen + strspn(line + klen, " \t"));
		val[strcspn(val, "\n")] = '\0';
		found = true;
		break;
	}
	fclose(f);
	return found;
}

/* sh_task_status_field() of a thread of this process. */
static inline bool sh_status_field(pid_t tid, const char *key, char *val, size_t len)
{
	return sh_task_status_field(0, tid, key, val, len);
}

/* Thread @tid of @pid runs: neither asleep nor, for the leader (TID @pid), exited. */
static inline bool sh_task_busy(pid_t pid, pid_t tid, void *arg)
{
	char state;

	(void)arg;
	if (!t_task_stat(pid, tid, &state, NULL))
		return false;		/* gone */
	if (tid == pid)
		return state != 'Z';
	return state != 'S' && state != 'D';
}

/*
 * Waits up to @timeout_ms until the user thread of the child @pid (TID
 * @pid, which handoffs keep) has exited and every thread left sleeps: what
 * its exit set off has run, so a child not reaped by then is kept alive by
 * a thread that is blocked.  False, said, if that does not come.
 */
static inline bool sh_wait_exit_settled(pid_t pid, int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;

	while (sh_each_task(pid, sh_task_busy, NULL)) {
		if (t_now_us() > deadline) {
			t_diag("child %d: after %d ms its user thread is there or threads run",
			       (int)pid, timeout_ms);
			return false;
		}
		usleep(2000);
	}
	return true;
}

/*
 * How long a new helper may take to park: io_submit() makes it, and it
 * parks when first scheduled, which under emulation on a loaded machine
 * has taken over 5 s.  A kernel whose helpers never park still fails.
 */
#define SH_PARK_MS	20000

/* Waits up to @timeout_ms for @n helpers to be parked; says so when they are not. */
static inline bool sh_wait_parked(int n, int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;

	while (sh_parked_helpers() < n) {
		if (t_now_us() > deadline) {
			t_diag("no %d parked helper(s) after %d ms", n, timeout_ms);
			return false;
		}
		usleep(2000);
	}
	return true;
}

/*
 * Waits up to @timeout_ms until every thread of this process but the
 * caller is a parked helper: a joined pthread has left the thread list
 * (pthread_join() returns when its TID is cleared, before the kernel
 * unlinks it, on stock too) and a helper that ended an operation has
 * parked.  What a single-threaded caller needs first (unshare() of the
 * thread group); says so, with the counts, when it does not come.
 */
static inline bool sh_wait_only_parked(int timeout_ms)
{
	long long deadline = t_now_us() + timeout_ms * 1000LL;
	int tasks, parked;

	for (;;) {
		tasks = sh_count_tasks();
		parked = sh_parked_helpers();
		if (tasks == parked + 1)
			return true;
		if (t_now_us() > deadline)
			break;
		usleep(2000);
	}
	t_diag("after %d ms: %d threads, %d of them parked helpers", timeout_ms, tasks, parked);
	return false;
}

#endif /* AIO_SYSLET_SYSLET_THREADS_H */
