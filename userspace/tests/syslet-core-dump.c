// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Description: a core dump of a process with parked helpers has its user
 * threads only: one NT_PRSTATUS note per user thread, the crashing one
 * first, with its registers.  So does one taken while a thread's read is
 * handed off and still blocked: the dump ends, the process is reaped, and
 * the thread is in it under its TID, not the former head that waits in
 * the read.
 */
#include "syslet-helpers.h"

#include <elf.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define CORE_PATTERN	"/proc/sys/kernel/core_pattern"
#define MAX_NOTES	8

static int sleeper_pipe[2];
/* Shared with the parent: the user threads' TIDs, main thread first. */
static pid_t *user_tids;

static void *sleeper(void *arg)
{
	char c;

	(void)arg;
	if (read(sleeper_pipe[0], &c, 1) < 0)
		return NULL;
	return arg;
}

/* A second user thread whose read hands off and stays blocked: the pipe is never written. */
static void *blocked_reader(void *arg)
{
	struct sh_block *b = arg;

	user_tids[1] = sh_gettid();
	sh_block_start(b, b->ctx, SH_READ_DATA, 60 * 1000);
	if (!sh_expect_handoff(b, sh_block_submit(b)))
		_exit(5);
	/* Past the handoff: the parent may be told. */
	user_tids[2] = 1;
	pause();
	return NULL;
}

/*
 * The child: hands off from its main thread, starts a second user thread
 * (one whose read is handed off and blocked, with @blocked), aborts.
 */
static void crashing_child(bool blocked)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	aio_context_t ctx = t_setup_ctx(8);
	static struct sh_block b;
	pthread_t th;

	user_tids[0] = sh_gettid();
	if (setrlimit(RLIMIT_CORE, &unlimited) || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		_exit(2);
	if (!sh_warm_up(ctx) || !sh_read_runs(ctx, true) || !sh_wait_parked(1, SH_PARK_MS))
		_exit(3);
	if (blocked) {
		b.ctx = ctx;
		if (pthread_create(&th, NULL, blocked_reader, &b))
			_exit(4);
		for (int i = 0; i < 5000 && !user_tids[2]; i++)
			usleep(1000);
		if (!user_tids[2])
			_exit(6);
	} else {
		if (pipe2(sleeper_pipe, O_CLOEXEC) || pthread_create(&th, NULL, sleeper, NULL))
			_exit(4);
		user_tids[1] = 0;
	}
	printf("# the child has %d threads, %d of them parked helpers\n", sh_count_tasks(),
	       sh_parked_helpers());
	fflush(stdout);
	abort();
}

/*
 * NT_PRSTATUS notes in the ELF core file @path, their threads' pids in
 * @pids (up to MAX_NOTES); -1 if it is not one.
 */
static int prstatus_notes(const char *path, pid_t *pids)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
	Elf64_Ehdr eh;

	memset(pids, 0, MAX_NOTES * sizeof(*pids));
	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_type != ET_CORE) {
		close(fd);
		return -1;
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		char *notes;
		size_t off = 0;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (size_t)i * eh.e_phentsize)) !=
		    sizeof(ph))
			break;
		if (ph.p_type != PT_NOTE)
			continue;
		notes = malloc(ph.p_filesz);
		if (!notes || pread(fd, notes, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
			t_bail("read the notes of %s", path);
		while (off + sizeof(Elf64_Nhdr) <= ph.p_filesz) {
			Elf64_Nhdr *nh = (Elf64_Nhdr *)(notes + off);
			size_t desc = off + sizeof(*nh) + ((nh->n_namesz + 3) & ~3UL);

			if (nh->n_type == NT_PRSTATUS) {
				/* struct elf_prstatus: pr_pid after the siginfo, cursig, sigpend and sighold. */
				if (n < MAX_NOTES && desc + 36 <= ph.p_filesz)
					memcpy(&pids[n], notes + desc + 32, sizeof(*pids));
				n++;
			}
			off = desc + ((nh->n_descsz + 3) & ~3UL);
		}
		free(notes);
	}
	close(fd);
	return n;
}

static enum t_result core_dump(bool blocked)
{
	char old[256], pattern[4200], core[4200];
	pid_t pid, pids[MAX_NOTES];
	int st = 0, fd, notes;

	if (!t_is_root())
		return t_skip("setting kernel.core_pattern needs root");
	sh_read_file(CORE_PATTERN, old, sizeof(old));
	snprintf(pattern, sizeof(pattern), "%s/aio-syslet-core.%%p", t_test_dir());
	fd = open(CORE_PATTERN, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pattern, strlen(pattern)) != (ssize_t)strlen(pattern))
		t_bail("write %s: %s", CORE_PATTERN, strerror(errno));
	close(fd);

	user_tids = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (user_tids == MAP_FAILED)
		t_bail("mmap: %s", strerror(errno));
	pid = t_fork();
	if (pid == 0)
		crashing_child(blocked);
	/* With a read blocked, the dump must still end: within the minute. */
	if (T_TRUE(t_wait_child(pid, &st, 60, false))) {
		if (!T_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT))
			t_diag("the child ended with status %#x", st);
		T_TRUE(WCOREDUMP(st));
	}
	snprintf(core, sizeof(core), "%s/aio-syslet-core.%d", t_test_dir(), (int)pid);
	notes = prstatus_notes(core, pids);
	if (!T_EQ(notes, 2))
		t_diag("%s: %d threads dumped; the process had 2 user threads", core, notes);
	/* The thread that aborted comes first: the main thread, the process's PID. */
	T_EQ(pids[0], pid);
	T_EQ(user_tids[0], pid);
	/* The reader under its own TID, not the former head's. */
	if (blocked && T_TRUE(user_tids[1] > 0))
		T_EQ(pids[1], user_tids[1]);
	munmap(user_tids, 4096);
	unlink(core);

	fd = open(CORE_PATTERN, O_WRONLY | O_CLOEXEC);
	old[strcspn(old, "\n")] = '\0';
	if (fd < 0 || write(fd, old, strlen(old)) != (ssize_t)strlen(old))
		t_bail("restore %s to %s: %s", CORE_PATTERN, old, strerror(errno));
	close(fd);
	return t_result();
}

static enum t_result test_core_dump(void)
{
	return core_dump(false);
}

static enum t_result test_core_dump_blocked(void)
{
	return core_dump(true);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a core dump with parked helpers has the user threads only", test_core_dump },
		{ "a core dump with a thread's read handed off and blocked ends, and has the thread under its TID",
		  test_core_dump_blocked },
	};

	/* kernel.core_pattern is the machine's: no other case may dump meanwhile. */
	t_require_syslet_exclusive();
	return T_RUN(cases);
}
