// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * aio-syslet-stress: an aio-stress-like load generator that submits
 * through libaio, keeps submitting after a short io_submit() count (as a
 * program should on a syslet kernel), verifies every block it reads, and
 * reports IOPS, bandwidth, latency percentiles, how often io_submit()
 * returned short, and errors.
 *
 * Every block carries a header (magic, file, block, generation) and
 * words derived from it, so a read can be checked against the last write
 * of that block.  Blocks are split between threads and a block is never
 * in flight twice, so "the last write" is well defined.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libaio.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define PROG		"aio-syslet-stress"
#define MAGIC		0x6169737479736c74ULL	/* "aistyslt" */
/* Latency histogram: 32 sub-buckets per power of two of nanoseconds (~3%). */
#define SUB_BITS	5
#define NR_BUCKETS	(64 << SUB_BITS)

const char tool_name[] = PROG;

struct block_header {
	uint64_t magic;
	uint64_t file;
	uint64_t block;
	uint64_t gen;
};

static struct {
	char **paths;
	int nr_files;
	uint64_t file_size;
	unsigned int block_size;
	unsigned int depth;
	unsigned int batch;
	unsigned int write_pct;
	unsigned int threads;
	bool direct;
	bool random;
	bool verify;
	bool cold;
	bool submit_once;
	bool prepare;
	bool leader;
	unsigned int idle_threads;
	double seconds;
	uint64_t ops;
	uint64_t seed;
} opt = {
	.file_size = 64 << 20, .block_size = 4096, .depth = 32, .threads = 1,
	.random = true, .verify = true, .prepare = true, .seconds = 10, .seed = 1,
};

struct file {
	int fd;
	uint64_t blocks;
};

static struct file *files;
static uint64_t total_blocks;
/* Generation of each block's last completed write; written by its owner thread only. */
static uint32_t *generation;

struct slot {
	struct iocb cb;
	void *buf;
	uint64_t block;		/* global block number */
	uint64_t gen;		/* written, or expected on read */
	long long start_ns;
	bool write;
};

struct worker {
	pthread_t thread;
	unsigned int id;
	io_context_t ctx;
	struct slot *slots;
	struct iocb **batch;
	unsigned int *free_slots, nr_free;
	uint8_t *busy;		/* per owned block: in flight */
	uint64_t rng;
	/* results */
	uint64_t ops, reads, writes, bytes, errors, verify_failures;
	uint64_t submit_calls, partial_submits, eagain;
	uint64_t hist[NR_BUCKETS];
	char first_error[256];
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void usage(void)
{
	printf("Usage: %s [OPTION]... FILE...\n"
	       "Load FILEs with libaio and verify what is read back.\n\n"
	       "  -s, --size SIZE       bytes of each file used (default 64m; k, m, g suffixes)\n"
	       "  -b, --block SIZE      bytes per I/O (default 4k; a multiple of 512)\n"
	       "  -d, --depth N         I/Os in flight per thread (default 32)\n"
	       "  -B, --batch N         iocbs per io_submit() call (default: the depth)\n"
	       "  -w, --write-pct PCT   percent of I/Os that are writes (default 0)\n"
	       "  -t, --threads N       threads, each with its own io context (default 1)\n"
	       "  -D, --direct          open the files with O_DIRECT\n"
	       "  -S, --sequential      sequential block order (default: random)\n"
	       "  -T, --time SECONDS    run this long (default 10)\n"
	       "  -n, --ops N           stop after N I/Os per thread instead\n"
	       "  -c, --cold            drop the files' page cache before the run\n"
	       "      --no-prepare      use the files as they are (written by an earlier run)\n"
	       "      --no-verify       do not check the data read\n"
	       "      --submit-once     one system call per io_submit() (LIBAIO_SUBMIT_ONCE=1),\n"
	       "                        so every short count the kernel returns is counted\n"
	       "      --seed N          block order seed (default 1)\n"
	       "      --leader          the first thread's I/O runs in the main thread, the\n"
	       "                        thread group's leader (its handoffs move leadership)\n"
	       "      --idle-threads N  N more threads that only sleep until the end: a big\n"
	       "                        thread group (what a leader's handoff walks)\n"
	       "  -h, --help            this help\n\n"
	       "Exit status: 0 if every I/O succeeded and verified, 1 on I/O or data\n"
	       "errors, 2 on usage errors.\n", PROG);
}

static void parse_args(int argc, char **argv)
{
	enum { NO_VERIFY = 256, SUBMIT_ONCE, NO_PREPARE, SEED, LEADER, IDLE_THREADS };
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "block", required_argument, NULL, 'b' },
		{ "depth", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'B' },
		{ "write-pct", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 't' },
		{ "direct", no_argument, NULL, 'D' },
		{ "sequential", no_argument, NULL, 'S' },
		{ "time", required_argument, NULL, 'T' },
		{ "ops", required_argument, NULL, 'n' },
		{ "cold", no_argument, NULL, 'c' },
		{ "no-prepare", no_argument, NULL, NO_PREPARE },
		{ "no-verify", no_argument, NULL, NO_VERIFY },
		{ "submit-once", no_argument, NULL, SUBMIT_ONCE },
		{ "seed", required_argument, NULL, SEED },
		{ "leader", no_argument, NULL, LEADER },
		{ "idle-threads", required_argument, NULL, IDLE_THREADS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t block;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "s:b:d:B:w:t:DST:n:ch", longopts, NULL)) != -1) {
		switch (c) {
		case 's': opt.file_size = parse_size("--size", optarg); break;
		case 'b':
			block = parse_size("--block", optarg);
			if (block < 512 || block % 512 || block > (64 << 20))
				usage_error("--block: %s is not a multiple of 512 between 512 and 64m", optarg);
			opt.block_size = block;
			break;
		case 'd': opt.depth = parse_uint("--depth", optarg, 1, 65536); break;
		case 'B': opt.batch = parse_uint("--batch", optarg, 1, 65536); break;
		case 'w': opt.write_pct = parse_uint("--write-pct", optarg, 0, 100); break;
		case 't': opt.threads = parse_uint("--threads", optarg, 1, 1024); break;
		case 'D': opt.direct = true; break;
		case 'S': opt.random = false; break;
		case 'T':
			errno = 0;
			opt.seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(opt.seconds > 0))
				usage_error("--time: '%s' is not a positive number of seconds", optarg);
			break;
		case 'n': opt.ops = parse_size("--ops", optarg); break;
		case 'c': opt.cold = true; break;
		case NO_PREPARE: opt.prepare = false; break;
		case NO_VERIFY: opt.verify = false; break;
		case SUBMIT_ONCE: opt.submit_once = true; break;
		case SEED: opt.seed = parse_size("--seed", optarg) | 1; break;
		case LEADER: opt.leader = true; break;
		case IDLE_THREADS:
			opt.idle_threads = parse_uint("--idle-threads", optarg, 0, 100000);
			break;
		case 'h': usage(); exit(0);
		default:
			fprintf(stderr, "Try '%s --help'.\n", PROG);
			exit(EXIT_USAGE);
		}
	}
	if (optind == argc)
		usage_error("no FILE given");
	opt.paths = argv + optind;
	opt.nr_files = argc - optind;
	if (!opt.batch)
		opt.batch = opt.depth;
	if (opt.batch > opt.depth)
		usage_error("--batch %u is larger than --depth %u", opt.batch, opt.depth);
	if (opt.file_size < opt.block_size)
		usage_error("--size %" PRIu64 " is smaller than one block (%u)", opt.file_size,
			    opt.block_size);
	if (opt.ops && opt.ops > UINT64_MAX / opt.threads)
		usage_error("--ops: too large");
}

static uint64_t owned_blocks(unsigned int id)
{
	return total_blocks / opt.threads + (id < total_blocks % opt.threads);
}

/* The content of @block at generation @gen. */
static void fill_block(void *buf, uint64_t block, uint64_t gen)
{
	struct block_header *h = buf;
	uint64_t *w = buf, s = (block + 1) * 0x9e3779b97f4a7c15ULL ^ (gen << 32) ^ opt.seed;

	h->magic = MAGIC;
	h->file = block / files[0].blocks;
	h->block = block % files[0].blocks;
	h->gen = gen;
	s |= 1;
	for (size_t i = sizeof(*h) / 8; i < opt.block_size / 8; i++)
		w[i] = xorshift(&s);
}

/* Checks a block read back; describes the first difference in @why. */
static bool check_block(const void *buf, uint64_t block, uint64_t gen, char *why, size_t len)
{
	const struct block_header *h = buf;
	const uint64_t *w = buf;
	uint64_t s = (block + 1) * 0x9e3779b97f4a7c15ULL ^ (gen << 32) ^ opt.seed;
	uint64_t file = block / files[0].blocks, nr = block % files[0].blocks;

	if (h->magic != MAGIC || h->file != file || h->block != nr || h->gen != gen) {
		snprintf(why, len, "%s block %" PRIu64 ": header says magic %#" PRIx64 ", file %" PRIu64
			 ", block %" PRIu64 ", generation %" PRIu64 "; expected generation %" PRIu64,
			 opt.paths[file], nr, h->magic, h->file, h->block, h->gen, gen);
		return false;
	}
	s |= 1;
	for (size_t i = sizeof(*h) / 8; i < opt.block_size / 8; i++) {
		if (w[i] != xorshift(&s)) {
			snprintf(why, len, "%s block %" PRIu64 ": data differs at byte %zu",
				 opt.paths[file], nr, i * 8);
			return false;
		}
	}
	return true;
}

static void open_files(void)
{
	files = calloc(opt.nr_files, sizeof(*files));
	if (!files)
		fatal("out of memory");
	for (int i = 0; i < opt.nr_files; i++) {
		int flags = O_RDWR | O_CREAT | O_CLOEXEC | (opt.direct ? O_DIRECT : 0);
		uint64_t size = opt.file_size;
		struct stat st;
		int fd = open(opt.paths[i], flags, 0644);

		if (fd < 0)
			fatal("%s: %s", opt.paths[i], strerror(errno));
		if (fstat(fd, &st))
			fatal("%s: %s", opt.paths[i], strerror(errno));
		if (S_ISBLK(st.st_mode)) {
			uint64_t dev;

			if (ioctl(fd, BLKGETSIZE64, &dev))
				fatal("%s: BLKGETSIZE64: %s", opt.paths[i], strerror(errno));
			if (dev < size)
				fatal("%s: the device holds %" PRIu64 " bytes, less than --size %" PRIu64,
				      opt.paths[i], dev, size);
		} else if (!S_ISREG(st.st_mode)) {
			fatal("%s: not a regular file or block device", opt.paths[i]);
		} else if (!opt.prepare && (uint64_t)st.st_size < size) {
			fatal("%s: %" PRIu64 " bytes, less than --size %" PRIu64 " (drop --no-prepare)",
			      opt.paths[i], (uint64_t)st.st_size, size);
		}
		files[i].fd = fd;
		files[i].blocks = size / opt.block_size;
	}
	total_blocks = files[0].blocks * opt.nr_files;
	if (total_blocks < opt.threads)
		usage_error("%" PRIu64 " blocks in all for %u threads: give more --size or files",
			    total_blocks, opt.threads);
	generation = calloc(total_blocks, sizeof(*generation));
	if (!generation)
		fatal("out of memory for %" PRIu64 " blocks", total_blocks);
}

/* Writes generation 0 of every block with plain pwrite(). */
static void prepare_files(void)
{
	size_t chunk_blocks = (1 << 20) / opt.block_size ?: 1;
	char *buf = alloc_buf(chunk_blocks * opt.block_size);

	for (int i = 0; i < opt.nr_files; i++) {
		for (uint64_t b = 0; b < files[i].blocks; b += chunk_blocks) {
			size_t n = files[i].blocks - b < chunk_blocks ? files[i].blocks - b : chunk_blocks;
			ssize_t w;

			for (size_t j = 0; j < n; j++)
				fill_block(buf + j * opt.block_size, i * files[0].blocks + b + j, 0);
			w = pwrite(files[i].fd, buf, n * opt.block_size, b * opt.block_size);
			if (w != (ssize_t)(n * opt.block_size))
				fatal("%s: writing block %" PRIu64 ": %s", opt.paths[i], b,
				      w < 0 ? strerror(errno) : "short write");
		}
	}
	free(buf);
}

static void drop_caches(void)
{
	for (int i = 0; i < opt.nr_files; i++) {
		int err;

		if (fsync(files[i].fd))
			fatal("%s: fsync: %s", opt.paths[i], strerror(errno));
		err = posix_fadvise(files[i].fd, 0, 0, POSIX_FADV_DONTNEED);
		if (err)
			fatal("%s: posix_fadvise(DONTNEED): %s", opt.paths[i], strerror(err));
	}
}

static void record_latency(struct worker *w, long long ns)
{
	uint64_t v = ns > 0 ? ns : 1;
	int msb = 63 - __builtin_clzll(v);
	unsigned int idx;

	if (msb < SUB_BITS)
		idx = v;
	else
		idx = (msb - SUB_BITS + 1) << SUB_BITS | ((v >> (msb - SUB_BITS)) & ((1 << SUB_BITS) - 1));
	w->hist[idx < NR_BUCKETS ? idx : NR_BUCKETS - 1]++;
}

static uint64_t bucket_value(unsigned int idx)
{
	unsigned int e = idx >> SUB_BITS, m = idx & ((1 << SUB_BITS) - 1);

	if (!e)
		return m;
	return (uint64_t)((1 << SUB_BITS) | m) << (e - 1);
}

static void error_once(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_once(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
	va_end(ap);
}

/* Picks an owned block not in flight; its global number, or UINT64_MAX if none is free. */
static uint64_t pick_block(struct worker *w, uint64_t *cursor)
{
	uint64_t owned = owned_blocks(w->id);

	for (int tries = 0; tries < 64; tries++) {
		uint64_t local = opt.random ? xorshift(&w->rng) % owned : (*cursor)++ % owned;

		if (!w->busy[local]) {
			w->busy[local] = 1;
			return local * opt.threads + w->id;
		}
	}
	return UINT64_MAX;
}

static void prep_slot(struct worker *w, struct slot *s, uint64_t block)
{
	uint64_t file = block / files[0].blocks, nr = block % files[0].blocks;
	int fd = files[file].fd;
	long long off = nr * opt.block_size;

	s->block = block;
	s->write = opt.write_pct && xorshift(&w->rng) % 100 < opt.write_pct;
	if (s->write) {
		s->gen = generation[block] + 1;
		fill_block(s->buf, block, s->gen);
		io_prep_pwrite(&s->cb, fd, s->buf, opt.block_size, off);
	} else {
		s->gen = generation[block];
		memset(s->buf, 0, sizeof(struct block_header));
		io_prep_pread(&s->cb, fd, s->buf, opt.block_size, off);
	}
	s->cb.data = s;
}

static void complete(struct worker *w, struct io_event *ev)
{
	struct slot *s = ev->data;
	uint64_t local = s->block / opt.threads;
	char why[200];

	record_latency(w, now_ns() - s->start_ns);
	w->ops++;
	if ((long)ev->res != (long)opt.block_size || ev->res2) {
		w->errors++;
		error_once(w, "%s of %s block %" PRIu64 ": res %ld (%s), res2 %ld",
			   s->write ? "write" : "read", opt.paths[s->block / files[0].blocks],
			   s->block % files[0].blocks, (long)ev->res,
			   (long)ev->res < 0 ? strerror(-(long)ev->res) : "short",
			   (long)ev->res2);
	} else if (s->write) {
		w->writes++;
		w->bytes += opt.block_size;
		generation[s->block] = s->gen;
	} else {
		w->reads++;
		w->bytes += opt.block_size;
		if (opt.verify && !check_block(s->buf, s->block, s->gen, why, sizeof(why))) {
			w->verify_failures++;
			error_once(w, "verify: %s", why);
		}
	}
	w->busy[local] = 0;
	w->free_slots[w->nr_free++] = s - w->slots;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct io_event *events = calloc(opt.depth, sizeof(*events));
	long long deadline = now_ns() + (long long)(opt.seconds * 1e9);
	uint64_t cursor = 0, started = 0;
	unsigned int inflight = 0;

	if (!events)
		fatal("out of memory");
	for (;;) {
		bool more = opt.ops ? started < opt.ops : now_ns() < deadline;
		unsigned int n = 0;
		long done = 0;

		/* Fill a batch from the free slots. */
		while (more && n < opt.batch && w->nr_free && (!opt.ops || started + n < opt.ops)) {
			uint64_t block = pick_block(w, &cursor);
			struct slot *s;

			if (block == UINT64_MAX)
				break;
			s = &w->slots[w->free_slots[--w->nr_free]];
			prep_slot(w, s, block);
			w->batch[n++] = &s->cb;
		}
		/* Submit all of it, looping on short counts as libaio's callers should. */
		while (done < n) {
			long long t0 = now_ns();
			int ret;

			for (unsigned int i = done; i < n; i++)
				((struct slot *)w->batch[i]->data)->start_ns = t0;
			ret = io_submit(w->ctx, n - done, w->batch + done);
			w->submit_calls++;
			if (ret > 0 && ret < (int)(n - done))
				w->partial_submits++;
			if (ret > 0) {
				done += ret;
				inflight += ret;
				continue;
			}
			if (ret == -EAGAIN && inflight) {
				w->eagain++;
				break;	/* reap, then resubmit what is left */
			}
			fatal("thread %u: io_submit: %s", w->id, strerror(-ret));
		}
		/* Give back what did not go in. */
		for (unsigned int i = done; i < n; i++) {
			struct slot *s = w->batch[i]->data;

			w->busy[s->block / opt.threads] = 0;
			w->free_slots[w->nr_free++] = s - w->slots;
		}
		started += done;
		if (!inflight && !(opt.ops ? started < opt.ops : now_ns() < deadline))
			break;
		if (inflight) {
			/* Wait for one at least when nothing more could be submitted now. */
			bool wait = !n || done < n || !w->nr_free ||
				    !(opt.ops ? started < opt.ops : now_ns() < deadline);
			struct timespec ts = { 1, 0 };
			int got = io_getevents(w->ctx, wait ? 1 : 0, inflight, events, &ts);

			if (got < 0 && got != -EINTR)
				fatal("thread %u: io_getevents: %s", w->id, strerror(-got));
			for (int i = 0; i < got; i++)
				complete(w, &events[i]);
			if (got > 0)
				inflight -= got;
		}
	}
	free(events);
	return NULL;
}

static void setup_worker(struct worker *w, unsigned int id)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->rng = (opt.seed + id) * 0x2545f4914f6cdd1dULL | 1;
	err = io_queue_init(opt.depth, &w->ctx);
	if (err)
		fatal("io_queue_init(%u): %s", opt.depth, strerror(-err));
	w->slots = calloc(opt.depth, sizeof(*w->slots));
	w->batch = calloc(opt.batch, sizeof(*w->batch));
	w->free_slots = calloc(opt.depth, sizeof(*w->free_slots));
	w->busy = calloc(owned_blocks(id), 1);
	if (!w->slots || !w->batch || !w->free_slots || !w->busy)
		fatal("out of memory");
	for (unsigned int i = 0; i < opt.depth; i++) {
		w->slots[i].buf = alloc_buf(opt.block_size);
		w->free_slots[w->nr_free++] = i;
	}
}

/* The --idle-threads: asleep until the run ends. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static bool idle_end;

static void *idle_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_lock);
	while (!idle_end)
		pthread_cond_wait(&idle_cond, &idle_lock);
	pthread_mutex_unlock(&idle_lock);
	return NULL;
}

static uint64_t percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)(total * p / 100.0 + 0.5), seen = 0;

	if (!want)
		want = 1;
	for (unsigned int i = 0; i < NR_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return bucket_value(i);
	}
	return bucket_value(NR_BUCKETS - 1);
}

int main(int argc, char **argv)
{
	static uint64_t hist[NR_BUCKETS];
	struct worker *workers;
	uint64_t ops = 0, reads = 0, writes = 0, bytes = 0, errors = 0, bad = 0;
	uint64_t calls = 0, partial = 0, eagain = 0, max = 0;
	const char *first_error = NULL;
	pthread_t *idle;
	long long t0, elapsed;
	double secs;

	parse_args(argc, argv);
	/* Before the first io_submit(): libaio reads it on every call. */
	if (opt.submit_once && setenv("LIBAIO_SUBMIT_ONCE", "1", 1))
		fatal("setenv: %s", strerror(errno));
	open_files();
	if (opt.prepare)
		prepare_files();
	if (opt.cold)
		drop_caches();
	workers = calloc(opt.threads, sizeof(*workers));
	if (!workers)
		fatal("out of memory");
	for (unsigned int i = 0; i < opt.threads; i++)
		setup_worker(&workers[i], i);

	printf("%s: %d file(s) x %" PRIu64 " KiB, %u-byte blocks, depth %u, batch %u, "
	       "%u thread(s)%s, %u idle, %u%% writes, %s, %s%s, %s\n", PROG, opt.nr_files,
	       opt.file_size >> 10, opt.block_size, opt.depth, opt.batch, opt.threads,
	       opt.leader ? " (the first is the leader)" : "", opt.idle_threads,
	       opt.write_pct, opt.direct ? "O_DIRECT" : "buffered",
	       opt.random ? "random" : "sequential", opt.cold ? ", cold cache" : "",
	       opt.submit_once ? "LIBAIO_SUBMIT_ONCE=1" : "libaio submits whole batches");
	fflush(stdout);
	idle = calloc(opt.idle_threads + 1, sizeof(*idle));
	if (!idle)
		fatal("out of memory");
	for (unsigned int i = 0; i < opt.idle_threads; i++) {
		pthread_attr_t attr;
		int err;

		/* 4000 threads of 8 MiB stacks would be 32 GiB of address space. */
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 << 10);
		err = pthread_create(&idle[i], &attr, idle_main, NULL);
		pthread_attr_destroy(&attr);
		if (err)
			fatal("pthread_create of idle thread %u: %s", i + 1, strerror(err));
	}
	t0 = now_ns();
	for (unsigned int i = opt.leader; i < opt.threads; i++) {
		int err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);

		if (err)
			fatal("pthread_create: %s", strerror(err));
	}
	if (opt.leader)
		worker_main(&workers[0]);
	for (unsigned int i = opt.leader; i < opt.threads; i++)
		pthread_join(workers[i].thread, NULL);
	elapsed = now_ns() - t0;
	pthread_mutex_lock(&idle_lock);
	idle_end = true;
	pthread_cond_broadcast(&idle_cond);
	pthread_mutex_unlock(&idle_lock);
	for (unsigned int i = 0; i < opt.idle_threads; i++)
		pthread_join(idle[i], NULL);
	free(idle);

	for (unsigned int i = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];

		ops += w->ops;
		reads += w->reads;
		writes += w->writes;
		bytes += w->bytes;
		errors += w->errors;
		bad += w->verify_failures;
		calls += w->submit_calls;
		partial += w->partial_submits;
		eagain += w->eagain;
		for (unsigned int b = 0; b < NR_BUCKETS; b++) {
			hist[b] += w->hist[b];
			if (w->hist[b] && bucket_value(b) > max)
				max = bucket_value(b);
		}
		if (!first_error && w->first_error[0])
			first_error = w->first_error;
		io_queue_release(w->ctx);
	}
	secs = elapsed / 1e9;
	printf("ops %" PRIu64 " (reads %" PRIu64 ", writes %" PRIu64 ") in %.2f s\n", ops, reads,
	       writes, secs);
	printf("iops %.1f  bandwidth %.2f MiB/s\n", ops / secs, bytes / secs / (1 << 20));
	if (ops)
		printf("latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
		       percentile(hist, ops, 50) / 1e3, percentile(hist, ops, 90) / 1e3,
		       percentile(hist, ops, 99) / 1e3, percentile(hist, ops, 99.9) / 1e3, max / 1e3);
	printf("io_submit calls %" PRIu64 ", partial submits %" PRIu64 ", EAGAIN %" PRIu64 "\n",
	       calls, partial, eagain);
	printf("errors %" PRIu64 ", verify failures %" PRIu64 "%s\n", errors, bad,
	       opt.verify ? "" : " (verification off)");
	if (first_error)
		printf("first error: %s\n", first_error);
	return errors || bad ? 1 : 0;
}
