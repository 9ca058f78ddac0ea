// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * aio-syslet-microbench: the handoff microbenchmark.  What does it cost
 * io_submit() to hand an iocb that blocks to a parked helper, next to a
 * read that does not block and to a plain wake-up of another task?  One
 * run measures, side by side:
 *
 *   handoff  io_submit() of one 4 KiB buffered read of a page never read
 *            before, from entry to return: on stock, the whole read; on
 *            a syslet kernel, until the helper returns to user space.
 *            The read is reaped afterwards, untimed, and checked.
 *   cached   io_submit() + io_getevents(min_nr 1) of one 4 KiB buffered
 *            read of a cached page: the path syslets must not slow down.
 *   pipe     a 1-byte ping-pong between two processes over two pipes.
 *   wakeup   a ping-pong between two threads on one futex word, with raw
 *            FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE (no mutex or
 *            condition variable in between): what waking another thread
 *            costs, which a handoff pays at least once.
 *   memory   the kernel memory (KernelStack + SUnreclaim of /proc/meminfo)
 *            that --blocked reads of empty pipes cost while they wait:
 *            handed off by io_submit() under a syslet mode, each in a
 *            process of its own, against as many threads blocked in
 *            read(); then what the helpers cost once they are parked.
 *
 * handoff and cached run under each fs.aio-syslet mode of --modes.  The
 * modes take turns in rounds, each round a batch of iterations per mode
 * (in the reverse order every other round), so that drift (other load,
 * frequency, cache state) falls on every mode alike.  The sysctl's value
 * is put back at exit and on SIGINT, SIGTERM and SIGHUP.  The cold reads
 * are 1 MiB (--stride) apart, so that no read's readahead caches another
 * one's page, and each page is checked with mincore() to be out of the
 * page cache just before its read.
 *
 * Benchmarks are not tests: it prints numbers and ratios, never a verdict
 * on a timing.  It exits non-zero only when something failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <libaio.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define PROG		"aio-syslet-microbench"
#define SYSLET_SYSCTL	"/proc/sys/fs/aio-syslet"
/* For the tool's own tests: a file that stands in for SYSLET_SYSCTL. */
#define SYSCTL_ENV	"AIO_SYSLET_MICROBENCH_SYSCTL"
#define READ_SIZE	4096
#define CACHED_SIZE	(1 << 20)	/* bytes of the temporary file, and used of --cached */
#define MAX_ITERATIONS	1000000
#define MAX_ROUNDS	1000
#define MAX_STRIDE	(1ULL << 30)
#define MAX_MODES	3
#define DROP_ALIGN	(2ULL << 20)	/* the cold range is dropped in these */
#define DROP_WINDOW	(1ULL << 30)	/* most dropped around a page that stays cached */
#define MAX_BLOCKED	4096
#define MAX_THREADS_SYSCTL "/proc/sys/fs/aio-syslet-max-threads"
/* task->flags of a syslet helper, as /proc/PID/task/TID/stat shows them. */
#define PF_USER_WORKER	0x00004000UL
/* How long a helper may take to park, or a blocked read to release (TCG, KASAN). */
#define SETTLE_MS	20000
/* How long io_submit() of a read that should hand off may take. */
#define HANDOFF_MS	5000

const char tool_name[] = PROG;

enum meas { HANDOFF, CACHED, PIPE, WAKEUP, MEMORY, NR_MEAS };
static const char *const meas_names[NR_MEAS] = {
	"handoff", "cached", "pipe", "wakeup", "memory"
};

static struct {
	unsigned int iterations;
	unsigned int rounds;
	unsigned int blocked;		/* --blocked */
	unsigned int only;		/* a bit per enum meas */
	const char *cold;		/* -f */
	const char *cached;		/* -c */
	uint64_t stride;
	uint64_t offset;
	bool offset_set;
	bool stride_set;
	bool blocked_set;
	bool current;			/* --modes current */
	int modes[MAX_MODES];		/* fs.aio-syslet values, in --modes order */
	unsigned int nr_modes;
} opt = {
	.iterations = 1000, .rounds = 10, .blocked = 64, .only = (1 << NR_MEAS) - 1, .stride = 1 << 20,
	.modes = { 0, 1 }, .nr_modes = 2,
};

/* The modes the aio measurements run under, once the sysctl has been looked at. */
struct mode {
	char label[16];		/* 0, 1, 2, stock-kernel or current */
	int value;		/* written to the sysctl before each batch; -1: left alone */
};

static struct mode modes[MAX_MODES];
static unsigned int nr_modes;

/* Timings of one measurement under one mode, in nanoseconds. */
struct series {
	long long *ns;
	unsigned int n;
};

static struct series results[NR_MEAS][MAX_MODES];

static const char *sysctl_path = SYSLET_SYSCTL;
static char sysctl_orig[32];		/* its value at start, as written back */
static volatile sig_atomic_t can_switch;
static bool no_sysctl;			/* a stock kernel's, or the stand-in is missing */
static pid_t main_pid;

/* The cold file (-f) and where its next read goes. */
static struct {
	int fd;
	bool regular;
	uint64_t size;
	uint64_t base;		/* read i is at base + i * stride */
	uint64_t next;		/* i */
	uint64_t reads;		/* how many there are room for */
	unsigned char *map;	/* the range, mapped for mincore() only */
	uint64_t map_start, map_len;
} cold = { .fd = -1 };

/* The cached file (-c, or a temporary one) and how many pages of it are read. */
static struct {
	int fd;
	const char *name;
	uint64_t size;		/* of --cached */
	uint64_t pages;
	uint64_t next;
} cached = { .fd = -1 };

static long page_size;

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		fatal("out of memory for %zu x %zu bytes", n, size);
	return p;
}

/* --only: a comma list of measurement names. */
static unsigned int parse_only(const char *s)
{
	char *copy = strdup(s), *rest = copy, *word;
	unsigned int mask = 0;

	if (!copy)
		fatal("out of memory");
	while ((word = strsep(&rest, ","))) {
		int i;

		for (i = 0; i < NR_MEAS; i++)
			if (!strcmp(word, meas_names[i]))
				break;
		if (i == NR_MEAS)
			usage_error("--only: '%s' is not one of handoff, cached, pipe, wakeup, "
				    "memory", word);
		mask |= 1U << i;
	}
	free(copy);
	return mask;
}

/* --modes: a comma list of 0, 1 and 2, or "current" alone. */
static void parse_modes(const char *s)
{
	char *copy = strdup(s), *rest = copy, *word;

	if (!copy)
		fatal("out of memory");
	opt.nr_modes = 0;
	opt.current = false;
	if (!strcmp(s, "current")) {
		opt.current = true;
		free(copy);
		return;
	}
	while ((word = strsep(&rest, ","))) {
		int v;

		if (!strcmp(word, "current"))
			usage_error("--modes: 'current' cannot be combined with other modes");
		if (strlen(word) != 1 || word[0] < '0' || word[0] > '2')
			usage_error("--modes: '%s' is not a mode (0, 1, 2 or current)", word);
		v = word[0] - '0';
		for (unsigned int i = 0; i < opt.nr_modes; i++)
			if (opt.modes[i] == v)
				usage_error("--modes: mode %d is listed twice", v);
		opt.modes[opt.nr_modes++] = v;
	}
	free(copy);
}

static void usage(void)
{
	printf("Usage: %s [OPTION]...\n"
	       "Measure the io_submit() handoff of a cold buffered read, a cached read's\n"
	       "round trip, a pipe ping-pong, a thread wake-up and the kernel memory of\n"
	       "blocked reads, side by side.\n\n"
	       "  -n, --iterations N  timed iterations per measurement and mode (default 1000)\n"
	       "  -m, --modes LIST    fs.aio-syslet modes, a comma list of 0, 1 and 2 (default\n"
	       "                      0,1), or 'current': the mode that is set, unchanged\n"
	       "  -f, --cold FILE     file or block device for the handoff's cold reads\n"
	       "                      (default: none, and no handoff measurement)\n"
	       "  -c, --cached FILE   file for the cached reads (default: a temporary 1 MiB\n"
	       "                      file in $TMPDIR)\n"
	       "      --stride SIZE   bytes between cold reads (default 1m; k, m, g suffixes)\n"
	       "      --offset SIZE   offset of the first cold read (default: picked at\n"
	       "                      random where the reads fit)\n"
	       "      --rounds N      rounds the modes take turns in (default 10)\n"
	       "      --blocked N     reads blocked at once for the memory measurement\n"
	       "                      (default 64)\n"
	       "      --only LIST     measure only these: a comma list of handoff, cached,\n"
	       "                      pipe, wakeup, memory (default: all)\n"
	       "  -h, --help          this help\n\n"
	       "Switching modes needs root; the mode is put back at exit.\n"
	       "Exit status: 0 when every measurement ran, 1 when something failed, 2 on\n"
	       "usage errors.\n", PROG);
}

static void parse_args(int argc, char **argv)
{
	enum { STRIDE = 256, OFFSET, ROUNDS, ONLY, BLOCKED };
	static const struct option longopts[] = {
		{ "iterations", required_argument, NULL, 'n' },
		{ "modes", required_argument, NULL, 'm' },
		{ "cold", required_argument, NULL, 'f' },
		{ "cached", required_argument, NULL, 'c' },
		{ "stride", required_argument, NULL, STRIDE },
		{ "offset", required_argument, NULL, OFFSET },
		{ "rounds", required_argument, NULL, ROUNDS },
		{ "only", required_argument, NULL, ONLY },
		{ "blocked", required_argument, NULL, BLOCKED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:m:f:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opt.iterations = parse_uint("--iterations", optarg, 1, MAX_ITERATIONS);
			break;
		case 'm': parse_modes(optarg); break;
		case 'f': opt.cold = optarg; break;
		case 'c': opt.cached = optarg; break;
		case STRIDE:
			opt.stride = parse_size("--stride", optarg);
			if (opt.stride < READ_SIZE || opt.stride % READ_SIZE ||
			    opt.stride > MAX_STRIDE)
				usage_error("--stride: %s is not a multiple of 4k between 4k and 1g",
					    optarg);
			opt.stride_set = true;
			break;
		case OFFSET:
			opt.offset = parse_size("--offset", optarg);
			if (opt.offset % READ_SIZE || opt.offset > (1ULL << 62))
				usage_error("--offset: %s is not a multiple of 4k below 2^62",
					    optarg);
			opt.offset_set = true;
			break;
		case ROUNDS: opt.rounds = parse_uint("--rounds", optarg, 1, MAX_ROUNDS); break;
		case ONLY: opt.only = parse_only(optarg); break;
		case BLOCKED:
			opt.blocked = parse_uint("--blocked", optarg, 1, MAX_BLOCKED);
			opt.blocked_set = true;
			break;
		case 'h': usage(); exit(0);
		default:
			fprintf(stderr, "Try '%s --help'.\n", PROG);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (opt.cold && !(opt.only & 1U << HANDOFF))
		usage_error("--cold is given but --only leaves out handoff");
	if (opt.cached && !(opt.only & 1U << CACHED))
		usage_error("--cached is given but --only leaves out cached");
	if (opt.blocked_set && !(opt.only & 1U << MEMORY))
		usage_error("--blocked is given but --only leaves out memory");
	if ((opt.offset_set || opt.stride_set) && !opt.cold)
		usage_error("--offset and --stride place the cold reads: they need --cold FILE");
	/* A batch has at least one iteration. */
	if (opt.rounds > opt.iterations)
		opt.rounds = opt.iterations;
}

/* ---- fs.aio-syslet ---- */

/* Async-signal-safe: the signal handler puts the original value back with it. */
static int write_sysctl(const char *value)
{
	int fd = open(sysctl_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(value), w;

	if (fd < 0)
		return -1;
	w = write(fd, value, (size_t)len);
	close(fd);
	return w == len ? 0 : -1;
}

/* The sysctl's value, read from @fd (or the path when @fd < 0). */
static long read_sysctl(int fd)
{
	char buf[32], *end;
	ssize_t len;
	long v;
	int own = fd < 0;

	if (own) {
		fd = open(sysctl_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fatal("%s: %s", sysctl_path, strerror(errno));
	}
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	if (len < 0)
		fatal("reading %s: %s", sysctl_path, strerror(errno));
	if (own)
		close(fd);
	buf[len] = 0;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && strcmp(end, "\n")))
		fatal("%s: '%.*s' is not a number", sysctl_path, (int)strcspn(buf, "\n"), buf);
	return v;
}

static void add_mode(const char *label, int value)
{
	struct mode *m = &modes[nr_modes++];

	snprintf(m->label, sizeof(m->label), "%s", label);
	m->value = value;
}

/*
 * Which modes the aio measurements run under: each of --modes when the
 * sysctl is there and we may write it (with the suite's lock on it, as
 * aio-syslet-fuzz takes it), else one run, on stock or as it is.
 */
static void setup_sysctl(void)
{
	const char *env = getenv(SYSCTL_ENV);
	int fd, wfd;
	long v;

	if (env && *env)
		sysctl_path = env;
	fd = open(sysctl_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		printf("# no %s: one run on this kernel's io_submit\n", sysctl_path);
		no_sysctl = true;
		add_mode(opt.current ? "current" : "stock-kernel", -1);
		return;
	}
	if (fd < 0)
		fatal("%s: %s", sysctl_path, strerror(errno));
	v = read_sysctl(fd);
	if (opt.current) {
		printf("# --modes current: %s is %ld, left as it is\n", sysctl_path, v);
		add_mode("current", -1);
		close(fd);
		return;
	}
	snprintf(sysctl_orig, sizeof(sysctl_orig), "%ld\n", v);
	wfd = open(sysctl_path, O_WRONLY | O_CLOEXEC);
	if (wfd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		fatal("%s: %s: root is needed to switch modes (--modes current measures the "
		      "mode that is set)", sysctl_path, strerror(errno));
	if (wfd < 0)
		fatal("%s: %s", sysctl_path, strerror(errno));
	close(wfd);
	/*
	 * The suite's syslet cases hold this lock shared (exclusive when they
	 * change the knob): none of them runs while the modes take turns.
	 */
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "%s: note: waiting for the syslet tests that hold %s\n", PROG,
			sysctl_path);
		while (flock(fd, LOCK_EX))
			if (errno != EINTR)
				fatal("flock %s: %s", sysctl_path, strerror(errno));
	}
	/* From here on, a signal puts the value back; fd stays open: the lock lasts until exit. */
	can_switch = 1;
	if (write_sysctl(sysctl_orig))
		fatal("writing %ld to %s: %s", v, sysctl_path, strerror(errno));
	printf("# %s is %ld: the modes take turns, and it is put back at exit\n", sysctl_path, v);
	for (unsigned int i = 0; i < opt.nr_modes; i++) {
		char label[16];

		snprintf(label, sizeof(label), "%d", opt.modes[i]);
		add_mode(label, opt.modes[i]);
	}
}

static void set_mode(const struct mode *m)
{
	char value[16];
	long now;

	if (m->value < 0)
		return;
	snprintf(value, sizeof(value), "%d\n", m->value);
	if (write_sysctl(value))
		fatal("writing %d to %s: %s", m->value, sysctl_path, strerror(errno));
	now = read_sysctl(-1);
	if (now != m->value)
		fatal("%s reads %ld after %d was written to it", sysctl_path, now, m->value);
}

static void restore_sysctl(void)
{
	/* Not at the exit of a process the memory measurement forked. */
	if (can_switch && getpid() == main_pid && write_sysctl(sysctl_orig))
		fprintf(stderr, "%s: could not put back %s = %.*s: %s\n", PROG, sysctl_path,
			(int)strcspn(sysctl_orig, "\n"), sysctl_orig, strerror(errno));
}

static void on_signal(int sig)
{
	int saved = errno;

	/* Not in the pipe measurement's other process: only this one switched modes. */
	if (can_switch && getpid() == main_pid)
		write_sysctl(sysctl_orig);
	/* SA_RESETHAND: the default action, once the handler returns. */
	raise(sig);
	errno = saved;
}

static void setup_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			fatal("sigaction(%d): %s", sigs[i], strerror(errno));
	main_pid = getpid();
	if (atexit(restore_sysctl))
		fatal("atexit failed");
}

/* ---- the files ---- */

/* Opens @path read-only; a regular file or a block device, with its size. */
static int open_file(const char *path, uint64_t *size, bool *regular)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fatal("%s: %s", path, strerror(errno));
	if (fstat(fd, &st))
		fatal("%s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			fatal("%s: BLKGETSIZE64: %s", path, strerror(errno));
		*regular = false;
	} else if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
		*regular = true;
	} else {
		fatal("%s: not a regular file or block device", path);
	}
	return fd;
}

static bool resident(uint64_t off)
{
	uint64_t page = off & ~((uint64_t)page_size - 1);
	unsigned char vec;

	if (mincore(cold.map + (page - cold.map_start), page_size, &vec))
		fatal("mincore of %s at offset %" PRIu64 ": %s", opt.cold, off, strerror(errno));
	return vec & 1;
}

/*
 * Where the cold reads go: @reads of them, --stride apart, every page
 * with data on it (a hole is read without I/O), none in the page cache.
 */
static void prepare_cold(uint64_t reads)
{
	uint64_t span = (reads - 1) * opt.stride + READ_SIZE, drop;
	int err;

	if (opt.offset_set) {
		if (opt.offset > cold.size || cold.size - opt.offset < span)
			usage_error("%s: %" PRIu64 " bytes, too few for %" PRIu64 " cold reads %" PRIu64
				    " bytes apart from --offset %" PRIu64 " (%" PRIu64 " bytes are "
				    "needed): give fewer --iterations, a smaller --stride or --offset",
				    opt.cold, cold.size, reads, opt.stride, opt.offset,
				    opt.offset + span);
		cold.base = opt.offset;
	} else {
		uint64_t slack, x;

		if (cold.size < span)
			usage_error("%s: %" PRIu64 " bytes, too few for %" PRIu64 " cold reads %" PRIu64
				    " bytes apart (%" PRIu64 " bytes are needed): give fewer "
				    "--iterations or a smaller --stride", opt.cold, cold.size, reads,
				    opt.stride, span);
		/* Somewhere else each run: a device's own cache may remember the last one. */
		slack = (cold.size - span) / READ_SIZE;
		x = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
		x ^= x >> 31;
		x *= 0x9e3779b97f4a7c15ULL;
		x ^= x >> 29;
		cold.base = x % (slack + 1) * READ_SIZE;
	}
	cold.reads = reads;
	if (cold.regular) {
		for (uint64_t i = 0; i < reads; i++) {
			off_t off = cold.base + i * opt.stride, got;

			got = lseek(cold.fd, off, SEEK_DATA);
			if (got < 0 && errno != ENXIO)
				fatal("%s: lseek(SEEK_DATA): %s", opt.cold, strerror(errno));
			if (got != off)
				fatal("%s: a hole at offset %" PRIu64 ": reading it does no I/O (write "
				      "the file in full first)", opt.cold, (uint64_t)off);
		}
	}
	/* Dirty pages cannot be dropped. */
	if (fsync(cold.fd) && errno != EINVAL)
		fatal("%s: fsync: %s", opt.cold, strerror(errno));
	err = posix_fadvise(cold.fd, 0, 0, POSIX_FADV_RANDOM);
	if (err)
		fatal("%s: posix_fadvise(RANDOM): %s", opt.cold, strerror(err));
	/* Rounded out to 2 MiB: a large folio at either end goes only as a whole. */
	drop = cold.base & ~(DROP_ALIGN - 1);
	err = posix_fadvise(cold.fd, drop, (cold.base + span - drop + DROP_ALIGN - 1) &
			    ~(DROP_ALIGN - 1), POSIX_FADV_DONTNEED);
	if (err)
		fatal("%s: posix_fadvise(DONTNEED): %s", opt.cold, strerror(err));
	cold.map_start = cold.base & ~((uint64_t)page_size - 1);
	cold.map_len = cold.base + span - cold.map_start;
	cold.map = mmap(NULL, cold.map_len, PROT_READ, MAP_SHARED, cold.fd, cold.map_start);
	if (cold.map == MAP_FAILED)
		fatal("%s: mmap of %" PRIu64 " bytes at offset %" PRIu64 " (for mincore): %s",
		      opt.cold, cold.map_len, cold.map_start, strerror(errno));
	printf("# handoff: %" PRIu64 " cold 4 KiB reads of %s, %" PRIu64 " bytes apart from offset "
	       "%" PRIu64 " (one untimed per batch to start it)\n", reads, opt.cold, opt.stride,
	       cold.base);
}

/*
 * Makes sure the page at @off is not in the page cache: the read must
 * block.  A large folio goes only as a whole, so the window dropped
 * doubles, aligned, until the page is out (none is, normally: the read of
 * a file with POSIX_FADV_RANDOM brings in single pages).
 */
static void ensure_cold(uint64_t off)
{
	for (uint64_t win = page_size; resident(off); win *= 2) {
		int err;

		if (win > DROP_WINDOW)
			fatal("%s: the page at offset %" PRIu64 " is still in the page cache after "
			      "POSIX_FADV_DONTNEED, so its read would not block (a file system that "
			      "keeps its files in memory, like tmpfs, or a page mapped by another "
			      "process)", opt.cold, off);
		err = posix_fadvise(cold.fd, off & ~(win - 1), win, POSIX_FADV_DONTNEED);
		if (err)
			fatal("%s: posix_fadvise(DONTNEED): %s", opt.cold, strerror(err));
	}
}

/* The cached file, --cached or a temporary one: read once, then checked to be cached. */
static void prepare_cached(void)
{
	uint64_t len;
	unsigned char *buf, *vec, *map;

	if (opt.cached) {
		cached.name = opt.cached;
		if (cached.size < READ_SIZE)
			fatal("%s: %" PRIu64 " bytes: the cached reads need %d at least", opt.cached,
			      cached.size, READ_SIZE);
		len = cached.size < CACHED_SIZE ? cached.size / READ_SIZE * READ_SIZE : CACHED_SIZE;
		printf("# cached: 4 KiB reads of the first %" PRIu64 " KiB of %s\n", len >> 10,
		       opt.cached);
	} else {
		const char *tmp = getenv("TMPDIR");
		static char path[PATH_MAX];
		ssize_t w;

		if (!tmp || !*tmp)
			tmp = "/tmp";
		if (snprintf(path, sizeof(path), "%s/%s.XXXXXX", tmp, PROG) >= (int)sizeof(path))
			fatal("TMPDIR is too long: %s", tmp);
		cached.fd = mkostemp(path, O_CLOEXEC);
		if (cached.fd < 0)
			fatal("creating a temporary file in %s: %s", tmp, strerror(errno));
		/* Gone at once: nothing is left behind, whatever ends the run. */
		if (unlink(path))
			fatal("%s: unlink: %s", path, strerror(errno));
		len = CACHED_SIZE;
		buf = alloc_buf(len);
		memset(buf, 0x5a, len);
		w = pwrite(cached.fd, buf, len, 0);
		if (w != (ssize_t)len)
			fatal("%s: writing %" PRIu64 " bytes: %s", path, len,
			      w < 0 ? strerror(errno) : "short write");
		free(buf);
		cached.name = "the temporary file";
		printf("# cached: 4 KiB reads of a %" PRIu64 " KiB temporary file in %s (deleted)\n",
		       len >> 10, tmp);
	}
	cached.pages = len / READ_SIZE;
	buf = alloc_buf(len);
	for (uint64_t off = 0; off < len;) {
		ssize_t r = pread(cached.fd, buf + off, len - off, off);

		if (r <= 0)
			fatal("%s: reading it once to cache it: %s", cached.name,
			      r < 0 ? strerror(errno) : "end of file");
		off += r;
	}
	free(buf);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, cached.fd, 0);
	if (map == MAP_FAILED)
		fatal("%s: mmap (for mincore): %s", cached.name, strerror(errno));
	vec = xcalloc((len + page_size - 1) / page_size, 1);
	if (mincore(map, len, vec))
		fatal("%s: mincore: %s", cached.name, strerror(errno));
	for (uint64_t i = 0; i < (len + page_size - 1) / page_size; i++)
		if (!(vec[i] & 1))
			fatal("%s: the page at offset %" PRIu64 " is not in the page cache after "
			      "it was read: the cached measurement needs a file that stays cached",
			      cached.name, i * page_size);
	free(vec);
	munmap(map, len);
}

/* ---- the aio measurements ---- */

/* Reaps @cb's event and checks it: a full read. */
static void reap(io_context_t ctx, struct iocb *cb, const char *what, uint64_t off)
{
	struct io_event ev;
	int got;

	do
		got = io_getevents(ctx, 1, 1, &ev, NULL);
	while (got == -EINTR);
	if (got < 0)
		fatal("io_getevents for the read of %s at offset %" PRIu64 ": %s", what, off,
		      strerror(-got));
	if (got != 1 || ev.obj != cb)
		fatal("io_getevents for the read of %s at offset %" PRIu64 ": %d events, not "
		      "this read's", what, off, got);
	if ((long)ev.res < 0)
		fatal("the read of %s at offset %" PRIu64 ": %s", what, off,
		      strerror(-(long)ev.res));
	if (ev.res != READ_SIZE || ev.res2)
		fatal("the read of %s at offset %" PRIu64 ": %ld bytes (res2 %ld), not %d", what,
		      off, (long)ev.res, (long)ev.res2, READ_SIZE);
}

static void submit(io_context_t ctx, struct iocb *cb, const char *what, uint64_t off,
		   long long *ns)
{
	struct iocb *cbs[1] = { cb };
	long long t0 = now_ns();
	int ret = io_submit(ctx, 1, cbs);

	*ns = now_ns() - t0;
	if (ret < 0)
		fatal("io_submit of a read of %s at offset %" PRIu64 ": %s", what, off,
		      strerror(-ret));
	if (ret != 1)
		fatal("io_submit of a read of %s at offset %" PRIu64 ": returned %d, not 1", what,
		      off, ret);
}

static void record(struct series *s, long long ns)
{
	s->ns[s->n++] = ns;
}

/* One untimed cold read to start, then @n timed ones: io_submit() only. */
static void handoff_batch(io_context_t ctx, void *buf, unsigned int n, struct series *s)
{
	for (unsigned int i = 0; i <= n; i++) {
		uint64_t off = cold.base + cold.next * opt.stride;
		struct iocb cb;
		long long ns;

		if (cold.next++ >= cold.reads)
			fatal("internal error: more cold reads than were planned");
		ensure_cold(off);
		io_prep_pread(&cb, cold.fd, buf, READ_SIZE, off);
		submit(ctx, &cb, opt.cold, off, &ns);
		reap(ctx, &cb, opt.cold, off);
		if (i)
			record(s, ns);
	}
}

/* One untimed round trip to start, then @n timed ones: io_submit() + io_getevents(). */
static void cached_batch(io_context_t ctx, void *buf, unsigned int n, struct series *s)
{
	for (unsigned int i = 0; i <= n; i++) {
		uint64_t off = cached.next++ % cached.pages * READ_SIZE;
		struct iocb cb;
		long long t0, ns;

		io_prep_pread(&cb, cached.fd, buf, READ_SIZE, off);
		t0 = now_ns();
		submit(ctx, &cb, cached.name, off, &ns);
		reap(ctx, &cb, cached.name, off);
		ns = now_ns() - t0;
		if (i)
			record(s, ns);
	}
}

/* ---- pipe and wakeup ---- */

static void run_pipe(struct series *s)
{
	int ping[2], pong[2], status;
	char c = 'p';
	pid_t pid, w;

	if (pipe2(ping, O_CLOEXEC) || pipe2(pong, O_CLOEXEC))
		fatal("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (!pid) {
		/* The other end: echo each byte until end of file; never exit() (atexit). */
		close(ping[1]);
		close(pong[0]);
		for (;;) {
			ssize_t r = read(ping[0], &c, 1);

			if (!r)
				_exit(0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 || write(pong[1], &c, 1) != 1) {
				fprintf(stderr, "%s: pipe: the other process: %s: %s\n", PROG,
					r < 0 ? "read" : "write", strerror(errno));
				_exit(1);
			}
		}
	}
	close(ping[0]);
	close(pong[1]);
	for (unsigned int i = 0; i <= opt.iterations; i++) {
		long long t0 = now_ns();
		ssize_t r;

		if (write(ping[1], &c, 1) != 1)
			fatal("pipe: write: %s", strerror(errno));
		do
			r = read(pong[0], &c, 1);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			fatal("pipe: read: %s", strerror(errno));
		if (!r)
			fatal("pipe: the other process closed its end");
		if (i)
			record(s, now_ns() - t0);
	}
	close(ping[1]);
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		fatal("pipe: waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fatal("pipe: the other process failed (wait status %#x)", status);
	close(pong[0]);
}

/* Whose turn it is: 0 the measuring thread's, 1 the other thread's, 2 the end. */
static atomic_int turn;

static void futex_wait(int val)
{
	if (syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0) &&
	    errno != EAGAIN && errno != EINTR)
		fatal("futex(FUTEX_WAIT_PRIVATE): %s", strerror(errno));
}

static void futex_wake(void)
{
	if (syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0)
		fatal("futex(FUTEX_WAKE_PRIVATE): %s", strerror(errno));
}

static void *wakeup_main(void *arg)
{
	int v;

	(void)arg;
	for (;;) {
		while ((v = atomic_load(&turn)) == 0)
			futex_wait(0);
		if (v == 2)
			return NULL;
		atomic_store(&turn, 0);
		futex_wake();
	}
}

static void run_wakeup(struct series *s)
{
	pthread_t thread;
	int err;

	atomic_store(&turn, 0);
	err = pthread_create(&thread, NULL, wakeup_main, NULL);
	if (err)
		fatal("pthread_create: %s", strerror(err));
	for (unsigned int i = 0; i <= opt.iterations; i++) {
		long long t0 = now_ns();

		atomic_store(&turn, 1);
		futex_wake();
		while (atomic_load(&turn) == 1)
			futex_wait(1);
		if (i)
			record(s, now_ns() - t0);
	}
	atomic_store(&turn, 2);
	futex_wake();
	err = pthread_join(thread, NULL);
	if (err)
		fatal("pthread_join: %s", strerror(err));
}

/* ---- memory ---- */

/* What the kernel spends on threads and on little else: KernelStack + SUnreclaim, kB. */
static long kmem_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	long v, sum = 0;
	int seen = 0;

	if (!f)
		fatal("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "KernelStack: %ld kB", &v) == 1 ||
		    sscanf(line, "SUnreclaim: %ld kB", &v) == 1) {
			sum += v;
			seen++;
		}
	fclose(f);
	if (seen != 2)
		fatal("/proc/meminfo: no KernelStack or no SUnreclaim line");
	return sum;
}

/* Thread @tid of this process: its state and task->flags; false once it is gone. */
static bool task_stat(const char *tid, char *state, unsigned long *flags)
{
	char path[64], buf[1024], *p;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	/* After the comm, which may hold anything: state, 5 fields, flags. */
	p = strrchr(buf, ')');
	return p && sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", state, flags) == 2;
}

/* Threads of this process; in @asleep those asleep ('S'), in @parked the helpers among them. */
static unsigned int count_threads(unsigned int *asleep, unsigned int *parked)
{
	DIR *d = opendir("/proc/self/task");
	unsigned int n = 0;
	struct dirent *de;

	if (!d)
		fatal("/proc/self/task: %s", strerror(errno));
	*asleep = *parked = 0;
	while ((de = readdir(d))) {
		unsigned long flags;
		char state;

		if (de->d_name[0] == '.' || !task_stat(de->d_name, &state, &flags))
			continue;
		n++;
		if (state == 'S') {
			++*asleep;
			*parked += !!(flags & PF_USER_WORKER);
		}
	}
	closedir(d);
	return n;
}

/* What one side of the memory measurement found, sent from its process. */
struct mem_result {
	long base_kb;		/* before the first read */
	long blocked_kb;	/* with --blocked reads blocked */
	long parked_kb;		/* syslet: once the reads ended and their threads parked */
	unsigned int tasks;	/* threads with the reads blocked */
	unsigned int parked;	/* syslet: helpers parked at parked_kb */
};

static void alarm_ms(unsigned int ms)
{
	struct itimerval it = { .it_value = { ms / 1000, ms % 1000 * 1000 } };

	if (setitimer(ITIMER_REAL, &it, NULL))
		fatal("setitimer: %s", strerror(errno));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Waits until @n helpers are parked, at most SETTLE_MS; says what it found otherwise. */
static void wait_parked(unsigned int n, const char *when)
{
	long long deadline = now_ns() + SETTLE_MS * 1000000LL;
	unsigned int tasks, asleep, parked;

	for (;;) {
		tasks = count_threads(&asleep, &parked);
		if (parked >= n)
			return;
		if (now_ns() > deadline)
			fatal("memory: %s: %u of %u helpers parked after %d ms (%u threads, %u "
			      "asleep)", when, parked, n, SETTLE_MS, tasks, asleep);
		usleep(2000);
	}
}

static long raw_submit(io_context_t ctx, long nr, struct iocb **list)
{
	return syscall(SYS_io_submit, ctx, nr, list);
}

/* Reaps @n events of 1-byte reads of the pipes: read i got byte 'a' + i % 26. */
static void reap_pipe_reads(io_context_t ctx, unsigned int n, const char *bufs)
{
	struct io_event ev;
	unsigned int got = 0;
	struct timespec ts = { SETTLE_MS / 1000, 0 };

	while (got < n) {
		int r = io_getevents(ctx, 1, 1, &ev, &ts);
		unsigned int i = (unsigned int)(uintptr_t)ev.data;

		if (r == -EINTR)
			continue;
		if (r != 1)
			fatal("memory: io_getevents: %s after %u of %u events",
			      r < 0 ? strerror(-r) : "no event in time", got, n);
		if (i >= n || (long)ev.res != 1 || bufs[i] != 'a' + (char)(i % 26))
			fatal("memory: the event of read %u: res %ld, byte %#x", i, (long)ev.res,
			      i < n ? (unsigned char)bufs[i] : 0);
		got++;
	}
}

/*
 * The syslet side, in a process of its own (no helper before it): a
 * synchronous block first, which has the pool make helpers from then on;
 * then each read handed off to a helper parked beforehand, and a spare
 * parked at the end, as a process that keeps reads blocked has.
 */
static void memory_syslet(int (*pfd)[2], struct mem_result *res)
{
	unsigned int n = opt.blocked, asleep, parked;
	struct iocb *cbs = xcalloc(n + 1, sizeof(*cbs)), *list;
	char *bufs = xcalloc(n + 1, 1);
	struct sigaction sa = { .sa_handler = on_alarm };
	io_context_t ctx = 0;
	struct io_event ev;
	int err;

	err = io_queue_init((int)n + 1, &ctx);
	if (err)
		fatal("memory: io_queue_init: %s", strerror(-err));
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		fatal("sigaction: %s", strerror(errno));
	/* No helper yet: the read of pipe n waits until SIGALRM interrupts it. */
	io_prep_pread(&cbs[n], pfd[n][0], &bufs[n], 1, 0);
	cbs[n].data = (void *)(uintptr_t)n;
	list = &cbs[n];
	alarm_ms(100);
	if (raw_submit(ctx, 1, &list) != 1)
		fatal("memory: io_submit of the first read: %s", strerror(errno));
	alarm_ms(0);
	do
		err = io_getevents(ctx, 1, 1, &ev, NULL);
	while (err == -EINTR);
	if (err != 1 || (long)ev.res != -EINTR)
		fatal("memory: the first read, which no helper could take: %d events, res %ld "
		      "(not -EINTR)", err, err == 1 ? (long)ev.res : 0L);
	usleep(100000);
	res->base_kb = kmem_kb();
	for (unsigned int i = 0; i <= n; i++) {
		/* An empty io_submit() has the pool make the helper the last read took. */
		if (raw_submit(ctx, 0, &list))
			fatal("memory: io_submit of no iocb: %s", strerror(errno));
		wait_parked(1, "before a read");
		if (i == n)
			break;
		io_prep_pread(&cbs[i], pfd[i][0], &bufs[i], 1, 0);
		cbs[i].data = (void *)(uintptr_t)i;
		list = &cbs[i];
		alarm_ms(HANDOFF_MS);
		if (raw_submit(ctx, 1, &list) != 1)
			fatal("memory: io_submit of read %u: %s", i, strerror(errno));
		alarm_ms(0);
		/* Handed off: io_submit() returned and the read still waits. */
		err = io_getevents(ctx, 0, 1, &ev, &(struct timespec){ 0, 0 });
		if (err)
			fatal("memory: read %u was not handed off: io_submit() returned with %d "
			      "events, res %ld", i, err, err == 1 ? (long)ev.res : 0L);
	}
	usleep(100000);
	res->blocked_kb = kmem_kb();
	res->tasks = count_threads(&asleep, &parked);
	for (unsigned int i = 0; i < n; i++) {
		char c = 'a' + (char)(i % 26);

		if (write(pfd[i][1], &c, 1) != 1)
			fatal("memory: write to pipe %u: %s", i, strerror(errno));
	}
	reap_pipe_reads(ctx, n, bufs);
	/* Every thread but this one, once each has parked. */
	wait_parked(res->tasks - 1, "after the reads");
	usleep(100000);
	res->parked_kb = kmem_kb();
	count_threads(&asleep, &res->parked);
	io_queue_release(ctx);
}

struct blocked_thread {
	pthread_t thread;
	int fd;
	char c;
};

static atomic_uint threads_in;

static void *blocked_main(void *arg)
{
	struct blocked_thread *t = arg;
	ssize_t r;

	atomic_fetch_add(&threads_in, 1);
	do
		r = read(t->fd, &t->c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		t->c = 0;
	return NULL;
}

/* The threads side, in a process of its own: a thread blocked in read() per pipe. */
static void memory_threads(int (*pfd)[2], struct mem_result *res)
{
	unsigned int n = opt.blocked, tasks, asleep, parked;
	struct blocked_thread *t = xcalloc(n, sizeof(*t));
	long long deadline;
	int err;

	usleep(100000);
	res->base_kb = kmem_kb();
	for (unsigned int i = 0; i < n; i++) {
		t[i].fd = pfd[i][0];
		err = pthread_create(&t[i].thread, NULL, blocked_main, &t[i]);
		if (err)
			fatal("memory: pthread_create %u: %s", i, strerror(err));
	}
	deadline = now_ns() + SETTLE_MS * 1000000LL;
	for (;;) {
		tasks = count_threads(&asleep, &parked);
		if (atomic_load(&threads_in) == n && tasks == n + 1 && asleep >= n)
			break;
		if (now_ns() > deadline)
			fatal("memory: %u of %u threads in read() after %d ms (%u threads, %u "
			      "asleep)", atomic_load(&threads_in), n, SETTLE_MS, tasks, asleep);
		usleep(2000);
	}
	usleep(100000);
	res->blocked_kb = kmem_kb();
	res->tasks = tasks;
	for (unsigned int i = 0; i < n; i++) {
		char c = 'a' + (char)(i % 26);

		if (write(pfd[i][1], &c, 1) != 1)
			fatal("memory: write to pipe %u: %s", i, strerror(errno));
	}
	for (unsigned int i = 0; i < n; i++) {
		err = pthread_join(t[i].thread, NULL);
		if (err)
			fatal("memory: pthread_join %u: %s", i, strerror(err));
		if (t[i].c != 'a' + (char)(i % 26))
			fatal("memory: thread %u read %#x", i, (unsigned char)t[i].c);
	}
	free(t);
}

/*
 * Runs @side in a new process with --blocked + 1 pipes made before it
 * measures anything; its result comes back over another pipe.
 */
static void memory_side(void (*side)(int (*)[2], struct mem_result *), struct mem_result *res)
{
	unsigned int n = opt.blocked;
	int (*pfd)[2] = xcalloc(n + 1, sizeof(*pfd)), back[2], status;
	pid_t pid, w;

	for (unsigned int i = 0; i <= n; i++)
		if (pipe2(pfd[i], O_CLOEXEC))
			fatal("memory: pipe: %s (--blocked %u needs %u pipes)", strerror(errno), n,
			      n + 1);
	if (pipe2(back, O_CLOEXEC))
		fatal("memory: pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fatal("memory: fork: %s", strerror(errno));
	if (!pid) {
		struct mem_result r = { 0 };

		side(pfd, &r);
		if (write(back[1], &r, sizeof(r)) != sizeof(r))
			fatal("memory: sending the result: %s", strerror(errno));
		/* The helpers exit with the process; nothing of the parent's atexit(). */
		_exit(0);
	}
	close(back[1]);
	if (read(back[0], res, sizeof(*res)) != sizeof(*res))
		res->tasks = 0;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		fatal("memory: waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) || !res->tasks)
		fatal("memory: the measuring process failed (wait status %#x)", status);
	close(back[0]);
	for (unsigned int i = 0; i <= n; i++) {
		close(pfd[i][0]);
		close(pfd[i][1]);
	}
	free(pfd);
}

/*
 * The mode the syslet side runs under: the first of --modes that hands
 * off, or the current one if it does; -1 with the reason in @why if none.
 */
static int memory_mode(const char **why)
{
	for (unsigned int m = 0; m < nr_modes; m++)
		if (modes[m].value > 0)
			return (int)m;
	if (nr_modes == 1 && modes[0].value < 0) {
		if (no_sysctl)
			*why = "this kernel has no fs.aio-syslet";
		else if (read_sysctl(-1) > 0)
			return 0;
		else
			*why = "fs.aio-syslet is 0 (--modes current)";
		return -1;
	}
	*why = "--modes has no mode that hands off (1 or 2)";
	return -1;
}

/* A syslet side needs --blocked helpers, the spare and the first thread's. */
static void check_max_threads(void)
{
	FILE *f = fopen(MAX_THREADS_SYSCTL, "re");
	long max;

	if (!f)
		return;
	if (fscanf(f, "%ld", &max) != 1)
		fatal("%s: not a number", MAX_THREADS_SYSCTL);
	fclose(f);
	if (max < (long)opt.blocked + 2)
		usage_error("--blocked %u needs %u helpers, more than %s allows (%ld)",
			    opt.blocked, opt.blocked + 2, MAX_THREADS_SYSCTL, max);
}

/* ---- results ---- */

struct summary {
	double median, mean, p99, min;	/* microseconds */
};

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static struct summary summarize(struct series *s)
{
	struct summary r;
	double sum = 0;
	unsigned int n = s->n, p99;

	qsort(s->ns, n, sizeof(*s->ns), cmp_ll);
	for (unsigned int i = 0; i < n; i++)
		sum += s->ns[i];
	r.median = (n % 2 ? s->ns[n / 2] : (s->ns[n / 2 - 1] + s->ns[n / 2]) / 2.0) / 1e3;
	r.mean = sum / n / 1e3;
	p99 = (unsigned int)(((uint64_t)n * 99 + 99) / 100);	/* nearest rank */
	r.p99 = s->ns[p99 - 1] / 1e3;
	r.min = s->ns[0] / 1e3;
	return r;
}

int main(int argc, char **argv)
{
	struct summary sum[NR_MEAS][MAX_MODES];
	bool run[NR_MEAS], ran[NR_MEAS][MAX_MODES] = { { false } };
	static const char *const what[NR_MEAS] = {
		"io_submit() of a cold 4 KiB buffered read, from entry to return",
		"io_submit() + io_getevents() of a cached 4 KiB buffered read",
		"1-byte ping-pong between two processes over two pipes",
		"futex wait/wake ping-pong between two threads",
		"KernelStack + SUnreclaim per read of an empty pipe blocked: handed off "
		"by io_submit(), and in read() of a thread each",
	};
	int m0 = -1, m1 = -1, mem_mode = -1;
	struct mem_result mem[2] = { { 0 } };

	parse_args(argc, argv);
	page_size = sysconf(_SC_PAGESIZE);
	if (page_size <= 0)
		fatal("sysconf(_SC_PAGESIZE): %s", strerror(errno));
	for (int i = 0; i < NR_MEAS; i++)
		run[i] = opt.only & 1U << i;
	setup_signals();
	printf("%s: %u iterations per measurement and mode, in %u rounds\n", PROG,
	       opt.iterations, opt.rounds);
	if (run[HANDOFF] && !opt.cold) {
		printf("# handoff: skipped: no -f/--cold FILE given\n");
		run[HANDOFF] = false;
	}
	for (int i = 0; i < NR_MEAS; i++)
		if (run[i])
			printf("# %s: %s\n", meas_names[i], what[i]);
	if (!run[HANDOFF] && !run[CACHED] && !run[PIPE] && !run[WAKEUP] && !run[MEMORY]) {
		printf("# nothing left to measure\n");
		return 0;
	}
	/* Every path first, so that a wrong one fails before anything else. */
	if (run[HANDOFF])
		cold.fd = open_file(opt.cold, &cold.size, &cold.regular);
	if (run[CACHED] && opt.cached) {
		bool regular;

		cached.fd = open_file(opt.cached, &cached.size, &regular);
	}
	if (run[HANDOFF] || run[CACHED] || run[MEMORY])
		setup_sysctl();
	if (run[HANDOFF] || run[CACHED]) {
		io_context_t ctx = 0;
		void *buf = alloc_buf(READ_SIZE);
		int err;

		if (run[HANDOFF])
			prepare_cold((uint64_t)nr_modes * (opt.iterations + opt.rounds));
		if (run[CACHED])
			prepare_cached();
		for (unsigned int m = 0; m < nr_modes; m++) {
			if (run[HANDOFF])
				results[HANDOFF][m].ns = xcalloc(opt.iterations, sizeof(long long));
			if (run[CACHED])
				results[CACHED][m].ns = xcalloc(opt.iterations, sizeof(long long));
		}
		err = io_queue_init(4, &ctx);
		if (err)
			fatal("io_queue_init: %s", strerror(-err));
		fflush(stdout);
		for (unsigned int r = 0; r < opt.rounds; r++) {
			unsigned int n = opt.iterations / opt.rounds;

			n += r < opt.iterations % opt.rounds;
			for (unsigned int k = 0; k < nr_modes; k++) {
				unsigned int m = r % 2 ? nr_modes - 1 - k : k;

				set_mode(&modes[m]);
				if (run[CACHED])
					cached_batch(ctx, buf, n, &results[CACHED][m]);
				if (run[HANDOFF])
					handoff_batch(ctx, buf, n, &results[HANDOFF][m]);
			}
		}
		err = io_queue_release(ctx);
		if (err)
			fatal("io_queue_release: %s", strerror(-err));
		free(buf);
		for (unsigned int m = 0; m < nr_modes; m++) {
			ran[HANDOFF][m] = run[HANDOFF];
			ran[CACHED][m] = run[CACHED];
			if (modes[m].value == 0)
				m0 = m;
			if (modes[m].value == 1)
				m1 = m;
		}
	}
	if (run[MEMORY]) {
		const char *why = NULL;

		mem_mode = memory_mode(&why);
		if (mem_mode >= 0) {
			check_max_threads();
			set_mode(&modes[mem_mode]);
			memory_side(memory_syslet, &mem[0]);
		} else {
			printf("# memory: no syslet side: %s\n", why);
		}
		memory_side(memory_threads, &mem[1]);
	}
	restore_sysctl();
	if (run[PIPE]) {
		results[PIPE][0].ns = xcalloc(opt.iterations, sizeof(long long));
		run_pipe(&results[PIPE][0]);
		ran[PIPE][0] = true;
	}
	if (run[WAKEUP]) {
		results[WAKEUP][0].ns = xcalloc(opt.iterations, sizeof(long long));
		run_wakeup(&results[WAKEUP][0]);
		ran[WAKEUP][0] = true;
	}

	if (run[HANDOFF] || run[CACHED] || run[PIPE] || run[WAKEUP])
		printf("\n%-12s %-13s %8s %11s %11s %11s %11s\n", "measurement", "mode", "n",
		       "median us", "mean us", "p99 us", "min us");
	for (int i = 0; i < NR_MEAS; i++) {
		for (unsigned int m = 0; m < MAX_MODES; m++) {
			if (!ran[i][m])
				continue;
			sum[i][m] = summarize(&results[i][m]);
			printf("%-12s %-13s %8u %11.2f %11.2f %11.2f %11.2f\n", meas_names[i],
			       i == PIPE || i == WAKEUP ? "-" : modes[m].label, results[i][m].n,
			       sum[i][m].median, sum[i][m].mean, sum[i][m].p99, sum[i][m].min);
		}
	}
	printf("\n");
	for (int i = 0; i < NR_MEAS; i++)
		for (unsigned int m = 0; m < MAX_MODES; m++)
			if (ran[i][m])
				printf("microbench %s mode=%s n=%u median_us=%.2f mean_us=%.2f "
				       "p99_us=%.2f min_us=%.2f\n", meas_names[i],
				       i == PIPE || i == WAKEUP ? "-" : modes[m].label,
				       results[i][m].n, sum[i][m].median, sum[i][m].mean,
				       sum[i][m].p99, sum[i][m].min);
	if (run[MEMORY]) {
		unsigned int n = opt.blocked;
		double per[2];

		for (int k = 0; k < 2; k++)
			per[k] = (double)(mem[k].blocked_kb - mem[k].base_kb) / n;
		printf("\n%-12s %-13s %8s %8s %11s %8s %11s\n", "memory", "mode", "blocked",
		       "threads", "kB/blocked", "parked", "kB/parked");
		if (mem_mode >= 0)
			printf("%-12s %-13s %8u %8u %11.1f %8u %11.1f\n", "", modes[mem_mode].label,
			       n, mem[0].tasks, per[0], mem[0].parked,
			       (double)(mem[0].parked_kb - mem[0].base_kb) / mem[0].parked);
		printf("%-12s %-13s %8u %8u %11.1f %8s %11s\n\n", "", "threads", n, mem[1].tasks,
		       per[1], "-", "-");
		if (mem_mode >= 0)
			printf("microbench memory mode=%s blocked=%u tasks=%u kb_per_blocked=%.1f "
			       "parked=%u kb_per_parked=%.1f\n", modes[mem_mode].label, n,
			       mem[0].tasks, per[0], mem[0].parked,
			       (double)(mem[0].parked_kb - mem[0].base_kb) / mem[0].parked);
		printf("microbench memory mode=threads blocked=%u tasks=%u kb_per_blocked=%.1f\n", n,
		       mem[1].tasks, per[1]);
		/* Slab freed meanwhile can make a difference 0 or less: no ratio then. */
		if (mem_mode >= 0 && per[1] > 0)
			printf("microbench ratio memory syslet/threads=%.3f\n", per[0] / per[1]);
	}
	if (m0 >= 0 && m1 >= 0) {
		static const enum meas order[] = { CACHED, HANDOFF };

		for (unsigned int j = 0; j < 2; j++) {
			enum meas i = order[j];

			/* Never a division by 0, even with a clock coarser than the operations. */
			if (ran[i][m0])
				printf("microbench ratio %s mode1/mode0=%.3f\n", meas_names[i],
				       sum[i][m1].median / (sum[i][m0].median ?: 0.001));
		}
	}
	if (fflush(stdout) || ferror(stdout))
		fatal("writing the results: %s", strerror(errno));
	return 0;
}
