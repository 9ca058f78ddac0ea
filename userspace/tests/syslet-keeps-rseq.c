// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: the rseq registration follows a handoff: cpu_id right, also after a migration. */
#include "syslet-helpers.h"

#if defined(HAVE_SYS_RSEQ_H) && HAVE_DECL___RSEQ_OFFSET
#include <sched.h>
#include <sys/rseq.h>
#include <unistd.h>

/* The kernel's view: glibc's sched_getcpu() reads the rseq area itself. */
static int kernel_cpu(void)
{
	unsigned int cpu = 0;

	if (syscall(SYS_getcpu, &cpu, NULL, NULL))
		t_bail("getcpu: %s", strerror(errno));
	return (int)cpu;
}

static volatile struct rseq *rseq_area(void)
{
	return (volatile struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		t_bail("sched_setaffinity(%d): %s", cpu, strerror(errno));
}

/* The length glibc registered: rseq() on the same area says EBUSY for it alone. */
static int registered_len(volatile struct rseq *rs)
{
	static const int lens[] = { 32, 20 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (syscall(SYS_rseq, rs, lens[i], 0, RSEQ_SIG) == -1 && errno == EBUSY)
			return lens[i];
	return 0;
}

static enum t_result test_rseq(void)
{
	volatile struct rseq *rs = rseq_area();
	aio_context_t ctx;
	cpu_set_t allowed;
	int a, z, len;
	struct sh_block b;
	long ret;

	if (__rseq_size == 0)
		return t_skip("glibc did not register rseq (__rseq_size 0)");
	sh_allowed_cpus(&allowed, &a, &z);
	if (a == z)
		return t_skip("one CPU allowed: no migration to follow");
	len = registered_len(rs);
	if (!len)
		return t_skip("cannot tell the rseq length glibc registered");
	ctx = t_setup_ctx(8);
	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;

	pin(a);
	T_EQ(kernel_cpu(), a);
	T_EQ(rs->cpu_id, a);
	T_EQ(rs->cpu_id_start, a);
	if (sh_handoff(&b, ctx, 0x75e0)) {
		/* The affinity came along: still on @a, and the area says so. */
		T_EQ(kernel_cpu(), a);
		T_EQ(rs->cpu_id, a);
		T_EQ(rs->cpu_id_start, a);
		/* The registration came along: same area, length and signature. */
		ret = syscall(SYS_rseq, rs, len, 0, RSEQ_SIG);
		if (!T_ERRNO(ret, EBUSY) && ret == 0)
			t_diag("rseq() registered the area anew: the registration was lost");
		/* sched_setaffinity() migrates us before it returns; cpu_id follows. */
		pin(z);
		T_EQ(kernel_cpu(), z);
		T_EQ(rs->cpu_id, z);
		T_EQ(rs->cpu_id_start, z);
		pin(a);
		T_EQ(kernel_cpu(), a);
		T_EQ(rs->cpu_id, a);
	}
	sh_block_finish(&b);
	sched_setaffinity(0, sizeof(allowed), &allowed);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_rseq_thread(void)
{
	return sh_in_thread(test_rseq);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: rseq cpu_id right after a handoff and after a migration", test_rseq },
		{ "thread: rseq cpu_id right after a handoff and after a migration",
		  test_rseq_thread },
	};

	t_require_syslet();
	return T_RUN(cases);
}
#else
int main(void)
{
	t_require_syslet();
	t_skip_all("built without <sys/rseq.h> and __rseq_offset (glibc before 2.35)");
}
#endif
