// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: io_submit() checks aio_reserved2, aio_resfd, aio_nbytes; unknown flags pass. */
#include "t.h"

#include <fcntl.h>
#include <unistd.h>

#define SEED 100
#define FILE_SIZE 4096

static enum t_result test_reserved2(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iocb cb;

	memset(buf, 0xee, sizeof(buf));
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_reserved2 = 1;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	cb.aio_reserved2 = 1ULL << 63;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	/* Checked before the descriptor. */
	cb.aio_fildes = (uint32_t)-1;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_resfd_not_eventfd(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iocb cb;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		t_bail("pipe: %s", strerror(errno));
	memset(buf, 0xee, sizeof(buf));
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = (uint32_t)fd;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	cb.aio_resfd = (uint32_t)p[1];
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(p[0]);
	close(p[1]);
	close(fd);
	return t_result();
}

static enum t_result test_nbytes_overflow(void)
{
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct iocb cb;

	/* Sizes that are negative as ssize_t. */
	t_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_nbytes = 1ULL << 63;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	cb.aio_nbytes = ~0ULL;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	/* Checked before the descriptor. */
	cb.aio_fildes = (uint32_t)-1;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	t_prep_pwrite(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_nbytes = ~0ULL;
	T_SUBMIT_FAILS(ctx, &cb, EINVAL);
	t_check_pattern_file(fd, FILE_SIZE, SEED);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_unknown_flags(void)
{
	static const uint32_t flags[] = {
		1U << 2, 1U << 31, ~(uint32_t)(IOCB_FLAG_RESFD | IOCB_FLAG_IOPRIO)
	};
	aio_context_t ctx = t_setup_ctx(4);
	int fd = t_pattern_file(FILE_SIZE, SEED, 0, NULL, 0);
	unsigned char buf[512];
	struct io_event ev;
	struct iocb cb;

	/* Stock never looks at aio_flags bits it does not know. */
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		memset(buf, 0, sizeof(buf));
		t_prep_pread(&cb, fd, buf, sizeof(buf), 512);
		cb.aio_flags = flags[i];
		/* Without their flags, aio_resfd and aio_reqprio are not looked at either. */
		cb.aio_resfd = (uint32_t)-1;
		cb.aio_reqprio = -1;
		if (!T_EQ(sys_io_submit(ctx, 1, (struct iocb *[]){ &cb }), 1))
			continue;
		if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
			T_EQ(ev.res, sizeof(buf));
			t_verify_pattern(buf, sizeof(buf), SEED, 512);
		}
	}
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "non-zero aio_reserved2 fails with EINVAL, even with a bad fd", test_reserved2 },
		{ "IOCB_FLAG_RESFD with a file or pipe as aio_resfd fails with EINVAL",
		  test_resfd_not_eventfd },
		{ "aio_nbytes above SSIZE_MAX fails with EINVAL, even with a bad fd",
		  test_nbytes_overflow },
		{ "unknown aio_flags bits are ignored", test_unknown_flags },
	};

	return T_RUN(cases);
}
