/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The threads of this process as /proc/self/task shows them: how many,
 * and how many are parked syslet helpers.  Free of the AIO ABI headers,
 * so that cases using libaio's <libaio.h> can include it too.
 */
#ifndef AIO_SYSLET_SYSLET_THREADS_H
#define AIO_SYSLET_SYSLET_THREADS_H

#include "t.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* task->flags bit that /proc/PID/task/TID/stat shows for a syslet helper. */
#define SH_PF_USER_WORKER	0x00004000UL

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

/* Parked syslet helpers of this process: sleeping threads flagged PF_USER_WORKER. */
static inline int sh_parked_helpers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		t_bail("opendir /proc/self/task: %s", strerror(errno));
	while ((de = readdir(d))) {
		char path[300], buf[512], *p, state;
		unsigned long flags;
		ssize_t len;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* exited meanwhile */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* The name may hold anything: fields follow the last ')'. */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
			continue;
		if (state == 'S' && (flags & SH_PF_USER_WORKER))
			n++;
	}
	closedir(d);
	return n;
}

#endif /* AIO_SYSLET_SYSLET_THREADS_H */
