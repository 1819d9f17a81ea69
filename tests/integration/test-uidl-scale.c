/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* A 100,000-entry UIDL map end to end: doveadm pop3-uidl import of a
   100,000-line file into the INBOX's map file, read whole by a POP3
   session that serves the mapped UIDLs, on maildir and on mdbox. The
   store sees none of it. */

#include "test-uidl-common.h"

#include <string.h>
#include <stdlib.h>

#define BIG 100000

/* The entry count in the header of a map file (offset 16, see
   src/lib/pop3-policy-uidl-map-file.c). */
static guint32 map_file_entries(const char *path)
{
	char *data = NULL;
	gsize size;
	guint32 count;

	g_assert_true(g_file_get_contents(path, &data, &size, NULL));
	g_assert_cmpuint(size, >=, 64);
	g_assert_cmpint(memcmp(data, "PPUIDLM", 8), ==, 0);
	memcpy(&count, data + 16, sizeof(count));
	g_free(data);
	return count;
}

static void import_100k_and_serve(const char *mail_location,
				  const char *map_dir)
{
	PpInstance *inst = uidl_start(mail_location, "%08Xu%08Xv", NULL);
	GPtrArray *rows;
	GString *file = g_string_sized_new(BIG * 60);
	char *path, *out = NULL, *err = NULL, **uidls;
	guint i;

	pp_instance_add_user(inst, "u1", "pass", NULL);
	for (i = 0; i < 3; i++) {
		char *msg = uidl_test_message(i);
		pp_instance_deliver(inst, "u1", msg);
		g_free(msg);
	}
	rows = uidl_export(inst, "u1");

	for (i = 0; i < BIG - 3; i++) {
		g_string_append_printf(file,
			"guid:%08x%08x%08x%08x UIDL%07u-%08x\n",
			i, i * 7, i * 13, i * 31, i, i * 2654435761u);
	}
	for (i = 0; i < 3; i++) {
		UidlExportRow *row = rows->pdata[i];
		g_string_append_printf(file, "guid:%s REAL-%u\n", row->guid, i);
	}
	path = uidl_write_file(inst, "big.txt", file->str);
	g_string_free(file, TRUE);
	g_assert_cmpint(uidl_doveadm(inst, &out, &err, "-f", "tab",
				     "pop3-uidl", "import", "-u", "u1", path,
				     NULL), ==, 0);
	g_assert_nonnull(strstr(out, "u1\t100000"));
	g_free(out); g_free(err);

	/* one file in the INBOX's control directory */
	{
		char *map_path = g_build_filename(pp_instance_home(inst, "u1"),
			map_dir, "pop3-policy-uidl.map", NULL);

		g_assert_cmpuint(map_file_entries(map_path), ==, BIG);
		g_free(map_path);
	}

	/* a POP3 session loads it all and serves the three real ones */
	uidls = uidl_pop3_list(inst, "u1", NULL);
	g_assert_nonnull(uidls);
	g_assert_cmpuint(g_strv_length(uidls), ==, 3);
	for (i = 0; i < 3; i++) {
		char *want = g_strdup_printf("REAL-%u", i);
		g_assert_cmpstr(uidls[i], ==, want);
		g_free(want);
	}
	g_strfreev(uidls);
	/* nothing of it went through the store */
	g_assert_cmpuint(pp_instance_log_count(inst, NULL, "uidl"), ==, 0);
	uidl_export_free(rows);
	g_free(path);
	pp_instance_stop(inst);
}

static void test_import_100k_and_serve(void)
{
	import_100k_and_serve("maildir:~/Maildir", "Maildir");
}

static void test_import_100k_and_serve_mdbox(void)
{
	import_100k_and_serve("mdbox:~/mdbox", "mdbox/mailboxes/INBOX/dbox-Mails");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/uidl/scale/import-100k-and-serve",
			test_import_100k_and_serve);
	g_test_add_func("/uidl/scale/import-100k-and-serve-mdbox",
			test_import_100k_and_serve_mdbox);
	return g_test_run();
}
