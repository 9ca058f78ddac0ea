// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() to an id naming no live context fails with EINVAL and runs nothing. */
#include "t.h"

#include <fcntl.h>
#include <unistd.h>

#define KEY_UNTOUCHED 0x5a5a5a5aU
#define SEED 70

struct victim {
	int fd;
	struct iocb cb;
	char buf[512];
};

/* A write over a pattern file: if it ran, the file shows it. */
static void victim_init(struct victim *v)
{
	v->fd = t_pattern_file(4096, SEED, 0, NULL, 0);
	memset(v->buf, 0xee, sizeof(v->buf));
	t_prep_pwrite(&v->cb, v->fd, v->buf, sizeof(v->buf), 1024);
	v->cb.aio_key = KEY_UNTOUCHED;
}

static void victim_check(struct victim *v)
{
	T_EQ(v->cb.aio_key, KEY_UNTOUCHED);
	t_check_pattern_file(v->fd, 4096, SEED);
	close(v->fd);
}

static void check_submit_einval(aio_context_t ctx)
{
	struct victim v;
	struct iocb *cbp;

	victim_init(&v);
	cbp = &v.cb;
	T_ERRNO(sys_io_submit(ctx, 1, &cbp), EINVAL);
	victim_check(&v);
}

static enum t_result test_zero(void)
{
	check_submit_einval(0);
	return t_result();
}

static enum t_result test_garbage(void)
{
	aio_context_t live = t_setup_ctx(1), bad[T_NR_BAD_CTX_IDS];

	t_bad_ctx_ids(bad);
	for (int i = 0; i < T_NR_BAD_CTX_IDS; i++)
		check_submit_einval(bad[i]);
	t_bad_ctx_ids_free(bad);
	check_submit_einval(live + 8);
	/* No event arrived in the live context from the bad submits. */
	T_NO_EVENT(live, 0);
	T_EQ(sys_io_destroy(live), 0);
	return t_result();
}

static enum t_result test_destroyed(void)
{
	aio_context_t ctx = t_setup_ctx(1);

	T_EQ(sys_io_destroy(ctx), 0);
	check_submit_einval(ctx);
	return t_result();
}

struct submit_arg {
	aio_context_t ctx;
	struct iocb *cb;
};

/* 0: io_submit() to the parent's context fails with EINVAL; 1: it succeeds; 2: another errno. */
static int submit_in_child(void *arg)
{
	struct submit_arg *a = arg;

	/* The parent's context is not the child's. */
	if (sys_io_submit(a->ctx, 1, &a->cb) != -1)
		return 1;
	return errno == EINVAL ? 0 : 2;
}

static enum t_result test_forked_child(void)
{
	struct submit_arg a = { .ctx = t_setup_ctx(1) };
	struct victim v;

	victim_init(&v);
	a.cb = &v.cb;
	T_EQ(t_in_child(submit_in_child, &a), 0);
	victim_check(&v);
	T_NO_EVENT(a.ctx, 0);
	T_EQ(sys_io_destroy(a.ctx), 0);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "io_submit to context 0 fails with EINVAL", test_zero },
		{ "io_submit to garbage ids fails with EINVAL", test_garbage },
		{ "io_submit to a destroyed context fails with EINVAL", test_destroyed },
		{ "io_submit in a forked child to the parent's context fails with EINVAL",
		  test_forked_child },
	};

	return T_RUN(cases);
}
