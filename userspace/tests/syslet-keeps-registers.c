// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: a raw io_submit() that hands off returns with every user register intact. */
#include "syslet-helpers.h"

#include <stdlib.h>
#include <unistd.h>

/*
 * What the assembly below loads before the syscall and stores after it,
 * general registers in the order of this enum.  The offsets are fixed for
 * the assembly and checked at compile time.
 */
enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15, NGPR };

static const char *const gpr_name[NGPR] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* Vector state the assembly loads: xmm0-15, ymm0-15, or zmm0-31 and k0-7. */
enum { VEC_SSE, VEC_AVX, VEC_AVX512 };

struct frame {
	uint64_t ctx;			/* io_submit() arguments */
	uint64_t iocbpp;
	uint64_t level;			/* VEC_* */
	uint64_t ret_rip;		/* out: the instruction after syscall */
	uint64_t gpr_in[NGPR];		/* rsp: out, as it was at the syscall */
	uint64_t flags_in;		/* out: rflags at the syscall */
	uint64_t gpr_out[NGPR];
	uint64_t flags_out;
	uint32_t mxcsr_in, mxcsr_out;
	uint16_t fcw_in, fcw_out;
	uint32_t pad;
	unsigned char st0_in[16];	/* an x87 register: 10 bytes used */
	unsigned char st0_out[16];
	uint64_t k_in[8];
	uint64_t k_out[8];
	unsigned char vec_in[32][64];
	unsigned char vec_out[32][64];
};

#define F_CTX		0
#define F_IOCBPP	8
#define F_LEVEL		16
#define F_RET_RIP	24
#define F_GPR_IN	32
#define F_FLAGS_IN	160
#define F_GPR_OUT	168
#define F_MXCSR_IN	304
#define F_MXCSR_OUT	308
#define F_FCW_IN	312
#define F_FCW_OUT	314
#define F_ST0_IN	320
#define F_ST0_OUT	336
#define F_K_IN		352
#define F_K_OUT		416
#define F_VEC_IN	480
#define F_VEC_OUT	2528

_Static_assert(offsetof(struct frame, iocbpp) == F_IOCBPP, "frame layout");
_Static_assert(offsetof(struct frame, level) == F_LEVEL, "frame layout");
_Static_assert(offsetof(struct frame, ret_rip) == F_RET_RIP, "frame layout");
_Static_assert(offsetof(struct frame, gpr_in) == F_GPR_IN, "frame layout");
_Static_assert(offsetof(struct frame, flags_in) == F_FLAGS_IN, "frame layout");
_Static_assert(offsetof(struct frame, gpr_out) == F_GPR_OUT, "frame layout");
_Static_assert(offsetof(struct frame, flags_out) == F_GPR_OUT + 8 * NGPR, "frame layout");
_Static_assert(offsetof(struct frame, mxcsr_in) == F_MXCSR_IN, "frame layout");
_Static_assert(offsetof(struct frame, mxcsr_out) == F_MXCSR_OUT, "frame layout");
_Static_assert(offsetof(struct frame, fcw_in) == F_FCW_IN, "frame layout");
_Static_assert(offsetof(struct frame, fcw_out) == F_FCW_OUT, "frame layout");
_Static_assert(offsetof(struct frame, st0_in) == F_ST0_IN, "frame layout");
_Static_assert(offsetof(struct frame, st0_out) == F_ST0_OUT, "frame layout");
_Static_assert(offsetof(struct frame, k_in) == F_K_IN, "frame layout");
_Static_assert(offsetof(struct frame, k_out) == F_K_OUT, "frame layout");
_Static_assert(offsetof(struct frame, vec_in) == F_VEC_IN, "frame layout");
_Static_assert(offsetof(struct frame, vec_out) == F_VEC_OUT, "frame layout");
_Static_assert(__NR_io_submit == 209, "x86-64 io_submit");

#define S_(x) #x
#define S(x) S_(x)

/* rflags bits user space may set that the test holds across the call: AC and DF. */
#define FLAGS_SET	0x40400

/*
 * void raw_submit(struct frame *f): loads every register from f, sets
 * rflags.AC and DF, makes the io_submit() syscall and stores every
 * register to f.  With AC set, memory accesses stay aligned.
 */
asm(".text\n"
    ".p2align 4\n"
    ".type raw_submit, @function\n"
    "raw_submit:\n"
    "	push %rbp\n"
    "	push %rbx\n"
    "	push %r12\n"
    "	push %r13\n"
    "	push %r14\n"
    "	push %r15\n"
    "	push %rdi\n"
    "	sub $16, %rsp\n"
    "	stmxcsr (%rsp)\n"
    "	fnstcw 4(%rsp)\n"
    "	ldmxcsr " S(F_MXCSR_IN) "(%rdi)\n"
    "	fldcw " S(F_FCW_IN) "(%rdi)\n"
    "	fldt " S(F_ST0_IN) "(%rdi)\n"
    "	mov " S(F_LEVEL) "(%rdi), %rax\n"
    "	cmp $1, %rax\n"
    "	jae 1f\n"
    "	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "	movdqu " S(F_VEC_IN) "+\\i*64(%rdi), %xmm\\i\n"
    "	.endr\n"
    "	jmp 3f\n"
    "1:	cmp $2, %rax\n"
    "	jae 2f\n"
    "	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "	vmovdqu " S(F_VEC_IN) "+\\i*64(%rdi), %ymm\\i\n"
    "	.endr\n"
    "	jmp 3f\n"
    "2:\n"
    "	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "	vmovdqu64 " S(F_VEC_IN) "+\\i*64(%rdi), %zmm\\i\n"
    "	.endr\n"
    "	.irp i,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "	vmovdqu64 " S(F_VEC_IN) "+\\i*64(%rdi), %zmm\\i\n"
    "	.endr\n"
    "	.irp i,0,1,2,3,4,5,6,7\n"
    "	kmovw " S(F_K_IN) "+\\i*8(%rdi), %k\\i\n"
    "	.endr\n"
    "3:	std\n"
    "	pushfq\n"
    "	orq $" S(FLAGS_SET) ", (%rsp)\n"
    "	popfq\n"
    "	pushfq\n"
    "	pop %rax\n"
    "	mov %rax, " S(F_FLAGS_IN) "(%rdi)\n"
    "	lea 4f(%rip), %rax\n"
    "	mov %rax, " S(F_RET_RIP) "(%rdi)\n"
    "	mov %rsp, " S(F_GPR_IN) "+7*8(%rdi)\n"
    "	mov " S(F_GPR_IN) "+1*8(%rdi), %rbx\n"
    "	mov " S(F_GPR_IN) "+2*8(%rdi), %rcx\n"
    "	mov " S(F_GPR_IN) "+6*8(%rdi), %rbp\n"
    "	.irp i,8,9,10,11,12,13,14,15\n"
    "	mov " S(F_GPR_IN) "+\\i*8(%rdi), %r\\i\n"
    "	.endr\n"
    "	mov " S(F_IOCBPP) "(%rdi), %rdx\n"
    "	mov $1, %esi\n"
    "	mov " S(F_CTX) "(%rdi), %rdi\n"
    "	mov $209, %eax\n"
    "	syscall\n"
    "4:	pushfq\n"
    "	.irp r,r15,r14,r13,r12,r11,r10,r9,r8,rsp,rbp,rdi,rsi,rdx,rcx,rbx,rax\n"
    "	push %\\r\n"
    "	.endr\n"
    "	cld\n"
    "	pushfq\n"
    "	andq $~" S(FLAGS_SET) ", (%rsp)\n"
    "	popfq\n"
    /* 17 slots, then the saved mxcsr/fcw, then f. */
    "	mov 152(%rsp), %rdi\n"
    "	xor %ecx, %ecx\n"
    "5:	mov (%rsp,%rcx,8), %rax\n"
    "	mov %rax, " S(F_GPR_OUT) "(%rdi,%rcx,8)\n"
    "	inc %ecx\n"
    "	cmp $17, %ecx\n"
    "	jb 5b\n"
    /* push %rsp stored rsp as it was after 9 pushes. */
    "	addq $72, " S(F_GPR_OUT) "+7*8(%rdi)\n"
    "	add $136, %rsp\n"
    "	mov " S(F_LEVEL) "(%rdi), %rax\n"
    "	cmp $1, %rax\n"
    "	jae 6f\n"
    "	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "	movdqu %xmm\\i, " S(F_VEC_OUT) "+\\i*64(%rdi)\n"
    "	.endr\n"
    "	jmp 8f\n"
    "6:	cmp $2, %rax\n"
    "	jae 7f\n"
    "	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "	vmovdqu %ymm\\i, " S(F_VEC_OUT) "+\\i*64(%rdi)\n"
    "	.endr\n"
    "	jmp 8f\n"
    "7:\n"
    "	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "	vmovdqu64 %zmm\\i, " S(F_VEC_OUT) "+\\i*64(%rdi)\n"
    "	.endr\n"
    "	.irp i,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "	vmovdqu64 %zmm\\i, " S(F_VEC_OUT) "+\\i*64(%rdi)\n"
    "	.endr\n"
    "	.irp i,0,1,2,3,4,5,6,7\n"
    "	kmovw %k\\i, " S(F_K_OUT) "+\\i*8(%rdi)\n"
    "	.endr\n"
    "8:	fstpt " S(F_ST0_OUT) "(%rdi)\n"
    "	fnstcw " S(F_FCW_OUT) "(%rdi)\n"
    "	stmxcsr " S(F_MXCSR_OUT) "(%rdi)\n"
    "	ldmxcsr (%rsp)\n"
    "	fldcw 4(%rsp)\n"
    "	cmp $1, %rax\n"
    "	jb 9f\n"
    "	vzeroupper\n"
    "9:	add $24, %rsp\n"
    "	pop %r15\n"
    "	pop %r14\n"
    "	pop %r13\n"
    "	pop %r12\n"
    "	pop %rbx\n"
    "	pop %rbp\n"
    "	ret\n"
    ".size raw_submit, .-raw_submit\n");

void raw_submit(struct frame *f);

static int vec_level(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return VEC_AVX512;
	if (__builtin_cpu_supports("avx"))
		return VEC_AVX;
	return VEC_SSE;
}

/* Fills @f's inputs with patterns that differ per register and per run. */
static void fill_frame(struct frame *f, aio_context_t ctx, struct iocb **list)
{
	uint64_t seed = (uint64_t)t_now_us() * 0x9E3779B97F4A7C15ULL | 1;
	long double st0 = 0x1.23456789abcdef0p+1000L;

	memset(f, 0, sizeof(*f));
	f->ctx = ctx;
	f->iocbpp = (uintptr_t)list;
	f->level = (uint64_t)vec_level();
	for (int i = 0; i < NGPR; i++)
		f->gpr_in[i] = (0x0101010101010101ULL * (uint64_t)(i + 1)) ^ (seed << (i % 8));
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 64; j++)
			f->vec_in[i][j] = (unsigned char)(i * 64 + j + seed);
	for (int i = 0; i < 8; i++)
		f->k_in[i] = (seed >> (i * 4)) & 0xffff;
	/* Non-default rounding, flush-to-zero and x87 precision; every exception masked. */
	f->mxcsr_in = 0x1f80 | 0x6000 | 0x8000;
	f->fcw_in = 0x0e7f;
	memcpy(f->st0_in, &st0, 10);
}

/* Every register io_submit() does not define came back as it went in. */
static void check_frame(const struct frame *f, long want_ret)
{
	static const char *const vname[] = { "xmm", "ymm", "zmm" };
	int nvec = f->level == VEC_AVX512 ? 32 : 16;
	size_t vlen = f->level == VEC_AVX512 ? 64 : f->level == VEC_AVX ? 32 : 16;
	char what[64];

	for (int i = 0; i < NGPR; i++) {
		uint64_t want = f->gpr_in[i];

		switch (i) {
		case RAX:
			want = (uint64_t)want_ret;
			break;
		case RCX:	/* syscall: rcx = rip, r11 = rflags */
			want = f->ret_rip;
			break;
		case R11:
			want = f->flags_in;
			break;
		case RDX:
			want = f->iocbpp;
			break;
		case RSI:
			want = 1;
			break;
		case RDI:
			want = f->ctx;
			break;
		}
		snprintf(what, sizeof(what), "%s after io_submit()", gpr_name[i]);
		t_check_long((long long)f->gpr_out[i], (long long)want, what, __FILE__, __LINE__);
	}
	T_EQ(f->flags_out, f->flags_in);
	T_EQ(f->flags_in & FLAGS_SET, FLAGS_SET);
	T_EQ(f->mxcsr_out, f->mxcsr_in);
	T_EQ(f->fcw_out, f->fcw_in);
	T_MEM(f->st0_out, f->st0_in, 10);
	for (int i = 0; i < nvec; i++) {
		snprintf(what, sizeof(what), "%s%d after io_submit()", vname[f->level], i);
		t_check_mem(f->vec_out[i], f->vec_in[i], vlen, what, __FILE__, __LINE__);
	}
	if (f->level == VEC_AVX512)
		for (int i = 0; i < 8; i++) {
			snprintf(what, sizeof(what), "k%d after io_submit()", i);
			t_check_long((long long)f->k_out[i], (long long)f->k_in[i], what,
				     __FILE__, __LINE__);
		}
}

static enum t_result test_handoff(void)
{
	static const char *const level[] = { "SSE", "AVX", "AVX-512" };
	aio_context_t ctx = t_setup_ctx(8);
	struct frame *f = t_aligned_alloc(64, sizeof(*f));
	struct sh_block b;

	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_block_start(&b, ctx, 0x7e9500 + (uint64_t)sh_gettid(), SH_HANDOFF_MS);
	fill_frame(f, ctx, b.list);
	t_diag("vector state checked: %s", level[f->level]);
	b.submit_us = t_now_us();
	raw_submit(f);
	b.submit_us = t_now_us() - b.submit_us;
	sh_expect_handoff(&b, (long)f->gpr_out[RAX]);
	check_frame(f, 1);
	sh_block_finish(&b);
	T_EQ(sys_io_destroy(ctx), 0);
	free(f);
	return t_result();
}

/* The same assembly on an io_submit() that does not block: the control. */
static enum t_result test_control(void)
{
	struct timespec zero = { 0, 0 };
	aio_context_t ctx = t_setup_ctx(8);
	struct frame *f = t_aligned_alloc(64, sizeof(*f));
	unsigned char *buf = t_aligned_alloc(4096, 4096);
	int fd = t_pattern_file(4096, 0x4e9, 0, NULL, 0);
	struct iocb cb, *list[1] = { &cb };
	struct io_event ev;

	sh_watchdog(60);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	/* Cached (in cold mode too): the read does not block. */
	t_cache_file(fd, 4096);
	t_prep_pread(&cb, fd, buf, 4096, 0);
	cb.aio_data = 0xc0e7401;
	fill_frame(f, ctx, list);
	raw_submit(f);
	check_frame(f, 1);
	/* Ran to its end inside io_submit(): the event is there. */
	if (T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &zero), 1)) {
		T_EQ(ev.data, 0xc0e7401);
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, 4096);
		T_TRUE(t_verify_pattern(buf, 4096, 0x4e9, 0));
	}
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	free(buf);
	free(f);
	return t_result();
}

static enum t_result test_handoff_thread(void)
{
	return sh_in_thread(test_handoff);
}

static enum t_result test_control_thread(void)
{
	return sh_in_thread(test_control);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "leader: io_submit() that hands off keeps all registers, rflags, FPU state",
		  test_handoff },
		{ "thread: io_submit() that hands off keeps all registers, rflags, FPU state",
		  test_handoff_thread },
		{ "leader: io_submit() that does not block keeps them too (control)",
		  test_control },
		{ "thread: io_submit() that does not block keeps them too (control)",
		  test_control_thread },
	};

	t_require_syslet();
	return T_RUN(cases);
}
