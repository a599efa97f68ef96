/*
 * mmf_full_disk DIR default|seed - append to DIR/wal until DIR's filesystem
 * is full, and say how the library met the full disk.
 *
 * A child process opens DIR/wal with the default options (mmf_options_init:
 * MMF_RESERVE) or the seed's (mmf_options_seed: no reservation) and appends
 * 16 KiB records with mmf_append_buffer, mmf_sync after every 1 MiB, until a
 * call fails or 4 GiB went in. Its progress is in a shared mapping, so a
 * SIGBUS (a store into a page the filesystem could not allocate) kills only
 * the child and the parent still knows how far it got. One line on stdout:
 *
 *   FULLDISK options=O outcome=enospc|sigbus|error|not-full call=C rc=R
 *            appended=BYTES synced=BYTES
 *
 * outcome enospc: the failing call (append or sync) returned -ENOSPC;
 * error: another error; sigbus: the child died of SIGBUS. Used by
 * `crashvm fulldisk` (scripts/mmfresults/crashvm.py) on a fresh loop image
 * of each filesystem of its table and on tmpfs. Exit 0 when the line was
 * printed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include "mmapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define REC (16u << 10)
#define SYNC_BYTES (1u << 20)
#define MAX_BYTES (4ull << 30)

/* Under ASan (preset dev) the child's SIGBUS must kill it, not be reported. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_sigbus=0";
}

struct progress {
	size_t appended, synced;
	int rc;
	char call[8];
};

static void child(const char *path, int seed, volatile struct progress *pr)
{
	static unsigned char buf[REC];
	mmf_options o;
	mmf_file *f;
	int rc;

	if (seed)
		mmf_options_seed(&o);
	else
		mmf_options_init(&o);
	memset(buf, 0xa5, sizeof(buf));
	rc = mmf_open(path, O_RDWR | O_CREAT | O_EXCL, 0, &o, &f);
	if (rc < 0) {
		pr->rc = rc;
		strcpy((char *)pr->call, "open");
		_exit(0);
	}
	while (pr->appended < MAX_BYTES) {
		rc = mmf_append_buffer(f, pr->appended, buf, REC);
		if (rc < 0) {
			strcpy((char *)pr->call, "append");
			break;
		}
		pr->appended += REC;
		if (pr->appended % SYNC_BYTES == 0) {
			rc = mmf_sync(f);
			if (rc < 0) {
				strcpy((char *)pr->call, "sync");
				break;
			}
			pr->synced = pr->appended;
		}
	}
	pr->rc = rc;
	_exit(0);
}

int main(int argc, char **argv)
{
	volatile struct progress *pr;
	const char *outcome;
	char path[4096];
	int seed, status;
	pid_t pid;

	if (argc != 3 || (strcmp(argv[2], "default") && strcmp(argv[2], "seed"))) {
		fputs("usage: mmf_full_disk DIR default|seed\n", stderr);
		return 2;
	}
	seed = !strcmp(argv[2], "seed");
	snprintf(path, sizeof(path), "%s/wal", argv[1]);
	pr = mmap(NULL, sizeof(*pr), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pr == MAP_FAILED)
		return perror("mmap"), 1;
	strcpy((char *)pr->call, "-");
	pid = fork();
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		child(path, seed, pr);
	}
	if (waitpid(pid, &status, 0) < 0)
		return perror("waitpid"), 1;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
		outcome = "sigbus";
	else if (pr->rc == -ENOSPC)
		outcome = "enospc";
	else if (pr->rc < 0)
		outcome = "error";
	else
		outcome = "not-full";
	printf("FULLDISK options=%s outcome=%s call=%s rc=%d appended=%zu "
	       "synced=%zu\n", argv[2], outcome,
	       WIFSIGNALED(status) ? "store" : (const char *)pr->call, pr->rc,
	       pr->appended, pr->synced);
	return 0;
}
