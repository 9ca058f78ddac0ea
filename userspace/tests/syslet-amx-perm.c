// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: the process's AMX permissions (ARCH_REQ_XCOMP_PERM, kept in
 * the thread-group leader) survive a handoff from the leader, and a stale
 * alternate signal stack left behind does not fail a later request.
 *
 * AMX libraries ask for the permission at start and use the tiles later;
 * a helper taking the leader's user context over must take the permission
 * along, or the first tile instruction gets SIGILL.  Needs a CPU with AMX
 * (skips, saying so, elsewhere: QEMU's TCG has none).
 */
#include "syslet-helpers.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/auxv.h>

#ifndef __x86_64__
int main(void)
{
	t_skip_all(T_SKIP_HARDWARE "AMX is x86-64 only");
}
#else

#define ARCH_GET_XCOMP_PERM		0x1022
#define ARCH_REQ_XCOMP_PERM		0x1023
#define ARCH_GET_XCOMP_GUEST_PERM	0x1024
#define ARCH_REQ_XCOMP_GUEST_PERM	0x1025
#define XFEATURE_XTILECFG		17
#define XFEATURE_XTILEDATA		18
#define XTILE_MASK	((1ULL << XFEATURE_XTILECFG) | (1ULL << XFEATURE_XTILEDATA))

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ	51
#endif

static sigjmp_buf on_sigill;

static void sigill(int sig)
{
	(void)sig;
	siglongjmp(on_sigill, 1);
}

static long arch_prctl(int op, unsigned long arg)
{
	return syscall(SYS_arch_prctl, op, arg);
}

/* Whether the CPU and kernel offer AMX; a reason to skip when not. */
static const char *no_amx(void)
{
	static char why[128];
	uint64_t perm = 0;

	if (arch_prctl(ARCH_GET_XCOMP_PERM, (unsigned long)&perm)) {
		snprintf(why, sizeof(why), "ARCH_GET_XCOMP_PERM: %s", strerror(errno));
		return why;
	}
	if (!(perm & (1ULL << XFEATURE_XTILECFG)))
		return "no AMX on this CPU (no XTILECFG among the permitted xstate features)";
	return NULL;
}

/* ldtilecfg, tilezero %tmm0, tilerelease: false if it raised SIGILL. */
static bool use_tiles(void)
{
	static uint8_t cfg[64] __attribute__((aligned(64)));
	struct sigaction sa = { .sa_handler = sigill }, old;
	bool ok = true;

	memset(cfg, 0, sizeof(cfg));
	cfg[0] = 1;			/* palette 1 */
	cfg[16] = 64;			/* tmm0: 64 bytes a row... */
	cfg[48] = 16;			/* ...16 rows */
	sigaction(SIGILL, &sa, &old);
	if (sigsetjmp(on_sigill, 1)) {
		ok = false;
	} else {
		asm volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0x00" :: "a"(cfg) : "memory");
		asm volatile(".byte 0xc4, 0xe2, 0x7b, 0x49, 0xc0" ::: "memory");
		asm volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0xc0" ::: "memory");
	}
	sigaction(SIGILL, &old, NULL);
	return ok;
}

static bool hand_off_once(aio_context_t ctx)
{
	struct sh_block b;
	bool ok = sh_warm_up(ctx);

	ok &= sh_handoff(&b, ctx, SH_READ_DATA);
	ok &= sh_block_finish(&b);
	return ok;
}

static enum t_result perm_kept(void)
{
	const char *why = no_amx();
	aio_context_t ctx;
	uint64_t perm = 0, guest = 0;
	long ret;

	if (why)
		return t_skip_hardware("%s", why);
	T_EQ(arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), 0);
	ret = arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA);
	if (ret)
		t_diag("ARCH_REQ_XCOMP_GUEST_PERM: %s: the guest permission is not checked",
		       strerror(errno));
	ctx = t_setup_ctx(16);
	T_TRUE(hand_off_once(ctx));
	T_EQ(arch_prctl(ARCH_GET_XCOMP_PERM, (unsigned long)&perm), 0);
	T_EQ(perm & XTILE_MASK, XTILE_MASK);
	if (!ret) {
		T_EQ(arch_prctl(ARCH_GET_XCOMP_GUEST_PERM, (unsigned long)&guest), 0);
		T_EQ(guest & XTILE_MASK, XTILE_MASK);
	}
	if (!T_TRUE(use_tiles()))
		t_diag("the first tile instruction after the handoff raised SIGILL");
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/* Checked here too: the parent reports a child's skip as a plain one. */
static enum t_result in_child_with_amx(enum t_result (*fn)(void))
{
	const char *why = no_amx();

	if (why)
		return t_skip_hardware("%s", why);
	return sh_in_child(fn);
}

static enum t_result test_leader(void)
{
	return in_child_with_amx(perm_kept);
}

static enum t_result perm_kept_thread(void)
{
	return sh_in_thread(perm_kept);
}

/* The control: a thread that does not lead the group moves no permission. */
static enum t_result test_thread(void)
{
	return in_child_with_amx(perm_kept_thread);
}

/*
 * An altstack big enough without AMX but not with it, replaced by a big
 * one after a handoff: the request checks every thread's altstack, and
 * the former head, a parked helper now, must not keep the small one.
 */
static enum t_result stale_altstack(void)
{
	const char *why = no_amx();
	size_t min = getauxval(AT_MINSIGSTKSZ), small, big = 1 << 20;
	stack_t ss = { 0 };
	aio_context_t ctx;

	if (why)
		return t_skip_hardware("%s", why);
	if (!min)
		return t_skip("no AT_MINSIGSTKSZ in the auxiliary vector");
	/*
	 * AT_MINSIGSTKSZ is the frame with every feature, AMX's 8 KiB of
	 * tile data included: 4 KiB less is enough without AMX only.
	 */
	small = min - 4096;
	ss.ss_sp = malloc(big);
	if (!ss.ss_sp)
		t_bail("malloc: %s", strerror(errno));
	ss.ss_size = small;
	T_EQ(sigaltstack(&ss, NULL), 0);
	ctx = t_setup_ctx(16);
	T_TRUE(hand_off_once(ctx));
	ss.ss_size = big;
	T_EQ(sigaltstack(&ss, NULL), 0);
	T_EQ(arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_altstack(void)
{
	return in_child_with_amx(stale_altstack);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: AMX permission and tiles after a handoff", test_leader },
		{ "thread: the same in a thread that does not lead the group", test_thread },
		{ "leader: a replaced small altstack does not fail a later request", test_altstack },
	};

	t_require_syslet();
	return T_RUN(cases);
}
#endif
