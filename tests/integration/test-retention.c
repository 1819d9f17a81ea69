/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Retention against a real Dovecot: the policy layers and doveadm
   show/set/unset, bad policies failing closed, on_delete actions with RFC
   1939 semantics (no QUIT, RSET), hold and restore with the same UIDL,
   expire after RETR or a whole-body TOP, max_age, legal_hold, dry_run and
   the pop3_policy_removed events. Time moves with faketime on the Dovecot
   processes. Sweep, concurrency and interruption are in
   test-retention-sweep.c. */

#include "test-retention-common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

/* --- policy layers, show/set/unset, bad policies --- */

static void test_show_layers(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	char *out;

	opts.plugin_settings =
		"pop3_policy = on_delete=hold hold=7d class=gold\n"
		"pop3_policy_class_gold = expire=30d login_delay=5m\n"
		"pop3_policy_class_silver = expire=10d\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret",
			     "pop3_policy=class=silver");
	pp_instance_add_user(inst, "bob", "secret", NULL);

	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "alice", "dry_run=yes", "max_age=52w",
				   NULL), ==, 0);
	g_free(out);
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "show", "-u", "alice", NULL), ==, 0);
	rt_assert_show(out, "on_delete", "hold", "site");
	rt_assert_show(out, "hold", "1w", "site");
	rt_assert_show(out, "expire", "10d", "class:silver");
	rt_assert_show(out, "login_delay", "5m", "class:gold");
	rt_assert_show(out, "dry_run", "yes", "store");
	rt_assert_show(out, "max_age", "52w", "store");
	rt_assert_show(out, "legal_hold", "no", "default");
	g_free(out);

	/* bob: site and default only */
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "show", "-u", "bob", NULL), ==, 0);
	rt_assert_show(out, "expire", "30d", "class:gold");
	rt_assert_show(out, "dry_run", "no", "default");
	g_free(out);

	/* unset: the store layer is gone */
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "unset", "-u",
				   "alice", NULL), ==, 0);
	g_free(out);
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "show", "-u", "alice", NULL), ==, 0);
	rt_assert_show(out, "dry_run", "no", "default");
	rt_assert_show(out, "max_age", "never", "default");
	g_free(out);
	rt_stop(inst);
}

static void test_set_refuses_bad(void)
{
	static const struct {
		const char *word;
		const char *why;
	} bad[] = {
		{ "expires=1d", "unknown key" },
		{ "expire=soon", "duration" },
		{ "hold=10", "missing units" },
		{ "on_delete=move:INBOX", "INBOX" },
		{ "on_delete=move:a*b", "wildcard" },
		{ "class=nosuch", "unknown class" },
	};
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	char *out, *err;
	unsigned int i;

	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *argv[] = { "pop3-policy", "set", "-u", "alice",
				       bad[i].word, NULL };

		g_assert_cmpint(pp_instance_doveadm(inst, argv, NULL, &out,
						    &err), !=, 0);
		rt_assert_contains(err, "alice");
		rt_assert_contains(err, bad[i].word);
		rt_assert_contains(err, bad[i].why);
		g_free(out);
		g_free(err);
	}
	/* conflicting keys in one policy */
	{
		const char *argv[] = { "pop3-policy", "set", "-u", "alice",
				       "on_delete=expunge", "hold=1d", NULL };

		g_assert_cmpint(pp_instance_doveadm(inst, argv, NULL, &out,
						    &err), !=, 0);
		rt_assert_contains(err, "conflicts");
		g_free(out);
		g_free(err);
	}
	/* nothing was written */
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "show", "-u", "alice", NULL), ==, 0);
	rt_assert_show(out, "expire", "never", "default");
	rt_assert_show(out, "on_delete", "expunge", "default");
	g_free(out);
	rt_stop(inst);
}

/* A bad policy in any layer fails the session with -ERR [SYS/TEMP], names
   the user, the word and why in the log, and removes nothing. */
static void test_bad_policy_fails_session(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *line, *log;

	opts.plugin_settings = "pop3_policy = expire=0\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret",
			     "pop3_policy=on_delete=shred");
	rt_deliver_n(inst, "alice", 2);

	pop3 = rt_connect(inst);
	line = pp_pop3_cmd(pop3, "USER alice");
	g_assert_true(g_str_has_prefix(line, "+OK"));
	g_free(line);
	line = pp_pop3_cmd(pop3, "PASS secret");
	g_assert_true(g_str_has_prefix(line, "-ERR [SYS/TEMP]"));
	g_free(line);
	pp_pop3_close(pop3);

	log = rt_wait_log(inst, "on_delete=shred");
	rt_assert_contains(log, "user alice");
	rt_assert_contains(log, "expected expunge, hold or move");
	g_free(log);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 2);
	rt_stop(inst);
}

/* --- on_delete and RFC 1939 --- */

static void test_dele_expunge_and_rfc1939(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *line;

	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 3);

	/* DELE then drop the connection: nothing removed */
	pop3 = rt_login(inst, "alice");
	rt_ok(pop3, "DELE 1");
	rt_ok(pop3, "DELE 2");
	pp_pop3_close(pop3);
	rt_settle(inst);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 3);

	/* DELE, RSET, QUIT: nothing removed */
	pop3 = rt_login(inst, "alice");
	rt_ok(pop3, "DELE 1");
	line = pp_pop3_cmd(pop3, "STAT");
	g_assert_true(g_str_has_prefix(line, "+OK 2 "));
	g_free(line);
	rt_ok(pop3, "RSET");
	rt_quit(pop3);
	rt_settle(inst);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 3);

	/* DELE, QUIT: removed, with an event */
	pop3 = rt_login(inst, "alice");
	rt_ok(pop3, "DELE 2");
	rt_quit(pop3);
	rt_wait_inbox_count(inst, "alice", 2);
	g_free(rt_wait_log(inst, "reason=dele action=expunge"));
	rt_stop(inst);
}

/* Pids of the instance's pop3 processes (children of the master). */
static GArray *pop3_pids(PpInstance *inst)
{
	GArray *pids = g_array_new(FALSE, FALSE, sizeof(int));
	GDir *dir = g_dir_open("/proc", 0, NULL);
	const char *name;

	while ((name = g_dir_read_name(dir)) != NULL) {
		char *path, *stat = NULL, *comm_end;
		int pid = atoi(name), ppid;

		if (pid <= 0)
			continue;
		path = g_strdup_printf("/proc/%d/stat", pid);
		if (g_file_get_contents(path, &stat, NULL, NULL) &&
		    (comm_end = strrchr(stat, ')')) != NULL &&
		    strstr(stat, "(pop3)") != NULL &&
		    sscanf(comm_end + 2, "%*c %d", &ppid) == 1 &&
		    ppid == (int)pp_instance_pid(inst))
			g_array_append_val(pids, pid);
		g_free(stat);
		g_free(path);
	}
	g_dir_close(dir);
	return pids;
}

/* The pop3 process killed after DELE (server crash): nothing removed. */
static void test_dele_server_killed(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	GArray *pids;
	unsigned int i;

	opts.plugin_settings = "pop3_policy = on_delete=hold expire=0\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 2);
	pop3 = rt_login(inst, "alice");
	g_free(rt_multi_ok(pop3, "RETR 2"));
	rt_ok(pop3, "DELE 1");
	pids = pop3_pids(inst);
	g_assert_cmpuint(pids->len, ==, 1);
	for (i = 0; i < pids->len; i++)
		g_assert_cmpint(kill(g_array_index(pids, int, i), SIGKILL),
				==, 0);
	g_array_free(pids, TRUE);
	pp_pop3_close(pop3);
	rt_settle(inst);
	rt_assert_counts(inst, "alice", 2, 0);
	/* not rt_stop(): the log rightly says a process was killed */
	pp_instance_stop(inst);
}

static void test_dele_hold_and_restore(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *uidl_before, *uidl_after, *out, *line;

	opts.plugin_settings = "pop3_policy = on_delete=hold hold=2d\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 3);

	pop3 = rt_login(inst, "alice");
	uidl_before = pp_pop3_cmd(pop3, "UIDL 2");
	rt_ok(pop3, "DELE 2");
	rt_quit(pop3);
	rt_wait_inbox_count(inst, "alice", 2);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 1);
	g_free(rt_wait_log(inst, "reason=dele action=hold"));

	/* not in the POP3 view */
	pop3 = rt_login(inst, "alice");
	line = pp_pop3_cmd(pop3, "STAT");
	g_assert_true(g_str_has_prefix(line, "+OK 2 "));
	g_free(line);
	rt_quit(pop3);

	/* restore: back in INBOX with the same UIDL */
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "restore",
				   "-u", "alice", "--all", NULL), ==, 0);
	g_free(out);
	rt_assert_counts(inst, "alice", 3, 0);
	pop3 = rt_login(inst, "alice");
	out = pp_pop3_cmd_multi(pop3, "UIDL");
	/* "+OK 2 <uidl>" -> "<uidl>" */
	uidl_after = g_strdup(strrchr(uidl_before, ' ') + 1);
	rt_assert_contains(out, uidl_after);
	g_free(out);
	rt_quit(pop3);

	/* held again, then purged after hold (2d) */
	pop3 = rt_login(inst, "alice");
	rt_ok(pop3, "DELE 1");
	rt_quit(pop3);
	rt_wait_mailbox_count(inst, "alice", "POP3 Quarantine", 1);
	pp_instance_set_time_offset(inst, "+1d");
	g_free(rt_sweep(inst, "alice", NULL));
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 1);
	pp_instance_set_time_offset(inst, "+3d");
	out = rt_sweep(inst, "alice", NULL);
	rt_assert_sweep_count(out, "alice", "hold_expired", 1);
	rt_assert_contains(out, "reason=hold_expired action=expunge");
	g_free(out);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 0);

	/* a session's QUIT purges what is due as well */
	pop3 = rt_login(inst, "alice");
	rt_ok(pop3, "DELE 1");
	rt_quit(pop3);
	rt_wait_mailbox_count(inst, "alice", "POP3 Quarantine", 1);
	/* libfaketime shifts file times too: fix the copy's save date (its
	   ctime on maildir) now, as its first lookup would */
	g_assert_cmpint(rt_doveadm(inst, &out, "fetch", "-u", "alice",
				   "date.saved", "mailbox", "POP3 Quarantine",
				   NULL), ==, 0);
	g_free(out);
	pp_instance_set_time_offset(inst, "+4d");
	rt_quit(rt_login(inst, "alice"));
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 1);
	pp_instance_set_time_offset(inst, "+6d");
	rt_quit(rt_login(inst, "alice"));
	rt_wait_mailbox_count(inst, "alice", "POP3 Quarantine", 0);
	g_free(rt_wait_log(inst, "reason=hold_expired action=expunge"));
	g_free(uidl_before);
	g_free(uidl_after);
	rt_stop(inst);
}

/* restore by UID: only that message comes back; an unknown UID is an
   error naming it, and nothing is restored. */
static void test_restore_uids(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *out, *err;

	opts.plugin_settings = "pop3_policy = on_delete=hold\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 3);
	pop3 = rt_login(inst, "alice");
	rt_ok(pop3, "DELE 1");
	rt_ok(pop3, "DELE 2");
	rt_quit(pop3);
	rt_wait_mailbox_count(inst, "alice", "POP3 Quarantine", 2);

	{
		const char *argv[] = { "pop3-policy", "restore", "-u",
				       "alice", "2", "99", NULL };

		g_assert_cmpint(pp_instance_doveadm(inst, argv, NULL, &out,
						    &err), !=, 0);
		rt_assert_contains(err, "UID 99");
		g_free(out);
		g_free(err);
	}
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 2);
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "restore", "-u", "alice", "2", NULL), ==, 0);
	rt_assert_contains(out, "alice\t1");
	g_free(out);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 1);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 2);
	rt_stop(inst);
}

static void test_dele_move(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;

	opts.plugin_settings = "pop3_policy = on_delete=move:Archive.POP3\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 2);
	pop3 = rt_login(inst, "alice");
	rt_ok(pop3, "DELE 1");
	rt_quit(pop3);
	rt_wait_inbox_count(inst, "alice", 1);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "Archive.POP3"), ==, 1);
	g_free(rt_wait_log(inst, "action=move:Archive.POP3"));
	rt_stop(inst);
}

/* --- expire --- */

static void test_expire_zero_retr_and_top(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *out;

	opts.plugin_settings = "pop3_policy = expire=0\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 4);

	/* RETR 1, TOP 2 99999999 (whole), TOP 3 0 (headers), nothing on 4,
	   then drop: nothing removed */
	pop3 = rt_login(inst, "alice");
	g_free(rt_multi_ok(pop3, "RETR 1"));
	g_free(rt_multi_ok(pop3, "TOP 2 99999999"));
	g_free(rt_multi_ok(pop3, "TOP 3 0"));
	pp_pop3_close(pop3);
	rt_settle(inst);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 4);

	/* the same with QUIT: 1 and 2 go */
	pop3 = rt_login(inst, "alice");
	g_free(rt_multi_ok(pop3, "RETR 1"));
	g_free(rt_multi_ok(pop3, "TOP 2 99999999"));
	g_free(rt_multi_ok(pop3, "TOP 3 0"));
	rt_quit(pop3);
	rt_wait_inbox_count(inst, "alice", 2);
	g_free(rt_wait_log(inst, "reason=expire action=expunge"));

	pop3 = rt_login(inst, "alice");
	out = pp_pop3_cmd_multi(pop3, "LIST");
	g_assert_true(g_str_has_prefix(out, "+OK"));
	g_assert_cmpuint(rt_count_lines(out), ==, 2);
	g_free(out);
	rt_quit(pop3);
	rt_stop(inst);
}

static void test_expire_after_duration(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;

	opts.plugin_settings = "pop3_policy = expire=2d\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 3);

	rt_retrieve(inst, "alice", "RETR 1", NULL);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 3);

	/* a day later, retrieving 2 and 1 again: the first-retrieval time
	   of 1 lives on disk (every session and sweep is a new process) */
	pp_instance_set_time_offset(inst, "+1d");
	rt_retrieve(inst, "alice", "RETR 2", "RETR 1", NULL);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 3);

	/* 2d after the first retrieval of 1 (not of its second one) */
	rt_sweep_at(inst, "+49h", "alice", "expire", 1, 2);
	/* 2 goes a day later, 3 (never retrieved) stays */
	rt_sweep_at(inst, "+73h", "alice", "expire", 1, 1);
	rt_sweep_at(inst, "+30d", "alice", "expire", 0, 1);
	rt_stop(inst);
}

/* Losing the index loses the retrieval time: the removal is delayed (to
   2d after the next retrieval), never advanced. */
static void test_expire_index_loss_delays(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;

	opts.plugin_settings = "pop3_policy = expire=2d\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 1);
	rt_retrieve(inst, "alice", "RETR 1", NULL);

	rt_remove_indexes(inst, "alice");
	rt_sweep_at(inst, "+3d", "alice", "expire", 0, 1);

	rt_retrieve(inst, "alice", "RETR 1", NULL);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 1);
	rt_sweep_at(inst, "+121h", "alice", "expire", 1, 0);
	rt_stop(inst);
}

/* --- max_age, legal_hold, dry_run --- */

static void test_max_age(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;
	char *out;

	opts.plugin_settings = "pop3_policy = max_age=10d\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 2);
	rt_pin_save_dates(inst, "alice", "INBOX");
	pp_instance_set_time_offset(inst, "+5d");
	rt_deliver_n(inst, "alice", 1);
	rt_pin_save_dates(inst, "alice", "INBOX");

	pp_instance_set_time_offset(inst, "+9d");
	out = rt_sweep(inst, "alice", NULL);
	rt_assert_sweep_count(out, "alice", "max_age", 0);
	g_free(out);
	pp_instance_set_time_offset(inst, "+11d");
	/* a session's QUIT runs it as well */
	rt_quit(rt_login(inst, "alice"));
	rt_wait_inbox_count(inst, "alice", 1);
	g_free(rt_wait_log(inst, "reason=max_age"));
	rt_sweep_at(inst, "+16d", "alice", "max_age", 1, 0);
	rt_stop(inst);
}

static void test_legal_hold(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *out;

	opts.plugin_settings =
		"pop3_policy = expire=0 max_age=1d on_delete=expunge "
		"legal_hold=yes\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 3);
	rt_pin_save_dates(inst, "alice", "INBOX");
	pop3 = rt_login(inst, "alice");
	g_free(rt_multi_ok(pop3, "RETR 1"));
	rt_ok(pop3, "DELE 2");
	rt_quit(pop3);
	/* DELE acts as hold */
	rt_wait_inbox_count(inst, "alice", 2);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "POP3 Quarantine"),
			==, 1);
	pp_instance_set_time_offset(inst, "+400d");
	out = rt_sweep(inst, "alice", NULL);
	rt_assert_sweep_count(out, "alice", "expire", 0);
	rt_assert_sweep_count(out, "alice", "max_age", 0);
	rt_assert_sweep_count(out, "alice", "hold_expired", 0);
	g_free(out);
	rt_assert_counts(inst, "alice", 2, 1);
	rt_stop(inst);
}

static void test_dry_run(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	PpInstance *inst;
	PpPop3 *pop3;
	char *out;

	opts.plugin_settings = "pop3_policy = expire=0 max_age=3d\n";
	opts.extra_conf =
		"metric pop3_policy_removed {\n"
		"  filter = event=pop3_policy_removed\n"
		"  group_by = reason dry_run\n"
		"}\n"
		"event_exporter audit {\n"
		"  format = json\n"
		"  format_args = time-rfc3339\n"
		"  transport = log\n"
		"}\n"
		"metric pop3_policy_removed_audit {\n"
		"  filter = event=pop3_policy_removed\n"
		"  exporter = audit\n"
		"  exporter_include = name timestamps categories fields\n"
		"}\n";
	inst = rt_start(&opts);
	pp_instance_add_user(inst, "alice", "secret", "pop3_policy=dry_run=yes");
	rt_deliver_n(inst, "alice", 3);
	rt_pin_save_dates(inst, "alice", "INBOX");
	pop3 = rt_login(inst, "alice");
	g_free(rt_multi_ok(pop3, "RETR 1"));
	rt_ok(pop3, "DELE 2");
	rt_quit(pop3);
	g_free(rt_wait_log(inst, "Would remove message uid=1"));
	g_free(rt_wait_log(inst, "Would remove message uid=2"));
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 3);
	/* the metric {} block counted the session's two events */
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "stats", "dump",
				   NULL), ==, 0);
	rt_assert_contains(out, "\npop3_policy_removed\tduration\t2\t");
	rt_assert_contains(out, "\npop3_policy_removed_expire_yes\tduration\t1\t");
	rt_assert_contains(out, "\npop3_policy_removed_dele_yes\tduration\t1\t");
	g_free(out);
	/* the README's audit exporter writes each event as JSON */
	out = rt_wait_log(inst, "\"reason\":\"dele\"");
	rt_assert_contains(out, "\"event\":\"pop3_policy_removed\"");
	rt_assert_contains(out, "\"dry_run\":\"yes\"");
	rt_assert_contains(out, "\"action\":\"expunge\"");
	rt_assert_contains(out, "\"user\":\"alice\"");
	g_free(out);

	rt_sweep_at(inst, "+4d", "alice", "max_age", 3, 3);
	/* sweep --dry-run on a policy without dry_run */
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "alice", "dry_run=no", NULL), ==, 0);
	g_free(out);
	out = rt_sweep(inst, "alice", "--dry-run");
	rt_assert_sweep_count(out, "alice", "max_age", 3);
	g_free(out);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 3);
	rt_sweep_at(inst, NULL, "alice", "max_age", 3, 0);
	rt_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/retention/show-layers", test_show_layers);
	g_test_add_func("/retention/set-refuses-bad", test_set_refuses_bad);
	g_test_add_func("/retention/bad-policy-fails-session",
			test_bad_policy_fails_session);
	g_test_add_func("/retention/dele-expunge-rfc1939",
			test_dele_expunge_and_rfc1939);
	g_test_add_func("/retention/dele-server-killed",
			test_dele_server_killed);
	g_test_add_func("/retention/dele-hold-restore",
			test_dele_hold_and_restore);
	g_test_add_func("/retention/restore-uids", test_restore_uids);
	g_test_add_func("/retention/dele-move", test_dele_move);
	g_test_add_func("/retention/expire-zero", test_expire_zero_retr_and_top);
	g_test_add_func("/retention/expire-duration",
			test_expire_after_duration);
	g_test_add_func("/retention/expire-index-loss",
			test_expire_index_loss_delays);
	g_test_add_func("/retention/max-age", test_max_age);
	g_test_add_func("/retention/legal-hold", test_legal_hold);
	g_test_add_func("/retention/dry-run", test_dry_run);
	return g_test_run();
}
