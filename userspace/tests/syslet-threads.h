/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The threads of this process as /proc/self/task shows them: how many,
 * each one's state, and how many are parked syslet helpers.  Free of the AIO ABI headers,
 * so that cases using libaio's <libaio.h> can include it too.
 */
#ifndef AIO_SYSLET_SYSLET_THREADS_H
#define AIO_SYSLET_SYSLET_THREADS_H

#include "t.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* task->flags bit that /proc/PID/task/TID/stat shows for a syslet helper. */
#define SH_PF_USER_WORKER	0x00004000UL
/* The per-process bound on helpers. */
#define SH_MAX_THREADS_SYSCTL	"/proc/sys/fs/aio-syslet-max-threads"

/* Threads of this process, helpers included. */
static inline int sh_count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		t_bail("opendir /proc/self/task: %s", strerror(errno));
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The state and flags fields of /proc/self/task/@tid/stat; false if the task is gone. */
static inline bool sh_task_state(const char *tid, char *state, unsigned long *flags)
{
	char path[300], buf[1024], *p;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	/* The name may hold anything: fields follow the last ')'. */
	p = strrchr(buf, ')');
	return p && sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", state, flags) == 2;
}

/* Parked syslet helpers of this process: sleeping threads flagged PF_USER_WORKER. */
static inline int sh_parked_helpers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		t_bail("opendir /proc/self/task: %s", strerror(errno));
	while ((de = readdir(d))) {
		unsigned long flags;
		char state;

		if (de->d_name[0] != '.' && sh_task_state(de->d_name, &state, &flags) &&
		    state == 'S' && (flags & SH_PF_USER_WORKER))
			n++;
	}
	closedir(d);
	return n;
}

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

#endif /* AIO_SYSLET_SYSLET_THREADS_H */
