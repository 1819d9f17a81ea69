/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* UIDL remapping proven with real POP3 clients that leave mail on the
   server:
   - migration: fetchmail (keep + uidl) and mpop (USER/PASS) fetch
     everything from a "source" Dovecot; the mail moves to a "target"
     instance with another pop3_uidl_format (maildir) or another format
     (mdbox); the source's UIDLs, exported with their hdr: keys, are
     imported on the target; the clients then fetch nothing, while a copy
     of their state without the import would fetch everything again;
   - restore: snapshot, then dovecot-uidlist is lost (new UIDVALIDITY); the
     clients fetch nothing new. */

#include "test-uidl-common.h"

#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>

#define MSG_COUNT 5

typedef struct {
	char *dir;
	char *out;
} Client;

static Client *client_new(void)
{
	Client *c = g_new0(Client, 1);
	GError *error = NULL;
	const char *sub[] = { "new", "cur", "tmp" };
	guint i;

	c->dir = g_dir_make_tmp("pp-uidl-client-XXXXXX", &error);
	g_assert_no_error(error);
	c->out = g_build_filename(c->dir, "out", NULL);
	for (i = 0; i < G_N_ELEMENTS(sub); i++) {
		char *d = g_build_filename(c->out, sub[i], NULL);
		g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
		g_free(d);
	}
	return c;
}

static void client_free(Client *c)
{
	char *argv[] = { (char *)"rm", (char *)"-rf", c->dir, NULL };

	g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
		     NULL, NULL, NULL, NULL);
	g_free(c->dir);
	g_free(c->out);
	g_free(c);
}

/* A second client with a copy of c's state (the control). */
static Client *client_copy(Client *c, const char *state_file)
{
	Client *copy = client_new();
	char *from = g_build_filename(c->dir, state_file, NULL);
	char *to = g_build_filename(copy->dir, state_file, NULL);
	char *data = NULL;
	gsize len;

	g_assert_true(g_file_get_contents(from, &data, &len, NULL));
	g_assert_true(g_file_set_contents(to, data, len, NULL));
	/* fetchmail refuses a state file others can read */
	g_assert_cmpint(g_chmod(to, 0600), ==, 0);
	g_free(data); g_free(from); g_free(to);
	return copy;
}

static guint count_files(const char *dir)
{
	const char *sub[] = { "new", "cur" };
	guint i, n = 0;

	for (i = 0; i < G_N_ELEMENTS(sub); i++) {
		char *d = g_build_filename(dir, sub[i], NULL);
		GDir *gd = g_dir_open(d, 0, NULL);

		g_assert_nonnull(gd);
		while (g_dir_read_name(gd) != NULL)
			n++;
		g_dir_close(gd);
		g_free(d);
	}
	return n;
}

static int run(const char *const *argv, const char *cwd, char **envp)
{
	char *out = NULL, *err = NULL;
	GError *error = NULL;
	int status;

	if (!g_spawn_sync(cwd, (char **)argv, envp, G_SPAWN_SEARCH_PATH,
			  NULL, NULL, &out, &err, &status, &error))
		g_error("%s: %s", argv[0], error->message);
	g_test_message("%s: status %d\n%s%s", argv[0], status, out, err);
	g_free(out);
	g_free(err);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Runs fetchmail (keep + uidl, USER/PASS) against the port; returns how
   many messages it delivered. */
static guint fetchmail_poll(Client *c, guint16 port)
{
	char *rc = g_build_filename(c->dir, "fetchmailrc", NULL);
	char *ids = g_build_filename(c->dir, "fetchids", NULL);
	char *pid = g_build_filename(c->dir, "fetchmail.pid", NULL);
	char *conf = g_strdup_printf(
		"set no bouncemail\n"
		"set no syslog\n"
		"poll 127.0.0.1 service %u protocol POP3 auth password uidl "
		"timeout 60\n"
		"    user \"u1\" there with password \"pass\" is \"root\" here\n"
		"    keep no fetchall sslproto ''\n"
		"    mda \"/bin/sh -c 'cat > %s/new/$(date +%%s%%N)'\"\n",
		port, c->out);
	char *home = g_strdup_printf("FETCHMAILHOME=%s", c->dir);
	char *envp[] = { home, (char *)"PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "fetchmail", "-f", rc, "-i", ids, "--pidfile",
			       pid, "--nosyslog", NULL };
	guint before = count_files(c->out);
	int ret;

	g_assert_true(g_file_set_contents(rc, conf, -1, NULL));
	g_assert_cmpint(g_chmod(rc, 0600), ==, 0);
	ret = run(argv, c->dir, envp);
	/* 0: fetched something, 1: no new mail */
	g_assert_true(ret == 0 || ret == 1);
	g_free(rc); g_free(ids); g_free(pid); g_free(conf); g_free(home);
	return count_files(c->out) - before;
}

/* Runs mpop (keep, only_new, USER/PASS); returns how many messages it
   delivered. */
static guint mpop_poll(Client *c, guint16 port)
{
	char *rc = g_build_filename(c->dir, "mpoprc", NULL);
	char *conf = g_strdup_printf(
		"defaults\n"
		"tls off\n"
		"account u1\n"
		"host 127.0.0.1\n"
		"port %u\n"
		"user u1\n"
		"password pass\n"
		"auth user\n"
		"keep on\n"
		"only_new on\n"
		"uidls_file %s/uidls\n"
		"delivery maildir %s\n", port, c->dir, c->out);
	char *home = g_strdup_printf("HOME=%s", c->dir);
	char *envp[] = { home, (char *)"PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "mpop", "-q", "-C", rc, "u1", NULL };
	guint before = count_files(c->out);

	g_assert_true(g_file_set_contents(rc, conf, -1, NULL));
	g_assert_cmpint(g_chmod(rc, 0600), ==, 0);
	g_assert_cmpint(run(argv, c->dir, envp), ==, 0);
	g_free(rc); g_free(conf); g_free(home);
	return count_files(c->out) - before;
}

typedef guint (*PollFunc)(Client *c, guint16 port);

/* Moves u1's mail from src to a new target instance and imports the
   source's UIDLs there by their hdr: keys. */
static PpInstance *migrate(PpInstance *src, const char *mail_location,
			   const char *uidl_format)
{
	PpInstance *dst = uidl_start(mail_location, uidl_format, NULL);
	GPtrArray *rows = uidl_export(src, "u1");
	GString *file = g_string_new("# exported from the source\n");
	char *path, *out = NULL, *err = NULL;
	guint i;

	pp_instance_add_user(dst, "u1", "pass", NULL);
	/* the migration copies the raw messages */
	for (i = 0; i < MSG_COUNT; i++) {
		char *msg = uidl_test_message(i);
		pp_instance_deliver(dst, "u1", msg);
		g_free(msg);
	}
	for (i = 0; i < rows->len; i++) {
		UidlExportRow *row = rows->pdata[i];
		g_string_append_printf(file, "%s %s\n", row->hdr, row->uidl);
	}
	path = uidl_write_file(dst, "from-source.txt", file->str);
	g_string_free(file, TRUE);
	uidl_export_free(rows);
	/* not imported yet: the caller runs its control first */
	g_free(path);
	(void)out; (void)err;
	return dst;
}

static void import_source_uidls(PpInstance *dst)
{
	char *path = g_build_filename(pp_instance_dir(dst), "from-source.txt",
				      NULL);
	char *out = NULL, *err = NULL;

	g_assert_cmpint(uidl_doveadm(dst, &out, &err, "pop3-uidl", "import",
				     "-u", "u1", path, NULL), ==, 0);
	g_free(out); g_free(err); g_free(path);
}

static void
migration(PollFunc poll, const char *state_file, const char *mail_location,
	  const char *uidl_format)
{
	PpInstance *src = uidl_start_with_mail("maildir:~/Maildir",
					       "%08Xu%08Xv", NULL, MSG_COUNT);
	PpInstance *dst;
	Client *c = client_new(), *control;
	char *msg;

	g_assert_cmpuint(poll(c, pp_instance_port(src)), ==, MSG_COUNT);
	g_assert_cmpuint(poll(c, pp_instance_port(src)), ==, 0);

	dst = migrate(src, mail_location, uidl_format);
	/* control: without the import the client would fetch it all again */
	control = client_copy(c, state_file);
	g_assert_cmpuint(poll(control, pp_instance_port(dst)), ==, MSG_COUNT);
	client_free(control);

	import_source_uidls(dst);
	g_assert_cmpuint(poll(c, pp_instance_port(dst)), ==, 0);
	/* new mail on the target is fetched, once */
	msg = uidl_test_message(100);
	pp_instance_deliver(dst, "u1", msg);
	g_free(msg);
	g_assert_cmpuint(poll(c, pp_instance_port(dst)), ==, 1);
	g_assert_cmpuint(poll(c, pp_instance_port(dst)), ==, 0);

	client_free(c);
	pp_instance_stop(src);
	pp_instance_stop(dst);
}

static void test_migration_fetchmail_maildir(void)
{
	migration(fetchmail_poll, "fetchids", "maildir:~/Maildir", "%g");
}

static void test_migration_mpop_mdbox(void)
{
	migration(mpop_poll, "uidls", "mdbox:~/mdbox", "%08Xv%08Xu");
}

static void test_migration_fetchmail_mdbox(void)
{
	migration(fetchmail_poll, "fetchids", "mdbox:~/mdbox", "%08Xv%08Xu");
}

static void test_migration_mpop_maildir(void)
{
	migration(mpop_poll, "uidls", "maildir:~/Maildir", "%g");
}

static void test_restore(void)
{
	PpInstance *inst = uidl_start_with_mail("maildir:~/Maildir",
						"%08Xu%08Xv", NULL, MSG_COUNT);
	Client *fm = client_new(), *mp = client_new(), *control;
	guint32 uv_before, uv_after;
	char *out = NULL, *err = NULL;

	g_assert_cmpuint(fetchmail_poll(fm, pp_instance_port(inst)), ==,
			 MSG_COUNT);
	g_assert_cmpuint(mpop_poll(mp, pp_instance_port(inst)), ==, MSG_COUNT);
	g_assert_cmpint(uidl_doveadm(inst, &out, &err, "pop3-uidl",
				     "snapshot", "-u", "u1", NULL), ==, 0);
	g_free(out); g_free(err);

	uv_before = uidl_uidvalidity(inst, "u1");
	uidl_lose_uidlist(inst, "u1");
	uv_after = uidl_uidvalidity(inst, "u1");
	/* the restore did change Dovecot's own UIDLs */
	g_assert_cmpuint(uv_before, !=, uv_after);

	g_assert_cmpuint(fetchmail_poll(fm, pp_instance_port(inst)), ==, 0);
	g_assert_cmpuint(mpop_poll(mp, pp_instance_port(inst)), ==, 0);

	/* control: without the snapshot (clear also resets the guard, as
	   the administrator wants the change), the client downloads
	   everything again */
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "clear",
				     "-u", "u1", NULL), ==, 0);
	control = client_copy(mp, "uidls");
	g_assert_cmpuint(mpop_poll(control, pp_instance_port(inst)), ==,
			 MSG_COUNT);
	client_free(control);

	client_free(fm);
	client_free(mp);
	pp_instance_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/uidl/clients/migration-fetchmail-maildir",
			test_migration_fetchmail_maildir);
	g_test_add_func("/uidl/clients/migration-mpop-mdbox",
			test_migration_mpop_mdbox);
	g_test_add_func("/uidl/clients/migration-fetchmail-mdbox",
			test_migration_fetchmail_mdbox);
	g_test_add_func("/uidl/clients/migration-mpop-maildir",
			test_migration_mpop_maildir);
	g_test_add_func("/uidl/clients/restore", test_restore);
	return g_test_run();
}
