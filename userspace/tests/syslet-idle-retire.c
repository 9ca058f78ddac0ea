// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: parked syslet helpers exit after the 10 s idle timeout, and their places in the pool are free again. */
#include "t.h"
#include "syslet-helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

/* kernel/syslet.c: SYSLET_IDLE_TIMEOUT. */
#define IDLE_TIMEOUT_S	10
/* Long past the timeout, even for a slow emulated machine. */
#define RETIRE_LIMIT_S	40

/*
 * Leaves helpers parked (a warm-up, then a handoff whose former caller
 * parks too), touches nothing AIO for the idle timeout, and checks that
 * they stay until it passed and are gone soon after: this thread alone.
 */
static bool helpers_retire(aio_context_t ctx)
{
	long long parked_at, gone_at;
	struct sh_block b;
	int tasks, parked;
	bool ok = true;

	if (!sh_warm_up(ctx))
		return false;
	ok &= sh_handoff(&b, ctx, 1);
	ok &= sh_block_finish(&b);
	if (!ok)
		return false;
	/* The former caller parks once its event is posted: wait for it. */
	parked_at = t_now_us() + 5000000;
	while ((tasks = sh_count_tasks()) != (parked = sh_parked_helpers()) + 1 &&
	       t_now_us() < parked_at)
		usleep(2000);
	/* Every helper parked before this: the timeout runs from no later. */
	parked_at = t_now_us();
	t_diag("%d task(s), %d parked helper(s) after the handoff", tasks, parked);
	if (!T_TRUE(parked >= 1) || !T_EQ(tasks, parked + 1))
		return false;

	/* Well inside the timeout: nobody left yet. */
	sleep(IDLE_TIMEOUT_S / 2);
	ok &= T_EQ(sh_count_tasks(), tasks);
	ok &= T_EQ(sh_parked_helpers(), parked);

	while (sh_count_tasks() > 1 && t_now_us() - parked_at < RETIRE_LIMIT_S * 1000000LL)
		usleep(20000);
	gone_at = t_now_us();
	ok &= T_EQ(sh_count_tasks(), 1);
	ok &= T_EQ(sh_parked_helpers(), 0);
	t_diag("helpers gone %lld ms after parking", (gone_at - parked_at) / 1000);
	/* schedule_timeout() may end a jiffy early; a second of slack covers it. */
	ok &= T_TRUE(gone_at - parked_at >= (IDLE_TIMEOUT_S - 1) * 1000000LL);
	return ok;
}

static enum t_result test_retire(void)
{
	aio_context_t ctx = t_setup_ctx(16);

	helpers_retire(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/*
 * With a bound of one helper, a retired helper's place must be free: the
 * pool makes a new one and the next block hands off again.
 */
static enum t_result bounded_child(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct sh_block b;

	if (helpers_retire(ctx) && sh_warm_up(ctx) && sh_handoff(&b, ctx, 2))
		sh_block_finish(&b);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_place_freed(void)
{
	return sh_in_child_max_threads(1, bounded_child);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "parked helpers stay for the idle timeout, then exit", test_retire },
		{ "fs.aio-syslet-max-threads 1: a retired helper's place is made again", test_place_freed },
	};

	t_require_syslet_exclusive();
	return T_RUN(cases);
}
