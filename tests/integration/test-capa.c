/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* RFC 2449 advertising against real Dovecot over TCP: with
   pop3_policy_capa = yes, CAPA before login carries EXPIRE <smallest> USER
   and LOGIN-DELAY <largest> USER over the site policy and every class
   (RFC 2449 6.5, 6.7), CAPA after login the user's exact values, also
   pipelined behind PASS and after STLS; a userdb field or store record
   cannot undercut what was announced; a message that is a copy of a CAPA
   reply is retrieved byte for byte; with pop3_policy_capa = no, or
   without the two modules, every byte is what vanilla Dovecot sends; real
   clients read the lines (mpop --serverinfo, Python's poplib, curl,
   fetchmail, getmail).

   Byte comparisons leave out the greeting only: its APOP timestamp
   differs per connection (src/pop3-login/client.c). */

#include "pp-helpers.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* src/pop3/pop3-capability.h of Dovecot 2.3.19: both modules match this
   text, so an upgrade that changes it must fail here first */
#define CAPA_FIXED \
	"CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n" \
	"AUTH-RESP-CODE\r\n"

#define SITE_AND_CLASSES \
	"  pop3_policy = expire=30d login_delay=5m\n" \
	"  pop3_policy_class_fast = expire=60h\n" \
	"  pop3_policy_class_slow = login_delay=1h\n" \
	"  pop3_policy_class_keep = legal_hold=yes expire=0\n" \
	"  pop3_policy_class_old = max_age=10d\n"
/* the bounds of SITE_AND_CLASSES: 60h is 2 whole days and a half */
#define PREAUTH_LINES "EXPIRE 2 USER\r\nLOGIN-DELAY 3600 USER\r\n"

#define CAPA_MODULES \
	"protocol pop3 {\n" \
	"  mail_plugins = $mail_plugins pop3_policy pop3_policy_capa\n" \
	"  login_plugins = $login_plugins pop3_policy_login\n" \
	"}\n"

static const char *const users[][3] = {
	/* user, userdb fields, the lines CAPA must show after login */
	{ "alice", NULL, "EXPIRE 30\r\nLOGIN-DELAY 300\r\n" },
	{ "bob", "pop3_policy=class=fast", "EXPIRE 2\r\nLOGIN-DELAY 300\r\n" },
	{ "carol", "pop3_policy=class=keep",
	  "EXPIRE NEVER\r\nLOGIN-DELAY 300\r\n" },
	{ "dave", "pop3_policy=dry_run=yes",
	  "EXPIRE NEVER\r\nLOGIN-DELAY 300\r\n" },
	{ "frank", "pop3_policy=class=old",
	  "EXPIRE 10\r\nLOGIN-DELAY 300\r\n" },
	{ "gina", "pop3_policy=expire=never",
	  "EXPIRE NEVER\r\nLOGIN-DELAY 300\r\n" },
	{ "henry", "pop3_policy=class=slow",
	  "EXPIRE 30\r\nLOGIN-DELAY 3600\r\n" },
	/* 3 days and a half: never promise 4 */
	{ "ivan", "pop3_policy=expire=84h",
	  "EXPIRE 3\r\nLOGIN-DELAY 300\r\n" },
	/* beyond the bounds: held to them (60h, 1h) */
	{ "erin", "pop3_policy=expire=1d", "EXPIRE 2\r\nLOGIN-DELAY 300\r\n" },
	{ "jack", "pop3_policy=max_age=1d",
	  "EXPIRE 2\r\nLOGIN-DELAY 300\r\n" },
	{ "kate", "pop3_policy=login_delay=2h",
	  "EXPIRE 30\r\nLOGIN-DELAY 3600\r\n" },
	/* expire=0 removes a message at the QUIT of the session that
	   retrieved it: held to the 60h announced */
	{ "otto", "pop3_policy=expire=0", "EXPIRE 2\r\nLOGIN-DELAY 300\r\n" },
	/* what was announced before login is announced after it (RFC 2449
	   5): the site's setting decides, not the user's */
	{ "mia", "pop3_policy_capa=no", "EXPIRE 30\r\nLOGIN-DELAY 300\r\n" },
};

static const char capa_copy_message[] =
	"From: a@example.org\n"
	"Subject: a copy of a CAPA reply\n"
	"\n"
	"+OK\n"
	"CAPA\n"
	"TOP\n"
	"UIDL\n"
	"RESP-CODES\n"
	"PIPELINING\n"
	"AUTH-RESP-CODE\n"
	".\n";
static const char capa_copy_crlf_message[] =
	"From: a@example.org\r\n"
	"Subject: the same in CRLF, twice\r\n"
	"\r\n"
	"+OK\r\n" CAPA_FIXED ".\r\n"
	"+OK\r\n" CAPA_FIXED ".\r\n";

static PpInstance *start_or_die(const PpInstanceOptions *opts)
{
	GError *error = NULL;
	PpInstance *inst = pp_instance_start(opts, &error);

	if (inst == NULL)
		g_error("%s", error->message);
	return inst;
}

/* The same users and mail everywhere, with a pinned UIDVALIDITY so that
   UIDLs compare. */
static void populate(PpInstance *inst)
{
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(users); i++)
		pp_instance_add_user(inst, users[i][0], "secret", users[i][1]);
	/* for doveadm pop3-policy set */
	pp_instance_add_user(inst, "lena", "secret", NULL);
	/* vanilla's twin of the users of /capa/settings */
	pp_instance_add_user(inst, "nora", "secret", NULL);
	{
		const char *const create_argv[] = {
			"mailbox", "status", "-u", "alice", "messages",
			"INBOX", NULL
		};
		const char *const uidv_argv[] = {
			"mailbox", "update", "-u", "alice", "--uid-validity",
			"1700000000", "INBOX", NULL
		};
		char *out = NULL, *err = NULL;

		if (pp_instance_doveadm(inst, create_argv, NULL, &out,
					&err) != 0)
			g_error("doveadm mailbox status: %s%s", out, err);
		g_free(out); g_free(err);
		if (pp_instance_doveadm(inst, uidv_argv, NULL, &out,
					&err) != 0)
			g_error("doveadm mailbox update: %s%s", out, err);
		g_free(out); g_free(err);
	}
	pp_instance_deliver(inst, "alice", capa_copy_message);
	pp_instance_deliver(inst, "alice", capa_copy_crlf_message);
}

/* Connects, sends script in one write (pipelined), reads until the
   server closes the connection, and returns everything after the
   greeting line. */
static char *raw_session(guint16 port, const char *script)
{
	GSocketClient *sc = g_socket_client_new();
	GSocketConnection *conn;
	GInputStream *in;
	GOutputStream *out;
	GString *buf = g_string_new(NULL);
	GError *error = NULL;
	char chunk[4096], *nl, *ret;
	gssize n;

	g_socket_client_set_timeout(sc, 30);
	conn = g_socket_client_connect_to_host(sc, "127.0.0.1", port, NULL,
					       &error);
	if (conn == NULL)
		g_error("connect: %s", error->message);
	in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	if (!g_output_stream_write_all(out, script, strlen(script), NULL,
				       NULL, &error))
		g_error("write: %s", error->message);
	while ((n = g_input_stream_read(in, chunk, sizeof(chunk), NULL,
					&error)) > 0)
		g_string_append_len(buf, chunk, n);
	if (n < 0)
		g_error("read: %s", error->message);
	g_object_unref(conn);
	g_object_unref(sc);

	nl = strstr(buf->str, "\r\n");
	g_assert_nonnull(nl);
	g_assert_true(g_str_has_prefix(buf->str, "+OK "));
	ret = g_strdup(nl + 2);
	g_string_free(buf, TRUE);
	return ret;
}

/* Returns text with lines[i] inserted before the final ".\r\n" of the
   i-th stretch that looks like a CAPA reply ("+OK\r\n" CAPA_FIXED up to
   "\r\n.\r\n"); "" leaves one as it is (a message body that is a copy
   of a reply), and there must be exactly as many stretches as lines. */
static char *insert_lines(const char *text, const char *const *lines)
{
	GString *s = g_string_new(NULL);
	const char *p = text, *start, *end;
	unsigned int i = 0;

	while ((start = strstr(p, "+OK\r\n" CAPA_FIXED)) != NULL) {
		end = strstr(start, "\r\n.\r\n");
		g_assert_nonnull(end);
		end += 2;
		g_assert_nonnull(lines[i]);
		g_string_append_len(s, p, end - p);
		g_string_append(s, lines[i++]);
		p = end;
	}
	g_assert_null(lines[i]);
	g_string_append(s, p);
	return g_string_free(s, FALSE);
}

static PpInstance *vanilla, *package;

static void test_preauth(void)
{
	char *v = raw_session(pp_instance_port(vanilla), "CAPA\r\nQUIT\r\n");
	char *p = raw_session(pp_instance_port(package), "CAPA\r\nQUIT\r\n");
	const char *const lines[] = { PREAUTH_LINES, NULL };
	char *expected;

	g_assert_true(g_str_has_prefix(v, "+OK\r\n" CAPA_FIXED "USER\r\n"
				       "SASL "));
	expected = insert_lines(v, lines);
	g_assert_cmpstr(p, ==, expected);
	g_free(v); g_free(p); g_free(expected);
}

static void test_postauth(void)
{
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(users); i++) {
		char *script = g_strdup_printf("USER %s\r\nPASS secret\r\n"
					       "CAPA\r\nQUIT\r\n",
					       users[i][0]);
		/* one connection per step, not pipelined */
		PpPop3 *pop3;
		GError *error = NULL;
		char *reply, *expected, *v, *p;
		const char *const lines[] = { users[i][2], NULL };

		pop3 = pp_pop3_connect(pp_instance_port(package), &error);
		g_assert_nonnull(pop3);
		g_assert_true(pp_pop3_login(pop3, users[i][0], "secret"));
		reply = pp_pop3_cmd_multi(pop3, "CAPA");
		expected = g_strdup_printf("+OK\nCAPA\nTOP\nUIDL\nRESP-CODES\n"
			"PIPELINING\nAUTH-RESP-CODE\n%s", users[i][2]);
		/* "X\r\nY\r\n" as the helper's "X\nY" */
		{
			char **parts = g_strsplit(expected, "\r\n", -1);
			g_free(expected);
			expected = g_strjoinv("\n", parts);
			g_strfreev(parts);
			expected[strlen(expected) - 1] = '\0';
		}
		g_test_message("%s: %s", users[i][0], reply);
		g_assert_cmpstr(reply, ==, expected);
		g_free(reply); g_free(expected);
		pp_pop3_close(pop3);

		/* and byte for byte, pipelined behind PASS */
		v = raw_session(pp_instance_port(vanilla), script);
		p = raw_session(pp_instance_port(package), script);
		expected = insert_lines(v, lines);
		g_assert_cmpstr(p, ==, expected);
		g_free(v); g_free(p); g_free(expected); g_free(script);
	}
	/* the bounded users were logged */
	g_assert_true(pp_instance_wait_log(package, "user erin: expire=1d "
		"removes messages sooner than the 60h that CAPA announces",
		5000));
	g_assert_true(pp_instance_wait_log(package, "user jack: max_age=1d",
					   5000));
	g_assert_true(pp_instance_wait_log(package, "user kate: login_delay=2h "
					   "is longer than the 1h", 5000));
}

/* CAPA before login, login, CAPA twice and the mail itself in one
   write: what pop3-login forwards to the pop3 process is answered with
   the user's lines, every other byte as vanilla's. The messages are
   copies of a CAPA reply: RETR and TOP stay byte-identical. */
static const char pipelined_script[] =
	"CAPA\r\nUSER alice\r\nPASS secret\r\nCAPA\r\nSTAT\r\nLIST\r\n"
	"UIDL\r\nRETR 1\r\nCAPA\r\nRETR 2\r\nTOP 2 100\r\nTOP 1 3\r\n"
	"NOOP\r\nQUIT\r\n";

static void test_pipelined(void)
{
	char *v = raw_session(pp_instance_port(vanilla), pipelined_script);
	char *p = raw_session(pp_instance_port(package), pipelined_script);
	/* CAPA, CAPA, RETR 1, CAPA, RETR 2, TOP 2 100 */
	const char *const lines[] = {
		PREAUTH_LINES, "EXPIRE 30\r\nLOGIN-DELAY 300\r\n", "",
		"EXPIRE 30\r\nLOGIN-DELAY 300\r\n", "", "", NULL
	};
	char *expected = insert_lines(v, lines);

	/* the test is only worth something if the bodies are there, with
	   the dot of their last line stuffed */
	g_assert_nonnull(strstr(v, "Subject: a copy of a CAPA reply\r\n\r\n"
				"+OK\r\n" CAPA_FIXED "..\r\n.\r\n"));
	g_assert_nonnull(strstr(v, "\r\n\r\n+OK\r\n" CAPA_FIXED "..\r\n"
				"+OK\r\n" CAPA_FIXED "..\r\n.\r\n"));
	g_test_message("%s", p);
	g_assert_cmpstr(p, ==, expected);
	g_free(v); g_free(p); g_free(expected);
}

/* Every byte of every reply is vanilla's: with pop3_policy_capa = no
   and both modules loaded, and with pop3_policy_capa = yes and neither
   module loaded. */
static void test_same_as_vanilla(void)
{
	static const char *const variants[] = {
		"  pop3_policy_capa = no\n", CAPA_MODULES,
		"  pop3_policy_capa = yes\n", "",
	};
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(variants); i += 2) {
		char *settings = g_strconcat(SITE_AND_CLASSES, variants[i],
					     NULL);
		PpInstanceOptions opts = {
			.with_package = TRUE, .store = PP_STORE_SQLITE,
			.debug = TRUE, .plugin_settings = settings,
			.extra_conf = variants[i + 1],
		};
		PpInstance *inst = start_or_die(&opts);
		char *v, *p, *log;

		populate(inst);
		v = raw_session(pp_instance_port(vanilla), pipelined_script);
		p = raw_session(pp_instance_port(inst), pipelined_script);
		g_assert_cmpstr(p, ==, v);
		g_free(v); g_free(p);
		/* the package did run */
		g_assert_true(pp_instance_wait_log(inst, "pop3-policy: "
			"Plugin initialised with a store", 5000));
		log = pp_instance_read_log(inst);
		g_assert_null(strstr(log, "Fatal:"));
		g_assert_null(strstr(log, "Error:"));
		g_free(log);
		pp_instance_stop(inst);
		g_free(settings);
	}
}

/* Nothing ever removed: NEVER before and after login. And the two bound
   settings, read by pop3-login from the config server, widen what is
   announced; per-user layers may then go that far. */
static void test_settings(void)
{
	static const struct {
		const char *settings, *preauth;
		const char *user_fields, *postauth;
	} cases[] = {
		{ "  pop3_policy_capa = yes\n",
		  "EXPIRE NEVER USER\r\nLOGIN-DELAY 0 USER\r\n",
		  NULL, "EXPIRE NEVER\r\nLOGIN-DELAY 0\r\n" },
		{ "  pop3_policy_capa = yes\n"
		  "  pop3_policy_class_keep = legal_hold=yes max_age=1d\n",
		  "EXPIRE NEVER USER\r\nLOGIN-DELAY 0 USER\r\n",
		  "pop3_policy=class=keep", "EXPIRE NEVER\r\nLOGIN-DELAY 0\r\n" },
		{ SITE_AND_CLASSES "  pop3_policy_capa = yes\n"
		  "  pop3_policy_capa_expire_min = 1w\n"
		  "  pop3_policy_capa_login_delay_max = 2h\n",
		  "EXPIRE 2 USER\r\nLOGIN-DELAY 7200 USER\r\n",
		  "pop3_policy=login_delay=2h", "EXPIRE 30\r\nLOGIN-DELAY 7200\r\n" },
		{ SITE_AND_CLASSES "  pop3_policy_capa = yes\n"
		  "  pop3_policy_capa_expire_min = 1d\n",
		  "EXPIRE 1 USER\r\nLOGIN-DELAY 3600 USER\r\n",
		  "pop3_policy=expire=1d", "EXPIRE 1\r\nLOGIN-DELAY 300\r\n" },
	};
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		PpInstanceOptions opts = {
			.with_package = TRUE, .store = PP_STORE_SQLITE,
			.plugin_settings = cases[i].settings,
			.extra_conf = CAPA_MODULES,
		};
		PpInstance *inst = start_or_die(&opts);
		const char *const pre[] = { cases[i].preauth, NULL };
		const char *const post[] = { cases[i].postauth, NULL };
		char *v, *p, *expected, *log;

		pp_instance_add_user(inst, "nora", "secret",
				     cases[i].user_fields);
		v = raw_session(pp_instance_port(vanilla), "CAPA\r\nQUIT\r\n");
		p = raw_session(pp_instance_port(inst), "CAPA\r\nQUIT\r\n");
		expected = insert_lines(v, pre);
		g_assert_cmpstr(p, ==, expected);
		g_free(v); g_free(p); g_free(expected);

		v = raw_session(pp_instance_port(vanilla), "USER nora\r\n"
				"PASS secret\r\nCAPA\r\nQUIT\r\n");
		p = raw_session(pp_instance_port(inst), "USER nora\r\n"
				"PASS secret\r\nCAPA\r\nQUIT\r\n");
		expected = insert_lines(v, post);
		g_assert_cmpstr(p, ==, expected);
		g_free(v); g_free(p); g_free(expected);

		/* inside the widened bounds: nothing held, nothing logged */
		log = pp_instance_read_log(inst);
		g_assert_null(strstr(log, "Warning:"));
		g_assert_null(strstr(log, "Error:"));
		g_free(log);
		pp_instance_stop(inst);
	}
}

/* The loading recipe of conf.d/90-pop3-policy.conf next to IMAP:
   login_plugins inside protocol pop3 leaves imap-login as it is. */
static void test_imap_untouched(void)
{
	PpInstanceOptions opts = {
		.with_package = TRUE, .store = PP_STORE_SQLITE,
		.with_imap = TRUE,
		.plugin_settings = SITE_AND_CLASSES "  pop3_policy_capa = yes\n",
		.extra_conf = CAPA_MODULES,
	};
	PpInstance *inst = start_or_die(&opts);
	GSocketClient *sc = g_socket_client_new();
	GSocketConnection *conn;
	GDataInputStream *in;
	GError *error = NULL;
	char *line, *p, *log;
	const char *const pre_lines[] = { PREAUTH_LINES, NULL };

	g_socket_client_set_timeout(sc, 30);
	conn = g_socket_client_connect_to_host(sc, "127.0.0.1",
		pp_instance_imap_port(inst), NULL, &error);
	g_assert_nonnull(conn);
	in = g_data_input_stream_new(g_io_stream_get_input_stream(
		G_IO_STREAM(conn)));
	line = g_data_input_stream_read_line(in, NULL, NULL, &error);
	g_assert_nonnull(line);
	g_assert_true(g_str_has_prefix(line, "* OK "));
	g_free(line);
	g_object_unref(in);
	g_object_unref(conn);
	g_object_unref(sc);

	/* and pop3-login of the same instance has the lines */
	p = raw_session(pp_instance_port(inst), "CAPA\r\nQUIT\r\n");
	line = raw_session(pp_instance_port(vanilla), "CAPA\r\nQUIT\r\n");
	{
		char *expected = insert_lines(line, pre_lines);

		g_assert_cmpstr(p, ==, expected);
		g_free(expected);
	}
	g_free(p); g_free(line);
	log = pp_instance_read_log(inst);
	g_assert_null(strstr(log, "Fatal:"));
	g_free(log);
	pp_instance_stop(inst);
}

static unsigned int mailbox_messages(PpInstance *inst, const char *user)
{
	const char *const argv[] = {
		"-f", "flow", "mailbox", "status", "-u", user, "messages",
		"INBOX", NULL
	};
	char *out = NULL, *err = NULL;
	unsigned int n;

	if (pp_instance_doveadm(inst, argv, NULL, &out, &err) != 0)
		g_error("doveadm mailbox status: %s%s", out, err);
	g_test_message("mailbox status: %s", out);
	g_assert_nonnull(strstr(out, "messages="));
	n = atoi(strstr(out, "messages=") + 9);
	g_free(out); g_free(err);
	return n;
}

/* The bound is kept, not only announced: a user whose userdb field says
   expire=0 keeps a retrieved message past the QUIT (in the session and in
   doveadm's sweep), and doveadm pop3-policy show says what is used. */
static void test_bound_retention(void)
{
	const char *const sweep_argv[] = {
		"pop3-policy", "sweep", "-u", "otto", NULL
	};
	const char *const show_argv[] = {
		"pop3-policy", "show", "-u", "otto", NULL
	};
	GError *error = NULL;
	PpPop3 *pop3;
	char *reply, *out = NULL, *err = NULL;

	pp_instance_deliver(package, "otto", capa_copy_message);
	g_assert_cmpuint(mailbox_messages(package, "otto"), ==, 1);
	pop3 = pp_pop3_connect(pp_instance_port(package), &error);
	g_assert_nonnull(pop3);
	g_assert_true(pp_pop3_login(pop3, "otto", "secret"));
	reply = pp_pop3_cmd_multi(pop3, "RETR 1");
	g_assert_true(g_str_has_prefix(reply, "+OK"));
	g_free(reply);
	reply = pp_pop3_cmd(pop3, "QUIT");
	g_assert_true(g_str_has_prefix(reply, "+OK"));
	g_free(reply);
	pp_pop3_close(pop3);
	/* removals run after the client is answered, before the process
	   exits */
	pp_instance_wait_sessions_over(package);
	g_assert_cmpuint(mailbox_messages(package, "otto"), ==, 1);
	g_assert_true(pp_instance_wait_log(package, "user otto: expire=0 "
					   "removes messages sooner", 5000));

	g_assert_cmpint(pp_instance_doveadm(package, sweep_argv, NULL, &out,
					    &err), ==, 0);
	g_test_message("sweep: %s%s", out, err);
	g_free(out); g_free(err);
	g_assert_cmpuint(mailbox_messages(package, "otto"), ==, 1);

	out = err = NULL;
	g_assert_cmpint(pp_instance_doveadm(package, show_argv, NULL, &out,
					    &err), ==, 0);
	g_test_message("show: %s%s", out, err);
	g_assert_nonnull(strstr(out, "60h"));
	g_free(out); g_free(err);
}

static int run(const char *const *argv, const char *cwd,
	       const char *stdin_data, char **out_r)
{
	return pp_run_program(argv, cwd, NULL, stdin_data, out_r, NULL);
}

/* The same script over TLS after STLS (openssl s_client sends STLS
   itself): returns what the server sent after the TLS handshake. */
static char *stls_session(guint16 port, const char *script)
{
	char *connect = g_strdup_printf("127.0.0.1:%u", port);
	const char *const argv[] = {
		"openssl", "s_client", "-connect", connect, "-starttls",
		"pop3", "-quiet", "-ign_eof", NULL
	};
	char *out = NULL;

	g_assert_cmpint(run(argv, NULL, script, &out), ==, 0);
	g_free(connect);
	return out;
}

static void test_stls(void)
{
	char *dir = g_build_filename(pp_tmp_root(), "capa-tls-XXXXXX", NULL);
	char *cert, *key, *ssl_conf, *conf, *v, *p, *expected;
	const char *const pre_lines[] = { PREAUTH_LINES, NULL };
	const char *const post_lines[] = {
		PREAUTH_LINES, "EXPIRE 2\r\nLOGIN-DELAY 300\r\n", NULL
	};
	PpInstance *tls_vanilla, *tls_package;

	g_assert_nonnull(g_mkdtemp(dir));
	cert = g_build_filename(dir, "cert.pem", NULL);
	key = g_build_filename(dir, "key.pem", NULL);
	{
		const char *const argv[] = {
			"openssl", "req", "-x509", "-newkey", "rsa:2048",
			"-nodes", "-keyout", key, "-out", cert, "-days", "1",
			"-subj", "/CN=localhost", NULL
		};
		g_assert_cmpint(run(argv, NULL, NULL, NULL), ==, 0);
	}
	ssl_conf = g_strdup_printf("ssl = yes\nssl_cert = <%s\n"
				   "ssl_key = <%s\n", cert, key);
	conf = g_strconcat(ssl_conf, CAPA_MODULES, NULL);
	{
		PpInstanceOptions vo = {
			.with_package = FALSE, .store = PP_STORE_NONE,
			.extra_conf = ssl_conf,
		};
		PpInstanceOptions po = {
			.with_package = TRUE, .store = PP_STORE_SQLITE,
			.plugin_settings = SITE_AND_CLASSES
				"  pop3_policy_capa = yes\n",
			.extra_conf = conf,
		};
		tls_vanilla = start_or_die(&vo);
		tls_package = start_or_die(&po);
	}
	populate(tls_vanilla);
	populate(tls_package);

	/* before STLS: the reply names STLS, and gets the lines */
	v = raw_session(pp_instance_port(tls_vanilla), "CAPA\r\nQUIT\r\n");
	p = raw_session(pp_instance_port(tls_package), "CAPA\r\nQUIT\r\n");
	g_assert_true(g_str_has_prefix(v, "+OK\r\n" CAPA_FIXED "STLS\r\n"));
	expected = insert_lines(v, pre_lines);
	g_assert_cmpstr(p, ==, expected);
	g_free(v); g_free(p); g_free(expected);

	/* after STLS: pop3-login's reply without STLS, then the user's */
	v = stls_session(pp_instance_port(tls_vanilla), "CAPA\r\n"
			 "USER bob\r\nPASS secret\r\nCAPA\r\nQUIT\r\n");
	p = stls_session(pp_instance_port(tls_package), "CAPA\r\n"
			 "USER bob\r\nPASS secret\r\nCAPA\r\nQUIT\r\n");
	g_assert_true(g_str_has_prefix(v, "+OK\r\n" CAPA_FIXED "USER\r\n"));
	g_assert_null(strstr(v, "STLS"));
	g_assert_nonnull(strstr(v, "+OK Logged in.\r\n"));
	expected = insert_lines(v, post_lines);
	g_assert_cmpstr(p, ==, expected);
	g_free(v); g_free(p); g_free(expected);

	pp_instance_stop(tls_package);
	pp_instance_stop(tls_vanilla);
	{
		const char *const argv[] = { "rm", "-rf", dir, NULL };
		(void)run(argv, NULL, NULL, NULL);
	}
	g_free(cert); g_free(key); g_free(ssl_conf); g_free(conf);
	g_free(dir);
}

/* The post-login CAPA reply of user, as the harness's client gives it
   (lines without CRLF, joined with "\n"). */
static char *user_capa(PpInstance *inst, const char *user)
{
	GError *error = NULL;
	PpPop3 *pop3 = pp_pop3_connect(pp_instance_port(inst), &error);
	char *reply;

	g_assert_nonnull(pop3);
	g_assert_true(pp_pop3_login(pop3, user, "secret"));
	reply = pp_pop3_cmd_multi(pop3, "CAPA");
	pp_pop3_close(pop3);
	return reply;
}

/* doveadm pop3-policy set refuses a store record that would leave the
   user outside what CAPA announced before login, and says which setting
   widens the bound; a record inside it is taken and announced. */
static void test_bound_doveadm(void)
{
	static const char *const refused[][2] = {
		{ "login_delay=2h", "login_delay=2h is longer than the 1h "
		  "that CAPA announces before login to every user" },
		{ "expire=1d", "expire=1d removes messages sooner than the "
		  "60h that CAPA announces before login to every user" },
		{ "max_age=2d", "max_age=2d removes messages sooner" },
		{ "class=fast expire=59h", "expire=59h removes" },
	};
	unsigned int i;
	char *out, *err, *reply;

	for (i = 0; i < G_N_ELEMENTS(refused); i++) {
		char **words = g_strsplit(refused[i][0], " ", -1);
		GPtrArray *argv = g_ptr_array_new();
		unsigned int j;

		g_ptr_array_add(argv, (char *)"pop3-policy");
		g_ptr_array_add(argv, (char *)"set");
		g_ptr_array_add(argv, (char *)"-u");
		g_ptr_array_add(argv, (char *)"lena");
		for (j = 0; words[j] != NULL; j++)
			g_ptr_array_add(argv, words[j]);
		g_ptr_array_add(argv, NULL);
		out = err = NULL;
		g_assert_cmpint(pp_instance_doveadm(package,
			(const char *const *)argv->pdata, NULL, &out, &err),
			!=, 0);
		g_test_message("%s: %s", refused[i][0], err);
		g_assert_nonnull(strstr(err, refused[i][1]));
		g_assert_nonnull(strstr(err, refused[i][0][0] == 'l' ?
			"(pop3_policy_capa_login_delay_max)" :
			"(pop3_policy_capa_expire_min)"));
		g_free(out); g_free(err);
		g_ptr_array_unref(argv);
		g_strfreev(words);
	}
	/* nothing was written */
	reply = user_capa(package, "lena");
	g_assert_nonnull(strstr(reply, "\nEXPIRE 30\nLOGIN-DELAY 300"));
	g_free(reply);
	{
		const char *const argv[] = {
			"pop3-policy", "set", "-u", "lena", "expire=60h",
			"login_delay=1h", NULL
		};
		out = err = NULL;
		g_assert_cmpint(pp_instance_doveadm(package, argv, NULL, &out,
						    &err), ==, 0);
		g_free(out); g_free(err);
	}
	reply = user_capa(package, "lena");
	g_assert_true(g_str_has_suffix(reply, "\nEXPIRE 2\nLOGIN-DELAY 3600"));
	g_free(reply);
}

/* mpop --serverinfo shows the values before login; Python's poplib
   reads both CAPA replies; curl lists and retrieves; fetchmail and
   getmail fetch both messages, bodies intact. */
/* the end of the body of the message that quotes a CAPA answer */
#define CAPA_BODY_END \
	"\n\n+OK\nCAPA\nTOP\nUIDL\nRESP-CODES\nPIPELINING\nAUTH-RESP-CODE\n.\n"

static void test_clients(void)
{
	char *port = g_strdup_printf("%u", pp_instance_port(package));
	char *port_arg = g_strdup_printf("--port=%s", port);
	char *out = NULL, *url;
	PpClient *c;

	{
		const char *const argv[] = {
			"mpop", "--serverinfo", "--host=127.0.0.1", port_arg,
			"--tls=off", NULL
		};
		g_assert_cmpint(run(argv, NULL, NULL, &out), ==, 0);
		g_assert_nonnull(strstr(out, "EXPIRE"));
		g_assert_nonnull(strstr(out, "2 days"));
		g_assert_nonnull(strstr(out, "LOGIN-DELAY"));
		g_assert_nonnull(strstr(out, "3600 seconds"));
		g_free(out);
	}
	{
		const char *const argv[] = {
			"/usr/bin/python3", "-c",
			"import poplib, sys\n"
			"p = poplib.POP3('127.0.0.1', int(sys.argv[1]))\n"
			"print(sorted(p.capa().items()))\n"
			"p.user('alice'); p.pass_('secret')\n"
			"print(sorted(p.capa().items()))\n"
			"print(p.stat()[0])\n"
			"print(b'\\n'.join(p.retr(1)[1]).decode())\n"
			"p.quit()\n", port, NULL
		};
		g_assert_cmpint(run(argv, NULL, NULL, &out), ==, 0);
		g_assert_nonnull(strstr(out, "('EXPIRE', ['2', 'USER'])"));
		g_assert_nonnull(strstr(out,
					"('LOGIN-DELAY', ['3600', 'USER'])"));
		g_assert_nonnull(strstr(out, "('EXPIRE', ['30'])"));
		g_assert_nonnull(strstr(out, "('LOGIN-DELAY', ['300'])"));
		g_assert_nonnull(strstr(out, "\n2\n"));
		/* poplib un-stuffs the body's last line */
		g_assert_nonnull(strstr(out, "AUTH-RESP-CODE\n.\n"));
		g_free(out);
	}
	url = g_strdup_printf("pop3://127.0.0.1:%s/", port);
	{
		const char *const argv[] = {
			"curl", "-sS", "--max-time", "30", "-u", "alice:secret",
			url, NULL
		};
		g_assert_cmpint(run(argv, NULL, NULL, &out), ==, 0);
		g_assert_true(g_str_has_prefix(out, "1 "));
		g_assert_nonnull(strstr(out, "\r\n2 "));
		g_free(out);
	}
	g_free(url);
	url = g_strdup_printf("pop3://127.0.0.1:%s/2", port);
	{
		const char *const argv[] = {
			"curl", "-sS", "--max-time", "30", "-u", "alice:secret",
			url, NULL
		};
		g_assert_cmpint(run(argv, NULL, NULL, &out), ==, 0);
		g_assert_nonnull(strstr(out, "Subject: the same in CRLF"));
		g_free(out);
	}
	g_free(url);

	/* fetchmail's MDA gets LF line ends, getmail's maildir CRLF: both
	   bodies end alike */
	c = pp_client_new();
	g_assert_cmpint(pp_client_fetchmail(c, pp_instance_port(package),
					    "password", "alice", "secret",
					    NULL), ==, 0);
	g_assert_cmpuint(pp_maildir_count(c->out, CAPA_BODY_END), ==, 2);
	g_assert_cmpuint(pp_maildir_count(c->out, "Subject: the same in "
					  "CRLF"), ==, 1);
	pp_client_free(c);

	c = pp_client_new();
	g_assert_cmpint(pp_client_getmail(c, pp_instance_port(package),
					  "alice", "secret", FALSE, NULL), ==,
			0);
	g_assert_cmpuint(pp_maildir_count(c->out, CAPA_BODY_END), ==, 2);
	g_assert_cmpuint(pp_maildir_count(c->out, "Subject: the same in "
					  "CRLF"), ==, 1);
	pp_client_free(c);
	g_free(port); g_free(port_arg);
}

int main(int argc, char **argv)
{
	PpInstanceOptions vanilla_opts = {
		.with_package = FALSE, .store = PP_STORE_NONE,
	};
	PpInstanceOptions package_opts = {
		.with_package = TRUE, .store = PP_STORE_SQLITE,
		.plugin_settings = SITE_AND_CLASSES
			"  pop3_policy_capa = yes\n",
		.extra_conf = CAPA_MODULES,
	};
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/capa/preauth", test_preauth);
	g_test_add_func("/capa/postauth", test_postauth);
	g_test_add_func("/capa/pipelined-and-retr", test_pipelined);
	g_test_add_func("/capa/off-same-as-vanilla", test_same_as_vanilla);
	g_test_add_func("/capa/settings", test_settings);
	g_test_add_func("/capa/stls", test_stls);
	g_test_add_func("/capa/imap-untouched", test_imap_untouched);
	g_test_add_func("/capa/bound-doveadm", test_bound_doveadm);
	g_test_add_func("/capa/bound-retention", test_bound_retention);
	g_test_add_func("/capa/clients", test_clients);

	vanilla = start_or_die(&vanilla_opts);
	package = start_or_die(&package_opts);
	populate(vanilla);
	populate(package);
	ret = g_test_run();
	pp_instance_stop(package);
	pp_instance_stop(vanilla);
	return ret;
}
