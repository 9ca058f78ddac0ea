// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_destroy() of an id that names no live context of the caller fails with EINVAL. */
#include "t.h"

#include <fcntl.h>
#include <unistd.h>

/* The context still runs I/O: a read of a pattern file completes with the data. */
static void check_alive(aio_context_t ctx)
{
	int fd = t_pattern_file(4096, 40, 0, NULL, 0);
	struct io_event ev;
	struct iocb cb;
	char buf[512];

	t_prep_pread(&cb, fd, buf, sizeof(buf), 1024);
	t_submit1(ctx, &cb);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.res, sizeof(buf));
		t_verify_pattern(buf, sizeof(buf), 40, 1024);
	}
	close(fd);
}

static enum t_result test_zero(void)
{
	T_ERRNO(sys_io_destroy(0), EINVAL);
	return t_result();
}

static enum t_result test_garbage(void)
{
	aio_context_t ctx = t_setup_ctx(1), bad[T_NR_BAD_CTX_IDS];

	t_bad_ctx_ids(bad);
	for (int i = 0; i < T_NR_BAD_CTX_IDS; i++)
		if (!T_ERRNO(sys_io_destroy(bad[i]), EINVAL))
			t_diag("id 0x%lx", (unsigned long)bad[i]);
	t_bad_ctx_ids_free(bad);
	check_alive(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_inside_ring(void)
{
	aio_context_t ctx = t_setup_ctx(1);

	/* Addresses inside the live context's ring are not its id. */
	T_ERRNO(sys_io_destroy(ctx + 8), EINVAL);
	T_ERRNO(sys_io_destroy(ctx + 4096), EINVAL);
	T_ERRNO(sys_io_destroy(ctx - 4096), EINVAL);
	check_alive(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_destroyed(void)
{
	aio_context_t ctx = t_setup_ctx(1);

	T_EQ(sys_io_destroy(ctx), 0);
	T_ERRNO(sys_io_destroy(ctx), EINVAL);
	T_ERRNO(sys_io_destroy(ctx), EINVAL);
	return t_result();
}

/* 0: io_destroy() of the parent's context @arg fails with EINVAL; 1: succeeds; 2: other errno. */
static int destroy_in_child(void *arg)
{
	/* The child's mm has no contexts, though the ring is mapped there too. */
	if (sys_io_destroy(*(aio_context_t *)arg) != -1)
		return 1;
	return errno == EINVAL ? 0 : 2;
}

static enum t_result test_forked_child(void)
{
	aio_context_t ctx = t_setup_ctx(1);

	T_EQ(t_in_child(destroy_in_child, &ctx), 0);
	check_alive(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_destroy(0) fails with EINVAL", test_zero },
		{ "io_destroy of garbage ids fails with EINVAL", test_garbage },
		{ "io_destroy of addresses inside a live ring fails with EINVAL",
		  test_inside_ring },
		{ "io_destroy of a destroyed context fails with EINVAL", test_destroyed },
		{ "io_destroy in a forked child of the parent's context fails with EINVAL",
		  test_forked_child },
	};

	return T_RUN(cases);
}
