/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* An instance's configuration: the private module directory, the
   stores (SQLite behind the dict server, file), and dovecot.conf. */

#include "pp-harness-private.h"

/* Private module directory: Dovecot's own modules, plus the build's with
   the package. */
void pp_instance_make_modules(PpInstance *inst)
{
	char *moddir = g_build_filename(inst->dir, "modules", NULL);
	const char *const cp_argv[] = {
		"cp", "-a", PP_DOVECOT_MODULEDIR "/.", moddir, NULL
	};
	static const struct {
		const char *built, *subdir;
	} modules[] = {
		{ "src/mail/.libs/lib20_pop3_policy_plugin.so", "" },
		{ "src/auth/.libs/libauthdb_pop3_policy.so", "auth" },
		{ "src/doveadm/.libs/lib20_doveadm_pop3_policy_plugin.so",
		  "doveadm" },
		/* RFC 2449 advertising: loaded only where a test's config
		   names them (mail_plugins, login_plugins) */
		{ "src/capa/.libs/lib21_pop3_policy_capa_plugin.so", "" },
		{ "src/capa/.libs/lib20_pop3_policy_login_plugin.so",
		  "login" },
	};
	unsigned int i;

	pp_mkdir(moddir, 0755, 0, 0);
	pp_spawn_or_die(cp_argv, NULL);
	if (inst->opts.with_package) {
		/* login_plugin_dir's default, which Debian does not ship */
		char *logindir = g_build_filename(moddir, "login", NULL);

		if (!g_file_test(logindir, G_FILE_TEST_IS_DIR))
			pp_mkdir(logindir, 0755, 0, 0);
		g_free(logindir);
	}
	if (inst->opts.with_package) {
		for (i = 0; i < G_N_ELEMENTS(modules); i++) {
			char *src = g_build_filename(pp_top_builddir(),
						     modules[i].built, NULL);
			char *dest = g_build_filename(moddir,
						      modules[i].subdir, NULL);
			const char *const argv[] = {
				"cp", src, dest, NULL
			};

			if (!g_file_test(src, G_FILE_TEST_EXISTS)) {
				g_error("pp-harness: module %s is not built "
					"(run make first)", src);
			}
			pp_spawn_or_die(argv, NULL);
			g_free(src);
			g_free(dest);
		}
	}
	g_free(moddir);
}

/* Reads a shipped conf.d file; aborts with a clear message when it is
   missing or empty, as the store cannot be set up without it. */
char *pp_read_shipped(const char *name)
{
	char *path = g_build_filename(pp_top_srcdir(), "conf.d", name, NULL);
	char *contents;
	GError *error = NULL;

	if (!g_file_get_contents(path, &contents, NULL, &error))
		g_error("pp-harness: %s", error->message);
	if (contents[0] == '\0')
		g_error("pp-harness: %s is empty", path);
	g_free(path);
	return contents;
}

/* The dict server on SQLite: the shipped map with its connect line pointed
   at the instance's database, created from the shipped schema. */
void pp_instance_make_sqlite_store(PpInstance *inst,
				   GString *conf)
{
	char *storedir = g_build_filename(inst->dir, "store", NULL);
	char *db = g_build_filename(storedir, "pop3-policy.sqlite", NULL);
	char *map_path = g_build_filename(storedir, "pop3-policy-dict.conf.ext",
					  NULL);
	char *map = pp_read_shipped("pop3-policy-dict-sql.conf.ext");
	char *schema = pp_read_shipped("pop3-policy-sqlite.sql");
	const char *const sqlite_argv[] = { "sqlite3", "-batch", "-bail", db,
					    NULL };
	char **lines;
	GString *out = g_string_new(NULL);
	gboolean connect_seen = FALSE;
	uid_t uid;
	gid_t gid;
	unsigned int i;

	pp_lookup_user("dovecot", &uid, &gid);
	pp_mkdir(storedir, 0755, uid, gid);

	lines = g_strsplit(map, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		const char *p = lines[i];

		while (*p == ' ' || *p == '\t')
			p++;
		if (g_str_has_prefix(p, "connect") &&
		    strchr(p, '=') != NULL && !connect_seen) {
			g_string_append_printf(out, "connect = %s\n", db);
			connect_seen = TRUE;
		} else {
			g_string_append_printf(out, "%s\n", lines[i]);
		}
	}
	if (!connect_seen)
		g_error("pp-harness: the shipped dict-sql map has no "
			"connect line");
	pp_write_file(map_path, out->str, 0644);
	pp_spawn_or_die(sqlite_argv, schema);
	if (chown(db, uid, gid) < 0)
		g_error("pp-harness: chown %s: %s", db, g_strerror(errno));

	g_string_append_printf(conf, "dict {\n  pop3policy = sqlite:%s\n}\n",
			       map_path);
	inst->store_uri = g_strdup("proxy::pop3policy");

	g_strfreev(lines);
	g_string_free(out, TRUE);
	g_free(schema);
	g_free(map);
	g_free(map_path);
	g_free(db);
	g_free(storedir);
}

/* service dict, for the stores behind Dovecot's dict server: client_limit
   as README and conf.d/90-pop3-policy.conf advise, and its socket, which
   lets in whoever may read and write every user's records (the dict
   proxy believes the user name a client sends): the auth process's user
   (default_internal_user) and root, and with PP_STORE_SOCKET_MAIL the mail
   user's group too. */
void pp_instance_dict_service(PpInstance *inst, GString *conf)
{
	PpStoreSocket socket = inst->opts.store_socket;
	struct group *gr;

	if (socket == PP_STORE_SOCKET_AUTO) {
		socket = inst->opts.auth_chain ? PP_STORE_SOCKET_TRUSTED :
			PP_STORE_SOCKET_MAIL;
	}
	g_string_append(conf,
		"service dict {\n"
		"  client_limit = 100\n"
		"  unix_listener dict {\n"
		"    user = dovecot\n");
	if (socket == PP_STORE_SOCKET_MAIL) {
		gr = getgrgid(inst->mail_gid);
		if (gr == NULL) {
			g_error("pp-harness: the mail gid %u has no group",
				(unsigned int)inst->mail_gid);
		}
		g_string_append_printf(conf,
			"    group = %s\n"
			"    mode = 0660\n", gr->gr_name);
	} else {
		g_string_append(conf, "    mode = 0600\n");
	}
	g_string_append(conf, "  }\n}\n");
}

void pp_instance_make_file_store(PpInstance *inst)
{
	char *storedir = g_build_filename(inst->dir, "store", NULL);

	/* file: writes a new file and renames it over the old one, so the
	   directory must be writable by the mail uid and by doveadm. */
	pp_mkdir(storedir, 0777, inst->mail_uid, inst->mail_gid);
	inst->store_uri = g_strdup_printf("file:%s/store.dict", storedir);
	g_free(storedir);
}

/* Appends text and a newline to conf, every "%{store_uri}" in it replaced
   with the instance's dict URI (so that tests follow PP_STORE_BACKEND). */
void pp_append_with_store_uri(PpInstance *inst, GString *conf,
			      const char *text)
{
	char **parts = g_strsplit(text, "%{store_uri}", -1);
	char *joined = g_strjoinv(inst->store_uri != NULL ?
				  inst->store_uri : "", parts);

	g_string_append_printf(conf, "%s\n", joined);
	g_free(joined);
	g_strfreev(parts);
}

const char *pp_str_or_empty(const char *str)
{
	return str != NULL ? str : "";
}

/* Sanitizer builds (configure --enable-sanitizers): the modules are built
   with ASan and UBSan, Dovecot is not, so every process of an instance
   preloads the runtime that PP_SANITIZER_RUNTIME names (make check sets
   it in such a build), with leak detection off (Dovecot's processes exit
   without freeing everything), and writes its reports into the instance's
   sanitizer/ directory; pp_instance_stop() fails the test if there is one,
   or if a report reached the log (a chrooted process writes it to
   stderr). */
const char *pp_sanitizer_runtime(void)
{
	const char *runtime = g_getenv("PP_SANITIZER_RUNTIME");

	return runtime != NULL && runtime[0] != '\0' ? runtime : NULL;
}

void pp_sanitizer_setenv(PpInstance *inst,
			 GSubprocessLauncher *launcher)
{
	const char *runtime = pp_sanitizer_runtime();
	const char *preload;
	char *dir, *value;

	if (runtime == NULL)
		return;
	dir = g_build_filename(inst->dir, "sanitizer", NULL);
	if (g_mkdir(dir, 0755) < 0 && errno != EEXIST)
		g_error("pp-harness: mkdir %s: %s", dir, g_strerror(errno));
	/* every uid of the instance writes there */
	if (chmod(dir, 01777) < 0)
		g_error("pp-harness: chmod %s: %s", dir, g_strerror(errno));
	/* after libfaketime: ASan first deadlocks in libfaketime's
	   initialisation (hence verify_asan_link_order=0 too) */
	preload = g_subprocess_launcher_getenv(launcher, "LD_PRELOAD");
	value = preload == NULL ? g_strdup(runtime) :
		g_strconcat(preload, " ", runtime, NULL);
	g_subprocess_launcher_setenv(launcher, "LD_PRELOAD", value, TRUE);
	g_free(value);
	/* a small quarantine, so that a process's size stays flat over many
	   sessions as without ASan (test-backends checks that) */
	value = g_strdup_printf("detect_leaks=0:abort_on_error=1:"
				"verify_asan_link_order=0:"
				"quarantine_size_mb=4:log_path=%s/asan", dir);
	g_subprocess_launcher_setenv(launcher, "ASAN_OPTIONS", value, TRUE);
	g_free(value);
	value = g_strdup_printf("print_stacktrace=1:halt_on_error=1:"
				"log_path=%s/ubsan", dir);
	g_subprocess_launcher_setenv(launcher, "UBSAN_OPTIONS", value, TRUE);
	g_free(value);
	g_free(dir);
}

void pp_sanitizer_check(PpInstance *inst)
{
	char *dir, *path, *report, *log;
	const char *name;
	GDir *d;

	if (pp_sanitizer_runtime() == NULL)
		return;
	dir = g_build_filename(inst->dir, "sanitizer", NULL);
	d = g_dir_open(dir, 0, NULL);
	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		path = g_build_filename(dir, name, NULL);
		if (g_file_get_contents(path, &report, NULL, NULL)) {
			g_printerr("# pp-harness: sanitizer report %s:\n%s\n",
				   path, report);
			g_free(report);
		}
		g_test_fail_printf("sanitizer report %s", path);
		g_free(path);
	}
	if (d != NULL)
		g_dir_close(d);
	if (g_file_get_contents(inst->log_path, &log, NULL, NULL)) {
		if (strstr(log, "ERROR: AddressSanitizer") != NULL ||
		    strstr(log, "runtime error: ") != NULL)
			g_test_fail_printf("sanitizer report in %s",
					   inst->log_path);
		g_free(log);
	}
	g_free(dir);
}

char *pp_instance_build_conf(PpInstance *inst)
{
	const PpInstanceOptions *o = &inst->opts;
	GString *conf = g_string_new(NULL);
	char *name = g_path_get_basename(inst->dir);
	char *state_dir = g_build_filename(inst->dir, "state", NULL);
	char *home_root = g_build_filename(inst->dir, "home", NULL);

	/* import_environment keeps POP3_POLICY_TEST_KILL_AT of a doveadm
	   that a kill test starts (pp-test-hooks.c): doveadm re-executes
	   itself through doveconf, which cleans the environment */
	g_string_append_printf(conf,
		"# generated by tests/harness/pp-config.c\n"
		"instance_name = %s\n"
		"base_dir = %s\n"
		"state_dir = %s\n"
		"log_path = %s\n"
		"protocols = pop3\n"
		"listen = 127.0.0.1\n"
		"ssl = no\n"
		"disable_plaintext_auth = no\n"
		"auth_mechanisms = plain apop\n"
		"auth_failure_delay = 0\n"
		"default_internal_user = dovecot\n"
		"default_login_user = dovenull\n"
		"first_valid_uid = 1\n"
		"mail_location = %s\n"
		"import_environment = TZ CORE_OUTOFMEM CORE_ERROR LD_PRELOAD "
		"FAKETIME_TIMESTAMP_FILE FAKETIME_NO_CACHE "
		"FAKETIME_DONT_FAKE_MONOTONIC POP3_POLICY_TEST_KILL_AT\n"
		"service pop3-login {\n"
		"  inet_listener pop3 {\n"
		"    address = 127.0.0.1\n"
		"    port = %u\n"
		"  }\n"
		"  inet_listener pop3s {\n"
		"    port = 0\n"
		"  }\n"
		"}\n",
		name, inst->base_dir, state_dir, inst->log_path,
		inst->mail_location != NULL ? inst->mail_location :
		"maildir:~/Maildir", inst->port);
	if (o->with_imap) {
		g_string_append_printf(conf,
			"protocols = pop3 imap\n"
			"service imap-login {\n"
			"  inet_listener imap {\n"
			"    address = 127.0.0.1\n"
			"    port = %u\n"
			"  }\n"
			"  inet_listener imaps {\n"
			"    port = 0\n"
			"  }\n"
			"}\n", inst->imap_port);
	}
	if (o->debug)
		g_string_append(conf, "mail_debug = yes\nauth_debug = yes\n");

	/* the store first: passdb_conf may name its URI */
	switch (pp_backends_effective_store(o->store)) {
	case PP_STORE_SQLITE:
		pp_instance_make_sqlite_store(inst, conf);
		pp_instance_dict_service(inst, conf);
		break;
	case PP_STORE_FILE:
		pp_instance_make_file_store(inst);
		break;
	case PP_STORE_NONE:
		break;
	case PP_STORE_REDIS:
	case PP_STORE_PGSQL:
		inst->store_uri = pp_backends_instance_store(
			pp_backends_effective_store(o->store), o->backend,
			inst->dir, conf);
		if (pp_backends_effective_store(o->store) == PP_STORE_PGSQL)
			pp_instance_dict_service(inst, conf);
		break;
	}

	if (o->auth_chain && inst->store_uri == NULL)
		g_error("pp-harness: auth_chain needs a store");
	if (o->auth_chain && o->apop_key_file != NULL) {
		g_string_append_printf(conf,
			"passdb {\n"
			"  driver = pop3_policy\n"
			"  args = dict=%s key_file=%s\n"
			"  mechanisms = apop\n"
			"  result_success = continue-ok\n"
			"}\n", o->apop_dict != NULL ? o->apop_dict :
			inst->store_uri, o->apop_key_file);
	}
	if (inst->passdb_conf != NULL) {
		char **parts = g_strsplit(inst->passdb_conf, "%{passwd_file}",
					  -1);
		char *passdb = g_strjoinv(inst->passwd_path, parts);

		pp_append_with_store_uri(inst, conf, passdb);
		g_free(passdb);
		g_strfreev(parts);
	} else {
		g_string_append_printf(conf,
			"passdb {\n"
			"  driver = passwd-file\n"
			"  args = scheme=PLAIN username_format=%%u %s\n"
			"%s"
			"}\n", inst->passwd_path,
			!o->auth_chain ? "" :
			o->apop_key_file == NULL ?
			"  result_success = continue-ok\n" :
			"  skip = authenticated\n"
			"  result_success = continue-ok\n");
	}
	if (o->auth_chain) {
		g_string_append_printf(conf,
			"passdb {\n"
			"  driver = pop3_policy\n"
			"  args = dict=%s mode=login %s\n"
			"  skip = unauthenticated\n"
			"  result_failure = return-fail\n"
			"  result_internalfail = return-fail\n"
			"}\n", inst->store_uri,
			pp_str_or_empty(o->auth_chain_args));
	}
	g_string_append_printf(conf,
		"userdb {\n"
		"  driver = passwd-file\n"
		"  args = username_format=%%u %s\n"
		"  default_fields = uid=%u gid=%u home=%s/%%u\n"
		"%s"
		"}\n", inst->passwd_path, (unsigned int)inst->mail_uid,
		(unsigned int)inst->mail_gid, home_root,
		o->auth_chain ? "  result_success = continue-ok\n" : "");
	if (o->auth_chain) {
		g_string_append_printf(conf,
			"userdb {\n"
			"  driver = pop3_policy\n"
			"  args = dict=%s %s\n"
			"  skip = notfound\n"
			"}\n", inst->store_uri,
			pp_str_or_empty(o->auth_chain_args));
	}

	if (o->with_package) {
		g_string_append(conf,
			"protocol pop3 {\n"
			"  mail_plugins = $mail_plugins pop3_policy\n"
			"}\n"
			"protocol doveadm {\n"
			"  mail_plugins = $mail_plugins pop3_policy\n"
			"}\n");
	}
	g_string_append(conf, "plugin {\n");
	if (o->with_package && inst->store_uri != NULL) {
		g_string_append_printf(conf, "  pop3_policy_dict = %s\n",
				       inst->store_uri);
	}
	if (inst->plugin_settings != NULL)
		pp_append_with_store_uri(inst, conf, inst->plugin_settings);
	g_string_append(conf, "}\n");
	if (inst->extra_conf != NULL)
		pp_append_with_store_uri(inst, conf, inst->extra_conf);
	if (pp_sanitizer_runtime() != NULL) {
		/* the sanitizers' options reach every process; ASan's
		   shadow memory needs no address space limit */
		g_string_append(conf,
			"import_environment = $import_environment "
			"ASAN_OPTIONS UBSAN_OPTIONS\n"
			"default_vsz_limit = 0\n");
	}

	g_free(home_root);
	g_free(state_dir);
	g_free(name);
	return g_string_free(conf, FALSE);
}
