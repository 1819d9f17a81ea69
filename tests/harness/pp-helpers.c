/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The helpers the test programs share (see pp-helpers.h). */

#include "pp-helpers.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static GPtrArray *watched;

void pp_watch_instance(PpInstance *inst)
{
	if (watched == NULL)
		watched = g_ptr_array_new();
	g_ptr_array_add(watched, inst);
}

void pp_unwatch_instance(PpInstance *inst)
{
	if (watched == NULL)
		return;
	if (inst == NULL)
		g_ptr_array_set_size(watched, 0);
	else
		(void)g_ptr_array_remove(watched, inst);
}

void pp_dump_logs(void)
{
	unsigned int i;

	for (i = 0; watched != NULL && i < watched->len; i++) {
		PpInstance *inst = g_ptr_array_index(watched, i);
		char *log = pp_instance_read_log(inst);

		g_printerr("--- log of %s ---\n%s--- end ---\n",
			   pp_instance_dir(inst), log);
		g_free(log);
	}
}

void pp_write_file(const char *path, const char *contents, int mode)
{
	GError *error = NULL;

	if (!g_file_set_contents(path, contents, -1, &error))
		g_error("pp-harness: %s", error->message);
	if (g_chmod(path, mode) < 0)
		g_error("pp-harness: chmod %s: %s", path, g_strerror(errno));
}

char *pp_random_key_line(const char *id)
{
	GString *str = g_string_new(id);
	unsigned int i;

	g_string_append_c(str, ' ');
	for (i = 0; i < 32; i++)
		g_string_append_printf(str, "%02x", g_random_int_range(0, 256));
	g_string_append_c(str, '\n');
	return g_string_free(str, FALSE);
}

int pp_doveadm(PpInstance *inst, const char *const *argv, const char *input,
	       char **out_r, char **err_r)
{
	char *out = NULL, *err = NULL, *cmd;
	int ret;

	ret = pp_instance_doveadm(inst, argv, input, &out, &err);
	if (out == NULL)
		out = g_strdup("");
	if (err == NULL)
		err = g_strdup("");
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

void pp_doveadm_ok(PpInstance *inst, const char *const *argv, char **out_r)
{
	char *err = NULL;
	int ret = pp_doveadm(inst, argv, NULL, out_r, &err);

	if (ret != 0) {
		char *cmd = g_strjoinv(" ", (char **)argv);

		pp_dump_logs();
		g_error("doveadm %s: exit %d: %s", cmd, ret, err);
	}
	g_free(err);
}

void pp_wait_next_second(void)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	while (g_get_real_time() / G_USEC_PER_SEC <= now)
		g_usleep(10 * 1000);
}

void pp_assert_prefix(char *reply, const char *prefix)
{
	if (!g_str_has_prefix(reply, prefix)) {
		pp_dump_logs();
		g_error("expected a reply starting with '%s', got '%s'",
			prefix, reply);
	}
	g_free(reply);
}

void pp_assert_log_has(PpInstance *inst, const char *text)
{
	if (!pp_instance_wait_log(inst, text, 5000)) {
		pp_dump_logs();
		g_error("the log lacks '%s'", text);
	}
}

void pp_instance_write_mail(PpInstance *inst, const char *user,
			    const char *subdir, const char *name,
			    const char *contents)
{
	static const char *const subdirs[] = { "", "cur", "new", "tmp" };
	const char *home = pp_instance_home(inst, user);
	char *path;
	GStatBuf st;
	unsigned int i;

	g_assert_cmpint(g_stat(home, &st), ==, 0);
	for (i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *dir = g_build_filename(home, "Maildir", subdirs[i],
					     NULL);

		if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
			g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==,
					0);
			g_assert_cmpint(chown(dir, st.st_uid, st.st_gid), ==,
					0);
		}
		g_free(dir);
	}
	path = g_build_filename(home, "Maildir", subdir, name, NULL);
	pp_write_file(path, contents, 0600);
	g_assert_cmpint(chown(path, st.st_uid, st.st_gid), ==, 0);
	g_free(path);
}

PpPop3 *pp_pop3_connect_or_die(guint16 port)
{
	GError *error = NULL;
	PpPop3 *pop3 = pp_pop3_connect(port, &error);

	g_assert_no_error(error);
	return pop3;
}

char *pp_sasl_plain(const char *user, const char *password)
{
	GString *raw = g_string_new(NULL);
	char *b64;

	g_string_append_c(raw, '\0');
	g_string_append(raw, user);
	g_string_append_c(raw, '\0');
	g_string_append(raw, password);
	b64 = g_base64_encode((const guchar *)raw->str, raw->len);
	g_string_free(raw, TRUE);
	return b64;
}

char *pp_apop_digest(PpPop3 *pop3, const char *secret)
{
	const char *greeting = pp_pop3_greeting(pop3);
	const char *start = strchr(greeting, '<');
	const char *end = start == NULL ? NULL : strchr(start, '>');
	char *challenge, *digest;

	g_assert_nonnull(end);
	challenge = g_strdup_printf("%.*s%s", (int)(end - start + 1), start,
				    secret);
	digest = g_compute_checksum_for_string(G_CHECKSUM_MD5, challenge, -1);
	g_free(challenge);
	return digest;
}

/* Ends the session with QUIT if reply says it logged in, unless it is
   wanted in session_r. */
static char *pp_login_end(PpPop3 *pop3, char *reply, PpPop3 **session_r)
{
	if (session_r != NULL && g_str_has_prefix(reply, "+OK")) {
		*session_r = pop3;
		return reply;
	}
	if (g_str_has_prefix(reply, "+OK"))
		g_free(pp_pop3_cmd(pop3, "QUIT"));
	pp_pop3_close(pop3);
	return reply;
}

char *pp_try_pass(guint16 port, const char *user, const char *password,
		  PpPop3 **session_r)
{
	PpPop3 *pop3 = pp_pop3_connect_or_die(port);
	char *cmd = g_strdup_printf("USER %s", user);
	char *reply = pp_pop3_cmd(pop3, cmd);

	g_free(cmd);
	if (!g_str_has_prefix(reply, "+OK")) {
		pp_pop3_close(pop3);
		return reply;
	}
	g_free(reply);
	cmd = g_strdup_printf("PASS %s", password);
	reply = pp_pop3_cmd(pop3, cmd);
	g_free(cmd);
	return pp_login_end(pop3, reply, session_r);
}

char *pp_try_apop(guint16 port, const char *user, const char *secret)
{
	PpPop3 *pop3 = pp_pop3_connect_or_die(port);
	char *digest = pp_apop_digest(pop3, secret);
	char *cmd = g_strdup_printf("APOP %s %s", user, digest);
	char *reply = pp_pop3_cmd(pop3, cmd);

	g_free(cmd);
	g_free(digest);
	return pp_login_end(pop3, reply, NULL);
}

char *pp_try_auth_plain(guint16 port, const char *user, const char *password)
{
	PpPop3 *pop3 = pp_pop3_connect_or_die(port);
	char *b64 = pp_sasl_plain(user, password);
	char *cmd = g_strdup_printf("AUTH PLAIN %s", b64);
	char *reply = pp_pop3_cmd(pop3, cmd);

	g_free(cmd);
	g_free(b64);
	return pp_login_end(pop3, reply, NULL);
}

PpClient *pp_client_new(void)
{
	static const char *const sub[] = { "new", "cur", "tmp" };
	PpClient *c = g_new0(PpClient, 1);
	unsigned int i;

	c->dir = g_build_filename(pp_tmp_root(), "pp-client-XXXXXX", NULL);
	g_assert_nonnull(g_mkdtemp(c->dir));
	/* the clients may run as another user */
	g_assert_cmpint(g_chmod(c->dir, 0755), ==, 0);
	c->out = g_build_filename(c->dir, "out", NULL);
	for (i = 0; i < G_N_ELEMENTS(sub); i++) {
		char *d = g_build_filename(c->out, sub[i], NULL);

		g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
		g_free(d);
	}
	return c;
}

void pp_client_free(PpClient *c)
{
	const char *const argv[] = { "rm", "-rf", c->dir, NULL };

	(void)pp_run_program(argv, NULL, NULL, NULL, NULL, NULL);
	g_free(c->dir);
	g_free(c->out);
	g_free(c);
}

unsigned int pp_maildir_count(const char *maildir, const char *text)
{
	static const char *const sub[] = { "new", "cur" };
	unsigned int i, n = 0;

	for (i = 0; i < G_N_ELEMENTS(sub); i++) {
		char *d = g_build_filename(maildir, sub[i], NULL);
		GDir *gd = g_dir_open(d, 0, NULL);
		const char *name;

		g_assert_nonnull(gd);
		while ((name = g_dir_read_name(gd)) != NULL) {
			char *path = g_build_filename(d, name, NULL);
			char *data = NULL;

			if (text == NULL)
				n++;
			else {
				g_assert_true(g_file_get_contents(path, &data,
								  NULL, NULL));
				if (strstr(data, text) != NULL)
					n++;
			}
			g_free(data);
			g_free(path);
		}
		g_dir_close(gd);
		g_free(d);
	}
	return n;
}

/* Writes the client's rc file (mode 0600: fetchmail refuses one that
   others can read) and frees conf, then runs the client with the
   environment of envp only; its exit status, its stdout and stderr
   together in output_r. */
static int pp_client_run(const char *const *argv, PpClient *c,
			 const char *rc, char *conf, const char *const *envp,
			 char **output_r)
{
	char *out = NULL, *err = NULL;
	int ret;

	pp_write_file(rc, conf, 0600);
	g_free(conf);
	ret = pp_run_program(argv, c->dir, envp, NULL, &out, &err);

	if (output_r != NULL)
		*output_r = g_strconcat(out, err, NULL);
	g_free(out);
	g_free(err);
	return ret;
}

int pp_client_fetchmail(PpClient *c, guint16 port, const char *auth,
			const char *user, const char *password,
			char **output_r)
{
	char *rc = g_build_filename(c->dir, "fetchmailrc", NULL);
	char *ids = g_build_filename(c->dir, "fetchids", NULL);
	char *pid = g_build_filename(c->dir, "fetchmail.pid", NULL);
	char *home = g_strdup_printf("FETCHMAILHOME=%s", c->dir);
	char *conf = g_strdup_printf(
		"set no bouncemail\n"
		"set no syslog\n"
		"poll 127.0.0.1 service %u %s uidl timeout 60\n"
		"    user \"%s\" there with password \"%s\" is \"root\" here\n"
		"    keep no fetchall sslproto ''\n"
		"    mda \"/bin/sh -c 'cat > %s/new/$(date +%%s%%N)'\"\n",
		port, strcmp(auth, "apop") == 0 ? "protocol APOP" :
		"protocol POP3 auth password", user, password, c->out);
	const char *const argv[] = {
		"fetchmail", "-f", rc, "-i", ids, "--pidfile", pid,
		"--nosyslog", NULL
	};
	const char *const envp[] = { home, "PATH=/usr/bin:/bin", NULL };
	int ret;

	ret = pp_client_run(argv, c, rc, conf, envp, output_r);
	g_free(home);
	g_free(pid);
	g_free(ids);
	g_free(rc);
	return ret;
}

int pp_client_getmail(PpClient *c, guint16 port, const char *user,
		      const char *password, gboolean apop, char **output_r)
{
	char *rc = g_build_filename(c->dir, "getmailrc", NULL);
	char *conf = g_strdup_printf(
		"[retriever]\n"
		"type = SimplePOP3Retriever\n"
		"server = 127.0.0.1\n"
		"port = %u\n"
		"username = %s\n"
		"password = %s\n"
		"use_apop = %s\n"
		"\n"
		"[destination]\n"
		"type = Maildir\n"
		"path = %s/\n"
		"user = nobody\n"
		"\n"
		"[options]\n"
		"delete = false\n"
		"read_all = false\n"
		"verbose = 0\n", port, user, password,
		apop ? "true" : "false", c->out);
	const char *const chown_argv[] = {
		"chown", "-R", "nobody", c->out, NULL
	};
	const char *const argv[] = {
		"getmail", "--getmaildir", c->dir, "--rcfile", "getmailrc", NULL
	};
	const char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
	int ret;

	/* it delivers as user nobody */
	g_assert_cmpint(pp_run_program(chown_argv, NULL, NULL, NULL, NULL,
				       NULL), ==, 0);
	ret = pp_client_run(argv, c, rc, conf, envp, output_r);
	g_free(rc);
	return ret;
}

int pp_client_mpop(PpClient *c, guint16 port, const char *auth,
		   const char *user, const char *password, char **output_r)
{
	char *rc = g_build_filename(c->dir, "mpoprc", NULL);
	char *home = g_strdup_printf("HOME=%s", c->dir);
	char *conf = g_strdup_printf(
		"defaults\n"
		"tls off\n"
		"account %s\n"
		"host 127.0.0.1\n"
		"port %u\n"
		"user %s\n"
		"password %s\n"
		"auth %s\n"
		"keep on\n"
		"only_new on\n"
		"uidls_file %s/uidls\n"
		"delivery maildir %s\n", user, port, user, password, auth,
		c->dir, c->out);
	const char *const argv[] = { "mpop", "-q", "-C", rc, user, NULL };
	const char *const envp[] = { home, "PATH=/usr/bin:/bin", NULL };
	int ret;

	ret = pp_client_run(argv, c, rc, conf, envp, output_r);
	g_free(home);
	g_free(rc);
	return ret;
}

int pp_run_program(const char *const *argv, const char *cwd,
		   const char *const *envp, const char *stdin_data,
		   char **out_r, char **err_r)
{
	GSubprocessLauncher *l = g_subprocess_launcher_new(
		G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
		G_SUBPROCESS_FLAGS_STDERR_PIPE);
	/* a stdin pipe needs data to give, even none */
	GBytes *in = g_bytes_new(stdin_data == NULL ? "" : stdin_data,
				 stdin_data == NULL ? 0 : strlen(stdin_data));
	GBytes *out = NULL, *err = NULL;
	GSubprocess *proc;
	GError *error = NULL;
	int status;

	if (cwd != NULL)
		g_subprocess_launcher_set_cwd(l, cwd);
	if (envp != NULL)
		g_subprocess_launcher_set_environ(l, (char **)envp);
	proc = g_subprocess_launcher_spawnv(l, argv, &error);
	if (proc == NULL)
		g_error("%s: %s", argv[0], error->message);
	if (!g_subprocess_communicate(proc, in, NULL, &out, &err, &error))
		g_error("%s: %s", argv[0], error->message);
	status = g_subprocess_get_if_exited(proc) ?
		g_subprocess_get_exit_status(proc) : -1;
	g_test_message("%s: exit %d\nstdout: %.*s\nstderr: %.*s", argv[0],
		       status, (int)g_bytes_get_size(out),
		       (const char *)g_bytes_get_data(out, NULL),
		       (int)g_bytes_get_size(err),
		       (const char *)g_bytes_get_data(err, NULL));
	/* an empty output's data may be NULL, which g_strndup() keeps */
	if (out_r != NULL) {
		*out_r = g_strndup(g_bytes_get_size(out) == 0 ? "" :
				   g_bytes_get_data(out, NULL),
				   g_bytes_get_size(out));
	}
	if (err_r != NULL) {
		*err_r = g_strndup(g_bytes_get_size(err) == 0 ? "" :
				   g_bytes_get_data(err, NULL),
				   g_bytes_get_size(err));
	}
	g_bytes_unref(in);
	g_bytes_unref(out);
	g_bytes_unref(err);
	g_object_unref(proc);
	g_object_unref(l);
	return status;
}
