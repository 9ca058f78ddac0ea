// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: each per-thread state that keeps a thread from handing off
 * (aio-syslet.rst, "What does not hand off") does, with a helper parked:
 * the read runs to its end in io_submit(), the syslet_unarmed event
 * names the state, and once the state is gone the same process hands
 * off again (the positive control).  The states: being a tracer, a
 * vfork() child that has not yet exec'd or exited, an io_uring task
 * context, syscall user dispatch, SCHED_DEADLINE, a pending uretprobe,
 * and on x86 an I/O permission bitmap and a user shadow stack (where the
 * CPU has one: the sub-test says whether it ran).
 */
#include "syslet-helpers.h"

#include <linux/io_uring.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#ifdef __x86_64__
#include <cpuid.h>
#include <sys/io.h>
#endif

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW	0
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE			6
#endif

/*
 * A helper is parked, yet the read on @ctx runs synchronously, and the
 * syslet_unarmed event says "reason=@reason" for this process.
 */
static bool refused(aio_context_t ctx, const char *reason)
{
	struct sh_trace unarmed;
	char match[64];
	bool ok;

	ok = T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	sh_trace_start(&unarmed, "syslet_unarmed");
	ok &= T_TRUE(sh_read_runs(ctx, false));
	snprintf(match, sizeof(match), "reason=%s", reason);
	if (!T_TRUE(sh_trace_count(&unarmed, match) >= 1))
		t_diag("no syslet_unarmed event with %s", match);
	sh_trace_stop(&unarmed);
	return ok;
}

/* The positive control: with a helper parked, the read hands off. */
static bool hands_off(aio_context_t ctx)
{
	return T_TRUE(sh_wait_parked(1, SH_PARK_MS)) && T_TRUE(sh_read_runs(ctx, true));
}

/* A tracer (PTRACE_SEIZE of a child) does not hand off until its tracee is gone. */
static enum t_result tracer_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int st = 0;
	pid_t pid;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	pid = t_fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0)) {
		t_kill_child(pid);
		return t_skip("PTRACE_SEIZE of our own child: %s", strerror(errno));
	}
	refused(ctx, "ptrace");
	/* The tracee reaped, this thread traces nothing. */
	T_EQ(kill(pid, SIGKILL), 0);
	T_EQ(waitpid(pid, &st, 0), pid);
	T_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	hands_off(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_tracer(void)
{
	if (!t_is_root())
		return t_skip("the trace events need root");
	return sh_in_child(tracer_child);
}

/*
 * A vfork() child, until it execs or exits, runs on its parent's memory
 * while its parent waits for the completion that task holds: it never
 * hands off (reason=ptrace, the same check).  The child uses raw system
 * calls and its own locals only, and says how it went by its exit
 * status; a thread of the parent writes the pipes it reads.  With a
 * second read after an io_submit() that would make a helper, a child
 * that could arm would hand that read off.
 */
#define VFORK_A_MS	400
#define VFORK_B_MS	1400

static int vfork_pipe[2][2];
static uint64_t vfork_start_us;

static void *vfork_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2; i++) {
		uint64_t at = vfork_start_us + (i ? VFORK_B_MS : VFORK_A_MS) * 1000ULL, now;

		while ((now = t_now_us()) < at)
			usleep((useconds_t)(at - now));
		if (write(vfork_pipe[i][1], "v", 1) != 1)
			t_bail("write to a pipe: %s", strerror(errno));
	}
	return NULL;
}

static enum t_result vfork_child(void)
{
	static struct iocb cb[2];
	static char byte[2];
	struct io_event ev[2];
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_trace unarmed, handoffs;
	bool seen[2] = { false, false };
	pthread_t writer;
	int st = 0;
	pid_t pid;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (int i = 0; i < 2; i++) {
		if (pipe2(vfork_pipe[i], O_CLOEXEC))
			t_bail("pipe: %s", strerror(errno));
		t_prep_pread(&cb[i], vfork_pipe[i][0], &byte[i], 1, 0);
		cb[i].aio_data = 0xf0c0 + (uint64_t)i;
	}
	sh_trace_start(&unarmed, "syslet_unarmed");
	sh_trace_start(&handoffs, "syslet_handoff");
	vfork_start_us = t_now_us();
	if (pthread_create(&writer, NULL, vfork_writer, NULL))
		t_bail("pthread_create");
	pid = vfork();
	if (pid == 0) {
		struct iocb *one[1] = { &cb[0] };

		/* Read A: synchronous until the writer's byte, 400 ms on. */
		if (sys_io_submit(ctx, 1, one) != 1)
			_exit(1);
		if (t_now_us() - vfork_start_us < (VFORK_A_MS - 50) * 1000ULL)
			_exit(2);
		/* Where arming worked, this would make a helper; it parks. */
		if (sys_io_submit(ctx, 0, one) != 0)
			_exit(3);
		usleep(300 * 1000);
		/* Read B: synchronous too, until 1400 ms. */
		one[0] = &cb[1];
		if (sys_io_submit(ctx, 1, one) != 1)
			_exit(4);
		if (t_now_us() - vfork_start_us < (VFORK_B_MS - 50) * 1000ULL)
			_exit(5);
		_exit(0);
	}
	if (pid < 0)
		t_bail("vfork: %s", strerror(errno));
	T_EQ(waitpid(pid, &st, 0), pid);
	if (!T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		t_diag("the vfork child: status 0x%x (exit 2 or 5: a read returned before its "
		       "byte was written, handed off)", st);
	pthread_join(writer, NULL);
	/* Both reads ended, each once, with its byte. */
	T_EQ(t_reap(ctx, ev, 2, 5000), 2);
	for (int e = 0; e < 2; e++) {
		uint64_t i = ev[e].data - 0xf0c0;

		if (!T_TRUE(i < 2 && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(ev[e].res, 1);
		T_EQ(byte[i], 'v');
	}
	T_NO_EVENT(ctx, 100);
	T_TRUE(sh_trace_count_tgid(&unarmed, pid, "reason=ptrace") >= 2);
	T_EQ(sh_trace_count_tgid(&handoffs, pid, NULL), 0);
	sh_trace_stop(&handoffs);
	sh_trace_stop(&unarmed);
	for (int i = 0; i < 2; i++) {
		close(vfork_pipe[i][0]);
		close(vfork_pipe[i][1]);
	}
	/* The parent, no vfork child, hands off. */
	hands_off(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_vfork(void)
{
	if (!t_is_root())
		return t_skip("the trace events need root");
	return sh_in_child(vfork_child);
}

/*
 * io_uring_setup() gives the thread an io_uring task context, which stays
 * until the thread exits: the thread reads synchronously from then on,
 * even with the ring closed; a thread made afterwards hands off.
 */
static aio_context_t uring_ctx;

static enum t_result uring_other_thread(void)
{
	hands_off(uring_ctx);
	return t_result();
}

static enum t_result uring_child(void)
{
	struct io_uring_params p;
	struct iocb *none = NULL;
	int fd;

	uring_ctx = t_setup_ctx(8);
	if (!sh_warm_up(uring_ctx))
		return T_FAIL;
	memset(&p, 0, sizeof(p));
	fd = syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0) {
		T_EQ(sys_io_destroy(uring_ctx), 0);
		return t_skip("io_uring_setup: %s (io_uring off here)", strerror(errno));
	}
	refused(uring_ctx, "io_uring");
	close(fd);
	refused(uring_ctx, "io_uring");
	/* Another thread of the process has no io_uring context. */
	T_EQ(sys_io_submit(uring_ctx, 0, &none), 0);
	T_EQ(sh_in_thread(uring_other_thread), T_PASS);
	T_EQ(sys_io_destroy(uring_ctx), 0);
	return t_result();
}

static enum t_result test_io_uring(void)
{
	if (!t_is_root())
		return t_skip("the trace events need root");
	return sh_in_child(uring_child);
}

/*
 * Syscall user dispatch (here letting every system call through): the
 * thread reads synchronously while it is on, and hands off once it is off.
 */
static enum t_result dispatch_child(void)
{
	static volatile char selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	aio_context_t ctx = t_setup_ctx(8);

	if (!sh_warm_up(ctx))
		return T_FAIL;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &selector)) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("PR_SET_SYSCALL_USER_DISPATCH: %s", strerror(errno));
	}
	refused(ctx, "syscall_user_dispatch");
	T_EQ(prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0), 0);
	hands_off(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_dispatch(void)
{
	if (!t_is_root())
		return t_skip("the trace events need root");
	return sh_in_child(dispatch_child);
}

struct dl_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

static int set_policy(uint32_t policy)
{
	struct dl_attr a = { .size = sizeof(a), .sched_policy = policy };

	if (policy == SCHED_DEADLINE) {
		a.sched_runtime = 10 * 1000 * 1000;
		a.sched_deadline = a.sched_period = 100 * 1000 * 1000;
	}
	return syscall(SYS_sched_setattr, 0, &a, 0) ? -errno : 0;
}

/*
 * A SCHED_DEADLINE thread does not hand off; back to SCHED_OTHER, it
 * does.  A deadline task cannot create threads, so the read's rescuer
 * starts before the policy changes, and the trace instance too.
 */
static enum t_result deadline_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_trace unarmed;
	struct sh_block b;
	long ret;
	int err;

	if (!sh_warm_up(ctx) || !T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return T_FAIL;
	sh_trace_start(&unarmed, "syslet_unarmed");
	sh_block_start(&b, ctx, SH_READ_DATA, SH_SYNC_MS);
	err = set_policy(SCHED_DEADLINE);
	if (err) {
		sh_block_stop_rescuer(&b);
		sh_block_finish(&b);
		sh_trace_stop(&unarmed);
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("sched_setattr(SCHED_DEADLINE): %s", strerror(-err));
	}
	T_EQ(sched_getscheduler(0), SCHED_DEADLINE);
	ret = sh_block_submit(&b);
	T_EQ(set_policy(SCHED_OTHER), 0);
	T_TRUE(sh_expect_sync(&b, ret));
	T_TRUE(sh_block_finish(&b));
	T_TRUE(sh_trace_count(&unarmed, "reason=deadline") >= 1);
	sh_trace_stop(&unarmed);
	hands_off(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_deadline(void)
{
	if (!t_is_root())
		return t_skip("SCHED_DEADLINE and the trace events need root");
	return sh_in_child(deadline_child);
}

/*
 * A return probe hijacks the return address of the function it probes,
 * on the user stack; what puts it back is the task's.  While the thread
 * is inside a function with a return probe, it reads synchronously;
 * after it returned (the probe fired) it hands off, probe or not.
 */
static bool __attribute__((noinline)) probed_read(aio_context_t ctx, bool handoff)
{
	bool ok = sh_read_runs(ctx, handoff);

	__asm__ __volatile__("" ::: "memory");
	return ok;
}

static enum t_result uretprobe_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	struct sh_trace unarmed;
	struct sh_uprobe u;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_uprobe_define(&u, (void *)probed_read, 'r');
	T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	sh_trace_start(&unarmed, "syslet_unarmed");
	T_TRUE(probed_read(ctx, false));
	T_EQ(sh_uprobe_hits(&u), 1);
	T_TRUE(sh_trace_count(&unarmed, "reason=uretprobe") >= 1);
	sh_trace_stop(&unarmed);
	/* Outside the probed function, the thread hands off. */
	hands_off(ctx);
	sh_uprobe_remove(&u);
	/* And inside it, once the probe is gone. */
	T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	T_TRUE(probed_read(ctx, true));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_uretprobe(void)
{
	const char *why = sh_uprobe_unavailable();

	if (why)
		return t_skip("%s", why);
	return sh_in_child(uretprobe_child);
}

#ifdef __x86_64__
/*
 * ioperm() gives the thread an I/O permission bitmap, which lives in the
 * task: it reads synchronously (reason=io_bitmap) and keeps its port;
 * with every port dropped the bitmap is freed and the thread hands off.
 */
static enum t_result ioperm_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);

	if (!sh_warm_up(ctx))
		return T_FAIL;
	if (ioperm(0x80, 1, 1)) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("ioperm(0x80): %s (a kernel without CONFIG_X86_IOPL_IOPERM)",
			      strerror(errno));
	}
	refused(ctx, "io_bitmap");
	/* Port 0x80 (POST codes, unused): still this thread's to write. */
	outb(0, 0x80);
	T_EQ(ioperm(0x80, 1, 0), 0);
	hands_off(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_ioperm(void)
{
	if (!t_is_root())
		return t_skip("ioperm() and the trace events need root");
	return sh_in_child(ioperm_child);
}

#define ARCH_SHSTK_ENABLE	0x5001
#define ARCH_SHSTK_DISABLE	0x5002
#define ARCH_SHSTK_STATUS	0x5005
#define ARCH_SHSTK_SHSTK	(1UL << 0)

/*
 * arch_prctl() without a call, as the kernel's test_shadow_stack.c does:
 * once the shadow stack is on, a return to a frame entered before (the
 * libc wrapper's, or this function's caller's) faults.
 */
#define SHSTK_PRCTL(option, arg)						\
({										\
	register long _a1 __asm__("rdi") = (long)(option);			\
	register long _a2 __asm__("rsi") = (long)(arg);			\
	long _ret;								\
										\
	__asm__ __volatile__("syscall"						\
			     : "=a"(_ret)					\
			     : "0"((long)SYS_arch_prctl), "r"(_a1), "r"(_a2)	\
			     : "rcx", "r11", "memory", "cc");			\
	_ret;									\
})

/* The shadow stack pointer; 0 with no shadow stack (rdssp is a NOP then). */
static inline __attribute__((always_inline)) unsigned long read_ssp(void)
{
	unsigned long ssp = 0;

	__asm__ __volatile__("rdsspq %0" : "+r"(ssp));
	return ssp;
}

static bool cpu_has_user_shstk(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1U << 7));	/* CET_SS */
}

/*
 * A thread with a user shadow stack reads synchronously
 * (reason=shadow_stack: no helper carries its SSP and token state), and
 * comes back on the same shadow stack; with it disabled, it hands off.
 * No return may leave this function between the enable and the disable.
 */
static enum t_result shstk_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	unsigned long features = 0, ssp;
	long err;

	if (!sh_warm_up(ctx))
		return T_FAIL;
	err = SHSTK_PRCTL(ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK);
	if (err) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("the CPU has CET shadow stacks, but arch_prctl(ARCH_SHSTK_ENABLE): %s "
			      "(a kernel without CONFIG_X86_USER_SHADOW_STACK)", strerror((int)-err));
	}
	ssp = read_ssp();
	T_TRUE(ssp != 0);
	T_EQ(SHSTK_PRCTL(ARCH_SHSTK_STATUS, &features), 0);
	T_EQ(features & ARCH_SHSTK_SHSTK, ARCH_SHSTK_SHSTK);
	refused(ctx, "shadow_stack");
	T_EQ(read_ssp(), ssp);
	T_EQ(SHSTK_PRCTL(ARCH_SHSTK_STATUS, &features), 0);
	T_EQ(features & ARCH_SHSTK_SHSTK, ARCH_SHSTK_SHSTK);
	err = SHSTK_PRCTL(ARCH_SHSTK_DISABLE, ARCH_SHSTK_SHSTK);
	if (err)
		t_bail("arch_prctl(ARCH_SHSTK_DISABLE): %s", strerror((int)-err));
	T_EQ(read_ssp(), 0);
	hands_off(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_shstk(void)
{
	if (!cpu_has_user_shstk())
		return t_skip_hardware("a CPU with CET shadow stacks (CPUID 7.0 ECX bit 7): "
				       "the shadow-stack refusal did not run");
	if (!t_is_root())
		return t_skip("the trace events need root");
	t_diag("the CPU has CET shadow stacks: the refusal runs");
	return sh_in_child(shstk_child);
}
#else
static enum t_result test_ioperm(void)
{
	return t_skip_hardware("x86: ioperm() is x86's");
}

static enum t_result test_shstk(void)
{
	return t_skip_hardware("x86-64: user shadow stacks are x86's here");
}
#endif

int main(void)
{
	static const struct t_case cases[] = {
		{ "a tracer reads synchronously (reason=ptrace); with its tracee reaped it hands off",
		  test_tracer },
		{ "a vfork() child reads synchronously (reason=ptrace), and makes no helper; its parent hands off",
		  test_vfork },
		{ "a thread with an io_uring context reads synchronously (reason=io_uring), even with the ring closed; another thread hands off",
		  test_io_uring },
		{ "syscall user dispatch on: synchronous (reason=syscall_user_dispatch); off: hands off",
		  test_dispatch },
		{ "SCHED_DEADLINE: synchronous (reason=deadline); SCHED_OTHER again: hands off",
		  test_deadline },
		{ "inside a function with a return probe: synchronous (reason=uretprobe); outside it, or with the probe gone: hands off",
		  test_uretprobe },
		{ "x86 ioperm(): synchronous (reason=io_bitmap), the port still ours; all ports dropped: hands off",
		  test_ioperm },
		{ "x86 user shadow stack: synchronous (reason=shadow_stack) on the same shadow stack; disabled: hands off",
		  test_shstk },
	};

	t_require_syslet();
	return T_RUN(cases);
}
