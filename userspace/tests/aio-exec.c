// SPDX-License-Identifier: GPL-2.0-or-later
/* Description: execve() with a live AIO context succeeds and leaves the new image without it. */
#include "t.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN	512
#define SEED	0xe8ec

#define EXEC_FAILED	120

/* What the new image's exit code means (index = code - 1). */
static const char *const image_what[] = {
	"bad arguments to the new image",
	"io_destroy of the old id did not fail with EINVAL",
	"io_getevents on the old id did not fail with EINVAL",
	"io_setup failed in the new image",
	"a read on the new context did not complete with its data",
	"io_destroy of the new context failed",
};

/* The re-executed image: checks the old context id @argv[3] per mode @argv[2]. */
static int new_image(int argc, char **argv)
{
	struct timespec ts = { 10, 0 };
	aio_context_t old, ctx = 0;
	unsigned char buf[LEN];
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	int fd;

	if (argc != 4)
		return 1;
	old = strtoull(argv[3], NULL, 0);
	if (!strcmp(argv[2], "old-id")) {
		/* The new mm has no context table at all. */
		if (sys_io_destroy(old) != -1 || errno != EINVAL)
			return 2;
		if (sys_io_getevents(old, 0, 1, &ev, &ts) != -1 || errno != EINVAL)
			return 3;
		return 0;
	}
	if (strcmp(argv[2], "fresh"))
		return 1;
	if (sys_io_setup(4, &ctx))
		return 4;
	fd = t_pattern_file(LEN, SEED, 0, NULL, 0);
	memset(buf, 0, sizeof(buf));
	t_prep_pread(&cb, fd, buf, LEN, 0);
	if (sys_io_submit(ctx, 1, &cbp) != 1 || sys_io_getevents(ctx, 1, 1, &ev, &ts) != 1 ||
	    ev.obj != (uintptr_t)&cb || ev.res != LEN || !t_verify_pattern(buf, LEN, SEED, 0))
		return 5;
	if (sys_io_destroy(ctx))
		return 6;
	close(fd);
	return 0;
}

/* Re-executes this program as the new image in @mode, passing the context id. */
static void exec_self(const char *mode, aio_context_t ctx)
{
	char id[32];
	char *argv[] = { "aio-exec", "--new-image", (char *)mode, id, NULL };

	snprintf(id, sizeof(id), "0x%" PRIx64, (uint64_t)ctx);
	execv("/proc/self/exe", argv);
	_exit(EXEC_FAILED);
}

/* A context with a POLL in flight on a pipe nobody writes. */
static aio_context_t inflight_poll(struct iocb *cb)
{
	aio_context_t ctx = 0;
	int pfd[2];

	if (sys_io_setup(4, &ctx) || pipe(pfd))
		_exit(EXEC_FAILED + 1);
	t_prep_poll(cb, pfd[0], POLLIN);
	if (sys_io_submit(ctx, 1, &cb) != 1)
		_exit(EXEC_FAILED + 2);
	return ctx;
}

/* Forks; the child runs @scene (which execs); checks the new image's exit code. */
static void run(void (*scene)(const char *), const char *mode)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		t_bail("fork: %s", strerror(errno));
	if (pid == 0)
		scene(mode);
	if (waitpid(pid, &status, 0) != pid)
		t_bail("waitpid: %s", strerror(errno));
	if (!T_TRUE(WIFEXITED(status))) {
		t_diag("child status 0x%x", status);
		return;
	}
	status = WEXITSTATUS(status);
	if (status >= EXEC_FAILED)
		t_diag("setup or execv failed in the child (%d)", status);
	else if (status > 0 && status <= (int)(sizeof(image_what) / sizeof(image_what[0])))
		t_diag("new image: %s", image_what[status - 1]);
	T_EQ(status, 0);
}

static void scene_poll(const char *mode)
{
	struct iocb cb;

	exec_self(mode, inflight_poll(&cb));
}

static void scene_unreaped(const char *mode)
{
	struct iocb cb, rd, *rdp = &rd;
	unsigned char buf[LEN];
	aio_context_t ctx = inflight_poll(&cb);
	int fd = t_pattern_file(LEN, SEED, 0, NULL, 0);

	/* Besides the POLL in flight, a completed read nobody reaps. */
	t_prep_pread(&rd, fd, buf, LEN, 0);
	if (sys_io_submit(ctx, 1, &rdp) != 1)
		_exit(EXEC_FAILED + 3);
	exec_self(mode, ctx);
}

struct waiter {
	aio_context_t ctx;
	volatile pid_t tid;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;
	struct io_event ev;

	w->tid = gettid();
	/* Never returns: execve() kills this thread in the middle of the wait. */
	sys_io_getevents(w->ctx, 1, 1, &ev, NULL);
	_exit(EXEC_FAILED + 5);
}

static void scene_thread_waiting(const char *mode)
{
	struct iocb cb;
	struct waiter w = { inflight_poll(&cb), 0 };
	pthread_t th;

	if (pthread_create(&th, NULL, waiter_fn, &w))
		_exit(EXEC_FAILED + 6);
	while (!w.tid)
		usleep(1000);
	t_wait_blocked(getpid(), w.tid, SYS_io_getevents, NULL);
	exec_self(mode, w.ctx);
}

static enum t_result test_old_id(void)
{
	run(scene_poll, "old-id");
	return t_result();
}

static enum t_result test_fresh(void)
{
	run(scene_unreaped, "fresh");
	return t_result();
}

static enum t_result test_thread_waiting(void)
{
	run(scene_thread_waiting, "old-id");
	return t_result();
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		{ "exec with a POLL in flight succeeds; the old id fails with EINVAL after",
		  test_old_id },
		{ "io_setup and a read work in the image exec'd from a live context",
		  test_fresh },
		{ "exec succeeds while another thread sleeps in io_getevents",
		  test_thread_waiting },
	};

	if (argc > 1 && !strcmp(argv[1], "--new-image"))
		return new_image(argc, argv);
	return T_RUN(cases);
}
