/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* A 100,000-entry UIDL map through proxy:: to the dict server on SQLite
   (issue 5, point 8), whose protocol ends a line at 64 KiB, and through
   redis: (which has no iteration):
   - the map codec and store round trip (tests/unit/test-uidl-map.c) run
     against the instance's dict server;
   - end to end: doveadm pop3-uidl import of a 100,000-line file, stored in
     many chunks under one index, loaded by a POP3 session that serves the
     mapped UIDLs. */

#include "test-uidl-common.h"

#include <string.h>
#include <stdlib.h>

#define BIG 100000

static void map_codec_on_store(PpStoreKind store, const char *uri_prefix)
{
	PpInstance *inst = uidl_start_store(store, "maildir:~/Maildir",
					    "%08Xu%08Xv", NULL);
	const char *builddir = g_getenv("PP_TOP_BUILDDIR");
	char *prog, *out = NULL, *err = NULL;
	int ret;

	g_assert_nonnull(builddir);
	prog = g_build_filename(builddir, "tests", "test-uidl-map", NULL);
	{
		const char *argv[] = { prog, pp_instance_store_uri(inst),
				       pp_instance_base_dir(inst), NULL };
		ret = pp_instance_run(inst, argv, NULL, &out, &err);
	}
	g_test_message("test-uidl-map: exit %d\n%s%s", ret, out, err);
	g_assert_cmpint(ret, ==, 0);
	{
		char *loaded = g_strdup_printf("loaded 100000 entries from %s",
					       uri_prefix);
		g_assert_nonnull(strstr(out, loaded));
		g_free(loaded);
	}
	g_assert_nonnull(strstr(out, "0 / 3 tests failed"));
	g_free(out); g_free(err); g_free(prog);
	pp_instance_stop(inst);
}

static void test_map_codec_on_dict_server(void)
{
	/* the default store: the dict server, or the backend that
	   PP_STORE_BACKEND names */
	const char *backend = g_getenv("PP_STORE_BACKEND");

	map_codec_on_store(PP_STORE_SQLITE,
			   g_strcmp0(backend, "redis") == 0 ? "redis:" :
			   "proxy::");
}

static void test_map_codec_on_redis(void)
{
	map_codec_on_store(PP_STORE_REDIS, "redis:");
}

static void import_100k_and_serve(PpStoreKind store)
{
	PpInstance *inst = uidl_start_store(store, "maildir:~/Maildir",
					    "%08Xu%08Xv", NULL);
	GPtrArray *rows;
	GString *file = g_string_sized_new(BIG * 60);
	char *path, *out = NULL, *err = NULL, **uidls, **fields;
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

	/* one small index record naming many chunks */
	g_assert_cmpint(uidl_doveadm(inst, &out, &err, "dict", "get", "-u",
				     "u1", pp_instance_store_uri(inst),
				     "priv/pop3-policy/uidl-map", NULL), ==, 0);
	g_strchomp(out);
	fields = g_strsplit(out, "\t", -1);
	g_assert_cmpuint(g_strv_length(fields), ==, 5);
	g_assert_cmpstr(fields[1], ==, "uidl-map");
	g_assert_cmpuint(strtoul(fields[3], NULL, 10), >, 50);
	g_assert_cmpstr(fields[4], ==, "100000");
	g_strfreev(fields);
	g_free(out); g_free(err);

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
	uidl_export_free(rows);
	g_free(path);
	pp_instance_stop(inst);
}

static void test_import_100k_and_serve(void)
{
	import_100k_and_serve(PP_STORE_SQLITE);
}

static void test_import_100k_and_serve_redis(void)
{
	import_100k_and_serve(PP_STORE_REDIS);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/uidl/scale/map-codec-on-dict-server",
			test_map_codec_on_dict_server);
	g_test_add_func("/uidl/scale/import-100k-and-serve",
			test_import_100k_and_serve);
	g_test_add_func("/uidl/scale/map-codec-on-redis",
			test_map_codec_on_redis);
	g_test_add_func("/uidl/scale/import-100k-and-serve-redis",
			test_import_100k_and_serve_redis);
	return g_test_run();
}
