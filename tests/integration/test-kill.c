/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* kill -9 in the middle of the store-changing work:
   the pop3 process killed during QUIT's update (on_delete=hold moves every
   DELE'd message to the quarantine), doveadm pop3-policy sweep killed
   half-way (max_age with on_delete=hold) and doveadm pop3-policy restore
   killed half-way. Each kill lands at a stage of the move seen on disk
   (the move journal written, the copies linked into tmp/, committed, the
   originals unlinked), not after a fixed delay, so it lands half-way on a
   fast and on a loaded machine alike.

   Checked right after each kill: every message is in INBOX or in the
   quarantine (never lost from both), never twice in INBOX; a session
   that ends without QUIT removes nothing (RFC 1939). After the next run
   that completes (a session with QUIT, a sweep, a restore): every
   message exactly once, the interrupted move repaired from its journal
   (src/lib/pop3-policy-retention-move.c). At the end: all moved as the
   policy said. Also: a damaged journal stops the user's retention runs
   with an error naming it, and nothing is removed. Runs on the default
   store (PP_STORE_BACKEND applies). */

#include "pp-harness.h"

#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>

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

/* Writes n messages straight into the user's maildir (doveadm save of
   hundreds would take long): Message-ID crash-<i>@example.com. */
static void write_maildir_messages_named(PpInstance *inst, const char *user,
					 unsigned int n, gboolean sizes)
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
		char *path = g_build_filename(home, "Maildir", "new", name,
					      NULL);

		write_file(path, msg, 0600);
		g_assert_cmpint(chown(path, st.st_uid, st.st_gid), ==, 0);
		g_free(msg);
		g_free(path);
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

	doveadm_ok(inst, argv, NULL);
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
			dump_logs();
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
	dump_logs();
	g_error("no new login of %s in the log", user);
}

/* Waits until the process is gone (its retention run included). */
static void wait_gone(GPid pid)
{
	unsigned int i;

	for (i = 0; i < 3000 && kill(pid, 0) == 0; i++)
		g_usleep(10 * 1000);
	if (kill(pid, 0) == 0) {
		dump_logs();
		g_error("process %d still runs after 30 s", (int)pid);
	}
}

/* Logs in and returns the message count STAT gives. */
static unsigned int session_stat(PpInstance *inst, const char *user,
				 PpPop3 **pop3_r)
{
	char *reply;
	unsigned int count;

	assert_prefix(login_pass(inst, user, pop3_r), "+OK");
	reply = pp_pop3_cmd(*pop3_r, "STAT");
	if (sscanf(reply, "+OK %u ", &count) != 1) {
		dump_logs();
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

		assert_prefix(pp_pop3_cmd(pop3, cmd), "+OK");
		g_free(cmd);
	}
}

static gpointer quit_thread(gpointer data)
{
	return pp_pop3_cmd(data, "QUIT");
}

static void assert_log_has(PpInstance *inst, const char *text)
{
	if (!pp_instance_wait_log(inst, text, 5000)) {
		dump_logs();
		g_error("the log lacks '%s'", text);
	}
}

/* Where a kill lands. Fixed delays miss the move on a fast or a loaded
   machine, so the test watches the move on disk (maildir) and kills the
   process as soon as it reached the stage: the journal written, the
   copies hard-linked into the destination's tmp/, renamed into its
   new/ or cur/ (the copy's commit), the originals unlinked (the
   expunge's sync). */
enum stage_kind {
	STAGE_AT_ONCE,
	STAGE_JOURNAL,
	STAGE_DEST_TMP,
	STAGE_DEST_COPIES,
	STAGE_SRC_GONE,
};

struct stage {
	const char *name;
	enum stage_kind kind;
	/* how far, in thousandths of the messages moved (at least 1) */
	unsigned int per_mille;
};

static const struct stage stages[] = {
	{ "at once", STAGE_AT_ONCE, 0 },
	{ "journal written", STAGE_JOURNAL, 0 },
	{ "first link in tmp/", STAGE_DEST_TMP, 0 },
	{ "half linked in tmp/", STAGE_DEST_TMP, 500 },
	{ "first copy committed", STAGE_DEST_COPIES, 0 },
	{ "half the copies committed", STAGE_DEST_COPIES, 500 },
	{ "first original expunged", STAGE_SRC_GONE, 0 },
	{ "half the originals expunged", STAGE_SRC_GONE, 500 },
};

/* A move about to run, as the disk shows it before */
struct move_watch {
	char *journal, *src, *dest;
	guint64 journal_ino;
	unsigned int src_count, dest_count, dest_tmp_count, moving;
};

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

static guint64 file_ino(const char *path)
{
	GStatBuf st;

	return g_stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Before a move of `moving` messages from the user's maildir folder
   src_dir to dest_dir ("" for INBOX, else ".<name>"). */
static void move_watch_init_dirs(struct move_watch *w, PpInstance *inst,
				 const char *user, const char *src_dir,
				 const char *dest_dir, unsigned int moving)
{
	const char *home = pp_instance_home(inst, user);

	w->journal = g_build_filename(home, "pop3-policy.move", NULL);
	w->src = g_build_filename(home, "Maildir", src_dir, NULL);
	w->dest = g_build_filename(home, "Maildir", dest_dir, NULL);
	w->journal_ino = file_ino(w->journal);
	w->src_count = count_mails(w->src);
	w->dest_count = count_mails(w->dest);
	w->dest_tmp_count = count_dir(w->dest, "tmp");
	w->moving = moving;
}

/* Before a move between INBOX and the quarantine. */
static void move_watch_init(struct move_watch *w, PpInstance *inst,
			    const char *user, gboolean to_quarantine,
			    unsigned int moving)
{
	move_watch_init_dirs(w, inst, user,
			     to_quarantine ? "" : QUARANTINE_DIR,
			     to_quarantine ? QUARANTINE_DIR : "", moving);
}

static void move_watch_free(struct move_watch *w)
{
	g_free(w->journal);
	g_free(w->src);
	g_free(w->dest);
}

static gboolean stage_reached(const struct move_watch *w,
			      const struct stage *stage)
{
	unsigned int target = MAX(1, w->moving * stage->per_mille / 1000);
	guint64 ino;

	switch (stage->kind) {
	case STAGE_AT_ONCE:
		return TRUE;
	case STAGE_JOURNAL:
		/* a new one: a rename gives it a new inode */
		ino = file_ino(w->journal);
		return ino != 0 && ino != w->journal_ino;
	case STAGE_DEST_TMP:
		return count_dir(w->dest, "tmp") >= w->dest_tmp_count + target;
	case STAGE_DEST_COPIES:
		return count_mails(w->dest) >= w->dest_count + target;
	case STAGE_SRC_GONE:
		return count_mails(w->src) + target <= w->src_count;
	}
	g_assert_not_reached();
}

/* Kills pid -9 as soon as the move reached the stage. Returns TRUE if
   it did before the process ended by itself. */
static gboolean kill_at_stage(const struct move_watch *w,
			      const struct stage *stage, GPid pid)
{
	gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

	while (!stage_reached(w, stage)) {
		if (kill(pid, 0) < 0)
			return FALSE;
		if (g_get_monotonic_time() > end) {
			dump_logs();
			g_error("stage '%s' not reached in 30 s", stage->name);
		}
		g_usleep(100);
	}
	(void)kill(pid, SIGKILL);
	return TRUE;
}

struct doveadm_bg {
	PpInstance *inst;
	char *script;
};

static gpointer doveadm_bg_thread(gpointer data)
{
	struct doveadm_bg *bg = data;
	const char *const argv[] = { "sh", "-c", bg->script, NULL };
	char *out = NULL;

	g_assert_cmpint(pp_instance_run(bg->inst, argv, NULL, &out, NULL),
			==, 0);
	return g_strchomp(out);
}

/* Runs doveadm ARGS and kills it -9 at the stage of the move; returns
   its exit status as the shell saw it (g_free) and whether the stage was
   reached. */
static char *doveadm_killed(PpInstance *inst, const char *args,
			    const struct move_watch *w,
			    const struct stage *stage, gboolean *reached_r)
{
	char *pidfile = g_build_filename(pp_instance_dir(inst), "kill.pid",
					 NULL);
	struct doveadm_bg bg;
	GThread *thread;
	char *contents = NULL, *out;
	unsigned int i;

	(void)g_unlink(pidfile);
	bg.inst = inst;
	bg.script = g_strdup_printf(
		"doveadm -c '%s' %s >/dev/null 2>&1 & echo $! > '%s'; "
		"wait $!; echo $?", pp_instance_conf_path(inst), args,
		pidfile);
	thread = g_thread_new("doveadm", doveadm_bg_thread, &bg);
	for (i = 0; i < 10000; i++) {
		if (g_file_get_contents(pidfile, &contents, NULL, NULL) &&
		    strchr(contents, '\n') != NULL)
			break;
		g_free(contents);
		contents = NULL;
		g_usleep(1000);
	}
	g_assert_nonnull(contents);
	*reached_r = kill_at_stage(w, stage, (GPid)atoi(contents));
	out = g_thread_join(thread);
	g_free(contents);
	g_free(bg.script);
	g_free(pidfile);
	return out;
}

/* QUIT of a session that DELE'd every message, with on_delete=hold (the
   messages move to the quarantine), and the pop3 process killed -9 at
   each stage of the move. After each kill: nothing lost, nothing twice
   in INBOX; a session that ends without QUIT then sees and keeps every
   message that is in INBOX (RFC 1939); a session that QUITs without DELE
   repairs what the kill left (every message exactly once: the copies in
   the quarantine of messages still in INBOX are gone). */
static void test_kill_quit(void)
{
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	GString *summary = g_string_new(NULL);
	unsigned int i, in_inbox, count, midway = 0;
	struct move_watch w;
	struct seen seen;
	GPid mpid = 0;

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	opts.plugin_settings = "  pop3_policy = on_delete=hold hold=14d";
	opts.extra_conf = DOTLOCK_CONF;
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
	for (i = 0; i < G_N_ELEMENTS(stages) && in_inbox > 0; i++) {
		PpPop3 *pop3 = NULL;
		GThread *thread;
		gboolean reached;
		gint64 start;
		char *reply;

		/* QUIT killed during the update */
		count = session_stat(inst, "frank", &pop3);
		g_assert_cmpuint(count, ==, in_inbox);
		dele_all(pop3, count);
		mpid = new_login_mpid(inst, "frank", mpid);
		move_watch_init(&w, inst, "frank", TRUE, count);
		thread = g_thread_new("quit", quit_thread, pop3);
		reached = kill_at_stage(&w, &stages[i], mpid);
		move_watch_free(&w);
		reply = g_thread_join(thread);
		pp_pop3_close(pop3);
		wait_gone(mpid);
		seen = check_messages(inst, "frank", CRASH_MESSAGES, FALSE);
		if (seen.both > 0)
			midway++;
		g_string_append_printf(summary, "\n %s%s: QUIT '%s', killed: "
				       "%u in INBOX, %u also held;",
				       stages[i].name,
				       reached ? "" : " (not reached)",
				       reply, seen.inbox, seen.both);
		g_free(reply);

		if (seen.inbox == 0) {
			/* all held before the kill landed: nothing can be in
			   both */
			in_inbox = 0;
			(void)check_messages(inst, "frank", CRASH_MESSAGES,
					     TRUE);
			break;
		}
		/* a session without QUIT removes nothing, whatever it
		   DELE'd (its sync may finish expunges that the kill left
		   in INBOX's transaction log: those messages are held) */
		start = g_get_monotonic_time();
		count = session_stat(inst, "frank", &pop3);
		g_string_append_printf(summary, " STAT %u after %.1f s;",
			count, (g_get_monotonic_time() - start) / 1e6);
		g_assert_cmpuint(count, <=, seen.inbox);
		dele_all(pop3, count);
		mpid = new_login_mpid(inst, "frank", mpid);
		pp_pop3_close(pop3);
		wait_gone(mpid);
		seen = check_messages(inst, "frank", CRASH_MESSAGES, FALSE);
		g_assert_cmpuint(seen.inbox, ==, count);
		in_inbox = count;
		if (count == 0) {
			/* that sync finished the expunges: all held */
			(void)check_messages(inst, "frank", CRASH_MESSAGES,
					     TRUE);
			break;
		}

		/* a session that QUITs without DELE repairs */
		count = session_stat(inst, "frank", &pop3);
		g_assert_cmpuint(count, ==, in_inbox);
		assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
		mpid = new_login_mpid(inst, "frank", mpid);
		pp_pop3_close(pop3);
		wait_gone(mpid);
		seen = check_messages(inst, "frank", CRASH_MESSAGES, TRUE);
		g_assert_cmpuint(seen.inbox, ==, in_inbox);
		g_string_append_printf(summary, " after a QUIT: %u in INBOX",
				       seen.inbox);
	}
	g_test_message("QUIT killed at (stage: what was left)%s",
		       summary->str);
	g_string_free(summary, TRUE);
	/* the kills must have landed half-way for this to test anything */
	g_assert_cmpuint(midway, >, 0);
	assert_log_has(inst, "Interrupted hold repaired: ");

	/* the rest goes with a QUIT that completes */
	if (in_inbox > 0) {
		PpPop3 *pop3 = NULL;

		count = session_stat(inst, "frank", &pop3);
		g_assert_cmpuint(count, ==, in_inbox);
		dele_all(pop3, count);
		assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
		mpid = new_login_mpid(inst, "frank", mpid);
		pp_pop3_close(pop3);
		wait_gone(mpid);
	}
	seen = check_messages(inst, "frank", CRASH_MESSAGES, TRUE);
	g_assert_cmpuint(seen.inbox, ==, 0);
	assert_only_killed(inst, "pop3");
	current_inst = NULL;
	pp_instance_stop(inst);
}

/* doveadm pop3-policy sweep of messages past max_age (on_delete=hold)
   and doveadm pop3-policy restore --all, each killed -9 at each stage of
   its move. After each kill: nothing lost, nothing twice in INBOX. After
   the next run that completes (a restore after a killed sweep, a session
   with QUIT after a killed restore): every message exactly once. */
static void test_kill_sweep_restore(void)
{
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	GString *summary = g_string_new(NULL);
	const char *const sweep_argv[] = {
		"pop3-policy", "sweep", "-u", "grace", NULL
	};
	const char *const restore_argv[] = {
		"pop3-policy", "restore", "-u", "grace", "--all", NULL
	};
	unsigned int i, sweep_midway = 0, restore_midway = 0;
	struct move_watch w;
	struct seen seen;
	gboolean reached;
	GPid mpid = 0;

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	/* real aging: libfaketime would shift the files' stat() times too,
	   and maildir takes an uncached save date from them */
	opts.plugin_settings = "  pop3_policy = max_age=1s on_delete=hold";
	opts.extra_conf = DOTLOCK_CONF;
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	current_inst = inst;
	pp_instance_add_user(inst, "grace", "pass-word", NULL);
	write_maildir_messages(inst, "grace", CRASH_MESSAGES);
	g_usleep(1100 * 1000);
	create_quarantine(inst, "grace");

	for (i = 0; i < G_N_ELEMENTS(stages); i++) {
		char *end;

		/* every message in INBOX is due (max_age=1s) */
		g_usleep(1100 * 1000);
		move_watch_init(&w, inst, "grace", TRUE, CRASH_MESSAGES);
		end = doveadm_killed(inst, "pop3-policy sweep -u grace", &w,
				     &stages[i], &reached);
		move_watch_free(&w);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, FALSE);
		if (seen.both > 0)
			sweep_midway++;
		g_string_append_printf(summary, "\n sweep, %s%s: exit %s, "
				       "%u in INBOX, %u also held;",
				       stages[i].name,
				       reached ? "" : " (not reached)", end,
				       seen.inbox, seen.both);
		g_free(end);
		/* a restore repairs, then restores the rest */
		doveadm_ok(inst, restore_argv, NULL);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
		g_assert_cmpuint(seen.inbox, ==, CRASH_MESSAGES);
	}
	g_usleep(1100 * 1000);
	doveadm_ok(inst, sweep_argv, NULL);
	seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
	g_assert_cmpuint(seen.inbox, ==, 0);

	for (i = 0; i < G_N_ELEMENTS(stages); i++) {
		PpPop3 *pop3 = NULL;
		char *end;

		move_watch_init(&w, inst, "grace", FALSE, CRASH_MESSAGES);
		end = doveadm_killed(inst,
				     "pop3-policy restore -u grace --all",
				     &w, &stages[i], &reached);
		move_watch_free(&w);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, FALSE);
		if (seen.both > 0)
			restore_midway++;
		g_string_append_printf(summary, "\n restore, %s%s: exit %s, "
				       "%u in INBOX, %u also held;",
				       stages[i].name,
				       reached ? "" : " (not reached)", end,
				       seen.inbox, seen.both);
		g_free(end);
		/* a session with QUIT repairs (and holds again what is
		   due by then); with nothing restored, nothing can be in
		   both */
		if (seen.inbox > 0) {
			(void)session_stat(inst, "grace", &pop3);
			assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
			mpid = new_login_mpid(inst, "grace", mpid);
			pp_pop3_close(pop3);
			wait_gone(mpid);
		}
		seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
		g_string_append_printf(summary, " after a QUIT: %u in INBOX",
				       seen.inbox);
		/* and a sweep holds everything again */
		g_usleep(1100 * 1000);
		doveadm_ok(inst, sweep_argv, NULL);
		seen = check_messages(inst, "grace", CRASH_MESSAGES, TRUE);
		g_assert_cmpuint(seen.inbox, ==, 0);
	}
	g_test_message("killed at (stage: what was left)%s", summary->str);
	g_string_free(summary, TRUE);
	g_assert_cmpuint(sweep_midway, >, 0);
	g_assert_cmpuint(restore_midway, >, 0);
	assert_log_has(inst, "Interrupted restore repaired: ");
	assert_only_killed(inst, "pop3");
	current_inst = NULL;
	pp_instance_stop(inst);
}

/* Every crash-<i> message is in INBOX or in Archive, or in both. */
static void assert_none_lost(const char *inbox, const char *archive)
{
	GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal,
						g_free, NULL);
	unsigned int i;

	count_msgids(inbox, ids);
	count_msgids(archive, ids);
	for (i = 0; i < CRASH_MESSAGES; i++) {
		char *id = g_strdup_printf("crash-%u@example.com", i);

		g_assert_cmpuint(lookup_count(ids, id), >=, 1);
		g_free(id);
	}
	g_hash_table_unref(ids);
}

/* on_delete=move:Archive (a mailbox of the user's own), QUIT killed
   once half the copies are committed: a repair never removes anything
   from the user's mailbox, it names the messages left in both; the next
   DELE of them only expunges them from INBOX (their GUIDs are in Archive
   already: the files are named with their sizes, as Dovecot's LDA does,
   so maildir keeps the GUID as the copy's name). Up to five tries, each
   on a new instance, for a kill that lands between the copies and the
   first expunge; a try that missed must still have lost nothing. */
static void test_kill_move_target(void)
{
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	const char *const create_argv[] = {
		"mailbox", "create", "-u", "ivan", "Archive", NULL
	};
	GHashTable *in_inbox, *archived;
	struct move_watch w;
	PpPop3 *pop3 = NULL;
	GThread *thread;
	GPid mpid = 0;
	char *inbox, *archive;
	unsigned int i, count, both = 0, inbox_n, archive_n, attempt;

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	opts.plugin_settings = "  pop3_policy = on_delete=move:Archive";
	opts.extra_conf = DOTLOCK_CONF;
	for (attempt = 1;; attempt++) {
		inst = pp_instance_start(&opts, &error);
		if (inst == NULL)
			g_error("%s", error->message);
		current_inst = inst;
		pp_instance_add_user(inst, "ivan", "pass-word", NULL);
		write_maildir_messages_named(inst, "ivan", CRASH_MESSAGES,
					     TRUE);
		g_usleep(1100 * 1000);
		doveadm_ok(inst, create_argv, NULL);
		inbox = g_build_filename(pp_instance_home(inst, "ivan"),
					 "Maildir", NULL);
		archive = g_build_filename(inbox, ".Archive", NULL);

		count = session_stat(inst, "ivan", &pop3);
		g_assert_cmpuint(count, ==, CRASH_MESSAGES);
		dele_all(pop3, count);
		mpid = new_login_mpid(inst, "ivan", mpid);
		move_watch_init_dirs(&w, inst, "ivan", "", ".Archive", count);
		thread = g_thread_new("quit", quit_thread, pop3);
		g_assert_true(kill_at_stage(&w, &stages[5], mpid));
		move_watch_free(&w);
		g_free(g_thread_join(thread));
		pp_pop3_close(pop3);
		wait_gone(mpid);
		/* What follows needs the kill between the first copy and
		   the first expunge. On a loaded machine the watcher may see
		   the stage late, when the move is done or expunging: what
		   is on disk then is right too (each message once), but it
		   is not this case. Start over. */
		if (count_mails(inbox) == CRASH_MESSAGES &&
		    count_mails(archive) > 0)
			break;
		g_test_message("attempt %u: the kill landed after the "
			       "copies (%u in INBOX, %u in Archive)", attempt,
			       count_mails(inbox), count_mails(archive));
		assert_none_lost(inbox, archive);
		if (attempt == 5)
			g_error("the kill never landed during the copies");
		g_free(archive);
		g_free(inbox);
		current_inst = NULL;
		pp_instance_stop(inst);
	}

	/* a QUIT without DELE: the repair keeps both */
	(void)session_stat(inst, "ivan", &pop3);
	assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
	mpid = new_login_mpid(inst, "ivan", mpid);
	pp_pop3_close(pop3);
	wait_gone(mpid);
	assert_log_has(inst, "Interrupted move: ");
	assert_log_has(inst, "kept in both, Archive is the user's mailbox");
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
	assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
	mpid = new_login_mpid(inst, "ivan", mpid);
	pp_pop3_close(pop3);
	wait_gone(mpid);
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
	current_inst = NULL;
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
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	char *journal, *err = NULL;
	struct seen seen;
	GStatBuf st;
	GPid mpid = 0;
	unsigned int i;

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	opts.plugin_settings = "  pop3_policy = on_delete=hold hold=14d";
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	current_inst = inst;
	pp_instance_add_user(inst, "hank", "pass-word", NULL);
	write_maildir_messages(inst, "hank", 3);
	g_usleep(1100 * 1000);
	journal = g_build_filename(pp_instance_home(inst, "hank"),
				   "pop3-policy.move", NULL);
	g_assert_cmpint(g_stat(pp_instance_home(inst, "hank"), &st), ==, 0);

	for (i = 0; i < G_N_ELEMENTS(damages); i++) {
		PpPop3 *pop3 = NULL;
		char *expected;

		write_file(journal, damages[i], 0600);
		g_assert_cmpint(chown(journal, st.st_uid, st.st_gid), ==, 0);
		/* a session's DELE is kept */
		g_assert_cmpuint(session_stat(inst, "hank", &pop3), ==, 3);
		dele_all(pop3, 1);
		assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
		mpid = new_login_mpid(inst, "hank", mpid);
		pp_pop3_close(pop3);
		wait_gone(mpid);
		/* "<path> line N: ..." or "<path>: truncated ..." */
		expected = g_strdup_printf(
			"DELE'd messages were kept: repairing an interrupted "
			"move: %s%s%s", journal,
			strncmp(errors[i], "line ", 5) == 0 ? " " : ": ",
			errors[i]);
		assert_log_has(inst, expected);
		g_free(expected);
		/* a sweep and a restore fail, naming it */
		g_assert_cmpint(doveadm(inst, sweep_argv, NULL, &err), !=, 0);
		g_assert_nonnull(strstr(err, journal));
		g_assert_nonnull(strstr(err, errors[i]));
		g_free(err);
		g_assert_cmpint(doveadm(inst, restore_argv, NULL, &err), !=,
				0);
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
		assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
		mpid = new_login_mpid(inst, "hank", mpid);
		pp_pop3_close(pop3);
		wait_gone(mpid);
	}
	seen = check_messages(inst, "hank", 3, TRUE);
	g_assert_cmpuint(seen.inbox, ==, 2);
	g_assert_false(g_file_test(journal, G_FILE_TEST_EXISTS));
	g_free(journal);
	assert_only_killed(inst, "pop3");
	current_inst = NULL;
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
