// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: a handoff keeps errno, TLS, FS/GS bases and selectors, pthread_self() and PKRU. */
#include "syslet-helpers.h"

#include <asm/prctl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE		(1 << 1)
#endif

static __thread uint64_t tls_word;
static char gs_target[64];

struct segs {
	unsigned long fsbase, gsbase;
	uint16_t cs, ds, es, fs, gs, ss;
};

static void read_segs(struct segs *s)
{
	if (syscall(SYS_arch_prctl, ARCH_GET_FS, &s->fsbase) ||
	    syscall(SYS_arch_prctl, ARCH_GET_GS, &s->gsbase))
		t_bail("arch_prctl: %s", strerror(errno));
	asm volatile("mov %%cs, %0" : "=r"(s->cs));
	asm volatile("mov %%ds, %0" : "=r"(s->ds));
	asm volatile("mov %%es, %0" : "=r"(s->es));
	asm volatile("mov %%fs, %0" : "=r"(s->fs));
	asm volatile("mov %%gs, %0" : "=r"(s->gs));
	asm volatile("mov %%ss, %0" : "=r"(s->ss));
}

static enum t_result test_tls(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	bool fsgsbase = getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE;
	uint64_t pattern = 0x715c0de000000000ULL ^ (uint64_t)sh_gettid();
	unsigned long gs_base = (uintptr_t)gs_target + (uintptr_t)sh_gettid() % 32;
	struct segs before, after;
	pthread_t self = pthread_self();
	uint64_t *tls_addr = &tls_word;
	int *errno_addr = &errno;
	struct sh_block b;
	long ret;

	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	/* glibc leaves GS alone on x86-64: a base of our own makes its check count. */
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, gs_base))
		t_bail("arch_prctl(ARCH_SET_GS): %s", strerror(errno));
	tls_word = pattern;
	read_segs(&before);
	T_EQ(before.gsbase, gs_base);

	sh_block_start(&b, ctx, 0x7150 + (uint64_t)sh_gettid(), SH_HANDOFF_MS);
	/* syscall() leaves errno alone on success. */
	errno = 4242;
	ret = sh_block_submit(&b);
	T_EQ(errno, 4242);
	T_TRUE(&errno == errno_addr);
	sh_expect_handoff(&b, ret);

	T_EQ(tls_word, pattern);
	T_TRUE(&tls_word == tls_addr);
	T_TRUE(pthread_equal(pthread_self(), self));
	read_segs(&after);
	T_EQ(after.fsbase, before.fsbase);
	T_EQ(after.gsbase, gs_base);
	if (fsgsbase) {
		unsigned long fs, gs;

		asm volatile("rdfsbase %0" : "=r"(fs));
		asm volatile("rdgsbase %0" : "=r"(gs));
		T_EQ(fs, before.fsbase);
		T_EQ(gs, gs_base);
	}
	T_EQ(after.cs, before.cs);
	T_EQ(after.ds, before.ds);
	T_EQ(after.es, before.es);
	T_EQ(after.fs, before.fs);
	T_EQ(after.gs, before.gs);
	T_EQ(after.ss, before.ss);
	sh_block_finish(&b);

	if (syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL))
		t_bail("arch_prctl(ARCH_SET_GS): %s", strerror(errno));
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

/* The 64-bit user data selector (GDT_ENTRY_DEFAULT_USER_DS, RPL 3). */
#define USER_DS_SELECTOR	0x2b

/*
 * ES and DS loaded with a selector just before io_submit(): Linux keeps
 * them 0 and saves them only at a context switch, so a handoff must save
 * them at its block point.
 */
static enum t_result test_es_ds(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	uint16_t sel = USER_DS_SELECTOR, zero = 0;
	struct segs after;
	struct sh_block b;
	long ret;

	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_block_start(&b, ctx, 0x45440000 + (uint64_t)sh_gettid(), SH_HANDOFF_MS);
	asm volatile("mov %0, %%es\n\tmov %0, %%ds" : : "r"(sel) : "memory");
	ret = sh_block_submit(&b);
	read_segs(&after);
	asm volatile("mov %0, %%es\n\tmov %0, %%ds" : : "r"(zero) : "memory");
	sh_expect_handoff(&b, ret);
	T_EQ(after.es, USER_DS_SELECTOR);
	T_EQ(after.ds, USER_DS_SELECTOR);
	sh_block_finish(&b);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_es_ds_thread(void)
{
	return sh_in_thread(test_es_ds);
}

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;

	asm volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static enum t_result test_pkru(void)
{
	aio_context_t ctx;
	int no_access, no_write;
	uint32_t before, after;
	struct sh_block b;

	no_access = pkey_alloc(0, 0);
	if (no_access < 0)
		return t_skip("pkey_alloc: %s: no protection keys", strerror(errno));
	no_write = pkey_alloc(0, 0);
	if (no_write < 0)
		t_bail("second pkey_alloc: %s", strerror(errno));
	ctx = t_setup_ctx(8);
	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	/* Keys no page uses: PKRU changes, the memory we touch does not. */
	if (pkey_set(no_access, PKEY_DISABLE_ACCESS) || pkey_set(no_write, PKEY_DISABLE_WRITE))
		t_bail("pkey_set: %s", strerror(errno));
	before = rdpkru();
	T_EQ((before >> (2 * no_access)) & 3, 1);
	T_EQ((before >> (2 * no_write)) & 3, 2);

	if (sh_handoff(&b, ctx, 0x9c1)) {
		after = rdpkru();
		T_EQ(after, before);
		T_EQ(pkey_get(no_access), PKEY_DISABLE_ACCESS);
		T_EQ(pkey_get(no_write), PKEY_DISABLE_WRITE);
	}
	sh_block_finish(&b);

	pkey_set(no_access, 0);
	pkey_set(no_write, 0);
	T_EQ(rdpkru() & (3u << (2 * no_access) | 3u << (2 * no_write)), 0);
	pkey_free(no_access);
	pkey_free(no_write);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_tls_thread(void)
{
	return sh_in_thread(test_tls);
}

static enum t_result test_pkru_thread(void)
{
	return sh_in_thread(test_pkru);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: errno, __thread data, FS/GS bases and selectors, pthread_self() kept",
		  test_tls },
		{ "thread: errno, __thread data, FS/GS bases and selectors, pthread_self() kept",
		  test_tls_thread },
		{ "leader: ES and DS loaded just before io_submit() kept", test_es_ds },
		{ "thread: ES and DS loaded just before io_submit() kept", test_es_ds_thread },
		{ "leader: PKRU with access- and write-disabled keys kept", test_pkru },
		{ "thread: PKRU with access- and write-disabled keys kept", test_pkru_thread },
	};

	t_require_syslet();
	return T_RUN(cases);
}
