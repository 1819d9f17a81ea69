/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The records a POP3 session reads at its start, handed over by userdb
   pop3_policy (src/lib/pop3-policy-handover.c), against a real Dovecot
   with the package's auth chain and mail_debug: a session that is handed
   all of them and writes nothing sends the dict server nothing; a record
   too large to hand over is read from the store; the policy handed over is
   the one applied; and handover fields that are malformed or name another
   user are ignored, so the store's policy still applies. */

#include "test-retention-common.h"

#include <stdio.h>
#include <stdlib.h>

/* What lib-dict logs at debug level (src/lib-dict/dict.c) when the pop3
   process reads or writes the store; creating the dict object does not
   connect to the dict server (dict-client.c connects on the first
   command). */
static const char *const dict_use_lines[] = {
	"Looking up", "Starting transaction", "Iterating prefix",
};

static gboolean lines_use_dict(const char *lines)
{
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(dict_use_lines); i++) {
		if (strstr(lines, dict_use_lines[i]) != NULL)
			return TRUE;
	}
	return FALSE;
}

static PpInstance *start_with_chain(void)
{
	PpInstanceOptions opts = { .with_package = TRUE };

	opts.store = PP_STORE_SQLITE;
	opts.debug = TRUE;
	opts.auth_chain = TRUE;
	/* a session still writes the UIDL guard's sketch itself, and reads
	   a record too large to hand over */
	opts.store_socket = PP_STORE_SOCKET_MAIL;
	return rt_start(&opts);
}

/* The log lines of the most recent pop3 session of user that logged how
   its records were handed over (g_free), and that line itself. */
static char *last_session_lines(PpInstance *inst, const char *user,
				char **handover_line_r)
{
	char *log = pp_instance_read_log(inst);
	char **lines = g_strsplit(log, "\n", -1);
	char *prefix = g_strdup_printf("pop3(%s)<", user);
	const char *last = NULL;
	GString *out = g_string_new("");
	char *session_prefix;
	unsigned int i;

	for (i = 0; lines[i] != NULL; i++) {
		if (strstr(lines[i], prefix) != NULL &&
		    strstr(lines[i], "handed over by the userdb") != NULL)
			last = lines[i];
	}
	if (last == NULL)
		g_error("no session of %s logged its handover:\n%s", user, log);
	/* "pop3(user)<pid><session>": the session's own lines */
	session_prefix = g_strndup(strstr(last, prefix),
		strchr(strchr(strstr(last, prefix), '>') + 1, '>') + 1 -
		strstr(last, prefix));
	for (i = 0; lines[i] != NULL; i++) {
		if (strstr(lines[i], session_prefix) != NULL) {
			g_string_append(out, lines[i]);
			g_string_append_c(out, '\n');
		}
	}
	*handover_line_r = g_strdup(last);
	g_free(session_prefix);
	g_free(prefix);
	g_strfreev(lines);
	g_free(log);
	return g_string_free(out, FALSE);
}

static void session_stat(PpInstance *inst, const char *user,
			 const char *expected_stat_prefix)
{
	PpPop3 *pop3 = rt_login(inst, user);
	char *reply = pp_pop3_cmd(pop3, "STAT");
	char *uidl;

	if (!g_str_has_prefix(reply, expected_stat_prefix))
		g_error("STAT of %s: expected %s..., got %s", user,
			expected_stat_prefix, reply);
	g_free(reply);
	uidl = rt_multi_ok(pop3, "UIDL");
	g_free(uidl);
	rt_quit(pop3);
	rt_settle(inst);
}

/* The policy comes from the store through the userdb; once the guard's
   sketch is stored, a session sends the dict server nothing. */
static void test_session_reads_nothing(void)
{
	PpInstance *inst = start_with_chain();
	char *out, *lines, *handover;
	PpPop3 *pop3;

	pp_instance_add_user(inst, "alice", "secret", NULL);
	rt_deliver_n(inst, "alice", 3);
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "alice", "expire=0", NULL), ==, 0);
	g_free(out);

	/* expire=0, handed over: the retrieved message goes at QUIT */
	pop3 = rt_login(inst, "alice");
	g_free(rt_multi_ok(pop3, "RETR 1"));
	rt_quit(pop3);
	rt_wait_inbox_count(inst, "alice", 2);
	lines = last_session_lines(inst, "alice", &handover);
	rt_assert_contains(handover,
		"3 record(s) handed over by the userdb, 0 read from the store");
	g_free(handover);
	g_free(lines);

	/* the guard stores the new sketch (one message is gone) */
	session_stat(inst, "alice", "+OK 2 ");
	/* nothing changed: nothing to read, nothing to write */
	session_stat(inst, "alice", "+OK 2 ");
	lines = last_session_lines(inst, "alice", &handover);
	rt_assert_contains(handover,
		"3 record(s) handed over by the userdb, 0 read from the store");
	if (lines_use_dict(lines))
		g_error("the session used the dict server:\n%s", lines);
	g_free(handover);
	g_free(lines);
	/* the userdb took the policy record from the login check: one
	   lookup of it per login (three), as of the guard's sketch, which
	   only the userdb reads */
	g_assert_cmpuint(pp_instance_log_lookups(inst, " auth: ",
			 "priv/pop3-policy/uidl-guard"), ==, 3);
	g_assert_cmpuint(pp_instance_log_lookups(inst, " auth: ",
			 "shared/pop3-policy/policy/alice"), ==, 3);
	rt_stop(inst);
}

/* A guard sketch of a mailbox this size is larger than the handover's
   budget: it is read from the store, the other two are handed over. The
   same check as above sees that lookup in the log. */
static void test_large_record_read_from_store(void)
{
	PpInstance *inst = start_with_chain();
	char *lines, *handover;

	pp_instance_add_user(inst, "bob", "secret", NULL);
	rt_deliver_n(inst, "bob", 150);
	session_stat(inst, "bob", "+OK 150 ");
	session_stat(inst, "bob", "+OK 150 ");
	lines = last_session_lines(inst, "bob", &handover);
	rt_assert_contains(handover,
		"2 record(s) handed over by the userdb, 1 read from the store");
	g_assert_true(lines_use_dict(lines));
	/* "Looking up (async) '...'" on the dict server, "Looking up
	   '...'" where the driver has no async lookups (redis:) */
	rt_assert_contains(lines, "'priv/pop3-policy/uidl-guard'");
	g_free(handover);
	g_free(lines);
	rt_stop(inst);
}

/* Handover fields the package's userdb did not write (here from the
   site's userdb, without userdb pop3_policy in the chain): malformed, or
   for another user. They are ignored with a warning and the store's
   policy applies. */
static void test_bad_handover_ignored(void)
{
	static const struct {
		const char *user, *fields, *warning;
	} cases[] = {
		{ "carol", "pop3_policy_handover=bogus "
		  "pop3_policy_handover_user=carol",
		  "pop3_policy_handover: unknown record kind" },
		{ "dave", "pop3_policy_handover=policy "
		  "pop3_policy_handover_user=mallory",
		  "pop3_policy_handover_user names another user" },
		{ "erin", "pop3_policy_handover=policy",
		  "pop3_policy_handover_user is missing" },
	};
	PpInstanceOptions opts = { .with_package = TRUE };
	PpInstance *inst;
	unsigned int i;
	char *out, *log;
	PpPop3 *pop3;

	opts.store = PP_STORE_SQLITE;
	inst = rt_start(&opts);
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		pp_instance_add_user(inst, cases[i].user, "secret",
				     cases[i].fields);
	}
	/* auth re-reads a changed passwd-file at most once a second */
	g_usleep(1100 * 1000);
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		rt_deliver_n(inst, cases[i].user, 2);
		g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set",
					   "-u", cases[i].user, "expire=0",
					   NULL), ==, 0);
		g_free(out);
	}
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		pop3 = rt_login(inst, cases[i].user);
		g_free(rt_multi_ok(pop3, "RETR 1"));
		rt_quit(pop3);
		/* the store's expire=0 applied, not the handover's "none" */
		rt_wait_inbox_count(inst, cases[i].user, 1);
		log = rt_wait_log(inst, cases[i].warning);
		g_free(log);
	}
	rt_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/handover/session-reads-nothing",
			test_session_reads_nothing);
	g_test_add_func("/handover/large-record-read-from-store",
			test_large_record_read_from_store);
	g_test_add_func("/handover/bad-handover-ignored",
			test_bad_handover_ignored);
	return g_test_run();
}
