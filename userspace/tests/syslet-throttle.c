// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a throttle is not a handoff point.  Buffered writes that
 * io_submit() runs on syslets and that balance_dirty_pages() pauses (with
 * vm.dirty_bytes at 256 KiB) wait there, as on stock, instead of handing
 * the user context off to dirty more: no syslet_handoff event names
 * balance_dirty_pages as the site, while the writeback event records
 * pauses.
 */
#include "syslet-helpers.h"

/* Low enough that writes leave balance_dirty_pages()' free-run zone at once. */
#define DIRTY_BYTES		(256LL << 10)
#define DIRTY_BG_BYTES		(128LL << 10)
#define WRITE_LEN		(64 << 10)
#define BATCH			16
#define TOTAL_BYTES		(32LL << 20)
#define MAX_SECONDS		30

#define VM "/proc/sys/vm/"

struct dirty_limits {
	long long bytes, ratio, bg_bytes, bg_ratio;
};

static void dirty_save(struct dirty_limits *d)
{
	d->bytes = t_read_sysctl(VM "dirty_bytes");
	d->ratio = t_read_sysctl(VM "dirty_ratio");
	d->bg_bytes = t_read_sysctl(VM "dirty_background_bytes");
	d->bg_ratio = t_read_sysctl(VM "dirty_background_ratio");
}

static void dirty_set(const char *name, long long v)
{
	char path[128];
	int err;

	snprintf(path, sizeof(path), VM "%s", name);
	err = t_write_sysctl(path, v);
	if (err)
		t_bail("write %lld to %s: %s", v, path, strerror(-err));
}

/* Each pair is bytes or ratio: writing one zeroes the other. */
static void dirty_restore(const struct dirty_limits *d)
{
	if (d->bg_bytes)
		dirty_set("dirty_background_bytes", d->bg_bytes);
	else
		dirty_set("dirty_background_ratio", d->bg_ratio);
	if (d->bytes)
		dirty_set("dirty_bytes", d->bytes);
	else
		dirty_set("dirty_ratio", d->ratio);
}

/*
 * writeback:balance_dirty_pages in an instance of the case's own.  Not
 * filtered by pid (helpers are not made through fork(), which event-fork
 * follows): the case holds the exclusive syslet lock, and nothing else in
 * the test VM dirties pages meanwhile; the pauses only show that the
 * throttle was met.  This counts the pauses it recorded (pause=N with
 * N > 0 ms).
 */
static long bdp_trace_pauses(struct sh_trace *t)
{
	char path[256], line[1024], *p;
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", t->dir);
	f = fopen(path, "re");
	if (!f)
		t_bail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strstr(line, "balance_dirty_pages:"))
			continue;
		p = strstr(line, " pause=");
		if (p && atol(p + 7) > 0)
			n++;
	}
	fclose(f);
	return n;
}

static enum t_result writer_child(void)
{
	aio_context_t ctx = t_setup_ctx(BATCH * 2);
	struct iocb cbs[BATCH], *list[BATCH];
	struct io_event evs[BATCH];
	struct sh_trace handoffs;
	struct sh_trace bdp;
	long long off = 0, end_us;
	long pauses, all, at_bdp;
	char *buf;
	int fd;

	buf = malloc(WRITE_LEN);
	if (!buf)
		t_bail("malloc: %s", strerror(errno));
	memset(buf, 'w', WRITE_LEN);
	fd = t_empty_file(0, NULL, 0);
	if (!sh_warm_up(ctx))
		return T_FAIL;
	sh_trace_start_system(&bdp, "writeback", "balance_dirty_pages");
	sh_trace_start(&handoffs, "syslet_handoff");
	end_us = t_now_us() + MAX_SECONDS * 1000000LL;
	while (off < TOTAL_BYTES && t_now_us() < end_us) {
		for (int i = 0; i < BATCH; i++) {
			t_prep_pwrite(&cbs[i], fd, buf, WRITE_LEN, off + (long long)i * WRITE_LEN);
			list[i] = &cbs[i];
		}
		/* fs.aio-syslet=2 counts the iocb that blocked: submit the rest. */
		for (int done = 0, n; done < BATCH; done += n) {
			n = sys_io_submit(ctx, BATCH - done, list + done);
			if (!T_TRUE(n > 0))
				goto out;
		}
		if (!T_EQ(t_reap(ctx, evs, BATCH, 30000), BATCH))
			break;
		for (int i = 0; i < BATCH; i++)
			if (!T_EQ(evs[i].res, WRITE_LEN))
				break;
		off += (long long)BATCH * WRITE_LEN;
	}
out:
	pauses = bdp_trace_pauses(&bdp);
	all = sh_trace_count(&handoffs, NULL);
	at_bdp = sh_trace_count(&handoffs, "site=balance_dirty_pages");
	sh_trace_stop(&bdp);
	sh_trace_stop(&handoffs);
	t_diag("%lld MiB written: %ld dirty-throttling pauses, %ld handoffs, %ld at bdp",
	       off >> 20, pauses, all, at_bdp);
	T_EQ(at_bdp, 0);
	close(fd);
	free(buf);
	T_EQ(sys_io_destroy(ctx), 0);
	if (t_result() == T_PASS && pauses == 0)
		return t_skip("no write was paused by balance_dirty_pages(): the disk kept up "
			      "with %lld MiB, nothing shows the throttle", off >> 20);
	return t_result();
}

static enum t_result test_dirty_throttle(void)
{
	struct dirty_limits saved;
	enum t_result r;

	if (!t_is_root())
		return t_skip("vm.dirty_bytes and the trace events need root");
	dirty_save(&saved);
	dirty_set("dirty_background_bytes", DIRTY_BG_BYTES);
	dirty_set("dirty_bytes", DIRTY_BYTES);
	r = sh_in_child(writer_child);
	dirty_restore(&saved);
	return r;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "buffered writes paused by balance_dirty_pages() wait there: no handoff at it",
		  test_dirty_throttle },
	};

	/* vm.dirty_bytes is global: no other syslet case runs meanwhile. */
	t_require_syslet_exclusive();
	return T_RUN(cases);
}
