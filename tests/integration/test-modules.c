/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The package's modules: the three of them load in a real
   Dovecot, their exported symbols are named after their files, a POP3
   session with the plugin loaded and no policy answers exactly as vanilla
   Dovecot does, and the harness leaves nothing behind, also when a test
   aborts. */

#include "pp-harness.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const test_messages[] = {
	"From: Sender One <one@example.org>\n"
	"To: alice@example.org\n"
	"Subject: first\n"
	"Message-ID: <first@example.org>\n"
	"\n"
	"Line one of the first message.\n"
	"Line two.\n"
	"Line three.\n",

	"From: Sender Two <two@example.org>\n"
	"To: alice@example.org\n"
	"Subject: second, with a folded\n"
	" header and dot-stuffing\n"
	"Message-ID: <second@example.org>\n"
	"\n"
	".a line starting with a dot\n"
	"..two dots\n"
	"\n"
	"after an empty line\n",

	"From: Sender Three <three@example.org>\n"
	"To: alice@example.org\n"
	"Subject: third\n"
	"\n"
	"short\n",
};

/* Returns NULL after failing the test case when the instance does not
   start (the caller returns), so that the next case still runs. */
static PpInstance *start_or_fail(const PpInstanceOptions *opts)
{
	GError *error = NULL;
	PpInstance *inst = pp_instance_start(opts, &error);

	if (inst == NULL) {
		g_test_fail_printf("%s", error->message);
		g_error_free(error);
	}
	return inst;
}

static PpPop3 *connect_or_fail(PpInstance *inst)
{
	GError *error = NULL;
	PpPop3 *pop3 = pp_pop3_connect(pp_instance_port(inst), &error);

	if (pop3 == NULL)
		g_error("connect: %s", error->message);
	return pop3;
}

static void assert_log_clean(PpInstance *inst)
{
	char *log = pp_instance_read_log(inst);

	if (strstr(log, "Fatal:") != NULL || strstr(log, "Panic:") != NULL ||
	    strstr(log, "killed with signal") != NULL)
		g_test_fail_printf("the instance log has a fatal error:\n%s",
				   log);
	g_free(log);
}

static gboolean log_contains(PpInstance *inst, const char *needle)
{
	char *log = pp_instance_read_log(inst);
	gboolean ret = strstr(log, needle) != NULL;

	g_free(log);
	return ret;
}

/* The commands `doveadm help` lists that start with pop3-, each with its
   subcommands ("pop3-policy restore|set|show|sweep|unset"). */
static GPtrArray *doveadm_pop3_commands(PpInstance *inst)
{
	const char *const argv[] = { "help", NULL };
	GPtrArray *cmds = g_ptr_array_new_with_free_func(g_free);
	char *out = NULL, *err = NULL, **lines;
	unsigned int i;

	/* doveadm help prints the usage on stderr and exits 64 */
	(void)pp_instance_doveadm(inst, argv, NULL, &out, &err);
	lines = g_strsplit(err, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		/* "  pop3-policy  restore|set|show|sweep|unset" */
		char *line = g_strstrip(lines[i]);
		size_t len = strcspn(line, " \t");

		if (g_str_has_prefix(line, "pop3-")) {
			g_ptr_array_add(cmds, g_strdup_printf("%.*s %s",
				(int)len, line, g_strchug(line + len)));
		}
	}
	g_strfreev(lines);
	g_free(out);
	g_free(err);
	return cmds;
}

static char *apop_digest(const char *greeting, const char *secret)
{
	const char *start = strchr(greeting, '<');
	const char *end = strrchr(greeting, '>');
	char *input, *digest;

	g_assert_nonnull(start);
	g_assert_nonnull(end);
	input = g_strdup_printf("%.*s%s", (int)(end - start + 1), start,
				secret);
	digest = g_compute_checksum_for_string(G_CHECKSUM_MD5, input, -1);
	g_free(input);
	return digest;
}

static const PpInstanceOptions package_apop_opts = {
	.with_package = TRUE,
	.store = PP_STORE_SQLITE,
	.debug = TRUE,
	/* APOP goes only to the pop3_policy passdb, logins with a password
	   only to passwd-file */
	.passdb_conf =
		"passdb {\n"
		"  driver = pop3_policy\n"
		"  args = dict=%{store_uri}\n"
		"  mechanisms = apop\n"
		"}\n"
		"passdb {\n"
		"  driver = passwd-file\n"
		"  args = scheme=PLAIN username_format=%u %{passwd_file}\n"
		"  mechanisms = plain login\n"
		"}\n",
};

/* (a) the mail plugin initialises in a pop3 session. */
static void test_mail_plugin_loads(void)
{
	PpInstanceOptions opts = {
		.with_package = TRUE, .store = PP_STORE_SQLITE, .debug = TRUE,
	};
	PpInstance *inst = start_or_fail(&opts);
	PpPop3 *pop3;
	char *reply, *expected;

	if (inst == NULL)
		return;
	pp_instance_add_user(inst, "alice", "secret", NULL);
	pop3 = connect_or_fail(inst);
	g_assert_true(pp_pop3_login(pop3, "alice", "secret"));
	reply = pp_pop3_cmd(pop3, "QUIT");
	g_assert_cmpstr(reply, ==, "+OK Logging out.");
	g_free(reply);
	pp_pop3_close(pop3);
	g_assert_true(log_contains(inst, "Module loaded: /usr/lib/dovecot/"
				   "modules/lib20_pop3_policy_plugin.so"));
	expected = g_strdup_printf("pop3-policy: Plugin initialised with a "
				   "store %s", pp_instance_store_uri(inst));
	g_assert_true(log_contains(inst, expected));
	g_free(expected);
	assert_log_clean(inst);
	pp_instance_stop(inst);
}

/* (a) auth accepts passdb { driver = pop3_policy } and answers APOP
   through it without dying. */
static void test_auth_module_loads(void)
{
	PpInstance *inst = start_or_fail(&package_apop_opts);
	PpPop3 *pop3;
	char *reply, *digest, *cmd;

	if (inst == NULL)
		return;
	pp_instance_add_user(inst, "alice", "secret", NULL);
	/* alice has no APOP secret in the store: a refusal, not a dead auth
	   process, and not the passwd-file password */
	pop3 = connect_or_fail(inst);
	g_assert_nonnull(strchr(pp_pop3_greeting(pop3), '<'));
	digest = apop_digest(pp_pop3_greeting(pop3), "secret");
	cmd = g_strdup_printf("APOP alice %s", digest);
	reply = pp_pop3_cmd(pop3, cmd);
	if (!g_str_has_prefix(reply, "-ERR")) {
		char *log = pp_instance_read_log(inst);

		g_test_fail_printf("APOP without a secret in the store "
				   "answered \"%s\"; log:\n%s", reply, log);
		g_free(log);
	}
	g_free(reply);
	g_free(cmd);
	g_free(digest);
	pp_pop3_close(pop3);

	/* auth is still alive, and PLAIN still goes to passwd-file */
	pop3 = connect_or_fail(inst);
	g_assert_true(pp_pop3_login(pop3, "alice", "secret"));
	pp_pop3_close(pop3);
	g_assert_true(log_contains(inst, "Module loaded: /usr/lib/dovecot/"
				   "modules/auth/libauthdb_pop3_policy.so"));
	g_assert_true(log_contains(inst, "pop3_policy(alice,127.0.0.1,"));
	assert_log_clean(inst);
	pp_instance_stop(inst);
}

/* (a) doveadm loads the plugin, every pop3-* command it lists comes from
   it (vanilla doveadm has none), and the pop3-policy family is there. */
static void test_doveadm_commands(void)
{
	PpInstanceOptions vanilla_opts = { .store = PP_STORE_NONE };
	const char *const debug_argv[] = { "-D", "help", NULL };
	PpInstance *inst, *vanilla;
	GPtrArray *cmds, *vanilla_cmds;
	gboolean policy_cmd = FALSE;
	char *out = NULL, *err = NULL;
	unsigned int i;

	vanilla = start_or_fail(&vanilla_opts);
	if (vanilla == NULL)
		return;
	vanilla_cmds = doveadm_pop3_commands(vanilla);
	g_assert_cmpuint(vanilla_cmds->len, ==, 0);
	pp_instance_stop(vanilla);
	g_ptr_array_unref(vanilla_cmds);

	inst = start_or_fail(&package_apop_opts);
	if (inst == NULL)
		return;
	(void)pp_instance_doveadm(inst, debug_argv, NULL, &out, &err);
	if (strstr(err, "Module loaded: /usr/lib/dovecot/modules/doveadm/"
		   "lib20_doveadm_pop3_policy_plugin.so") == NULL)
		g_test_fail_printf("doveadm did not load the plugin:\n%s", err);
	g_free(out);
	g_free(err);

	cmds = doveadm_pop3_commands(inst);
	for (i = 0; i < cmds->len; i++) {
		const char *name = g_ptr_array_index(cmds, i);

		g_test_message("doveadm lists: %s", name);
		g_assert_true(g_str_has_prefix(name, "pop3-policy ") ||
			      g_str_has_prefix(name, "pop3-apop ") ||
			      g_str_has_prefix(name, "pop3-uidl "));
		if (g_str_has_prefix(name, "pop3-policy "))
			policy_cmd = TRUE;
	}
	if (!policy_cmd)
		g_test_fail_printf("doveadm help lists no pop3-policy command");
	g_ptr_array_unref(cmds);
	pp_instance_stop(inst);
}

/* Derives the symbol prefix Dovecot's loader uses from a module's file
   name: lib20_pop3_policy_plugin.so -> "pop3_policy_plugin_",
   libauthdb_pop3_policy.so -> "authdb_pop3_policy_". */
static char *module_symbol_prefix(const char *path)
{
	char *base = g_path_get_basename(path);
	const char *p = base;
	char *prefix;

	g_assert_true(g_str_has_prefix(p, "lib"));
	g_assert_true(g_str_has_suffix(p, ".so"));
	p += 3;
	if (g_ascii_isdigit(p[0])) {
		while (g_ascii_isdigit(*p))
			p++;
		g_assert_true(*p == '_');
		p++;
	}
	prefix = g_strdup_printf("%.*s_", (int)(strlen(p) - 3), p);
	g_free(base);
	return prefix;
}

/* Returns the exported symbols of path that are not named after its file
   (g_free), and sets *missing_r to what init/deinit/version lacks. */
static char *module_symbol_problems(const char *path, char **missing_r)
{
	const char *const argv[] = { "nm", "-D", "--defined-only", path,
				     NULL };
	char *prefix = module_symbol_prefix(path);
	char *out = NULL, *err = NULL, **lines;
	GString *bad = g_string_new(NULL), *missing = g_string_new(NULL);
	gboolean have_init = FALSE, have_deinit = FALSE, have_version = FALSE;
	gint status;
	GError *error = NULL;
	unsigned int i;

	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
			  NULL, NULL, &out, &err, &status, &error))
		g_error("nm: %s", error->message);
	if (!g_spawn_check_wait_status(status, &error))
		g_error("nm -D %s: %s: %s", path, error->message, err);
	lines = g_strsplit(out, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		/* "0000000000001234 T name" */
		char **f = g_strsplit(g_strstrip(lines[i]), " ", -1);
		guint n = g_strv_length(f);
		const char *sym;

		if (n < 2) {
			g_strfreev(f);
			continue;
		}
		sym = f[n - 1];
		if (!g_str_has_prefix(sym, prefix))
			g_string_append_printf(bad, " %s", sym);
		else if (strcmp(sym + strlen(prefix), "init") == 0)
			have_init = TRUE;
		else if (strcmp(sym + strlen(prefix), "deinit") == 0)
			have_deinit = TRUE;
		else if (strcmp(sym + strlen(prefix), "version") == 0)
			have_version = TRUE;
		g_strfreev(f);
	}
	if (!have_init)
		g_string_append_printf(missing, " %sinit", prefix);
	if (!have_deinit)
		g_string_append_printf(missing, " %sdeinit", prefix);
	if (!have_version)
		g_string_append_printf(missing, " %sversion", prefix);
	*missing_r = g_string_free(missing, FALSE);
	g_strfreev(lines);
	g_free(out);
	g_free(err);
	g_free(prefix);
	return g_string_free(bad, FALSE);
}

/* (b) every exported symbol of every built module is named after its file,
   and init, deinit and version are there. */
static void test_module_symbols(void)
{
	static const char *const expected[] = {
		"src/mail/.libs/lib20_pop3_policy_plugin.so",
		"src/auth/.libs/libauthdb_pop3_policy.so",
		"src/doveadm/.libs/lib20_doveadm_pop3_policy_plugin.so",
		"src/capa/.libs/lib21_pop3_policy_capa_plugin.so",
		"src/capa/.libs/lib20_pop3_policy_login_plugin.so",
	};
	const char *builddir = g_getenv("PP_TOP_BUILDDIR");
	char *src_dir, *prefix, *bad, *missing;
	GDir *dir;
	const char *sub;
	unsigned int i, checked = 0;

	g_assert_nonnull(builddir);
	prefix = module_symbol_prefix("/x/lib20_doveadm_pop3_policy_plugin.so");
	g_assert_cmpstr(prefix, ==, "doveadm_pop3_policy_plugin_");
	g_free(prefix);
	prefix = module_symbol_prefix("/x/lib21_pop3_policy_capa_plugin.so");
	g_assert_cmpstr(prefix, ==, "pop3_policy_capa_plugin_");
	g_free(prefix);
	prefix = module_symbol_prefix("/x/libauthdb_pop3_policy.so");
	g_assert_cmpstr(prefix, ==, "authdb_pop3_policy_");
	g_free(prefix);

	/* the check itself finds a module that is not named that way:
	   Dovecot's quota plugin exports quota_* beyond quota_plugin_* */
	bad = module_symbol_problems("/usr/lib/dovecot/modules/"
				     "lib10_quota_plugin.so", &missing);
	g_assert_cmpstr(bad, !=, "");
	g_assert_cmpstr(missing, ==, "");
	g_free(bad);
	g_free(missing);

	for (i = 0; i < G_N_ELEMENTS(expected); i++) {
		char *path = g_build_filename(builddir, expected[i], NULL);

		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			g_test_fail_printf("module %s is not built", path);
		g_free(path);
	}

	src_dir = g_build_filename(builddir, "src", NULL);
	dir = g_dir_open(src_dir, 0, NULL);
	g_assert_nonnull(dir);
	while ((sub = g_dir_read_name(dir)) != NULL) {
		char *libs = g_build_filename(src_dir, sub, ".libs", NULL);
		GDir *ldir = g_dir_open(libs, 0, NULL);
		const char *name;

		while (ldir != NULL && (name = g_dir_read_name(ldir)) != NULL) {
			char *path;

			if (!g_str_has_suffix(name, ".so"))
				continue;
			path = g_build_filename(libs, name, NULL);
			if (g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
				g_free(path);
				continue;
			}
			bad = module_symbol_problems(path, &missing);
			g_test_message("%s: misnamed [%s] missing [%s]",
				       name, bad, missing);
			g_assert_cmpstr(bad, ==, "");
			g_assert_cmpstr(missing, ==, "");
			g_free(bad);
			g_free(missing);
			g_free(path);
			checked++;
		}
		if (ldir != NULL)
			g_dir_close(ldir);
		g_free(libs);
	}
	g_dir_close(dir);
	g_free(src_dir);
	g_assert_cmpuint(checked, >=, G_N_ELEMENTS(expected));
}

/* The same users and mail in an instance, with the same UIDVALIDITY so
   that Dovecot's default UIDLs (%08Xu%08Xv) are comparable. */
static void populate(PpInstance *inst)
{
	const char *const uidv_argv[] = {
		"mailbox", "update", "-u", "alice", "--uid-validity",
		"1700000000", "INBOX", NULL
	};
	const char *const create_argv[] = {
		"mailbox", "status", "-u", "alice", "messages", "INBOX", NULL
	};
	char *out = NULL, *err = NULL;
	unsigned int i;

	pp_instance_add_user(inst, "alice", "secret", NULL);
	/* opening INBOX creates it; then pin its UIDVALIDITY */
	g_assert_cmpint(pp_instance_doveadm(inst, create_argv, NULL, &out,
					    &err), ==, 0);
	g_free(out);
	g_free(err);
	if (pp_instance_doveadm(inst, uidv_argv, NULL, &out, &err) != 0)
		g_error("doveadm mailbox update: %s%s", out, err);
	g_free(out);
	g_free(err);
	for (i = 0; i < G_N_ELEMENTS(test_messages); i++)
		pp_instance_deliver(inst, "alice", test_messages[i]);
}

static void transcript_add(GPtrArray *t, PpPop3 *pop3, const char *cmd,
			   gboolean multi)
{
	char *reply = multi ? pp_pop3_cmd_multi(pop3, cmd) :
		pp_pop3_cmd(pop3, cmd);

	g_ptr_array_add(t, g_strdup_printf("C: %s\nS: %s", cmd, reply));
	g_free(reply);
}

/* Runs the whole session script against an instance and returns the
   transcript, one entry per command. */
static GPtrArray *run_script(PpInstance *inst)
{
	static const struct {
		const char *cmd;
		gboolean multi;
	} session1[] = {
		{ "USER alice", FALSE }, { "PASS secret", FALSE },
		{ "STAT", FALSE }, { "LIST", TRUE }, { "LIST 2", FALSE },
		{ "UIDL", TRUE }, { "UIDL 3", FALSE }, { "TOP 1 0", TRUE },
		{ "TOP 2 2", TRUE }, { "TOP 3 100", TRUE }, { "RETR 1", TRUE },
		{ "RETR 2", TRUE }, { "RETR 9", TRUE }, { "DELE 2", FALSE },
		{ "DELE 2", FALSE }, { "STAT", FALSE }, { "LIST", TRUE },
		{ "UIDL", TRUE }, { "RETR 2", TRUE }, { "RSET", FALSE },
		{ "STAT", FALSE }, { "UIDL", TRUE }, { "DELE 1", FALSE },
		{ "DELE 3", FALSE }, { "NOOP", FALSE }, { "QUIT", FALSE },
	}, session2[] = {
		{ "USER alice", FALSE }, { "PASS secret", FALSE },
		{ "STAT", FALSE }, { "LIST", TRUE }, { "UIDL", TRUE },
		{ "RETR 1", TRUE }, { "RETR 2", TRUE }, { "QUIT", FALSE },
	};
	GPtrArray *t = g_ptr_array_new_with_free_func(g_free);
	PpPop3 *pop3;
	unsigned int i;

	pop3 = connect_or_fail(inst);
	for (i = 0; i < G_N_ELEMENTS(session1); i++)
		transcript_add(t, pop3, session1[i].cmd, session1[i].multi);
	pp_pop3_close(pop3);

	pop3 = connect_or_fail(inst);
	for (i = 0; i < G_N_ELEMENTS(session2); i++)
		transcript_add(t, pop3, session2[i].cmd, session2[i].multi);
	pp_pop3_close(pop3);
	return t;
}

/* (c) with the plugin loaded and no policy, a POP3 session answers exactly
   as vanilla Dovecot does. */
static void test_same_as_vanilla(void)
{
	PpInstanceOptions vanilla_opts = {
		.with_package = FALSE, .store = PP_STORE_NONE, .debug = TRUE,
	};
	PpInstanceOptions package_opts = {
		.with_package = TRUE, .store = PP_STORE_SQLITE, .debug = TRUE,
	};
	PpInstance *vanilla, *package;
	GPtrArray *tv, *tp;
	char *expected;
	unsigned int i;

	vanilla = start_or_fail(&vanilla_opts);
	if (vanilla == NULL)
		return;
	package = start_or_fail(&package_opts);
	if (package == NULL) {
		pp_instance_stop(vanilla);
		return;
	}
	populate(vanilla);
	populate(package);

	tv = run_script(vanilla);
	tp = run_script(package);

	/* the comparison is only worth something if the plugin ran */
	expected = g_strdup_printf("pop3-policy: Plugin initialised with a "
				   "store %s", pp_instance_store_uri(package));
	g_assert_true(log_contains(package, expected));
	g_free(expected);
	g_assert_false(log_contains(vanilla, "pop3-policy"));

	g_assert_cmpuint(tv->len, ==, tp->len);
	for (i = 0; i < tv->len; i++) {
		g_test_message("%s", (const char *)g_ptr_array_index(tv, i));
		g_assert_cmpstr(g_ptr_array_index(tp, i), ==,
				g_ptr_array_index(tv, i));
	}
	/* and the script did what it says: three messages, then only the
	   second one left after DELE 1, DELE 3 and QUIT */
	g_assert_cmpstr(g_ptr_array_index(tv, 2), ==, "C: STAT\nS: +OK 3 "
			"471");
	g_assert_true(g_str_has_prefix(g_ptr_array_index(tv, 28),
				       "C: STAT\nS: +OK 1 "));
	g_assert_nonnull(strstr(g_ptr_array_index(tv, 31),
				"Subject: second"));
	g_assert_true(g_str_has_prefix(g_ptr_array_index(tv, 32),
				       "C: RETR 2\nS: -ERR"));

	assert_log_clean(vanilla);
	assert_log_clean(package);
	g_ptr_array_unref(tv);
	g_ptr_array_unref(tp);
	pp_instance_stop(vanilla);
	pp_instance_stop(package);
}


/* The instance's process pid is still there (the same pid may be reused by
   another process, which will not carry the instance's name). */
static gboolean pid_alive(GPid pid, const char *inst_name)
{
	return kill(pid, 0) == 0 && pp_process_cmdline_has(pid, inst_name);
}

/* Processes of an instance: in its mount namespace and carrying its name
   (the namespace's number may be reused by another instance). */
static guint instance_processes(const char *ns, const char *inst_name)
{
	GDir *dir = g_dir_open("/proc", 0, NULL);
	const char *pid;
	guint count = 0;

	g_assert_nonnull(dir);
	while ((pid = g_dir_read_name(dir)) != NULL) {
		char *link, *target;

		if (!g_ascii_isdigit(pid[0]))
			continue;
		link = g_strdup_printf("/proc/%s/ns/mnt", pid);
		target = g_file_read_link(link, NULL);
		if (target != NULL && strcmp(target, ns) == 0 &&
		    pp_process_cmdline_has((GPid)atoi(pid), inst_name))
			count++;
		g_free(target);
		g_free(link);
	}
	g_dir_close(dir);
	return count;
}

static gboolean wait_gone(GPid pid, const char *ns, const char *inst_name,
			  guint seconds)
{
	gint64 end = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < end) {
		if (!pid_alive(pid, inst_name) &&
		    instance_processes(ns, inst_name) == 0)
			return TRUE;
		g_usleep(50 * 1000);
	}
	return FALSE;
}

/* (d) pp_instance_stop() stops every process and removes the directory. */
static void test_stop_cleans_up(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst = start_or_fail(&opts);
	GPid pid;
	char *ns, *dir, *name;
	PpPop3 *pop3;

	if (inst == NULL)
		return;
	pid = pp_instance_pid(inst);
	ns = g_strdup(pp_instance_mount_ns(inst));
	dir = g_strdup(pp_instance_dir(inst));
	name = g_path_get_basename(dir);
	g_assert_nonnull(ns);
	g_assert_true(pid_alive(pid, name));
	g_assert_cmpuint(instance_processes(ns, name), >, 1);
	/* a logged-in session, so that a pop3 process exists too */
	pp_instance_add_user(inst, "alice", "secret", NULL);
	pop3 = connect_or_fail(inst);
	g_assert_true(pp_pop3_login(pop3, "alice", "secret"));

	pp_instance_stop(inst);
	g_assert_false(pid_alive(pid, name));
	g_assert_cmpuint(instance_processes(ns, name), ==, 0);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	pp_pop3_close(pop3);
	g_free(name);
	g_free(ns);
	g_free(dir);
}

/* (d) a test that aborts leaves no Dovecot behind: the child starts an
   instance, writes its master pid, mount namespace and name, and
   aborts. */
static void test_abort_cleans_up(void)
{
	const char *pidfile = g_getenv("PP_FOUNDATION_PIDFILE");
	char *contents = NULL, **fields;
	GPid pid;

	if (g_test_subprocess()) {
		PpInstanceOptions opts = { .with_package = TRUE };
		PpInstance *inst = start_or_fail(&opts);
		char *line, *name;

		if (inst == NULL)
			return;
		name = g_path_get_basename(pp_instance_dir(inst));
		line = g_strdup_printf("%d %s %s\n",
			(int)pp_instance_pid(inst),
			pp_instance_mount_ns(inst), name);

		g_assert_nonnull(pidfile);
		g_assert_true(g_file_set_contents(pidfile, line, -1, NULL));
		abort();
	}

	g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC,
			       G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	if (!g_file_get_contents(pidfile, &contents, NULL, NULL)) {
		g_test_fail_printf("the aborting child wrote no %s", pidfile);
		return;
	}
	fields = g_strsplit(g_strstrip(contents), " ", 3);
	if (g_strv_length(fields) != 3) {
		g_test_fail_printf("bad pid file: %s", contents);
		return;
	}
	pid = (GPid)atoi(fields[0]);
	g_assert_cmpint(pid, >, 1);
	g_assert_true(g_str_has_prefix(fields[1], "mnt:["));
	g_assert_true(g_str_has_prefix(fields[2], "pp-inst-"));
	if (!wait_gone(pid, fields[1], fields[2], 10)) {
		g_test_fail_printf("master %d or another process of "
				   "instance %s is still running 10 s after "
				   "the test aborted", (int)pid, fields[2]);
	}
	g_strfreev(fields);
	g_free(contents);
}

int main(int argc, char *argv[])
{
	char *pidfile;
	int ret;

	g_test_init(&argc, &argv, NULL);
	/* a failed check fails its case and the next case still runs */
	g_test_set_nonfatal_assertions();
	if (geteuid() != 0)
		g_error("the integration tests need root");

	pidfile = g_build_filename(g_getenv("PP_TEST_TMPDIR") != NULL ?
				   g_getenv("PP_TEST_TMPDIR") :
				   g_get_tmp_dir(),
				   "modules-abort.pid", NULL);
	if (!g_test_subprocess()) {
		g_unlink(pidfile);
		g_setenv("PP_FOUNDATION_PIDFILE", pidfile, TRUE);
	}

	g_test_add_func("/modules/module-symbols", test_module_symbols);
	g_test_add_func("/modules/mail-plugin-loads",
			test_mail_plugin_loads);
	g_test_add_func("/modules/auth-module-loads",
			test_auth_module_loads);
	g_test_add_func("/modules/doveadm-commands",
			test_doveadm_commands);
	g_test_add_func("/modules/same-as-vanilla", test_same_as_vanilla);
	g_test_add_func("/modules/stop-cleans-up", test_stop_cleans_up);
	g_test_add_func("/modules/abort-cleans-up", test_abort_cleans_up);
	ret = g_test_run();
	g_free(pidfile);
	return ret;
}
