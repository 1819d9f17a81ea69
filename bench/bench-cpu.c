/* CPU accounting of a process tree from /proc/<pid>/stat (proc(5)): field 4
   is the parent pid, fields 14-17 utime, stime, cutime and cstime in clock
   ticks. The comm field (2) may contain spaces and parentheses, so fields
   are counted from the last ')'. */

#include "bench-cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads the parent pid and utime+stime+cutime+cstime (ticks) of pid;
   returns FALSE if the process is gone. */
static gboolean read_stat(const char *pid_name, long *ppid_r,
			  unsigned long long *ticks_r)
{
	char path[64], buf[1024];
	unsigned long long f[4];
	const char *p;
	FILE *fp;
	size_t len;
	long ppid;

	g_snprintf(path, sizeof(path), "/proc/%s/stat", pid_name);
	fp = fopen(path, "re");
	if (fp == NULL)
		return FALSE;
	len = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[len] = '\0';
	p = strrchr(buf, ')');
	/* after ")": state(3) ppid(4) pgrp session tty_nr tpgid flags
	   minflt cminflt majflt cmajflt(13) utime(14) stime cutime cstime */
	if (p == NULL || sscanf(p + 1, " %*c %ld %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %llu %llu %llu %llu", &ppid, &f[0],
				&f[1], &f[2], &f[3]) != 5)
		return FALSE;
	*ppid_r = ppid;
	*ticks_r = f[0] + f[1] + f[2] + f[3];
	return TRUE;
}

double bench_cpu_instance_secs(GPid master_pid)
{
	unsigned long long total = 0, ticks;
	char master[32];
	const char *name;
	GDir *dir;
	long ppid;

	g_snprintf(master, sizeof(master), "%d", (int)master_pid);
	dir = g_dir_open("/proc", 0, NULL);
	if (dir == NULL)
		return -1;
	/* children first: one reaped between the two reads is then counted
	   twice rather than not at all, and the caller lets the instance go
	   idle before reading, so neither happens in practice */
	while ((name = g_dir_read_name(dir)) != NULL) {
		if (!g_ascii_isdigit(name[0]))
			continue;
		if (read_stat(name, &ppid, &ticks) && ppid == master_pid)
			total += ticks;
	}
	g_dir_close(dir);
	if (!read_stat(master, &ppid, &ticks))
		return -1;
	total += ticks;
	return (double)total / sysconf(_SC_CLK_TCK);
}
