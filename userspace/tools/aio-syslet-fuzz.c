// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * aio-syslet-fuzz: a seeded differential fuzzer of io_submit().
 *
 * Batch N of seed S is a pure function of (S, N), given the host's ring
 * sizes and the options --device and --independent: a context size, its
 * targets (fresh pattern files, some out of the page cache, an O_DIRECT
 * file, pipes, a socketpair, an eventfd, a closed fd, fd -1, optionally a
 * block device) and 0 to ring size + 1 iocbs mixing every opcode, flag and
 * buffer kind, valid or not.  The batch runs twice on fresh identical
 * state, with fs.aio-syslet=1 and with 0, and all a program can see must
 * be the same: what io_submit() returned, the events, the files, the data
 * read, the eventfd counters.  Syslets may change timing, nothing else.
 *
 * Where stock itself leaves a result to timing, the batches stay out, so
 * that a difference is a finding rather than noise: the process runs on
 * one CPU (free ring slots are cached per CPU, so a full ring's count
 * depends on where the submitter ran), O_DIRECT iocbs of a batch never
 * overlap (stock runs them concurrently), and RWF_NOWAIT goes only where
 * nothing else in the batch can change its answer.
 *
 * Raw syscalls: libaio's io_submit() may loop on short counts and would
 * hide what the kernel returned.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PROG		"aio-syslet-fuzz"
#define EXIT_USAGE	2
#define SYSLET_SYSCTL	"/proc/sys/fs/aio-syslet"
#define AIO_RING_MAGIC	0xa10a10a1U
/* aio_data of iocb i is DATA_TAG | i: an event with other data is none of ours. */
#define DATA_TAG	0x5f5a000000000000ULL
#define QUIET_MS	500		/* reaping ends this long after the last event */
#define CAP_MS		30000		/* ... and a non-POLL iocb must complete within this */
#define MAX_NR_EVENTS	64
#define MAX_SEGS	4		/* iovec segments of a vectored iocb */
#define MAX_LEN		65536		/* bytes of one buffer */
#define SEG_LEN		16384		/* bytes of one iovec segment */
#define SLOT		8192		/* an O_DIRECT iocb's own region of its file */
#define ODD_SIZE	(2 * MAX_LEN)	/* the read-only and the unmapped area */
#define DEV_REGION	(1 << 20)	/* bytes of --device used */
#define MAX_REPORTS	5		/* full reports; later differences get one line */
#define MAX_REPINS	4		/* runs of a batch whose CPU keeps going off line */
#define MAX_DYING	8		/* io_destroy() calls in flight */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* aio_rw_flags bits of 6.12, by value: the host's headers may predate some. */
static const struct { const char *name; uint32_t bit; } rwf[] = {
	{ "HIPRI", 0x01 }, { "DSYNC", 0x02 }, { "SYNC", 0x04 }, { "NOWAIT", 0x08 },
	{ "APPEND", 0x10 }, { "NOAPPEND", 0x20 }, { "ATOMIC", 0x40 },
	{ "UNKNOWN", 1U << 30 },	/* no kernel has it */
};
#define RWF_NOWAIT_BIT	0x08
#define RWF_APPEND_BIT	0x10
#define RWF_NOAPPEND_BIT 0x20
#define RWF_ATOMIC_BIT	0x40
#define RWF_UNKNOWN_BIT	(1U << 30)

enum op { OP_PREAD, OP_PWRITE, OP_PREADV, OP_PWRITEV, OP_FSYNC, OP_FDSYNC, OP_POLL,
	  OP_BADOP, OP_BADPTR, NR_OPS };

static const struct op_info {
	const char *name;
	unsigned weight;
	uint16_t opcode;
	bool rw, vec, write;
} ops[NR_OPS] = {
	[OP_PREAD]   = { "PREAD",   24, IOCB_CMD_PREAD,   true,  false, false },
	[OP_PWRITE]  = { "PWRITE",  20, IOCB_CMD_PWRITE,  true,  false, true },
	[OP_PREADV]  = { "PREADV",  11, IOCB_CMD_PREADV,  true,  true,  false },
	[OP_PWRITEV] = { "PWRITEV", 10, IOCB_CMD_PWRITEV, true,  true,  true },
	[OP_FSYNC]   = { "FSYNC",    6, IOCB_CMD_FSYNC },
	[OP_FDSYNC]  = { "FDSYNC",   6, IOCB_CMD_FDSYNC },
	[OP_POLL]    = { "POLL",    14, IOCB_CMD_POLL },
	[OP_BADOP]   = { "BADOP" },		/* an opcode from bad_opcodes[] */
	[OP_BADPTR]  = { "BADPTR" },		/* the iocb pointer is unmapped */
};
static const uint16_t bad_opcodes[] = { 4 /* was PREADX */, IOCB_CMD_NOOP, 9, 0xffff };

enum kind { K_FILE, K_DIRECT, K_PIPE, K_SOCK, K_EVENTFD, K_DEVICE, K_CLOSED, K_MINUS1, NR_KINDS };

static const struct kind_info {
	const char *name;
	unsigned weight;
	unsigned shared;	/* how many a batch has, --independent aside */
	bool stateful;		/* iocbs on it see each other: one iocb each with --independent */
} kinds[NR_KINDS] = {
	[K_FILE]    = { "file",    40, 4, true },
	[K_DIRECT]  = { "direct",  10, 1, true },
	[K_PIPE]    = { "pipe",    16, 2, true },
	[K_SOCK]    = { "sock",    10, 1, true },
	[K_EVENTFD] = { "eventfd",  8, 1, true },
	[K_DEVICE]  = { "device",  10, 1, true },	/* weight 0 without --device */
	[K_CLOSED]  = { "closed",   3, 1, false },
	[K_MINUS1]  = { "fd-1",     2, 1, false },
};

enum buf { B_NORMAL, B_UNMAPPED, B_READONLY, B_NULL, NR_BUFS };
static const char *const buf_names[NR_BUFS] = { "normal", "unmapped", "readonly", "null" };
static const unsigned buf_weights[NR_BUFS] = { 85, 5, 5, 5 };

/* The iovec array of a vectored iocb. */
enum iov { IOV_OK, IOV_TOO_MANY, IOV_UNMAPPED, IOV_NULL };

/* Where an iocb with IOCB_FLAG_RESFD signals. */
enum resfd { R_NONE = -1, R_EFD0, R_EFD1, R_CLOSED, R_NOT_EVENTFD, NR_RESFDS };
static const char *const resfd_names[NR_RESFDS] = { "resfd0", "resfd1", "closed", "not-eventfd" };

/* The one thing that makes io_submit() refuse an iocb of a faulty batch. */
enum fault { F_NONE, F_OPCODE, F_IOCBPTR, F_FD, F_TARGET, F_RWFLAGS, F_IOPRIO, F_RESFD,
	     F_OFFSET, F_IOV, F_FIELDS, NR_FAULTS };

/* IOPRIO_PRIO_VALUE(class, level): valid ones (RT needs root) and refused ones. */
static const uint16_t good_prios[] = { 0, 2 << 13, 2 << 13 | 4, 2 << 13 | 7, 3 << 13, 1 << 13, 1 << 13 | 7 };
static const uint16_t bad_prios[] = { 4 << 13, 7 << 13 | 7, 0xffff };

static const struct { const char *name; uint16_t events; unsigned weight; } polls[] = {
	{ "IN", POLLIN, 30 }, { "OUT", POLLOUT, 25 }, { "IN|OUT", POLLIN | POLLOUT, 20 },
	{ "PRI", POLLPRI, 2 }, { "none", 0, 3 },	/* only ERR|HUP: never ready */
	{ "RDNORM|WRNORM", POLLRDNORM | POLLWRNORM, 10 },
};

struct target {
	enum kind kind;
	unsigned id;		/* among the batch's targets of its kind */
	unsigned users;		/* iocbs on it */
	bool cold;		/* FILE, DEVICE: dropped from the page cache */
	bool no_readahead;	/* FILE: POSIX_FADV_RANDOM */
	bool rdonly;		/* FILE: opened O_RDONLY */
	uint32_t size;		/* FILE, DIRECT: bytes */
	uint32_t fill[2];	/* PIPE: bytes queued; SOCK: bytes queued to each end */
	uint64_t count;		/* EVENTFD: initial counter */
	unsigned slots, next_slot; /* DIRECT: SLOT regions, handed out in order */
	bool eof_taken;		/* DIRECT: one iocb has the region at and past EOF */
	int fd[2];		/* in the current run */
};

struct seg {
	enum buf kind;
	uint32_t len;
	uint32_t misalign;	/* added to the address */
	size_t at;		/* B_NORMAL: offset in the batch's arena */
};

struct spec {
	enum op op;
	uint16_t opcode;
	int target;		/* index in batch.t; -1 for BADPTR */
	unsigned end;		/* PIPE: 0 read end, 1 write end; SOCK: which socket */
	uint32_t rw_flags;
	enum resfd resfd;
	int ioprio;		/* -1: no IOCB_FLAG_IOPRIO */
	int64_t offset;
	uint64_t nbytes;	/* as the kernel sees it: bytes, or the iovec count */
	uint16_t events;	/* POLL */
	bool reserved2;		/* aio_reserved2 set */
	enum iov iov;
	unsigned nsegs;
	struct seg seg[MAX_SEGS];
	size_t iov_at;		/* vectored: the iovec array's offset in the arena */
};

struct batch {
	unsigned long index;
	uint64_t seed;		/* of the file and buffer contents */
	unsigned nr_events, ring, n, nt;
	unsigned bad_pct;	/* the iocbs with a fault, in percent */
	struct spec *spec;
	struct target *t;
	size_t arena_size;
	unsigned char *arena;	/* buffers and iovecs, at the same address in both runs */
	struct iocb *cb;
	struct iocb **cbp;
	char *desc;
};

struct blob {
	size_t len;
	unsigned char *data;
};

/* What one run of a batch showed. */
struct outcome {
	long *calls;		/* each io_submit() return, or -errno */
	unsigned ncalls, shorts;
	unsigned in;		/* iocbs that went in */
	int err;		/* what stopped submitting: errno, 0 nothing, -1 a return of 0 */
	struct io_event *ev;	/* per iocb */
	unsigned char *nev;	/* per iocb: events seen */
	char problem[256];	/* the first thing wrong within the run */
	struct blob *state;	/* per target, two each */
	uint64_t resfd[2];
	unsigned char *arena;
	unsigned cold_ops;
};

struct rng {
	uint64_t s;
};

static struct {
	uint64_t seed;
	unsigned long batches, only;
	bool batches_given, only_given, dir_given;
	double seconds;
	const char *dir, *device;
	bool allow_short, independent, verbose;
} opt = { .batches = 100 };

static char workdir[PATH_MAX];
static int workdir_fd = -1;
static int sysctl_orig = -1;		/* fs.aio-syslet at start */
static char sysctl_orig_str[24];
static bool can_switch;			/* root on a syslet kernel: the two runs differ */
static volatile sig_atomic_t stop_sig;
static long cur_batch = -1;
static int closed_fd;
static unsigned char *ro_area, *unmapped_area, *chunk;
static uint64_t dev_size;
static uint32_t dev_region;
static bool odirect_ok = true;
static unsigned ring_cache[MAX_NR_EVENTS + 1];
static int run_efd[2] = { -1, -1 }, run_devnull = -1;

static void vdie(int status, const char *fmt, va_list ap) __attribute__((noreturn, format(printf, 2, 0)));
static void usage(FILE *f);

static void vdie(int status, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", PROG);
	if (status != EXIT_USAGE && cur_batch >= 0)
		fprintf(stderr, "seed %" PRIu64 " batch %ld: ", opt.seed, cur_batch);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (status == EXIT_USAGE)
		usage(stderr);
	exit(status);
}

static void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_USAGE, fmt, ap);
}

static void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, fmt, ap);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: note: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		fatal("out of memory");
	return p;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* "EAGAIN", or "errno 123"; four calls may share one printf. */
static const char *errname(int err)
{
	static char bufs[4][24];
	static unsigned next;
	const char *s = NULL;

#ifdef HAVE_STRERRORNAME_NP
	s = strerrorname_np(err);
#endif
	if (s)
		return s;
	next = (next + 1) % 4;
	snprintf(bufs[next], sizeof(bufs[next]), "errno %d", err);
	return bufs[next];
}

/*
 * io_destroy() waits for RCU grace periods, some 30 ms a call: threads
 * make it while the next run goes on.  No run needs to wait: by then
 * every iocb but a pending POLL (which it cancels) completed and the
 * run's state is read.
 */
static pthread_t dying[MAX_DYING];
static unsigned nr_dying;

static void *destroy_ctx(void *ctx)
{
	if (syscall(__NR_io_destroy, (aio_context_t)(uintptr_t)ctx))
		fatal("io_destroy: %s", strerror(errno));
	return NULL;
}

static void destroy_later(aio_context_t ctx)
{
	pthread_t *slot = &dying[nr_dying % MAX_DYING];
	sigset_t all, old;
	int err;

	if (nr_dying++ >= MAX_DYING)
		pthread_join(*slot, NULL);
	/* Signals stay with the main thread: its io_getevents() returns EINTR. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(slot, NULL, destroy_ctx, (void *)(uintptr_t)ctx);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		fatal("pthread_create: %s", strerror(err));
}

static void wait_destroyed(void)
{
	for (unsigned i = 0; i < nr_dying && i < MAX_DYING; i++)
		pthread_join(dying[i], NULL);
	nr_dying = 0;
}

/* splitmix64 */
static uint64_t rnd64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* In [0, n); 0 when n is 0. */
static uint32_t rnd(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd64(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned pct)
{
	return rnd(r, 100) < pct;
}

static unsigned pick(struct rng *r, const unsigned *weights, unsigned n)
{
	unsigned total = 0, x;

	for (unsigned i = 0; i < n; i++)
		total += weights[i];
	x = rnd(r, total);
	for (unsigned i = 0; i < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}

/* Byte @off of the pattern @seed (files, pipe contents, buffers). */
static void fill_pattern(unsigned char *p, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9e3779b97f4a7c15ULL + seed;

		x ^= x >> 29;
		p[i] = (unsigned char)(x ^ (x >> 8));
	}
}

/* ---- fs.aio-syslet ---- */

/* Async-signal-safe: the signal handler puts the original value back with it. */
static int write_sysctl(const char *value)
{
	int fd = open(SYSLET_SYSCTL, O_WRONLY | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(value), w;

	if (fd < 0)
		return -1;
	w = write(fd, value, (size_t)len);
	close(fd);
	return w == len ? 0 : -1;
}

static void set_syslet(bool on)
{
	if (!can_switch || stop_sig)
		return;
	if (write_sysctl(on ? "1\n" : "0\n"))
		fatal("writing %d to %s: %s", on, SYSLET_SYSCTL, strerror(errno));
}

static void setup_sysctl(void)
{
	FILE *f = fopen(SYSLET_SYSCTL, "r");
	int fd;

	if (!f) {
		note("kernel without %s: both runs use stock io_submit", SYSLET_SYSCTL);
		return;
	}
	if (fscanf(f, "%d", &sysctl_orig) != 1)
		fatal("%s: not a number", SYSLET_SYSCTL);
	fclose(f);
	snprintf(sysctl_orig_str, sizeof(sysctl_orig_str), "%d\n", sysctl_orig);
	if (geteuid() != 0) {
		note("not root, fs.aio-syslet stays %d: both runs use %s io_submit", sysctl_orig,
		     sysctl_orig ? "syslet" : "stock");
		return;
	}
	/*
	 * The suite's syslet cases hold this lock shared (exclusive when they
	 * change the knob): none of them runs while the knob flips here.
	 */
	fd = open(SYSLET_SYSCTL, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fatal("%s: %s", SYSLET_SYSCTL, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		note("waiting for the syslet tests that hold %s", SYSLET_SYSCTL);
		while (flock(fd, LOCK_EX))
			if (errno != EINTR)
				fatal("flock %s: %s", SYSLET_SYSCTL, strerror(errno));
	}
	if (write_sysctl(sysctl_orig_str)) {
		note("cannot write %s (%s): both runs use %s io_submit", SYSLET_SYSCTL,
		     strerror(errno), sysctl_orig ? "syslet" : "stock");
		return;
	}
	can_switch = true;	/* fd stays open: the lock lasts until exit */
}

static void on_signal(int sig)
{
	if (can_switch)
		write_sysctl(sysctl_orig_str);
	stop_sig = sig;
}

/* At exit: the original fs.aio-syslet, and no file left behind. */
static void cleanup(void)
{
	DIR *d;
	struct dirent *e;

	if (can_switch && write_sysctl(sysctl_orig_str))
		fprintf(stderr, "%s: could not put back %s = %d: %s\n", PROG, SYSLET_SYSCTL,
			sysctl_orig, strerror(errno));
	if (workdir_fd < 0)
		return;
	d = fdopendir(dup(workdir_fd));
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(workdir_fd, e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(workdir);
}

/* ---- generation: a pure function of (seed, batch index) and the host's ring sizes ---- */

/* Events the ring of a context of @nr_events holds, read from the ring header. */
static unsigned ring_size(unsigned nr_events)
{
	aio_context_t ctx = 0;
	const unsigned *ring;

	if (ring_cache[nr_events])
		return ring_cache[nr_events];
	if (syscall(__NR_io_setup, nr_events, &ctx))
		fatal("io_setup(%u): %s", nr_events, strerror(errno));
	ring = (const unsigned *)(uintptr_t)ctx;
	if (ring[4] != AIO_RING_MAGIC)
		fatal("io_setup(%u): no ring header (magic %#x) at the context address", nr_events,
		      ring[4]);
	ring_cache[nr_events] = ring[1];
	destroy_later(ctx);
	return ring_cache[nr_events];
}

static unsigned new_target(struct batch *b, struct rng *r, enum kind k, bool writes)
{
	struct target *t = &b->t[b->nt];
	unsigned c = rnd(r, 100);

	t->kind = k;
	for (unsigned i = 0; i < b->nt; i++)
		t->id += b->t[i].kind == k;
	switch (k) {
	case K_FILE:
		t->size = c < 15 ? 1 + rnd(r, 4096) : c < 40 ? 16384 : c < 65 ? 65536 :
			  c < 85 ? 262144 : 100000 + rnd(r, 100000);
		t->cold = chance(r, 50);
		t->no_readahead = t->cold && chance(r, 50);
		t->rdonly = !writes && chance(r, 10);
		break;
	case K_DIRECT:
		t->slots = opt.independent ? 2 : 32;
		t->size = t->slots * SLOT;
		break;
	case K_PIPE:
		t->fill[0] = c < 40 ? 0 : c < 80 ? 1 + rnd(r, 4096) : MAX_LEN; /* 64k: full */
		break;
	case K_SOCK:
		t->fill[0] = chance(r, 50) ? 0 : 1 + rnd(r, 8192);
		t->fill[1] = chance(r, 50) ? 0 : 1 + rnd(r, 8192);
		break;
	case K_EVENTFD:
		t->count = c < 40 ? 0 : c < 80 ? 1 + rnd(r, 100) : 0xfffffffffffffffeULL; /* max */
		break;
	case K_DEVICE:
		t->cold = chance(r, 50);
		break;
	default:
		break;
	}
	return b->nt++;
}

/*
 * The target of iocb @s: a new one or one the batch has.  -1 when the
 * kind has no room (the device is taken with --independent, the O_DIRECT
 * file has no free region) or the file is read-only and @s writes.
 */
static int pick_target(struct batch *b, struct rng *r, enum kind k, const struct spec *s)
{
	bool writes = ops[s->op].write;
	unsigned have = 0, nth;
	bool fresh;

	for (unsigned i = 0; i < b->nt; i++)
		have += b->t[i].kind == k;
	if (!kinds[k].stateful)
		fresh = !have;
	else if (opt.independent)
		fresh = !(k == K_DEVICE && have);
	else
		fresh = have < kinds[k].shared && (!have || chance(r, 40));
	if (fresh)
		return (int)new_target(b, r, k, writes);
	if (opt.independent && kinds[k].stateful)
		return -1;
	nth = rnd(r, have);
	for (unsigned i = 0; i < b->nt; i++) {
		if (b->t[i].kind != k || nth--)
			continue;
		if (k == K_DIRECT && ops[s->op].rw && b->t[i].next_slot == b->t[i].slots)
			return -1;
		return b->t[i].rdonly && writes ? -1 : (int)i;
	}
	return -1;
}

/* Whether an iocb of @op on a @k can go in, that is, fails with no synchronous error. */
static bool kind_takes(enum kind k, enum op op)
{
	switch (k) {
	case K_CLOSED:
	case K_MINUS1:
		return false;
	case K_EVENTFD:		/* no ->write_iter, no ->fsync */
		return op == OP_POLL || (ops[op].rw && !ops[op].write);
	case K_PIPE:
	case K_SOCK:		/* no ->fsync */
		return op != OP_FSYNC && op != OP_FDSYNC;
	case K_DEVICE:
		return opt.device;
	default:
		return true;
	}
}

static bool file_like(enum kind k)
{
	return k == K_FILE || k == K_DIRECT || k == K_DEVICE;
}

static void choose_target(struct batch *b, struct rng *r, struct spec *s, enum fault f)
{
	const struct op_info *o = &ops[s->op];
	unsigned w[NR_KINDS];
	enum kind k;
	bool wrong_end = false;
	int t;

	for (unsigned i = 0; i < NR_KINDS; i++)
		w[i] = kind_takes(i, s->op) ? kinds[i].weight : 0;
	do {
		if (f == F_FD) {
			k = chance(r, 70) ? K_CLOSED : K_MINUS1;
		} else if (f == F_TARGET && o->rw) {
			/* The wrong end of a pipe; an eventfd has no ->write_iter. */
			k = o->write && chance(r, 50) ? K_EVENTFD : K_PIPE;
			wrong_end = true;
		} else if (f == F_TARGET) {
			k = s->op == OP_POLL ? K_FILE : chance(r, 50) ? K_PIPE : K_SOCK;
		} else {
			k = pick(r, w, NR_KINDS);
		}
		t = pick_target(b, r, k, s);
	} while (t < 0);
	s->target = t;
	b->t[t].users++;
	if (k == K_PIPE && o->rw)
		s->end = o->write ^ wrong_end;
	else
		s->end = rnd(r, 2);
}

static uint32_t gen_len(struct rng *r, enum kind k, uint32_t room)
{
	unsigned c = rnd(r, 100);

	switch (k) {
	case K_DIRECT:	/* sector multiples, some not */
		return c < 10 ? 0 : c < 80 ? 512 * (1 + rnd(r, room / 512)) : 1 + rnd(r, room);
	case K_EVENTFD:	/* 8 is the only size it takes */
		return c < 70 ? 8 : c < 80 ? 16 : c < 90 ? 4 : 0;
	case K_PIPE:
	case K_SOCK:
		return c < 5 ? 0 : c < 75 ? 1 + rnd(r, 4096) : 1 + rnd(r, room);
	default:
		return c < 5 ? 0 : c < 60 ? 1 + rnd(r, room < 8192 ? room : 8192) : 1 + rnd(r, room);
	}
}

/* A buffer: a bad one is no synchronous error, the event says -EFAULT. */
static void gen_seg(struct rng *r, enum kind k, uint32_t room, struct seg *s)
{
	s->kind = pick(r, buf_weights, NR_BUFS);
	s->len = gen_len(r, k, room);
	if (k == K_DIRECT)
		s->misalign = chance(r, 10) ? 1 : chance(r, 5) ? 256 : 0;
	else
		s->misalign = chance(r, 30) ? rnd(r, 64) : 0;
}

/* Offset, length and buffers of a read or write. */
static void gen_rw(struct batch *b, struct rng *r, struct spec *s, enum fault f)
{
	struct target *t = &b->t[s->target];
	uint32_t room = MAX_LEN, sub;
	unsigned c = rnd(r, 100);

	switch (t->kind) {
	case K_FILE:	/* past EOF, and past s_maxbytes: EFBIG for a write */
		s->offset = c < 55 ? (int64_t)(rnd(r, t->size + 1) & (chance(r, 50) ? ~511U : ~0U)) :
			    c < 65 ? 0 :
			    c < 75 ? (int64_t)t->size - rnd(r, t->size < 100 ? t->size : 100) :
			    c < 92 ? (int64_t)t->size + rnd(r, 16384) : (int64_t)1 << 62;
		break;
	case K_DIRECT:
		/* A region of its own: stock runs O_DIRECT iocbs concurrently. */
		sub = c < 85 ? 0 : c < 95 ? 512 : 1;
		room = SLOT - sub;
		s->offset = (int64_t)t->next_slot++ * SLOT + sub;
		if (chance(r, 10) && !t->eof_taken) {
			t->eof_taken = true;	/* reads past EOF see the extending writes */
			s->offset = (int64_t)t->size + (chance(r, 50) ? 0 : SLOT) + sub;
		}
		break;
	case K_DEVICE:
		s->offset = c < 88 ? (int64_t)(rnd(r, dev_region - MAX_LEN) & (chance(r, 50) ? ~511U : ~0U)) :
			    (int64_t)(dev_size + rnd(r, 4096));
		break;
	default:	/* streams ignore it */
		s->offset = c < 85 ? 0 : (int64_t)rnd(r, 1 << 20);
		break;
	}
	if (f == F_OFFSET)
		s->offset = chance(r, 50) ? -1 : chance(r, 50) ? -4096 : INT64_MIN;
	if (f == F_FIELDS)
		s->reserved2 = true;
	if (!ops[s->op].vec) {
		s->nsegs = 1;
		gen_seg(r, t->kind, room, &s->seg[0]);
		s->nbytes = s->seg[0].len;
		return;
	}
	if (f == F_IOV)
		s->iov = chance(r, 34) ? IOV_TOO_MANY : chance(r, 50) ? IOV_UNMAPPED : IOV_NULL;
	s->nsegs = rnd(r, MAX_SEGS + 1);
	s->nbytes = s->iov == IOV_TOO_MANY ? 1025 : s->nsegs;	/* UIO_MAXIOV + 1 */
	for (unsigned i = 0; i < s->nsegs; i++)
		gen_seg(r, t->kind, t->kind == K_DIRECT ? room / MAX_SEGS / 512 * 512 : SEG_LEN,
			&s->seg[i]);
}

/* The events @t has as a run starts; iocbs before a POLL may change them. */
static uint16_t ready_events(const struct target *t, unsigned end)
{
	switch (t->kind) {
	case K_PIPE:
		if (end)
			return t->fill[0] < MAX_LEN ? POLLOUT | POLLWRNORM : 0;
		return t->fill[0] ? POLLIN | POLLRDNORM : 0;
	case K_SOCK:
		return POLLOUT | POLLWRNORM | (t->fill[end] ? POLLIN | POLLRDNORM : 0);
	case K_EVENTFD:
		return (t->count ? POLLIN : 0) | (t->count < 0xfffffffffffffffeULL ? POLLOUT : 0);
	default:
		return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
	}
}

static void gen_poll(struct batch *b, struct rng *r, struct spec *s, enum fault f)
{
	const struct target *t = &b->t[s->target];
	bool file = file_like(t->kind);
	/* Mostly events it has: a POLL that never completes costs QUIET_MS. */
	bool ready = !file && chance(r, 85);
	unsigned w[ARRAY_SIZE(polls)], total = 0;

	if (ready && t->kind == K_PIPE && !ready_events(t, s->end))
		s->end = !s->end;
	/* No ->poll: the default mask, and EINVAL when it has none of the events. */
	for (unsigned i = 0; i < ARRAY_SIZE(polls); i++) {
		bool ok = file ? (f == F_TARGET) == !(polls[i].events & ~POLLPRI) :
			  !ready || (polls[i].events & ready_events(t, s->end));

		w[i] = ok ? polls[i].weight : 0;
		total += w[i];
	}
	s->events = total ? polls[pick(r, w, ARRAY_SIZE(polls))].events : POLLOUT;
	if (f == F_FIELDS && chance(r, 50))
		s->offset = 8;
	else if (f == F_FIELDS)
		s->nbytes = 1;
}

static void gen_flags(struct batch *b, struct rng *r, struct spec *s, enum fault f)
{
	const struct op_info *o = &ops[s->op];
	struct target *t = s->target >= 0 ? &b->t[s->target] : NULL;

	if (f == F_RWFLAGS && !o->rw) {
		s->rw_flags = rwf[rnd(r, 6)].bit;	/* FSYNC, POLL: none at all */
	} else if (f == F_RWFLAGS) {
		s->rw_flags = chance(r, 34) ? RWF_UNKNOWN_BIT : chance(r, 50) ? RWF_ATOMIC_BIT :
			      RWF_APPEND_BIT | RWF_NOAPPEND_BIT;
	} else if (o->rw && chance(r, 45)) {
		for (unsigned i = 0, nbits = 1 + rnd(r, 2); i < nbits; i++)
			s->rw_flags |= rwf[rnd(r, 6)].bit;	/* the six valid ones */
		if (s->rw_flags & RWF_APPEND_BIT)
			s->rw_flags &= ~RWF_NOAPPEND_BIT;
	}
	/* An O_DIRECT append writes at EOF: only the iocb that has the EOF region. */
	if (t && t->kind == K_DIRECT && o->write && (s->rw_flags & RWF_APPEND_BIT) &&
	    f != F_RWFLAGS) {
		if (t->eof_taken && s->offset < t->size)
			s->rw_flags &= ~RWF_APPEND_BIT;
		t->eof_taken = true;
	}
	if (f == F_RESFD)
		s->resfd = chance(r, 50) ? R_CLOSED : R_NOT_EVENTFD;
	else if (chance(r, 25))
		s->resfd = chance(r, 70) ? R_EFD0 : R_EFD1;
	if (f == F_IOPRIO)
		s->ioprio = bad_prios[rnd(r, ARRAY_SIZE(bad_prios))];
	else if (chance(r, 15))
		s->ioprio = good_prios[rnd(r, ARRAY_SIZE(good_prios))];
}

/*
 * One iocb.  Most go in; one of a batch's bad_pct percent carries one
 * fault that io_submit() refuses synchronously, so that the batch stops
 * there (and mode 1 must return its index, as stock).
 */
static void gen_iocb(struct batch *b, struct rng *r, struct spec *s)
{
	enum fault f = chance(r, b->bad_pct) ? (enum fault)(1 + rnd(r, NR_FAULTS - 1)) : F_NONE;
	const struct op_info *o;
	unsigned w[NR_OPS];

	for (unsigned i = 0; i < NR_OPS; i++)
		w[i] = ops[i].weight;
	s->op = f == F_OPCODE ? OP_BADOP : f == F_IOCBPTR ? OP_BADPTR : pick(r, w, NR_OPS);
	s->opcode = s->op == OP_BADOP ? bad_opcodes[rnd(r, ARRAY_SIZE(bad_opcodes))] : ops[s->op].opcode;
	s->target = -1;
	s->resfd = R_NONE;
	s->ioprio = -1;
	o = &ops[s->op];
	/* A fault the opcode has no field for becomes one it has. */
	if (!o->rw && (f == F_OFFSET || f == F_IOV || f == F_IOPRIO))
		f = F_FIELDS;
	if (!o->vec && f == F_IOV)
		f = F_OFFSET;
	if (s->op != OP_BADPTR)
		choose_target(b, r, s, f);
	if (o->rw)
		gen_rw(b, r, s, f);
	else if (s->op == OP_POLL)
		gen_poll(b, r, s, f);
	else if (f == F_FIELDS)
		s->nbytes = 1;		/* FSYNC takes no length */
	if (s->op != OP_BADPTR)
		gen_flags(b, r, s, f);
}

/*
 * RWF_NOWAIT answers -EAGAIN where the read or write would wait, and
 * whether it would depends on timing wherever other I/O is in flight: on
 * stock too.  It stays only where no other iocb of the batch can change
 * the answer: on fds that never block, and on a cached file or device or
 * the O_DIRECT file that only this iocb touches.
 */
static void fix_nowait(struct batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct spec *s = &b->spec[i];
		const struct target *t;
		bool keep;

		if (!(s->rw_flags & RWF_NOWAIT_BIT) || !ops[s->op].rw)
			continue;
		t = &b->t[s->target];
		switch (t->kind) {
		case K_FILE:
		case K_DEVICE:
			keep = !t->cold && t->users == 1;
			break;
		case K_DIRECT:	/* and few requests in flight, or the queue runs out of tags */
			keep = t->users == 1 && b->n <= 16;
			break;
		default:
			keep = true;
			break;
		}
		if (!keep)
			s->rw_flags &= ~RWF_NOWAIT_BIT;
	}
}

/* Places every normal buffer (page-aligned, then misaligned) and iovec array in the arena. */
static void layout(struct batch *b)
{
	size_t at = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct spec *s = &b->spec[i];

		for (unsigned j = 0; j < s->nsegs; j++) {
			if (s->seg[j].kind != B_NORMAL)
				continue;
			at = (at + 4095) & ~(size_t)4095;
			s->seg[j].at = at;
			at += s->seg[j].misalign + s->seg[j].len;
		}
		if (ops[s->op].vec) {
			at = (at + 15) & ~(size_t)15;
			s->iov_at = at;
			at += MAX_SEGS * sizeof(struct iovec);
		}
	}
	b->arena_size = (at + 4095) & ~(size_t)4095;
	if (!b->arena_size)
		b->arena_size = 4096;
}

static void target_name(char *buf, size_t len, const struct batch *b, const struct spec *s)
{
	const struct target *t;

	if (s->target < 0) {
		snprintf(buf, len, "-");
		return;
	}
	t = &b->t[s->target];
	if (t->kind == K_CLOSED || t->kind == K_MINUS1)
		snprintf(buf, len, "%s", kinds[t->kind].name);
	else if (t->kind == K_PIPE)
		snprintf(buf, len, "pipe%u.%c", t->id, s->end ? 'w' : 'r');
	else if (t->kind == K_SOCK)
		snprintf(buf, len, "sock%u.%u", t->id, s->end);
	else
		snprintf(buf, len, "%s%u", kinds[t->kind].name, t->id);
}

static void describe_target(FILE *f, const struct target *t)
{
	if (kinds[t->kind].stateful)
		fprintf(f, "  target %s%u:", kinds[t->kind].name, t->id);
	else
		fprintf(f, "  target %s:", kinds[t->kind].name);
	switch (t->kind) {
	case K_FILE:
		fprintf(f, " %u bytes, %s%s%s", t->size, t->cold ? "cold" : "cached",
			t->no_readahead ? ", no readahead" : "", t->rdonly ? ", read-only" : "");
		break;
	case K_DIRECT:
		fprintf(f, " %u bytes, O_DIRECT", t->size);
		break;
	case K_PIPE:
		fprintf(f, " O_NONBLOCK, %u bytes queued%s", t->fill[0],
			t->fill[0] == MAX_LEN ? " (full)" : "");
		break;
	case K_SOCK:
		fprintf(f, " AF_UNIX stream pair, O_NONBLOCK, %u bytes queued to .0, %u to .1",
			t->fill[0], t->fill[1]);
		break;
	case K_EVENTFD:
		fprintf(f, " EFD_NONBLOCK, counter %" PRIu64, t->count);
		break;
	case K_DEVICE:
		fprintf(f, " %s, first %u bytes, %s", opt.device, dev_region, t->cold ? "cold" : "cached");
		break;
	default:
		fprintf(f, " %s", t->kind == K_CLOSED ? "a closed fd" : "fd -1");
		break;
	}
	fputc('\n', f);
}

static void describe_buf(FILE *f, const struct seg *g)
{
	fprintf(f, "%s", buf_names[g->kind]);
	if (g->misalign)
		fprintf(f, "+%u", g->misalign);
	fprintf(f, ":%u", g->len);
}

/* One line: index, opcode, target, flags, buffers, offset, length. */
static void describe_iocb(FILE *f, const struct batch *b, unsigned i)
{
	const struct spec *s = &b->spec[i];
	char name[32];

	target_name(name, sizeof(name), b, s);
	fprintf(f, "  iocb %3u: %-7s %-9s", i, ops[s->op].name, name);
	if (s->op == OP_BADOP)
		fprintf(f, " opcode=%u", s->opcode);
	if (s->rw_flags) {
		const char *sep = " rwf=";

		for (unsigned j = 0; j < ARRAY_SIZE(rwf); j++)
			if (s->rw_flags & rwf[j].bit) {
				fprintf(f, "%s%s", sep, rwf[j].name);
				sep = "|";
			}
	}
	if (s->resfd != R_NONE)
		fprintf(f, " resfd=%s", resfd_names[s->resfd]);
	if (s->ioprio >= 0)
		fprintf(f, " ioprio=%#x", s->ioprio);
	if (s->op == OP_POLL) {
		for (unsigned j = 0; j < ARRAY_SIZE(polls); j++)
			if (polls[j].events == s->events)
				fprintf(f, " events=%s", polls[j].name);
	} else if (ops[s->op].vec && s->iov != IOV_OK) {
		fprintf(f, " iov=%s", s->iov == IOV_TOO_MANY ? "array" :
			s->iov == IOV_UNMAPPED ? "unmapped" : "null");
	} else if (ops[s->op].vec) {
		fprintf(f, " iov=[");
		for (unsigned j = 0; j < s->nsegs; j++) {
			if (j)
				fputc(',', f);
			describe_buf(f, &s->seg[j]);
		}
		fputc(']', f);
	} else if (ops[s->op].rw) {
		fprintf(f, " buf=");
		describe_buf(f, &s->seg[0]);
	}
	if (ops[s->op].rw || s->offset)
		fprintf(f, " off=%" PRId64, s->offset);
	if (s->nbytes || ops[s->op].rw)
		fprintf(f, " %s=%" PRIu64, ops[s->op].vec ? "iovcnt" : "nbytes", s->nbytes);
	if (s->reserved2)
		fprintf(f, " reserved2=1");
	fputc('\n', f);
}

static void describe(struct batch *b)
{
	size_t len;
	FILE *f = open_memstream(&b->desc, &len);

	if (!f)
		fatal("open_memstream: %s", strerror(errno));
	fprintf(f, "batch %lu: nr_events %u (ring %u), %u iocb%s, %u%% faulty, %u target%s\n",
		b->index, b->nr_events, b->ring, b->n, b->n == 1 ? "" : "s", b->bad_pct, b->nt,
		b->nt == 1 ? "" : "s");
	for (unsigned i = 0; i < b->nt; i++)
		describe_target(f, &b->t[i]);
	for (unsigned i = 0; i < b->n; i++)
		describe_iocb(f, b, i);
	if (fclose(f))
		fatal("open_memstream: %s", strerror(errno));
}

static unsigned batch_size(struct rng *r, unsigned ring)
{
	unsigned c = rnd(r, 100);

	if (c < 4)
		return 0;
	if (c < 60)
		return 1 + rnd(r, 8);
	if (c < 85)
		return 1 + rnd(r, 32);
	if (c < 95)
		return 1 + rnd(r, ring + 1);
	return ring - 2 + rnd(r, 4);	/* a full ring: up to ring + 1 */
}

static struct batch *generate(unsigned long index)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	struct rng r = { opt.seed };

	/* Seeded from both: batch N does not depend on the batches before it. */
	r.s = rnd64(&r) ^ (index + 1) * 0xd1b54a32d192ed03ULL;
	b->index = index;
	b->seed = rnd64(&r);
	b->nr_events = 1 + rnd(&r, MAX_NR_EVENTS);
	b->ring = ring_size(b->nr_events);
	b->n = batch_size(&r, b->ring);
	b->bad_pct = chance(&r, 45) ? 0 : chance(&r, 65) ? 3 : 15;
	b->spec = xcalloc(b->n, sizeof(*b->spec));
	b->t = xcalloc(b->n + NR_KINDS * 4, sizeof(*b->t));
	for (unsigned i = 0; i < b->n; i++)
		gen_iocb(b, &r, &b->spec[i]);
	fix_nowait(b);
	layout(b);
	describe(b);
	return b;
}

static void free_batch(struct batch *b)
{
	if (b->arena)
		munmap(b->arena, b->arena_size);
	free(b->cb);
	free(b->cbp);
	free(b->desc);
	free(b->spec);
	free(b->t);
	free(b);
}

/* ---- execution ---- */

static void target_path(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "%s/t%u", workdir, i);
}

static uint64_t target_seed(const struct batch *b, unsigned i)
{
	return b->seed ^ (i + 1) * 0x2545f4914f6cdd1dULL;
}

/*
 * Writes @len bytes of pattern @seed to @fd from offset 0 in aligned
 * chunks (O_DIRECT too), or with @stream queues them on a non-blocking
 * fd, as much as fits.
 */
static void put_pattern(int fd, uint64_t len, uint64_t seed, bool stream, const char *what)
{
	for (uint64_t done = 0; done < len; ) {
		size_t n = len - done < MAX_LEN ? len - done : MAX_LEN;
		ssize_t w;

		fill_pattern(chunk, n, seed, done);
		w = stream ? write(fd, chunk, n) : pwrite(fd, chunk, n, (off_t)done);
		if (stream && w < 0 && errno == EAGAIN)
			break;
		if (w <= 0 || (!stream && w != (ssize_t)n))
			fatal("writing %s: %s", what, w < 0 ? strerror(errno) : "short write");
		done += (uint64_t)w;
	}
}

static void advise(int fd, off_t len, int advice, const char *what)
{
	int err = posix_fadvise(fd, 0, len, advice);

	if (err)
		fatal("posix_fadvise(%s) %s: %s", advice == POSIX_FADV_DONTNEED ? "DONTNEED" : "RANDOM",
		      what, strerror(err));
}

/* Fresh state for one run: the same files, fds and contents every time. */
static void open_targets(struct batch *b)
{
	char path[PATH_MAX + 16];
	bool files = false;

	for (unsigned i = 0; i < b->nt; i++) {
		struct target *t = &b->t[i];
		uint64_t seed = target_seed(b, i);
		int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;

		t->fd[0] = t->fd[1] = -1;
		switch (t->kind) {
		case K_FILE:
		case K_DIRECT:
			/* O_DIRECT writes its pattern itself: no page of it is ever cached. */
			if (t->kind == K_DIRECT && odirect_ok)
				flags |= O_DIRECT;
			target_path(path, sizeof(path), i);
			t->fd[0] = open(path, flags, 0600);
			if (t->fd[0] < 0)
				fatal("creating %s: %s", path, strerror(errno));
			put_pattern(t->fd[0], t->size, seed, false, path);
			files = true;
			break;
		case K_PIPE:
			if (pipe2(t->fd, O_NONBLOCK | O_CLOEXEC))
				fatal("pipe2: %s", strerror(errno));
			put_pattern(t->fd[1], t->fill[0], seed, true, "a pipe");
			break;
		case K_SOCK:
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, t->fd))
				fatal("socketpair: %s", strerror(errno));
			put_pattern(t->fd[1], t->fill[0], seed, true, "a socket");
			put_pattern(t->fd[0], t->fill[1], ~seed, true, "a socket");
			break;
		case K_EVENTFD:
			t->fd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (t->fd[0] < 0 || (t->count && write(t->fd[0], &t->count, 8) != 8))
				fatal("eventfd: %s", strerror(errno));
			break;
		case K_DEVICE:
			t->fd[0] = open(opt.device, O_RDWR | O_CLOEXEC);
			if (t->fd[0] < 0)
				fatal("%s: %s", opt.device, strerror(errno));
			put_pattern(t->fd[0], dev_region, seed, false, opt.device);
			if (fdatasync(t->fd[0]))
				fatal("fdatasync %s: %s", opt.device, strerror(errno));
			if (t->cold)
				advise(t->fd[0], dev_region, POSIX_FADV_DONTNEED, opt.device);
			break;
		default:
			break;
		}
	}
	/* One syncfs() for all: pages must be clean for DONTNEED to drop them. */
	if (files && syncfs(workdir_fd))
		fatal("syncfs %s: %s", workdir, strerror(errno));
	for (unsigned i = 0; i < b->nt; i++) {
		struct target *t = &b->t[i];

		if (t->kind != K_FILE && !(t->kind == K_DIRECT && !odirect_ok))
			continue;
		target_path(path, sizeof(path), i);
		if (t->rdonly) {
			close(t->fd[0]);
			t->fd[0] = open(path, O_RDONLY | O_CLOEXEC);
			if (t->fd[0] < 0)
				fatal("%s: %s", path, strerror(errno));
		}
		if (t->cold || t->kind == K_DIRECT)
			advise(t->fd[0], 0, POSIX_FADV_DONTNEED, path);
		if (t->no_readahead)
			advise(t->fd[0], 0, POSIX_FADV_RANDOM, path);
	}
	for (unsigned i = 0; i < 2; i++) {
		run_efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (run_efd[i] < 0)
			fatal("eventfd: %s", strerror(errno));
	}
	run_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (run_devnull < 0)
		fatal("/dev/null: %s", strerror(errno));
}

static void close_targets(struct batch *b)
{
	char path[PATH_MAX + 16];

	for (unsigned i = 0; i < b->nt; i++) {
		struct target *t = &b->t[i];

		for (unsigned j = 0; j < 2; j++)
			if (t->fd[j] >= 0)
				close(t->fd[j]);
		t->fd[0] = t->fd[1] = -1;
		if (t->kind == K_FILE || t->kind == K_DIRECT) {
			target_path(path, sizeof(path), i);
			unlink(path);
		}
	}
	close(run_efd[0]);
	close(run_efd[1]);
	close(run_devnull);
}

static uint64_t seg_addr(const struct batch *b, const struct seg *g)
{
	switch (g->kind) {
	case B_NORMAL:
		return (uintptr_t)(b->arena + g->at + g->misalign);
	case B_UNMAPPED:
		return (uintptr_t)(unmapped_area + g->misalign);
	case B_READONLY:
		return (uintptr_t)(ro_area + g->misalign);
	default:
		return 0;
	}
}

/* The arena as each run starts: pattern and iovec arrays. */
static void init_arena(struct batch *b)
{
	fill_pattern(b->arena, b->arena_size, b->seed ^ 0xa7e4a, 0);
	for (unsigned i = 0; i < b->n; i++) {
		const struct spec *s = &b->spec[i];

		if (ops[s->op].vec) {
			struct iovec *iov = (struct iovec *)(b->arena + s->iov_at);

			for (unsigned j = 0; j < s->nsegs; j++) {
				iov[j].iov_base = (void *)(uintptr_t)seg_addr(b, &s->seg[j]);
				iov[j].iov_len = s->seg[j].len;
			}
		}
	}
}

static int spec_fd(const struct batch *b, const struct spec *s)
{
	const struct target *t = &b->t[s->target];

	switch (t->kind) {
	case K_CLOSED:
		return closed_fd;
	case K_MINUS1:
		return -1;
	case K_PIPE:
	case K_SOCK:
		return t->fd[s->end];
	default:
		return t->fd[0];
	}
}

static void build_iocbs(struct batch *b)
{
	static const int *const resfds[NR_RESFDS] = { &run_efd[0], &run_efd[1], &closed_fd, &run_devnull };

	for (unsigned i = 0; i < b->n; i++) {
		const struct spec *s = &b->spec[i];
		struct iocb *cb = &b->cb[i];

		memset(cb, 0, sizeof(*cb));
		b->cbp[i] = s->op == OP_BADPTR ? (struct iocb *)unmapped_area : cb;
		if (s->op == OP_BADPTR)
			continue;
		cb->aio_data = DATA_TAG | i;
		cb->aio_lio_opcode = s->opcode;
		cb->aio_fildes = (uint32_t)spec_fd(b, s);
		cb->aio_rw_flags = (int)s->rw_flags;
		cb->aio_offset = s->offset;
		cb->aio_nbytes = s->nbytes;
		cb->aio_reserved2 = s->reserved2;
		if (s->op == OP_POLL)
			cb->aio_buf = s->events;
		else if (ops[s->op].vec)
			cb->aio_buf = s->iov == IOV_NULL ? 0 : s->iov == IOV_UNMAPPED ?
				(uintptr_t)unmapped_area : (uintptr_t)(b->arena + s->iov_at);
		else if (ops[s->op].rw)
			cb->aio_buf = seg_addr(b, &s->seg[0]);
		if (s->resfd != R_NONE) {
			cb->aio_flags |= IOCB_FLAG_RESFD;
			cb->aio_resfd = (uint32_t)*resfds[s->resfd];
		}
		if (s->ioprio >= 0) {
			cb->aio_flags |= IOCB_FLAG_IOPRIO;
			cb->aio_reqprio = (uint16_t)s->ioprio;
		}
	}
}

/*
 * Submits the batch, and on a short count the rest from where it stopped,
 * as the project's libaio does, until all went in, a call fails or one
 * returns 0.  On stock a short count means iocb r failed: resubmitting it
 * gives its error, so both runs end with (iocbs in, what stopped them).
 */
static void submit(aio_context_t ctx, struct batch *b, struct outcome *o)
{
	unsigned pos = 0;

	for (;;) {
		long r = syscall(__NR_io_submit, ctx, (long)(b->n - pos), b->cbp + pos);

		o->calls[o->ncalls++] = r < 0 ? -errno : r;
		if (r < 0) {
			o->err = errno;
			break;
		}
		if ((unsigned long)r < b->n - pos)
			o->shorts++;
		pos += (unsigned)r;
		if (pos >= b->n)
			break;
		if (r == 0) {
			o->err = -1;
			break;
		}
	}
	o->in = pos;
}

static void check_event(const struct batch *b, struct outcome *o, const struct io_event *ev,
			unsigned *must, unsigned *polls_left)
{
	uint64_t i = ev->data - DATA_TAG;

	if ((ev->data & ~0xffffffffULL) != DATA_TAG || i >= b->n || ev->obj != (uintptr_t)&b->cb[i]) {
		if (!o->problem[0])
			snprintf(o->problem, sizeof(o->problem),
				 "an event with data %#llx, obj %#llx: no iocb of the batch",
				 (unsigned long long)ev->data, (unsigned long long)ev->obj);
		return;
	}
	if (i >= o->in && !o->problem[0])
		snprintf(o->problem, sizeof(o->problem), "an event for iocb %u, which never went in",
			 (unsigned)i);
	if (o->nev[i] && !o->problem[0])
		snprintf(o->problem, sizeof(o->problem), "a second event for iocb %u", (unsigned)i);
	if (o->nev[i] < 255)
		o->nev[i]++;
	if (o->nev[i] > 1 || i >= o->in)
		return;
	o->ev[i] = *ev;
	if (b->spec[i].op == OP_POLL)
		(*polls_left)--;
	else
		(*must)--;
}

/*
 * Reaps until every iocb that went in completed, but a POLL may never:
 * while one is pending, until no event came for QUIET_MS.  A non-POLL
 * iocb without an event after CAP_MS is a failure.
 */
static void reap(aio_context_t ctx, const struct batch *b, struct outcome *o)
{
	struct io_event *ev = xcalloc(b->ring, sizeof(*ev));
	unsigned must = 0, polls_left = 0;
	long long last = now_ms(), cap = last + CAP_MS;
	bool final = false;

	for (unsigned i = 0; i < o->in; i++)
		b->spec[i].op == OP_POLL ? polls_left++ : must++;
	while (!stop_sig) {
		long long t = now_ms(), until;
		struct timespec ts;
		long got;

		if (!final && !must && (!polls_left || t >= last + QUIET_MS))
			final = true;
		if (!final && must && t >= cap) {
			for (unsigned i = 0; i < o->in; i++)
				if (!o->nev[i] && b->spec[i].op != OP_POLL && !o->problem[0])
					snprintf(o->problem, sizeof(o->problem),
						 "events missing: %u iocb(s) without one after %d s, iocb %u first",
						 must, CAP_MS / 1000, i);
			final = true;
		}
		/* The last pass only collects what is there: a late duplicate, say. */
		until = final ? t : must ? cap : last + QUIET_MS;
		ts.tv_sec = (until - t) / 1000;
		ts.tv_nsec = (until - t) % 1000 * 1000000;
		got = syscall(__NR_io_getevents, ctx, final ? 0 : 1, (long)b->ring, ev, &ts);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			fatal("io_getevents: %s", strerror(errno));
		if (got > 0)
			last = now_ms();
		for (long i = 0; i < got; i++)
			check_event(b, o, &ev[i], &must, &polls_left);
		if (final && !got)
			break;
	}
	free(ev);
}

/* Reads what is left on a non-blocking fd. */
static void drain(int fd, struct blob *out)
{
	for (;;) {
		ssize_t got;

		out->data = realloc(out->data, out->len + MAX_LEN);
		if (!out->data)
			fatal("out of memory");
		got = read(fd, out->data + out->len, MAX_LEN);
		if (got <= 0)
			break;
		out->len += (size_t)got;
	}
}

static void read_file(const char *path, struct blob *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fatal("%s: %s", path, strerror(errno));
	drain(fd, out);
	close(fd);
}

/*
 * An eventfd's counter once it counts the @want events reaped: the
 * kernel signals it just after it posts the event.
 */
static uint64_t resfd_count(int fd, uint64_t want)
{
	uint64_t total = 0, v;

	for (long long end = now_ms() + QUIET_MS; ; usleep(1000)) {
		if (read(fd, &v, 8) == 8)
			total += v;
		if (total >= want || now_ms() >= end)
			return total;
	}
}

/* What the run left: files, queued data, counters, the data read. */
static void capture(const struct batch *b, struct outcome *o)
{
	char path[PATH_MAX + 16];
	uint64_t signalled[2] = { 0, 0 };

	/* The counters first: draining a pipe or the eventfd wakes a pending POLL. */
	for (unsigned i = 0; i < o->in; i++)
		if (o->nev[i] && (b->spec[i].resfd == R_EFD0 || b->spec[i].resfd == R_EFD1))
			signalled[b->spec[i].resfd]++;
	for (unsigned i = 0; i < 2; i++) {
		o->resfd[i] = resfd_count(run_efd[i], signalled[i]);
		if (o->resfd[i] < signalled[i] && !o->problem[0])
			snprintf(o->problem, sizeof(o->problem),
				 "resfd%u counts %" PRIu64 " completions, %" PRIu64 " events carry it",
				 i, o->resfd[i], signalled[i]);
	}
	for (unsigned i = 0; i < b->nt; i++) {
		const struct target *t = &b->t[i];
		struct blob *st = &o->state[2 * i];
		ssize_t got;

		switch (t->kind) {
		case K_FILE:
		case K_DIRECT:
			target_path(path, sizeof(path), i);
			read_file(path, st);
			break;
		case K_DEVICE:
			st->data = xcalloc(1, dev_region);
			got = pread(t->fd[0], st->data, dev_region, 0);
			if (got < 0)
				fatal("reading %s: %s", opt.device, strerror(errno));
			st->len = (size_t)got;
			break;
		case K_PIPE:
		case K_EVENTFD:
			drain(t->fd[0], st);
			break;
		case K_SOCK:
			drain(t->fd[0], st);
			drain(t->fd[1], st + 1);
			break;
		default:
			break;
		}
	}
	o->arena = xcalloc(1, b->arena_size);
	memcpy(o->arena, b->arena, b->arena_size);
}

static void run_batch(struct batch *b, bool syslet, struct outcome *o)
{
	aio_context_t ctx = 0;

	memset(o, 0, sizeof(*o));
	o->calls = xcalloc(b->n + 2, sizeof(*o->calls));
	o->ev = xcalloc(b->n, sizeof(*o->ev));
	o->nev = xcalloc(b->n, 1);
	o->state = xcalloc(2 * b->nt, sizeof(*o->state));
	set_syslet(syslet);
	open_targets(b);
	init_arena(b);
	build_iocbs(b);
	if (syscall(__NR_io_setup, b->nr_events, &ctx))
		fatal("io_setup(%u): %s", b->nr_events, strerror(errno));
	if (((const unsigned *)(uintptr_t)ctx)[1] != b->ring)
		fatal("io_setup(%u): a ring of %u events, not %u as before", b->nr_events,
		      ((const unsigned *)(uintptr_t)ctx)[1], b->ring);
	submit(ctx, b, o);
	reap(ctx, b, o);
	capture(b, o);
	/* Only a POLL can still be in flight (io_destroy() cancels it), or what is missing. */
	if (o->problem[0] && syscall(__NR_io_destroy, ctx))
		fatal("io_destroy: %s", strerror(errno));
	else if (!o->problem[0])
		destroy_later(ctx);
	close_targets(b);
	for (unsigned i = 0; i < o->in; i++) {
		const struct spec *s = &b->spec[i];
		const struct target *t = s->target >= 0 ? &b->t[s->target] : NULL;

		if (t && (ops[s->op].rw || s->op == OP_FSYNC || s->op == OP_FDSYNC))
			o->cold_ops += t->kind == K_DIRECT || (file_like(t->kind) && t->cold);
	}
}

static void free_outcome(const struct batch *b, struct outcome *o)
{
	for (unsigned i = 0; i < 2 * b->nt; i++)
		free(o->state[i].data);
	free(o->state);
	free(o->calls);
	free(o->ev);
	free(o->nev);
	free(o->arena);
}

/* ---- comparison and reports ---- */

static void fmt_event(char *buf, size_t len, const struct batch *b, const struct outcome *o,
		      unsigned i)
{
	long long res = (long long)o->ev[i].res;
	int n;

	if (i >= o->in) {
		snprintf(buf, len, "not in");
		return;
	}
	if (!o->nev[i]) {
		snprintf(buf, len, b->spec[i].op == OP_POLL ? "pending" : "no event");
		return;
	}
	if (res < 0)
		n = snprintf(buf, len, "-%s", errname((int)-res));
	else if (b->spec[i].op == OP_POLL)
		n = snprintf(buf, len, "%#llx", res);
	else
		n = snprintf(buf, len, "%lld", res);
	if (o->ev[i].res2 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " res2 %lld", (long long)o->ev[i].res2);
	if (o->nev[i] > 1 && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " (%u events)", o->nev[i]);
}

/* "3, 2, -EAGAIN => 5 in, EAGAIN": each return, then what went in and what stopped it. */
static void fmt_submit(char *buf, size_t len, const struct outcome *o)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < o->ncalls && n < len; i++) {
		if (o->calls[i] < 0)
			n += (size_t)snprintf(buf + n, len - n, "%s-%s", i ? ", " : "",
					      errname((int)-o->calls[i]));
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%ld", i ? ", " : "", o->calls[i]);
	}
	if (n < len)
		snprintf(buf + n, len - n, " => %u in, %s", o->in,
			 o->err > 0 ? errname(o->err) : o->err < 0 ? "a return of 0" : "no error");
}

static bool blob_differs(const struct blob *a, const struct blob *s, char *why, size_t len)
{
	size_t n = a->len < s->len ? a->len : s->len;

	for (size_t i = 0; i < n; i++)
		if (a->data[i] != s->data[i]) {
			snprintf(why, len, "byte %zu is %#04x with syslets, %#04x on stock", i,
				 a->data[i], s->data[i]);
			return true;
		}
	if (a->len != s->len) {
		snprintf(why, len, "%zu bytes with syslets, %zu on stock", a->len, s->len);
		return true;
	}
	return false;
}

static bool event_differs(const struct outcome *a, const struct outcome *s, unsigned i)
{
	if ((i < a->in) != (i < s->in) || a->nev[i] != s->nev[i])
		return true;
	return a->nev[i] && (a->ev[i].res != s->ev[i].res || a->ev[i].res2 != s->ev[i].res2);
}

/* The iocb whose buffer holds byte @at of the arena, or -1. */
static int arena_owner(const struct batch *b, size_t at)
{
	for (unsigned i = 0; i < b->n; i++)
		for (unsigned j = 0; j < b->spec[i].nsegs; j++) {
			const struct seg *g = &b->spec[i].seg[j];

			if (g->kind == B_NORMAL && at >= g->at && at < g->at + g->misalign + g->len)
				return (int)i;
		}
	return -1;
}

/* The first difference between the syslet run @a and the stock run @s, in @why. */
static bool differ(const struct batch *b, const struct outcome *a, const struct outcome *s,
		   char *why, size_t len)
{
	char x[96], y[96];

	if (a->problem[0] || s->problem[0]) {
		snprintf(why, len, "%s run: %s", a->problem[0] ? "syslet" : "stock",
			 a->problem[0] ? a->problem : s->problem);
		return true;
	}
	if (a->in != s->in || a->err != s->err) {
		fmt_submit(x, sizeof(x), a);
		fmt_submit(y, sizeof(y), s);
		snprintf(why, len, "io_submit: %s with syslets, %s on stock", x, y);
		return true;
	}
	if (a->calls[0] != s->calls[0] && !opt.allow_short) {
		snprintf(why, len, "the first io_submit() returned %ld with syslets, %ld on stock",
			 a->calls[0], s->calls[0]);
		return true;
	}
	for (unsigned i = 0; i < b->n; i++)
		if (event_differs(a, s, i)) {
			fmt_event(x, sizeof(x), b, a, i);
			fmt_event(y, sizeof(y), b, s, i);
			snprintf(why, len, "iocb %u: %s with syslets, %s on stock", i, x, y);
			return true;
		}
	for (unsigned i = 0; i < 2 * b->nt; i++)
		if (blob_differs(&a->state[i], &s->state[i], x, sizeof(x))) {
			const struct target *t = &b->t[i / 2];

			snprintf(why, len, "what %s%u%s holds at the end: %s", kinds[t->kind].name, t->id,
				 t->kind == K_SOCK ? (i % 2 ? " (.1)" : " (.0)") : "", x);
			return true;
		}
	for (unsigned i = 0; i < 2; i++)
		if (a->resfd[i] != s->resfd[i]) {
			snprintf(why, len, "resfd%u counts %" PRIu64 " with syslets, %" PRIu64 " on stock",
				 i, a->resfd[i], s->resfd[i]);
			return true;
		}
	for (size_t i = 0; i < b->arena_size; i++)
		if (a->arena[i] != s->arena[i]) {
			snprintf(why, len, "the data read into iocb %d's buffer: arena byte %zu is %#04x with syslets, %#04x on stock",
				 arena_owner(b, i), i, a->arena[i], s->arena[i]);
			return true;
		}
	return false;
}

static void print_replay(unsigned long index)
{
	printf("replay: %s --seed %" PRIu64 " --batch %lu", PROG, opt.seed, index);
	if (opt.dir_given)
		printf(" --dir %s", opt.dir);
	if (opt.device)
		printf(" --device %s", opt.device);
	if (opt.independent)
		printf(" --independent");
	if (opt.allow_short)
		printf(" --allow-short");
	printf("\n");
}

static void report(const struct batch *b, const struct outcome *a, const struct outcome *s,
		   const char *why, bool full)
{
	char x[160], y[160];

	printf("%s: DIFFERENCE in seed %" PRIu64 " batch %lu: %s\n", PROG, opt.seed, b->index, why);
	if (full) {
		fputs(b->desc, stdout);
		printf("  results, syslets | stock:\n");
		fmt_submit(x, sizeof(x), a);
		fmt_submit(y, sizeof(y), s);
		printf("%c io_submit: %s | %s\n", strcmp(x, y) ? '*' : ' ', x, y);
		for (unsigned i = 0, j; i < b->n; i = j) {
			/* One line for a run of iocbs that went in on neither side. */
			for (j = i + 1; i >= a->in && i >= s->in && j < b->n; j++)
				;
			fmt_event(x, sizeof(x), b, a, i);
			fmt_event(y, sizeof(y), b, s, i);
			if (j > i + 1)
				printf("  iocbs %u-%u: %s | %s\n", i, j - 1, x, y);
			else
				printf("%c iocb %3u: %s | %s\n", event_differs(a, s, i) ? '*' : ' ', i,
				       x, y);
		}
		for (unsigned i = 0; i < 2 * b->nt; i++) {
			const struct target *t = &b->t[i / 2];

			if (!a->state[i].len && !s->state[i].len)
				continue;
			printf("%c %s%u%s: %zu bytes | %zu bytes\n",
			       blob_differs(&a->state[i], &s->state[i], x, sizeof(x)) ? '*' : ' ',
			       kinds[t->kind].name, t->id,
			       t->kind == K_SOCK ? (i % 2 ? ".1" : ".0") : "",
			       a->state[i].len, s->state[i].len);
		}
		printf("%c resfd counters: %" PRIu64 ", %" PRIu64 " | %" PRIu64 ", %" PRIu64 "\n",
		       a->resfd[0] != s->resfd[0] || a->resfd[1] != s->resfd[1] ? '*' : ' ',
		       a->resfd[0], a->resfd[1], s->resfd[0], s->resfd[1]);
	}
	print_replay(b->index);
	fflush(stdout);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [OPTION]...\n"
		"Run seeded random io_submit() batches twice on fresh identical state, with\n"
		"syslets (fs.aio-syslet=1) and without (0), and report every difference.\n\n"
		"      --seed N          seed of the batches (default: from the clock; printed first)\n"
		"      --batches N       run batches 0 to N-1 (default 100; no limit with --time alone)\n"
		"      --time SECONDS    start no batch after this long (0: no limit)\n"
		"      --batch N         run batch N only and print its description (a replay)\n"
		"      --dir DIR         where the files go (default $AIO_TEST_DIR, else $TMPDIR,\n"
		"                        else /tmp)\n"
		"      --device DEV      also target the block device DEV: its first MiB is overwritten\n"
		"      --exact           the first io_submit() return must equal stock's (default)\n"
		"      --allow-short     accept a shorter first return when resubmitting the rest\n"
		"                        gives stock's result, and count those short counts\n"
		"      --independent     only batches whose iocbs touch disjoint files and fds (no\n"
		"                        iocb's result depends on another's order: narrows a\n"
		"                        difference down)\n"
		"  -v, --verbose         print each batch's description\n"
		"  -h, --help            this help\n\n"
		"Exit status: 0 no difference, 1 a difference or a harness error, 2 usage error.\n",
		PROG);
}

static unsigned long long parse_num(const char *name, const char *s, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE || v > max)
		usage_error("%s: '%s' is too large", name, s);
	if (errno || end == s || *end || *s == '-' || *s == '+' || *s == ' ')
		usage_error("%s: '%s' is not a number", name, s);
	return v;
}

static void parse_args(int argc, char **argv)
{
	enum { SEED = 256, BATCHES, TIME, BATCH, DIR_, DEVICE, EXACT, ALLOW_SHORT, INDEPENDENT };
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, SEED },
		{ "batches", required_argument, NULL, BATCHES },
		{ "time", required_argument, NULL, TIME },
		{ "batch", required_argument, NULL, BATCH },
		{ "dir", required_argument, NULL, DIR_ },
		{ "device", required_argument, NULL, DEVICE },
		{ "exact", no_argument, NULL, EXACT },
		{ "allow-short", no_argument, NULL, ALLOW_SHORT },
		{ "independent", no_argument, NULL, INDEPENDENT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool seed_given = false;
	struct stat st;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case SEED:
			opt.seed = parse_num("--seed", optarg, UINT64_MAX);
			seed_given = true;
			break;
		case BATCHES:
			opt.batches = parse_num("--batches", optarg, ULONG_MAX);
			if (!opt.batches)
				usage_error("--batches: must be at least 1");
			opt.batches_given = true;
			break;
		case TIME:
			errno = 0;
			opt.seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(opt.seconds >= 0))
				usage_error("--time: '%s' is not a number of seconds", optarg);
			break;
		case BATCH:
			opt.only = parse_num("--batch", optarg, LONG_MAX);
			opt.only_given = true;
			break;
		case DIR_:
			opt.dir = optarg;
			opt.dir_given = true;
			break;
		case DEVICE:
			opt.device = optarg;
			break;
		case EXACT: opt.allow_short = false; break;
		case ALLOW_SHORT: opt.allow_short = true; break;
		case INDEPENDENT: opt.independent = true; break;
		case 'v': opt.verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default:
			usage(stderr);	/* getopt named the option */
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!seed_given)
		opt.seed = (uint64_t)time(NULL) * 1000003 ^ (uint64_t)getpid();
	if (!opt.dir_given) {
		opt.dir = getenv("AIO_TEST_DIR");
		if (!opt.dir || !*opt.dir)
			opt.dir = getenv("TMPDIR");
		if (!opt.dir || !*opt.dir)
			opt.dir = "/tmp";
	}
	if (stat(opt.dir, &st))
		usage_error("--dir: %s: %s", opt.dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		usage_error("--dir: %s: not a directory", opt.dir);
	if (opt.device && stat(opt.device, &st))
		usage_error("--device: %s: %s", opt.device, strerror(errno));
	if (opt.device && !S_ISBLK(st.st_mode))
		usage_error("--device: %s: not a block device", opt.device);
	if (opt.seconds > 0 && !opt.batches_given)
		opt.batches = ULONG_MAX;
}

/* The CPU the process runs on, or -1 if it could not be pinned. */
static int pinned_cpu = -1;

/*
 * Free ring slots are cached per CPU: on one CPU a full ring's count is
 * exact.  Pins the process to the CPU it runs on; false, with errno, if
 * it cannot.
 */
static bool pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return false;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return false;
	pinned_cpu = cpu;
	return true;
}

/*
 * Whether the process is still pinned: taking its CPU off line moves it
 * and widens its affinity, and a batch that ran across CPUs may end a
 * full ring's count anywhere, on stock as with syslets.
 */
static bool still_pinned(void)
{
	cpu_set_t set;

	if (pinned_cpu < 0)
		return true;	/* never pinned: setup() said so */
	if (sched_getaffinity(0, sizeof(set), &set))
		return false;
	return CPU_COUNT(&set) == 1 && CPU_ISSET(pinned_cpu, &set);
}

/* Everything outside the batches: areas, limits, the CPU, the work directory. */
static void setup(void)
{
	struct rlimit rl;
	struct sigaction sa;
	int fd;
	char probe[PATH_MAX + 16];

	if (!pin_cpu())
		note("cannot stay on one CPU (%s): full-ring counts may differ by chance",
		     strerror(errno));
	/* --independent opens up to two fds per iocb. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	closed_fd = rl.rlim_cur > 100000 ? 99999 : (int)rl.rlim_cur - 1;
	if (fcntl(closed_fd, F_GETFD) >= 0)
		fatal("fd %d, which should stay closed, is open", closed_fd);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: io_getevents() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ro_area = mmap(NULL, ODD_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unmapped_area = mmap(NULL, ODD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro_area == MAP_FAILED || unmapped_area == MAP_FAILED)
		fatal("mmap: %s", strerror(errno));
	fill_pattern(ro_area, ODD_SIZE, 0x5eed, 0);
	if (mprotect(ro_area, ODD_SIZE, PROT_READ))
		fatal("mprotect: %s", strerror(errno));
	if (posix_memalign((void **)&chunk, 4096, MAX_LEN))
		fatal("out of memory");

	snprintf(workdir, sizeof(workdir), "%s/%s.XXXXXX", opt.dir, PROG);
	if (!mkdtemp(workdir))
		fatal("creating a directory in %s: %s", opt.dir, strerror(errno));
	workdir_fd = open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (workdir_fd < 0)
		fatal("%s: %s", workdir, strerror(errno));
	atexit(cleanup);
	snprintf(probe, sizeof(probe), "%s/probe", workdir);
	fd = open(probe, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EINVAL) {
		odirect_ok = false;
		note("%s has no O_DIRECT: the direct targets are buffered", opt.dir);
	} else if (fd < 0) {
		fatal("%s: %s", probe, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	unlink(probe);

	if (opt.device) {
		fd = open(opt.device, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fatal("%s: %s", opt.device, strerror(errno));
		if (ioctl(fd, BLKGETSIZE64, &dev_size))
			fatal("%s: BLKGETSIZE64: %s", opt.device, strerror(errno));
		close(fd);
		dev_region = dev_size < DEV_REGION ? (uint32_t)dev_size & ~4095U : DEV_REGION;
		if (dev_region < 2 * MAX_LEN)
			usage_error("--device: %s holds %" PRIu64 " bytes, fewer than %d", opt.device,
				    dev_size, 2 * MAX_LEN);
	}
	setup_sysctl();
}

int main(int argc, char **argv)
{
	unsigned long first, last, done = 0, differences = 0, repins = 0;
	unsigned long long iocbs = 0, shorts = 0, cold = 0;
	long long start = now_ms();

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	printf("%s: seed %" PRIu64 "\n", PROG, opt.seed);
	setup();
	first = opt.only_given ? opt.only : 0;
	last = opt.only_given ? opt.only : opt.batches - 1;
	for (unsigned long idx = first; idx <= last && !stop_sig; idx++) {
		struct batch *b, *again;
		struct outcome a, s = { 0 };
		char why[512];

		if (opt.seconds > 0 && now_ms() - start >= opt.seconds * 1000)
			break;
		cur_batch = (long)idx;
		b = generate(idx);
		if (opt.verbose || opt.only_given)
			fputs(b->desc, stdout);
		b->arena = mmap(NULL, b->arena_size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->arena == MAP_FAILED)
			fatal("mmap of %zu bytes: %s", b->arena_size, strerror(errno));
		b->cb = xcalloc(b->n, sizeof(*b->cb));
		b->cbp = xcalloc(b->n, sizeof(*b->cbp));
		/* Regenerated, the batch must be the same: the replay line depends on it. */
		again = generate(idx);
		if (strcmp(again->desc, b->desc))
			fatal("generating the batch again gave another one (a bug of %s)", PROG);
		free_batch(again);
		for (int tries = 1;; tries++) {
			bool moved;

			run_batch(b, true, &a);
			if (stop_sig)
				break;
			moved = !still_pinned();
			run_batch(b, false, &s);
			moved |= !still_pinned();
			if (!moved || stop_sig)
				break;
			/* Its CPU went off line under one of the runs: both again, pinned anew. */
			if (!pin_cpu())
				fatal("pinning to a CPU again: %s", strerror(errno));
			if (tries == MAX_REPINS) {
				note("batch %lu moved off its CPU in %d tries: compared as it is", idx,
				     tries);
				break;
			}
			repins++;
			free_outcome(b, &a);
			free_outcome(b, &s);
			memset(&s, 0, sizeof(s));
		}
		if (!stop_sig) {
			if (differ(b, &a, &s, why, sizeof(why)))
				report(b, &a, &s, why, differences++ < MAX_REPORTS);
			else if (a.shorts > s.shorts)
				shorts += a.shorts - s.shorts;
			done++;
			iocbs += b->n;
			cold += a.cold_ops;
		}
		free_outcome(b, &a);
		if (s.state)	/* not run: stopped by a signal */
			free_outcome(b, &s);
		free_batch(b);
	}
	cur_batch = -1;
	wait_destroyed();
	printf("%s: %sseed %" PRIu64 ", %lu batch%s, %llu iocbs, %lu difference%s, %llu short count%s accepted, %llu ops on cold files, %lu run%s again off a lost CPU\n",
	       PROG, stop_sig ? "interrupted: " : "", opt.seed, done, done == 1 ? "" : "es", iocbs,
	       differences, differences == 1 ? "" : "s", shorts, shorts == 1 ? "" : "s", cold,
	       repins, repins == 1 ? "" : "s");
	if (stop_sig) {
		cleanup();
		can_switch = false;
		signal(stop_sig, SIG_DFL);
		raise(stop_sig);
	}
	return differences ? 1 : 0;
}
