/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The test build's kill points seen from the tests: is the build a test
   build, and arming a point for an instance's services. */

/* for memmem() */
#define _GNU_SOURCE
#include "pp-harness.h"

#include <string.h>

/* The name the hook reads (src/lib/pop3-policy-test-hook.c): only a test
   build's modules contain it. */
#define PP_KILL_AT_ENV "POP3_POLICY_TEST_KILL_AT"
/* the line pp_instance_set_kill_point() appends to dovecot.conf */
#define PP_KILL_AT_CONF "import_environment = $import_environment " \
	PP_KILL_AT_ENV "="

static gboolean pp_module_has_hooks(const char *relpath)
{
	char *path = g_build_filename(pp_top_builddir(), relpath, NULL);
	char *contents = NULL;
	gsize size = 0;
	gboolean found;

	if (!g_file_get_contents(path, &contents, &size, NULL))
		g_error("pp-harness: cannot read the module %s", path);
	found = memmem(contents, size, PP_KILL_AT_ENV,
		       strlen(PP_KILL_AT_ENV)) != NULL;
	g_free(contents);
	g_free(path);
	return found;
}

void pp_require_test_hooks(void)
{
	static const char *const modules[] = {
		"src/mail/.libs/lib20_pop3_policy_plugin.so",
		"src/doveadm/.libs/lib20_doveadm_pop3_policy_plugin.so",
	};
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(modules); i++) {
		if (!pp_module_has_hooks(modules[i])) {
			g_error("%s has no test hooks: the kill tests need a "
				"test build (configure --enable-test-hooks, "
				"as scripts/run-tests does)", modules[i]);
		}
	}
}

void pp_instance_set_kill_point(PpInstance *inst, const char *point)
{
	const char *path = pp_instance_conf_path(inst);
	GString *conf = g_string_new(NULL);
	GError *error = NULL;
	char *contents = NULL;
	char **lines;
	unsigned int i;

	if (!g_file_get_contents(path, &contents, NULL, &error))
		g_error("pp-harness: %s", error->message);
	lines = g_strsplit(contents, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0' ||
		    g_str_has_prefix(lines[i], PP_KILL_AT_CONF))
			continue;
		g_string_append_printf(conf, "%s\n", lines[i]);
	}
	if (point != NULL)
		g_string_append_printf(conf, PP_KILL_AT_CONF "%s\n", point);
	if (!g_file_set_contents(path, conf->str, -1, &error))
		g_error("pp-harness: %s", error->message);
	if (!pp_instance_restart(inst, &error))
		g_error("pp-harness: restart: %s", error->message);
	g_strfreev(lines);
	g_string_free(conf, TRUE);
	g_free(contents);
}
