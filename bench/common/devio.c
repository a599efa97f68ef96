/* devio.c - device, own-cgroup and /proc/self/io counters (see devio.h). */
#define _GNU_SOURCE
#include "devio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	bool ok;

	if (!fp)
		return false;
	ok = fgets(buf, (int)len, fp) != NULL;
	fclose(fp);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static bool write_str(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	bool ok;

	if (!fp)
		return false;
	ok = fputs(text, fp) >= 0;
	return fclose(fp) == 0 && ok;
}

/* The mount point of cgroup v1 with controller ctl ("" when none). */
static void v1_mount(const char *ctl, char *out, size_t len)
{
	FILE *fp = fopen("/proc/mounts", "r");
	char dev[256], dir[512], type[64], opts[512], want[80];

	out[0] = '\0';
	if (!fp)
		return;
	snprintf(want, sizeof(want), ",%s,", ctl);
	while (fscanf(fp, "%255s %511s %63s %511s %*[^\n]", dev, dir, type, opts) == 4) {
		char o[520];

		snprintf(o, sizeof(o), ",%s,", opts);
		if (strcmp(type, "cgroup") == 0 && strstr(o, want)) {
			snprintf(out, len, "%s", dir);
			break;
		}
	}
	fclose(fp);
}

/* This process's path in the v1 hierarchy of ctl ("/" when not found). */
static void own_path(const char *ctl, char *out, size_t len)
{
	FILE *fp = fopen("/proc/self/cgroup", "r");
	char line[1024], want[80];

	snprintf(out, len, "/");
	if (!fp)
		return;
	snprintf(want, sizeof(want), ",%s,", ctl);
	while (fgets(line, sizeof(line), fp)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL, ctls[520];

		if (!b)
			continue;
		snprintf(ctls, sizeof(ctls), ",%.*s,", (int)(b - a - 1), a + 1);
		if (strstr(ctls, want)) {
			b[strcspn(b, "\n")] = '\0';
			snprintf(out, len, "%s", b + 1);
			break;
		}
	}
	fclose(fp);
}

static void setup_own(struct mmf_devio *io)
{
	char mnt[512], me[512], path[1100], lim[64], pid[32];

	if (geteuid() != 0) {
		snprintf(io->own_why, sizeof(io->own_why), "needs root");
		return;
	}
	v1_mount("blkio", mnt, sizeof(mnt));
	if (!mnt[0] || !io->numbers[0]) {
		snprintf(io->own_why, sizeof(io->own_why), "%s",
			 !mnt[0] ? "no cgroup v1 blkio" : "device unknown");
		return;
	}
	own_path("blkio", me, sizeof(me));
	int n = snprintf(io->parent, sizeof(io->parent), "%s%s", mnt, strcmp(me, "/") ? me : "");
	int m = snprintf(io->child, sizeof(io->child), "%s/mmf-devio-%d", io->parent, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(io->parent) || m < 0 || (size_t)m >= sizeof(io->child)) {
		snprintf(io->own_why, sizeof(io->own_why), "cgroup path too long");
		io->child[0] = '\0';
		return;
	}
	snprintf(lim, sizeof(lim), "%s 1125899906842624", io->numbers);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (mkdir(io->child, 0755) < 0 && errno != EEXIST) {
		snprintf(io->own_why, sizeof(io->own_why), "cannot make the cgroup");
		io->child[0] = '\0';
		return;
	}
	snprintf(path, sizeof(path), "%s/blkio.throttle.read_bps_device", io->child);
	bool ok = write_str(path, lim);
	snprintf(path, sizeof(path), "%s/blkio.throttle.write_bps_device", io->child);
	ok = ok && write_str(path, lim);
	snprintf(path, sizeof(path), "%s/cgroup.procs", io->child);
	ok = ok && write_str(path, pid);
	if (!ok) {
		snprintf(io->own_why, sizeof(io->own_why), "cannot set up or join the cgroup");
		rmdir(io->child);
		io->child[0] = '\0';
	}
}

void mmf_devio_open(struct mmf_devio *io, const char *dir, bool own)
{
	char link[64], real[PATH_MAX], p[PATH_MAX + 16];
	struct stat sb;

	memset(io, 0, sizeof(*io));
	snprintf(io->name, sizeof(io->name), "unknown");
	snprintf(io->own_why, sizeof(io->own_why), "not asked");
	if (stat(dir, &sb) == 0) {
		snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(sb.st_dev),
			 minor(sb.st_dev));
		if (realpath(link, real)) {
			snprintf(p, sizeof(p), "%s/partition", real);
			if (access(p, F_OK) == 0)
				*strrchr(real, '/') = '\0';
			snprintf(p, sizeof(p), "%s/stat", real);
			if (access(p, R_OK) == 0) {
				snprintf(io->stat_path, sizeof(io->stat_path), "%.500s", p);
				snprintf(io->name, sizeof(io->name), "%.60s", strrchr(real, '/') + 1);
				snprintf(p, sizeof(p), "%s/dev", real);
				if (!read_line(p, io->numbers, sizeof(io->numbers)))
					io->numbers[0] = '\0';
			}
		}
	}
	if (own) {
		io->own_why[0] = '\0';
		setup_own(io);
	}
}

/* Read and Write values of dev in a blkio.throttle.* file; false when unreadable. */
static bool blkio_pair(const char *file, const char *dev, double *r, double *w)
{
	FILE *fp = fopen(file, "r");
	char line[256], d[64], op[32];
	double v;

	*r = *w = 0;
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%63s %31s %lf", d, op, &v) != 3 || strcmp(d, dev) != 0)
			continue;	/* "Total N", other devices */
		if (strcmp(op, "Read") == 0)
			*r = v;
		else if (strcmp(op, "Write") == 0)
			*w = v;
	}
	fclose(fp);
	return true;
}

void mmf_devio_read(const struct mmf_devio *io, struct mmf_devio_snap *s)
{
	double f[17] = {0};
	int n = 0;
	FILE *fp = io->stat_path[0] ? fopen(io->stat_path, "r") : NULL;
	char line[128], path[600];
	long long v;

	if (fp) {
		while (n < 17 && fscanf(fp, "%lf", &f[n]) == 1)
			n++;
		fclose(fp);
	}
	bool ok = n >= 11;
	s->reads = ok ? f[0] : -1;
	s->read_bytes = ok ? f[2] * 512 : -1;
	s->writes = ok ? f[4] : -1;
	s->write_bytes = ok ? f[6] * 512 : -1;
	s->flushes = n >= 16 ? f[15] : -1;
	s->proc_read_bytes = s->proc_dirtied_bytes = -1;
	fp = fopen("/proc/self/io", "r");
	while (fp && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "read_bytes: %lld", &v) == 1)
			s->proc_read_bytes = (double)v;
		else if (sscanf(line, "write_bytes: %lld", &v) == 1)
			s->proc_dirtied_bytes = (double)v;
	}
	if (fp)
		fclose(fp);
	s->own_reads = s->own_read_bytes = s->own_writes = s->own_write_bytes = -1;
	if (io->child[0]) {
		snprintf(path, sizeof(path), "%s/blkio.throttle.io_service_bytes", io->child);
		bool b = blkio_pair(path, io->numbers, &s->own_read_bytes, &s->own_write_bytes);
		snprintf(path, sizeof(path), "%s/blkio.throttle.io_serviced", io->child);
		if (!b || !blkio_pair(path, io->numbers, &s->own_reads, &s->own_writes))
			s->own_reads = s->own_read_bytes = s->own_writes = s->own_write_bytes = -1;
	}
}

void mmf_devio_close(struct mmf_devio *io)
{
	char path[600], pid[32];

	if (!io->child[0])
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", io->parent);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	write_str(path, pid);
	rmdir(io->child);
	io->child[0] = '\0';
}
