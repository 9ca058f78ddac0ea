// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: buffered reads of a slow null_blk device overlap through
 * handoffs; O_DIRECT makes no helper; in a memory cgroup 2 MiB above its
 * use, cold reads of 4 MiB hand off through reclaim with their data
 * right and no OOM kill.
 */
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
#include <unistd.h>

#define NULLB "/dev/nullb0"
#define SEED 61
#define AREA (4 * 1024 * 1024)
#define NR_READS 32
/* The VM boots null_blk with completion_nsec=20000000: every request takes 20 ms. */
#define COMPLETION_US 20000

#include "syslet-helpers.h"

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

/* NR_READS reads of 4 KiB from @fd at random pages, aio_data the index, buffers allocated. */
static void prep_reads(int fd, struct iocb *cb, struct iocb **list, unsigned char **buf, off_t *off)
{
	random_offsets(off);
	for (int i = 0; i < NR_READS; i++) {
		buf[i] = t_aligned_alloc(4096, 4096);
		t_prep_pread(&cb[i], fd, buf[i], 4096, off[i]);
		cb[i].aio_data = (uint64_t)i;
		list[i] = &cb[i];
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
	int fd, done = 0, calls = 0, shortest = NR_READS, in_flight = 0;
	long long start, elapsed;
	const char *why;

	fd = open_nullb(0, &why);
	if (fd < 0) {
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("%s", why);
	}
	/* The helper parks after the slow writes: idle ones retire after 10 s. */
	if (!write_pattern_uncached(fd) || !sh_warm_up(ctx))
		goto out;
	/* One 4 KiB request per read: readahead would make later reads hits. */
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (errno)
		t_bail("POSIX_FADV_RANDOM: %s", strerror(errno));
	prep_reads(fd, cb, list, buf, off);
	/* As fio does: submit the rest after a short count. */
	start = t_now_us();
	while (done < NR_READS) {
		long ret = sys_io_submit(ctx, NR_READS - done, list + done);
		int pending;

		if (!T_TRUE(ret > 0)) {
			t_diag("io_submit of %d: %ld (%s)", NR_READS - done, ret,
			       ret < 0 ? strerror(errno) : "no error");
			break;
		}
		calls++;
		if (ret < shortest)
			shortest = (int)ret;
		done += (int)ret;
		/*
		 * Reads without an event yet as io_submit() returned: a read
		 * that ran in io_submit() posted its event first.  Nothing is
		 * reaped here, so the ring holds every event so far.
		 */
		pending = done - (int)t_ring_events(ctx);
		if (pending > in_flight)
			in_flight = pending;
	}
	elapsed = t_now_us() - start;
	t_diag("%d reads submitted by %d calls in %lld us (synchronous: %d us)", done, calls,
	       elapsed, NR_READS * COMPLETION_US);
	t_diag("up to %d read(s) in flight as an io_submit() returned", in_flight);
	if (t_read_sysctl(T_SYSLET_SYSCTL) == 2) {
		/*
		 * Mode 2: a call returns at the read that blocked, which is
		 * then still in flight, as no read ever is when io_submit()
		 * runs them one by one.  A count, so that a slow emulator
		 * cannot fail it.
		 */
		T_TRUE(in_flight >= 1);
		T_TRUE(shortest < NR_READS);
	} else {
		/*
		 * Mode 1: one call takes them all, as stock's count says.  The
		 * helpers chain through the batch; when the last read ran
		 * synchronously (every helper busy), the ones handed off before
		 * it have completed too by the time the call returns, so the
		 * overlap shows either as reads in flight or as a call shorter
		 * than half of the reads one after another (which no
		 * synchronous io_submit() can be: each read takes the device's
		 * latency).
		 */
		T_EQ(calls, 1);
		T_TRUE(in_flight >= 1 || elapsed < NR_READS * COMPLETION_US / 2);
	}
	if (done == NR_READS)
		check_reads(ctx, cb, buf, off);
	for (int i = 0; i < NR_READS; i++)
		free(buf[i]);
out:
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

/* Threads of this process 100 ms after an empty io_submit(), which makes a helper if asked. */
static int tasks_after_empty_submit(aio_context_t ctx)
{
	T_EQ(sys_io_submit(ctx, 0, NULL), 0);
	usleep(100000);
	return sh_count_tasks();
}

/*
 * In a fresh process: O_DIRECT reads never block in io_submit(), so no
 * helper is made; a cold buffered read, which blocks, does, counted the
 * same way (the positive control).
 */
static enum t_result odirect_child(void)
{
	aio_context_t ctx = t_setup_ctx(NR_READS);
	struct iocb cb[NR_READS], *list[NR_READS];
	unsigned char *buf[NR_READS];
	off_t off[NR_READS];
	int fd, before, done;
	struct io_event ev;
	const char *why;

	fd = open_nullb(O_DIRECT, &why);
	if (fd < 0)
		t_bail("%s", why);
	prep_reads(fd, cb, list, buf, off);
	before = sh_count_tasks();
	T_EQ(before, 1);
	done = (int)sh_submit_all(ctx, list, NR_READS, NULL);
	/* All queued at once: null_blk's queue depth (64) has room. */
	T_EQ(done, NR_READS);
	check_reads(ctx, cb, buf, off);
	T_EQ(tasks_after_empty_submit(ctx), before);
	close(fd);

	/* The same read, buffered and cold, blocks in io_submit(): then a helper comes. */
	fd = open_nullb(0, &why);
	if (fd < 0)
		t_bail("%s", why);
	if (write_pattern_uncached(fd)) {
		t_prep_pread(&cb[0], fd, buf[0], 4096, off[0]);
		t_submit1(ctx, &cb[0]);
		if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1))
			T_EQ(ev.res, 4096);
		t_verify_pattern(buf[0], 4096, SEED, off[0]);
		T_EQ(tasks_after_empty_submit(ctx), before + 1);
	}
	for (int i = 0; i < NR_READS; i++)
		free(buf[i]);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_odirect_no_helper(void)
{
	const char *why;
	int fd = open_nullb(0, &why);

	if (fd < 0)
		return t_skip("%s", why);
	/* The data the child reads, on the device (cached or not: O_DIRECT reads the device). */
	if (!pattern_written && !write_pattern_uncached(fd)) {
		close(fd);
		return t_result();
	}
	close(fd);
	return sh_in_child(odirect_child);
}

static char memcg[128];

/* The value of @key in the cgroup file @file of memcg; -1 if absent. */
static long long memcg_value(const char *file, const char *key)
{
	char path[192], line[128], name[64];
	long long v = -1, val;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", memcg, file);
	f = fopen(path, "re");
	if (!f)
		t_bail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!key && sscanf(line, "%lld", &val) == 1)
			v = val;
		else if (key && sscanf(line, "%63s %lld", name, &val) == 2 && !strcmp(name, key))
			v = val;
	}
	fclose(f);
	return v;
}

/*
 * In a memory cgroup whose limit is MEMCG_ROOM above what the process
 * uses: every page of AREA read cold, NR_READS at a time, so that the
 * page cache, the helpers' stacks and the reads' own allocations are
 * charged against the limit and reclaimed under it, in heads and
 * helpers alike.
 */
/* Room for the helpers' stacks (32 reads in flight) and some page cache. */
#define MEMCG_ROOM	(2 * 1024 * 1024)

static enum t_result memcg_child(void)
{
	aio_context_t ctx = t_setup_ctx(NR_READS);
	struct iocb cb[NR_READS], *list[NR_READS];
	unsigned char *buf[NR_READS];
	struct sh_trace handoffs;
	off_t off[NR_READS];
	char pid[32], max[32];
	const char *why;
	long long use;
	int fd, rounds = AREA / 4096 / NR_READS;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (!sh_cgroup_write(memcg, "cgroup.procs", pid))
		t_bail("move to %s: %s", memcg, strerror(errno));
	fd = open_nullb(0, &why);
	if (fd < 0)
		t_bail("%s", why);
	for (int i = 0; i < NR_READS; i++)
		buf[i] = t_aligned_alloc(4096, 4096);
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (errno)
		t_bail("POSIX_FADV_RANDOM: %s", strerror(errno));
	use = memcg_value("memory.current", NULL);
	snprintf(max, sizeof(max), "%lld", use + MEMCG_ROOM);
	if (!sh_cgroup_write(memcg, "memory.max", max))
		t_bail("memory.max %s: %s", max, strerror(errno));
	t_diag("memory.current %lld, memory.max %s; reading %d MiB cold", use, max, AREA >> 20);
	sh_trace_start(&handoffs, "syslet_handoff");
	if (!write_pattern_uncached(fd) || !sh_warm_up(ctx))
		goto out;
	for (int r = 0; r < rounds && t_result() != T_FAIL; r++) {
		for (int i = 0; i < NR_READS; i++) {
			off[i] = ((off_t)i * rounds + r) * 4096;
			t_prep_pread(&cb[i], fd, buf[i], 4096, off[i]);
			cb[i].aio_data = (uint64_t)i;
			list[i] = &cb[i];
		}
		if (sh_submit_all(ctx, list, NR_READS, NULL) == NR_READS)
			check_reads(ctx, cb, buf, off);
		else
			t_diag("round %d of %d: not all %d reads went in", r, rounds, NR_READS);
	}
	/* The limit was reached and reclaimed under (the control), with nobody killed. */
	if (!T_TRUE(memcg_value("memory.events", "max") > 0))
		t_diag("the reads never reached memory.max: nothing was tested near the limit");
	T_EQ(memcg_value("memory.events", "oom_kill"), 0);
	if (!T_TRUE(sh_trace_count(&handoffs, NULL) > 0))
		t_diag("no read handed off under the limit");
	t_diag("%ld handoffs, memory.events max %lld", sh_trace_count(&handoffs, NULL),
	       memcg_value("memory.events", "max"));
out:
	sh_trace_stop(&handoffs);
	for (int i = 0; i < NR_READS; i++)
		free(buf[i]);
	T_EQ(sys_io_destroy(ctx), 0);
	close(fd);
	return t_result();
}

static enum t_result test_memcg(void)
{
	const char *why;
	enum t_result r;
	int fd = open_nullb(0, &why);

	if (fd < 0)
		return t_skip("%s", why);
	/* Written here: dirty pages are no part of what the child tests. */
	if (!pattern_written && !write_pattern_uncached(fd)) {
		close(fd);
		return t_result();
	}
	close(fd);
	why = sh_make_cgroup(memcg, sizeof(memcg), "memcg", "memory");
	if (why)
		return t_skip("%s", why);
	r = sh_in_child(memcg_child);
	if (rmdir(memcg))
		t_diag("rmdir %s: %s", memcg, strerror(errno));
	return r;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "32 uncached buffered reads of null_blk overlap io_submit(), data right", test_buffered_overlap },
		{ "O_DIRECT reads at queue depth 32 make no helper; a cold buffered read does", test_odirect_no_helper },
		{ "in a memory cgroup 2 MiB above its use, 4 MiB of cold reads hand off through reclaim: data right, no OOM kill",
		  test_memcg },
	};

	t_require_syslet();
	return T_RUN(cases);
}
