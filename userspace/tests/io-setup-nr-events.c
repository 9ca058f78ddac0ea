// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_setup() rejects nr_events 0, negative and above fs.aio-max-nr. */
#include "t.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

static enum t_result test_zero(void)
{
	aio_context_t ctx = 0;

	T_ERRNO(sys_io_setup(0, &ctx), EINVAL);
	T_EQ(ctx, 0);
	return t_result();
}

static enum t_result test_negative(void)
{
	aio_context_t ctx = 0;

	/* The syscall takes an unsigned: -1 is 4G events, past the ring limit. */
	T_ERRNO(sys_io_setup((unsigned int)-1, &ctx), EINVAL);
	T_ERRNO(sys_io_setup((unsigned int)-2, &ctx), EINVAL);
	/*
	 * INT_MIN doubles to 0 in ioctx_alloc()'s unsigned arithmetic and so
	 * lands on the "!nr_events" EAGAIN check: stock behaviour, kept.
	 */
	T_ERRNO(sys_io_setup((unsigned int)INT32_MIN, &ctx), EAGAIN);
	T_EQ(ctx, 0);
	return t_result();
}

static enum t_result test_above_max_nr(void)
{
	aio_context_t ctx = 0;
	long long max;
	int lock;

	/* io-setup-aio-nr lowers the limit for a moment under this lock. */
	lock = open("/proc/sys/fs/aio-max-nr", O_RDONLY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_SH))
		t_bail("lock /proc/sys/fs/aio-max-nr: %s", strerror(errno));
	max = t_read_sysctl("/proc/sys/fs/aio-max-nr");
	/* Beyond the ring's size limit the error is EINVAL, not EAGAIN. */
	if (max + 1 > 0x10000000LL / 32 / 2) {
		close(lock);
		return t_skip("fs.aio-max-nr is %lld, too large to exceed with a valid ring", max);
	}
	T_ERRNO(sys_io_setup((unsigned int)(max + 1), &ctx), EAGAIN);
	T_EQ(ctx, 0);
	close(lock);
	return t_result();
}

static enum t_result test_one(void)
{
	aio_context_t ctx = 0;

	if (!T_EQ(sys_io_setup(1, &ctx), 0))
		return T_FAIL;
	T_TRUE(ctx != 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "nr_events 0 fails with EINVAL", test_zero },
		{ "negative nr_events fails with EINVAL", test_negative },
		{ "nr_events above fs.aio-max-nr fails with EAGAIN", test_above_max_nr },
		{ "nr_events 1 gives a context", test_one },
	};

	return T_RUN(cases);
}
