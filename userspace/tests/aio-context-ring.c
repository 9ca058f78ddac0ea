// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: the completion ring mapped at the context id keeps its user-visible layout. */
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

static enum t_result test_header(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	volatile struct t_aio_ring *r = t_ring(ctx);

	T_EQ(r->magic, T_AIO_RING_MAGIC);
	T_EQ(r->compat_features, 1);
	T_EQ(r->incompat_features, 0);
	T_EQ(r->header_length, sizeof(struct t_aio_ring));
	T_TRUE(r->nr >= 16);
	T_EQ(r->head, 0);
	T_EQ(r->tail, 0);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_user_reap(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	volatile struct t_aio_ring *r = t_ring(ctx);
	int fd = t_pattern_file(3 * 4096, 7, 0, NULL, 0);
	struct iocb cbs[3], *list[3];
	unsigned int seen = 0;
	char *buf = t_aligned_alloc(4096, 3 * 4096);
	struct io_event ev;
	struct timespec zero = { 0, 0 };

	for (int i = 0; i < 3; i++) {
		t_prep_pread(&cbs[i], fd, buf + i * 4096, 4096, i * 4096);
		cbs[i].aio_data = 100 + (uint64_t)i;
		list[i] = &cbs[i];
	}
	T_EQ(sys_io_submit(ctx, 3, list), 3);
	/* No io_getevents() to wait: that would consume. */
	t_wait_ring(ctx, 3);
	for (unsigned int i = 0; i < 3; i++) {
		volatile struct io_event *e = &r->io_events[i];

		T_TRUE(e->data >= 100 && e->data < 103);
		T_EQ(e->res, 4096);
		seen |= 1u << (e->data - 100);
	}
	T_EQ(seen, 7);
	T_EQ(r->head, 0);
	T_EQ(r->tail, 3);
	/* Consume in user space: the kernel must then see an empty ring. */
	__atomic_store_n(&r->head, 3, __ATOMIC_RELEASE);
	T_EQ(sys_io_getevents(ctx, 0, 1, &ev, &zero), 0);
	T_TRUE(t_verify_pattern(buf, 3 * 4096, 7, 0));
	T_EQ(sys_io_destroy(ctx), 0);
	free(buf);
	close(fd);
	return t_result();
}

static enum t_result test_getevents_advances_head(void)
{
	aio_context_t ctx = t_setup_ctx(16);
	volatile struct t_aio_ring *r = t_ring(ctx);
	int fd = t_pattern_file(4096, 9, 0, NULL, 0);
	char buf[2][512];
	struct iocb cbs[2], *list[2] = { &cbs[0], &cbs[1] };
	struct io_event ev[2];

	t_prep_pread(&cbs[0], fd, buf[0], 512, 0);
	t_prep_pread(&cbs[1], fd, buf[1], 512, 512);
	T_EQ(sys_io_submit(ctx, 2, list), 2);
	T_EQ(t_reap(ctx, ev, 2, 10000), 2);
	T_EQ(r->head, 2);
	T_EQ(r->tail, 2);
	T_TRUE(t_verify_pattern(buf, sizeof(buf), 9, 0));
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a new ring has the stock header, empty", test_header },
		{ "completions appear at the tail and user space can reap them", test_user_reap },
		{ "io_getevents advances the ring head", test_getevents_advances_head },
	};

	return T_RUN(cases);
}
