/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Who reaches the store through Dovecot's dict server. The dict proxy
   believes the user name and key a client sends (src/dict/dict-commands.c
   takes both from the client's BEGIN and LOOKUP lines), so whoever can
   connect to the dict server's socket can read and write every user's
   records. The shipped setup (conf.d/90-pop3-policy.conf, the quick
   start, and the harness's default with the package's auth chain) gives
   that socket to the auth process's user and root only:

   - a process running as the mail uid (here `doveadm dict` under setpriv,
     what a user's own code could run) can neither read nor write
     shared/pop3-policy/...: it cannot lift its own legal_hold, nor reset
     its LOGIN-DELAY state, and a second login inside the delay is still
     refused;
   - auth and the doveadm commands, which drop privileges to the mail user
     before they run, still use the store.

   The first two tests fail with the socket open to all (mode 0666), the
   third when a doveadm command connects as the mail user. */

#include "test-retention-common.h"
#include "pp-helpers.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

/* The mail uid of the harness's users (pp-harness.c). */
#define MAIL_USER "nobody"

static PpInstance *start_trusted(const char *chain_args)
{
	PpInstanceOptions opts = { .with_package = TRUE };

	opts.store = PP_STORE_SQLITE;
	opts.auth_chain = TRUE;
	opts.auth_chain_args = chain_args;
	opts.store_socket = PP_STORE_SOCKET_TRUSTED;
	return rt_start(&opts);
}

/* With PP_STORE_BACKEND=redis the store is not behind the dict server,
   and what guards it is Redis's own access control: the tests of the
   socket skip instead of passing for nothing (scripts/run-tests does not
   run this program on Redis, and counts a skip as a failure). */
static gboolean store_behind_dict_server(PpInstance *inst)
{
	if (g_str_has_prefix(pp_instance_store_uri(inst), "proxy:"))
		return TRUE;
	g_test_skip("the store is not behind the dict server");
	rt_stop(inst);
	return FALSE;
}

/* Runs `doveadm dict ARGS...` against the instance's dict server as the
   mail uid, with its group and no other; returns the exit code, and
   stdout and stderr together in out_r (g_free). */
static int mail_uid_dict(PpInstance *inst, char **out_r, const char *cmd,
			 const char *socket_name, const char *key,
			 const char *value)
{
	struct passwd *pw = getpwnam(MAIL_USER);
	char *reuid, *regid, *uri, *out = NULL, *err = NULL;
	int ret;

	g_assert_nonnull(pw);
	reuid = g_strdup_printf("--reuid=%u", (unsigned int)pw->pw_uid);
	regid = g_strdup_printf("--regid=%u", (unsigned int)pw->pw_gid);
	uri = g_strdup_printf("proxy:%s/%s:pop3policy",
			      pp_instance_base_dir(inst), socket_name);
	{
		const char *argv[] = {
			"setpriv", reuid, regid, "--clear-groups",
			"doveadm", "-c", pp_instance_conf_path(inst),
			"dict", cmd, uri, key, value, NULL
		};

		ret = pp_instance_run(inst, argv, NULL, &out, &err);
	}
	/* an empty output comes back as NULL */
	*out_r = g_strconcat(out != NULL ? out : "", err != NULL ? err : "",
			     NULL);
	g_free(out);
	g_free(err);
	g_free(uri);
	g_free(regid);
	g_free(reuid);
	return ret;
}

/* The mail uid's attempt is refused by the socket itself: a non-zero
   exit and no record text in what it printed. */
static void assert_refused(PpInstance *inst, const char *socket_name,
			   int ret, const char *out, const char *what)
{
	/* lib-dict's error for the socket (dict-client.c), not any other
	   one the process may meet (stats-writer) */
	char *refusal = g_strdup_printf(
		"net_connect_unix(%s/%s) failed: Permission denied",
		pp_instance_base_dir(inst), socket_name);

	if (g_test_verbose())
		g_printerr("# %s as the mail uid: exit %d: %s\n", what, ret,
			   out);
	if (ret == 0 || strstr(out, refusal) == NULL)
		g_error("%s as the mail uid was not refused (exit %d):\n%s",
			what, ret, out);
	g_free(refusal);
	g_assert_null(strstr(out, "legal_hold"));
	g_assert_null(strstr(out, "\tlogin\t"));
}

/* A legal hold set by the administrator stays: the mail uid can neither
   read the record nor replace it through either of the dict server's
   sockets. */
static void test_legal_hold_kept(void)
{
	static const char *const sockets[] = { "dict", "dict-async" };
	PpInstance *inst = start_trusted(NULL);
	char *out;
	unsigned int i;
	int ret;

	if (!store_behind_dict_server(inst))
		return;
	pp_instance_add_user(inst, "alice", "secret", NULL);
	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "alice", "legal_hold=yes", NULL), ==, 0);
	g_free(out);

	for (i = 0; i < G_N_ELEMENTS(sockets); i++) {
		ret = mail_uid_dict(inst, &out, "get", sockets[i],
				    "shared/pop3-policy/policy/alice", NULL);
		assert_refused(inst, sockets[i], ret, out,
			       "dict get of the policy");
		g_free(out);
		ret = mail_uid_dict(inst, &out, "set", sockets[i],
				    "shared/pop3-policy/policy/alice",
				    "1\tpolicy\t1\tlegal_hold=no");
		assert_refused(inst, sockets[i], ret, out,
			       "dict set of the policy");
		g_free(out);
	}

	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "show", "-u", "alice", NULL), ==, 0);
	rt_assert_show(out, "legal_hold", "yes", "store");
	g_free(out);
	rt_stop(inst);
}

/* LOGIN-DELAY holds: the mail uid cannot overwrite or remove the login
   record that the first login left, and a second login inside the delay
   is still refused. */
static void test_login_delay_kept(void)
{
	PpInstance *inst = start_trusted("pop3_policy=login_delay=1h");
	PpPop3 *pop3;
	char *out, *reply;
	int ret;

	if (!store_behind_dict_server(inst))
		return;
	pp_instance_add_user(inst, "bob", "secret", NULL);
	pop3 = rt_login(inst, "bob");
	rt_quit(pop3);

	/* a login record from long ago, as if the window were over */
	ret = mail_uid_dict(inst, &out, "set", "dict",
			    "shared/pop3-policy/login/bob",
			    "1\tlogin\t1\t1\t0");
	assert_refused(inst, "dict", ret, out,
		       "dict set of the login record");
	g_free(out);
	ret = mail_uid_dict(inst, &out, "unset", "dict",
			    "shared/pop3-policy/login/bob", NULL);
	assert_refused(inst, "dict", ret, out,
		       "dict unset of the login record");
	g_free(out);

	pop3 = rt_connect(inst);
	rt_ok(pop3, "USER bob");
	reply = pp_pop3_cmd(pop3, "PASS secret");
	if (!g_str_has_prefix(reply, "-ERR [LOGIN-DELAY]"))
		g_error("second login inside the delay: %s", reply);
	g_free(reply);
	pp_pop3_close(pop3);
	rt_stop(inst);
}

/* The doveadm commands still reach the store as root although the mail
   commands drop privileges to the mail user before they run: -u (whose
   drop Dovecot would make permanent) and -A (a temporary one). */
static void test_doveadm_commands(void)
{
	PpInstance *inst = start_trusted(NULL);
	char *out;

	pp_instance_add_user(inst, "carol", "secret", NULL);
	pp_instance_add_user(inst, "dave", "secret", NULL);
	rt_deliver_n(inst, "carol", 1);

	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "set", "-u",
				   "carol", "max_age=1s", NULL), ==, 0);
	g_free(out);
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "show", "-u", "carol", NULL), ==, 0);
	rt_assert_show(out, "max_age", "1s", "store");
	g_free(out);

	/* the message is older than max_age=1s from the next second on */
	pp_wait_next_second();
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "sweep", "-A", NULL), ==, 0);
	rt_assert_sweep_count(out, "carol", "max_age", 1);
	rt_assert_sweep_count(out, "dave", "max_age", 0);
	g_free(out);
	g_assert_cmpint(rt_inbox_count(inst, "carol"), ==, 0);
	out = rt_sweep(inst, "carol", NULL);
	rt_assert_sweep_count(out, "carol", "max_age", 0);
	g_free(out);

	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-policy", "unset", "-u",
				   "carol", NULL), ==, 0);
	g_free(out);
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-policy",
				   "show", "-u", "carol", NULL), ==, 0);
	rt_assert_show(out, "max_age", "never", "default");
	g_free(out);

	g_assert_cmpint(rt_doveadm(inst, &out, "pop3-apop", "set", "-u",
				   "dave", "--plaintext", "apop-secret", NULL),
			==, 0);
	g_free(out);
	g_assert_cmpint(rt_doveadm(inst, &out, "-f", "tab", "pop3-apop",
				   "status", "-u", "dave", NULL), ==, 0);
	rt_assert_contains(out, "yes");
	g_assert_null(strstr(out, "apop-secret"));
	g_free(out);
	rt_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store-access/legal-hold-kept", test_legal_hold_kept);
	g_test_add_func("/store-access/login-delay-kept",
			test_login_delay_kept);
	g_test_add_func("/store-access/doveadm-commands",
			test_doveadm_commands);
	return g_test_run();
}
