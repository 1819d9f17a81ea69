/* Writes a maildir directly. A file name is
   <secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<vsize>:2,
   as src/lib-storage/index/maildir/maildir-filename.c builds it; W= is the
   size with CRLF line endings (the message is stored with LF), which POP3
   reports. */

#include "bench-maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BENCH_MAILDIR_TIME 1700000000u

static GQuark bench_maildir_quark(void)
{
	return g_quark_from_static_string("bench-maildir");
}

static int mkdir_owned(const char *path, uid_t uid, gid_t gid,
		       GError **error)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		g_set_error(error, bench_maildir_quark(), errno,
			    "mkdir(%s) failed: %s", path, g_strerror(errno));
		return -1;
	}
	if (chown(path, uid, gid) < 0) {
		g_set_error(error, bench_maildir_quark(), errno,
			    "chown(%s) failed: %s", path, g_strerror(errno));
		return -1;
	}
	return 0;
}

static void build_message(GString *msg, unsigned int i,
			  unsigned int body_size)
{
	static const char line[] =
		"The quick brown fox jumps over the lazy dog, "
		"benchmark body text.\n";

	g_string_truncate(msg, 0);
	g_string_append_printf(msg,
		"Return-Path: <sender@example.org>\n"
		"From: Sender <sender@example.org>\n"
		"To: Bench <bench@example.org>\n"
		"Subject: benchmark message %u\n"
		"Message-ID: <bench-%u@example.org>\n"
		"Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"\n", i, i);
	while (body_size >= sizeof(line) - 1) {
		g_string_append(msg, line);
		body_size -= sizeof(line) - 1;
	}
	g_string_append_printf(msg, "message %u ends here.\n", i);
}

static size_t count_lf(const GString *msg)
{
	size_t n = 0;

	for (size_t i = 0; i < msg->len; i++) {
		if (msg->str[i] == '\n')
			n++;
	}
	return n;
}

int bench_maildir_create(const char *maildir, unsigned int count,
			 unsigned int body_size, uid_t uid, gid_t gid,
			 GError **error)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	GString *msg = g_string_sized_new(body_size + 512);
	GString *path = g_string_new(NULL);
	size_t cur_len;
	int ret = 0;

	if (mkdir_owned(maildir, uid, gid, error) < 0)
		return -1;
	for (unsigned int i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_string_printf(path, "%s/%s", maildir, subdirs[i]);
		if (mkdir_owned(path->str, uid, gid, error) < 0) {
			ret = -1;
			goto out;
		}
	}
	g_string_printf(path, "%s/cur/", maildir);
	cur_len = path->len;

	for (unsigned int i = 0; i < count && ret == 0; i++) {
		int fd;

		build_message(msg, i, body_size);
		g_string_truncate(path, cur_len);
		g_string_append_printf(path,
			"%u.M%uP1Q%u.pp-bench,S=%zu,W=%zu:2,",
			BENCH_MAILDIR_TIME + i / 1000, (i % 1000) * 1000, i,
			msg->len, msg->len + count_lf(msg));
		fd = open(path->str, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
		if (fd < 0 ||
		    write(fd, msg->str, msg->len) != (ssize_t)msg->len ||
		    fchown(fd, uid, gid) < 0) {
			g_set_error(error, bench_maildir_quark(), errno,
				    "writing %s failed: %s", path->str,
				    g_strerror(errno));
			ret = -1;
		}
		if (fd >= 0 && close(fd) < 0 && ret == 0) {
			g_set_error(error, bench_maildir_quark(), errno,
				    "close(%s) failed: %s", path->str,
				    g_strerror(errno));
			ret = -1;
		}
	}
out:
	g_string_free(msg, TRUE);
	g_string_free(path, TRUE);
	return ret;
}
