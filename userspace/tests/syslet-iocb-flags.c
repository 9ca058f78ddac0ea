// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: the iocb's flags hold on iocbs that hand off.
 * IOCB_FLAG_RESFD signals its eventfd exactly once per handed-off read;
 * RWF_DSYNC | RWF_APPEND on a write that hands off appends, as without
 * RWF_APPEND the same write overwrites; and a batch of 160 O_DIRECT reads
 * of null_blk, its queue cut to 8 requests, hands off waiting for a
 * request while every request the block layer issues keeps the
 * IOCB_FLAG_IOPRIO priority.
 */
#include "syslet-helpers.h"

#include <linux/magic.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, level) */
#define PRIO_BE(level)	((2 << 13) | (level))
/* How long a check that no second signal comes waits for a late one. */
#define LATE_MS		200

/* RWF_APPEND: a file of OLD_SIZE bytes, a write of LEN. */
#define OLD_SEED	71
#define NEW_SEED	72
#define OLD_SIZE	8192
#define LEN		4096
#define TRIES		20

/*
 * The O_DIRECT batch: many more reads than the queue's NR_REQUESTS.  The
 * default (64 tags, 128 requests under mq-deadline) filled only when 128
 * submissions fit in the 20 ms the first read takes, which a debug kernel
 * under TCG does not always manage: the cold pass once saw no handoff.
 */
#define NULLB		"/dev/nullb0"
#define NULLB_NR_REQUESTS "/sys/block/nullb0/queue/nr_requests"
#define NR_REQUESTS	8
#define NULLB_SEED	73
#define NR_READS	160
/* A page every other page, so that no two reads merge into one request. */
#define STRIDE		8192
/* Past syslet-null-blk's 4 MiB, which it rewrites with a pattern of its own. */
#define BASE		(100LL << 20)

/* A read of a pipe with IOCB_FLAG_RESFD that hands off: one signal, when it ends. */
static bool resfd_read(aio_context_t ctx, int efd)
{
	struct sh_block b;
	uint64_t count;
	bool ok;

	sh_block_start(&b, ctx, SH_READ_DATA, SH_HANDOFF_MS);
	b.cb.aio_flags = IOCB_FLAG_RESFD;
	b.cb.aio_resfd = (uint32_t)efd;
	ok = sh_expect_handoff(&b, sh_block_submit(&b));
	/* The handoff itself signals nothing: the read still waits. */
	ok &= T_ERRNO(read(efd, &count, sizeof(count)), EAGAIN);
	/* res 1, the byte "c" that ends the read, and no other event. */
	ok &= sh_block_finish(&b);
	ok &= T_EQ(sh_eventfd_wait(efd, 5000), 1);
	/* Not twice: no later signal either. */
	ok &= T_EQ(sh_eventfd_wait(efd, LATE_MS), 0);
	return ok;
}

static enum t_result resfd_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	if (!sh_warm_up(ctx))
		return T_FAIL;
	T_TRUE(resfd_read(ctx, efd));
	/* The former head parks again: a second handoff signals again (the control). */
	if (T_TRUE(sh_wait_parked(1, SH_PARK_MS)))
		T_TRUE(resfd_read(ctx, efd));
	close(efd);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_resfd(void)
{
	return sh_in_child(resfd_child);
}

/*
 * A DSYNC PWRITE of LEN bytes of NEW_SEED's pattern (as it lies at
 * @pattern_off) at aio_offset 0 with @rw_flags, after the file was cut
 * back to OLD_SIZE; returns the syslet_handoff events it caused.
 */
static long dsync_write(aio_context_t ctx, int fd, struct sh_trace *t, int rw_flags,
			off_t pattern_off, unsigned char *buf)
{
	struct iocb cb, *list = &cb;
	struct io_event ev;
	long before;

	if (ftruncate(fd, OLD_SIZE))
		t_bail("ftruncate: %s", strerror(errno));
	t_fill_pattern(buf, LEN, NEW_SEED, pattern_off);
	t_prep_pwrite(&cb, fd, buf, LEN, 0);
	cb.aio_rw_flags = rw_flags;
	/* The last handoff's former head parks once its write has ended. */
	T_TRUE(sh_wait_parked(1, SH_PARK_MS));
	before = sh_trace_count(t, NULL);
	T_EQ(sys_io_submit(ctx, 1, &list), 1);
	if (T_EQ(t_reap(ctx, &ev, 1, 10000), 1)) {
		T_EQ(ev.obj, (uintptr_t)&cb);
		T_EQ(ev.res, LEN);
		T_EQ(ev.res2, 0);
	}
	return sh_trace_count(t, NULL) - before;
}

static enum t_result append_child(void)
{
	aio_context_t ctx = t_setup_ctx(8);
	unsigned char buf[LEN];
	struct sh_trace t;
	long handed = 0;
	int fd = t_pattern_file(OLD_SIZE, OLD_SEED, 0, NULL, 0);
	int i;

	if (t_fs_type(fd) == TMPFS_MAGIC || t_fs_type(fd) == RAMFS_MAGIC) {
		close(fd);
		T_EQ(sys_io_destroy(ctx), 0);
		return t_skip("%s is on tmpfs or ramfs: a DSYNC write there waits for no disk "
			      "(set AIO_TEST_DIR to a block file system)", t_test_dir());
	}
	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_trace_start(&t, "syslet_handoff");
	/* A DSYNC write waits for the disk, so it hands off: until one did. */
	for (i = 1; i <= TRIES; i++) {
		handed = dsync_write(ctx, fd, &t, RWF_DSYNC | RWF_APPEND, OLD_SIZE, buf);
		/* Appended at the old end, whatever aio_offset says; the rest unchanged. */
		if (!t_check_overwritten(fd, OLD_SIZE + LEN, OLD_SEED, OLD_SIZE, NEW_SEED,
					 OLD_SIZE, LEN) || handed)
			break;
	}
	if (!T_TRUE(handed >= 1))
		t_diag("none of %d RWF_DSYNC | RWF_APPEND writes handed off: nothing was proven "
		       "of a handed-off append", i > TRIES ? TRIES : i);
	else
		t_diag("write %d handed off (%ld syslet_handoff events)", i, handed);
	/* The control: the same write without RWF_APPEND goes where aio_offset says. */
	dsync_write(ctx, fd, &t, RWF_DSYNC, 0, buf);
	t_check_overwritten(fd, OLD_SIZE, OLD_SEED, OLD_SIZE, NEW_SEED, 0, LEN);
	sh_trace_stop(&t);
	close(fd);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_append(void)
{
	if (!t_is_root())
		return t_skip("counting the syslet_handoff trace events needs root");
	return sh_in_child(append_child);
}

/* What the block_rq_issue lines of the reads' sectors said. */
struct issues {
	long prio;		/* issued with BE level 3, hint 0 */
	long other;		/* any other priority, size or sector */
	bool seen[NR_READS];	/* read i was issued with the priority */
};

/*
 * Reads the block_rq_issue lines of the device @dev ("MAJ,MIN") for the
 * sectors of the batch.  6.12 prints "dev rwbs bytes (cmd) sector +
 * nr_sector class,hint,level [comm]"; the class is parsed after the ")",
 * in either case.  Block events carry no tgid: sh_trace_count() cannot.
 * With @say, the first lines of another priority are shown.
 */
static void read_issues(struct sh_trace *t, const char *dev, struct issues *is, bool say)
{
	unsigned long long first = BASE / 512, end = first + NR_READS * (STRIDE / 512), sector;
	char path[256], line[512], class[16];
	unsigned int nr, hint, level;
	const char *p;
	FILE *f;

	memset(is, 0, sizeof(*is));
	snprintf(path, sizeof(path), "%s/trace", t->dir);
	f = fopen(path, "re");
	if (!f)
		t_bail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, " block_rq_issue: ");
		if (line[0] == '#' || !p)
			continue;
		line[strcspn(line, "\n")] = '\0';
		p += strlen(" block_rq_issue: ");
		if (strncmp(p, dev, strlen(dev)) || p[strlen(dev)] != ' ')
			continue;
		p = strchr(p, ')');
		if (!p || sscanf(p + 1, " %llu + %u %15[^,],%u,%u", &sector, &nr, class, &hint,
				 &level) != 5) {
			t_diag("unparsed: %s", line);
			is->other++;
			continue;
		}
		if (sector < first || sector >= end)
			continue;
		if (!strcasecmp(class, "be") && hint == 0 && level == 3 && nr == LEN / 512 &&
		    (sector - first) % (STRIDE / 512) == 0) {
			is->prio++;
			is->seen[(sector - first) / (STRIDE / 512)] = true;
		} else {
			if (say && is->other < 5)
				t_diag("another priority: %s", line);
			is->other++;
		}
	}
	fclose(f);
}

static enum t_result ioprio_child(void)
{
	static struct iocb cb[NR_READS + 1];
	struct iocb *list[NR_READS + 1];
	struct io_event ev[NR_READS];
	bool seen[NR_READS] = { false };
	aio_context_t ctx = t_setup_ctx(NR_READS + 1);
	unsigned char *buf = t_aligned_alloc(4096, NR_READS * STRIDE);
	long first, done, handed, mode = (long)t_read_sysctl(T_SYSLET_SYSCTL);
	struct sh_trace handoffs, blk;
	struct issues is;
	struct stat st;
	char dev[32];
	int fd, n, seen_all = 0;

	/* The process's own priority differs from the iocbs': the control's is it. */
	if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, PRIO_BE(7)))
		t_bail("ioprio_set(best effort, 7): %s", strerror(errno));
	fd = open(NULLB, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		t_bail("open %s O_DIRECT: %s", NULLB, strerror(errno));
	snprintf(dev, sizeof(dev), "%u,%u", major(st.st_rdev), minor(st.st_rdev));
	/* The data, written through to the device, so that the reads have it to return. */
	t_fill_pattern(buf, NR_READS * STRIDE, NULLB_SEED, BASE);
	if (pwrite(fd, buf, NR_READS * STRIDE, BASE) != NR_READS * STRIDE)
		t_bail("pwrite %s: %s", NULLB, strerror(errno));
	memset(buf, 0, NR_READS * STRIDE);
	for (int i = 0; i < NR_READS; i++) {
		t_prep_pread(&cb[i], fd, buf + (size_t)i * STRIDE, LEN, BASE + (off_t)i * STRIDE);
		cb[i].aio_data = (uint64_t)i;
		cb[i].aio_flags = IOCB_FLAG_IOPRIO;
		cb[i].aio_reqprio = PRIO_BE(3);
		list[i] = &cb[i];
	}
	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_trace_start(&handoffs, "syslet_handoff");
	sh_trace_start_system(&blk, "block", "block_rq_issue");

	/*
	 * With every request taken the submitter sleeps for one: a handoff,
	 * as the 9th read is submitted well within the 20 ms the first takes.
	 */
	done = sh_submit_all(ctx, list, NR_READS, &first);
	T_EQ(done, NR_READS);
	if (mode == 2)
		T_TRUE(first >= 1 && first <= NR_READS);	/* up to the read that waited */
	else
		T_EQ(first, NR_READS);				/* stock's count */
	n = t_reap(ctx, ev, (int)done, 20000);
	T_EQ(n, NR_READS);
	for (int e = 0; e < n; e++) {
		uint64_t i = ev[e].data;

		if (!T_TRUE(i < NR_READS && !seen[i]))
			continue;
		seen[i] = true;
		T_EQ(ev[e].obj, (uintptr_t)&cb[i]);
		T_EQ(ev[e].res, LEN);
		T_EQ(ev[e].res2, 0);
		T_TRUE(t_verify_pattern(buf + i * STRIDE, LEN, NULLB_SEED,
					BASE + (off_t)i * STRIDE));
	}
	/* Each exactly once: no event beyond the 160. */
	T_NO_EVENT(ctx, LATE_MS);
	handed = sh_trace_count(&handoffs, NULL);
	t_diag("io_submit() first returned %ld; %ld syslet_handoff events", first, handed);
	if (!T_TRUE(handed >= 1))
		t_diag("%d O_DIRECT reads, more than the queue's %d requests, did not hand "
		       "off: the priority was not tested on a handed-off batch", NR_READS,
		       NR_REQUESTS);

	/* Every request issued for the reads' sectors had the iocbs' priority. */
	read_issues(&blk, dev, &is, true);
	for (int i = 0; i < NR_READS; i++)
		seen_all += is.seen[i];
	t_diag("%ld requests issued at best effort 3, %ld otherwise", is.prio, is.other);
	T_TRUE(is.prio >= NR_READS);
	T_EQ(seen_all, NR_READS);
	T_EQ(is.other, 0);

	/* The control: without IOCB_FLAG_IOPRIO a read is issued at the process's 7. */
	cb[NR_READS] = cb[0];
	cb[NR_READS].aio_flags = 0;
	cb[NR_READS].aio_reqprio = 0;
	if (T_EQ(t_run1(ctx, &cb[NR_READS]), LEN)) {
		read_issues(&blk, dev, &is, false);
		T_EQ(is.other, 1);
		T_TRUE(is.prio >= NR_READS);
	}
	sh_trace_stop(&blk);
	sh_trace_stop(&handoffs);
	free(buf);
	close(fd);
	T_EQ(sys_io_destroy(ctx), 0);
	return t_result();
}

static enum t_result test_ioprio(void)
{
	long long depth;
	enum t_result r;
	int err;

	if (access(NULLB, F_OK))
		return t_skip(NULLB " is absent (boot with null_blk.irqmode=2 "
			      "null_blk.completion_nsec=20000000 null_blk.memory_backed=1)");
	if (!t_is_root())
		return t_skip("opening " NULLB " and reading trace events need root");
	depth = t_read_sysctl(NULLB_NR_REQUESTS);
	err = t_write_sysctl(NULLB_NR_REQUESTS, NR_REQUESTS);
	if (err)
		t_bail("write %d to %s: %s", NR_REQUESTS, NULLB_NR_REQUESTS, strerror(-err));
	r = sh_in_child(ioprio_child);
	/* Restored here, not in the child, which may end anywhere. */
	err = t_write_sysctl(NULLB_NR_REQUESTS, depth);
	if (err)
		t_bail("restore %lld to %s: %s", depth, NULLB_NR_REQUESTS, strerror(-err));
	return r;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a handed-off read with IOCB_FLAG_RESFD signals its eventfd exactly once, when it ends; twice over",
		  test_resfd },
		{ "a DSYNC PWRITE with RWF_APPEND that hands off appends; without RWF_APPEND it overwrites",
		  test_append },
		{ "160 O_DIRECT reads of null_blk (8 requests) in one io_submit() hand off; every request keeps IOCB_FLAG_IOPRIO",
		  test_ioprio },
	};

	t_require_syslet();
	return T_RUN(cases);
}
