/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* UIDL remapping against a real Dovecot: import with every key kind and
   refused files, export, snapshot, verify, clear, collisions, native
   persistence, the guard, and the mailbox's UIDL state files: where they
   live, what survives the loss of the index and of dovecot-uidlist, a
   damaged file, and two backends sharing the mail storage. */

#include "test-uidl-common.h"

#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>

#define MAILDIR "maildir:~/Maildir"
#define NATIVE_FORMAT "%08Xu%08Xv"

static void assert_uidls(char **got, const char *const *want)
{
	guint i;

	g_assert_nonnull(got);
	for (i = 0; want[i] != NULL; i++) {
		g_assert_nonnull(got[i]);
		g_assert_cmpstr(got[i], ==, want[i]);
	}
	g_assert_null(got[i]);
}

static void test_import_key_kinds(void)
{
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 5);
	GPtrArray *rows = uidl_export(inst, "u1");
	UidlExportRow *r[5];
	char *file, *path, *out = NULL, *err = NULL, **uidls, **before;
	guint32 uv = uidl_uidvalidity(inst, "u1");
	guint i;
	int ret;

	g_assert_cmpuint(rows->len, ==, 5);
	for (i = 0; i < 5; i++) {
		r[i] = rows->pdata[i];
		g_assert_cmpuint(r[i]->msn, ==, i + 1);
		g_assert_cmpstr(r[i]->source, ==, "native");
		g_assert_true(g_str_has_prefix(r[i]->hdr, "hdr:"));
		g_assert_cmpuint(strlen(r[i]->hdr), ==, 4 + 64);
	}
	before = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpuint(g_strv_length(before), ==, 5);
	/* export shows what POP3 serves */
	for (i = 0; i < 5; i++)
		g_assert_cmpstr(before[i], ==, r[i]->uidl);

	/* one entry of each key kind; message 5 matches nothing */
	file = g_strdup_printf(
		"# migrated from the old server\r\n"
		"guid:%s OLD-GUID-1\r\n"
		"uid:%u:%u OLD-UID-2\r\n"
		"msgid:<m2.uidl@example.org> OLD-MSGID-3\r\n"
		"\r\n"
		"%s OLD-HDR-4\n"
		"guid:not-in-this-mailbox OLD-NOWHERE\n",
		r[0]->guid, uv, r[1]->uid, r[3]->hdr);
	path = uidl_write_file(inst, "import.txt", file);
	ret = uidl_doveadm(inst, &out, &err, "pop3-uidl", "import", "-u", "u1",
			   path, NULL);
	g_assert_cmpint(ret, ==, 0);
	g_assert_nonnull(strstr(out, "5"));
	g_free(out); g_free(err); g_free(path); g_free(file);

	uidls = uidl_pop3_list(inst, "u1", NULL);
	{
		const char *want[] = { "OLD-GUID-1", "OLD-UID-2", "OLD-MSGID-3",
				       "OLD-HDR-4", before[4], NULL };
		assert_uidls(uidls, want);
	}
	g_strfreev(uidls);
	uidl_export_free(rows);
	rows = uidl_export(inst, "u1");
	for (i = 0; i < 4; i++)
		g_assert_cmpstr(((UidlExportRow *)rows->pdata[i])->source, ==, "map");
	g_assert_cmpstr(((UidlExportRow *)rows->pdata[4])->source, ==, "native");
	uidl_export_free(rows);

	/* bad files: refused with the line number, nothing imported */
	{
		static const struct {
			const char *data, *expect;
		} bad[] = {
			{ "guid:a X1\nguid:b\n", "line 2" },
			{ "guid:a X1\nguid:b X1\n", "line 2: UIDL X1 repeats the one of line 1" },
			{ "guid:a X1\n\nguid:b 12345678901234567890123456789012345678901234567890123456789012345678901\n",
			  "line 3: UIDL is 71 characters long" },
			{ "guid:a X\xc3\xa9\n", "line 1: UIDL has character 0xc3" },
			{ "guid:a X1\nguid:b X 2\n", "line 2: UIDL has character 0x20" },
			{ "guid:a X1\nfoo:b X2\n", "line 2: unknown key" },
			{ "hdr:abc X1\n", "line 1: hdr: key must be 64 hex digits" },
		};
		for (i = 0; i < G_N_ELEMENTS(bad); i++) {
			path = uidl_write_file(inst, "bad.txt", bad[i].data);
			ret = uidl_doveadm(inst, &out, &err, "pop3-uidl",
					   "import", "-u", "u1", path, NULL);
			g_assert_cmpint(ret, !=, 0);
			if (strstr(err, bad[i].expect) == NULL)
				g_error("bad file %u: expected '%s' in: %s",
					i, bad[i].expect, err);
			g_assert_nonnull(strstr(err, "nothing imported"));
			g_free(out); g_free(err); g_free(path);
		}
	}
	/* the map from before is still in force */
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpstr(uidls[0], ==, "OLD-GUID-1");
	g_assert_cmpstr(uidls[3], ==, "OLD-HDR-4");
	g_strfreev(uidls);
	/* a missing file */
	ret = uidl_doveadm(inst, &out, &err, "pop3-uidl", "import", "-u", "u1",
			   "/nonexistent/file", NULL);
	g_assert_cmpint(ret, !=, 0);
	g_assert_nonnull(strstr(err, "/nonexistent/file"));
	g_free(out); g_free(err);

	g_strfreev(before);
	pp_instance_stop(inst);
}

static void test_export_snapshot_verify_clear(void)
{
	/* u2 for -A (every user the userdb lists), declared before the
	   start: auth looks at the passwd-file at most once a second */
	static const PpUser users[] = {
		{ "u1", "pass", NULL }, { "u2", "pass", NULL }, { NULL }
	};
	PpInstance *inst = uidl_start_with_users(MAILDIR, NATIVE_FORMAT, NULL,
						 4, users);
	char *capture, *path, *out = NULL, *err = NULL, **native, **uidls;
	char *file;
	int ret;

	native = uidl_pop3_list(inst, "u1", NULL);
	capture = uidl_pop3_capture(inst, "u1");
	path = uidl_write_file(inst, "capture.txt", capture);

	/* same UIDLs: exit 0, no rows */
	ret = uidl_doveadm(inst, &out, &err, "-f", "tab", "pop3-uidl",
			   "verify", "-u", "u1", path, NULL);
	g_assert_cmpint(ret, ==, 0);
	g_assert_null(strstr(out, "missing"));
	g_free(out); g_free(err);

	/* snapshot stores uid: and guid: keys for each message */
	ret = uidl_doveadm(inst, &out, &err, "-f", "tab", "pop3-uidl",
			   "snapshot", "-u", "u1", NULL);
	g_assert_cmpint(ret, ==, 0);
	g_assert_nonnull(strstr(out, "u1\t4\t8"));
	g_free(out); g_free(err);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	assert_uidls(uidls, (const char *const *)native);
	g_strfreev(uidls);
	/* -A: every user the userdb lists */
	pp_instance_deliver(inst, "u2", "Subject: x\r\n\r\nx\r\n");
	ret = uidl_doveadm(inst, &out, &err, "-f", "tab", "pop3-uidl",
			   "snapshot", "-A", NULL);
	g_assert_cmpint(ret, ==, 0);
	g_assert_nonnull(strstr(out, "u1\t4\t8"));
	g_assert_nonnull(strstr(out, "u2\t1\t2"));
	g_free(out); g_free(err);

	/* a different map: verify names the differences and exits 1 */
	file = g_strdup_printf("uid:%u:1 CHANGED-1\n",
			       uidl_uidvalidity(inst, "u1"));
	g_free(path);
	path = uidl_write_file(inst, "import.txt", file);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "import",
				     "-u", "u1", path, NULL), ==, 0);
	g_free(path);
	path = g_build_filename(pp_instance_dir(inst), "capture.txt", NULL);
	ret = uidl_doveadm(inst, &out, &err, "-f", "tab", "pop3-uidl",
			   "verify", "-u", "u1", path, NULL);
	g_assert_cmpint(ret, ==, 1);
	{
		char *missing = g_strdup_printf("u1\tmissing\t1\t%s", native[0]);
		g_assert_nonnull(strstr(out, missing));
		g_free(missing);
	}
	g_assert_nonnull(strstr(out, "u1\textra\t1\tCHANGED-1"));
	g_free(out); g_free(err);

	/* a malformed capture is an error naming the line */
	{
		char *bad = uidl_write_file(inst, "bad.txt", "+OK\n1 A\nzz B\n.\n");
		ret = uidl_doveadm(inst, &out, &err, "pop3-uidl", "verify",
				   "-u", "u1", bad, NULL);
		g_assert_cmpint(ret, !=, 0);
		g_assert_cmpint(ret, !=, 1);
		g_assert_nonnull(strstr(err, "line 3"));
		g_free(out); g_free(err); g_free(bad);
	}

	/* clear: back to Dovecot's own UIDLs */
	ret = uidl_doveadm(inst, &out, &err, "-f", "tab", "pop3-uidl", "clear",
			   "-u", "u1", NULL);
	g_assert_cmpint(ret, ==, 0);
	g_assert_nonnull(strstr(out, "u1\tcleared"));
	g_free(out); g_free(err);
	ret = uidl_doveadm(inst, &out, &err, "-f", "tab", "pop3-uidl", "clear",
			   "-u", "u1", NULL);
	g_assert_nonnull(strstr(out, "u1\tno map"));
	g_free(out); g_free(err);
	ret = uidl_doveadm(inst, &out, &err, "pop3-uidl", "verify", "-u", "u1",
			   path, NULL);
	g_assert_cmpint(ret, ==, 0);
	g_free(out); g_free(err);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	assert_uidls(uidls, (const char *const *)native);
	g_strfreev(uidls);

	g_free(path); g_free(file); g_free(capture);
	g_strfreev(native);
	pp_instance_stop(inst);
}

static void test_collision(void)
{
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 3);
	char **native = uidl_pop3_list(inst, "u1", NULL), **uidls;
	char *file, *path;
	guint32 uv = uidl_uidvalidity(inst, "u1");

	/* message 1 would take message 2's UIDL; message 3 is fine */
	file = g_strdup_printf("uid:%u:1 %s\nuid:%u:3 FINE-3\n", uv, native[1],
			       uv);
	path = uidl_write_file(inst, "import.txt", file);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "import",
				     "-u", "u1", path, NULL), ==, 0);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	{
		const char *want[] = { native[0], native[1], "FINE-3", NULL };
		assert_uidls(uidls, want);
	}
	g_assert_true(pp_instance_wait_log(inst, "is not unique in the "
					   "mailbox, serving the native UIDL",
					   10000));
	g_strfreev(uidls);
	g_strfreev(native);
	g_free(file); g_free(path);
	pp_instance_stop(inst);
}

static void import_msgid_map(PpInstance *inst, const char *prefix)
{
	char *file, *path;

	file = g_strdup_printf("msgid:<m0.uidl@example.org> %s-0\n"
			       "msgid:<m1.uidl@example.org> %s-1\n"
			       "msgid:<m2.uidl@example.org> %s-2\n",
			       prefix, prefix, prefix);
	path = uidl_write_file(inst, "shared-import.txt", file);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "import",
				     "-u", "u1", path, NULL), ==, 0);
	g_free(file);
	g_free(path);
}

/* Returns the path of a file in the user's Maildir (g_free it). */
static char *maildir_file(PpInstance *inst, const char *user,
			  const char *name)
{
	return g_build_filename(pp_instance_home(inst, user), "Maildir", name,
				NULL);
}

/* Returns the persisted UIDVALIDITY in the header of the user's map file
   (the 32-bit field at offset 48, see pop3-policy-uidl-map-file.c). */
static guint32 map_file_persisted(PpInstance *inst, const char *user)
{
	char *path = maildir_file(inst, user, "pop3-policy-uidl.map");
	char *data = NULL;
	gsize size;
	guint32 value;

	g_assert_true(g_file_get_contents(path, &data, &size, NULL));
	g_assert_cmpuint(size, >=, 64);
	g_assert_cmpint(memcmp(data, "PPUIDLM", 8), ==, 0);
	memcpy(&value, data + 48, sizeof(value));
	g_free(data);
	g_free(path);
	return value;
}

static void test_persist(void)
{
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT,
		"pop3_policy_uidl_persist = yes", 3);
	GPtrArray *rows = uidl_export(inst, "u1");
	char **uidls, *file, *path;

	file = g_strdup_printf("guid:%s KEEP-1\nguid:%s KEEP-2\n",
		((UidlExportRow *)rows->pdata[0])->guid,
		((UidlExportRow *)rows->pdata[1])->guid);
	path = uidl_write_file(inst, "import.txt", file);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "import",
				     "-u", "u1", path, NULL), ==, 0);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpstr(uidls[0], ==, "KEEP-1");
	g_assert_cmpstr(uidls[1], ==, "KEEP-2");
	g_assert_cmpstr(uidls[2], ==, ((UidlExportRow *)rows->pdata[2])->uidl);
	g_strfreev(uidls);

	/* the map file is marked persisted under today's UIDVALIDITY (its
	   header's persisted field), so later sessions read only its
	   header */
	{
		guint32 persisted = map_file_persisted(inst, "u1");

		g_assert_cmpuint(persisted, ==, uidl_uidvalidity(inst, "u1"));
	}
	/* a lost dovecot-uidlist (new UIDVALIDITY): the map applies again */
	uidl_lose_uidlist(inst, "u1");
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_nonnull(uidls);
	g_assert_cmpstr(uidls[0], ==, "KEEP-1");
	g_assert_cmpstr(uidls[1], ==, "KEEP-2");
	g_strfreev(uidls);

	/* the map is gone; the UIDLs stay, kept by dovecot-uidlist */
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "clear",
				     "-u", "u1", NULL), ==, 0);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpstr(uidls[0], ==, "KEEP-1");
	g_assert_cmpstr(uidls[1], ==, "KEEP-2");
	g_strfreev(uidls);
	{
		char *uidlist_path = g_build_filename(pp_instance_home(inst, "u1"),
			"Maildir", "dovecot-uidlist", NULL);
		char *uidlist = NULL;

		g_assert_true(g_file_get_contents(uidlist_path, &uidlist,
						  NULL, NULL));
		g_assert_nonnull(strstr(uidlist, "PKEEP-1"));
		g_free(uidlist);
		g_free(uidlist_path);
	}
	uidl_export_free(rows);
	g_free(file); g_free(path);
	pp_instance_stop(inst);
}

static void test_no_persist_control(void)
{
	/* without pop3_policy_uidl_persist, clearing the map brings back
	   Dovecot's own UIDLs: the persistence test above can fail */
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 2);
	GPtrArray *rows = uidl_export(inst, "u1");
	char **uidls, *file, *path;

	file = g_strdup_printf("guid:%s KEEP-1\n",
		((UidlExportRow *)rows->pdata[0])->guid);
	path = uidl_write_file(inst, "import.txt", file);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "import",
				     "-u", "u1", path, NULL), ==, 0);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpstr(uidls[0], ==, "KEEP-1");
	g_strfreev(uidls);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "clear",
				     "-u", "u1", NULL), ==, 0);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpstr(uidls[0], ==, ((UidlExportRow *)rows->pdata[0])->uidl);
	g_strfreev(uidls);
	uidl_export_free(rows);
	g_free(file); g_free(path);
	pp_instance_stop(inst);
}

static void test_guard(void)
{
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 6);
	char **uidls, *err_line = NULL, *out = NULL, *err = NULL;
	guint i;

	/* the first session records the sketch */
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpuint(g_strv_length(uidls), ==, 6);
	g_strfreev(uidls);
	/* new mail never trips it */
	for (i = 6; i < 12; i++) {
		char *msg = uidl_test_message(i);
		pp_instance_deliver(inst, "u1", msg);
		g_free(msg);
	}
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpuint(g_strv_length(uidls), ==, 12);
	g_strfreev(uidls);
	/* normal deletions never trip it, even most of the mailbox (removed
	   with doveadm: a POP3 DELE is carried out by the retention part
	   after the session, whose timing is not this test's subject) */
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "expunge", "-u", "u1",
				     "mailbox", "INBOX", "uid", "1:9", NULL),
			==, 0);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpuint(g_strv_length(uidls), ==, 3);
	g_strfreev(uidls);

	/* a lost dovecot-uidlist changes every UIDL: refused */
	uidl_lose_uidlist(inst, "u1");
	uidls = uidl_pop3_list(inst, "u1", &err_line);
	g_assert_null(uidls);
	g_assert_true(g_str_has_prefix(err_line, "-ERR [SYS/TEMP]"));
	g_free(err_line);
	g_assert_true(pp_instance_wait_log(inst, "CRITICAL: UIDL guard: "
		"session refused: the UIDLs of 3 of 3 sampled messages "
		"changed", 10000));
	g_assert_true(pp_instance_wait_log(inst,
		"doveadm pop3-uidl accept -u u1", 10000));
	/* and again: it stays refused until an administrator decides */
	err_line = NULL;
	uidls = uidl_pop3_list(inst, "u1", &err_line);
	g_assert_null(uidls);
	g_assert_true(g_str_has_prefix(err_line, "-ERR [SYS/TEMP]"));
	g_free(err_line);

	g_assert_cmpint(uidl_doveadm(inst, &out, &err, "-f", "tab",
				     "pop3-uidl", "accept", "-u", "u1", NULL),
			==, 0);
	g_assert_nonnull(strstr(out, "u1\taccepted"));
	g_free(out); g_free(err);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_nonnull(uidls);
	g_assert_cmpuint(g_strv_length(uidls), ==, 3);
	g_strfreev(uidls);
	/* the new UIDLs are the reference now */
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_nonnull(uidls);
	g_strfreev(uidls);
	pp_instance_stop(inst);
}

static void test_guard_format_change(void)
{
	/* same UIDVALIDITY, another pop3_uidl_format: every UIDL changes */
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 4);
	char **uidls, *conf = NULL, *err_line = NULL, *p;
	GError *error = NULL;

	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpuint(g_strv_length(uidls), ==, 4);
	g_strfreev(uidls);
	g_assert_true(g_file_get_contents(pp_instance_conf_path(inst), &conf,
					  NULL, NULL));
	p = strstr(conf, "pop3_uidl_format = " NATIVE_FORMAT);
	g_assert_nonnull(p);
	memcpy(p + strlen("pop3_uidl_format = "), "%g        ",
	       strlen(NATIVE_FORMAT));
	g_assert_true(g_file_set_contents(pp_instance_conf_path(inst), conf,
					  -1, NULL));
	g_free(conf);
	if (!pp_instance_restart(inst, &error))
		g_error("%s", error->message);
	uidls = uidl_pop3_list(inst, "u1", &err_line);
	g_assert_null(uidls);
	g_assert_true(g_str_has_prefix(err_line, "-ERR [SYS/TEMP]"));
	g_free(err_line);
	/* the log process writes the line a moment after the reply */
	g_assert_true(pp_instance_wait_log(inst, "CRITICAL: UIDL guard: "
		"session refused: the UIDLs of 4 of 4 sampled messages "
		"changed", 10000));
	pp_instance_stop(inst);
}

static void test_guard_setting(void)
{
	/* pop3_policy_uidl_guard = 0 disables it */
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT,
		"pop3_policy_uidl_guard = 0", 3);
	char **uidls;

	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_strfreev(uidls);
	uidl_lose_uidlist(inst, "u1");
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_nonnull(uidls);
	g_assert_cmpuint(g_strv_length(uidls), ==, 3);
	g_strfreev(uidls);
	pp_instance_stop(inst);
}

static void test_guard_empty_mailbox(void)
{
	/* an empty INBOX in sessions after each other: two empty guard
	   sketches are compared (this once panicked the pop3 process at
	   every login after the second) */
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL,
						0);
	char **uidls, *err_line = NULL;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		uidls = uidl_pop3_list(inst, "u1", &err_line);
		if (uidls == NULL)
			g_error("session %u refused: %s", i + 1, err_line);
		g_assert_cmpuint(g_strv_length(uidls), ==, 0);
		g_strfreev(uidls);
	}
	g_assert_false(pp_instance_wait_log(inst, "Panic:", 0));
	pp_instance_stop(inst);
}

static void test_guard_bad_setting(void)
{
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT,
		"pop3_policy_uidl_guard = lots", 1);
	char **uidls, *err_line = NULL;

	uidls = uidl_pop3_list(inst, "u1", &err_line);
	g_assert_null(uidls);
	g_assert_true(g_str_has_prefix(err_line, "-ERR [SYS/TEMP]"));
	g_free(err_line);
	g_assert_true(pp_instance_wait_log(inst, "pop3_policy_uidl_guard: "
		"'lots' is not a percentage from 0 to 100", 10000));
	pp_instance_stop(inst);
}

static void test_broken_map_fails_closed(void)
{
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 2);
	char **uidls, *err_line = NULL, *path, *data = NULL;
	gsize size;

	/* a map file damaged on disk: serving Dovecot's own UIDLs instead
	   would make every client download everything */
	import_msgid_map(inst, "M");
	path = maildir_file(inst, "u1", "pop3-policy-uidl.map");
	g_assert_true(g_file_get_contents(path, &data, &size, NULL));
	data[size - 2] ^= 0x01;
	g_assert_true(g_file_set_contents(path, data, size, NULL));
	uidls = uidl_pop3_list(inst, "u1", &err_line);
	g_assert_null(uidls);
	g_assert_true(g_str_has_prefix(err_line, "-ERR [SYS/TEMP]"));
	g_free(err_line);
	g_assert_true(pp_instance_wait_log(inst, "pop3-policy-uidl.map: "
					   "damaged: checksum mismatch", 10000));
	/* binary garbage of another kind, and a truncated file */
	g_assert_true(g_file_set_contents(path, "\x01\x02garbage", 9, NULL));
	err_line = NULL;
	g_assert_null(uidl_pop3_list(inst, "u1", &err_line));
	g_free(err_line);
	g_assert_true(pp_instance_wait_log(inst, "pop3-policy-uidl.map: "
					   "damaged: shorter than its header",
					   10000));
	/* doveadm says so too, and exits non-zero */
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "export",
				     "-u", "u1", NULL), !=, 0);
	/* clear repairs it */
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "clear",
				     "-u", "u1", NULL), ==, 0);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_nonnull(uidls);
	g_assert_cmpuint(g_strv_length(uidls), ==, 2);
	g_strfreev(uidls);

	/* a damaged guard file fails closed the same way, and accept starts
	   a new one */
	g_free(path);
	path = maildir_file(inst, "u1", "pop3-policy-uidl.guard");
	g_assert_true(g_file_set_contents(path, "PPUIDLG 1 0\nbad\n", -1,
					  NULL));
	err_line = NULL;
	g_assert_null(uidl_pop3_list(inst, "u1", &err_line));
	g_assert_true(g_str_has_prefix(err_line, "-ERR [SYS/TEMP]"));
	g_free(err_line);
	g_assert_true(pp_instance_wait_log(inst, "pop3-policy-uidl.guard: "
					   "damaged", 10000));
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "accept",
				     "-u", "u1", NULL), ==, 0);
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_nonnull(uidls);
	g_strfreev(uidls);
	g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
	g_free(data);
	g_free(path);
	pp_instance_stop(inst);
}

static void remove_tree(const char *path)
{
	char *argv[] = { "rm", "-rf", "--", (char *)path, NULL };
	GError *error = NULL;
	int status;

	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
			  NULL, NULL, &status, &error))
		g_error("rm -rf %s: %s", path, error->message);
	g_assert_cmpint(status, ==, 0);
}

/* The guard's state lives with the mailbox, in its control directory: not
   in the store and not with the indexes, which an administrator may
   delete. With the indexes in a directory of their own (INDEX=), that
   whole directory is deleted and dovecot-uidlist recreated with a new
   UIDVALIDITY: the guard still has the last session's sketch and refuses
   the changed UIDLs. Deleting only the indexes changes no UIDL and trips
   nothing. */
static void test_guard_survives_index_loss(void)
{
	PpInstance *inst = uidl_start_with_mail(
		"maildir:~/Maildir:INDEX=~/index", NATIVE_FORMAT, NULL, 4);
	char **uidls, *err_line = NULL, *index_dir, *guard, *uidlist;

	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpuint(g_strv_length(uidls), ==, 4);
	g_strfreev(uidls);
	guard = maildir_file(inst, "u1", "pop3-policy-uidl.guard");
	g_assert_true(g_file_test(guard, G_FILE_TEST_IS_REGULAR));
	index_dir = g_build_filename(pp_instance_home(inst, "u1"), "index",
				     NULL);
	g_assert_true(g_file_test(index_dir, G_FILE_TEST_IS_DIR));
	{
		char *in_index = g_build_filename(index_dir,
			"pop3-policy-uidl.guard", NULL);

		g_assert_false(g_file_test(in_index, G_FILE_TEST_EXISTS));
		g_free(in_index);
	}

	/* the indexes alone: rebuilt, the same UIDLs, no refusal */
	remove_tree(index_dir);
	uidls = uidl_pop3_list(inst, "u1", &err_line);
	if (uidls == NULL)
		g_error("refused after the index was deleted: %s", err_line);
	g_assert_cmpuint(g_strv_length(uidls), ==, 4);
	g_strfreev(uidls);

	/* the indexes and dovecot-uidlist: a new UIDVALIDITY, every UIDL
	   changes, and the guard, which kept its state, refuses */
	uidl_wait_new_uidvalidity(inst, "u1");
	remove_tree(index_dir);
	uidlist = maildir_file(inst, "u1", "dovecot-uidlist");
	g_assert_cmpint(g_unlink(uidlist), ==, 0);
	uidls = uidl_pop3_list(inst, "u1", &err_line);
	g_assert_null(uidls);
	g_assert_true(g_str_has_prefix(err_line, "-ERR [SYS/TEMP]"));
	g_free(err_line);
	g_assert_true(pp_instance_wait_log(inst, "CRITICAL: UIDL guard: "
		"session refused: the UIDLs of 4 of 4 sampled messages "
		"changed", 10000));
	g_free(uidlist);
	g_free(guard);
	g_free(index_dir);
	pp_instance_stop(inst);
}

/* Two Dovecot backends sharing the mail storage (B's user has A's
   Maildir): a map imported on A is served by B's next session; imported
   again on A, B serves the new one at once; cleared on A, B serves its
   native UIDLs. Nothing of it goes through the store. */
static void test_map_shared_storage(void)
{
	const char *const map1[] = { "ONE-0", "ONE-1", "ONE-2", NULL };
	const char *const map2[] = { "TWO-0", "TWO-1", "TWO-2", NULL };
	PpInstance *a, *b;
	char **uidls, *fields;

	a = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 3);
	b = uidl_start(MAILDIR, NATIVE_FORMAT, NULL);
	fields = g_strdup_printf("mail=maildir:%s/Maildir",
				 pp_instance_home(a, "u1"));
	pp_instance_add_user(b, "u1", "pass", fields);
	g_free(fields);

	import_msgid_map(a, "ONE");
	uidls = uidl_pop3_list(b, "u1", NULL);
	assert_uidls(uidls, map1);
	g_strfreev(uidls);
	import_msgid_map(a, "TWO");
	uidls = uidl_pop3_list(b, "u1", NULL);
	assert_uidls(uidls, map2);
	g_strfreev(uidls);
	uidls = uidl_pop3_list(a, "u1", NULL);
	assert_uidls(uidls, map2);
	g_strfreev(uidls);

	g_assert_cmpint(uidl_doveadm(a, NULL, NULL, "pop3-uidl", "clear",
				     "-u", "u1", NULL), ==, 0);
	uidls = uidl_pop3_list(b, "u1", NULL);
	g_assert_nonnull(uidls);
	{
		char *native = g_strdup_printf("%08x",
					       uidl_uidvalidity(b, "u1"));

		if (!g_str_has_suffix(uidls[0], native))
			g_error("served %s, not native *%s", uidls[0], native);
		g_free(native);
	}
	g_strfreev(uidls);
	pp_instance_stop(a);
	pp_instance_stop(b);
}

/* The README's way of carrying a map over from a version that kept it in
   the store: export (doveadm -f tab pop3-uidl export), keep the rows
   served from the map as "guid:<guid> <uidl>" lines, import. Run here on
   this version's export, which has the same columns: after clearing the
   map and importing the converted lines, every message is served the
   UIDL it had. */
#define CARRY_OVER_AWK \
	"awk -F '\\t' 'NR > 1 && $6 == \"map\" && $3 != \"\" " \
	"{ print \"guid:\" $3, $5 }'"
static void test_map_carried_over(void)
{
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 3);
	char **before, **after, *out = NULL, *err = NULL, *lines = NULL;
	char *export_path, *lines_path, *cmd;
	int status;

	import_msgid_map(inst, "OLD");
	before = uidl_pop3_list(inst, "u1", NULL);
	g_assert_cmpuint(g_strv_length(before), ==, 3);
	g_assert_cmpint(uidl_doveadm(inst, &out, &err, "-f", "tab",
				     "pop3-uidl", "export", "-u", "u1", NULL),
			==, 0);
	export_path = uidl_write_file(inst, "export.tab", out);
	cmd = g_strdup_printf("%s %s", CARRY_OVER_AWK, export_path);
	g_assert_true(g_spawn_command_line_sync(cmd, &lines, NULL, &status,
						NULL));
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(strstr(lines, "guid:"));
	g_assert_nonnull(strstr(lines, " OLD-2\n"));
	lines_path = uidl_write_file(inst, "carried.txt", lines);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "clear",
				     "-u", "u1", NULL), ==, 0);
	g_assert_cmpint(uidl_doveadm(inst, NULL, NULL, "pop3-uidl", "import",
				     "-u", "u1", lines_path, NULL), ==, 0);
	after = uidl_pop3_list(inst, "u1", NULL);
	assert_uidls(after, (const char *const *)before);
	g_strfreev(before);
	g_strfreev(after);
	g_free(out); g_free(err); g_free(lines); g_free(cmd);
	g_free(export_path); g_free(lines_path);
	pp_instance_stop(inst);
}

/* Import files no administrator meant to feed: binary garbage, a CR or a
   NUL inside a UIDL, and a million lines whose last one is bad. Each is
   refused with the line it failed on, and the map in force (its file,
   byte for byte) stays. */
static void test_import_hostile_files(void)
{
	static const struct {
		const char *data;
		gssize size;
		const char *expect;
	} bad[] = {
		{ "guid:a X\rY\n", -1, "line 1: UIDL has character 0x0d" },
		{ "guid:a X1\nguid:b X\0Y\n", 20, "line 2" },
		{ "\x7f\x45\x4c\x46\x02\x01\x01\x00\xff\xfe\n\x01\x02", 14,
		  "line 1" },
	};
	PpInstance *inst = uidl_start_with_mail(MAILDIR, NATIVE_FORMAT, NULL, 2);
	char *map_path, *before = NULL, *after = NULL, *path, *out, *err;
	gsize before_size, after_size;
	GString *big;
	guint i;

	import_msgid_map(inst, "KEEP");
	map_path = maildir_file(inst, "u1", "pop3-policy-uidl.map");
	g_assert_true(g_file_get_contents(map_path, &before, &before_size,
					  NULL));
	path = g_build_filename(pp_instance_dir(inst), "hostile.txt", NULL);
	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_true(g_file_set_contents(path, bad[i].data,
						  bad[i].size, NULL));
		out = err = NULL;
		g_assert_cmpint(uidl_doveadm(inst, &out, &err, "pop3-uidl",
					     "import", "-u", "u1", path, NULL),
				!=, 0);
		if (strstr(err, bad[i].expect) == NULL ||
		    strstr(err, "nothing imported") == NULL)
			g_error("hostile file %u: expected '%s' in: %s", i,
				bad[i].expect, err);
		g_free(out); g_free(err);
	}
	/* a million good lines and a bad last one */
	big = g_string_sized_new(1000000 * 48);
	for (i = 1; i < 1000000; i++) {
		g_string_append_printf(big, "guid:%08x%024x U%07u\n", i, i, i);
	}
	g_string_append(big, "guid:last U 1000000\n");
	g_assert_true(g_file_set_contents(path, big->str, big->len, NULL));
	g_string_free(big, TRUE);
	out = err = NULL;
	g_assert_cmpint(uidl_doveadm(inst, &out, &err, "pop3-uidl", "import",
				     "-u", "u1", path, NULL), !=, 0);
	if (strstr(err, "line 1000000: UIDL has character 0x20") == NULL)
		g_error("million-line file: %s", err);
	g_free(out); g_free(err);

	g_assert_true(g_file_get_contents(map_path, &after, &after_size, NULL));
	g_assert_cmpuint(after_size, ==, before_size);
	g_assert_cmpint(memcmp(before, after, before_size), ==, 0);
	{
		const char *const kept[] = { "KEEP-0", "KEEP-1", NULL };
		char **uidls = uidl_pop3_list(inst, "u1", NULL);

		assert_uidls(uidls, kept);
		g_strfreev(uidls);
	}
	g_free(before); g_free(after); g_free(map_path); g_free(path);
	pp_instance_stop(inst);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/uidl/import-key-kinds-and-refusals",
			test_import_key_kinds);
	g_test_add_func("/uidl/export-snapshot-verify-clear",
			test_export_snapshot_verify_clear);
	g_test_add_func("/uidl/collision", test_collision);
	g_test_add_func("/uidl/persist", test_persist);
	g_test_add_func("/uidl/no-persist-control", test_no_persist_control);
	g_test_add_func("/uidl/guard", test_guard);
	g_test_add_func("/uidl/guard-format-change", test_guard_format_change);
	g_test_add_func("/uidl/guard-disabled", test_guard_setting);
	g_test_add_func("/uidl/guard-empty-mailbox",
			test_guard_empty_mailbox);
	g_test_add_func("/uidl/guard-bad-setting", test_guard_bad_setting);
	g_test_add_func("/uidl/broken-map-fails-closed",
			test_broken_map_fails_closed);
	g_test_add_func("/uidl/guard-survives-index-loss",
			test_guard_survives_index_loss);
	g_test_add_func("/uidl/map-shared-storage", test_map_shared_storage);
	g_test_add_func("/uidl/map-carried-over", test_map_carried_over);
	g_test_add_func("/uidl/import-hostile-files",
			test_import_hostile_files);
	return g_test_run();
}
