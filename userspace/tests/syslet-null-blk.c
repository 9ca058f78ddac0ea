// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: buffered reads of a slow null_blk device overlap through handoffs; O_DIRECT makes no helper. */
#include "t.h"
#include "syslet-threads.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NULLB "/dev/nullb0"
#define SEED 61
#define AREA (4 * 1024 * 1024)
#define NR_READS 32
/* The VM boots null_blk with completion_nsec=20000000: every request takes 20 ms. */
#define COMPLETION_US 20000

#include "syslet-writer.h"

/* Open null_blk and check it was set up by the harness; -1 and a reason when not usable. */
static int open_nullb(int flags, const char **why)
{
	int fd;

	if (access(NULLB, F_OK)) {
		*why = NULLB " is absent (boot with null_blk.irqmode=2 null_blk.completion_nsec=20000000 null_blk.memory_backed=1)";
		return -1;
	}
	if (!t_is_root()) {
		*why = "opening " NULLB " and dropping its page cache need root";
		return -1;
	}
	fd = open(NULLB, O_RDWR | O_CLOEXEC | flags);
	if (fd < 0)
		t_bail("open %s: %s", NULLB, strerror(errno));
	return fd;
}

static bool pattern_written;

/* Writes the pattern over AREA and leaves none of it in the page cache. */
static bool write_pattern_uncached(int fd)
{
	unsigned char *buf = t_aligned_alloc(4096, 65536), vec[AREA / 4096];
	void *map;
	int resident = 0;

	if (!pattern_written) {
		for (off_t off = 0; off < AREA; off += 65536) {
			t_fill_pattern(buf, 65536, SEED, off);
			if (pwrite(fd, buf, 65536, off) != 65536)
				t_bail("pwrite %s: %s", NULLB, strerror(errno));
		}
		if (fsync(fd))
			t_bail("fsync %s: %s", NULLB, strerror(errno));
		pattern_written = true;
	}
	free(buf);
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (errno)
		t_bail("POSIX_FADV_DONTNEED: %s", strerror(errno));
	if (ioctl(fd, BLKFLSBUF, 0))
		t_bail("BLKFLSBUF: %s", strerror(errno));
	/* mincore() tells residency without reading anything in. */
	map = mmap(NULL, AREA, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		t_bail("mmap %s: %s", NULLB, strerror(errno));
	if (mincore(map, AREA, vec))
		t_bail("mincore: %s", strerror(errno));
	munmap(map, AREA);
	for (int i = 0; i < AREA / 4096; i++)
		resident += vec[i] & 1;
	if (resident)
		t_diag("%d pages of %s still cached after dropping", resident, NULLB);
	return T_EQ(resident, 0);
}

/* NR_READS distinct random 4 KiB pages of AREA. */
static void random_offsets(off_t *off)
{
	static bool used[AREA / 4096];

	memset(used, 0, sizeof(used));
	srand((unsigned int)t_now_us());
	for (int i = 0; i < NR_READS; i++) {
		int page;

		do
			page = rand() % (AREA / 4096);
		while (used[page]);
		used[page] = true;
		off[i] = (off_t)page * 4096;
	}
}

/* Reaps NR_READS events and checks each one's result and data. */
static void check_reads(aio_context_t ctx, struct iocb *cb, unsigned char **buf, off_t *off)
{
	struct io_event ev[NR_READS];
	bool seen[NR_READS] = { false };

	if (!T_EQ(t_reap(ctx, ev, NR_READS, 20000), NR_READS))
		return;
	for (int e = 0; e < NR_READS; e++) {
		uint64_t i = ev[e].data;

		if (!T_TRUE(i < NR_READS && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(ev[e].obj, (uintptr_t)&cb[i]);
		T_EQ(ev[e].res, 4096);
		T_EQ(ev[e].res2, 0);
		T_TRUE(t_verify_pattern(buf[i], 4096, SEED, off[i]));
	}
}

static enum t_result test_buffered_overlap(void)
{
	aio_context_t ctx = t_setup_ctx(NR_READS);
	struct iocb cb[NR_READS], *list[NR_READS];
	unsigned char *buf[NR_READS];
	off_t off[NR_READS];
	long long start, elapsed;
	int fd, done = 0, calls = 0, shortest = NR_READS;
	const char *why;

	fd = open_nullb(0, &why);
	if (fd < 0) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("%s", why);
	}
	/* The helper parks after the slow writes: idle ones retire after 10 s. */
	if (!write_pattern_uncached(fd) || !warm_up(ctx))
		goto out;
	/* One 4 KiB request per read: readahead would make later reads hits. */
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (errno)
		t_bail("POSIX_FADV_RANDOM: %s", strerror(errno));
	random_offsets(off);
	for (int i = 0; i < NR_READS; i++) {
		buf[i] = t_aligned_alloc(4096, 4096);
		t_prep_pread(&cb[i], fd, buf[i], 4096, off[i]);
		cb[i].aio_data = (uint64_t)i;
		list[i] = &cb[i];
	}
	/* As fio does: submit the rest after a short count. */
	start = t_now_us();
	while (done < NR_READS) {
		long ret = sys_io_submit(ctx, NR_READS - done, list + done);

		if (!T_TRUE(ret > 0)) {
			t_diag("io_submit of %d: %ld (%s)", NR_READS - done, ret,
			       ret < 0 ? strerror(errno) : "no error");
			break;
		}
		calls++;
		if (ret < shortest)
			shortest = (int)ret;
		done += (int)ret;
	}
	elapsed = t_now_us() - start;
	t_diag("%d reads submitted by %d calls in %lld us (synchronous: %d us)",
	       done, calls, elapsed, NR_READS * COMPLETION_US);
	/* Serialised, the reads take 32 x 20 ms: overlapped, far less. */
	T_TRUE(elapsed < NR_READS * COMPLETION_US / 2);
	/* Some call stopped at a read that blocked. */
	T_TRUE(shortest < NR_READS);
	if (done == NR_READS)
		check_reads(ctx, cb, buf, off);
	for (int i = 0; i < NR_READS; i++)
		free(buf[i]);
out:
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

/* In a fresh process: O_DIRECT reads never block in io_submit(), so no helper is made. */
static enum t_result odirect_child(void)
{
	aio_context_t ctx = t_setup_ctx(NR_READS);
	struct iocb cb[NR_READS], *list[NR_READS];
	unsigned char *buf[NR_READS];
	off_t off[NR_READS];
	int fd, before, after, done = 0;
	const char *why;

	fd = open_nullb(O_DIRECT, &why);
	if (fd < 0)
		t_bail("%s", why);
	random_offsets(off);
	for (int i = 0; i < NR_READS; i++) {
		buf[i] = t_aligned_alloc(4096, 4096);
		t_prep_pread(&cb[i], fd, buf[i], 4096, off[i]);
		cb[i].aio_data = (uint64_t)i;
		list[i] = &cb[i];
	}
	before = sh_count_tasks();
	while (done < NR_READS) {
		long ret = sys_io_submit(ctx, NR_READS - done, list + done);

		if (!T_TRUE(ret > 0))
			break;
		done += (int)ret;
	}
	/* All queued at once: null_blk's queue depth (64) has room. */
	T_EQ(done, NR_READS);
	check_reads(ctx, cb, buf, off);
	/* A later io_submit() would make a helper if one had been asked for. */
	T_EQ(sys_io_submit(ctx, 0, list), 0);
	usleep(100000);
	after = sh_count_tasks();
	T_EQ(before, 1);
	T_EQ(after, before);
	for (int i = 0; i < NR_READS; i++)
		free(buf[i]);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_odirect_no_helper(void)
{
	const char *why;
	int fd = open_nullb(0, &why), status;
	pid_t pid;
	long long deadline;

	if (fd < 0)
		return t_skip("%s", why);
	/* The data the child reads, on the device (cached or not: O_DIRECT reads the device). */
	if (!pattern_written && !write_pattern_uncached(fd)) {
		close(fd);
		return t_result();
	}
	close(fd);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		enum t_result r = odirect_child();

		fflush(stdout);
		_exit(t_result() == T_FAIL ? T_FAIL : r);
	}
	deadline = t_now_us() + 30000000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (t_now_us() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			T_TRUE(!"the child finished within 30 s");
			return T_FAIL;
		}
		usleep(10000);
	}
	T_TRUE(WIFEXITED(status));
	T_EQ(status, 0);
	return t_result();
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "32 uncached buffered reads of null_blk submit in far less than 32 x 20 ms, data right", test_buffered_overlap },
		{ "O_DIRECT reads at queue depth 32 make no helper thread", test_odirect_no_helper },
	};

	t_require_syslet();
	return T_RUN(cases);
}
