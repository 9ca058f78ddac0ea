// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: IOCB_FLAG_IOPRIO priorities pass ioprio_check_cap() at io_submit or fail there. */
#include "t.h"

#include <grp.h>
#include <linux/ioprio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEED		0x5eed0010u
#define LEN		1000
#define NOBODY		65534

static int file_fd;

/* Prepares a PREAD (@write: PWRITE) of LEN bytes with IOCB_FLAG_IOPRIO and @prio. */
static void prep(struct iocb *cb, bool write, int prio)
{
	static unsigned char buf[LEN];

	if (write) {
		t_fill_pattern(buf, LEN, SEED, 0);
		t_prep_pwrite(cb, file_fd, buf, LEN, 0);
	} else {
		t_prep_pread(cb, file_fd, buf, LEN, 0);
	}
	cb->aio_flags = IOCB_FLAG_IOPRIO;
	/* aio_reqprio is an s16: classes 4..7 come out negative, as the kernel reads them. */
	cb->aio_reqprio = (int16_t)prio;
}

/* A read and a write with @prio both complete with res == LEN. */
static void check_accepted(int prio)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct io_event ev;
	struct iocb cb;

	for (int w = 0; w < 2; w++) {
		prep(&cb, w, prio);
		t_submit1(ctx, &cb);
		if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
			T_EQ(ev.res, LEN);
			T_EQ(ev.res2, 0);
		}
	}
	sys_io_destroy(ctx);
}

/* A read and a write with @prio both fail io_submit with @err and post nothing. */
static void check_refused(int prio, int err)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct iocb cb, *cbp = &cb;

	for (int w = 0; w < 2; w++) {
		prep(&cb, w, prio);
		T_ERRNO(sys_io_submit(ctx, 1, &cbp), err);
	}
	T_NO_EVENT(ctx, 0);
	sys_io_destroy(ctx);
}

static enum t_result test_valid(void)
{
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4));
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 0));
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7));
	/* IDLE needs no privilege and its level is not looked at. */
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 7));
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_NONE, 0));
	return t_result();
}

static enum t_result test_invalid(void)
{
	/* Class 7 is IOPRIO_CLASS_INVALID, 4..6 are unknown; NONE takes no level. */
	check_refused(IOPRIO_PRIO_VALUE(7, 0), EINVAL);
	check_refused(IOPRIO_PRIO_VALUE(4, 0), EINVAL);
	check_refused(IOPRIO_PRIO_VALUE(6, 3), EINVAL);
	check_refused(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_NONE, 1), EINVAL);
	return t_result();
}

static enum t_result test_flag_unset(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct io_event ev;
	struct iocb cb;

	/* Without IOCB_FLAG_IOPRIO, aio_reqprio is not even looked at. */
	prep(&cb, false, IOPRIO_PRIO_VALUE(7, 0));
	cb.aio_flags = 0;
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, LEN);
	/* Nor is it for FSYNC: only reads and writes check it, in aio_prep_rw(). */
	t_prep_fsync(&cb, file_fd, false);
	cb.aio_flags = IOCB_FLAG_IOPRIO;
	cb.aio_reqprio = (int16_t)IOPRIO_PRIO_VALUE(7, 0);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
		T_EQ(ev.res, 0);
	sys_io_destroy(ctx);
	return t_result();
}

/* True when CAP_SYS_ADMIN or CAP_SYS_NICE is effective: ioprio_check_cap() lets RT through. */
static bool has_rt_cap(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long eff = 0;
	char line[256];
	bool found = false;

	if (!f)
		t_bail("open /proc/self/status: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	if (!found)
		t_bail("no CapEff in /proc/self/status");
	return eff & ((1ULL << 21) | (1ULL << 23));	/* CAP_SYS_ADMIN, CAP_SYS_NICE */
}

static enum t_result test_rt_privileged(void)
{
	if (!has_rt_cap())
		return t_skip("neither CAP_SYS_ADMIN nor CAP_SYS_NICE is effective");
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 0));
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 7));
	return t_result();
}

static void check_rt_refused(void)
{
	check_refused(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 0), EPERM);
	check_refused(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 4), EPERM);
	/* Only RT needs the capability: BE still works. */
	check_accepted(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4));
}

static enum t_result test_rt_unprivileged(void)
{
	int status;
	pid_t pid;

	if (!has_rt_cap()) {
		check_rt_refused();
		return t_result();
	}
	if (!t_is_root())
		return t_skip("CAP_SYS_ADMIN or CAP_SYS_NICE is effective and cannot be dropped");
	/* Root: become nobody in a child, which clears every capability. */
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY) || has_rt_cap()) {
			t_diag("could not drop privileges: %s", strerror(errno));
			_exit(2);
		}
		check_rt_refused();
		_exit(t_result() == T_PASS ? 0 : 1);
	}
	if (T_EQ(waitpid(pid, &status, 0), pid)) {
		T_TRUE(WIFEXITED(status));
		T_EQ(WEXITSTATUS(status), 0);
	}
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "BE, IDLE and NONE priorities are accepted", test_valid },
		{ "an unknown class or a NONE level fails io_submit with EINVAL", test_invalid },
		{ "aio_reqprio is ignored without IOCB_FLAG_IOPRIO and for FSYNC", test_flag_unset },
		{ "IOPRIO_CLASS_RT is accepted with CAP_SYS_ADMIN or CAP_SYS_NICE",
		  test_rt_privileged },
		{ "IOPRIO_CLASS_RT fails io_submit with EPERM without privilege",
		  test_rt_unprivileged },
	};
	int ret;

	file_fd = t_pattern_file(65536, SEED, 0, NULL, 0);
	ret = T_RUN(cases);
	close(file_fd);
	return ret;
}
