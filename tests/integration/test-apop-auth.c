/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* APOP secrets and login control against a real Dovecot:
   the documented passdb/userdb chain (APOP from the store, USER/PASS from
   a passwd-file with SHA512-CRYPT hashes, login control), the same
   -ERR [AUTH] text for every failure, -ERR [SYS/TEMP] for a store that is
   down or a bad key file or record, doveadm pop3-apop, key rotation while
   logging in, no secret in logs, store or doveadm output, LOGIN-DELAY
   with faketime, apop_only, and real clients (fetchmail, getmail6,
   Python's poplib) logging in with a generated secret. */

#define _GNU_SOURCE /* memmem() */
#include "pp-helpers.h"
#include "pp-backends.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

#define AUTH_FAILED "-ERR [AUTH] Authentication failed."
#define HASHED_PASS "hashed-Pa55"

typedef struct {
	PpInstance *inst;
	char *dir;
	char *key_file;
	char *hashed_file;
	char *passdb_conf;
	char *auth_chain_args;
	char *plugin_settings;
} Fixture;

typedef struct {
	/* policy words joined with ',' for the args (site default) */
	const char *site_policy;
	/* dict URI of the APOP passdb (NULL: the instance's store) */
	const char *apop_dict;
	gboolean faketime;
	gboolean debug;
	/* also run IMAP (pp_instance_imap_port()) */
	gboolean imap;
	/* the store's server (PP_STORE_BACKEND=pgsql|redis), else NULL */
	PpBackend *backend;
} FixtureOptions;

static int doveadm(Fixture *f, const char *const *argv, const char *input,
		   char **out_r, char **err_r)
{
	return pp_doveadm(f->inst, argv, input, out_r, err_r);
}

/* Users get a PLAIN password in the harness' passwd-file (the userdb)
   that no passdb of the chain uses, and their real password hashed in
   a separate passwd-file, as a site with hashed passwords has. */
static void add_users(Fixture *f, const char *const *users)
{
	const char *const pw_argv[] = {
		"pw", "-s", "SHA512-CRYPT", "-p", HASHED_PASS, NULL
	};
	char *hash, *old = NULL;
	GString *lines;
	unsigned int i;

	g_assert_cmpint(doveadm(f, pw_argv, NULL, &hash, NULL), ==, 0);
	g_strstrip(hash);
	g_assert_true(g_str_has_prefix(hash, "{SHA512-CRYPT}$6$"));
	(void)g_file_get_contents(f->hashed_file, &old, NULL, NULL);
	lines = g_string_new(old);
	for (i = 0; users[i] != NULL; i++) {
		pp_instance_add_user(f->inst, users[i], "plain-unused", NULL);
		g_string_append_printf(lines, "%s:%s\n", users[i], hash);
	}
	pp_write_file(f->hashed_file, lines->str, 0644);
	g_string_free(lines, TRUE);
	g_free(old);
	g_free(hash);
}

static Fixture *fixture_start(const FixtureOptions *fopts)
{
	static const char *const users[] = {
		"alice", "bob", "carol", "dave", "erin", "frank", NULL
	};
	PpInstanceOptions opts = { 0 };
	Fixture *f = g_new0(Fixture, 1);
	const char *site = fopts->site_policy != NULL ?
		fopts->site_policy : "login_delay=0";
	GError *error = NULL;
	char *key, *site_words;

	/* under the runner's per-program directory when there is one, so
	   that an aborted test leaves nothing behind */
	if (g_getenv("PP_TEST_TMPDIR") != NULL) {
		f->dir = g_build_filename(g_getenv("PP_TEST_TMPDIR"),
					  "pp-apop-XXXXXX", NULL);
		g_assert_nonnull(g_mkdtemp(f->dir));
	} else {
		f->dir = g_dir_make_tmp("pp-apop-XXXXXX", &error);
		g_assert_no_error(error);
	}
	/* auth reads the hashed passwd-file as the dovecot user */
	g_assert_cmpint(g_chmod(f->dir, 0755), ==, 0);
	f->key_file = g_build_filename(f->dir, "apop.keys", NULL);
	f->hashed_file = g_build_filename(f->dir, "hashed.passwd", NULL);
	key = pp_random_key_line("1");
	pp_write_file(f->key_file, key, 0600);
	g_free(key);
	pp_write_file(f->hashed_file, "", 0644);

	/* the site's passwords: hashed, in their own passwd-file */
	f->passdb_conf = g_strdup_printf(
		"passdb {\n"
		"  driver = passwd-file\n"
		"  args = scheme=SHA512-CRYPT username_format=%%u %s\n"
		"  skip = authenticated\n"
		"  result_success = continue-ok\n"
		"}\n", f->hashed_file);
	f->auth_chain_args = g_strdup_printf(
		"pop3_policy=%s pop3_policy_class_strict=apop_only=yes", site);
	/* the mail plugin reads the same site policy and classes */
	site_words = g_strdelimit(g_strdup(site), ",", ' ');
	f->plugin_settings = g_strdup_printf(
		"  pop3_policy_apop_key_file = %s\n"
		"  pop3_policy = %s\n"
		"  pop3_policy_class_strict = apop_only=yes",
		f->key_file, site_words);

	g_free(site_words);

	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	opts.passdb_conf = f->passdb_conf;
	opts.auth_chain = TRUE;
	opts.auth_chain_args = f->auth_chain_args;
	opts.apop_key_file = f->key_file;
	opts.apop_dict = fopts->apop_dict;
	/* pop3-login makes the APOP challenge with its own clock: it must
	   see libfaketime's offset file, so no chroot */
	if (fopts->faketime)
		opts.extra_conf = "service pop3-login {\n  chroot =\n}\n";
	opts.plugin_settings = f->plugin_settings;
	opts.faketime = fopts->faketime;
	opts.with_imap = fopts->imap;
	opts.backend = fopts->backend;
	opts.debug = fopts->debug || g_getenv("PP_APOP_DEBUG") != NULL;
	f->inst = pp_instance_start(&opts, &error);
	if (f->inst == NULL)
		g_error("%s", error->message);
	add_users(f, users);
	pp_watch_instance(f->inst);
	return f;
}

static void rm_rf(const char *path)
{
	const char *const argv[] = { "rm", "-rf", path, NULL };

	(void)g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
			   NULL, NULL, NULL, NULL, NULL, NULL);
}

static void fixture_stop(Fixture *f)
{
	pp_unwatch_instance(f->inst);
	pp_instance_stop(f->inst);
	rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->key_file);
	g_free(f->hashed_file);
	g_free(f->passdb_conf);
	g_free(f->auth_chain_args);
	g_free(f->plugin_settings);
	g_free(f);
}

static void assert_reply(char *reply, const char *expected)
{
	if (strcmp(reply, expected) != 0)
		pp_dump_logs();
	g_assert_cmpstr(reply, ==, expected);
	g_free(reply);
}

static PpPop3 *connect_pop3(Fixture *f)
{
	return pp_pop3_connect_or_die(pp_instance_port(f->inst));
}

/* One APOP login; returns the APOP reply (see pp_try_apop()). */
static char *try_apop(Fixture *f, const char *user, const char *secret)
{
	return pp_try_apop(pp_instance_port(f->inst), user, secret);
}

/* USER/PASS; returns the PASS reply (see pp_try_pass()). */
static char *try_pass(Fixture *f, const char *user, const char *password)
{
	return pp_try_pass(pp_instance_port(f->inst), user, password, NULL);
}

/* SASL PLAIN with an initial response; returns the AUTH reply. */
static char *try_auth_plain(Fixture *f, const char *user,
			    const char *password)
{
	return pp_try_auth_plain(pp_instance_port(f->inst), user, password);
}

static char *generate_secret(Fixture *f, const char *user)
{
	const char *const argv[] = {
		"pop3-apop", "generate", "-u", user, NULL
	};
	char *out;

	g_assert_cmpint(doveadm(f, argv, NULL, &out, NULL), ==, 0);
	g_strstrip(out);
	g_assert_cmpuint(strlen(out), >=, 22);
	return out;
}

/* the status row of the user: "<yes|no> <key id> <time>" */
static char *apop_status(Fixture *f, const char *user)
{
	const char *const argv[] = {
		"-f", "tab", "pop3-apop", "status", "-u", user, NULL
	};
	char *out, **lines, *row;

	g_assert_cmpint(doveadm(f, argv, NULL, &out, NULL), ==, 0);
	lines = g_strsplit(out, "\n", -1);
	g_assert_nonnull(lines[0]);
	g_assert_nonnull(lines[1]);
	g_assert_cmpstr(lines[0], ==, "secret\tkey_id\tset_time");
	row = g_strdup(lines[1]);
	g_strfreev(lines);
	g_free(out);
	return row;
}

/* Writes a raw value into the store, as damage or an old build would. */
static void store_set_raw(Fixture *f, const char *key, const char *value)
{
	/* the keys are shared/pop3-policy/<kind>/<user> */
	char *user = g_path_get_basename(key);

	pp_instance_store_set_raw(f->inst, user, key, value);
	g_free(user);
}

static char *store_get_raw(Fixture *f, const char *key)
{
	const char *const argv[] = {
		"dict", "get", pp_instance_store_uri(f->inst), key, NULL
	};
	char *out;

	g_assert_cmpint(doveadm(f, argv, NULL, &out, NULL), ==, 0);
	g_strstrip(out);
	return out;
}

static void set_user_policy(Fixture *f, const char *user, const char *policy)
{
	char *key = g_strdup_printf("shared/pop3-policy/policy/%s", user);
	char *value = g_strdup_printf("1\tpolicy\t1700000000\t%s", policy);

	store_set_raw(f, key, value);
	g_free(key);
	g_free(value);
}

static gboolean file_contains(const char *path, const char *needle)
{
	char *contents;
	gsize len;
	gboolean found = FALSE;

	if (!g_file_get_contents(path, &contents, &len, NULL))
		return FALSE;
	if (len >= strlen(needle)) {
		found = memmem(contents, len, needle,
			       strlen(needle)) != NULL;
	}
	g_free(contents);
	return found;
}

/* Every file under dir (log, store database, configs, homes). */
static unsigned int grep_tree(const char *dir, const char *needle,
			      GString *hits)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	unsigned int count = 0, files = 0;

	if (d == NULL)
		return 0;
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
			/* not followed */
		} else if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			count += grep_tree(path, needle, hits);
		} else if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
			files++;
			if (file_contains(path, needle)) {
				g_string_append_printf(hits, " %s", path);
				count++;
			}
		}
		g_free(path);
	}
	g_dir_close(d);
	return count;
}

static void test_apop_logins(void)
{
	FixtureOptions fopts = { 0 };
	Fixture *f = fixture_start(&fopts);
	const char *const set_argv[] = {
		"pop3-apop", "set", "-u", "carol", NULL
	};
	const char *const set_arg_argv[] = {
		"pop3-apop", "set", "-u", "dave", "dave-Secret-42", NULL
	};
	const char *const set_plain_argv[] = {
		"pop3-apop", "set", "--plaintext", "-u", "erin",
		"erin-plain-secret", NULL
	};
	const char *const set_bad_argv[] = {
		"pop3-apop", "set", "-u", "frank", NULL
	};
	const char *const delete_argv[] = {
		"pop3-apop", "delete", "-u", "carol", NULL
	};
	char *secret, *row, *err, *log, *raw;
	PpPop3 *pop3;
	char *reply, *digest, *cmd;

	secret = generate_secret(f, "alice");
	pp_instance_deliver(f->inst, "alice",
			    "From: a@example.com\nSubject: one\n\nbody one\n");

	/* the right digest logs in and the mailbox is there */
	pop3 = connect_pop3(f);
	digest = pp_apop_digest(pop3, secret);
	cmd = g_strdup_printf("APOP alice %s", digest);
	reply = pp_pop3_cmd(pop3, cmd);
	g_free(cmd);
	pp_assert_prefix(reply, "+OK");
	pp_assert_prefix(pp_pop3_cmd(pop3, "STAT"), "+OK 1 ");
	pp_assert_prefix(pp_pop3_cmd(pop3, "QUIT"), "+OK");
	pp_pop3_close(pop3);
	g_free(digest);

	/* wrong digest, unknown user, user without a secret: one answer */
	assert_reply(try_apop(f, "alice", "not-the-secret"), AUTH_FAILED);
	assert_reply(try_apop(f, "nosuchuser", secret), AUTH_FAILED);
	assert_reply(try_apop(f, "bob", secret), AUTH_FAILED);
	assert_reply(try_apop(f, "bob", "anything"), AUTH_FAILED);

	/* USER/PASS and SASL PLAIN from the hashed passwd-file, in the
	   same chain; the APOP secret is not a login password */
	pp_assert_prefix(try_pass(f, "alice", HASHED_PASS), "+OK");
	pp_assert_prefix(try_pass(f, "bob", HASHED_PASS), "+OK");
	pp_assert_prefix(try_auth_plain(f, "bob", HASHED_PASS), "+OK");
	assert_reply(try_pass(f, "alice", secret), AUTH_FAILED);
	assert_reply(try_pass(f, "bob", "plain-unused"), AUTH_FAILED);
	assert_reply(try_pass(f, "nosuchuser", HASHED_PASS), AUTH_FAILED);

	/* set from stdin, set from the argument, set --plaintext */
	g_assert_cmpint(doveadm(f, set_argv, "carol-stdin-Secret\n", NULL,
				NULL), ==, 0);
	pp_assert_prefix(try_apop(f, "carol", "carol-stdin-Secret"), "+OK");
	g_assert_cmpint(doveadm(f, set_arg_argv, NULL, NULL, NULL), ==, 0);
	pp_assert_prefix(try_apop(f, "dave", "dave-Secret-42"), "+OK");
	g_assert_cmpint(doveadm(f, set_plain_argv, NULL, NULL, NULL), ==, 0);
	/* an unencrypted record: refused by a passdb without
	   allow_plaintext=yes (this chain's), and not as a wrong digest
	   (tests/integration/test-hardening.c has the allowed case) */
	pp_assert_prefix(try_apop(f, "erin", "erin-plain-secret"),
			    "-ERR [SYS/TEMP]");
	/* a bad secret is refused with a reason, and nothing is stored */
	g_assert_cmpint(doveadm(f, set_bad_argv, "\n", NULL, &err), !=, 0);
	g_assert_nonnull(strstr(err, "APOP secret is empty"));
	g_free(err);
	{
		const char *const set_all_argv[] = {
			"pop3-apop", "set", "-A", "same-for-all", NULL
		};

		g_assert_cmpint(doveadm(f, set_all_argv, NULL, NULL, &err),
				==, 64);
		g_assert_nonnull(strstr(err, "the same secret"));
		g_free(err);
	}

	/* status: has a secret, key id, set time; never the secret */
	row = apop_status(f, "alice");
	g_assert_true(g_str_has_prefix(row, "yes\t1\t"));
	g_free(row);
	row = apop_status(f, "erin");
	g_assert_true(g_str_has_prefix(row, "yes\tPLAIN\t"));
	g_free(row);
	row = apop_status(f, "bob");
	g_assert_cmpstr(row, ==, "no\t-\t-");
	g_free(row);
	/* the encrypted record holds neither the secret nor its hex */
	raw = store_get_raw(f, "shared/pop3-policy/apop/carol");
	g_assert_true(g_str_has_prefix(raw, "1\tapop\t1\t"));
	g_assert_null(strstr(raw, "carol-stdin-Secret"));
	g_free(raw);

	/* delete: APOP fails like any unknown secret; a second delete says
	   there is nothing (EX_NOUSER) */
	g_assert_cmpint(doveadm(f, delete_argv, NULL, NULL, NULL), ==, 0);
	assert_reply(try_apop(f, "carol", "carol-stdin-Secret"), AUTH_FAILED);
	g_assert_cmpint(doveadm(f, delete_argv, NULL, NULL, &err), ==, 68);
	g_assert_nonnull(strstr(err, "has no APOP secret"));
	g_free(err);

	/* the generated secret is nowhere: not in the log, the store's
	   database, the instance's files, or any doveadm output but
	   generate's own */
	{
		GString *hits = g_string_new(NULL);
		const char *const rotate_argv[] = {
			"pop3-apop", "rotate-key", "-A", NULL
		};
		char *out;

		g_assert_cmpint(doveadm(f, rotate_argv, NULL, &out, &err),
				==, 0);
		g_assert_true(out == NULL || strstr(out, secret) == NULL);
		g_assert_true(err == NULL || strstr(err, secret) == NULL);
		g_free(out);
		g_free(err);
		log = pp_instance_read_log(f->inst);
		g_assert_null(strstr(log, secret));
		g_assert_null(strstr(log, "dave-Secret-42"));
		g_free(log);
		g_assert_cmpuint(grep_tree(pp_instance_dir(f->inst), secret,
					   hits), ==, 0);
		g_assert_cmpuint(grep_tree(pp_instance_dir(f->inst),
					   "carol-stdin-Secret", hits), ==, 0);
		g_string_free(hits, TRUE);
	}
	g_free(secret);
	fixture_stop(f);
}

static gboolean log_has(Fixture *f, const char *needle)
{
	char *log = pp_instance_read_log(f->inst);
	gboolean found = strstr(log, needle) != NULL;

	if (!found)
		g_test_message("log lacks '%s':\n%s", needle, log);
	g_free(log);
	return found;
}

/* The APOP passdb reads the policy record with the secret and leaves it
   for the login check and the userdb, which hands it to the session: one
   read of it per APOP login, by any process. The policy still applies:
   login_delay=1h from the store refuses the second login. */
static void test_apop_policy_read_once(void)
{
	FixtureOptions fopts = { .debug = TRUE };
	Fixture *f = fixture_start(&fopts);
	char *secret, *reply;
	unsigned int i;

	secret = generate_secret(f, "alice");
	set_user_policy(f, "alice", "expire=30d");
	for (i = 0; i < 3; i++) {
		reply = try_apop(f, "alice", secret);
		pp_assert_prefix(reply, "+OK");
	}
	g_assert_cmpuint(pp_instance_log_lookups(f->inst, NULL,
					 "shared/pop3-policy/policy/alice"),
			 ==, 3);
	g_assert_true(log_has(f, "Policy record handed over by the userdb"));

	set_user_policy(f, "alice", "login_delay=1h");
	reply = try_apop(f, "alice", secret);
	pp_assert_prefix(reply, "+OK");
	reply = try_apop(f, "alice", secret);
	pp_assert_prefix(reply, "-ERR [LOGIN-DELAY]");
	g_free(secret);
	fixture_stop(f);
}

/* A store that is down, a bad key file, a wrong key, damaged records:
   -ERR [SYS/TEMP] with a clear log line, never "wrong password", and
   never a login. */
static void test_apop_fail_closed(void)
{
	FixtureOptions fopts = { 0 };
	Fixture *f;
	char *secret, *down_uri, *raw, *good_key, *other_key;
	char **parts;

	/* the APOP passdb's store unreachable (a dict socket that is not
	   there); USER/PASS keeps working */
	down_uri = g_strdup_printf("proxy:%s/no-dict-here:pop3policy",
				   g_get_tmp_dir());
	fopts.apop_dict = down_uri;
	f = fixture_start(&fopts);
	secret = generate_secret(f, "alice");
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	pp_assert_prefix(try_apop(f, "bob", "x"), "-ERR [SYS/TEMP] ");
	g_assert_true(log_has(f, "pop3-policy store: user alice: key "
			      "shared/pop3-policy/apop/alice: lookup failed"));
	pp_assert_prefix(try_pass(f, "alice", HASHED_PASS), "+OK");
	g_free(secret);
	fixture_stop(f);
	g_free(down_uri);

	fopts.apop_dict = NULL;
	f = fixture_start(&fopts);
	secret = generate_secret(f, "alice");
	pp_assert_prefix(try_apop(f, "alice", secret), "+OK");

	/* a key file anyone can read is refused, not used */
	g_assert_cmpint(g_chmod(f->key_file, 0644), ==, 0);
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	g_assert_true(log_has(f, "permissions 0644 are too open"));
	g_assert_cmpint(g_chmod(f->key_file, 0600), ==, 0);
	pp_assert_prefix(try_apop(f, "alice", secret), "+OK");

	/* a wrong key under the same id */
	g_assert_true(g_file_get_contents(f->key_file, &good_key, NULL, NULL));
	other_key = pp_random_key_line("1");
	pp_write_file(f->key_file, other_key, 0600);
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	g_assert_true(log_has(f, "does not decrypt under key 1"));
	/* a key file without the record's key id */
	g_free(other_key);
	other_key = pp_random_key_line("7");
	pp_write_file(f->key_file, other_key, 0600);
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	g_assert_true(log_has(f, "encrypted under key id 1, which key file"));
	pp_write_file(f->key_file, good_key, 0600);
	pp_assert_prefix(try_apop(f, "alice", secret), "+OK");

	/* a corrupted record (one ciphertext digit changed) */
	raw = store_get_raw(f, "shared/pop3-policy/apop/alice");
	parts = g_strsplit(raw, "\t", -1);
	g_assert_cmpuint(g_strv_length(parts), ==, 7);
	parts[5][0] = parts[5][0] == 'a' ? 'b' : 'a';
	{
		char *bad = g_strjoinv("\t", parts);

		store_set_raw(f, "shared/pop3-policy/apop/alice", bad);
		g_free(bad);
	}
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	/* a truncated record (tag missing) */
	{
		char *cut;

		g_free(parts[6]);
		parts[6] = NULL;
		cut = g_strjoinv("\t", parts);
		store_set_raw(f, "shared/pop3-policy/apop/alice", cut);
		g_free(cut);
	}
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	g_assert_true(log_has(f, "encrypted record is truncated"));
	/* a record of an unknown version */
	store_set_raw(f, "shared/pop3-policy/apop/alice", "9\tapop\t1\t2\t3");
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	/* alice's record copied to bob does not log bob in */
	store_set_raw(f, "shared/pop3-policy/apop/bob", raw);
	pp_assert_prefix(try_apop(f, "bob", secret), "-ERR [SYS/TEMP] ");
	/* none of these errors quotes the secret */
	g_assert_false(log_has(f, secret));

	g_strfreev(parts);
	g_free(raw);
	g_free(good_key);
	g_free(other_key);
	g_free(secret);
	fixture_stop(f);
}

/* rotate-key --new-key re-encrypts under a new key while logins go on;
   auth picks the new key file up without a restart. */
static void test_apop_rotate(void)
{
	FixtureOptions fopts = { 0 };
	Fixture *f = fixture_start(&fopts);
	const char *const rotate_argv[] = {
		"-f", "tab", "pop3-apop", "rotate-key", "--new-key", "-A", NULL
	};
	const char *const rotate_again_argv[] = {
		"-f", "tab", "pop3-apop", "rotate-key", "-u", "alice", NULL
	};
	char *alice, *dave, *out, *row, *keys, **lines;
	struct stat st;

	alice = generate_secret(f, "alice");
	dave = generate_secret(f, "dave");
	pp_assert_prefix(try_apop(f, "alice", alice), "+OK");

	g_assert_cmpint(doveadm(f, rotate_argv, NULL, &out, NULL), ==, 0);
	g_assert_nonnull(strstr(out, "alice\t1\t2\tre-encrypted"));
	g_assert_nonnull(strstr(out, "dave\t1\t2\tre-encrypted"));
	g_assert_nonnull(strstr(out, "bob\t-\t-\tno secret"));
	g_assert_null(strstr(out, alice));
	g_free(out);
	/* the key file got key 2 and stayed private */
	g_assert_true(g_file_get_contents(f->key_file, &keys, NULL, NULL));
	lines = g_strsplit(keys, "\n", -1);
	g_assert_true(g_str_has_prefix(lines[0], "1 "));
	g_assert_true(g_str_has_prefix(lines[1], "2 "));
	g_strfreev(lines);
	g_free(keys);
	g_assert_cmpint(g_stat(f->key_file, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);

	row = apop_status(f, "alice");
	g_assert_true(g_str_has_prefix(row, "yes\t2\t"));
	g_free(row);
	pp_assert_prefix(try_apop(f, "alice", alice), "+OK");
	pp_assert_prefix(try_apop(f, "dave", dave), "+OK");
	assert_reply(try_apop(f, "dave", alice), AUTH_FAILED);

	/* nothing left under key 1: a second run changes nothing */
	g_assert_cmpint(doveadm(f, rotate_again_argv, NULL, &out, NULL), ==, 0);
	g_assert_nonnull(strstr(out, "\n2\t2\tunchanged"));
	g_free(out);

	/* with key 1 gone from the file, logins still work */
	g_assert_true(g_file_get_contents(f->key_file, &keys, NULL, NULL));
	lines = g_strsplit(keys, "\n", -1);
	{
		char *only2 = g_strdup_printf("%s\n", lines[1]);

		pp_write_file(f->key_file, only2, 0600);
		g_free(only2);
	}
	g_strfreev(lines);
	g_free(keys);
	pp_assert_prefix(try_apop(f, "alice", alice), "+OK");

	g_free(alice);
	g_free(dave);
	fixture_stop(f);
}

static char *auth_test_imap(Fixture *f, const char *user, int *ret_r)
{
	const char *const argv[] = {
		"auth", "test", "-x", "service=imap", user, HASHED_PASS, NULL
	};
	char *out;

	*ret_r = doveadm(f, argv, NULL, &out, NULL);
	return out;
}

/* Moves the instance's clock. Dovecot's APOP refuses a challenge whose
   timestamp is older than the auth process, and auth may be restarted at
   the jump, so wait until pop3-login's challenges carry the new time. */
static void time_jump(Fixture *f, const char *offset, gint64 offset_secs)
{
	gint64 want = g_get_real_time() / G_USEC_PER_SEC + offset_secs - 2;
	unsigned int i;

	pp_instance_set_time_offset(f->inst, offset);
	for (i = 0; i < 60; i++) {
		PpPop3 *pop3 = connect_pop3(f);
		const char *challenge = strchr(pp_pop3_greeting(pop3), '<');
		unsigned long pid, uid, timestamp = 0;

		g_assert_nonnull(challenge);
		g_assert_cmpint(sscanf(challenge, "<%lx.%lx.%lx.", &pid, &uid,
				       &timestamp), ==, 3);
		pp_pop3_close(pop3);
		if ((gint64)timestamp >= want)
			break;
		g_usleep(500 * 1000);
	}
	g_assert_cmpuint(i, <, 60);
	/* wake a restarted auth with a failing login, a second before the
	   next challenge */
	assert_reply(try_pass(f, "bob", "wrong"), AUTH_FAILED);
	g_usleep(1100 * 1000);
}

/* login_delay (site default in the args) and login_burst (the user's
   store record, key by key over the site default), faketime. */
static void test_apop_login_delay(void)
{
	FixtureOptions fopts = { 0 };
	Fixture *f;
	char *secret, *reply, *out;
	PpPop3 *pop3;
	int ret;

	fopts.site_policy = "login_delay=15m";
	fopts.faketime = TRUE;
	f = fixture_start(&fopts);
	pp_instance_set_time_offset(f->inst, "+0");
	secret = generate_secret(f, "erin");
	set_user_policy(f, "dave", "login_burst=1");

	/* a wrong password inside no window, then the first login */
	assert_reply(try_pass(f, "erin", "wrong"), AUTH_FAILED);
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS), "+OK");

	/* inside the window: PASS, AUTH and APOP get LOGIN-DELAY; USER is
	   never refused (try_pass asserts USER's +OK) */
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS),
			    "-ERR [LOGIN-DELAY] ");
	pp_assert_prefix(try_auth_plain(f, "erin", HASHED_PASS),
			    "-ERR [LOGIN-DELAY] ");
	pp_assert_prefix(try_apop(f, "erin", secret), "-ERR [LOGIN-DELAY] ");
	/* a wrong password still gets the usual answer, which tells nothing
	   about the window */
	assert_reply(try_pass(f, "erin", "wrong"), AUTH_FAILED);
	/* known limit: Dovecot checks an APOP digest only after the whole
	   passdb chain, so inside the window a wrong digest is answered
	   LOGIN-DELAY too (it does not count as a login, see frank below) */
	pp_assert_prefix(try_apop(f, "erin", "wrong"), "-ERR [LOGIN-DELAY] ");
	/* the refused session stays usable for another try: USER again */
	pop3 = connect_pop3(f);
	assert_reply(pp_pop3_cmd(pop3, "USER erin"), "+OK");
	reply = pp_pop3_cmd(pop3, "PASS " HASHED_PASS);
	pp_assert_prefix(reply, "-ERR [LOGIN-DELAY] ");
	assert_reply(pp_pop3_cmd(pop3, "USER erin"), "+OK");
	pp_pop3_close(pop3);

	/* other services are untouched */
	out = auth_test_imap(f, "erin", &ret);
	g_assert_cmpint(ret, ==, 0);
	g_assert_nonnull(strstr(out, "auth succeeded"));
	g_assert_null(strstr(out, "nologin"));
	g_assert_null(strstr(out, "LOGIN-DELAY"));
	g_free(out);

	/* after the delay: allowed again, once */
	time_jump(f, "+16m", 16 * 60);
	pp_assert_prefix(try_apop(f, "erin", secret), "+OK");
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS),
			    "-ERR [LOGIN-DELAY] ");

	/* login_burst=1 from the store: two logins per window */
	pp_assert_prefix(try_pass(f, "dave", HASHED_PASS), "+OK");
	pp_assert_prefix(try_pass(f, "dave", HASHED_PASS), "+OK");
	pp_assert_prefix(try_pass(f, "dave", HASHED_PASS),
			    "-ERR [LOGIN-DELAY] ");

	/* wrong APOP digests do not use up the window */
	g_free(secret);
	secret = generate_secret(f, "frank");
	assert_reply(try_apop(f, "frank", "wrong"), AUTH_FAILED);
	assert_reply(try_apop(f, "frank", "wrong"), AUTH_FAILED);
	pp_assert_prefix(try_apop(f, "frank", secret), "+OK");
	pp_assert_prefix(try_apop(f, "frank", secret), "-ERR [LOGIN-DELAY] ");

	time_jump(f, "+32m", 32 * 60);
	pp_assert_prefix(try_pass(f, "dave", HASHED_PASS), "+OK");
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS), "+OK");

	/* a damaged login record fails closed, not open */
	store_set_raw(f, "shared/pop3-policy/login/bob", "1\tlogin\tx\ty\tz");
	pp_assert_prefix(try_pass(f, "bob", HASHED_PASS), "-ERR [SYS/TEMP] ");
	/* and a bad policy in the store too */
	set_user_policy(f, "carol", "login_delay=soon");
	pp_assert_prefix(try_pass(f, "carol", HASHED_PASS),
			 "-ERR [SYS/TEMP] ");
	/* the same over APOP, whose passdb reads these records with the
	   secret and hands them to the login check: a damaged one is not
	   handed over, and the check reading it itself fails closed */
	g_free(secret);
	secret = generate_secret(f, "bob");
	pp_assert_prefix(try_apop(f, "bob", secret), "-ERR [SYS/TEMP] ");
	g_free(secret);
	secret = generate_secret(f, "carol");
	pp_assert_prefix(try_apop(f, "carol", secret), "-ERR [SYS/TEMP] ");
	/* repaired: in again, and counted */
	set_user_policy(f, "carol", "login_delay=15m");
	pp_assert_prefix(try_apop(f, "carol", secret), "+OK");
	pp_assert_prefix(try_apop(f, "carol", secret),
			    "-ERR [LOGIN-DELAY] ");

	g_free(secret);
	fixture_stop(f);
}

/* An IMAP command over TCP (the harness' line client speaks any line
   protocol); returns the first reply line, which for LOGIN and
   AUTHENTICATE with an initial response is the tagged status
   ("a OK ..." / "a NO ..."; Dovecot puts CAPABILITY in the OK's response
   code, so no untagged line comes first). A succeeded session is closed
   with LOGOUT. */
static char *try_imap(Fixture *f, const char *cmd)
{
	GError *error = NULL;
	PpPop3 *imap = pp_pop3_connect(pp_instance_imap_port(f->inst),
				       &error);
	char *reply;

	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(pp_pop3_greeting(imap), "* OK "));
	reply = pp_pop3_cmd(imap, cmd);
	if (g_str_has_prefix(reply, "a OK"))
		g_free(pp_pop3_cmd(imap, "b LOGOUT"));
	pp_pop3_close(imap);
	return reply;
}

static char *try_imap_login(Fixture *f, const char *user,
			    const char *password)
{
	char *cmd = g_strdup_printf("a LOGIN %s %s", user, password);
	char *reply = try_imap(f, cmd);

	g_free(cmd);
	return reply;
}

/* AUTHENTICATE PLAIN with an initial response (SASL-IR) */
static char *try_imap_auth_plain(Fixture *f, const char *user,
				 const char *password)
{
	char *b64 = pp_sasl_plain(user, password);
	char *cmd = g_strdup_printf("a AUTHENTICATE PLAIN %s", b64);
	char *reply = try_imap(f, cmd);

	g_free(cmd);
	g_free(b64);
	return reply;
}

/* Login control over real IMAP (dovecot-imapd) next to POP3 on the same
   instance and passdb chain: login_delay and apop_only act on POP3 only,
   and IMAP logins are not POP3 logins for the delay. */
static void test_apop_imap_untouched(void)
{
	FixtureOptions fopts = { 0 };
	const char *dave_login_get[] = {
		"dict", "get", NULL /* the store's URI */,
		"shared/pop3-policy/login/dave", NULL
	};
	Fixture *f;
	char *secret, *record;

	fopts.site_policy = "login_delay=15m";
	fopts.imap = TRUE;
	f = fixture_start(&fopts);
	dave_login_get[2] = pp_instance_store_uri(f->inst);
	secret = generate_secret(f, "alice");
	set_user_policy(f, "alice", "apop_only=yes");

	/* the IMAP side authenticates for real: a wrong password fails */
	pp_assert_prefix(try_imap_login(f, "erin", "wrong"), "a NO ");
	pp_assert_prefix(try_imap_auth_plain(f, "erin", "wrong"), "a NO ");

	/* login_delay: a POP3 login opens the window; IMAP is not held by
	   it, and a second POP3 login inside it is */
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS), "+OK");
	pp_assert_prefix(try_imap_login(f, "erin", HASHED_PASS), "a OK ");
	pp_assert_prefix(try_imap_auth_plain(f, "erin", HASHED_PASS),
			    "a OK ");
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS),
			    "-ERR [LOGIN-DELAY] ");
	pp_assert_prefix(try_imap_login(f, "erin", HASHED_PASS), "a OK ");

	/* IMAP logins are not counted: none is recorded, and the first
	   POP3 login after them is allowed, the second not */
	pp_assert_prefix(try_imap_login(f, "dave", HASHED_PASS), "a OK ");
	pp_assert_prefix(try_imap_auth_plain(f, "dave", HASHED_PASS),
			    "a OK ");
	pp_assert_prefix(try_imap_login(f, "dave", HASHED_PASS), "a OK ");
	g_assert_cmpint(doveadm(f, dave_login_get, NULL, NULL, &record), ==,
			68 /* EX_NOUSER: no such key */);
	g_assert_nonnull(strstr(record, "doesn't exist"));
	g_free(record);
	pp_assert_prefix(try_pass(f, "dave", HASHED_PASS), "+OK");
	record = store_get_raw(f, "shared/pop3-policy/login/dave");
	g_assert_true(g_str_has_prefix(record, "1\tlogin\t"));
	g_free(record);
	pp_assert_prefix(try_pass(f, "dave", HASHED_PASS),
			    "-ERR [LOGIN-DELAY] ");

	/* apop_only: refused on POP3 USER/PASS and AUTH PLAIN, allowed on
	   IMAP LOGIN and AUTHENTICATE PLAIN (and no POP3 login recorded by
	   either, so APOP still gets in) */
	assert_reply(try_pass(f, "alice", HASHED_PASS), AUTH_FAILED);
	assert_reply(try_auth_plain(f, "alice", HASHED_PASS), AUTH_FAILED);
	pp_assert_prefix(try_imap_login(f, "alice", HASHED_PASS), "a OK ");
	pp_assert_prefix(try_imap_auth_plain(f, "alice", HASHED_PASS),
			    "a OK ");
	pp_assert_prefix(try_apop(f, "alice", secret), "+OK");
	pp_assert_prefix(try_apop(f, "alice", secret),
			    "-ERR [LOGIN-DELAY] ");

	g_free(secret);
	fixture_stop(f);
}

/* Runs SQL on the instance's SQLite store (beside the dict server). */
static void sqlite_store_exec(Fixture *f, const char *sql)
{
	char *db = g_build_filename(pp_instance_dir(f->inst), "store",
				    "pop3-policy.sqlite", NULL);
	const char *const argv[] = { "sqlite3", "-batch", "-bail", db, sql,
				     NULL };
	char *err = NULL;

	if (pp_instance_run(f->inst, argv, NULL, NULL, &err) != 0)
		g_error("sqlite3 %s: %s", sql, err);
	g_free(err);
	g_free(db);
}

/* Makes the store refuse writes of login records (and, on Redis, every
   write) while reads keep working, or lets writes through again. */
static void store_refuse_login_writes(Fixture *f, PpBackend *backend,
				      gboolean refuse)
{
	static const char *const trigger_sql =
		/* switched by data, not by a schema change (the dict
		   server's SQLite statements fail once after one) */
		"CREATE TABLE pp_test_refuse (x INTEGER);"
		"INSERT INTO pp_test_refuse VALUES (1);"
		"CREATE TRIGGER pp_test_refuse_insert BEFORE INSERT ON "
		"pop3_policy_login WHEN EXISTS (SELECT 1 FROM pp_test_refuse) "
		"BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
		"CREATE TRIGGER pp_test_refuse_update BEFORE UPDATE ON "
		"pop3_policy_login WHEN EXISTS (SELECT 1 FROM pp_test_refuse) "
		"BEGIN SELECT RAISE(ABORT, 'refused by test'); END;";
	static const char *const pgsql_sql =
		"CREATE FUNCTION pp_test_refuse() RETURNS trigger AS $$ "
		"BEGIN RAISE EXCEPTION 'refused by test'; END; "
		"$$ LANGUAGE plpgsql;"
		"CREATE TRIGGER pp_test_refuse BEFORE INSERT OR UPDATE ON "
		"pop3_policy_login FOR EACH ROW EXECUTE FUNCTION "
		"pp_test_refuse();";
	/* a server that must copy every write to a replica it does not
	   have refuses writes (NOREPLICAS) and still answers reads */
	const char *const redis_argv[] = {
		"CONFIG", "SET", "min-replicas-to-write", refuse ? "1" : "0",
		NULL
	};

	switch (pp_backends_effective_store(PP_STORE_SQLITE)) {
	case PP_STORE_PGSQL:
		g_free(pp_backend_psql(backend, refuse ? pgsql_sql :
			"DROP TRIGGER pp_test_refuse ON pop3_policy_login;"));
		break;
	case PP_STORE_REDIS:
		g_free(pp_backend_redis_cli(backend, redis_argv));
		break;
	default:
		sqlite_store_exec(f, refuse ? trigger_sql :
				  "DELETE FROM pp_test_refuse;");
		break;
	}
}

/* The login record is written before the login is answered: a write that
   fails while reads work (a trigger refusing writes to the login table; on
   Redis, a server refusing all writes) lets the correct login through,
   logs an error naming the user and the key, and the login does not count.
   A store that cannot be read still fails closed (the damaged-record cases
   of /apop/login-delay). */
static void test_apop_login_write_fails(void)
{
	FixtureOptions fopts = { 0 };
	PpBackend *backend = NULL;
	GError *error = NULL;
	Fixture *f;
	char *reply;
	unsigned int i;

	switch (pp_backends_effective_store(PP_STORE_SQLITE)) {
	case PP_STORE_PGSQL:
		backend = pp_backend_start(PP_BACKEND_PGSQL, &error);
		break;
	case PP_STORE_REDIS:
		backend = pp_backend_start(PP_BACKEND_REDIS, &error);
		break;
	default:
		break;
	}
	g_assert_no_error(error);
	fopts.site_policy = "login_delay=15m";
	fopts.backend = backend;
	f = fixture_start(&fopts);
	store_refuse_login_writes(f, backend, TRUE);

	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS), "+OK");
	g_assert_true(pp_instance_wait_log(f->inst,
		"recording the login for LOGIN-DELAY failed, letting the "
		"login through (it does not count): pop3-policy store: "
		"user erin: key shared/pop3-policy/login/erin: write failed",
		10000));
	g_assert_false(log_has(f, HASHED_PASS));
	/* not counted: the next login gets in too */
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS), "+OK");

	/* writes work again: counted, and the window holds. Dovecot's
	   pgsql driver may drop its connection after the refused commits
	   and answer "Not connected" until it has reconnected: that is
	   -ERR [SYS/TEMP] (fail closed) and does not count either */
	store_refuse_login_writes(f, backend, FALSE);
	for (i = 0; i < 40; i++) {
		reply = try_pass(f, "erin", HASHED_PASS);
		if (!g_str_has_prefix(reply, "-ERR [SYS/TEMP] "))
			break;
		g_free(reply);
		g_usleep(250 * 1000);
	}
	pp_assert_prefix(reply, "+OK");
	pp_assert_prefix(try_pass(f, "erin", HASHED_PASS),
			    "-ERR [LOGIN-DELAY] ");
	fixture_stop(f);
	pp_backend_free(backend);
}

/* apop_only=yes: a user with a secret may only use APOP. */
static void test_apop_only(void)
{
	FixtureOptions fopts = { 0 };
	Fixture *f = fixture_start(&fopts);
	char *secret, *out;
	int ret;

	secret = generate_secret(f, "alice");
	set_user_policy(f, "alice", "apop_only=yes");
	/* through a class, in the store record */
	set_user_policy(f, "bob", "class=strict");

	assert_reply(try_pass(f, "alice", HASHED_PASS), AUTH_FAILED);
	assert_reply(try_auth_plain(f, "alice", HASHED_PASS), AUTH_FAILED);
	pp_assert_prefix(try_apop(f, "alice", secret), "+OK");
	/* apop_only without a secret changes nothing: the user could not
	   log in at all otherwise */
	pp_assert_prefix(try_pass(f, "bob", HASHED_PASS), "+OK");
	/* other services are untouched */
	out = auth_test_imap(f, "alice", &ret);
	g_assert_cmpint(ret, ==, 0);
	g_free(out);
	/* users without the key as before */
	pp_assert_prefix(try_pass(f, "carol", HASHED_PASS), "+OK");

	g_free(secret);
	fixture_stop(f);
}

/* Runs a client; its stdout and stderr together in output_r. */
static int run_client(const char *const *argv, const char *cwd,
		      const char *const *envp, char **output_r)
{
	char *out = NULL, *err = NULL;
	int ret = pp_run_program(argv, cwd, envp, NULL, &out, &err);

	if (output_r != NULL)
		*output_r = g_strconcat(out, err, NULL);
	g_free(out);
	g_free(err);
	return ret;
}

/* fetchmail (protocol APOP) and getmail (use_apop) fetch both messages
   and leave them on the server. */
static void client_fetchmail(Fixture *f, const char *user,
			     const char *secret)
{
	PpClient *c = pp_client_new();

	g_assert_cmpint(pp_client_fetchmail(c, pp_instance_port(f->inst),
					    "apop", user, secret, NULL), ==, 0);
	g_assert_cmpuint(pp_maildir_count(c->out, NULL), ==, 2);
	g_assert_cmpuint(pp_maildir_count(c->out, "Subject: client two"), ==,
			 1);
	pp_client_free(c);
}

static void client_getmail(Fixture *f, const char *user, const char *secret)
{
	PpClient *c = pp_client_new();

	g_assert_cmpint(pp_client_getmail(c, pp_instance_port(f->inst), user,
					  secret, TRUE, NULL), ==, 0);
	g_assert_cmpuint(pp_maildir_count(c->out, NULL), ==, 2);
	g_assert_cmpuint(pp_maildir_count(c->out, "Subject: client two"), ==,
			 1);
	pp_client_free(c);
}

static void client_poplib(Fixture *f, const char *user, const char *secret)
{
	char *port = g_strdup_printf("%u", pp_instance_port(f->inst));
	const char *const argv[] = {
		"python3", "-c",
		"import poplib, sys\n"
		"p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=30)\n"
		"p.apop(sys.argv[2], sys.argv[3])\n"
		"n = p.stat()[0]\n"
		"for i in range(1, n + 1):\n"
		"    body = b'\\n'.join(p.retr(i)[1])\n"
		"    if b'Subject: client' in body:\n"
		"        print('got', body.split(b'Subject: ')[1].split(b'\\n')[0].decode())\n"
		"p.quit()\n",
		port, user, secret, NULL
	};
	char *out;

	g_assert_cmpint(run_client(argv, f->dir, NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "got client one"));
	g_assert_nonnull(strstr(out, "got client two"));
	g_free(out);
	g_free(port);
}

/* mpop refuses Dovecot's APOP challenge: it accepts only msg-ids of
   [A-Za-z0-9.@_+/-] (its CVE-2007-1558 fix), and the base64 part of
   Dovecot's challenge ends in '=', which RFC 1939 allows. The README says
   so; this checks that it is still true of the installed mpop. */
static void client_mpop_refuses(Fixture *f, const char *user,
				const char *secret)
{
	PpClient *c = pp_client_new();
	char *out;

	g_assert_cmpint(pp_client_mpop(c, pp_instance_port(f->inst), "apop",
				       user, secret, &out), !=, 0);
	g_assert_nonnull(strstr(out, "does not support authentication method "
				"APOP"));
	g_free(out);
	pp_client_free(c);
	/* the reason: '=' inside the challenge */
	{
		PpPop3 *pop3 = connect_pop3(f);
		const char *greeting = pp_pop3_greeting(pop3);
		const char *challenge = strchr(greeting, '<');

		g_assert_nonnull(challenge);
		g_assert_nonnull(strstr(challenge, "=@"));
		pp_pop3_close(pop3);
	}
}

/* Real clients log in with APOP using a secret made by generate and
   fetch mail; mpop refuses Dovecot's challenge (see above). */
static void test_apop_clients(void)
{
	FixtureOptions fopts = { 0 };
	Fixture *f = fixture_start(&fopts);
	char *secret = generate_secret(f, "alice");

	pp_instance_deliver(f->inst, "alice",
			    "From: a@example.com\nSubject: client one\n\none\n");
	pp_instance_deliver(f->inst, "alice",
			    "From: a@example.com\nSubject: client two\n\ntwo\n");
	client_fetchmail(f, "alice", secret);
	client_getmail(f, "alice", secret);
	client_poplib(f, "alice", secret);
	client_mpop_refuses(f, "alice", secret);
	/* and nobody logged in with a password */
	g_assert_false(log_has(f, secret));
	g_free(secret);
	fixture_stop(f);
}

/* A site policy in the args that does not parse fails every POP3 login
   closed, each with an error naming the user, and does not stop auth:
   the same as a bad store record, although the args are parsed once. */
static void test_apop_bad_site_policy(void)
{
	FixtureOptions fopts = { 0 };
	Fixture *f;
	char *secret;

	fopts.site_policy = "login_delay=0,bogus=1";
	f = fixture_start(&fopts);
	secret = generate_secret(f, "alice");
	pp_assert_prefix(try_pass(f, "alice", HASHED_PASS),
			 "-ERR [SYS/TEMP] ");
	pp_assert_prefix(try_apop(f, "alice", secret), "-ERR [SYS/TEMP] ");
	pp_assert_prefix(try_pass(f, "bob", HASHED_PASS),
			 "-ERR [SYS/TEMP] ");
	g_assert_true(log_has(f, "user alice: passdb/userdb args "
			      "pop3_policy=: Invalid site policy: "
			      "'bogus=1': unknown key 'bogus'"));
	g_assert_true(log_has(f, "user bob: passdb/userdb args "
			      "pop3_policy=: Invalid site policy: "
			      "'bogus=1': unknown key 'bogus'"));
	g_free(secret);
	fixture_stop(f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/apop/logins", test_apop_logins);
	g_test_add_func("/apop/fail-closed", test_apop_fail_closed);
	g_test_add_func("/apop/policy-read-once",
			test_apop_policy_read_once);
	g_test_add_func("/apop/rotate", test_apop_rotate);
	g_test_add_func("/apop/login-delay", test_apop_login_delay);
	g_test_add_func("/apop/apop-only", test_apop_only);
	g_test_add_func("/apop/bad-site-policy", test_apop_bad_site_policy);
	g_test_add_func("/apop/imap-untouched", test_apop_imap_untouched);
	g_test_add_func("/apop/login-write-fails",
			test_apop_login_write_fails);
	g_test_add_func("/apop/clients", test_apop_clients);
	return g_test_run();
}
