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
#include "pp-helpers.h"

#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>

#define MSG_COUNT 5

/* A second client with a copy of c's state (the control). */
static PpClient *client_copy(PpClient *c, const char *state_file)
{
	PpClient *copy = pp_client_new();
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

/* Runs fetchmail (keep + uidl, USER/PASS) against the port; returns how
   many messages it delivered. */
static guint fetchmail_poll(PpClient *c, guint16 port)
{
	guint before = pp_maildir_count(c->out, NULL);
	int ret = pp_client_fetchmail(c, port, "password", "u1", "pass",
				      NULL);

	/* 0: fetched something, 1: no new mail */
	g_assert_true(ret == 0 || ret == 1);
	return pp_maildir_count(c->out, NULL) - before;
}

/* Runs mpop (keep, only_new, USER/PASS); returns how many messages it
   delivered. */
static guint mpop_poll(PpClient *c, guint16 port)
{
	guint before = pp_maildir_count(c->out, NULL);

	g_assert_cmpint(pp_client_mpop(c, port, "user", "u1", "pass", NULL),
			==, 0);
	return pp_maildir_count(c->out, NULL) - before;
}

typedef guint (*PollFunc)(PpClient *c, guint16 port);

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
	PpClient *c = pp_client_new(), *control;
	char *msg;

	g_assert_cmpuint(poll(c, pp_instance_port(src)), ==, MSG_COUNT);
	g_assert_cmpuint(poll(c, pp_instance_port(src)), ==, 0);

	dst = migrate(src, mail_location, uidl_format);
	/* control: without the import the client would fetch it all again */
	control = client_copy(c, state_file);
	g_assert_cmpuint(poll(control, pp_instance_port(dst)), ==, MSG_COUNT);
	pp_client_free(control);

	import_source_uidls(dst);
	g_assert_cmpuint(poll(c, pp_instance_port(dst)), ==, 0);
	/* new mail on the target is fetched, once */
	msg = uidl_test_message(100);
	pp_instance_deliver(dst, "u1", msg);
	g_free(msg);
	g_assert_cmpuint(poll(c, pp_instance_port(dst)), ==, 1);
	g_assert_cmpuint(poll(c, pp_instance_port(dst)), ==, 0);

	pp_client_free(c);
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
	PpClient *fm = pp_client_new(), *mp = pp_client_new(), *control;
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
	pp_client_free(control);

	pp_client_free(fm);
	pp_client_free(mp);
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
