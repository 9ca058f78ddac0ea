// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() to an id naming no live context fails with EINVAL and runs nothing. */
#include "t.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
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
	char data[4096];

	T_EQ(v->cb.aio_key, KEY_UNTOUCHED);
	if (T_EQ(pread(v->fd, data, sizeof(data), 0), sizeof(data)))
		t_verify_pattern(data, sizeof(data), SEED, 0);
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

/* No event arrived in a live context from the bad submits. */
static void check_no_event(aio_context_t ctx)
{
	struct timespec zero = { 0, 0 };
	struct io_event ev;

	T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &zero), 0);
}

static enum t_result test_zero(void)
{
	check_submit_einval(0);
	return t_result();
}

static enum t_result test_garbage(void)
{
	size_t page = (size_t)getpagesize();
	aio_context_t live = t_setup_ctx(1);
	void *zeros = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *gone = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (zeros == MAP_FAILED || gone == MAP_FAILED)
		t_bail("mmap: %s", strerror(errno));
	munmap(gone, page);
	check_submit_einval(0xdeadbeef);
	check_submit_einval(~0UL);
	check_submit_einval((aio_context_t)gone);
	/* Reads as a ring of id 0, the live context's slot, but it is not that ring. */
	check_submit_einval((aio_context_t)zeros);
	check_submit_einval(live + 8);
	munmap(zeros, page);
	check_no_event(live);
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

static enum t_result test_forked_child(void)
{
	aio_context_t ctx = t_setup_ctx(1);
	struct victim v;
	int status;
	pid_t pid;

	victim_init(&v);
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		struct iocb *cbp = &v.cb;

		/* The parent's context is not the child's. */
		if (sys_io_submit(ctx, 1, &cbp) != -1)
			_exit(1);
		_exit(errno == EINVAL ? 0 : 2);
	}
	if (waitpid(pid, &status, 0) != pid)
		t_bail("waitpid: %s", strerror(errno));
	T_TRUE(WIFEXITED(status));
	/* 0: EINVAL, 1: the submit succeeded, 2: another errno. */
	T_EQ(WEXITSTATUS(status), 0);
	victim_check(&v);
	check_no_event(ctx);
	T_EQ(sys_io_destroy(ctx), 0);
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
