/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The policy record a POP3 session needs, handed over by userdb
   pop3_policy (src/lib/pop3-policy-handover.c), against a real Dovecot
   with the package's auth chain and debug logging: the store reads per
   login, counted in the log of every process, and none in the pop3
   process;
   a record too large to hand over is read from the store; the policy
   handed over is the one applied; and handover fields that are malformed
   or name another user are ignored, so the store's policy still applies. */

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

/* The documented setup: the auth chain with the pop3_policy userdb, the
   dict socket the auth process's and root's only (the pop3 process could
   not reach the store if it tried), unless store_socket says otherwise. */
static PpInstance *start_with_chain_socket(PpStoreSocket store_socket)
{
	PpInstanceOptions opts = { .with_package = TRUE };

	opts.store = PP_STORE_SQLITE;
	opts.debug = TRUE;
	opts.auth_chain = TRUE;
	opts.store_socket = store_socket;
	return rt_start(&opts);
}

static PpInstance *start_with_chain(void)
{
	return start_with_chain_socket(PP_STORE_SOCKET_TRUSTED);
}

/* The log lines of the most recent pop3 session of user that logged a
   line with marker (g_free), and that line itself. */
static char *last_session_lines_of(PpInstance *inst, const char *user,
				   const char *marker, char **marker_line_r)
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
		    strstr(lines[i], marker) != NULL)
			last = lines[i];
	}
	if (last == NULL)
		g_error("no session of %s logged '%s':\n%s", user, marker,
			log);
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
	*marker_line_r = g_strdup(last);
	g_free(session_prefix);
	g_free(prefix);
	g_strfreev(lines);
	g_free(log);
	return g_string_free(out, FALSE);
}

/* The same, for the session's line about how its policy was handed
   over. */
static char *last_session_lines(PpInstance *inst, const char *user,
				char **handover_line_r)
{
	return last_session_lines_of(inst, user, "handed over by the userdb",
				     handover_line_r);
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

/* Counts the store lookups of key by every process of the instance
   (lib-dict logs each one at debug level in the process that makes it:
   auth, pop3, the dict server's clients). */
static unsigned int store_lookups(PpInstance *inst, const char *key)
{
	return pp_instance_log_lookups(inst, NULL, key);
}

/* The store reads per POP3 login with the documented auth chain: one (the
   policy record, read by the login check and handed on by the userdb) for
   a user without login_delay; with login_delay the login record too, and
   one write of it. The pop3 process never uses the store: it logs that it
   was handed the policy, sends the dict server nothing, and applies the
   handed policy (expire=0 removes the retrieved message at QUIT). */
static void test_store_reads_per_login(void)
{
	PpInstance *inst = start_with_chain();
	char *out, *lines, *handover;
	unsigned int i;
	PpPop3 *pop3;

	pp_instance_add_user(inst, "alice", "secret", NULL);
	pp_instance_add_user(inst, "bob", "secret", NULL);
	rt_deliver_n(inst, "alice", 4);
	rt_deliver_n(inst, "bob", 1);
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "alice", "expire=0", NULL), ==, 0);
	g_free(out);
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "bob", "login_delay=1h login_burst=5",
				   NULL), ==, 0);
	g_free(out);
	g_assert_cmpuint(store_lookups(inst,
			 "shared/pop3-policy/policy/alice"), ==, 0);

	for (i = 0; i < 3; i++) {
		pop3 = rt_login(inst, "alice");
		g_free(rt_multi_ok(pop3, "RETR 1"));
		g_free(rt_multi_ok(pop3, "UIDL"));
		rt_quit(pop3);
		rt_wait_inbox_count(inst, "alice", 3 - i);
		lines = last_session_lines(inst, "alice", &handover);
		rt_assert_contains(handover, "Policy record handed over by "
				   "the userdb: the session does not use "
				   "the store");
		if (lines_use_dict(lines))
			g_error("the session used the store:\n%s", lines);
		g_free(handover);
		g_free(lines);
	}
	g_assert_cmpuint(store_lookups(inst,
			 "shared/pop3-policy/policy/alice"), ==, 3);
	g_assert_cmpuint(store_lookups(inst,
			 "shared/pop3-policy/login/alice"), ==, 0);
	/* and nothing else: one store read per login in all */
	g_assert_cmpuint(pp_instance_log_count(inst, NULL, "Looking up"), ==,
			 3);

	for (i = 0; i < 3; i++) {
		session_stat(inst, "bob", "+OK 1 ");
		lines = last_session_lines(inst, "bob", &handover);
		if (lines_use_dict(lines))
			g_error("the session used the store:\n%s", lines);
		g_free(handover);
		g_free(lines);
	}
	g_assert_cmpuint(store_lookups(inst,
			 "shared/pop3-policy/policy/bob"), ==, 3);
	g_assert_cmpuint(store_lookups(inst,
			 "shared/pop3-policy/login/bob"), ==, 3);
	g_assert_cmpuint(pp_instance_log_count(inst, NULL,
			 "Setting 'shared/pop3-policy/login/bob'"), ==, 3);
	g_assert_cmpuint(pp_instance_log_count(inst, NULL, "Looking up"), ==,
			 3 + 6);
	g_assert_cmpuint(pp_instance_log_count(inst, NULL, "Setting '"), ==,
			 3);
	/* no pop3 process ever looked anything up */
	g_assert_cmpuint(pp_instance_log_lookups(inst, " pop3(", "shared/"),
			 ==, 0);
	rt_stop(inst);
}

/* A policy record larger than the handover's budget is not handed over:
   the session reads it from the store itself (the slower setup). */
static void test_large_record_read_from_store(void)
{
	/* the session reads the store itself: the socket must let it */
	PpInstance *inst = start_with_chain_socket(PP_STORE_SOCKET_MAIL);
	GString *policy = g_string_new("expire=never");
	char *out, *lines, *handover;

	pp_instance_add_user(inst, "bob", "secret", NULL);
	rt_deliver_n(inst, "bob", 2);
	/* a long but valid policy: the same key again and again */
	while (policy->len < 3200)
		g_string_append(policy, " expire=never");
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "bob", policy->str, NULL), ==, 0);
	g_free(out);
	session_stat(inst, "bob", "+OK 2 ");
	lines = last_session_lines_of(inst, "bob", "with a store", &handover);
	g_assert_true(lines_use_dict(lines));
	/* "Looking up (async) '...'" on the dict server, "Looking up
	   '...'" where the driver has no async lookups (redis:) */
	rt_assert_contains(lines, "'shared/pop3-policy/policy/bob'");
	g_free(handover);
	g_free(lines);
	g_string_free(policy, TRUE);
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
	PpUser users[G_N_ELEMENTS(cases) + 1] = { { NULL } };
	PpInstance *inst;
	unsigned int i;
	char *out, *log;
	PpPop3 *pop3;

	opts.store = PP_STORE_SQLITE;
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		users[i].name = cases[i].user;
		users[i].password = "secret";
		users[i].userdb_fields = cases[i].fields;
	}
	opts.users = users;
	inst = rt_start(&opts);
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

/* The auth process keeps its connection to the dict server open between
   logins. Dovecot 2.3's dict client leaves a request timeout armed when a
   new connection serves only one burst of commands, and asserts when it
   fires 30 s later with nothing pending (src/lib-dict/dict-client.c,
   client_dict_input_timeout()); the package's idle time is shorter, so
   the connection is closed first. One login, then 35 s of nothing: no
   panic, and the next login works. */
static void test_auth_store_connection_idle(void)
{
	PpInstance *inst = start_with_chain();
	unsigned int i;

	pp_instance_add_user(inst, "carol", "secret", NULL);
	rt_deliver_n(inst, "carol", 1);
	session_stat(inst, "carol", "+OK 1 ");
	for (i = 0; i < 35; i++) {
		if (pp_instance_wait_log(inst, "Panic:", 1000))
			g_error("auth panicked after an idle store "
				"connection:\n%s", pp_instance_read_log(inst));
	}
	session_stat(inst, "carol", "+OK 1 ");
	g_assert_false(pp_instance_wait_log(inst, "Panic:", 0));
	rt_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/handover/store-reads-per-login",
			test_store_reads_per_login);
	g_test_add_func("/handover/large-record-read-from-store",
			test_large_record_read_from_store);
	g_test_add_func("/handover/auth-store-connection-idle",
			test_auth_store_connection_idle);
	g_test_add_func("/handover/bad-handover-ignored",
			test_bad_handover_ignored);
	return g_test_run();
}
