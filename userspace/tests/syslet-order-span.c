// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: after a handed-off write, a read of other bytes of the
 * file does not wait for it, and a read past the end of file that the
 * write moves (across it, or an append) sees the write's bytes.
 *
 * Stock io_submit() runs a batch's iocbs one after another; syslets keep
 * that order only where it shows: a read after a write (or a write after
 * a read or a write) waits for it when their bytes meet, or when the
 * write may move the end of file (an append, or past the size it saw),
 * which a read of any bytes may see.  Two cases:
 *
 *  - on null_blk (/dev/nullb0, 20 ms a request), [PWRITE of 10 bytes into
 *    a page not cached (it blocks reading the page), PREAD of a cached
 *    page 64 KiB away]: the read's event comes first, with the page's
 *    bytes, and the write lands.  A kernel that orders by file alone
 *    makes the read wait 20 ms for the write, and its event come second;
 *  - on a file of AIO_TEST_DIR (a block file system) whose last page is
 *    not cached, [PWRITE of 10 bytes across the end of file (it blocks
 *    reading that page), PREAD of the 5 bytes past the old end]: the read
 *    returns the write's last 5 bytes, as on stock, never the end of file;
 *  - the same file, [PWRITE through an O_APPEND descriptor (its offset,
 *    0, is not where it writes), PREAD of the 10 bytes past the old end]:
 *    the bytes of the two do not meet as the iocbs name them, so only the
 *    end-of-file rule makes the read wait; it returns the appended bytes,
 *    as on stock, never the end of file.
 *
 * Each runs TRIALS trials in the current mode (1: the helper submits the
 * read; 2: the short count makes the case resubmit it, as the updated
 * libaio does), each with a parked helper so that the write hands off.
 */
#include "t.h"
#include "syslet-threads.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "syslet-helpers.h"

#define NULLB		"/dev/nullb0"
/* Far from what other cases and the stress run use of null_blk. */
#define NULLB_PAGE	((1LL << 30) + (8LL << 20))
#define OTHER_PAGE	(NULLB_PAGE + 65536)
#define OFF		100
#define LEN		10
#define TRIALS		10
#define FILE_SIZE	(65536 + 2000)
#define SEED		47
#define TAG_WRITE	0x5ba9000000000001ULL
#define TAG_READ	0x5ba9000000000002ULL

/* The current mode's count of short counts over the trials. */
static void check_shorts(long long mode, int shorts)
{
	/* In mode 2 a short count is a handoff: the case saw some. */
	if (mode == 2)
		T_TRUE(shorts > 0);
	else
		T_EQ(shorts, 0);
}

static enum t_result test_apart(void)
{
	char data[LEN + 1], want[LEN], got[LEN];
	struct iocb cbs[2], *list[2] = { &cbs[0], &cbs[1] };
	long long mode = t_read_sysctl(T_SYSLET_SYSCTL);
	unsigned long long size = 0;
	aio_context_t ctx;
	struct io_event ev[2];
	int fd, n, shorts = 0, read_first = 0;
	long first;

	if (access(NULLB, F_OK))
		return t_skip(NULLB " is absent (the VM harness sets it up)");
	if (!t_is_root())
		return t_skip("writing " NULLB " needs root");
	fd = open(NULLB, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		t_bail("open %s: %s", NULLB, strerror(errno));
	if (ioctl(fd, BLKGETSIZE64, &size))
		t_bail("BLKGETSIZE64 %s: %s", NULLB, strerror(errno));
	if (size < OTHER_PAGE + 4096) {
		close(fd);
		return t_skip(NULLB " is smaller than 1 GiB + 8 MiB + 68 KiB");
	}
	ctx = t_setup_ctx(16);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (n = 0; n < TRIALS; n++) {
		snprintf(data, sizeof(data), "apart%05d", n);
		/* The other page cached with known bytes, the written one not. */
		memset(want, 'a' + n, LEN);
		if (pwrite(fd, want, LEN, OTHER_PAGE + OFF) != LEN || fsync(fd))
			t_bail("pwrite %s: %s", NULLB, strerror(errno));
		if (pread(fd, got, LEN, OTHER_PAGE + OFF) != LEN)
			t_bail("pread %s: %s", NULLB, strerror(errno));
		t_drop_range(NULLB, NULLB_PAGE, 4096);
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;

		memset(got, 0, LEN);
		t_prep_pwrite(&cbs[0], fd, data, LEN, NULLB_PAGE + OFF);
		t_prep_pread(&cbs[1], fd, got, LEN, OTHER_PAGE + OFF);
		cbs[0].aio_data = TAG_WRITE;
		cbs[1].aio_data = TAG_READ;
		if (!T_EQ(sh_submit_all(ctx, list, 2, &first), 2) ||
		    !T_EQ(t_reap(ctx, ev, 2, 5000), 2))
			break;
		/* In mode 2 the write's handoff returns 1. */
		if (first < 2)
			shorts++;
		if (ev[0].data == TAG_READ)
			read_first++;
		else
			t_diag("trial %d: the write's event came first: the read waited for it", n);
		T_EQ(ev[0].data, TAG_READ);
		T_EQ(ev[0].res, LEN);
		T_EQ(ev[1].data, TAG_WRITE);
		T_EQ(ev[1].res, LEN);
		T_MEM(got, want, LEN);
		if (pread(fd, got, LEN, NULLB_PAGE + OFF) != LEN)
			t_bail("pread %s: %s", NULLB, strerror(errno));
		T_MEM(got, data, LEN);
		if (t_result() == T_FAIL)
			break;
	}
	t_diag("%d trials in mode %lld: the read's event first in %d, %d short counts", n, mode,
	       read_first, shorts);
	T_EQ(n, TRIALS);
	check_shorts(mode, shorts);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

/*
 * [PWRITE that moves the end of file (blocks), PREAD past the old end],
 * TRIALS times: across the end (10 bytes from 5 before it; the read's 5
 * bytes are the write's last 5) or, with @append, through an O_APPEND
 * descriptor with offset 0 (the read's 10 bytes are the appended ones,
 * which the iocbs' offsets do not say).
 */
static enum t_result past_end(bool append)
{
	char path[4096], data[LEN + 1], got[LEN];
	struct iocb cbs[2], *list[2] = { &cbs[0], &cbs[1] };
	long long mode = t_read_sysctl(T_SYSLET_SYSCTL);
	aio_context_t ctx;
	struct io_event ev[2];
	struct statfs sfs;
	int fd, wfd, n, shorts = 0;
	size_t rlen = append ? LEN : LEN / 2;
	long first;
	off_t end = FILE_SIZE;

	fd = t_pattern_file(FILE_SIZE, SEED, 0, path, sizeof(path));
	if (fstatfs(fd, &sfs))
		t_bail("fstatfs %s: %s", path, strerror(errno));
	if (sfs.f_type == TMPFS_MAGIC) {
		close(fd);
		unlink(path);
		return t_skip("%s is on tmpfs: no write there blocks to read a page "
			      "(set AIO_TEST_DIR to a block file system)", t_test_dir());
	}
	wfd = fd;
	if (append) {
		wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (wfd < 0)
			t_bail("open %s O_APPEND: %s", path, strerror(errno));
	}
	ctx = t_setup_ctx(16);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	for (n = 0; n < TRIALS; n++) {
		snprintf(data, sizeof(data), "%s%04d", append ? "append" : "across", n);
		/* The last page on disk, not cached: the write reads it first. */
		if (fsync(fd))
			t_bail("fsync %s: %s", path, strerror(errno));
		t_drop_range(path, end & ~4095, 4096);
		if (!T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
			break;

		memset(got, 0, LEN);
		/* O_APPEND writes at the end whatever offset the iocb says. */
		t_prep_pwrite(&cbs[0], wfd, data, LEN, append ? 0 : end - LEN / 2);
		t_prep_pread(&cbs[1], fd, got, rlen, end);
		cbs[0].aio_data = TAG_WRITE;
		cbs[1].aio_data = TAG_READ;
		if (!T_EQ(sh_submit_all(ctx, list, 2, &first), 2) ||
		    !T_EQ(t_reap(ctx, ev, 2, 5000), 2))
			break;
		/* In mode 2 the write's handoff returns 1. */
		if (first < 2)
			shorts++;
		T_EQ(ev[0].data, TAG_WRITE);
		T_EQ(ev[0].res, LEN);
		T_EQ(ev[1].data, TAG_READ);
		if (ev[1].res != (long long)rlen)
			t_diag("trial %d: the read past the old end returned %lld, not the write's %zu bytes",
			       n, (long long)ev[1].res, rlen);
		T_EQ(ev[1].res, rlen);
		T_MEM(got, data + LEN - rlen, rlen);
		end += append ? LEN : LEN / 2;
		if (t_result() == T_FAIL)
			break;
	}
	t_diag("%d trials in mode %lld, %d short counts", n, mode, shorts);
	T_EQ(n, TRIALS);
	check_shorts(mode, shorts);
	T_EQ(sys_io_destroy(ctx), 0);
	if (append)
		close(wfd);
	close(fd);
	unlink(path);
	return t_result();
}

static enum t_result test_past_end(void)
{
	return past_end(false);
}

static enum t_result test_append(void)
{
	return past_end(true);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "[PWRITE (blocks), PREAD of bytes 64 KiB away] on null_blk: the read does not wait, "
		  "its event comes first with the bytes there", test_apart },
		{ "[PWRITE across the end of file (blocks), PREAD past the old end]: the read sees "
		  "the write's bytes", test_past_end },
		{ "[PWRITE with O_APPEND (blocks), PREAD past the old end]: the read sees the "
		  "appended bytes", test_append },
	};

	t_require_syslet();
	return T_RUN(cases);
}
