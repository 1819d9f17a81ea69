/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Helpers shared by the UIDL integration tests. */

#include "test-uidl-common.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

PpInstance *uidl_start(const char *mail_location, const char *uidl_format,
		       const char *plugin_settings)
{
	return uidl_start_store(PP_STORE_SQLITE, mail_location, uidl_format,
				plugin_settings);
}

static PpInstance *
uidl_start_store_users(PpStoreKind store, const char *mail_location,
		       const char *uidl_format, const char *plugin_settings,
		       const PpUser *users)
{
	PpInstanceOptions opts;
	GError *error = NULL;
	PpInstance *inst;
	char *extra;

	memset(&opts, 0, sizeof(opts));
	opts.with_package = TRUE;
	opts.store = store;
	opts.mail_location = mail_location;
	opts.plugin_settings = plugin_settings;
	opts.users = users;
	extra = g_strdup_printf("pop3_uidl_format = %s\n", uidl_format);
	opts.extra_conf = extra;
	inst = pp_instance_start(&opts, &error);
	g_free(extra);
	if (inst == NULL)
		g_error("%s", error->message);
	return inst;
}

PpInstance *uidl_start_store(PpStoreKind store, const char *mail_location,
			     const char *uidl_format,
			     const char *plugin_settings)
{
	return uidl_start_store_users(store, mail_location, uidl_format,
				      plugin_settings, NULL);
}

char *uidl_test_message(unsigned int i)
{
	return g_strdup_printf(
		"From: Sender %u <s%u@example.org>\r\n"
		"To: u1@example.org\r\n"
		"Subject: message %u \t\r\n"
		"Message-ID: <m%u.uidl@example.org>\r\n"
		"X-Folded: first\r\n\tsecond\r\n"
		"\r\n"
		"Body of message %u.\r\n", i, i, i, i, i);
}

PpInstance *uidl_start_with_mail(const char *mail_location,
				 const char *uidl_format,
				 const char *plugin_settings,
				 unsigned int count)
{
	static const PpUser users[] = { { "u1", "pass", NULL }, { NULL } };

	return uidl_start_with_users(mail_location, uidl_format,
				     plugin_settings, count, users);
}

PpInstance *uidl_start_with_users(const char *mail_location,
				  const char *uidl_format,
				  const char *plugin_settings,
				  unsigned int count, const PpUser *users)
{
	PpInstance *inst = uidl_start_store_users(PP_STORE_SQLITE,
						  mail_location, uidl_format,
						  plugin_settings, users);
	unsigned int i;

	for (i = 0; i < count; i++) {
		char *msg = uidl_test_message(i);

		pp_instance_deliver(inst, "u1", msg);
		g_free(msg);
	}
	return inst;
}

static PpPop3 *uidl_login(PpInstance *inst, const char *user)
{
	GError *error = NULL;
	PpPop3 *pop3 = pp_pop3_connect(pp_instance_port(inst), &error);

	if (pop3 == NULL)
		g_error("%s", error->message);
	g_assert_true(pp_pop3_login(pop3, user, "pass"));
	return pop3;
}

char *uidl_pop3_capture(PpInstance *inst, const char *user)
{
	PpPop3 *pop3 = uidl_login(inst, user);
	char *listing = pp_pop3_cmd_multi(pop3, "UIDL");
	char *quit = pp_pop3_cmd(pop3, "QUIT");

	g_free(quit);
	pp_pop3_close(pop3);
	return listing;
}

char **uidl_pop3_list(PpInstance *inst, const char *user, char **err_line_r)
{
	char *listing = uidl_pop3_capture(inst, user);
	char **lines, **uidls;
	guint i, n = 0;

	if (!g_str_has_prefix(listing, "+OK")) {
		if (err_line_r != NULL)
			*err_line_r = g_strdup(listing);
		g_free(listing);
		return NULL;
	}
	lines = g_strsplit(listing, "\n", -1);
	uidls = g_new0(char *, g_strv_length(lines) + 1);
	for (i = 1; lines[i] != NULL; i++) {
		char *sp = strchr(lines[i], ' ');

		if (lines[i][0] == '\0')
			continue;
		g_assert_nonnull(sp);
		g_assert_cmpuint(strtoul(lines[i], NULL, 10), ==, n + 1);
		uidls[n++] = g_strdup(sp + 1);
	}
	g_strfreev(lines);
	g_free(listing);
	return uidls;
}

int uidl_doveadm(PpInstance *inst, char **out_r, char **err_r, ...)
{
	GPtrArray *argv = g_ptr_array_new();
	const char *arg;
	va_list va;
	int ret;

	va_start(va, err_r);
	while ((arg = va_arg(va, const char *)) != NULL)
		g_ptr_array_add(argv, (char *)arg);
	va_end(va);
	g_ptr_array_add(argv, NULL);
	ret = pp_instance_doveadm(inst, (const char *const *)argv->pdata,
				  NULL, out_r, err_r);
	g_ptr_array_free(argv, TRUE);
	return ret;
}

static void export_row_free(gpointer p)
{
	UidlExportRow *row = p;

	g_free(row->guid);
	g_free(row->hdr);
	g_free(row->uidl);
	g_free(row->source);
	g_free(row);
}

GPtrArray *uidl_export(PpInstance *inst, const char *user)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func(export_row_free);
	char *out = NULL, *err = NULL, **lines;
	guint i;
	int ret;

	ret = uidl_doveadm(inst, &out, &err, "-f", "tab", "pop3-uidl",
			   "export", "-u", user, NULL);
	if (ret != 0)
		g_error("pop3-uidl export failed (%d): %s", ret, err);
	lines = g_strsplit(out, "\n", -1);
	g_assert_true(g_str_has_prefix(lines[0],
				       "msn\tuid\tguid\thdr\tuidl\tsource"));
	for (i = 1; lines[i] != NULL; i++) {
		char **f;
		UidlExportRow *row;

		if (lines[i][0] == '\0')
			continue;
		f = g_strsplit(lines[i], "\t", -1);
		g_assert_cmpuint(g_strv_length(f), ==, 6);
		row = g_new0(UidlExportRow, 1);
		row->msn = strtoul(f[0], NULL, 10);
		row->uid = strtoul(f[1], NULL, 10);
		row->guid = g_strdup(f[2]);
		row->hdr = g_strdup(f[3]);
		row->uidl = g_strdup(f[4]);
		row->source = g_strdup(f[5]);
		g_ptr_array_add(rows, row);
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(out);
	g_free(err);
	return rows;
}

void uidl_export_free(GPtrArray *rows)
{
	g_ptr_array_free(rows, TRUE);
}

guint32 uidl_uidvalidity(PpInstance *inst, const char *user)
{
	char *out = NULL, *err = NULL;
	guint32 uv;

	if (uidl_doveadm(inst, &out, &err, "-f", "flow", "mailbox", "status",
			 "-u", user, "uidvalidity", "INBOX", NULL) != 0)
		g_error("mailbox status failed: %s", err);
	g_assert_nonnull(strstr(out, "uidvalidity="));
	uv = strtoul(strstr(out, "uidvalidity=") + 12, NULL, 10);
	g_free(out);
	g_free(err);
	g_assert_cmpuint(uv, >, 0);
	return uv;
}

char *uidl_write_file(PpInstance *inst, const char *name, const char *data)
{
	char *path = g_build_filename(pp_instance_dir(inst), name, NULL);
	GError *error = NULL;

	if (!g_file_set_contents(path, data, -1, &error))
		g_error("%s", error->message);
	return path;
}

void uidl_lose_uidlist(PpInstance *inst, const char *user)
{
	char *maildir = g_build_filename(pp_instance_home(inst, user),
					       "Maildir", NULL);
	static const char *const files[] = {
		"dovecot-uidlist", "dovecot.index", "dovecot.index.log",
		"dovecot.index.cache", "dovecot.index.log.2",
	};
	guint i;

	uidl_wait_new_uidvalidity(inst, user);
	for (i = 0; i < G_N_ELEMENTS(files); i++) {
		char *path = g_build_filename(maildir, files[i], NULL);

		(void)g_unlink(path);
		g_free(path);
	}
	g_free(maildir);
}

void uidl_wait_new_uidvalidity(PpInstance *inst, const char *user)
{
	char *path = g_build_filename(pp_instance_home(inst, user), "Maildir",
				      "dovecot-uidlist", NULL);
	GStatBuf st;

	/* written at its creation and after: its mtime is not earlier */
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	while (g_get_real_time() / G_USEC_PER_SEC <= (gint64)st.st_mtime)
		g_usleep(10 * 1000);
	g_free(path);
}
