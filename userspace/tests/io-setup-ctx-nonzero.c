// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_setup() fails with EINVAL when *ctxp is not 0, and leaves *ctxp alone. */
#include "t.h"

#include <fcntl.h>
#include <unistd.h>

static enum t_result test_garbage(void)
{
	static const aio_context_t values[] = { 1, 0xdeadbeef, ~0UL, 1UL << 63 };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		aio_context_t ctx = values[i];

		T_ERRNO(sys_io_setup(1, &ctx), EINVAL);
		T_EQ(ctx, values[i]);
	}
	return t_result();
}

static enum t_result test_garbage_zero_events(void)
{
	aio_context_t ctx = 0xdeadbeef;

	/* Both arguments are wrong: still EINVAL, nothing written. */
	T_ERRNO(sys_io_setup(0, &ctx), EINVAL);
	T_EQ(ctx, 0xdeadbeef);
	return t_result();
}

static enum t_result test_live_context(void)
{
	aio_context_t live = t_setup_ctx(4);
	aio_context_t ctx = live;
	struct io_event ev;
	struct iocb cb;
	char buf[512];
	int fd = t_pattern_file(4096, 21, 0, NULL, 0);

	/* Handing io_setup() a live context id does not replace or hurt it. */
	T_ERRNO(sys_io_setup(4, &ctx), EINVAL);
	T_EQ(ctx, live);

	t_prep_pread(&cb, fd, buf, sizeof(buf), 512);
	t_submit1(live, &cb);
	if (T_EQ(t_reap(live, &ev, 1, 10000), 1)) {
		T_EQ(ev.res, sizeof(buf));
		t_verify_pattern(buf, sizeof(buf), 21, 512);
	}
	T_EQ(sys_io_destroy(live), 0);
	close(fd);
	return t_result();
}

static enum t_result test_destroyed_context(void)
{
	aio_context_t dead = t_setup_ctx(1);
	aio_context_t ctx = dead;

	/* A stale id is just as non-zero: the caller must reset it. */
	T_EQ(sys_io_destroy(dead), 0);
	T_ERRNO(sys_io_setup(1, &ctx), EINVAL);
	T_EQ(ctx, dead);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "garbage *ctxp fails with EINVAL and stays", test_garbage },
		{ "garbage *ctxp with nr_events 0 fails with EINVAL", test_garbage_zero_events },
		{ "a live context id in *ctxp fails with EINVAL, the context works on",
		  test_live_context },
		{ "a destroyed context id in *ctxp fails with EINVAL", test_destroyed_context },
	};

	return T_RUN(cases);
}
