// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: iocbs after a handed-off write keep stock's order: an
 * FDSYNC or FSYNC of the file completes after the write, a second write of
 * the same bytes lands last, and a read of them sees the write.
 *
 * Stock io_submit() runs a batch's buffered iocbs one after another, and
 * queues an FSYNC only when it reaches it, so in [PWRITE, FDSYNC] the sync
 * covers the write and its event comes second: the case holds stock to
 * that, and syslets to the same.  With syslets, the write
 * that blocks (here: 10 bytes into a page that is not cached, which the
 * write must read first) goes on in the former head while the rest of the
 * batch is submitted by the helper (mode 1) or resubmitted by user space
 * after the short count (mode 2, as the updated libaio does): the sync
 * must still wait for the write (review finding D1).  Each trial drops the
 * file's pages, submits the batch, and reaps one event at a time.  Two
 * targets: a file in AIO_TEST_DIR, and, where the VM harness set it up,
 * null_blk (/dev/nullb0, 20 ms a request: the write blocks long enough
 * that a sync queued at once would surely finish first).
 */
#include "syslet-helpers.h"

#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>

#define FILE_SIZE	65536
#define SEED		31
#define OFF		100
#define NULLB		"/dev/nullb0"
/* Far from what other cases and the stress run use of null_blk. */
#define NULLB_PAGE	(1LL << 30)
#define LEN		10
#define TRIALS		20
#define TAG_FIRST	0x0f17570000000001ULL
#define TAG_SECOND	0x0f17570000000002ULL

enum second { FDSYNC, FSYNC, OVERWRITE, READ_BACK };

struct file_under_test {
	char path[4096];
	int fd;
	off_t page;	/* the page the write goes to */
	bool bdev;
};

static void make_file(struct file_under_test *f)
{
	f->fd = t_pattern_file(FILE_SIZE, SEED, 0, f->path, sizeof(f->path));
	f->page = 0;
	f->bdev = false;
}

/* null_blk, if it is there and usable: false (and why) if not. */
static bool open_nullb(struct file_under_test *f, const char **why)
{
	unsigned long long size = 0;

	if (access(NULLB, F_OK)) {
		*why = NULLB " is absent";
		return false;
	}
	if (!t_is_root()) {
		*why = "writing " NULLB " needs root";
		return false;
	}
	snprintf(f->path, sizeof(f->path), "%s", NULLB);
	f->fd = open(NULLB, O_RDWR | O_CLOEXEC);
	if (f->fd < 0)
		t_bail("open %s: %s", NULLB, strerror(errno));
	if (ioctl(f->fd, BLKGETSIZE64, &size))
		t_bail("BLKGETSIZE64 %s: %s", NULLB, strerror(errno));
	if (size < NULLB_PAGE + 4096) {
		close(f->fd);
		*why = NULLB " is smaller than 1 GiB";
		return false;
	}
	f->page = NULLB_PAGE;
	f->bdev = true;
	return true;
}

/* One event, within 5 s; false (checked) if none came. */
static bool reap_one(aio_context_t ctx, struct io_event *ev)
{
	struct timespec ts = { 5, 0 };

	return T_EQ(sys_io_getevents(ctx, 1, 1, ev, &ts), 1);
}

/*
 * A write of the cold page at OFF, then @second; checks the order of the
 * two events, their results and the file's bytes.
 */
static bool trial(aio_context_t ctx, struct file_under_test *f, enum second second, int n,
		  bool syslet, int *shorts)
{
	char data[LEN + 1], other[LEN + 1], got[LEN + 1] = { 0 }, back[LEN] = { 0 };
	struct iocb cbs[2], *list[2] = { &cbs[0], &cbs[1] };
	struct io_event ev[2];
	bool ok = true;
	long first;

	snprintf(data, sizeof(data), "write%05d", n);
	snprintf(other, sizeof(other), "again%05d", n);
	t_drop_range(f->path, f->page, f->bdev ? 4096 : FILE_SIZE);
	/* A parked helper, so that the write hands off when it blocks. */
	if (syslet && !T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		return false;

	t_prep_pwrite(&cbs[0], f->fd, data, LEN, f->page + OFF);
	switch (second) {
	case FDSYNC:
	case FSYNC:
		t_prep_fsync(&cbs[1], f->fd, second == FDSYNC);
		break;
	case OVERWRITE:
		t_prep_pwrite(&cbs[1], f->fd, other, LEN, f->page + OFF);
		break;
	case READ_BACK:
		t_prep_pread(&cbs[1], f->fd, back, LEN, f->page + OFF);
		break;
	}
	cbs[0].aio_data = TAG_FIRST;
	cbs[1].aio_data = TAG_SECOND;
	if (!T_EQ(sh_submit_all(ctx, list, 2, &first), 2))
		return false;
	if (first < 2)
		(*shorts)++;
	if (!reap_one(ctx, &ev[0]) || !reap_one(ctx, &ev[1]))
		return false;

	if (ev[0].data != TAG_FIRST) {
		t_diag("trial %d: the second iocb's event came first (res %lld)", n,
		       (long long)ev[0].res);
		ok = false;
	}
	ok &= T_EQ(ev[0].data, TAG_FIRST);
	ok &= T_EQ(ev[0].res, LEN);
	ok &= T_EQ(ev[1].data, TAG_SECOND);
	ok &= T_EQ(ev[1].res, second == FDSYNC || second == FSYNC ? 0 : LEN);

	if (pread(f->fd, got, LEN, f->page + OFF) != LEN)
		t_bail("pread %s: %s", f->path, strerror(errno));
	if (second == OVERWRITE) {
		if (!T_MEM(got, other, LEN))
			t_diag("trial %d: the file holds \"%s\", not the second write's \"%s\"", n,
			       got, other);
	} else {
		ok &= T_MEM(got, data, LEN);
	}
	if (second == READ_BACK && !T_MEM(back, data, LEN))
		t_diag("trial %d: the read saw the bytes from before the write", n);
	return ok && t_result() != T_FAIL;
}

/* TRIALS trials on @f; false when one failed. */
static bool trials(aio_context_t ctx, struct file_under_test *f, enum second second,
		   bool syslet, long long mode)
{
	int shorts = 0, n;

	for (n = 0; n < TRIALS; n++)
		if (!trial(ctx, f, second, n, syslet, &shorts))
			break;
	t_diag("%s: %d trials in mode %lld, %d io_submit() short counts", f->path, n, mode,
	       shorts);
	/* In mode 2 a short count is a handoff: the case saw some. */
	if (mode == 2)
		T_TRUE(shorts > 0);
	else
		T_EQ(shorts, 0);
	return n == TRIALS;
}

static enum t_result run(enum second second)
{
	aio_context_t ctx = t_setup_ctx(16);
	struct file_under_test f;
	bool syslet = t_syslet_active();
	long long mode = syslet ? t_read_sysctl(T_SYSLET_SYSCTL) : 0;
	const char *why;
	struct statfs sfs;

	make_file(&f);
	if (fstatfs(f.fd, &sfs))
		t_bail("fstatfs %s: %s", f.path, strerror(errno));
	if (sfs.f_type == TMPFS_MAGIC) {
		unlink(f.path);
		return t_skip("%s is on tmpfs: no write there blocks to read a page "
			      "(set AIO_TEST_DIR to a block file system)", t_test_dir());
	}
	if (syslet && !sh_warm_up(ctx))
		return T_FAIL;
	trials(ctx, &f, second, syslet, mode);
	close(f.fd);
	unlink(f.path);

	if (open_nullb(&f, &why)) {
		trials(ctx, &f, second, syslet, mode);
		close(f.fd);
	} else {
		t_diag("%s: the null_blk part is left out", why);
	}
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_fdsync(void)
{
	return run(FDSYNC);
}

static enum t_result test_fsync(void)
{
	return run(FSYNC);
}

static enum t_result test_overwrite(void)
{
	return run(OVERWRITE);
}

static enum t_result test_read_back(void)
{
	return run(READ_BACK);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "[PWRITE (blocks), FDSYNC]: the sync's event comes after the write's", test_fdsync },
		{ "[PWRITE (blocks), FSYNC]: the sync's event comes after the write's", test_fsync },
		{ "[PWRITE (blocks), PWRITE of the same bytes]: the second write lands last",
		  test_overwrite },
		{ "[PWRITE (blocks), PREAD of the same bytes]: the read sees the write",
		  test_read_back },
	};

	return T_RUN(cases);
}
