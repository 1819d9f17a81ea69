/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* kill -9 in the middle of the store-changing work:
   the pop3 process killed during QUIT's update (on_delete=hold moves every
   DELE'd message to the quarantine), doveadm pop3-policy sweep killed
   half-way (max_age with on_delete=hold) and doveadm pop3-policy restore
   killed half-way. Each kill lands at a step of the move (the move
   journal written, the copies linked, committed, the originals' expunges
   committed and synced): the test build's process kills itself at a kill
   point there (src/lib/pop3-policy-test-hook.h), so every kill lands where
   it should on a fast and on a loaded machine alike; on a build without
   the points the tests fail, saying so.

   Checked right after each kill: every message is in INBOX or in the
   quarantine (never lost from both), never twice in INBOX; a session
   that ends without QUIT removes nothing (RFC 1939). After the next run
   that completes (a session with QUIT, a sweep, a restore): every
   message exactly once, the interrupted move repaired from its journal
   (src/lib/pop3-policy-retention-move.c). At the end: all moved as the
   policy said. Also: a damaged journal stops the user's retention runs
   with an error naming it, and nothing is removed. Runs on the default
   store (PP_STORE_BACKEND applies). */

#include "pp-helpers.h"

#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>

#define CRASH_MESSAGES 400

/* A process killed while it holds maildir's dovecot-uidlist.lock leaves
   the dotlock behind. Dovecot overrides it once it sees that the pid
   written in it is dead, which it checks only when the lock is at least
   2 s old (file-dotlock.c, STALE_PID_CHECK_SECS): the next session waits
   2-3 s. With dotlock_use_excl = yes (the default) the lock is created
   with O_EXCL and the pid written into it afterwards; a kill between the
   two leaves an empty lock, no pid to check, and everyone waits for the
   stale timeout (MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT, 2 minutes), longer
   than a POP3 client's patience. The stages below kill the process right
   after a step of the move, next to its lock calls, which hits that
   window often enough to time out a test. With dotlock_use_excl = no the
   pid is written into a temporary file that is then linked as the lock,
   so a lock always names its holder: the tests use that (Dovecot's
   behaviour either way, not the package's). */
#define DOTLOCK_CONF "dotlock_use_excl = no\n"
#define QUARANTINE_DIR ".POP3 Quarantine"

/* Starts an instance with the package, the store on SQLite, the
   pop3_policy setting policy and user (password "pass-word") declared
   before the start; with dotlock_conf, DOTLOCK_CONF too. Its log is shown
   when a test fails. */
static PpInstance *kill_instance_start(const char *policy, const char *user,
				       gboolean dotlock_conf)
{
	const PpUser users[] = { { user, "pass-word", NULL }, { NULL } };
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	char *settings = g_strdup_printf("  pop3_policy = %s", policy);
	PpInstance *inst;

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	opts.plugin_settings = settings;
	opts.extra_conf = dotlock_conf ? DOTLOCK_CONF : NULL;
	opts.users = users;
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	g_free(settings);
	pp_watch_instance(inst);
	return inst;
}

/* Writes n messages straight into the user's maildir (doveadm save of
   hundreds would take long): Message-ID crash-<i>@example.com. */
static void write_maildir_messages_named(PpInstance *inst, const char *user,
					 unsigned int n, gboolean sizes)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		char *msg = g_strdup_printf(
			"From: sender@example.com\r\n"
			"Subject: crash %u\r\n"
			"Message-ID: <crash-%u@example.com>\r\n"
			"\r\n"
			"Body %u.\r\n", i, i, i);
		/* with sizes, as Dovecot's LDA names files (S= physical,
		   W= virtual size: the same with CRLF line ends) */
		char *name = sizes ?
			g_strdup_printf("1795000000.M%uP1.pp,S=%zu,W=%zu", i,
					strlen(msg), strlen(msg)) :
			g_strdup_printf("1795000000.M%uP1.pp", i);

		pp_instance_write_mail(inst, user, "new", name, msg);
		g_free(msg);
		g_free(name);
	}
}

/* Without sizes in the names: a maildir copy then gets a new file name
   and keeps the original's GUID only in dovecot-uidlist, the case where
   a kill during the copy's commit loses it. */
static void write_maildir_messages(PpInstance *inst, const char *user,
				   unsigned int n)
{
	write_maildir_messages_named(inst, user, n, FALSE);
}

/* The quarantine exists before the kills: a process killed while Dovecot
   creates a mailbox's index leaves a dotlock that the next opener waits
   for until it is stale (Dovecot's behaviour, not the package's). */
static void create_quarantine(PpInstance *inst, const char *user)
{
	const char *const argv[] = {
		"mailbox", "create", "-u", user, "POP3 Quarantine", NULL
	};

	pp_doveadm_ok(inst, argv, NULL);
}

static unsigned int lookup_count(GHashTable *counts, const char *id)
{
	gpointer value = g_hash_table_lookup(counts, id);

	return GPOINTER_TO_UINT(value);
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
				GUINT_TO_POINTER(lookup_count(counts, id) + 1));
			g_free(contents);
			g_free(file);
		}
		if (dir != NULL)
			g_dir_close(dir);
		g_free(path);
	}
}

/* What check_messages() saw: messages in INBOX, and messages that were
   in both INBOX and the quarantine. */
struct seen {
	unsigned int inbox, both;
};

/* Every message is in INBOX at most once and is not lost from both
   (right after a kill); with exact, every message is in exactly one of
   them, once (after a run that completed). */
static struct seen check_messages(PpInstance *inst, const char *user,
				  unsigned int n, gboolean exact)
{
	const char *home = pp_instance_home(inst, user);
	char *inbox = g_build_filename(home, "Maildir", NULL);
	char *quarantine = g_build_filename(inbox, QUARANTINE_DIR, NULL);
	GHashTable *in_inbox = g_hash_table_new_full(g_str_hash, g_str_equal,
						     g_free, NULL);
	GHashTable *held = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	struct seen seen = { 0, 0 };
	unsigned int i, known = 0;

	count_msgids(inbox, in_inbox);
	count_msgids(quarantine, held);
	for (i = 0; i < n; i++) {
		char *id = g_strdup_printf("crash-%u@example.com", i);
		unsigned int a = lookup_count(in_inbox, id);
		unsigned int b = lookup_count(held, id);

		if (a > 1 || a + b == 0 || (exact && a + b != 1)) {
			pp_dump_logs();
			g_error("%s: %u times in INBOX and %u times in the "
				"quarantine (%s)", id, a, b,
				exact ? "after a completed run" :
				"right after a kill");
		}
		seen.inbox += a;
		if (a > 0 && b > 0)
			seen.both++;
		known += (a > 0) + (b > 0);
		g_free(id);
	}
	/* nothing else is there */
	g_assert_cmpuint(g_hash_table_size(in_inbox) +
			 g_hash_table_size(held), ==, known);
	g_hash_table_unref(in_inbox);
	g_hash_table_unref(held);
	g_free(quarantine);
	g_free(inbox);
	return seen;
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

/* The pid of the pop3 process of the user's latest login, once it is not
   prev (Dovecot's log process writes the Login line a little after the
   client got its answer). */
static GPid new_login_mpid(PpInstance *inst, const char *user, GPid prev)
{
	GPid pid = 0;
	unsigned int i;

	for (i = 0; i < 500; i++) {
		pid = last_login_mpid(inst, user);
		if (pid != prev)
			return pid;
		g_usleep(10 * 1000);
	}
	pp_dump_logs();
	g_error("no new login of %s in the log", user);
}

/* Waits until the process is gone (its retention run included). */
static void wait_gone(GPid pid)
{
	unsigned int i;

	for (i = 0; i < 3000 && kill(pid, 0) == 0; i++)
		g_usleep(10 * 1000);
	if (kill(pid, 0) == 0) {
		pp_dump_logs();
		g_error("process %d still runs after 30 s", (int)pid);
	}
}

/* Ends the session (with QUIT, which must be answered +OK, or by closing
   the connection) and waits until its process is gone (its retention
   run included); returns the process's pid (the next login's is
   another). */
static GPid session_end(PpInstance *inst, const char *user, PpPop3 *pop3,
			GPid prev, gboolean quit)
{
	GPid pid;

	if (quit)
		pp_assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
	pid = new_login_mpid(inst, user, prev);
	pp_pop3_close(pop3);
	wait_gone(pid);
	return pid;
}

/* Logs in and returns the message count STAT gives. */
static unsigned int session_stat(PpInstance *inst, const char *user,
				 PpPop3 **pop3_r)
{
	char *reply;
	unsigned int count;

	pp_assert_prefix(pp_try_pass(pp_instance_port(inst), user,
				     "pass-word", pop3_r), "+OK");
	reply = pp_pop3_cmd(*pop3_r, "STAT");
	if (sscanf(reply, "+OK %u ", &count) != 1) {
		pp_dump_logs();
		g_error("STAT: %s", reply);
	}
	g_free(reply);
	return count;
}

static void dele_all(PpPop3 *pop3, unsigned int count)
{
	unsigned int i;

	for (i = 1; i <= count; i++) {
		char *cmd = g_strdup_printf("DELE %u", i);

		pp_assert_prefix(pp_pop3_cmd(pop3, cmd), "+OK");
		g_free(cmd);
	}
}

/* Where a kill lands: a kill point of the move
   (src/lib/pop3-policy-retention-move.c), where the process of a test
   build kills itself (pp_instance_set_kill_point()), so that each kill
   lands at its step of the move, on a fast and on a loaded machine alike.
   What the mailboxes show right after the kill follows from the step. */
enum stage_outcome {
	/* nothing committed in the destination: all still in the source */
	STAGE_NONE_MOVED,
	/* the copies committed, the originals still there (also with
	   their expunges committed: only a sync unlinks them): all in
	   both */
	STAGE_ALL_IN_BOTH,
	/* the move done, only its journal left */
	STAGE_ALL_MOVED,
};

struct stage {
	const char *name;
	/* the kill point's name */
	const char *point;
	/* at the point's hit for half the messages moved, else the first */
	gboolean half;
	enum stage_outcome outcome;
};

static const struct stage stages[] = {
	{ "at the start", "move-start", FALSE, STAGE_NONE_MOVED },
	{ "journal written", "move-journal-written", FALSE,
	  STAGE_NONE_MOVED },
	{ "first copy linked", "move-copied", FALSE, STAGE_NONE_MOVED },
	{ "half the copies linked", "move-copied", TRUE, STAGE_NONE_MOVED },
	{ "copies committed", "move-copies-committed", FALSE,
	  STAGE_ALL_IN_BOTH },
	{ "expunges committed", "move-expunges-committed", FALSE,
	  STAGE_ALL_IN_BOTH },
	{ "expunges synced", "move-synced", FALSE, STAGE_ALL_MOVED },
};

/* The value of POP3_POLICY_TEST_KILL_AT for the stage of a move of
   `moving` messages (g_free). */
static char *stage_point(const struct stage *stage, unsigned int moving)
{
	if (!stage->half)
		return g_strdup(stage->point);
	return g_strdup_printf("%s:%u", stage->point, MAX(1, moving / 2));
}

/* The log line the hook writes before it kills its process
   (src/lib/pop3-policy-test-hook.c). */
static char *stage_log_text(const struct stage *stage, unsigned int moving)
{
	return g_strdup_printf("test point %s reached (%u)", stage->point,
			       stage->half ? MAX(1, moving / 2) : 1);
}

/* The process killed itself at the stage: the hook's line is in the log,
   once more than before (Dovecot's log process writes a service's lines
   a little later). */
static void assert_killed_at(PpInstance *inst, const struct stage *stage,
			     unsigned int moving, unsigned int before)
{
	char *text = stage_log_text(stage, moving);
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (pp_instance_log_count(inst, NULL, text) <= before) {
		if (g_get_monotonic_time() > end) {
			pp_dump_logs();
			g_error("the log lacks '%s': the process was not "
				"killed at its kill point", text);
		}
		g_usleep(10 * 1000);
	}
	g_free(text);
}

static unsigned int killed_count(PpInstance *inst, const struct stage *stage,
				 unsigned int moving)
{
	char *text = stage_log_text(stage, moving);
	unsigned int count = pp_instance_log_count(inst, NULL, text);

	g_free(text);
	return count;
}

/* What the mailboxes show right after a kill at the stage of a move of
   `moving` messages: seen.inbox counts the source's messages when the
   move was into the quarantine, the destination's when it was a
   restore. */
static void assert_outcome(const struct stage *stage, struct seen seen,
			   unsigned int moving, gboolean to_quarantine)
{
	/* held are those only in the quarantine and those in both */
	unsigned int in_src = to_quarantine ? seen.inbox :
		moving - seen.inbox + seen.both;
	gboolean ok = FALSE;

	switch (stage->outcome) {
	case STAGE_NONE_MOVED:
		ok = seen.both == 0 && in_src == moving;
		break;
	case STAGE_ALL_IN_BOTH:
		ok = seen.both == moving;
		break;
	case STAGE_ALL_MOVED:
		ok = seen.both == 0 && in_src == 0;
		break;
	}
	if (!ok) {
		pp_dump_logs();
		g_error("killed %s: %u in INBOX, %u in both, of %u moved",
			stage->name, seen.inbox, seen.both, moving);
	}
}

/* Runs `doveadm ARGS` with the stage's kill point armed; asserts that it
   was killed there (doveadm logs to its stderr). */
static void doveadm_killed(PpInstance *inst, const char *const *args,
			   const struct stage *stage, unsigned int moving)
{
	char *point = stage_point(stage, moving);
	char *env = g_strdup_printf("POP3_POLICY_TEST_KILL_AT=%s", point);
	char *text = stage_log_text(stage, moving);
	GPtrArray *argv = g_ptr_array_new();
	char *err = NULL;
	unsigned int i;
	int ret;

	g_ptr_array_add(argv, (char *)"env");
	g_ptr_array_add(argv, env);
	g_ptr_array_add(argv, (char *)"doveadm");
	g_ptr_array_add(argv, (char *)"-c");
	g_ptr_array_add(argv, (char *)pp_instance_conf_path(inst));
	for (i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	ret = pp_instance_run(inst, (const char *const *)argv->pdata, NULL,
			      NULL, &err);
	if (ret != 128 + SIGKILL || strstr(err, text) == NULL) {
		g_error("doveadm with %s: exit %d, not killed at its kill "
			"point: %s", env, ret, err);
	}
	g_ptr_array_unref(argv);
	g_free(err);
	g_free(text);
	g_free(env);
	g_free(point);
}

/* A session's QUIT with the stage's kill point armed for the pop3
   processes: asserts that the process was killed there. */
static void quit_killed(PpInstance *inst, PpPop3 *pop3, GPid mpid,
			const struct stage *stage, unsigned int moving)
{
	unsigned int before = killed_count(inst, stage, moving);

	/* the update runs after the answer, which is +OK whatever the kill
	   leaves */
	g_free(pp_pop3_cmd(pop3, "QUIT"));
	pp_pop3_close(pop3);
	wait_gone(mpid);
	assert_killed_at(inst, stage, moving, before);
}

/* QUIT of a session that DELE'd every message, with on_delete=hold (the
   messages move to the quarantine), and the pop3 process killed -9 at
   each stage of the move. After each kill: nothing lost, nothing twice
   in INBOX, as much moved as the stage says; a session that ends without
   QUIT then sees and keeps every message that is in INBOX (RFC 1939); a
   session that QUITs without DELE repairs what the kill left (every
   message exactly once: the copies in the quarantine of messages still
   in INBOX are gone). When a stage left everything held, a restore
   brings it back for the next. */
static void test_kill_quit(void)
{
	const char *const restore_argv[] = {
		"pop3-policy", "restore", "-u", "frank", "--all", NULL
	};
	PpInstance *inst;
	GString *summary = g_string_new(NULL);
	unsigned int i, in_inbox, count, midway = 0;
	struct seen seen;
	GPid mpid = 0;

	pp_require_test_hooks();
	inst = kill_instance_start("on_delete=hold hold=14d", "frank", TRUE);
	write_maildir_messages(inst, "frank", CRASH_MESSAGES);
	create_quarantine(inst, "frank");

	in_inbox = CRASH_MESSAGES;
	for (i = 0; i < G_N_ELEMENTS(stages); i++) {
		PpPop3 *pop3 = NULL;
		char *point;
		gint64 start;

		/* QUIT killed during the update */
		point = stage_point(&stages[i], in_inbox);
		pp_instance_set_kill_point(inst, point);
		g_free(point);
		count = session_stat(inst, "frank", &pop3);
		g_assert_cmpuint(count, ==, in_inbox);
		dele_all(pop3, count);
		mpid = new_login_mpid(inst, "frank", mpid);
		quit_killed(inst, pop3, mpid, &stages[i], count);
		pp_instance_set_kill_point(inst, NULL);
		seen = check_messages(inst, "frank", CRASH_MESSAGES, FALSE);
		assert_outcome(&stages[i], seen, count, TRUE);
		if (seen.both > 0)
			midway++;
		g_string_append_printf(summary, "\n %s: %u in INBOX, "
				       "%u also held;", stages[i].name,
				       seen.inbox, seen.both);

		if (seen.inbox > 0) {
			/* a session without QUIT removes nothing, whatever
			   it DELE'd (its sync may finish expunges that the
			   kill left in INBOX's transaction log: those
			   messages are held) */
			start = g_get_monotonic_time();
			count = session_stat(inst, "frank", &pop3);
			g_string_append_printf(summary,
				" STAT %u after %.1f s;", count,
				(g_get_monotonic_time() - start) / 1e6);
			g_assert_cmpuint(count, <=, seen.inbox);
			dele_all(pop3, count);
			mpid = session_end(inst, "frank", pop3, mpid, FALSE);
			seen = check_messages(inst, "frank", CRASH_MESSAGES,
					      FALSE);
			g_assert_cmpuint(seen.inbox, ==, count);
		}
		if (seen.inbox > 0) {
			/* a session that QUITs without DELE repairs */
			count = session_stat(inst, "frank", &pop3);
			g_assert_cmpuint(count, ==, seen.inbox);
			mpid = session_end(inst, "frank", pop3, mpid, TRUE);
			seen = check_messages(inst, "frank", CRASH_MESSAGES,
					      TRUE);
			g_assert_cmpuint(seen.inbox, ==, count);
			g_string_append_printf(summary,
				" after a QUIT: %u in INBOX", seen.inbox);
		} else {
			/* all held: nothing can be in both */
			(void)check_messages(inst, "frank", CRASH_MESSAGES,
					     TRUE);
		}
		if (seen.inbox < CRASH_MESSAGES) {
			/* the next stage moves all of them again */
			pp_doveadm_ok(inst, restore_argv, NULL);
			seen = check_messages(inst, "frank", CRASH_MESSAGES,
					      TRUE);
			g_assert_cmpuint(seen.inbox, ==, CRASH_MESSAGES);
		}
		in_inbox = seen.inbox;
	}
	g_test_message("QUIT killed at (stage: what was left)%s",
		       summary->str);
	g_string_free(summary, TRUE);
	/* the kills must have landed half-way for this to test anything */
	g_assert_cmpuint(midway, >, 0);
	pp_assert_log_has(inst, "Interrupted hold repaired: ");

	/* all go with a QUIT that completes */
	{
		PpPop3 *pop3 = NULL;

		count = session_stat(inst, "frank", &pop3);
		g_assert_cmpuint(count, ==, in_inbox);
		dele_all(pop3, count);
		mpid = session_end(inst, "frank", pop3, mpid, TRUE);
	}
	seen = check_messages(inst, "frank", CRASH_MESSAGES, TRUE);
	g_assert_cmpuint(seen.inbox, ==, 0);
	assert_only_killed(inst, "pop3");
	pp_unwatch_instance(inst);
	pp_instance_stop(inst);
}

/* doveadm pop3-policy sweep of messages past max_age (on_delete=hold)
   and doveadm pop3-policy restore --all, each killed -9 at each stage of
   its move. After each kill: nothing lost, nothing twice in INBOX, as
   much moved as the stage says. After the next run that completes (a
   restore after a killed sweep, a session with QUIT after a killed
   restore): every message exactly once. */
static void test_kill_sweep_restore(void)
{
	PpInstance *inst;
	GString *summary = g_string_new(NULL);
	const char *const sweep_argv[] = {
		"pop3-policy", "sweep", "-u", "grace", NULL
	};
	const char *const restore_argv[] = {
		"pop3-policy", "restore", "-u", "grace", "--all", NULL
	};
	unsigned int i;
	struct seen seen;
	GPid mpid = 0;

	pp_require_test_hooks();
	/* real aging: libfaketime would shift the files' stat() times too,
	   and maildir takes an uncached save date from them */
	inst = kill_instance_start("max_age=1s on_delete=hold", "grace", TRUE);
	write_maildir_messages(inst, "grace", CRASH_MESSAGES);
	create_quarantine(inst, "grace");

	for (i = 0; i < G_N_ELEMENTS(stages); i++) {
		/* every message in INBOX is due once it is older than
		   max_age=1s: real time has to pass (the save dates
		   maildir takes from the files cannot be set back), from
		   the second of their writing or restore to the next */
		pp_wait_next_second();
		doveadm_killed(inst, sweep_argv, &stages[i], CRASH_MESSAGES);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, FALSE);
		assert_outcome(&stages[i], seen, CRASH_MESSAGES, TRUE);
		g_string_append_printf(summary, "\n sweep, %s: %u in INBOX, "
				       "%u also held;", stages[i].name,
				       seen.inbox, seen.both);
		/* a restore repairs, then restores the rest */
		pp_doveadm_ok(inst, restore_argv, NULL);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
		g_assert_cmpuint(seen.inbox, ==, CRASH_MESSAGES);
	}
	pp_wait_next_second();
	pp_doveadm_ok(inst, sweep_argv, NULL);
	seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
	g_assert_cmpuint(seen.inbox, ==, 0);

	for (i = 0; i < G_N_ELEMENTS(stages); i++) {
		PpPop3 *pop3 = NULL;

		doveadm_killed(inst, restore_argv, &stages[i],
			       CRASH_MESSAGES);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, FALSE);
		assert_outcome(&stages[i], seen, CRASH_MESSAGES, FALSE);
		g_string_append_printf(summary, "\n restore, %s: "
				       "%u in INBOX, %u also held;",
				       stages[i].name, seen.inbox, seen.both);
		/* a session with QUIT repairs (and holds again what is
		   due by then); with nothing restored, nothing can be in
		   both */
		if (seen.inbox > 0) {
			(void)session_stat(inst, "grace", &pop3);
			mpid = session_end(inst, "grace", pop3, mpid, TRUE);
		}
		seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
		g_string_append_printf(summary, " after a QUIT: %u in INBOX",
				       seen.inbox);
		/* and a sweep holds everything again */
		pp_wait_next_second();
		pp_doveadm_ok(inst, sweep_argv, NULL);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
		g_assert_cmpuint(seen.inbox, ==, 0);
	}
	g_test_message("killed at (stage: what was left)%s", summary->str);
	g_string_free(summary, TRUE);
	pp_assert_log_has(inst, "Interrupted restore repaired: ");
	assert_only_killed(inst, "pop3");
	pp_unwatch_instance(inst);
	pp_instance_stop(inst);
}

static unsigned int count_dir(const char *maildir, const char *sub)
{
	char *path = g_build_filename(maildir, sub, NULL);
	GDir *dir = g_dir_open(path, 0, NULL);
	unsigned int n = 0;

	while (dir != NULL && g_dir_read_name(dir) != NULL)
		n++;
	if (dir != NULL)
		g_dir_close(dir);
	g_free(path);
	return n;
}

static unsigned int count_mails(const char *maildir)
{
	return count_dir(maildir, "new") + count_dir(maildir, "cur");
}

/* on_delete=move:Archive (a mailbox of the user's own), QUIT killed
   once the copies are committed, before the originals' expunges: a
   repair never removes anything from the user's mailbox, it names the
   messages left in both; the next DELE of them only expunges them from
   INBOX (their GUIDs are in Archive already: the files are named with
   their sizes, as Dovecot's LDA does, so maildir keeps the GUID as the
   copy's name). */
static void test_kill_move_target(void)
{
	static const struct stage copied = {
		"copies committed", "move-copies-committed", FALSE,
		STAGE_ALL_IN_BOTH
	};
	PpInstance *inst;
	const char *const create_argv[] = {
		"mailbox", "create", "-u", "ivan", "Archive", NULL
	};
	GHashTable *in_inbox, *archived;
	PpPop3 *pop3 = NULL;
	GPid mpid = 0;
	char *inbox, *archive;
	unsigned int i, count, both = 0, inbox_n, archive_n;

	pp_require_test_hooks();
	inst = kill_instance_start("on_delete=move:Archive", "ivan", TRUE);
	write_maildir_messages_named(inst, "ivan", CRASH_MESSAGES, TRUE);
	pp_doveadm_ok(inst, create_argv, NULL);
	inbox = g_build_filename(pp_instance_home(inst, "ivan"), "Maildir",
				 NULL);
	archive = g_build_filename(inbox, ".Archive", NULL);

	pp_instance_set_kill_point(inst, copied.point);
	count = session_stat(inst, "ivan", &pop3);
	g_assert_cmpuint(count, ==, CRASH_MESSAGES);
	dele_all(pop3, count);
	mpid = new_login_mpid(inst, "ivan", mpid);
	quit_killed(inst, pop3, mpid, &copied, count);
	pp_instance_set_kill_point(inst, NULL);
	g_assert_cmpuint(count_mails(inbox), ==, CRASH_MESSAGES);
	g_assert_cmpuint(count_mails(archive), ==, CRASH_MESSAGES);

	/* a QUIT without DELE: the repair keeps both */
	(void)session_stat(inst, "ivan", &pop3);
	mpid = session_end(inst, "ivan", pop3, mpid, TRUE);
	pp_assert_log_has(inst, "Interrupted move: ");
	pp_assert_log_has(inst, "kept in both, Archive is the user's mailbox");
	in_inbox = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 NULL);
	archived = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 NULL);
	count_msgids(inbox, in_inbox);
	count_msgids(archive, archived);
	for (i = 0; i < CRASH_MESSAGES; i++) {
		char *id = g_strdup_printf("crash-%u@example.com", i);

		inbox_n = lookup_count(in_inbox, id);
		archive_n = lookup_count(archived, id);
		/* nothing lost, nothing removed from Archive */
		g_assert_cmpuint(inbox_n, ==, 1);
		g_assert_cmpuint(archive_n, <=, 1);
		both += archive_n;
		g_free(id);
	}
	g_assert_cmpuint(both, >, 0);
	g_test_message("%u of %u messages left in both INBOX and Archive",
		       both, CRASH_MESSAGES);
	g_hash_table_remove_all(in_inbox);
	g_hash_table_remove_all(archived);

	/* DELE them all again: each ends in Archive once */
	count = session_stat(inst, "ivan", &pop3);
	g_assert_cmpuint(count, ==, CRASH_MESSAGES);
	dele_all(pop3, count);
	mpid = session_end(inst, "ivan", pop3, mpid, TRUE);
	count_msgids(inbox, in_inbox);
	count_msgids(archive, archived);
	g_assert_cmpuint(g_hash_table_size(in_inbox), ==, 0);
	for (i = 0; i < CRASH_MESSAGES; i++) {
		char *id = g_strdup_printf("crash-%u@example.com", i);

		g_assert_cmpuint(lookup_count(archived, id), ==, 1);
		g_free(id);
	}
	g_assert_cmpuint(g_hash_table_size(archived), ==, CRASH_MESSAGES);
	g_hash_table_unref(in_inbox);
	g_hash_table_unref(archived);
	g_free(archive);
	g_free(inbox);
	assert_only_killed(inst, "pop3");
	pp_unwatch_instance(inst);
	pp_instance_stop(inst);
}

/* A damaged move journal (not one the package wrote whole: it writes a
   temporary file and renames it) stops every retention run of the user
   with an error naming the file and the line, and nothing is removed;
   without it the runs work again. */
static void test_damaged_journal(void)
{
	static const char *const damages[] = {
		"garbage\n",
		"pop3-policy-move\t1\thold\n",
		"pop3-policy-move\t2\thold\nS\tINBOX\t1\n"
		"D\tPOP3 Quarantine\t1\t1\n",
		"pop3-policy-move\t1\thold\nS\tINBOX\t1\n"
		"D\tPOP3 Quarantine\t1\t1\nx\tguid\n",
	};
	static const char *const errors[] = {
		"line 1: not a move journal",
		"truncated (1 lines)",
		"line 1: unsupported version 2",
		"line 4: expected <uid> <guid>",
	};
	const char *const sweep_argv[] = {
		"pop3-policy", "sweep", "-u", "hank", NULL
	};
	const char *const restore_argv[] = {
		"pop3-policy", "restore", "-u", "hank", "--all", NULL
	};
	PpInstance *inst;
	char *journal, *err = NULL;
	struct seen seen;
	GStatBuf st;
	GPid mpid = 0;
	unsigned int i;

	inst = kill_instance_start("on_delete=hold hold=14d", "hank", FALSE);
	write_maildir_messages(inst, "hank", 3);
	journal = g_build_filename(pp_instance_home(inst, "hank"),
				   "pop3-policy.move", NULL);
	g_assert_cmpint(g_stat(pp_instance_home(inst, "hank"), &st), ==, 0);

	for (i = 0; i < G_N_ELEMENTS(damages); i++) {
		PpPop3 *pop3 = NULL;
		char *expected;

		pp_write_file(journal, damages[i], 0600);
		g_assert_cmpint(chown(journal, st.st_uid, st.st_gid), ==, 0);
		/* a session's DELE is kept */
		g_assert_cmpuint(session_stat(inst, "hank", &pop3), ==, 3);
		dele_all(pop3, 1);
		mpid = session_end(inst, "hank", pop3, mpid, TRUE);
		/* "<path> line N: ..." or "<path>: truncated ..." */
		expected = g_strdup_printf(
			"DELE'd messages were kept: repairing an interrupted "
			"move: %s%s%s", journal,
			strncmp(errors[i], "line ", 5) == 0 ? " " : ": ",
			errors[i]);
		pp_assert_log_has(inst, expected);
		g_free(expected);
		/* a sweep and a restore fail, naming it */
		g_assert_cmpint(pp_doveadm(inst, sweep_argv, NULL, NULL, &err),
				!=, 0);
		g_assert_nonnull(strstr(err, journal));
		g_assert_nonnull(strstr(err, errors[i]));
		g_free(err);
		g_assert_cmpint(pp_doveadm(inst, restore_argv, NULL, NULL,
					   &err), !=, 0);
		g_assert_nonnull(strstr(err, journal));
		g_assert_nonnull(strstr(err, errors[i]));
		g_free(err);
		seen = check_messages(inst, "hank", 3, TRUE);
		g_assert_cmpuint(seen.inbox, ==, 3);
	}

	/* without it, the DELE of a session holds the message */
	g_assert_cmpint(g_unlink(journal), ==, 0);
	{
		PpPop3 *pop3 = NULL;

		g_assert_cmpuint(session_stat(inst, "hank", &pop3), ==, 3);
		dele_all(pop3, 1);
		mpid = session_end(inst, "hank", pop3, mpid, TRUE);
	}
	seen = check_messages(inst, "hank", 3, TRUE);
	g_assert_cmpuint(seen.inbox, ==, 2);
	g_assert_false(g_file_test(journal, G_FILE_TEST_EXISTS));
	g_free(journal);
	assert_only_killed(inst, "pop3");
	pp_unwatch_instance(inst);
	pp_instance_stop(inst);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	if (geteuid() != 0)
		g_error("the integration tests need root");

	g_test_add_func("/kill/quit", test_kill_quit);
	g_test_add_func("/kill/sweep-restore", test_kill_sweep_restore);
	g_test_add_func("/kill/move-target", test_kill_move_target);
	g_test_add_func("/kill/damaged-journal", test_damaged_journal);
	return g_test_run();
}
