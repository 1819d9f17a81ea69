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

#include "pp-harness.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
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
	"  login_plugins = pop3_policy_login\n" \
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
			"Plugin initialised for service pop3", 5000));
		log = pp_instance_read_log(inst);
		g_assert_null(strstr(log, "Fatal:"));
		g_assert_null(strstr(log, "Error:"));
		g_free(log);
		pp_instance_stop(inst);
		g_free(settings);
	}
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

	vanilla = start_or_die(&vanilla_opts);
	package = start_or_die(&package_opts);
	populate(vanilla);
	populate(package);
	ret = g_test_run();
	pp_instance_stop(package);
	pp_instance_stop(vanilla);
	return ret;
}
