/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* kill -9 in the middle of the store-changing work (issue 6, point 3):
   the pop3 process killed during QUIT's update (on_delete=hold moves every
   DELE'd message to the quarantine), and doveadm pop3-policy sweep killed
   half-way (max_age with on_delete=hold). Afterwards each message must be
   either still in INBOX or removed as the policy said (in the quarantine),
   never lost from both, never in both; the work then completes.

   Built by make check but not run by it (not in TESTS), for two reasons:
   - with the retention code of 2026-11-23 01:35 the kills left messages
     in both INBOX and the quarantine (a move is a copy and then an
     expunge, and nothing repaired a copy whose expunge was killed);
   - a kill while Dovecot holds maildir's dovecot-uidlist.lock leaves that
     dotlock behind, and the next session waits for Dovecot's stale
     timeout (2 minutes) before it answers STAT, longer than the POP3
     client's 30 s: Dovecot's own behaviour, with or without the package
     (mdbox, whose locks die with the process, would avoid it).
   Run it by hand:
     PP_TOP_SRCDIR=... PP_TOP_BUILDDIR=... tests/test-kill
   and add it to the integration tests once it passes reliably. Runs on
   the default store (PP_STORE_BACKEND applies). */

#include "pp-harness.h"

#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>

/* the running test's instance, whose log a failure shows */
static PpInstance *current_inst;

static void dump_logs(void)
{
	char *log;

	if (current_inst == NULL)
		return;
	log = pp_instance_read_log(current_inst);
	g_printerr("--- log ---\n%s--- end ---\n", log);
	g_free(log);
}

static void write_file(const char *path, const char *contents, int mode)
{
	GError *error = NULL;

	if (!g_file_set_contents(path, contents, -1, &error))
		g_error("%s", error->message);
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static int doveadm(PpInstance *inst, const char *const *argv,
		   char **out_r, char **err_r)
{
	char *out = NULL, *err = NULL, *cmd;
	int ret;

	ret = pp_instance_doveadm(inst, argv, NULL, &out, &err);
	cmd = g_strjoinv(" ", (char **)argv);
	g_test_message("doveadm %s: exit %d\nstdout: %s\nstderr: %s",
		       cmd, ret, out, err);
	g_free(cmd);
	if (out_r != NULL)
		*out_r = out;
	else
		g_free(out);
	if (err_r != NULL)
		*err_r = err;
	else
		g_free(err);
	return ret;
}

static void doveadm_ok(PpInstance *inst, const char *const *argv,
		       char **out_r)
{
	char *err = NULL;
	int ret = doveadm(inst, argv, out_r, &err);

	if (ret != 0) {
		char *cmd = g_strjoinv(" ", (char **)argv);

		dump_logs();
		g_error("doveadm %s: exit %d: %s", cmd, ret, err);
	}
	g_free(err);
}

static void assert_prefix(char *reply, const char *prefix)
{
	if (!g_str_has_prefix(reply, prefix)) {
		dump_logs();
		g_error("expected a reply starting with '%s', got '%s'",
			prefix, reply);
	}
	g_free(reply);
}

static PpPop3 *connect_pop3(PpInstance *inst)
{
	GError *error = NULL;
	PpPop3 *pop3 = pp_pop3_connect(pp_instance_port(inst), &error);

	g_assert_no_error(error);
	return pop3;
}

/* USER/PASS; returns the PASS reply, and the session if it is wanted and
   the login succeeded (else the session is ended with QUIT). */
static char *login_pass(PpInstance *inst, const char *user,
			PpPop3 **session_r)
{
	PpPop3 *pop3 = connect_pop3(inst);
	char *cmd = g_strdup_printf("USER %s", user);
	char *reply = pp_pop3_cmd(pop3, cmd);

	g_free(cmd);
	if (!g_str_has_prefix(reply, "+OK")) {
		pp_pop3_close(pop3);
		return reply;
	}
	g_free(reply);
	reply = pp_pop3_cmd(pop3, "PASS pass-word");
	if (session_r != NULL && g_str_has_prefix(reply, "+OK")) {
		*session_r = pop3;
		return reply;
	}
	if (g_str_has_prefix(reply, "+OK"))
		g_free(pp_pop3_cmd(pop3, "QUIT"));
	pp_pop3_close(pop3);
	return reply;
}

#define CRASH_MESSAGES 400
#define QUARANTINE_DIR ".POP3 Quarantine"

/* Writes n messages straight into the user's maildir (doveadm save of
   hundreds would take long): Message-ID crash-<i>@example.com. */
static void write_maildir_messages(PpInstance *inst, const char *user,
				   unsigned int n)
{
	const char *home = pp_instance_home(inst, user);
	static const char *const subdirs[] = { "", "cur", "new", "tmp" };
	GStatBuf st;
	unsigned int i;

	g_assert_cmpint(g_stat(home, &st), ==, 0);
	for (i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *dir = g_build_filename(home, "Maildir", subdirs[i],
					     NULL);

		g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
		g_assert_cmpint(chown(dir, st.st_uid, st.st_gid), ==, 0);
		g_free(dir);
	}
	for (i = 0; i < n; i++) {
		char *name = g_strdup_printf("1795000000.M%uP1.pp", i);
		char *path = g_build_filename(home, "Maildir", "new", name,
					      NULL);
		char *msg = g_strdup_printf(
			"From: sender@example.com\r\n"
			"Subject: crash %u\r\n"
			"Message-ID: <crash-%u@example.com>\r\n"
			"\r\n"
			"Body %u.\r\n", i, i, i);

		write_file(path, msg, 0600);
		g_assert_cmpint(chown(path, st.st_uid, st.st_gid), ==, 0);
		g_free(msg);
		g_free(path);
		g_free(name);
	}
}

/* The quarantine exists before the kills: a process killed while Dovecot
   creates a mailbox's index leaves a dotlock that the next opener waits
   for until it is stale (Dovecot's behaviour, not the package's). */
static void create_quarantine(PpInstance *inst, const char *user)
{
	const char *const argv[] = {
		"mailbox", "create", "-u", user, "POP3 Quarantine", NULL
	};

	doveadm_ok(inst, argv, NULL);
}

/* Adds the Message-IDs of the files in dir/cur and dir/new to counts. */
static void count_msgids(const char *maildir, GHashTable *counts)
{
	static const char *const subdirs[] = { "cur", "new" };
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *path = g_build_filename(maildir, subdirs[i], NULL);
		GDir *dir = g_dir_open(path, 0, NULL);
		const char *name;

		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			char *file = g_build_filename(path, name, NULL);
			char *contents = NULL, *id, *end;

			if (!g_file_get_contents(file, &contents, NULL, NULL))
				g_error("read %s", file);
			id = strstr(contents, "Message-ID: <");
			g_assert_nonnull(id);
			id += strlen("Message-ID: <");
			end = strchr(id, '>');
			g_assert_nonnull(end);
			*end = '\0';
			g_hash_table_replace(counts, g_strdup(id),
				GUINT_TO_POINTER(GPOINTER_TO_UINT(
					g_hash_table_lookup(counts, id)) + 1));
			g_free(contents);
			g_free(file);
		}
		if (dir != NULL)
			g_dir_close(dir);
		g_free(path);
	}
}

/* Every message is exactly once in INBOX or in the quarantine: never lost
   from both, never in both. Returns how many are in INBOX. */
static unsigned int assert_each_once(PpInstance *inst, const char *user,
				     unsigned int n)
{
	const char *home = pp_instance_home(inst, user);
	char *inbox = g_build_filename(home, "Maildir", NULL);
	char *quarantine = g_build_filename(inbox, QUARANTINE_DIR, NULL);
	GHashTable *in_inbox = g_hash_table_new_full(g_str_hash, g_str_equal,
						     g_free, NULL);
	GHashTable *held = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	unsigned int i, inbox_count = 0;

	count_msgids(inbox, in_inbox);
	count_msgids(quarantine, held);
	for (i = 0; i < n; i++) {
		char *id = g_strdup_printf("crash-%u@example.com", i);
		unsigned int a = GPOINTER_TO_UINT(
			g_hash_table_lookup(in_inbox, id));
		unsigned int b = GPOINTER_TO_UINT(
			g_hash_table_lookup(held, id));

		if (a + b != 1) {
			dump_logs();
			g_error("%s: %u times in INBOX and %u times in the "
				"quarantine", id, a, b);
		}
		inbox_count += a;
		g_free(id);
	}
	g_assert_cmpuint(g_hash_table_size(in_inbox) +
			 g_hash_table_size(held), ==, n);
	g_hash_table_unref(in_inbox);
	g_hash_table_unref(held);
	g_free(quarantine);
	g_free(inbox);
	return inbox_count;
}

/* The pid of the pop3 process of the user's latest login (the log's
   "Login: user=<user>, ..., mpid=N"). */
static GPid last_login_mpid(PpInstance *inst, const char *user)
{
	char *log = pp_instance_read_log(inst);
	char *needle = g_strdup_printf("Login: user=<%s>", user);
	const char *p = log, *last = NULL, *mpid;
	GPid pid;

	while ((p = strstr(p, needle)) != NULL)
		last = p++;
	g_assert_nonnull(last);
	mpid = strstr(last, "mpid=");
	g_assert_nonnull(mpid);
	pid = (GPid)atoi(mpid + 5);
	g_assert_cmpint(pid, >, 0);
	g_free(needle);
	g_free(log);
	return pid;
}

/* The only crashes the kill tests allow: the SIGKILLs they send. */
static void assert_only_killed(PpInstance *inst, const char *service)
{
	char *log = pp_instance_read_log(inst);
	char **lines = g_strsplit(log, "\n", -1);
	char *ours = g_strdup_printf("service(%s): child ", service);
	unsigned int i;

	for (i = 0; lines[i] != NULL; i++) {
		const char *line = lines[i];

		if (strstr(line, "Panic:") == NULL &&
		    strstr(line, "Fatal:") == NULL &&
		    strstr(line, "killed with signal") == NULL)
			continue;
		if (strstr(line, ours) != NULL &&
		    (g_str_has_suffix(line, "killed with signal 9") ||
		     strstr(line, "killed with signal 9 ") != NULL))
			continue;
		g_printerr("--- log ---\n%s--- end ---\n", log);
		g_error("a Dovecot process crashed or failed: %s", line);
	}
	g_free(ours);
	g_strfreev(lines);
	g_free(log);
}

static gpointer quit_thread(gpointer data)
{
	return pp_pop3_cmd(data, "QUIT");
}

/* QUIT of a session that DELE'd every message, with on_delete=hold (the
   messages move to the quarantine), and the pop3 process killed -9 after
   0 to 80 ms: each message ends in INBOX or in the quarantine, once. */
static void test_kill_quit(void)
{
	static const unsigned int delays_msecs[] = { 0, 2, 5, 10, 20, 40, 80 };
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	GString *summary = g_string_new(NULL);
	unsigned int i, j, in_inbox;

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	opts.plugin_settings = "  pop3_policy = on_delete=hold hold=14d";
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	current_inst = inst;
	pp_instance_add_user(inst, "frank", "pass-word", NULL);
	write_maildir_messages(inst, "frank", CRASH_MESSAGES);
	/* auth re-reads a changed passwd-file at most once a second */
	g_usleep(1100 * 1000);
	create_quarantine(inst, "frank");

	in_inbox = CRASH_MESSAGES;
	for (i = 0; i < G_N_ELEMENTS(delays_msecs) && in_inbox > 0; i++) {
		PpPop3 *pop3 = NULL;
		GThread *thread;
		char *reply, *stat;
		GPid mpid;

		reply = login_pass(inst, "frank", &pop3);
		assert_prefix(reply, "+OK");
		stat = g_strdup_printf("+OK %u ", in_inbox);
		assert_prefix(pp_pop3_cmd(pop3, "STAT"), stat);
		g_free(stat);
		for (j = 1; j <= in_inbox; j++) {
			char *cmd = g_strdup_printf("DELE %u", j);

			assert_prefix(pp_pop3_cmd(pop3, cmd), "+OK");
			g_free(cmd);
		}
		mpid = last_login_mpid(inst, "frank");
		thread = g_thread_new("quit", quit_thread, pop3);
		g_usleep(delays_msecs[i] * 1000);
		(void)kill(mpid, SIGKILL);
		reply = g_thread_join(thread);
		pp_pop3_close(pop3);
		/* the process is gone before its files are looked at */
		for (j = 0; j < 100 && kill(mpid, 0) == 0; j++)
			g_usleep(20 * 1000);
		in_inbox = assert_each_once(inst, "frank", CRASH_MESSAGES);
		g_string_append_printf(summary, " %ums:%s:%u", delays_msecs[i],
				       reply[0] == '\0' ? "killed" : reply,
				       in_inbox);
		g_free(reply);
	}
	g_test_message("INBOX after QUIT killed at (delay:reply:left)%s",
		       summary->str);
	g_string_free(summary, TRUE);

	/* the rest goes with a QUIT that completes */
	if (in_inbox > 0) {
		PpPop3 *pop3 = NULL;

		assert_prefix(login_pass(inst, "frank", &pop3), "+OK");
		for (j = 1; j <= in_inbox; j++) {
			char *cmd = g_strdup_printf("DELE %u", j);

			assert_prefix(pp_pop3_cmd(pop3, cmd), "+OK");
			g_free(cmd);
		}
		assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
		pp_pop3_close(pop3);
	}
	for (j = 0; j < 100; j++) {
		if (assert_each_once(inst, "frank", CRASH_MESSAGES) == 0)
			break;
		g_usleep(100 * 1000);
	}
	g_assert_cmpuint(assert_each_once(inst, "frank", CRASH_MESSAGES), ==,
			 0);
	assert_only_killed(inst, "pop3");
	current_inst = NULL;
	pp_instance_stop(inst);
}

/* doveadm pop3-policy sweep of messages past max_age (on_delete=hold)
   killed -9 after 0 to 400 ms: each message ends in INBOX or in the
   quarantine, once; a sweep that completes then holds the rest. */
static void test_kill_sweep(void)
{
	static const unsigned int delays_msecs[] = {
		0, 30, 60, 100, 150, 250, 400
	};
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	GString *summary = g_string_new(NULL);
	const char *const sweep_argv[] = {
		"pop3-policy", "sweep", "-u", "grace", NULL
	};
	unsigned int i, in_inbox = CRASH_MESSAGES;

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	/* real aging: libfaketime would shift the files' stat() times too,
	   and maildir takes an uncached save date from them */
	opts.plugin_settings = "  pop3_policy = max_age=1s on_delete=hold";
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	current_inst = inst;
	pp_instance_add_user(inst, "grace", "pass-word", NULL);
	write_maildir_messages(inst, "grace", CRASH_MESSAGES);
	g_usleep(1100 * 1000);
	create_quarantine(inst, "grace");
	g_usleep(1100 * 1000);

	for (i = 0; i < G_N_ELEMENTS(delays_msecs) && in_inbox > 0; i++) {
		char *script = g_strdup_printf(
			"doveadm -c '%s' pop3-policy sweep -u grace "
			">/dev/null 2>&1 & pid=$!; sleep %u.%03u; "
			"kill -9 $pid 2>/dev/null; wait $pid; echo $?",
			pp_instance_conf_path(inst), delays_msecs[i] / 1000,
			delays_msecs[i] % 1000);
		const char *const argv[] = { "sh", "-c", script, NULL };
		char *out = NULL;

		g_assert_cmpint(pp_instance_run(inst, argv, NULL, &out, NULL),
				==, 0);
		in_inbox = assert_each_once(inst, "grace", CRASH_MESSAGES);
		g_string_append_printf(summary, " %ums:exit %s:%u",
				       delays_msecs[i], g_strchomp(out),
				       in_inbox);
		g_free(out);
		g_free(script);
	}
	g_test_message("INBOX after sweep killed at (delay:exit:left)%s",
		       summary->str);
	g_string_free(summary, TRUE);

	doveadm_ok(inst, sweep_argv, NULL);
	g_assert_cmpuint(assert_each_once(inst, "grace", CRASH_MESSAGES), ==,
			 0);
	assert_only_killed(inst, "doveadm");
	current_inst = NULL;
	pp_instance_stop(inst);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	if (geteuid() != 0)
		g_error("the integration tests need root");

	g_test_add_func("/kill/quit", test_kill_quit);
	g_test_add_func("/kill/sweep", test_kill_sweep);
	return g_test_run();
}
