/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Input and configuration that must not turn into a crash, a login or a
   removal: user names longer than the store's keys, the APOP secret
   offered to other SASL mechanisms and services, unencrypted APOP
   records, LOGIN-DELAY on a proxied login, a quarantine named INBOX,
   and doveadm pop3-apop taking its key file from the userdb. */

#include "test-retention-common.h"
#include "pp-helpers.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define AUTH_FAILED "-ERR [AUTH] Authentication failed."

static void assert_log_clean(PpInstance *inst)
{
	char *log = pp_instance_read_log(inst);

	if (strstr(log, "Panic:") != NULL || strstr(log, "Fatal:") != NULL ||
	    strstr(log, "killed with signal") != NULL) {
		g_printerr("%s", log);
		g_error("a Dovecot process crashed (see the log above)");
	}
	g_free(log);
}

/* A key file in the instance's directory with one random key of id. */
static char *write_key_file(const char *dir, const char *name,
			    const char *id)
{
	char *path = g_build_filename(dir, name, NULL);
	GString *str = g_string_new(id);
	GError *error = NULL;
	unsigned int i;

	g_string_append_c(str, ' ');
	for (i = 0; i < 32; i++)
		g_string_append_printf(str, "%02x", g_random_int_range(0, 256));
	g_string_append_c(str, '\n');
	if (!g_file_set_contents(path, str->str, -1, &error))
		g_error("%s", error->message);
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
	g_string_free(str, TRUE);
	return path;
}

/* The instance's key file, made before the start (the harness names its
   directory only then): under PP_TEST_TMPDIR, removed by the runner. */
static char *key_file_for_start(void)
{
	char *dir = g_build_filename(pp_tmp_root(), "pp-hkeys-XXXXXX", NULL);
	char *path;

	g_assert_nonnull(g_mkdtemp(dir));
	g_assert_cmpint(g_chmod(dir, 0755), ==, 0);
	path = write_key_file(dir, "apop.keys", "1");
	g_free(dir);
	return path;
}

static char *try_apop(PpInstance *inst, const char *user, const char *secret)
{
	return pp_try_apop(pp_instance_port(inst), user, secret);
}

static char *try_pass(PpInstance *inst, const char *user,
		      const char *password)
{
	return pp_try_pass(pp_instance_port(inst), user, password, NULL);
}

static char *try_auth_plain(PpInstance *inst, const char *user,
			    const char *password)
{
	return pp_try_auth_plain(pp_instance_port(inst), user, password);
}

/* The CRAM-MD5 answer (RFC 2195) of user with secret to the server's
   "+ <base64 challenge>" line. */
static char *cram_md5_response(const char *challenge_line, const char *user,
			       const char *secret)
{
	guchar *challenge;
	gsize len;
	char *hmac, *resp, *b64;

	g_assert_true(g_str_has_prefix(challenge_line, "+ "));
	challenge = g_base64_decode(challenge_line + 2, &len);
	hmac = g_compute_hmac_for_data(G_CHECKSUM_MD5, (const guchar *)secret,
				       strlen(secret), challenge, len);
	resp = g_strdup_printf("%s %s", user, hmac);
	b64 = g_base64_encode((const guchar *)resp, strlen(resp));
	g_free(challenge);
	g_free(hmac);
	g_free(resp);
	return b64;
}

/* AUTH CRAM-MD5 on POP3 (RFC 5034) or AUTHENTICATE CRAM-MD5 on IMAP;
   returns the final status line. */
static char *try_cram_md5(guint16 port, gboolean imap, const char *user,
			  const char *secret)
{
	PpPop3 *conn = pp_pop3_connect_or_die(port);
	char *line, *resp, *reply;

	line = pp_pop3_cmd(conn, imap ? "a AUTHENTICATE CRAM-MD5" :
			   "AUTH CRAM-MD5");
	if (!g_str_has_prefix(line, "+ ")) {
		pp_pop3_close(conn);
		return line;
	}
	resp = cram_md5_response(line, user, secret);
	reply = pp_pop3_cmd(conn, resp);
	if (g_str_has_prefix(reply, imap ? "a OK" : "+OK"))
		g_free(pp_pop3_cmd(conn, imap ? "b LOGOUT" : "QUIT"));
	pp_pop3_close(conn);
	g_free(line);
	g_free(resp);
	return reply;
}

static char *apop_generate(PpInstance *inst, const char *user)
{
	char *out;

	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-apop", "generate", "-u",
				   user, NULL), ==, 0);
	g_strstrip(out);
	g_assert_cmpuint(strlen(out), >=, 22);
	return out;
}

/* A user name longer than the store's keys may be (every record's key,
   with a realm) on every login path: a clean -ERR, no crash of auth or
   its worker, and the next login still works. */
static void test_long_user(void)
{
	PpInstanceOptions opts = { 0 };
	PpInstance *inst;
	GString *user = g_string_new(NULL);
	char *key_file = key_file_for_start();
	char *secret;

	opts.with_package = TRUE;
	opts.auth_chain = TRUE;
	opts.apop_key_file = key_file;
	opts.plugin_settings = g_strdup_printf(
		"pop3_policy_apop_key_file = %s", key_file);
	/* any character in user names: '/' too */
	opts.extra_conf = "auth_username_chars =\n";
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	secret = apop_generate(inst, "alice");

	while (user->len < 1000)
		g_string_append(user, "longname");
	g_string_truncate(user, 1000 - strlen("@example.com"));
	g_string_append(user, "@example.com");
	g_assert_cmpuint(user->len, ==, 1000);

	/* the name of exactly 1000 characters, and a longer one (APOP
	   lines that long are refused by pop3-login itself) */
	pp_assert_prefix(try_apop(inst, user->str, secret), "-ERR ");
	pp_assert_prefix(try_pass(inst, user->str, "secret"), "-ERR ");
	pp_assert_prefix(try_auth_plain(inst, user->str, "secret"), "-ERR ");
	g_string_prepend(user, "0123456789");
	pp_assert_prefix(try_apop(inst, user->str, secret), "-ERR ");
	pp_assert_prefix(try_pass(inst, user->str, "secret"), "-ERR ");
	pp_assert_prefix(try_auth_plain(inst, user->str, "secret"), "-ERR ");

	/* A name within the APOP line's limit whose escaped keys are all
	   over the store's limit ('/' is escaped to two bytes): such names
	   reach the APOP passdb where auth_username_chars allows '/'. */
	g_string_truncate(user, 0);
	while (user->len < 900)
		g_string_append(user, "dept/");
	pp_assert_prefix(try_apop(inst, user->str, secret), "-ERR ");
	pp_assert_prefix(try_pass(inst, user->str, "secret"), "-ERR ");
	pp_assert_prefix(try_auth_plain(inst, user->str, "secret"), "-ERR ");

	/* auth and its workers are still there */
	pp_assert_prefix(try_apop(inst, "alice", secret), "+OK");
	pp_assert_prefix(try_pass(inst, "alice", "secret"), "+OK");
	assert_log_clean(inst);

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	g_free((char *)opts.plugin_settings);
	g_free(key_file);
	g_free(secret);
	g_string_free(user, TRUE);
}

/* The APOP passdb without "mechanisms = apop": CRAM-MD5 asks it for
   credentials too, on POP3 and IMAP. The APOP secret must not log in
   there; the site's own password still does, and APOP still works. */
static void test_apop_secret_other_mechanisms(void)
{
	PpInstanceOptions opts = { 0 };
	PpInstance *inst;
	char *key_file = key_file_for_start();
	char *secret;

	opts.with_package = TRUE;
	opts.with_imap = TRUE;
	opts.passdb_conf = g_strdup_printf(
		"passdb {\n"
		"  driver = pop3_policy\n"
		"  args = dict=%%{store_uri} key_file=%s\n"
		"}\n"
		"passdb {\n"
		"  driver = passwd-file\n"
		"  args = scheme=PLAIN username_format=%%u %%{passwd_file}\n"
		"}\n", key_file);
	opts.extra_conf = "auth_mechanisms = plain apop cram-md5\n";
	opts.plugin_settings = g_strdup_printf(
		"pop3_policy_apop_key_file = %s", key_file);
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "site-Pass-1", NULL);
	secret = apop_generate(inst, "alice");

	pp_assert_prefix(try_apop(inst, "alice", secret), "+OK");
	/* the secret is refused by CRAM-MD5 on both services */
	pp_assert_prefix(try_cram_md5(pp_instance_port(inst), FALSE, "alice",
				   secret), "-ERR ");
	pp_assert_prefix(try_cram_md5(pp_instance_imap_port(inst), TRUE,
				   "alice", secret), "a NO ");
	/* the site's password: CRAM-MD5 itself works */
	pp_assert_prefix(try_cram_md5(pp_instance_port(inst), FALSE, "alice",
				   "site-Pass-1"), "+OK");
	pp_assert_prefix(try_cram_md5(pp_instance_imap_port(inst), TRUE,
				   "alice", "site-Pass-1"), "a OK");
	assert_log_clean(inst);

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	g_free((char *)opts.passdb_conf);
	g_free((char *)opts.plugin_settings);
	g_free(key_file);
	g_free(secret);
}

/* A PLAIN (unencrypted) APOP record logs in only where the passdb's args
   say allow_plaintext=yes; elsewhere it fails closed ([SYS/TEMP]) with a
   log line saying so. doveadm says what the passdb needs. */
static void run_plaintext(gboolean allow)
{
	PpInstanceOptions opts = { 0 };
	PpInstance *inst;
	char *key_file = key_file_for_start();
	char *out, *err, *log;
	const char *argv[] = {
		"pop3-apop", "set", "--plaintext", "-u", "alice",
		"alice-Plain-9", NULL
	};

	opts.with_package = TRUE;
	opts.passdb_conf = g_strdup_printf(
		"passdb {\n"
		"  driver = pop3_policy\n"
		"  args = dict=%%{store_uri} key_file=%s%s\n"
		"  mechanisms = apop\n"
		"  result_internalfail = return-fail\n"
		"}\n"
		"passdb {\n"
		"  driver = passwd-file\n"
		"  args = scheme=PLAIN username_format=%%u %%{passwd_file}\n"
		"}\n", key_file, allow ? " allow_plaintext=yes" : "");
	opts.plugin_settings = g_strdup_printf(
		"pop3_policy_apop_key_file = %s", key_file);
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "site-Pass-1", NULL);

	g_assert_cmpint(pp_instance_doveadm(inst, argv, NULL, &out, &err),
			==, 0);
	rt_assert_contains(err != NULL ? err : "", "allow_plaintext=yes");
	g_free(out);
	g_free(err);
	if (allow) {
		pp_assert_prefix(try_apop(inst, "alice", "alice-Plain-9"),
				 "+OK");
	} else {
		pp_assert_prefix(try_apop(inst, "alice", "alice-Plain-9"),
			      "-ERR [SYS/TEMP]");
		log = rt_wait_log(inst, "allow_plaintext=yes");
		rt_assert_contains(log, "user alice: key "
				   "shared/pop3-policy/apop/alice");
		g_assert_null(strstr(log, "alice-Plain-9"));
		g_free(log);
	}
	/* USER/PASS is the site's either way */
	pp_assert_prefix(try_pass(inst, "alice", "site-Pass-1"), "+OK");
	assert_log_clean(inst);

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	g_free((char *)opts.passdb_conf);
	g_free((char *)opts.plugin_settings);
	g_free(key_file);
}

static void test_apop_plaintext_refused(void)
{
	run_plaintext(FALSE);
}

static void test_apop_plaintext_allowed(void)
{
	run_plaintext(TRUE);
}

/* A passdb that proxies the user (proxy host= port=) to another server:
   pop3-login would ignore nologin and proxy a login that LOGIN-DELAY
   refuses. The refusal must stand: -ERR [LOGIN-DELAY], no proxying. */
static void test_login_delay_proxy(void)
{
	PpInstanceOptions bopts = { 0 }, opts = { 0 };
	PpInstance *backend, *inst;
	char *record;

	/* the backend: a plain Dovecot where alice and bob log in */
	backend = rt_start(&bopts);
	pp_instance_add_user(backend, "alice", "secret", NULL);
	pp_instance_add_user(backend, "bob", "secret", NULL);

	/* the proxy: every login is proxied to the backend by the site's
	   passdb, then checked by the login check */
	opts.with_package = TRUE;
	opts.auth_chain = TRUE;
	opts.auth_chain_args = "pop3_policy=login_delay=1h";
	opts.passdb_conf = g_strdup_printf(
		"passdb {\n"
		"  driver = static\n"
		"  args = password=secret proxy=y host=127.0.0.1 port=%u\n"
		"  result_success = continue-ok\n"
		"}\n", (unsigned int)pp_instance_port(backend));
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	pp_instance_add_user(inst, "bob", "secret", NULL);

	/* bob has no login in the window: proxied to the backend */
	pp_assert_prefix(try_pass(inst, "bob", "secret"), "+OK");
	g_assert_true(pp_instance_wait_log(backend, "Login: user=<bob>",
					   10000));

	/* alice logged in a moment ago (a proxy's userdb does not run for
	   proxied logins, so it records none: the record stands for one
	   made by another server sharing the store) */
	record = g_strdup_printf("1\tlogin\t%ld\t%ld\t1",
				 (long)time(NULL), (long)time(NULL));
	pp_instance_store_set_raw(inst, "alice",
				  "shared/pop3-policy/login/alice", record);
	g_free(record);
	pp_assert_prefix(try_pass(inst, "alice", "secret"),
		      "-ERR [LOGIN-DELAY] ");
	pp_assert_prefix(try_auth_plain(inst, "alice", "secret"),
		      "-ERR [LOGIN-DELAY] ");
	/* and the backend never saw her */
	g_assert_false(pp_instance_wait_log(backend, "user=<alice>", 1000));
	assert_log_clean(inst);

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	rt_stop(backend);
	g_free((char *)opts.passdb_conf);
}

static void save_to(PpInstance *inst, const char *user, const char *box,
		    unsigned int n)
{
	const char *const create_argv[] = {
		"mailbox", "create", "-u", user, box, NULL
	};
	const char *const save_argv[] = {
		"save", "-u", user, "-m", box, NULL
	};
	unsigned int i;

	g_assert_cmpint(pp_instance_doveadm(inst, create_argv, NULL, NULL,
					    NULL), ==, 0);
	for (i = 0; i < n; i++) {
		char *msg = g_strdup_printf("From: u@example.com\n"
					    "Subject: own %u\n\nmine %u\n",
					    i, i);

		g_assert_cmpint(pp_instance_doveadm(inst, save_argv, msg,
						    NULL, NULL), ==, 0);
		g_free(msg);
	}
}

/* Runs the sweep for user; returns its exit code and stderr. */
static int sweep_user(PpInstance *inst, const char *user, char **err_r)
{
	const char *const argv[] = {
		"-f", "tab", "pop3-policy", "sweep", "-u", user, NULL
	};
	char *out = NULL, *err = NULL;
	int ret;

	ret = pp_instance_doveadm(inst, argv, NULL, &out, &err);
	g_test_message("sweep -u %s: exit %d\n%s%s", user, ret,
		       out != NULL ? out : "", err != NULL ? err : "");
	g_free(out);
	*err_r = err != NULL ? err : g_strdup("");
	return ret;
}

/* The quarantine is purged hold after each message's removal: named
   INBOX (in plugin {} or by a userdb field) a sweep purged INBOX mail
   older than hold. Such a name is refused with an error naming it, for
   the sweep and restore as for the pop3 session, and nothing is removed.
   A mailbox of the quarantine's name that the user made is purged only
   for a user whose policy holds (on_delete=hold). */
static void test_quarantine_name(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .faketime = TRUE };
	const char *const restore_argv[] = {
		"pop3-policy", "restore", "-u", "bob", "--all", NULL
	};
	PpInstance *inst;
	char *err;

	opts.plugin_settings = "pop3_policy = on_delete=hold hold=1d\n";
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	/* bob: INBOX from the userdb; carol: her own "POP3 Quarantine"
	   under an expunge policy; dave: the same under a hold policy */
	pp_instance_add_user(inst, "bob", "secret",
			     "pop3_policy_quarantine=INBOX");
	pp_instance_add_user(inst, "carol", "secret",
			     "pop3_policy=on_delete=expunge");
	pp_instance_add_user(inst, "dave", "secret", NULL);
	rt_deliver_n(inst, "bob", 3);
	rt_pin_save_dates(inst, "bob", "INBOX");
	save_to(inst, "carol", "POP3 Quarantine", 2);
	rt_pin_save_dates(inst, "carol", "POP3 Quarantine");
	save_to(inst, "dave", "POP3 Quarantine", 2);
	rt_pin_save_dates(inst, "dave", "POP3 Quarantine");
	pp_instance_set_time_offset(inst, "+3d");

	g_assert_cmpint(sweep_user(inst, "bob", &err), !=, 0);
	rt_assert_contains(err, "user bob: pop3_policy_quarantine=INBOX: ");
	g_free(err);
	g_assert_cmpint(rt_inbox_count(inst, "bob"), ==, 3);
	g_assert_cmpint(pp_instance_doveadm(inst, restore_argv, NULL, NULL,
					    &err), !=, 0);
	rt_assert_contains(err, "pop3_policy_quarantine=INBOX");
	g_free(err);
	g_assert_cmpint(rt_inbox_count(inst, "bob"), ==, 3);
	/* the session refuses it too, before any change */
	pp_assert_prefix(try_pass(inst, "bob", "secret"), "-ERR ");
	g_assert_cmpint(rt_inbox_count(inst, "bob"), ==, 3);

	g_assert_cmpint(sweep_user(inst, "carol", &err), ==, 0);
	g_free(err);
	g_assert_cmpint(rt_mailbox_count(inst, "carol", "POP3 Quarantine"),
			==, 2);
	/* under a hold policy that mailbox is the quarantine */
	g_assert_cmpint(sweep_user(inst, "dave", &err), ==, 0);
	g_free(err);
	g_assert_cmpint(rt_mailbox_count(inst, "dave", "POP3 Quarantine"),
			==, 0);
	rt_stop(inst);

	/* INBOX as the site's quarantine, in plugin {} */
	opts.plugin_settings = "pop3_policy = on_delete=hold hold=1d\n"
		"pop3_policy_quarantine = inbox\n";
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 2);
	rt_pin_save_dates(inst, "alice", "INBOX");
	pp_instance_set_time_offset(inst, "+3d");
	g_assert_cmpint(sweep_user(inst, "alice", &err), !=, 0);
	rt_assert_contains(err, "pop3_policy_quarantine=inbox: ");
	g_free(err);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 2);
	pp_unwatch_instance(NULL);
	rt_stop(inst);
}

/* doveadm pop3-apop runs as root: a userdb field naming another key file
   (or dict) must not be used, so that the userdb cannot make root read
   or write a path of its choosing. */
static void test_apop_userdb_key_file(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	char *key_file = key_file_for_start();
	char *evil_dir, *evil, *fields, *before, *after, *out, *err;
	const char *status_argv[] = {
		"-f", "tab", "pop3-apop", "status", "-u", "alice", NULL
	};
	const char *gen_argv[] = {
		"pop3-apop", "generate", "-u", "mallory", NULL
	};
	const char *rotate_argv[] = {
		"pop3-apop", "rotate-key", "--new-key", "-u", "mallory", NULL
	};
	const char *dict_gen_argv[] = {
		"pop3-apop", "generate", "-u", "trudy", NULL
	};

	opts.plugin_settings = g_strdup_printf(
		"pop3_policy_apop_key_file = %s", key_file);
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	evil_dir = g_build_filename(pp_instance_dir(inst), "evil", NULL);
	g_assert_cmpint(g_mkdir(evil_dir, 0700), ==, 0);
	evil = write_key_file(evil_dir, "user.keys", "9");
	fields = g_strdup_printf("pop3_policy_apop_key_file=%s", evil);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	pp_instance_add_user(inst, "mallory", "secret", fields);
	g_free(fields);
	fields = g_strdup_printf("pop3_policy_dict=file:%s/evil.dict",
				 evil_dir);
	pp_instance_add_user(inst, "trudy", "secret", fields);
	g_free(fields);
	g_assert_true(g_file_get_contents(evil, &before, NULL, NULL));

	/* the global key file serves a user without an override */
	g_free(apop_generate(inst, "alice"));
	g_assert_cmpint(pp_instance_doveadm(inst, status_argv, NULL, &out,
					    NULL), ==, 0);
	rt_assert_contains(out, "\nyes\t1\t");
	g_free(out);

	/* the override is refused, nothing is written anywhere */
	g_assert_cmpint(pp_instance_doveadm(inst, gen_argv, NULL, &out, &err),
			!=, 0);
	rt_assert_contains(err, "user mallory: the userdb sets "
			   "pop3_policy_apop_key_file");
	g_assert_true(out == NULL || strlen(g_strstrip(out)) == 0);
	g_free(out);
	g_free(err);
	g_assert_cmpint(pp_instance_doveadm(inst, rotate_argv, NULL, NULL,
					    &err), !=, 0);
	rt_assert_contains(err, "pop3_policy_apop_key_file");
	g_free(err);
	g_assert_true(g_file_get_contents(evil, &after, NULL, NULL));
	g_assert_cmpstr(before, ==, after);
	g_free(after);
	g_assert_cmpint(pp_instance_doveadm(inst, dict_gen_argv, NULL, NULL,
					    &err), !=, 0);
	rt_assert_contains(err, "user trudy: the userdb sets "
			   "pop3_policy_dict");
	g_free(err);
	fields = g_build_filename(evil_dir, "evil.dict", NULL);
	g_assert_false(g_file_test(fields, G_FILE_TEST_EXISTS));
	g_free(fields);

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	g_free(before);
	g_free(evil);
	g_free(evil_dir);
	g_free(key_file);
	g_free((char *)opts.plugin_settings);
}

/* The first line of `doveadm -f flow` output's field, e.g. "uid=". */
static char *flow_field(const char *out, const char *name)
{
	const char *p = strstr(out, name);
	const char *end;

	g_assert_nonnull(p);
	p += strlen(name);
	end = p + strcspn(p, " \n");
	return g_strndup(p, end - p);
}

/* A move journal is a file in the home that its repair trusts to say
   which mailbox loses the copies: one naming other mailboxes than the
   package's moves have (here a "hold" from Archive into INBOX, which
   would expunge INBOX's copies of Archive mail) is refused with an error
   naming it, and nothing is removed. */
static void test_forged_journal(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };
	const char *copy_argv[] = {
		"copy", "-u", "alice", "Archive", "mailbox", "INBOX", "all",
		NULL
	};
	const char *create_argv[] = {
		"mailbox", "create", "-u", "alice", "Archive", NULL
	};
	const char *fetch_argv[] = {
		"-f", "flow", "fetch", "-u", "alice", "uid guid", "mailbox",
		"Archive", "all", NULL
	};
	const char *status_argv[] = {
		"-f", "flow", "mailbox", "status", "-u", "alice",
		"uidvalidity", "Archive", NULL
	};
	const char *istatus_argv[] = {
		"-f", "flow", "mailbox", "status", "-u", "alice",
		"uidvalidity", "INBOX", NULL
	};
	PpInstance *inst;
	char *out, *uid, *guid, *uv, *iuv, *journal, *path, *err;
	GError *error = NULL;

	opts.plugin_settings = "pop3_policy = on_delete=hold\n";
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 1);
	g_assert_cmpint(pp_instance_doveadm(inst, create_argv, NULL, NULL,
					    NULL), ==, 0);
	g_assert_cmpint(pp_instance_doveadm(inst, copy_argv, NULL, NULL,
					    NULL), ==, 0);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "Archive"), ==, 1);
	g_assert_cmpint(pp_instance_doveadm(inst, fetch_argv, NULL, &out,
					    NULL), ==, 0);
	uid = flow_field(out, "uid=");
	guid = flow_field(out, "guid=");
	g_free(out);
	g_assert_cmpint(pp_instance_doveadm(inst, status_argv, NULL, &out,
					    NULL), ==, 0);
	uv = flow_field(out, "uidvalidity=");
	g_free(out);
	g_assert_cmpint(pp_instance_doveadm(inst, istatus_argv, NULL, &out,
					    NULL), ==, 0);
	iuv = flow_field(out, "uidvalidity=");
	g_free(out);

	journal = g_strdup_printf("pop3-policy-move\t1\thold\n"
				  "S\tArchive\t%s\nD\tINBOX\t%s\t1\n%s\t%s\n",
				  uv, iuv, uid, guid);
	path = g_build_filename(pp_instance_home(inst, "alice"),
				"pop3-policy.move", NULL);
	if (!g_file_set_contents(path, journal, -1, &error))
		g_error("%s", error->message);
	g_assert_cmpint(g_chmod(path, 0644), ==, 0);

	g_assert_cmpint(sweep_user(inst, "alice", &err), !=, 0);
	rt_assert_contains(err, "pop3-policy.move: refused: a hold moves "
			   "INBOX -> POP3 Quarantine, not Archive -> INBOX");
	g_free(err);
	g_assert_cmpint(rt_inbox_count(inst, "alice"), ==, 1);
	g_assert_cmpint(rt_mailbox_count(inst, "alice", "Archive"), ==, 1);
	/* kept for the administrator */
	g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	g_free(path);
	g_free(journal);
	g_free(uid);
	g_free(guid);
	g_free(uv);
	g_free(iuv);
}

/* A record whose set time localtime() cannot take: doveadm pop3-apop
   status answers with an error naming the user and key (it crashed),
   and the login fails. */
static void test_apop_status_bad_time(void)
{
	PpInstanceOptions opts = { 0 };
	PpInstance *inst;
	char *key_file = key_file_for_start();
	char *out = NULL, *err = NULL;
	const char *argv[] = {
		"pop3-apop", "status", "-u", "bob", NULL
	};
	int ret;

	opts.with_package = TRUE;
	opts.auth_chain = TRUE;
	opts.apop_key_file = key_file;
	opts.plugin_settings = g_strdup_printf(
		"pop3_policy_apop_key_file = %s", key_file);
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "bob", "secret", NULL);
	pp_instance_store_set_raw(inst, "bob", "shared/pop3-policy/apop/bob",
		"1\tapop\t1\t9223372036854775807\t000000000000000000000000"
		"\t00\t00000000000000000000000000000000");
	ret = pp_instance_doveadm(inst, argv, NULL, &out, &err);
	g_test_message("status: exit %d\n%s%s", ret, out != NULL ? out : "",
		       err != NULL ? err : "");
	g_assert_cmpint(ret, ==, 75 /* EX_TEMPFAIL */);
	rt_assert_contains(err, "user bob: key shared/pop3-policy/apop/bob: "
			   "malformed APOP record: invalid set time");
	g_free(out);
	g_free(err);
	/* the harness's chain goes on to its passwd-file, which refuses
	   the digest: the failure is in the log */
	pp_assert_prefix(try_apop(inst, "bob", "bob-Secret-1"), "-ERR ");
	g_free(rt_wait_log(inst, "user bob: key shared/pop3-policy/apop/bob: "
			   "malformed APOP record: invalid set time"));
	assert_log_clean(inst);

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	g_free((char *)opts.plugin_settings);
	g_free(key_file);
}

/* Bad key files: each APOP login fails closed (-ERR [SYS/TEMP]) with a
   log line naming the file and what is wrong; doveadm refuses to seal
   under it with the same reason and writes nothing; the record made
   before is kept and logs in again once the file is right. */
static void test_bad_key_files(void)
{
	static const struct {
		const char *content;
		int mode;
		const char *why;
	} bad[] = {
		{ NULL, 0640, "permissions 0640 are too open" },
		{ NULL, 0604, "too open" },
		{ "1 00112233\n", 0600, "line 1" },
		{ "# short\n1 " "00112233445566778899aabbccddeeff"
		  "00112233445566778899aabbccddee\n", 0600, "line 2" },
		{ "1 00112233445566778899aabbccddeeff"
		  "00112233445566778899aabbccddeeff\n"
		  "1 ffeeddccbbaa99887766554433221100"
		  "ffeeddccbbaa99887766554433221100\n", 0600,
		  "duplicate key id 1" },
		{ "1 zz112233445566778899aabbccddeeff"
		  "00112233445566778899aabbccddeeff\n", 0600,
		  "not valid hex" },
		{ "# nothing here\n", 0600, "no key" },
	};
	PpInstanceOptions opts = { 0 };
	PpInstance *inst;
	char *key_file = key_file_for_start();
	char *good, *secret, *out, *err, *needle, *log;
	const char *gen_argv[] = {
		"pop3-apop", "generate", "-u", "bob", NULL
	};
	const char *status_argv[] = {
		"-f", "tab", "pop3-apop", "status", "-u", "bob", NULL
	};
	GError *error = NULL;
	unsigned int i;

	opts.with_package = TRUE;
	opts.passdb_conf = g_strdup_printf(
		"passdb {\n"
		"  driver = pop3_policy\n"
		"  args = dict=%%{store_uri} key_file=%s\n"
		"  mechanisms = apop\n"
		"  result_internalfail = return-fail\n"
		"}\n"
		"passdb {\n"
		"  driver = passwd-file\n"
		"  args = scheme=PLAIN username_format=%%u %%{passwd_file}\n"
		"}\n", key_file);
	opts.plugin_settings = g_strdup_printf(
		"pop3_policy_apop_key_file = %s", key_file);
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	pp_instance_add_user(inst, "bob", "secret", NULL);
	secret = apop_generate(inst, "alice");
	g_assert_true(g_file_get_contents(key_file, &good, NULL, NULL));

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		if (!g_file_set_contents(key_file, bad[i].content != NULL ?
					 bad[i].content : good, -1, &error))
			g_error("%s", error->message);
		g_assert_cmpint(g_chmod(key_file, bad[i].mode), ==, 0);

		pp_assert_prefix(try_apop(inst, "alice", secret),
			      "-ERR [SYS/TEMP]");
		needle = g_strdup_printf("APOP key file %s", key_file);
		g_free(rt_wait_log(inst, needle));
		g_free(rt_wait_log(inst, bad[i].why));
		g_free(needle);

		g_assert_cmpint(pp_instance_doveadm(inst, gen_argv, NULL, &out,
						    &err), !=, 0);
		rt_assert_contains(err, key_file);
		rt_assert_contains(err, bad[i].why);
		/* no secret printed, none stored */
		g_assert_true(out == NULL || strlen(g_strstrip(out)) == 0);
		g_free(out);
		g_free(err);
		g_assert_cmpint(pp_instance_doveadm(inst, status_argv, NULL,
						    &out, NULL), ==, 0);
		rt_assert_contains(out, "\nno\t-\t-");
		g_free(out);
	}
	/* nothing was lost: the good file logs alice in again */
	if (!g_file_set_contents(key_file, good, -1, &error))
		g_error("%s", error->message);
	g_assert_cmpint(g_chmod(key_file, 0600), ==, 0);
	pp_assert_prefix(try_apop(inst, "alice", secret), "+OK");
	log = pp_instance_read_log(inst);
	g_assert_null(strstr(log, secret));
	g_free(log);
	assert_log_clean(inst);

	pp_unwatch_instance(NULL);
	rt_stop(inst);
	g_free(good);
	g_free(secret);
	g_free(key_file);
	g_free((char *)opts.passdb_conf);
	g_free((char *)opts.plugin_settings);
}

/* Malformed policies from the userdb and the store, of every kind: the
   session fails with -ERR [SYS/TEMP] and a log line naming the user and
   what was wrong, the sweep fails for the user the same way, and no
   message is removed (the site policy would remove every retrieved one
   at QUIT, and everything by max_age). */
static void test_bad_policy_inputs(void)
{
	static const struct {
		const char *user, *userdb, *why;
	} userdb_bad[] = {
		{ "u1", "pop3_policy=expire=soon", "expire=soon" },
		{ "u2", "pop3_policy=hold=10", "hold=10" },
		{ "u3", "pop3_policy=bogus=1", "unknown key 'bogus'" },
		{ "u4", "pop3_policy=noequals", "expected key=value" },
		{ "u5", "pop3_policy=class=nosuch", "unknown class" },
		{ "u6", "pop3_policy=class=loop", "class loop" },
		{ "u7", "pop3_policy=on_delete=move:INBOX", "INBOX" },
		{ "u8", "pop3_policy=login_burst=many", "login_burst=many" },
		{ "u9", "pop3_policy=class=twice", "named twice" },
		{ "u10", "pop3_policy=legal_hold=maybe", "legal_hold=maybe" },
	};
	static const struct {
		const char *user, *record, *why;
	} store_bad[] = {
		{ "s1", "1\tpolicy\t1700000000\texpire=soon", "expire=soon" },
		{ "s2", "9\tpolicy\t1700000000\texpire=1d", "version" },
		{ "s3", "1\tpolicy", "" },
		{ "s4", "1\tlogin\t1\t2\t3", "" },
		{ "s5", "garbage", "" },
		{ "s6", "1\tpolicy\t1700000000\ton_delete=move:a*b",
		  "wildcard" },
	};
	PpInstanceOptions opts = { .with_package = TRUE };
	PpUser users[G_N_ELEMENTS(userdb_bad) + G_N_ELEMENTS(store_bad) + 1] =
		{ { NULL } };
	PpInstance *inst;
	char *err, *log, *key;
	unsigned int i;

	opts.plugin_settings =
		"pop3_policy = expire=0 max_age=1s\n"
		"pop3_policy_class_loop = class=loop\n"
		"pop3_policy_class_twice = class=loop2 class=loop2\n"
		"pop3_policy_class_loop2 = dry_run=yes\n";
	/* every user before the start: auth looks at the passwd-file at
	   most once a second */
	for (i = 0; i < G_N_ELEMENTS(userdb_bad); i++) {
		users[i].name = userdb_bad[i].user;
		users[i].password = "secret";
		users[i].userdb_fields = userdb_bad[i].userdb;
	}
	for (i = 0; i < G_N_ELEMENTS(store_bad); i++) {
		users[G_N_ELEMENTS(userdb_bad) + i].name = store_bad[i].user;
		users[G_N_ELEMENTS(userdb_bad) + i].password = "secret";
	}
	opts.users = users;
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	for (i = 0; i < G_N_ELEMENTS(userdb_bad); i++)
		rt_deliver_n(inst, userdb_bad[i].user, 2);
	for (i = 0; i < G_N_ELEMENTS(store_bad); i++) {
		key = g_strdup_printf("shared/pop3-policy/policy/%s",
				      store_bad[i].user);
		rt_deliver_n(inst, store_bad[i].user, 2);
		pp_instance_store_set_raw(inst, store_bad[i].user, key,
					  store_bad[i].record);
		g_free(key);
	}
	/* save dates older than max_age=1s */
	pp_wait_next_second();

	for (i = 0; i < G_N_ELEMENTS(userdb_bad); i++) {
		const char *user = userdb_bad[i].user;
		char *needle = g_strdup_printf("user %s: userdb field "
					       "pop3_policy: ", user);

		pp_assert_prefix(try_pass(inst, user, "secret"),
			      "-ERR [SYS/TEMP]");
		log = rt_wait_log(inst, needle);
		g_free(log);
		g_assert_cmpint(sweep_user(inst, user, &err), !=, 0);
		rt_assert_contains(err, needle);
		rt_assert_contains(err, userdb_bad[i].why);
		g_free(err);
		g_free(needle);
		g_assert_cmpint(rt_inbox_count(inst, user), ==, 2);
	}
	for (i = 0; i < G_N_ELEMENTS(store_bad); i++) {
		const char *user = store_bad[i].user;
		char *needle = g_strdup_printf("shared/pop3-policy/policy/%s",
					       user);

		pp_assert_prefix(try_pass(inst, user, "secret"),
			      "-ERR [SYS/TEMP]");
		g_free(rt_wait_log(inst, needle));
		g_assert_cmpint(sweep_user(inst, user, &err), !=, 0);
		rt_assert_contains(err, "user ");
		rt_assert_contains(err, user);
		rt_assert_contains(err, needle);
		rt_assert_contains(err, store_bad[i].why);
		g_free(err);
		g_free(needle);
		g_assert_cmpint(rt_inbox_count(inst, user), ==, 2);
	}
	pp_unwatch_instance(NULL);
	rt_stop(inst);
}

/* The mail plugin's debug line names the store without its password
   (redis:...:password=...). Dovecot's own lib-dict logs the URI as given
   at debug level: that line is Dovecot's, not the package's. */
static void test_dict_password_not_logged(void)
{
	PpInstanceOptions opts = { .with_package = TRUE, .debug = TRUE };
	PpInstance *inst;
	char *log;

	opts.store = PP_STORE_NONE;
	/* nothing listens on port 9: the session fails closed after the
	   line was logged */
	opts.plugin_settings =
		"pop3_policy_dict = redis:host=127.0.0.1:port=9:"
		"password=TopSecret-7:db=3\n";
	inst = rt_start(&opts);
	pp_watch_instance(inst);
	pp_instance_add_user(inst, "alice", "secret", NULL);
	pp_assert_prefix(try_pass(inst, "alice", "secret"), "-ERR");
	log = rt_wait_log(inst, "with a store redis:host=127.0.0.1:port=9:"
			  "password=<hidden>:db=3");
	/* only Dovecot's own lib-dict debug line (src/lib-dict/dict.c,
	   "dict created (uri=...)") quotes the URI as it is */
	{
		char **lines = g_strsplit(log, "\n", -1);
		unsigned int i;

		for (i = 0; lines[i] != NULL; i++) {
			if (strstr(lines[i], "TopSecret-7") != NULL &&
			    strstr(lines[i], "dict created (uri=") == NULL)
				g_error("password in the log: %s", lines[i]);
		}
		g_strfreev(lines);
	}
	g_free(log);
	pp_unwatch_instance(NULL);
	rt_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/hardening/long-user", test_long_user);
	g_test_add_func("/hardening/apop-secret-other-mechanisms",
			test_apop_secret_other_mechanisms);
	g_test_add_func("/hardening/apop-plaintext-refused",
			test_apop_plaintext_refused);
	g_test_add_func("/hardening/apop-plaintext-allowed",
			test_apop_plaintext_allowed);
	g_test_add_func("/hardening/login-delay-proxy",
			test_login_delay_proxy);
	g_test_add_func("/hardening/quarantine-name", test_quarantine_name);
	g_test_add_func("/hardening/apop-userdb-key-file",
			test_apop_userdb_key_file);
	g_test_add_func("/hardening/forged-journal", test_forged_journal);
	g_test_add_func("/hardening/apop-status-bad-time",
			test_apop_status_bad_time);
	g_test_add_func("/hardening/bad-key-files", test_bad_key_files);
	g_test_add_func("/hardening/dict-password-not-logged",
			test_dict_password_not_logged);
	g_test_add_func("/hardening/bad-policy-inputs",
			test_bad_policy_inputs);
	return g_test_run();
}
