/* pp-bench: vanilla Dovecot against Dovecot with the package, in one run.

   The instances run side by side for the whole run (started through the
   integration harness, tests/harness/pp-harness.h). Each row of the table
   compares two of them in rounds; a round measures instance A and then B,
   the next round B and then A, so that a slow drift of the (shared, noisy)
   machine hits both alike. A row's figure per instance is the median over
   the rounds; its ratio is the median of the per-round ratios B/A, each
   taken between two measurements made seconds apart. Besides its figure,
   every measurement records the instance's CPU per session (bench-cpu.h),
   which other load on the machine disturbs far less than a rate; an A/A
   row (two vanilla instances) shows the run's noise floor.

   To add a row: add the instance it needs to instance_specs[] if it is not
   there, and a line to rows[]. */

#include "pp-harness.h"
#include "bench-pop3.h"
#include "bench-maildir.h"
#include "bench-cpu.h"
#include "bench-conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* Users for the session rows: one per client slot, because Dovecot allows
   only mail_max_userip_connections (10) sessions per user and IP. */
#define BENCH_USERS 32
#define BENCH_SMALL_MESSAGES 10
#define BENCH_SMALL_BODY 4000
#define BENCH_BIG_BODY 600
#define BENCH_BIG_USER "bigbox"
#define BENCH_BIG_PASSWORD "bigbox-pass"

enum bench_inst {
	INST_VANILLA = 0,
	INST_PACKAGE,
	/* calibration: a second vanilla, and the package without a store */
	INST_VANILLA2,
	INST_PACKAGE_NOSTORE,
	/* the package with a UIDL map on the big mailbox */
	INST_UIDL_MAP,
	INST_UIDL_PERSIST,
	/* control: vanilla with one of Dovecot's own mail plugins */
	INST_VANILLA_PLUGIN,
	/* the package without its auth chain: the session reads its
	   records from the store itself */
	INST_PACKAGE_NO_CHAIN,
	/* the package as INST_PACKAGE, with a retention policy */
	INST_PACKAGE_POLICY,
	/* control: vanilla without the stock protocol sections */
	INST_VANILLA_BARE,
	/* INST_PACKAGE_POLICY with the CAPA lines (pop3_policy_capa and
	   both CAPA modules) */
	INST_PACKAGE_CAPA,
	INST_COUNT
};

struct bench_instance_spec {
	const char *name;
	gboolean with_package;
	PpStoreKind store;
	/* inside plugin { } */
	const char *plugin_settings;
	/* NULL: the harness's passwd-file with PLAIN passwords */
	const char *passdb_conf;
	/* give the big mailbox a UIDL map (uidl_map_setup()) */
	bool uidl_map;
	/* more configuration (PpInstanceOptions.extra_conf) */
	const char *extra_conf;
	/* the package's auth chain as conf.d/auth-pop3-policy.conf.ext
	   ships it, less the APOP passdb: the site's passdb (passwd-file
	   with PLAIN passwords, so that APOP works as in vanilla), the
	   login check (passdb pop3_policy mode=login), the site's userdb
	   and userdb pop3_policy, which hands the session its records */
	bool auth_chain;
	/* without BENCH_STOCK_SECTIONS */
	bool bare;
};

static const struct bench_instance_spec instance_specs[INST_COUNT] = {
	[INST_VANILLA] = { "vanilla", FALSE, PP_STORE_NONE, NULL, NULL,
			   FALSE },
	/* the package loaded with its default store, its auth chain and no
	   policy */
	[INST_PACKAGE] = { "package", TRUE, PP_STORE_SQLITE, NULL, NULL,
			   FALSE, NULL, TRUE },
	[INST_VANILLA2] = { "vanilla2", FALSE, PP_STORE_NONE, NULL, NULL,
			    FALSE },
	[INST_PACKAGE_NOSTORE] = { "pkg-nostore", TRUE, PP_STORE_NONE,
				   NULL, NULL, FALSE },
	/* the default store, the guard on (default 50%), a 200,000-entry
	   map read from the store every session */
	[INST_UIDL_MAP] = { "uidl-map", TRUE, PP_STORE_SQLITE, NULL, NULL,
			    TRUE },
	/* the same map, written into dovecot-uidlist by the first session */
	[INST_UIDL_PERSIST] = { "uidl-persist", TRUE, PP_STORE_SQLITE,
				"pop3_policy_uidl_persist = yes", NULL, TRUE },
	/* Dovecot's notify plugin does nothing by itself: what loading any
	   mail plugin costs a pop3 process (Dovecot scans the module
	   directory and dlopen()s it) */
	[INST_VANILLA_PLUGIN] = { "vanilla+notify", FALSE, PP_STORE_NONE,
				  NULL, NULL, FALSE,
				  "protocol pop3 {\n"
				  "  mail_plugins = $mail_plugins notify\n"
				  "}" },
	[INST_PACKAGE_NO_CHAIN] = { "pkg-no-chain", TRUE, PP_STORE_SQLITE,
				    NULL, NULL, FALSE },
	/* the retention figures' site policy (bench-conf.h) */
	[INST_PACKAGE_POLICY] = { "package+policy", TRUE, PP_STORE_SQLITE,
				  BENCH_RETENTION_POLICY, NULL, FALSE, NULL,
				  TRUE },
	[INST_VANILLA_BARE] = { "vanilla-bare", FALSE, PP_STORE_NONE, NULL,
				NULL, FALSE, NULL, FALSE, TRUE },
	[INST_PACKAGE_CAPA] = { "package+capa", TRUE, PP_STORE_SQLITE,
				BENCH_RETENTION_POLICY "\n"
				"  pop3_policy_capa = yes", NULL, FALSE,
				"protocol pop3 {\n"
				"  mail_plugins = $mail_plugins pop3_policy "
				"pop3_policy_capa\n"
				"  login_plugins = $login_plugins "
				"pop3_policy_login\n"
				"}", TRUE },
};

enum bench_metric {
	/* sessions per second over a fixed duration; higher is better */
	METRIC_RATE = 0,
	/* median milliseconds of UIDL over some sessions; lower is better */
	METRIC_UIDL_MS,
	/* median milliseconds of a whole session; lower is better */
	METRIC_SESSION_MS,
};

struct bench_row {
	const char *id;
	const char *label;
	enum bench_inst a, b;
	enum bench_session_kind kind;
	unsigned int concurrency;
	/* run against the user with the big mailbox */
	bool big_mailbox;
	enum bench_metric metric;
	/* Target on the ratio B/A, checked when target > 0: at least target
	   for METRIC_RATE, at most target otherwise. */
	double target;
	/* what the target is about (session, policy, uidl), printed with
	   it */
	const char *target_source;
	/* run only when named in --rows */
	bool optional;
};

static const struct bench_row rows[] = {
	{ "sessions-1", "POP3 sessions/s, 1 client",
	  INST_VANILLA, INST_PACKAGE, BENCH_SESSION_FULL, 1, FALSE,
	  METRIC_RATE, 0.97, "session", FALSE },
	{ "sessions-8", "POP3 sessions/s, 8 clients",
	  INST_VANILLA, INST_PACKAGE, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0.97, "session", FALSE },
	{ "sessions-32", "POP3 sessions/s, 32 clients",
	  INST_VANILLA, INST_PACKAGE, BENCH_SESSION_FULL, 32, FALSE,
	  METRIC_RATE, 0.97, "session", FALSE },
	/* The same sessions with a retention policy set, nothing due: what
	   having a policy costs. RETR records the message's first
	   retrieval, QUIT checks what is due. */
	{ "policy-sessions-8", "policy: POP3 sessions/s, 8 cl.",
	  INST_VANILLA, INST_PACKAGE_POLICY, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0.95, "policy", FALSE },
	/* The package on the big mailbox without a map: the UIDL guard
	   (default 50%) is the only UIDL work. */
	{ "uidl-big", "UIDL latency ms, big mailbox, guard",
	  INST_VANILLA, INST_PACKAGE, BENCH_SESSION_UIDL, 1, TRUE,
	  METRIC_UIDL_MS, 1.05, "uidl", FALSE },
	/* A 200,000-entry map (uid: and guid: keys of every message, as
	   doveadm pop3-uidl snapshot stores them after a migration import)
	   loaded from the store and applied in every session. */
	{ "uidl-map", "UIDL latency ms, big mailbox, map",
	  INST_VANILLA, INST_UIDL_MAP, BENCH_SESSION_UIDL, 1, TRUE,
	  METRIC_UIDL_MS, 1.5, "uidl", FALSE },
	/* The same map with pop3_policy_uidl_persist = yes: the first
	   session wrote the UIDLs into dovecot-uidlist. */
	{ "uidl-persist", "UIDL latency ms, big mailbox, persisted",
	  INST_VANILLA, INST_UIDL_PERSIST, BENCH_SESSION_UIDL, 1, TRUE,
	  METRIC_UIDL_MS, 1.05, "uidl", FALSE },
	{ "session-big", "login+QUIT ms, big mailbox",
	  INST_VANILLA, INST_PACKAGE, BENCH_SESSION_LOGIN, 1, TRUE,
	  METRIC_SESSION_MS, 0, NULL, FALSE },
	{ "apop-8", "APOP logins/s (passwd-file), 8 cl.",
	  INST_VANILLA, INST_PACKAGE, BENCH_SESSION_APOP, 8, FALSE,
	  METRIC_RATE, 0, NULL, FALSE },
	{ "login-8", "USER/PASS logins/s, 8 clients",
	  INST_VANILLA, INST_PACKAGE, BENCH_SESSION_LOGIN, 8, FALSE,
	  METRIC_RATE, 0, NULL, FALSE },
	/* Calibration: two identical vanilla instances would give 1.0 on a
	   quiet machine; how far this row is from 1.0 is the noise floor of
	   the run. The package without a store (pop3_policy_dict unset)
	   separates loading the plugin from the store's cost. */
	{ "aa-sessions-8", "A/A: POP3 sessions/s, 8 clients",
	  INST_VANILLA, INST_VANILLA2, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0, NULL, FALSE },
	{ "nostore-sessions-8", "no store: POP3 sessions/s, 8 cl.",
	  INST_VANILLA, INST_PACKAGE_NOSTORE, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0, NULL, TRUE },
	/* Control: the cost of being a mail plugin at all, and the package
	   against a Dovecot that already loads one */
	{ "plugin-sessions-8", "control: +notify plugin, 8 cl.",
	  INST_VANILLA, INST_VANILLA_PLUGIN, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0, NULL, TRUE },
	{ "vs-plugin-sessions-8", "package/vanilla+notify, 8 cl.",
	  INST_VANILLA_PLUGIN, INST_PACKAGE, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0, NULL, TRUE },
	/* What the handover saves: the package without its auth chain, so
	   that each session connects to the dict server for its records */
	{ "no-chain-sessions-8", "no auth chain: sessions/s, 8 cl.",
	  INST_VANILLA, INST_PACKAGE_NO_CHAIN, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0, NULL, TRUE },
	/* the package against a vanilla without the stock protocol
	   sections, whose config process then has less to go through for
	   every settings request */
	/* RFC 2449 advertising: sessions with CAPA before and after login,
	   the package with its lines against the package without them */
	{ "capa-sessions-8", "CAPA lines: sessions/s, 8 cl.",
	  INST_PACKAGE_POLICY, INST_PACKAGE_CAPA, BENCH_SESSION_CAPA, 8,
	  FALSE, METRIC_RATE, 0, NULL, TRUE },
	{ "bare-sessions-8", "package/bare vanilla, 8 cl.",
	  INST_VANILLA_BARE, INST_PACKAGE, BENCH_SESSION_FULL, 8, FALSE,
	  METRIC_RATE, 0, NULL, TRUE },
};

struct bench_instance {
	PpInstance *inst;
	guint16 port;
	bool small_ready, big_ready;
	bool users_added;
	bool policy_checked;
	/* PpInstanceOptions.extra_conf it was started with */
	char *extra_conf;
};

struct bench_row_result {
	bool ran;
	GArray *values[2];	/* per round, A and B */
	GArray *ratios;		/* per round, B/A */
	GArray *cpu[2];		/* per round, instance CPU ms per session */
	GArray *cpu_ratios;	/* per round, B/A */
	unsigned int errors;
	char *first_error;
};

static double opt_duration = 5;
static int opt_rounds = 9;
static int opt_iterations = 5;
static int opt_big_messages = 100000;
static gboolean opt_quick = FALSE;
static char *opt_rows = NULL;
static gboolean opt_list = FALSE;
static gboolean opt_b_first = FALSE;
static char *opt_extra_conf = NULL;
/* the contents of --extra-conf, NULL without it */
static char *extra_conf_text = NULL;

static struct bench_user users[BENCH_USERS];
static const struct bench_user big_user = {
	BENCH_BIG_USER, BENCH_BIG_PASSWORD
};
static struct bench_instance instances[INST_COUNT];
/* PP_TEST_TMPDIR of this run: every instance directory is made in it */
static char *run_root;
/* the generator's own CPU and wall time over the measurements */
static double gen_cpu_secs, gen_wall_secs;

static void die(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void die(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fprintf(stderr, "pp-bench: ");
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
	va_end(args);
	for (unsigned int i = 0; i < INST_COUNT; i++) {
		char *log, **lines;
		unsigned int n;

		if (instances[i].inst == NULL)
			continue;
		/* the instance's directory goes with it: show the log end */
		log = pp_instance_read_log(instances[i].inst);
		lines = g_strsplit(log, "\n", -1);
		n = g_strv_length(lines);
		fprintf(stderr, "--- last lines of the %s instance's log ---\n",
			instance_specs[i].name);
		for (unsigned int j = n > 20 ? n - 20 : 0; j < n; j++)
			fprintf(stderr, "%s\n", lines[j]);
		g_strfreev(lines);
		g_free(log);
		pp_instance_stop(instances[i].inst);
	}
	if (run_root != NULL)
		(void)rmdir(run_root);
	exit(1);
}

static void stop_signal(int signo G_GNUC_UNUSED)
{
	bench_pop3_stop = 1;
}

/* Ctrl-C stops the load and goes through die(), which stops the instances
   and removes their directories (a big mailbox is some 400 MB). */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stop_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

static void progress(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void progress(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fprintf(stderr, "pp-bench: ");
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
	va_end(args);
}

static void home_owner(struct bench_instance *bi, const char *user,
		       uid_t *uid_r, gid_t *gid_r)
{
	const char *home = pp_instance_home(bi->inst, user);
	struct stat st;

	if (stat(home, &st) < 0)
		die("stat(%s) failed: %s", home, g_strerror(errno));
	*uid_r = st.st_uid;
	*gid_r = st.st_gid;
}

static void instance_add_mailbox(struct bench_instance *bi,
				 const struct bench_user *user,
				 unsigned int count, unsigned int body_size)
{
	GError *error = NULL;
	char *maildir;
	uid_t uid;
	gid_t gid;

	pp_instance_add_user(bi->inst, user->user, user->password, NULL);
	bi->users_added = TRUE;
	home_owner(bi, user->user, &uid, &gid);
	maildir = g_strdup_printf("%s/Maildir",
				  pp_instance_home(bi->inst, user->user));
	if (bench_maildir_create(maildir, count, body_size, uid, gid,
				 &error) < 0)
		die("%s", error->message);
	g_free(maildir);
	if (bench_pop3_stop != 0)
		die("interrupted");
}

static void run_load_or_die(const struct bench_load *load,
			    struct bench_result *result, const char *what)
{
	GError *error = NULL;

	if (bench_pop3_run(load, result, &error) < 0)
		die("%s: %s", what, error->message);
}

/* Runs doveadm in the instance; dies unless it exits 0. Returns its
   standard output (g_free). */
static char *doveadm_or_die(struct bench_instance *bi, const char *what,
			    const char *const *argv, const char *stdin_data)
{
	char *out = NULL, *err = NULL;
	int ret;

	ret = pp_instance_doveadm(bi->inst, argv, stdin_data, &out, &err);
	if (ret != 0)
		die("%s: doveadm exited with %d: %s", what, ret, err);
	g_free(err);
	return out;
}

/* Returns the UIDL a POP3 session of the big user serves for message
   number msn (g_free), dying if the session fails. */
static char *uidl_of_msn(struct bench_instance *bi, unsigned int msn)
{
	GError *error = NULL;
	PpPop3 *pop3;
	char *cmd, *line, **words, *uidl;

	pop3 = pp_pop3_connect(bi->port, &error);
	if (pop3 == NULL)
		die("connect: %s", error->message);
	if (!pp_pop3_login(pop3, big_user.user, big_user.password))
		die("%s: login of %s failed", instance_specs[bi - instances].name,
		    big_user.user);
	cmd = g_strdup_printf("UIDL %u", msn);
	line = pp_pop3_cmd(pop3, cmd);
	words = g_strsplit(line, " ", -1);
	if (g_strv_length(words) != 3 || strcmp(words[0], "+OK") != 0)
		die("%s: %s answered: %s", instance_specs[bi - instances].name,
		    cmd, line);
	uidl = g_strdup(words[2]);
	g_strfreev(words);
	g_free(line);
	g_free(cmd);
	g_free(pp_pop3_cmd(pop3, "QUIT"));
	pp_pop3_close(pop3);
	return uidl;
}

/* Reads the entry count and the persisted UIDVALIDITY from the header of
   the big user's map file in its Maildir (offsets 16 and 48, see
   src/lib/pop3-policy-uidl-map-file.c). */
static void uidl_map_file_header(struct bench_instance *bi,
				 guint32 *entries_r, guint32 *persisted_r)
{
	char *path = g_build_filename(pp_instance_home(bi->inst,
						       big_user.user),
				      "Maildir", "pop3-policy-uidl.map", NULL);
	char *data = NULL;
	gsize size;

	if (!g_file_get_contents(path, &data, &size, NULL) || size < 64 ||
	    memcmp(data, "PPUIDLM", 8) != 0)
		die("%s: %s is not a UIDL map file",
		    instance_specs[bi - instances].name, path);
	memcpy(entries_r, data + 16, sizeof(*entries_r));
	memcpy(persisted_r, data + 48, sizeof(*persisted_r));
	g_free(data);
	g_free(path);
}

/* Gives the big user the map a migration leaves: an import of the old
   server's UIDLs ("OLD-<uid>") keyed uid:<uidvalidity>:<uid>, then
   doveadm pop3-uidl snapshot, which stores each message's served UIDL
   under its uid: and its guid: key (200,000 entries for 100,000
   messages). Then checks that a session serves the mapped UIDLs, and
   that the map is persisted or not as the instance is configured. */
static void uidl_map_setup(struct bench_instance *bi)
{
	const struct bench_instance_spec *spec =
		&instance_specs[bi - instances];
	const char *const status_argv[] = {
		"-f", "flow", "mailbox", "status", "-u", big_user.user,
		"uidvalidity", "INBOX", NULL
	};
	const char *const import_argv[] = {
		"-f", "tab", "pop3-uidl", "import", "-u", big_user.user, "-",
		NULL
	};
	const char *const snapshot_argv[] = {
		"-f", "tab", "pop3-uidl", "snapshot", "-u", big_user.user,
		NULL
	};
	GString *file;
	char *out, *p, *expected, *uidl;
	unsigned long uidvalidity;
	guint32 entries, persisted;
	unsigned int msns[2] = { 1, opt_big_messages };
	double start = g_get_monotonic_time() / 1e6;

	out = doveadm_or_die(bi, "mailbox status", status_argv, NULL);
	p = strstr(out, "uidvalidity=");
	if (p == NULL || (uidvalidity = strtoul(p + 12, NULL, 10)) == 0)
		die("%s: no UIDVALIDITY in: %s", spec->name, out);
	g_free(out);

	/* a fresh maildir indexed in one session: UIDs 1..N in order */
	file = g_string_sized_new(opt_big_messages * 40);
	for (int uid = 1; uid <= opt_big_messages; uid++) {
		g_string_append_printf(file, "uid:%lu:%d OLD-%d\n",
				       uidvalidity, uid, uid);
	}
	out = doveadm_or_die(bi, "pop3-uidl import", import_argv, file->str);
	g_string_free(file, TRUE);
	g_free(out);
	out = doveadm_or_die(bi, "pop3-uidl snapshot", snapshot_argv, NULL);
	expected = g_strdup_printf("%s\t%d\t%d", big_user.user,
				   opt_big_messages, 2 * opt_big_messages);
	if (strstr(out, expected) == NULL)
		die("%s: snapshot stored not %d entries: %s", spec->name,
		    2 * opt_big_messages, out);
	g_free(expected);
	g_free(out);

	/* the first session serves the mapped UIDLs (and with
	   pop3_policy_uidl_persist writes them into dovecot-uidlist), the
	   second one too (from the map, or from the storage) */
	for (unsigned int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < G_N_ELEMENTS(msns); i++) {
			expected = g_strdup_printf("OLD-%u", msns[i]);
			uidl = uidl_of_msn(bi, msns[i]);
			if (strcmp(uidl, expected) != 0)
				die("%s: message %u is served UIDL %s, not "
				    "the mapped %s", spec->name, msns[i],
				    uidl, expected);
			g_free(uidl);
			g_free(expected);
		}
	}
	uidl_map_file_header(bi, &entries, &persisted);
	if (entries != 2 * (guint32)opt_big_messages)
		die("%s: the map file has %u entries", spec->name, entries);
	if (spec->plugin_settings != NULL &&
	    strstr(spec->plugin_settings, "pop3_policy_uidl_persist") != NULL) {
		if (persisted != uidvalidity)
			die("%s: the map was not marked persisted",
			    spec->name);
	} else if (persisted != 0) {
		die("%s: the map was persisted, but the instance does not "
		    "persist", spec->name);
	}
	progress("%s: %d-entry UIDL map set up and served in %.1f s",
		 spec->name, 2 * opt_big_messages,
		 g_get_monotonic_time() / 1e6 - start);
}

/* Starts the instance and creates the mail a row needs, the first time. */
static struct bench_instance *
instance_prepare(enum bench_inst idx, const struct bench_row *row)
{
	const struct bench_instance_spec *spec = &instance_specs[idx];
	struct bench_instance *bi = &instances[idx];
	GError *error = NULL;

	if (bi->inst == NULL) {
		PpInstanceOptions opts;
		GString *extra;

		memset(&opts, 0, sizeof(opts));
		opts.with_package = spec->with_package;
		opts.store = spec->store;
		opts.plugin_settings = spec->plugin_settings;
		opts.passdb_conf = spec->passdb_conf;
		opts.auth_chain = spec->auth_chain;
		extra = g_string_new(spec->extra_conf);
		if (!spec->bare)
			g_string_append(extra, "\n" BENCH_STOCK_SECTIONS);
		if (extra_conf_text != NULL)
			g_string_append_printf(extra, "\n%s", extra_conf_text);
		bi->extra_conf = g_string_free(extra, FALSE);
		opts.extra_conf = bi->extra_conf;
		progress("starting instance %s", spec->name);
		bi->inst = pp_instance_start(&opts, &error);
		if (bi->inst == NULL)
			die("starting instance %s: %s", spec->name,
			    error->message);
		bi->port = pp_instance_port(bi->inst);
	}
	if (!row->big_mailbox && !bi->small_ready) {
		for (unsigned int i = 0; i < BENCH_USERS; i++) {
			instance_add_mailbox(bi, &users[i],
					     BENCH_SMALL_MESSAGES,
					     BENCH_SMALL_BODY);
		}
		bi->small_ready = TRUE;
	}
	if (bi->users_added) {
		/* auth re-reads a changed passwd-file at most once a second
		   (src/auth/db-passwd-file.c), so a user added in the second
		   of its last check would not exist yet */
		g_usleep(1100 * 1000);
		bi->users_added = FALSE;
	}
	if (idx == INST_PACKAGE_POLICY && !bi->policy_checked) {
		/* a row measured without its policy would look good */
		const char *argv[] = { "pop3-policy", "show", "-u",
				       users[0].user, NULL };
		char *out = doveadm_or_die(bi, "policy check", argv, NULL);

		if (strstr(out, "30d") == NULL || strstr(out, "365d") == NULL)
			die("%s: the policy is not in force:\n%s",
			    spec->name, out);
		g_free(out);
		bi->policy_checked = TRUE;
	}
	if (idx == INST_PACKAGE_CAPA && !bi->policy_checked) {
		/* a row measured without its lines would look good */
		PpPop3 *pop3 = pp_pop3_connect(bi->port, &error);
		char *capa;

		if (pop3 == NULL)
			die("%s: %s", spec->name, error->message);
		capa = pp_pop3_cmd_multi(pop3, "CAPA");
		if (strstr(capa, "\nEXPIRE 30 USER\nLOGIN-DELAY 0 USER") ==
		    NULL)
			die("%s: CAPA has no EXPIRE line:\n%s", spec->name,
			    capa);
		g_free(capa);
		pp_pop3_close(pop3);
		bi->policy_checked = TRUE;
	}
	if (row->big_mailbox && !bi->big_ready) {
		struct bench_load load;
		struct bench_result result;
		double start = g_get_monotonic_time() / 1e6;

		progress("%s: writing a %d-message maildir", spec->name,
			 opt_big_messages);
		instance_add_mailbox(bi, &big_user, opt_big_messages,
				     BENCH_BIG_BODY);
		g_usleep(1100 * 1000);
		bi->users_added = FALSE;
		/* Dovecot indexes the new maildir in this first session;
		   the listing proves it sees every message. */
		memset(&load, 0, sizeof(load));
		load.port = bi->port;
		load.kind = BENCH_SESSION_UIDL;
		load.users = &big_user;
		load.users_count = 1;
		load.concurrency = 1;
		load.sessions = 1;
		load.stall_timeout_secs = 600;
		load.expect_uidl_lines = opt_big_messages;
		run_load_or_die(&load, &result, "indexing the big mailbox");
		if (result.errors > 0)
			die("%s: indexing the big mailbox: %s", spec->name,
			    result.first_error);
		progress("%s: mailbox written and indexed in %.1f s",
			 spec->name, g_get_monotonic_time() / 1e6 - start);
		bench_result_clear(&result);
		if (spec->uidl_map)
			uidl_map_setup(bi);
		bi->big_ready = TRUE;
	}
	return bi;
}

static double self_cpu_secs(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* One measurement of a row on one instance; returns the row's figure and
   the instance's CPU milliseconds per session in cpu_ms_r. */
static double measure(const struct bench_row *row, struct bench_instance *bi,
		      bool warmup, struct bench_row_result *rr,
		      double *cpu_ms_r)
{
	struct bench_load load;
	struct bench_result result;
	double value = 0, inst_cpu;
	GPid pid = pp_instance_pid(bi->inst);

	memset(&load, 0, sizeof(load));
	load.port = bi->port;
	load.kind = row->kind;
	load.concurrency = row->concurrency;
	load.stall_timeout_secs = 120;
	if (row->big_mailbox) {
		load.users = &big_user;
		load.users_count = 1;
		load.expect_uidl_lines = opt_big_messages;
	} else {
		load.users = users;
		load.users_count = BENCH_USERS;
		load.expect_uidl_lines = BENCH_SMALL_MESSAGES;
	}
	if (row->metric == METRIC_RATE)
		load.duration_secs = warmup ? MIN(1.0, opt_duration) :
			opt_duration;
	else
		load.sessions = warmup ? 1 : opt_iterations;

	double cpu = self_cpu_secs();
	double wall = g_get_monotonic_time() / 1e6;

	inst_cpu = bench_cpu_instance_secs(pid);
	run_load_or_die(&load, &result, row->id);
	gen_cpu_secs += self_cpu_secs() - cpu;
	gen_wall_secs += g_get_monotonic_time() / 1e6 - wall;
	/* let the last sessions' processes exit and be reaped, so that their
	   CPU is counted here and not in the next measurement */
	g_usleep(200 * 1000);
	if (inst_cpu < 0 || result.sessions == 0)
		*cpu_ms_r = 0;
	else {
		*cpu_ms_r = (bench_cpu_instance_secs(pid) - inst_cpu) * 1000 /
			result.sessions;
	}
	switch (row->metric) {
	case METRIC_RATE:
		value = result.sessions_per_sec;
		break;
	case METRIC_UIDL_MS:
		value = bench_median(result.uidl_secs) * 1000;
		break;
	case METRIC_SESSION_MS:
		value = bench_median(result.session_secs) * 1000;
		break;
	}
	if (!warmup) {
		rr->errors += result.errors;
		if (rr->first_error == NULL && result.first_error != NULL)
			rr->first_error = g_strdup(result.first_error);
	}
	bench_result_clear(&result);
	return value;
}

static void run_row(const struct bench_row *row, struct bench_row_result *rr)
{
	struct bench_instance *bi[2];
	double cpu[2], cpu_ratio;

	if (opt_b_first) {
		bi[1] = instance_prepare(row->b, row);
		bi[0] = instance_prepare(row->a, row);
	} else {
		bi[0] = instance_prepare(row->a, row);
		bi[1] = instance_prepare(row->b, row);
	}
	rr->values[0] = g_array_new(FALSE, FALSE, sizeof(double));
	rr->values[1] = g_array_new(FALSE, FALSE, sizeof(double));
	rr->ratios = g_array_new(FALSE, FALSE, sizeof(double));
	rr->cpu[0] = g_array_new(FALSE, FALSE, sizeof(double));
	rr->cpu[1] = g_array_new(FALSE, FALSE, sizeof(double));
	rr->cpu_ratios = g_array_new(FALSE, FALSE, sizeof(double));

	(void)measure(row, bi[0], TRUE, rr, &cpu[0]);
	(void)measure(row, bi[1], TRUE, rr, &cpu[1]);
	for (int round = 0; round < opt_rounds; round++) {
		double v[2], ratio;
		int first = (round + (opt_b_first ? 1 : 0)) % 2;

		v[first] = measure(row, bi[first], FALSE, rr, &cpu[first]);
		v[1 - first] = measure(row, bi[1 - first], FALSE, rr,
				       &cpu[1 - first]);
		g_array_append_val(rr->values[0], v[0]);
		g_array_append_val(rr->values[1], v[1]);
		ratio = v[0] > 0 ? v[1] / v[0] : 0;
		g_array_append_val(rr->ratios, ratio);
		g_array_append_val(rr->cpu[0], cpu[0]);
		g_array_append_val(rr->cpu[1], cpu[1]);
		cpu_ratio = cpu[0] > 0 ? cpu[1] / cpu[0] : 0;
		g_array_append_val(rr->cpu_ratios, cpu_ratio);
		progress("%s round %d/%d: %s %.2f, %s %.2f, ratio %.3f; "
			 "CPU ms per session: %.2f, %.2f, ratio %.3f",
			 row->id, round + 1, opt_rounds,
			 instance_specs[row->a].name, v[0],
			 instance_specs[row->b].name, v[1], ratio,
			 cpu[0], cpu[1], cpu_ratio);
	}
	rr->ran = TRUE;
}

static bool row_selected(const struct bench_row *row)
{
	char **ids;
	bool found = FALSE;

	if (opt_rows == NULL)
		return !row->optional;
	ids = g_strsplit(opt_rows, ",", -1);
	for (unsigned int i = 0; ids[i] != NULL; i++) {
		if (strcmp(g_strstrip(ids[i]), row->id) == 0)
			found = TRUE;
	}
	g_strfreev(ids);
	return found;
}

static void check_row_ids(void)
{
	char **ids;

	if (opt_rows == NULL)
		return;
	ids = g_strsplit(opt_rows, ",", -1);
	for (unsigned int i = 0; ids[i] != NULL; i++) {
		bool known = FALSE;

		for (unsigned int j = 0; j < G_N_ELEMENTS(rows); j++) {
			if (strcmp(g_strstrip(ids[i]), rows[j].id) == 0)
				known = TRUE;
		}
		if (!known)
			die("unknown row '%s' in --rows (see --list)",
			    ids[i]);
	}
	g_strfreev(ids);
}

static double array_min(GArray *arr)
{
	double m = g_array_index(arr, double, 0);

	for (unsigned int i = 1; i < arr->len; i++)
		m = MIN(m, g_array_index(arr, double, i));
	return m;
}

static double array_max(GArray *arr)
{
	double m = g_array_index(arr, double, 0);

	for (unsigned int i = 1; i < arr->len; i++)
		m = MAX(m, g_array_index(arr, double, i));
	return m;
}

static bool target_met(const struct bench_row *row, double ratio)
{
	return row->metric == METRIC_RATE ? ratio >= row->target :
		ratio <= row->target;
}

/* Prints the first line a command writes, if it runs. */
static void print_command_line(const char *label, const char *const *argv)
{
	char *out = NULL;
	int status;

	if (g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH |
			 G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
			 &status, NULL) &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		char *nl = strchr(out, '\n');

		if (nl != NULL)
			*nl = '\0';
		printf("%s: %s\n", label, out);
	}
	g_free(out);
}

static void print_loadavg(const char *when)
{
	char *contents = NULL;

	if (g_file_get_contents("/proc/loadavg", &contents, NULL, NULL)) {
		g_strchomp(contents);
		printf("load average %s: %s\n", when, contents);
		g_free(contents);
	}
}

static void print_table(struct bench_row_result *results)
{
	bool any_missed = FALSE, any_target = FALSE;

	printf("\n%-36s %-19s %9s %9s %6s %13s  %s\n", "row", "B/A",
	       "A median", "B median", "B/A", "B/A range", "target");
	for (unsigned int i = 0; i < G_N_ELEMENTS(rows); i++) {
		const struct bench_row *row = &rows[i];
		struct bench_row_result *rr = &results[i];
		double ratio;
		char *pair, *target;

		if (!rr->ran)
			continue;
		ratio = bench_median(rr->ratios);
		pair = g_strdup_printf("%s/%s",
				       instance_specs[row->b].name,
				       instance_specs[row->a].name);
		if (row->target <= 0)
			target = g_strdup("-");
		else {
			target = g_strdup_printf("%s %.2f (%s): %s",
				row->metric == METRIC_RATE ? ">=" : "<=",
				row->target, row->target_source,
				target_met(row, ratio) ? "met" : "MISSED");
		}
		printf("%-36s %-19s %9.2f %9.2f %6.3f %6.3f..%-5.3f  %s\n",
		       row->label, pair, bench_median(rr->values[0]),
		       bench_median(rr->values[1]), ratio,
		       array_min(rr->ratios), array_max(rr->ratios), target);
		if (rr->errors > 0) {
			printf("  ERRORS: %u failed sessions, first: %s\n",
			       rr->errors, rr->first_error);
		}
		g_free(pair);
		g_free(target);
	}

	printf("\nDovecot CPU per session (all processes of the instance; "
	       "little affected by other load on the machine)\n");
	printf("%-36s %-19s %9s %9s %6s %13s\n", "row", "B/A", "A ms",
	       "B ms", "B/A", "B/A range");
	for (unsigned int i = 0; i < G_N_ELEMENTS(rows); i++) {
		const struct bench_row *row = &rows[i];
		struct bench_row_result *rr = &results[i];
		char *pair;

		if (!rr->ran)
			continue;
		pair = g_strdup_printf("%s/%s",
				       instance_specs[row->b].name,
				       instance_specs[row->a].name);
		printf("%-36s %-19s %9.2f %9.2f %6.3f %6.3f..%-5.3f\n",
		       row->label, pair, bench_median(rr->cpu[0]),
		       bench_median(rr->cpu[1]),
		       bench_median(rr->cpu_ratios),
		       array_min(rr->cpu_ratios), array_max(rr->cpu_ratios));
		g_free(pair);
	}

	printf("\nTargets:\n");
	for (unsigned int i = 0; i < G_N_ELEMENTS(rows); i++) {
		const struct bench_row *row = &rows[i];
		struct bench_row_result *rr = &results[i];
		double ratio;
		bool met;

		if (!rr->ran || row->target <= 0)
			continue;
		any_target = TRUE;
		ratio = bench_median(rr->ratios);
		met = target_met(row, ratio) && rr->errors == 0;
		if (!met)
			any_missed = TRUE;
		printf("  %-7s %-36s %s/%s = %.3f, target %s %.2f: %s%s\n",
		       row->target_source, row->label,
		       instance_specs[row->b].name,
		       instance_specs[row->a].name, ratio,
		       row->metric == METRIC_RATE ? ">=" : "<=", row->target,
		       met ? "met" : "MISSED",
		       rr->errors > 0 ? " (sessions failed)" : "");
	}
	if (!any_target)
		printf("  (no row with a target ran)\n");
	else
		printf("  %s\n", any_missed ? "some targets MISSED" :
		       "all targets met");
	for (unsigned int i = 0; i < G_N_ELEMENTS(rows); i++) {
		if (strcmp(rows[i].id, "aa-sessions-8") != 0 ||
		    !results[i].ran)
			continue;
		printf("  noise floor: A/A calibration ratio %.3f (range "
		       "%.3f..%.3f); ratios closer to their target than "
		       "that are within this run's noise\n",
		       bench_median(results[i].ratios),
		       array_min(results[i].ratios),
		       array_max(results[i].ratios));
	}
}

static const GOptionEntry options[] = {
	{ "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &opt_duration,
	  "Seconds per measurement of a rate row (default 5)", "SECS" },
	{ "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds,
	  "Rounds per row, alternating A/B order (default 9)", "N" },
	{ "iterations", 'i', 0, G_OPTION_ARG_INT, &opt_iterations,
	  "Sessions per measurement of a latency row (default 5)", "N" },
	{ "big-messages", 'm', 0, G_OPTION_ARG_INT, &opt_big_messages,
	  "Messages in the big mailbox (default 100000)", "N" },
	{ "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick,
	  "A quick run of about 3 minutes: -d 2 -r 3 -i 3 (overrides them)",
	  NULL },
	{ "rows", 0, 0, G_OPTION_ARG_STRING, &opt_rows,
	  "Run only these rows (comma-separated ids, see --list)", "IDS" },
	{ "b-first", 0, 0, G_OPTION_ARG_NONE, &opt_b_first,
	  "Start instance B first and measure it first in odd rounds "
	  "(to check that the order does not bias the ratio)", NULL },
	{ "extra-conf", 0, 0, G_OPTION_ARG_FILENAME, &opt_extra_conf,
	  "Append this file to every instance's dovecot.conf (e.g. service "
	  "blocks that run a process under valgrind, see bench/README.md)", "FILE" },
	{ "list", 'l', 0, G_OPTION_ARG_NONE, &opt_list,
	  "List the rows and exit", NULL },
	{ NULL }
};

int main(int argc, char **argv)
{
	GOptionContext *ctx;
	GError *error = NULL;
	struct bench_row_result results[G_N_ELEMENTS(rows)];
	char *user_names[BENCH_USERS], *passwords[BENCH_USERS];
	struct utsname uts;
	double start;

	ctx = g_option_context_new("- vanilla Dovecot vs Dovecot with "
				   "pop3-policy, one run, printed as ratios");
	g_option_context_add_main_entries(ctx, options, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "pp-bench: %s\n", error->message);
		return 2;
	}
	g_option_context_free(ctx);
	if (opt_list) {
		for (unsigned int i = 0; i < G_N_ELEMENTS(rows); i++)
			printf("%-20s %s%s\n", rows[i].id, rows[i].label,
			       rows[i].optional ? " (optional)" : "");
		return 0;
	}
	if (opt_quick) {
		opt_duration = 2;
		opt_rounds = 3;
		opt_iterations = 3;
	}
	if (opt_duration <= 0 || opt_rounds < 1 || opt_iterations < 1 ||
	    opt_big_messages < 1) {
		fprintf(stderr, "pp-bench: --duration, --rounds, --iterations "
			"and --big-messages must be positive\n");
		return 2;
	}
	check_row_ids();
	if (opt_extra_conf != NULL &&
	    !g_file_get_contents(opt_extra_conf, &extra_conf_text, NULL,
				 &error)) {
		fprintf(stderr, "pp-bench: --extra-conf: %s\n",
			error->message);
		return 2;
	}

	/* under PP_TEST_TMPDIR when it is set, as the tests' instances (a
	   tmpfs keeps the filesystem's noise out of the figures) */
	run_root = g_build_filename(pp_tmp_root(), "pp-bench-XXXXXX", NULL);
	if (g_mkdtemp_full(run_root, 0755) == NULL) {
		fprintf(stderr, "pp-bench: mkdtemp(%s) failed: %s\n",
			run_root, g_strerror(errno));
		return 1;
	}
	/* auth and the mail processes run as other users */
	if (chmod(run_root, 0755) < 0) {
		fprintf(stderr, "pp-bench: chmod(%s) failed: %s\n", run_root,
			g_strerror(errno));
		return 1;
	}
	g_setenv("PP_TEST_TMPDIR", run_root, TRUE);
	catch_stop_signals();

	for (unsigned int i = 0; i < BENCH_USERS; i++) {
		user_names[i] = g_strdup_printf("bench%u", i);
		passwords[i] = g_strdup_printf("bench-pass-%u", i);
		users[i].user = user_names[i];
		users[i].password = passwords[i];
	}
	memset(results, 0, sizeof(results));

	printf("pp-bench: A = %s, B = %s (package loaded, no policy)\n",
	       instance_specs[INST_VANILLA].name,
	       instance_specs[INST_PACKAGE].name);
	printf("%d rounds per row, order A,B then B,A alternating; "
	       "rate rows %.1f s each, latency rows %d sessions each; "
	       "big mailbox %d messages\n", opt_rounds, opt_duration,
	       opt_iterations, opt_big_messages);
	if (uname(&uts) == 0)
		printf("host: %s %s, %ld CPUs\n", uts.sysname, uts.release,
		       sysconf(_SC_NPROCESSORS_ONLN));
	{
		const char *const dovecot_argv[] = {
			"dovecot", "--version", NULL
		};
		const char *const git_argv[] = {
			"git", "-C", PP_TOP_SRCDIR, "describe", "--always",
			"--dirty", NULL
		};

		print_command_line("dovecot", dovecot_argv);
		print_command_line("package source " PP_TOP_SRCDIR,
				   git_argv);
	}
	print_loadavg("at start");
	fflush(stdout);

	start = g_get_monotonic_time() / 1e6;
	for (unsigned int i = 0; i < G_N_ELEMENTS(rows); i++) {
		if (row_selected(&rows[i]))
			run_row(&rows[i], &results[i]);
	}
	for (unsigned int i = 0; i < INST_COUNT; i++) {
		pp_instance_stop(instances[i].inst);
		instances[i].inst = NULL;
		g_free(instances[i].extra_conf);
	}
	if (rmdir(run_root) < 0)
		progress("rmdir(%s) failed: %s", run_root, g_strerror(errno));
	g_free(run_root);
	run_root = NULL;

	print_table(results);
	print_loadavg("at end");
	printf("load generator CPU while measuring: %.1f s in %.0f s "
	       "(%.1f%% of one CPU)\n", gen_cpu_secs, gen_wall_secs,
	       gen_wall_secs > 0 ? 100 * gen_cpu_secs / gen_wall_secs : 0);
	printf("wall time %.0f s\n", g_get_monotonic_time() / 1e6 - start);

	for (unsigned int i = 0; i < G_N_ELEMENTS(rows); i++) {
		if (!results[i].ran)
			continue;
		g_array_free(results[i].values[0], TRUE);
		g_array_free(results[i].values[1], TRUE);
		g_array_free(results[i].ratios, TRUE);
		g_array_free(results[i].cpu[0], TRUE);
		g_array_free(results[i].cpu[1], TRUE);
		g_array_free(results[i].cpu_ratios, TRUE);
		g_free(results[i].first_error);
	}
	for (unsigned int i = 0; i < BENCH_USERS; i++) {
		g_free(user_names[i]);
		g_free(passwords[i]);
	}
	return 0;
}
