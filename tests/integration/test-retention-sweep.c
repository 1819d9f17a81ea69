/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Retention runs that compete: `doveadm pop3-policy
   sweep -A` for users who never log in, concurrent sessions of one user,
   a sweep during a session, and a sweep killed half-way: no message the
   policy keeps is lost and none is removed (or copied) twice. */

#include "test-retention-common.h"
#include "pp-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_sweep_all_users(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *out;

	opts.plugin_settings = "pop3_policy = expire=1d max_age=30d\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	pp_instance_add_user(inst, "bob", "secret", NULL);
	pp_instance_add_user(inst, "carol", "secret",
			     "pop3_policy=legal_hold=yes");
	rt_deliver_n(inst, "alice", 3);
	rt_deliver_n(inst, "bob", 2);
	rt_deliver_n(inst, "carol", 2);
	rt_pin_save_dates(inst, "alice", "INBOX");
	rt_pin_save_dates(inst, "bob", "INBOX");
	rt_pin_save_dates(inst, "carol", "INBOX");

	pop3 = rt_login(inst, "alice");
	g_free(rt_multi_ok(pop3, "RETR 1"));
	g_free(rt_multi_ok(pop3, "RETR 2"));
	rt_quit(pop3);
	rt_retrieve(inst, "carol", "RETR 1", NULL);

	pp_instance_set_time_offset(inst, "+2d");
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "sweep", "-A", NULL), ==, 0);
	rt_assert_sweep_count(out, "alice", "expire", 2);
	rt_assert_sweep_count(out, "bob", "expire", 0);
	rt_assert_sweep_count(out, "carol", "expire", 0);
	g_free(out);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 1);
	g_assert_cmpint(rt_inbox_count(inst, "bob"), ==, 2);
	g_assert_cmpint(rt_inbox_count(inst, "carol"), ==, 2);

	pp_instance_set_time_offset(inst, "+31d");
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "sweep", "-A", NULL), ==, 0);
	rt_assert_sweep_count(out, "alice", "max_age", 1);
	rt_assert_sweep_count(out, "bob", "max_age", 2);
	rt_assert_sweep_count(out, "carol", "max_age", 0);
	g_free(out);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 0);
	g_assert_cmpint(rt_inbox_count(inst, "bob"), ==, 0);
	g_assert_cmpint(rt_inbox_count(inst, "carol"), ==, 2);
	rt_stop(inst);
}

/* Two sessions DELE the same messages and QUIT at once: each message is
   held once (one copy in the quarantine, one event). */
static void test_concurrent_sessions(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	PpPop3 *a, *b;

	opts.plugin_settings = "pop3_policy = on_delete=hold\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 5);

	a = rt_login(inst, "alice");
	b = rt_login(inst, "alice");
	rt_ok(a, "DELE 1");
	rt_ok(a, "DELE 2");
	rt_ok(a, "DELE 3");
	rt_ok(b, "DELE 2");
	rt_ok(b, "DELE 3");
	rt_ok(b, "DELE 4");
	rt_quit(a);
	rt_quit(b);
	rt_wait_inbox_count(inst, "alice", 1);
	rt_settle(inst);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 4);
	g_assert_cmpuint(rt_log_count(inst, "reason=dele action=hold"), ==, 4);
	rt_stop(inst);
}

/* A sweep removes expired messages while a session has them listed: the
   session gets -ERR for them, its own DELE still works, nothing is
   removed twice. */
static void test_sweep_during_session(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *out, *line;

	opts.plugin_settings = "pop3_policy = expire=1d\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 4);
	rt_retrieve(inst, "alice", "RETR 1", "RETR 2", NULL);

	pp_instance_set_time_offset(inst, "+2d");
	pop3 = rt_login(inst, "alice");
	out = rt_multi_ok(pop3, "LIST");
	g_assert_cmpuint(rt_count_lines(out), ==, 4);
	g_free(out);

	rt_sweep_at(inst, NULL, "alice", "expire", 2, 2);

	line = pp_pop3_cmd(pop3, "RETR 1");
	g_assert_true(g_str_has_prefix(line, "-ERR"));
	g_free(line);
	rt_ok(pop3, "DELE 3");
	rt_quit(pop3);
	rt_wait_inbox_count(inst, "alice", 1);
	rt_settle(inst);
	/* the session's own owed run found nothing more */
	g_assert_cmpuint(rt_log_count(inst, "reason=expire"), ==, 0);
	g_assert_cmpuint(rt_log_count(inst, "reason=dele"), ==, 1);
	out = rt_sweep(inst, "alice", NULL);
	rt_assert_sweep_count(out, "alice", "expire", 0);
	g_free(out);
	rt_stop(inst);
}

/* Writes n messages straight into the user's Maildir (doveadm save per
   message would take minutes), owned like the home directory. */
static void write_maildir_messages(PpInstance *inst, const char *user,
				   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		char *name = g_strdup_printf("1700000000.M%uP%d.rt:2,", i,
					     (int)getpid());
		char *msg = g_strdup_printf(
			"From: bulk@example.org\r\nTo: %s@example.org\r\n"
			"Subject: bulk %u\r\nMessage-ID: <bulk-%u@rt>\r\n\r\n"
			"bulk body %u\r\n", user, i, i, i);

		pp_instance_write_mail(inst, user, "cur", name, msg);
		g_free(name);
		g_free(msg);
	}
}

/* Number of distinct GUIDs in a mailbox, and the message count. */
static unsigned int mailbox_guids(PpInstance *inst, const char *user,
				  const char *box, unsigned int *messages_r)
{
	const char *argv[] = { "-f", "flow", "fetch", "-u", user, "guid",
			       "mailbox", box, NULL };
	GHashTable *guids = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	char *out = NULL, *err = NULL, **lines;
	unsigned int i, n = 0, distinct;
	int ret;

	ret = pp_instance_doveadm(inst, argv, NULL, &out, &err);
	if (ret != 0 || out == NULL) {
		/* a mailbox that does not exist (yet) is empty */
		if (ret != 0 &&
		    strstr(err == NULL ? "" : err, "doesn't exist") == NULL)
			g_error("fetch guid %s: exit %d: %s", box, ret, err);
		g_free(out);
		g_free(err);
		g_hash_table_destroy(guids);
		*messages_r = 0;
		return 0;
	}
	lines = g_strsplit(out, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		if (!g_str_has_prefix(lines[i], "guid="))
			continue;
		n++;
		g_hash_table_add(guids, g_strdup(lines[i] + 5));
	}
	distinct = g_hash_table_size(guids);
	g_strfreev(lines);
	g_hash_table_destroy(guids);
	g_free(out);
	g_free(err);
	*messages_r = n;
	return distinct;
}

/* A sweep (action hold) SIGKILLed at kill points of its move (the test
   build's, src/lib/pop3-policy-test-hook.h): half the copies linked, the
   copies committed with the originals still there (the case the GUID
   check exists for), the originals' expunges committed. After each kill
   every message is in INBOX or the quarantine and none is in the
   quarantine twice; the sweep that completes holds each once. */
static void test_sweep_killed(void)
{
	static const char *const points[] = {
		"move-copied:500", "move-copies-committed",
		"move-expunges-committed",
	};
	const unsigned int total = 1000;
	gboolean midway = FALSE;
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;
	unsigned int i, inbox_n, q_n, q_distinct;
	char *conf, *out;

	pp_require_test_hooks();
	opts.plugin_settings = "pop3_policy = max_age=1d on_delete=hold\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	write_maildir_messages(inst, "alice", total);
	rt_pin_save_dates(inst, "alice", "INBOX");
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, (int)total);

	pp_instance_set_time_offset(inst, "+2d");
	conf = g_build_filename(pp_instance_dir(inst), "dovecot.conf", NULL);
	for (i = 0; i < G_N_ELEMENTS(points); i++) {
		char *env = g_strdup_printf("POP3_POLICY_TEST_KILL_AT=%s",
					    points[i]);
		const char *argv[] = { "env", env, "doveadm", "-c", conf,
				       "pop3-policy", "sweep", "-u", "alice",
				       NULL };
		char *err = NULL;
		int ret;

		out = NULL;
		ret = pp_instance_run(inst, argv, NULL, &out, &err);
		/* doveadm logs the hook's line to its stderr */
		if (ret != 128 + SIGKILL ||
		    strstr(err, "test point ") == NULL) {
			g_error("sweep with %s: exit %d, not killed at its "
				"kill point: %s", env, ret, err);
		}
		g_free(out);
		g_free(err);
		(void)mailbox_guids(inst, "alice", "INBOX", &inbox_n);
		q_distinct = mailbox_guids(inst, "alice", "POP3 Quarantine",
					   &q_n);
		/* at any point: nothing lost, nothing copied twice */
		g_assert_cmpuint(q_n, ==, q_distinct);
		g_assert_cmpuint(inbox_n + q_n, >=, total);
		g_test_message("killed at %s: inbox %u quarantine %u",
			       points[i], inbox_n, q_n);
		if (q_n > 0 && inbox_n > 0)
			midway = TRUE;
		g_free(env);
	}
	/* the copies committed, the originals still there: the next run
	   must not copy them again */
	g_assert_true(midway);

	out = rt_sweep(inst, "alice", NULL);
	g_free(out);
	(void)mailbox_guids(inst, "alice", "INBOX", &inbox_n);
	q_distinct = mailbox_guids(inst, "alice", "POP3 Quarantine", &q_n);
	g_assert_cmpuint(inbox_n, ==, 0);
	g_assert_cmpuint(q_n, ==, total);
	g_assert_cmpuint(q_distinct, ==, total);
	g_free(conf);
	rt_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/retention-sweep/all-users", test_sweep_all_users);
	g_test_add_func("/retention-sweep/concurrent-sessions",
			test_concurrent_sessions);
	g_test_add_func("/retention-sweep/during-session",
			test_sweep_during_session);
	g_test_add_func("/retention-sweep/killed", test_sweep_killed);
	return g_test_run();
}
