/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

#include "test-retention-common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>

PpInstance *rt_start(const PpInstanceOptions *opts)
{
	GError *error = NULL;
	PpInstance *inst = pp_instance_start(opts, &error);

	if (inst == NULL)
		g_error("%s", error->message);
	return inst;
}

void rt_stop(PpInstance *inst)
{
	char *log = pp_instance_read_log(inst);

	if (strstr(log, "Panic:") != NULL || strstr(log, "Fatal:") != NULL ||
	    strstr(log, "killed with signal") != NULL)
		g_error("the instance log has a fatal error:\n%s", log);
	if (g_test_verbose())
		g_printerr("%s", log);
	g_free(log);
	pp_instance_stop(inst);
}

int rt_doveadm(PpInstance *inst, char **out_r, ...)
{
	GPtrArray *argv = g_ptr_array_new();
	char *err = NULL;
	const char *arg;
	va_list va;
	int ret;

	va_start(va, out_r);
	while ((arg = va_arg(va, const char *)) != NULL)
		g_ptr_array_add(argv, (char *)arg);
	va_end(va);
	g_ptr_array_add(argv, NULL);
	ret = pp_instance_doveadm(inst, (const char *const *)argv->pdata,
				  NULL, out_r, &err);
	if (ret != 0 || g_test_verbose())
		g_printerr("doveadm %s ... exited %d: %s%s\n",
			   (const char *)argv->pdata[0], ret, *out_r, err);
	g_free(err);
	g_ptr_array_unref(argv);
	return ret;
}

void rt_assert_contains(const char *haystack, const char *needle)
{
	if (haystack == NULL || strstr(haystack, needle) == NULL)
		g_error("expected '%s' in:\n%s", needle,
			haystack == NULL ? "(null)" : haystack);
}

void rt_assert_show(const char *out, const char *key, const char *value,
		    const char *layer)
{
	char *line = g_strdup_printf("\t%s\t%s\t%s\n", key, value, layer);

	rt_assert_contains(out, line);
	g_free(line);
}

void rt_assert_sweep_count(const char *out, const char *user,
			   const char *reason, unsigned int count)
{
	char *line = g_strdup_printf("%s\t%s\t%u\t", user, reason, count);

	rt_assert_contains(out, line);
	g_free(line);
}

char *rt_sweep(PpInstance *inst, const char *user, const char *flag)
{
	const char *argv[] = { "-f", "tab", "pop3-policy", "sweep", "-u",
			       user, flag, NULL };
	char *out, *err, *all;
	int ret;

	ret = pp_instance_doveadm(inst, argv, NULL, &out, &err);
	if (ret != 0)
		g_error("sweep -u %s failed (%d): %s%s", user, ret, out, err);
	all = g_strconcat(out, err, NULL);
	g_free(out);
	g_free(err);
	return all;
}

void rt_deliver_n(PpInstance *inst, const char *user, unsigned int n)
{
	static unsigned int counter = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		char *msg = g_strdup_printf(
			"From: sender@example.org\n"
			"To: %s@example.org\n"
			"Subject: message %u\n"
			"Message-ID: <rt-%u-%d@example.org>\n"
			"\n"
			"Body line one of message %u.\n"
			"Body line two.\n"
			"Body line three.\n", user, counter, counter,
			(int)getpid(), counter);
		counter++;
		pp_instance_deliver(inst, user, msg);
		g_free(msg);
	}
}

PpPop3 *rt_connect(PpInstance *inst)
{
	GError *error = NULL;
	PpPop3 *pop3 = pp_pop3_connect(pp_instance_port(inst), &error);

	if (pop3 == NULL)
		g_error("connect: %s", error->message);
	return pop3;
}

PpPop3 *rt_login(PpInstance *inst, const char *user)
{
	PpPop3 *pop3 = rt_connect(inst);

	if (!pp_pop3_login(pop3, user, "secret")) {
		char *log = pp_instance_read_log(inst);
		g_error("login as %s failed; log:\n%s", user, log);
	}
	return pop3;
}

void rt_ok(PpPop3 *pop3, const char *cmd)
{
	char *line = pp_pop3_cmd(pop3, cmd);

	if (!g_str_has_prefix(line, "+OK"))
		g_error("%s: %s", cmd, line);
	g_free(line);
}

char *rt_multi_ok(PpPop3 *pop3, const char *cmd)
{
	char *out = pp_pop3_cmd_multi(pop3, cmd);

	if (!g_str_has_prefix(out, "+OK"))
		g_error("%s: %s", cmd, out);
	return out;
}

void rt_quit(PpPop3 *pop3)
{
	rt_ok(pop3, "QUIT");
	pp_pop3_close(pop3);
}

void rt_settle(PpInstance *inst)
{
	/* deinit runs right after the socket is closed; a sweep taking the
	   same lock would wait for it, but a count does not: the session's
	   process exits when it is over */
	pp_instance_wait_sessions_over(inst);
}

unsigned int rt_count_lines(const char *multi)
{
	unsigned int n = 0;
	const char *p = strchr(multi, '\n');

	while (p != NULL) {
		n++;
		p = strchr(p + 1, '\n');
	}
	return n;
}

int rt_mailbox_count(PpInstance *inst, const char *user, const char *box)
{
	const char *argv[] = { "-f", "flow", "mailbox", "status", "-u", user,
			       "messages", box, NULL };
	char *out = NULL, *err = NULL;
	const char *p;
	int ret, count = -1;

	ret = pp_instance_doveadm(inst, argv, NULL, &out, &err);
	if (ret != 0) {
		if (strstr(err, "Mailbox doesn't exist") != NULL ||
		    strstr(err, "doesn't exist") != NULL)
			count = 0;
		else
			g_error("mailbox status %s: %d %s", box, ret, err);
	} else if ((p = strstr(out, "messages=")) != NULL) {
		count = atoi(p + 9);
	} else {
		g_error("mailbox status %s: %s", box, out);
	}
	g_free(out);
	g_free(err);
	return count;
}

int rt_inbox_count(PpInstance *inst, const char *user)
{
	return rt_mailbox_count(inst, user, "INBOX");
}

void rt_wait_mailbox_count(PpInstance *inst, const char *user,
			   const char *box, int count)
{
	int i, n = -1;

	for (i = 0; i < 100; i++) {
		n = rt_mailbox_count(inst, user, box);
		if (n == count)
			return;
		g_usleep(100 * 1000);
	}
	g_error("%s of %s has %d messages, expected %d; log:\n%s", box, user,
		n, count, pp_instance_read_log(inst));
}

void rt_wait_inbox_count(PpInstance *inst, const char *user, int count)
{
	rt_wait_mailbox_count(inst, user, "INBOX", count);
}

char *rt_wait_log(PpInstance *inst, const char *needle)
{
	char *log = NULL;
	int i;

	for (i = 0; i < 100; i++) {
		g_free(log);
		log = pp_instance_read_log(inst);
		if (strstr(log, needle) != NULL)
			return log;
		g_usleep(100 * 1000);
	}
	g_error("'%s' not in the log:\n%s", needle, log);
}

unsigned int rt_log_count(PpInstance *inst, const char *needle)
{
	char *log = pp_instance_read_log(inst);
	unsigned int n = 0;
	const char *p = log;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p++;
	}
	g_free(log);
	return n;
}

static void remove_index_files(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);

		if (g_str_has_prefix(name, "dovecot.index"))
			(void)g_unlink(path);
		else if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
			 name[0] == '.')
			remove_index_files(path);
		g_free(path);
	}
	g_dir_close(d);
}

void rt_remove_indexes(PpInstance *inst, const char *user)
{
	char *dir = g_build_filename(pp_instance_home(inst, user), "Maildir",
				     NULL);

	remove_index_files(dir);
	g_free(dir);
}

void rt_pin_save_dates(PpInstance *inst, const char *user, const char *box)
{
	char *out;

	g_assert_cmpint(rt_doveadm(inst, &out, "fetch", "-u", user,
				   "date.saved", "mailbox", box, NULL), ==, 0);
	g_free(out);
}

void rt_retrieve(PpInstance *inst, const char *user, ...)
{
	PpPop3 *pop3 = rt_login(inst, user);
	const char *cmd;
	va_list args;

	va_start(args, user);
	while ((cmd = va_arg(args, const char *)) != NULL)
		g_free(rt_multi_ok(pop3, cmd));
	va_end(args);
	rt_quit(pop3);
	rt_settle(inst);
}

void rt_sweep_at(PpInstance *inst, const char *offset, const char *user,
		 const char *reason, unsigned int removed, int left)
{
	char *out;

	if (offset != NULL)
		pp_instance_set_time_offset(inst, offset);
	out = rt_sweep(inst, user, NULL);
	rt_assert_sweep_count(out, user, reason, removed);
	g_free(out);
	g_assert_cmpint(rt_inbox_count(inst, user), ==, left);
}

void rt_assert_counts(PpInstance *inst, const char *user, int inbox,
		      int quarantine)
{
	g_assert_cmpint(rt_inbox_count(inst, user), ==, inbox);
	g_assert_cmpint(rt_mailbox_count(inst, user, "POP3 Quarantine"), ==,
			quarantine);
}
