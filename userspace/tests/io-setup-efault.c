// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_setup() fails with EFAULT on a ctxp it cannot read or write, leaking nothing. */
#include "t.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A distinctive size, so that a leaked context would show in fs.aio-nr. */
#define LEAK_NR 257

/* Ring mappings ("[aio]") of this process: a context that io_setup() failed to kill shows here. */
static int count_aio_rings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		t_bail("open /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[aio]"))
			n++;
	fclose(f);
	return n;
}

static void *map_page(int prot)
{
	void *p = mmap(NULL, (size_t)getpagesize(), prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_bail("mmap: %s", strerror(errno));
	return p;
}

static enum t_result test_bad_pointer(void)
{
	T_ERRNO(sys_io_setup(1, NULL), EFAULT);
	T_ERRNO(sys_io_setup(1, (aio_context_t *)1), EFAULT);
	/* A kernel address: get_user() refuses it outright. */
	T_ERRNO(sys_io_setup(1, (aio_context_t *)~0xfffUL), EFAULT);
	T_EQ(count_aio_rings(), 0);
	return t_result();
}

static enum t_result test_unmapped(void)
{
	aio_context_t *ctxp = map_page(PROT_READ | PROT_WRITE);

	munmap(ctxp, (size_t)getpagesize());
	T_ERRNO(sys_io_setup(1, ctxp), EFAULT);
	T_EQ(count_aio_rings(), 0);
	return t_result();
}

static enum t_result test_read_only(void)
{
	/* Reads as 0, so the context gets made; only storing its id fails. */
	aio_context_t *ctxp = map_page(PROT_READ);
	aio_context_t ctx = 0;

	T_ERRNO(sys_io_setup(LEAK_NR, ctxp), EFAULT);
	T_EQ(*ctxp, 0);
	/* The context made for it was killed again: its ring is unmapped. */
	T_EQ(count_aio_rings(), 0);
	munmap(ctxp, (size_t)getpagesize());

	/* The context table is usable afterwards. */
	if (T_EQ(sys_io_setup(1, &ctx), 0)) {
		T_EQ(count_aio_rings(), 1);
		T_EQ(sys_io_destroy(ctx), 0);
	}
	T_EQ(count_aio_rings(), 0);
	return t_result();
}

static enum t_result test_read_only_aio_nr(void)
{
	aio_context_t *ctxp = map_page(PROT_READ);
	long long before = 0, after = 0;
	bool match = false;

	/* fs.aio-nr is system wide: retry until no other process changes it meanwhile. */
	for (int i = 0; i < 100 && !match; i++) {
		before = t_aio_nr();
		if (!T_ERRNO(sys_io_setup(LEAK_NR, ctxp), EFAULT))
			break;
		after = t_aio_nr();
		match = after == before;
		if (!match)
			usleep(1000 + (useconds_t)(rand() % 10000));
	}
	munmap(ctxp, (size_t)getpagesize());
	if (!match)
		t_diag("fs.aio-nr never stayed put: last %lld -> %lld", before, after);
	T_TRUE(match);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "NULL, 1 and a kernel address as ctxp fail with EFAULT", test_bad_pointer },
		{ "ctxp in an unmapped page fails with EFAULT", test_unmapped },
		{ "read-only ctxp fails with EFAULT and its context is torn down", test_read_only },
		{ "read-only ctxp leaves fs.aio-nr unchanged", test_read_only_aio_nr },
	};

	srand((unsigned int)getpid());
	return T_RUN(cases);
}
