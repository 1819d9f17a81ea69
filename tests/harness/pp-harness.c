/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Integration harness: see pp-harness.h for the contract.

   Layout of an instance directory (one per instance, under the per-run root
   $PP_TEST_TMPDIR, or the system temporary directory):

     dovecot.conf          generated configuration
     dovecot.log           log_path of every Dovecot process
     passwd                passwd-file, passdb and userdb
     run/                  base_dir (sockets, master.pid)
     state/                state_dir
     modules/              private copy of Dovecot's module directory plus
                           the build's modules, bind-mounted over
                           /usr/lib/dovecot/modules in the instance's own
                           mount namespace
     store/                SQLite database and dict-sql map (PP_STORE_SQLITE)
                           or store.dict (PP_STORE_FILE), owned by the
                           service user that writes it
     home/<user>/          mail homes, owned by the mail uid
     faketime              libfaketime's timestamp file (opts.faketime)

   Every process is started through `unshare -m --propagation private` with
   PR_SET_PDEATHSIG, so that the kernel stops the Dovecot master when the
   test process dies; the master then stops its children. */

#include "pp-harness.h"
#include "pp-backends.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PP_DOVECOT_MODULEDIR "/usr/lib/dovecot/modules"
#define PP_MAIL_USER "nobody"
#define PP_START_TIMEOUT_USEC (30 * G_USEC_PER_SEC)
#define PP_STOP_TIMEOUT_USEC (10 * G_USEC_PER_SEC)
#define PP_IO_TIMEOUT_SECS 30
#define PP_START_ATTEMPTS 5

struct _PpInstance {
	PpInstanceOptions opts;
	char *plugin_settings;
	char *passdb_conf;
	char *extra_conf;
	char *mail_location;

	char *dir;
	char *base_dir;
	char *conf_path;
	char *log_path;
	char *passwd_path;
	char *faketime_path;
	char *store_uri;
	char *mnt_ns;
	guint16 port;
	guint16 imap_port;

	uid_t mail_uid;
	gid_t mail_gid;

	GSubprocess *master;
	GPid pid;
	GHashTable *homes;
};

struct _PpPop3 {
	GSocketConnection *conn;
	GDataInputStream *in;
	GOutputStream *out;
	char *greeting;
};

const char *pp_top_builddir(void)
{
	const char *dir = g_getenv("PP_TOP_BUILDDIR");

#ifdef PP_TOP_BUILDDIR
	if (dir == NULL || dir[0] == '\0')
		dir = PP_TOP_BUILDDIR;
#endif
	if (dir == NULL || dir[0] == '\0')
		g_error("pp-harness: PP_TOP_BUILDDIR is not set");
	return dir;
}

static const char *pp_top_srcdir(void)
{
	const char *dir = g_getenv("PP_TOP_SRCDIR");

#ifdef PP_TOP_SRCDIR
	if (dir == NULL || dir[0] == '\0')
		dir = PP_TOP_SRCDIR;
#endif
	if (dir == NULL || dir[0] == '\0')
		g_error("pp-harness: PP_TOP_SRCDIR is not set");
	return dir;
}

const char *pp_tmp_root(void)
{
	const char *root = g_getenv("PP_TEST_TMPDIR");

	if (root == NULL || root[0] == '\0')
		root = g_get_tmp_dir();
	if (g_mkdir_with_parents(root, 0755) < 0)
		g_error("pp-harness: mkdir %s: %s", root, g_strerror(errno));
	return root;
}

static void pp_child_setup(gpointer user_data G_GNUC_UNUSED)
{
	/* The kernel sends SIGTERM when the test process dies (including an
	   abort), and Dovecot's master stops its children on SIGTERM. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void pp_write_file(const char *path, const char *contents, int mode)
{
	GError *error = NULL;

	if (!g_file_set_contents(path, contents, -1, &error))
		g_error("pp-harness: %s", error->message);
	if (chmod(path, mode) < 0)
		g_error("pp-harness: chmod %s: %s", path, g_strerror(errno));
}

static void pp_mkdir(const char *path, int mode, uid_t uid, gid_t gid)
{
	if (g_mkdir_with_parents(path, mode) < 0)
		g_error("pp-harness: mkdir %s: %s", path, g_strerror(errno));
	if (chmod(path, mode) < 0)
		g_error("pp-harness: chmod %s: %s", path, g_strerror(errno));
	if (chown(path, uid, gid) < 0)
		g_error("pp-harness: chown %s: %s", path, g_strerror(errno));
}

/* Runs a helper command outside any instance (cp, sqlite3, rm); returns
   FALSE with error set if it did not exit 0. */
static gboolean pp_spawn_sync(const char *const *argv, const char *stdin_data,
			      char **stdout_r, GError **error)
{
	GSubprocessLauncher *launcher;
	GSubprocess *proc;
	GBytes *in = NULL, *out = NULL, *err = NULL;
	gboolean ok = FALSE;
	GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE |
		G_SUBPROCESS_FLAGS_STDERR_PIPE;

	if (stdin_data != NULL)
		flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
	launcher = g_subprocess_launcher_new(flags);
	g_subprocess_launcher_set_child_setup(launcher, pp_child_setup,
					      NULL, NULL);
	proc = g_subprocess_launcher_spawnv(launcher, argv, error);
	g_object_unref(launcher);
	if (proc == NULL)
		return FALSE;
	if (stdin_data != NULL)
		in = g_bytes_new(stdin_data, strlen(stdin_data));
	if (g_subprocess_communicate(proc, in, NULL, &out, &err, error)) {
		if (g_subprocess_get_if_exited(proc) &&
		    g_subprocess_get_exit_status(proc) == 0)
			ok = TRUE;
		else {
			char *cmd = g_strjoinv(" ", (char **)argv);

			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "%s failed: %.*s", cmd,
				    (int)g_bytes_get_size(err),
				    (const char *)g_bytes_get_data(err, NULL));
			g_free(cmd);
		}
	}
	if (ok && stdout_r != NULL) {
		*stdout_r = g_strndup(g_bytes_get_data(out, NULL),
				      g_bytes_get_size(out));
	}
	if (in != NULL)
		g_bytes_unref(in);
	if (out != NULL)
		g_bytes_unref(out);
	if (err != NULL)
		g_bytes_unref(err);
	g_object_unref(proc);
	return ok;
}

static void pp_spawn_or_die(const char *const *argv, const char *stdin_data)
{
	GError *error = NULL;

	if (!pp_spawn_sync(argv, stdin_data, NULL, &error))
		g_error("pp-harness: %s", error->message);
}

static void pp_lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		g_error("pp-harness: system user %s does not exist", name);
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
}

guint16 pp_free_port(void)
{
	GSocket *sock;
	GInetAddress *lo;
	GSocketAddress *addr, *bound;
	GError *error = NULL;
	guint16 port;

	sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
			    G_SOCKET_PROTOCOL_TCP, &error);
	if (sock == NULL)
		g_error("pp-harness: socket: %s", error->message);
	lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	addr = g_inet_socket_address_new(lo, 0);
	if (!g_socket_bind(sock, addr, FALSE, &error))
		g_error("pp-harness: bind: %s", error->message);
	bound = g_socket_get_local_address(sock, &error);
	if (bound == NULL)
		g_error("pp-harness: getsockname: %s", error->message);
	port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	g_object_unref(bound);
	g_object_unref(addr);
	g_object_unref(lo);
	g_socket_close(sock, NULL);
	g_object_unref(sock);
	return port;
}

/* Private module directory: Dovecot's own modules, plus the build's with
   the package. */
static void pp_instance_make_modules(PpInstance *inst)
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
static char *pp_read_shipped(const char *name)
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
static void pp_instance_make_sqlite_store(PpInstance *inst,
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
static void pp_instance_dict_service(PpInstance *inst, GString *conf)
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

static void pp_instance_make_file_store(PpInstance *inst)
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
static void pp_append_with_store_uri(PpInstance *inst, GString *conf,
				     const char *text)
{
	char **parts = g_strsplit(text, "%{store_uri}", -1);
	char *joined = g_strjoinv(inst->store_uri != NULL ?
				  inst->store_uri : "", parts);

	g_string_append_printf(conf, "%s\n", joined);
	g_free(joined);
	g_strfreev(parts);
}

static const char *pp_str_or_empty(const char *str)
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
static const char *pp_sanitizer_runtime(void)
{
	const char *runtime = g_getenv("PP_SANITIZER_RUNTIME");

	return runtime != NULL && runtime[0] != '\0' ? runtime : NULL;
}

static void pp_sanitizer_setenv(PpInstance *inst,
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

static void pp_sanitizer_check(PpInstance *inst)
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

static char *pp_instance_build_conf(PpInstance *inst)
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
		"# generated by tests/harness/pp-harness.c\n"
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

/* libfaketime of the faketime package, under the multiarch directory. */
static const char *pp_faketime_lib(void)
{
	static char *path = NULL;
	GDir *dir;
	const char *name;

	if (path != NULL)
		return path;
	dir = g_dir_open("/usr/lib", 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		char *p = g_build_filename("/usr/lib", name, "faketime",
					   "libfaketime.so.1", NULL);

		if (g_file_test(p, G_FILE_TEST_EXISTS)) {
			path = p;
			break;
		}
		g_free(p);
	}
	if (dir != NULL)
		g_dir_close(dir);
	if (path == NULL) {
		g_error("pp-harness: libfaketime.so.1 not found under "
			"/usr/lib/*/faketime (install the faketime package: "
			"scripts/install-deps)");
	}
	return path;
}

/* argv prefix that runs a command in a new private mount namespace with the
   instance's module directory over Dovecot's compiled-in one. */
static GPtrArray *pp_ns_argv(const char *const *argv)
{
	GPtrArray *arr = g_ptr_array_new_with_free_func(g_free);
	unsigned int i;

	g_ptr_array_add(arr, g_strdup("unshare"));
	g_ptr_array_add(arr, g_strdup("-m"));
	g_ptr_array_add(arr, g_strdup("--propagation"));
	g_ptr_array_add(arr, g_strdup("private"));
	g_ptr_array_add(arr, g_strdup("sh"));
	g_ptr_array_add(arr, g_strdup("-c"));
	g_ptr_array_add(arr, g_strdup(
		"mount --bind \"$PP_MODULES\" " PP_DOVECOT_MODULEDIR
		" || exit 125; exec \"$@\""));
	g_ptr_array_add(arr, g_strdup("pp-ns"));
	for (i = 0; argv[i] != NULL; i++)
		g_ptr_array_add(arr, g_strdup(argv[i]));
	g_ptr_array_add(arr, NULL);
	return arr;
}

static GSubprocessLauncher *
pp_instance_launcher(PpInstance *inst, GSubprocessFlags flags)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(flags);
	char *moddir = g_build_filename(inst->dir, "modules", NULL);

	g_subprocess_launcher_set_child_setup(launcher, pp_child_setup,
					      NULL, NULL);
	g_subprocess_launcher_setenv(launcher, "PP_MODULES", moddir, TRUE);
	if (inst->opts.faketime) {
		g_subprocess_launcher_setenv(launcher, "LD_PRELOAD",
					     pp_faketime_lib(), TRUE);
		g_subprocess_launcher_setenv(launcher,
			"FAKETIME_TIMESTAMP_FILE", inst->faketime_path, TRUE);
		g_subprocess_launcher_setenv(launcher, "FAKETIME_NO_CACHE",
					     "1", TRUE);
		/* Dovecot's ioloop timers use the monotonic clock; a jump
		   there would fire every timeout at once. */
		g_subprocess_launcher_setenv(launcher,
			"FAKETIME_DONT_FAKE_MONOTONIC", "1", TRUE);
	}
	pp_sanitizer_setenv(inst, launcher);
	g_free(moddir);
	return launcher;
}

static char *pp_read_ns(GPid pid)
{
	char *link = g_strdup_printf("/proc/%d/ns/mnt", (int)pid);
	char *target = g_file_read_link(link, NULL);

	g_free(link);
	return target;
}

/* TRUE if the command line of pid contains tag. */
static gboolean pp_cmdline_has(GPid pid, const char *tag)
{
	char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
	char *cmdline = NULL;
	gsize len = 0, i;
	gboolean ret = FALSE;

	if (g_file_get_contents(path, &cmdline, &len, NULL)) {
		for (i = 0; i < len; i++) {
			if (cmdline[i] == '\0')
				cmdline[i] = ' ';
		}
		ret = strstr(cmdline, tag) != NULL;
	}
	g_free(cmdline);
	g_free(path);
	return ret;
}

/* Pids of the instance's processes: in its mount namespace, and with its
   instance name (the directory's name) in their command line or process
   title. The name matters because the kernel reuses a namespace's inode
   number once its last process is gone, possibly for another test's
   instance. */
static GArray *pp_ns_pids(PpInstance *inst)
{
	GArray *pids = g_array_new(FALSE, FALSE, sizeof(GPid));
	char *tag;
	GDir *dir;
	const char *name;

	if (inst->mnt_ns == NULL)
		return pids;
	dir = g_dir_open("/proc", 0, NULL);
	if (dir == NULL)
		g_error("pp-harness: cannot read /proc");
	tag = g_path_get_basename(inst->dir);
	while ((name = g_dir_read_name(dir)) != NULL) {
		GPid pid;
		char *target;

		if (!g_ascii_isdigit(name[0]))
			continue;
		pid = (GPid)atoi(name);
		target = pp_read_ns(pid);
		if (target != NULL && strcmp(target, inst->mnt_ns) == 0 &&
		    pp_cmdline_has(pid, tag))
			g_array_append_val(pids, pid);
		g_free(target);
	}
	g_dir_close(dir);
	g_free(tag);
	return pids;
}

static gboolean pp_master_running(PpInstance *inst)
{
	const char *id;

	if (inst->master == NULL)
		return FALSE;
	id = g_subprocess_get_identifier(inst->master);
	return id != NULL;
}

static gboolean pp_wait_master_exit(PpInstance *inst, gint64 timeout_usec)
{
	gint64 end = g_get_monotonic_time() + timeout_usec;

	while (pp_master_running(inst)) {
		if (g_get_monotonic_time() > end)
			return FALSE;
		g_usleep(20 * 1000);
	}
	return TRUE;
}

/* Connects and reads the greeting; TRUE when Dovecot answers POP3. */
static gboolean pp_probe_pop3(guint16 port)
{
	PpPop3 *pop3 = pp_pop3_connect(port, NULL);
	gboolean ok;

	if (pop3 == NULL)
		return FALSE;
	ok = g_str_has_prefix(pp_pop3_greeting(pop3), "+OK");
	pp_pop3_close(pop3);
	return ok;
}

/* Whether the log from offset on (what a start wrote: a restart follows
   kills that the log names with Fatal) shows a process failing. */
static gboolean pp_log_has_fatal(PpInstance *inst, gsize offset)
{
	char *log = NULL;
	gsize size = 0;
	gboolean ret;

	if (!g_file_get_contents(inst->log_path, &log, &size, NULL))
		return FALSE;
	if (offset > size)
		offset = size;
	ret = strstr(log + offset, ": Fatal: ") != NULL ||
		strstr(log + offset, ": Panic: ") != NULL;
	g_free(log);
	return ret;
}

static gboolean pp_instance_spawn(PpInstance *inst, GError **error)
{
	const char *const dovecot_argv[] = {
		"dovecot", "-F", "-c", inst->conf_path, NULL
	};
	GSubprocessLauncher *launcher;
	GPtrArray *argv;
	GStatBuf st;
	gint64 end;
	char *log_file;
	gsize log_start;

	log_start = g_stat(inst->log_path, &st) == 0 ? (gsize)st.st_size : 0;
	log_file = g_build_filename(inst->dir, "master.out", NULL);
	launcher = pp_instance_launcher(inst, G_SUBPROCESS_FLAGS_STDIN_PIPE);
	g_subprocess_launcher_set_stdout_file_path(launcher, log_file);
	g_subprocess_launcher_set_stderr_file_path(launcher, log_file);
	argv = pp_ns_argv(dovecot_argv);
	inst->master = g_subprocess_launcher_spawnv(launcher,
		(const char *const *)argv->pdata, error);
	g_ptr_array_unref(argv);
	g_object_unref(launcher);
	g_free(log_file);
	if (inst->master == NULL)
		return FALSE;
	inst->pid = (GPid)atoi(g_subprocess_get_identifier(inst->master));

	end = g_get_monotonic_time() + PP_START_TIMEOUT_USEC;
	while (g_get_monotonic_time() < end) {
		if (!pp_master_running(inst)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "dovecot exited during startup");
			return FALSE;
		}
		if (inst->mnt_ns == NULL) {
			char *ns = pp_read_ns(inst->pid);
			char *own = pp_read_ns(getpid());

			/* until unshare has run, the child is still in our
			   namespace */
			if (ns != NULL && g_strcmp0(ns, own) != 0)
				inst->mnt_ns = g_strdup(ns);
			g_free(ns);
			g_free(own);
		}
		if (inst->mnt_ns != NULL && pp_probe_pop3(inst->port))
			return TRUE;
		if (pp_log_has_fatal(inst, log_start)) {
			/* e.g. a module that does not load: the master
			   would only keep throttling the service */
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "a Dovecot process failed to start");
			return FALSE;
		}
		g_usleep(50 * 1000);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
		    "dovecot did not accept POP3 connections on port %u",
		    inst->port);
	return FALSE;
}

static void pp_instance_kill_master(PpInstance *inst)
{
	if (!pp_master_running(inst))
		return;
	kill(inst->pid, SIGTERM);
	if (!pp_wait_master_exit(inst, PP_STOP_TIMEOUT_USEC)) {
		g_printerr("# pp-harness: master %d ignored SIGTERM, "
			   "sending SIGKILL\n", (int)inst->pid);
		kill(inst->pid, SIGKILL);
		(void)pp_wait_master_exit(inst, PP_STOP_TIMEOUT_USEC);
	}
}

/* Sends sig to every process left in the instance's namespace and waits
   up to timeout_usec for them to go; returns the number left. Only our
   instance's processes run in that namespace. */
static guint pp_ns_signal_wait(PpInstance *inst, int sig,
			       gint64 timeout_usec)
{
	gint64 end = g_get_monotonic_time() + timeout_usec;
	GArray *pids;
	guint i, left;

	pids = pp_ns_pids(inst);
	for (i = 0; sig != 0 && i < pids->len; i++)
		kill(g_array_index(pids, GPid, i), sig);
	for (;;) {
		left = pids->len;
		g_array_unref(pids);
		if (left == 0 || g_get_monotonic_time() > end)
			return left;
		g_usleep(20 * 1000);
		pids = pp_ns_pids(inst);
	}
}

/* After the master: Dovecot's log and stats processes and a pop3 process
   with a connected client outlive it until their peers go, so the rest of
   the namespace is stopped too, with SIGTERM and then SIGKILL. */
static void pp_instance_reap_namespace(PpInstance *inst)
{
	if (pp_ns_signal_wait(inst, 0, G_USEC_PER_SEC / 2) == 0)
		return;
	if (pp_ns_signal_wait(inst, SIGTERM, 3 * G_USEC_PER_SEC) == 0)
		return;
	if (pp_ns_signal_wait(inst, SIGKILL, PP_STOP_TIMEOUT_USEC) != 0) {
		g_printerr("# pp-harness: processes of %s survived SIGKILL\n",
			   inst->dir);
	}
}

static void pp_rm_rf(const char *path)
{
	const char *const argv[] = { "rm", "-rf", "--one-file-system", path,
				     NULL };
	GError *error = NULL;

	if (!pp_spawn_sync(argv, NULL, NULL, &error)) {
		g_printerr("# pp-harness: %s\n", error->message);
		g_error_free(error);
	}
}

static void pp_instance_free(PpInstance *inst)
{
	g_clear_object(&inst->master);
	g_hash_table_unref(inst->homes);
	g_free(inst->plugin_settings);
	g_free(inst->passdb_conf);
	g_free(inst->extra_conf);
	g_free(inst->mail_location);
	g_free(inst->dir);
	g_free(inst->base_dir);
	g_free(inst->conf_path);
	g_free(inst->log_path);
	g_free(inst->passwd_path);
	g_free(inst->faketime_path);
	g_free(inst->store_uri);
	g_free(inst->mnt_ns);
	g_free(inst);
}

static PpInstance *pp_instance_new(const PpInstanceOptions *opts)
{
	PpInstance *inst = g_new0(PpInstance, 1);
	char *tmpl = g_build_filename(pp_tmp_root(), "pp-inst-XXXXXX", NULL);

	inst->opts = *opts;
	inst->plugin_settings = g_strdup(opts->plugin_settings);
	inst->passdb_conf = g_strdup(opts->passdb_conf);
	inst->extra_conf = g_strdup(opts->extra_conf);
	inst->mail_location = g_strdup(opts->mail_location);
	inst->homes = g_hash_table_new_full(g_str_hash, g_str_equal,
					    g_free, g_free);
	pp_lookup_user(PP_MAIL_USER, &inst->mail_uid, &inst->mail_gid);

	/* g_mkdtemp_full() fills in tmpl and returns it */
	inst->dir = g_mkdtemp_full(tmpl, 0755);
	if (inst->dir == NULL)
		g_error("pp-harness: mkdtemp %s: %s", tmpl, g_strerror(errno));
	/* the mail uid, dovecot and dovenull must traverse it */
	if (chmod(inst->dir, 0755) < 0)
		g_error("pp-harness: chmod %s: %s", inst->dir,
			g_strerror(errno));
	inst->base_dir = g_build_filename(inst->dir, "run", NULL);
	inst->conf_path = g_build_filename(inst->dir, "dovecot.conf", NULL);
	inst->log_path = g_build_filename(inst->dir, "dovecot.log", NULL);
	inst->passwd_path = g_build_filename(inst->dir, "passwd", NULL);
	inst->faketime_path = g_build_filename(inst->dir, "faketime", NULL);
	pp_mkdir(inst->base_dir, 0755, 0, 0);
	{
		char *home_root = g_build_filename(inst->dir, "home", NULL);

		pp_mkdir(home_root, 0755, 0, 0);
		g_free(home_root);
	}
	if (!g_file_test(inst->passwd_path, G_FILE_TEST_EXISTS))
		pp_write_file(inst->passwd_path, "", 0644);
	pp_write_file(inst->faketime_path, "+0\n", 0644);
	pp_write_file(inst->log_path, "", 0644);
	return inst;
}

PpInstance *pp_instance_start(const PpInstanceOptions *opts, GError **error)
{
	PpInstance *inst;
	char *conf;
	unsigned int attempt, i;

	inst = pp_instance_new(opts);
	pp_instance_make_modules(inst);
	for (i = 0; opts->users != NULL && opts->users[i].name != NULL; i++) {
		pp_instance_add_user(inst, opts->users[i].name,
				     opts->users[i].password,
				     opts->users[i].userdb_fields);
	}

	for (attempt = 0; attempt < PP_START_ATTEMPTS; attempt++) {
		GError *spawn_error = NULL;
		char *log;

		inst->port = pp_free_port();
		do {
			inst->imap_port = opts->with_imap ? pp_free_port() : 0;
		} while (inst->imap_port == inst->port);
		g_free(inst->store_uri);
		inst->store_uri = NULL;
		conf = pp_instance_build_conf(inst);
		pp_write_file(inst->conf_path, conf, 0644);
		g_free(conf);

		if (pp_instance_spawn(inst, &spawn_error))
			return inst;

		pp_instance_kill_master(inst);
		pp_instance_reap_namespace(inst);
		g_clear_object(&inst->master);
		g_clear_pointer(&inst->mnt_ns, g_free);
		log = pp_instance_read_log(inst);
		if (attempt + 1 < PP_START_ATTEMPTS &&
		    strstr(log, "Address already in use") != NULL) {
			/* another process took the port between our probe
			   and Dovecot's bind: try another one */
			g_free(log);
			g_error_free(spawn_error);
			pp_write_file(inst->log_path, "", 0644);
			continue;
		}
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "pp_instance_start (%s): %s\n--- log ---\n%s",
			    inst->dir, spawn_error->message, log);
		g_free(log);
		g_error_free(spawn_error);
		break;
	}
	pp_rm_rf(inst->dir);
	pp_instance_free(inst);
	return NULL;
}

/* libfaketime (0.9.10) makes a shared memory object and a semaphore in
   /dev/shm for every process it is preloaded into, named after its pid,
   and removes them only when that process exits normally: Dovecot's
   processes that are killed or _exit() leave thousands behind. Removes
   those whose process is gone (whoever started it: a dead process's are
   garbage either way). */
static void pp_faketime_shm_cleanup(void)
{
	static const char *const prefixes[] = {
		"faketime_shm_", "sem.faketime_sem_"
	};
	GDir *dir = g_dir_open("/dev/shm", 0, NULL);
	const char *name;
	unsigned int i;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		for (i = 0; i < G_N_ELEMENTS(prefixes); i++) {
			const char *p = name + strlen(prefixes[i]);
			char *end, *path;
			long pid;

			if (!g_str_has_prefix(name, prefixes[i]))
				continue;
			pid = strtol(p, &end, 10);
			if (*p == '\0' || *end != '\0' || pid <= 0 ||
			    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			path = g_build_filename("/dev/shm", name, NULL);
			(void)unlink(path);
			g_free(path);
		}
	}
	if (dir != NULL)
		g_dir_close(dir);
}

void pp_instance_stop(PpInstance *inst)
{
	if (inst == NULL)
		return;
	pp_instance_kill_master(inst);
	pp_instance_reap_namespace(inst);
	pp_sanitizer_check(inst);
	if (inst->opts.faketime)
		pp_faketime_shm_cleanup();
	if (g_getenv("PP_KEEP_INSTANCES") != NULL)
		g_printerr("# pp-harness: keeping %s\n", inst->dir);
	else
		pp_rm_rf(inst->dir);
	pp_instance_free(inst);
}

gboolean pp_instance_restart(PpInstance *inst, GError **error)
{
	pp_instance_kill_master(inst);
	pp_instance_reap_namespace(inst);
	g_clear_object(&inst->master);
	g_clear_pointer(&inst->mnt_ns, g_free);
	return pp_instance_spawn(inst, error);
}

guint16 pp_instance_port(PpInstance *inst)
{
	return inst->port;
}

guint16 pp_instance_imap_port(PpInstance *inst)
{
	return inst->imap_port;
}

const char *pp_instance_dir(PpInstance *inst)
{
	return inst->dir;
}

const char *pp_instance_base_dir(PpInstance *inst)
{
	return inst->base_dir;
}

const char *pp_instance_passwd_file(PpInstance *inst)
{
	return inst->passwd_path;
}

const char *pp_instance_conf_path(PpInstance *inst)
{
	return inst->conf_path;
}

const char *pp_instance_log_path(PpInstance *inst)
{
	return inst->log_path;
}

GPid pp_instance_pid(PpInstance *inst)
{
	return inst->pid;
}

const char *pp_instance_mount_ns(PpInstance *inst)
{
	return inst->mnt_ns;
}

const char *pp_instance_store_uri(PpInstance *inst)
{
	return inst->store_uri;
}

char *pp_instance_read_log(PpInstance *inst)
{
	char *contents = NULL, *out = NULL, *path;
	GString *str = g_string_new(NULL);

	if (g_file_get_contents(inst->log_path, &contents, NULL, NULL))
		g_string_append(str, contents);
	path = g_build_filename(inst->dir, "master.out", NULL);
	if (g_file_get_contents(path, &out, NULL, NULL) && out[0] != '\0')
		g_string_append_printf(str, "--- master stdout/stderr ---\n%s",
				       out);
	g_free(path);
	g_free(contents);
	g_free(out);
	return g_string_free(str, FALSE);
}

unsigned int pp_instance_log_count(PpInstance *inst, const char *process,
				   const char *text)
{
	char *log = pp_instance_read_log(inst);
	char **lines = g_strsplit(log, "\n", -1);
	unsigned int i, count = 0;

	for (i = 0; lines[i] != NULL; i++) {
		if ((process == NULL || strstr(lines[i], process) != NULL) &&
		    strstr(lines[i], text) != NULL)
			count++;
	}
	g_strfreev(lines);
	g_free(log);
	return count;
}

unsigned int pp_instance_log_lookups(PpInstance *inst, const char *process,
				     const char *key)
{
	char *log = pp_instance_read_log(inst);
	char **lines = g_strsplit(log, "\n", -1);
	char *quoted = g_strdup_printf("'%s'", key);
	unsigned int i, count = 0;

	for (i = 0; lines[i] != NULL; i++) {
		if ((process == NULL || strstr(lines[i], process) != NULL) &&
		    strstr(lines[i], "Looking up") != NULL &&
		    strstr(lines[i], quoted) != NULL)
			count++;
	}
	g_free(quoted);
	g_strfreev(lines);
	g_free(log);
	return count;
}

void pp_instance_add_user(PpInstance *inst, const char *user,
			  const char *password, const char *userdb_fields)
{
	char *home_root = g_build_filename(inst->dir, "home", NULL);
	char *home = g_build_filename(home_root, user, NULL);
	GString *line = g_string_new(NULL);
	char *old = NULL;

	if (strpbrk(user, ":/\n ") != NULL || strpbrk(password, ":\n") != NULL)
		g_error("pp-harness: bad user %s or password", user);
	g_string_append_printf(line, "%s:{PLAIN}%s:%u:%u::%s::", user,
			       password, (unsigned int)inst->mail_uid,
			       (unsigned int)inst->mail_gid, home);
	if (userdb_fields != NULL) {
		char **fields = g_strsplit(userdb_fields, " ", -1);
		unsigned int i;
		gboolean first = TRUE;

		for (i = 0; fields[i] != NULL; i++) {
			if (fields[i][0] == '\0')
				continue;
			g_string_append_printf(line, "%suserdb_%s",
					       first ? "" : " ", fields[i]);
			first = FALSE;
		}
		g_strfreev(fields);
	}
	g_string_append_c(line, '\n');

	(void)g_file_get_contents(inst->passwd_path, &old, NULL, NULL);
	{
		char *contents = g_strconcat(old != NULL ? old : "",
					     line->str, NULL);

		pp_write_file(inst->passwd_path, contents, 0644);
		g_free(contents);
	}
	pp_mkdir(home, 0700, inst->mail_uid, inst->mail_gid);
	g_hash_table_replace(inst->homes, g_strdup(user), g_strdup(home));

	g_free(old);
	g_string_free(line, TRUE);
	g_free(home);
	g_free(home_root);
}

const char *pp_instance_home(PpInstance *inst, const char *user)
{
	const char *home = g_hash_table_lookup(inst->homes, user);

	if (home == NULL)
		g_error("pp-harness: unknown user %s", user);
	return home;
}

int pp_instance_run(PpInstance *inst, const char *const *argv,
		    const char *stdin_data, char **stdout_r, char **stderr_r)
{
	GSubprocessLauncher *launcher;
	GSubprocess *proc;
	GPtrArray *ns_argv;
	GBytes *in, *out = NULL, *err = NULL;
	GError *error = NULL;
	int status;

	launcher = pp_instance_launcher(inst, G_SUBPROCESS_FLAGS_STDIN_PIPE |
					G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					G_SUBPROCESS_FLAGS_STDERR_PIPE);
	ns_argv = pp_ns_argv(argv);
	proc = g_subprocess_launcher_spawnv(launcher,
		(const char *const *)ns_argv->pdata, &error);
	g_ptr_array_unref(ns_argv);
	g_object_unref(launcher);
	if (proc == NULL)
		g_error("pp-harness: %s: %s", argv[0], error->message);
	in = g_bytes_new(stdin_data != NULL ? stdin_data : "",
			 stdin_data != NULL ? strlen(stdin_data) : 0);
	if (!g_subprocess_communicate(proc, in, NULL, &out, &err, &error))
		g_error("pp-harness: %s: %s", argv[0], error->message);
	if (g_subprocess_get_if_exited(proc))
		status = g_subprocess_get_exit_status(proc);
	else
		status = 128 + g_subprocess_get_term_sig(proc);
	if (stdout_r != NULL) {
		*stdout_r = g_strndup(g_bytes_get_data(out, NULL),
				      g_bytes_get_size(out));
	}
	if (stderr_r != NULL) {
		*stderr_r = g_strndup(g_bytes_get_data(err, NULL),
				      g_bytes_get_size(err));
	}
	g_bytes_unref(in);
	g_bytes_unref(out);
	g_bytes_unref(err);
	g_object_unref(proc);
	return status;
}

void pp_instance_store_set_raw(PpInstance *inst, const char *user,
			       const char *key, const char *value)
{
	char *prog = g_build_filename(pp_top_builddir(), "tests",
				      "store-check", NULL);
	const char *argv[] = {
		prog, "--set-raw", pp_instance_store_uri(inst),
		pp_instance_base_dir(inst), user, key, value, NULL
	};
	char *out = NULL, *err = NULL;
	int status;

	status = pp_instance_run(inst, argv, NULL, &out, &err);
	if (status != 0) {
		g_error("pp-harness: store-check --set-raw %s: exit %d: %s%s",
			key, status, out, err);
	}
	g_free(out);
	g_free(err);
	g_free(prog);
}

int pp_instance_doveadm(PpInstance *inst, const char *const *argv,
			const char *stdin_data, char **stdout_r,
			char **stderr_r)
{
	GPtrArray *full = g_ptr_array_new();
	unsigned int i;
	int ret;

	g_ptr_array_add(full, (char *)"doveadm");
	g_ptr_array_add(full, (char *)"-c");
	g_ptr_array_add(full, inst->conf_path);
	for (i = 0; argv[i] != NULL; i++)
		g_ptr_array_add(full, (char *)argv[i]);
	g_ptr_array_add(full, NULL);
	ret = pp_instance_run(inst, (const char *const *)full->pdata,
			      stdin_data, stdout_r, stderr_r);
	g_ptr_array_unref(full);
	return ret;
}

void pp_instance_deliver(PpInstance *inst, const char *user,
			 const char *message)
{
	const char *const argv[] = { "save", "-u", user, NULL };
	char *out = NULL, *err = NULL;
	int ret;

	ret = pp_instance_doveadm(inst, argv, message, &out, &err);
	if (ret != 0) {
		g_error("pp-harness: doveadm save -u %s failed (%d): %s%s",
			user, ret, out, err);
	}
	g_free(out);
	g_free(err);
}

void pp_instance_set_time_offset(PpInstance *inst, const char *offset)
{
	char *line;

	if (!inst->opts.faketime)
		g_error("pp-harness: set_time_offset needs opts.faketime");
	line = g_strdup_printf("%s\n", offset);
	pp_write_file(inst->faketime_path, line, 0644);
	g_free(line);
}

/* POP3 client */

PpPop3 *pp_pop3_connect(guint16 port, GError **error)
{
	GSocketClient *client = g_socket_client_new();
	GSocketConnection *conn;
	PpPop3 *pop3;
	GError *err = NULL;

	g_socket_client_set_timeout(client, PP_IO_TIMEOUT_SECS);
	conn = g_socket_client_connect_to_host(client, "127.0.0.1", port,
					       NULL, error);
	g_object_unref(client);
	if (conn == NULL)
		return NULL;
	pop3 = g_new0(PpPop3, 1);
	pop3->conn = conn;
	pop3->in = g_data_input_stream_new(
		g_io_stream_get_input_stream(G_IO_STREAM(conn)));
	g_data_input_stream_set_newline_type(pop3->in,
					     G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
	g_filter_input_stream_set_close_base_stream(
		G_FILTER_INPUT_STREAM(pop3->in), FALSE);
	pop3->out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	pop3->greeting = g_data_input_stream_read_line(pop3->in, NULL,
						       NULL, &err);
	if (pop3->greeting == NULL) {
		if (err != NULL)
			g_propagate_error(error, err);
		else {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED,
				    "connection closed before the greeting");
		}
		pp_pop3_close(pop3);
		return NULL;
	}
	return pop3;
}

const char *pp_pop3_greeting(PpPop3 *pop3)
{
	return pop3->greeting;
}

/* Reads one line without CRLF; NULL on EOF, "<error: ...>" on an I/O
   error, so that a status check fails with the reason. */
static char *pp_pop3_read_line(PpPop3 *pop3)
{
	GError *error = NULL;
	char *line;

	line = g_data_input_stream_read_line(pop3->in, NULL, NULL, &error);
	if (line != NULL)
		return line;
	if (error == NULL)
		return NULL;
	line = g_strdup_printf("<error: %s>", error->message);
	g_error_free(error);
	return line;
}

char *pp_pop3_cmd(PpPop3 *pop3, const char *cmd)
{
	char *data = g_strconcat(cmd, "\r\n", NULL);
	GError *error = NULL;
	char *line;

	if (!g_output_stream_write_all(pop3->out, data, strlen(data), NULL,
				       NULL, &error)) {
		line = g_strdup_printf("<error: %s>", error->message);
		g_error_free(error);
		g_free(data);
		return line;
	}
	g_free(data);
	line = pp_pop3_read_line(pop3);
	return line != NULL ? line : g_strdup("");
}

char *pp_pop3_cmd_multi(PpPop3 *pop3, const char *cmd)
{
	char *status = pp_pop3_cmd(pop3, cmd);
	GString *str;

	if (!g_str_has_prefix(status, "+OK"))
		return status;
	str = g_string_new(status);
	g_free(status);
	for (;;) {
		char *line = pp_pop3_read_line(pop3);

		if (line == NULL) {
			g_string_append(str, "\n<error: connection closed "
					"before the final \".\">");
			break;
		}
		if (strcmp(line, ".") == 0) {
			g_free(line);
			break;
		}
		if (g_str_has_prefix(line, "<error: ")) {
			g_string_append_printf(str, "\n%s", line);
			g_free(line);
			break;
		}
		g_string_append_c(str, '\n');
		g_string_append(str, line[0] == '.' ? line + 1 : line);
		g_free(line);
	}
	return g_string_free(str, FALSE);
}

gboolean pp_pop3_login(PpPop3 *pop3, const char *user, const char *password)
{
	char *cmd, *reply;
	gboolean ok;

	cmd = g_strdup_printf("USER %s", user);
	reply = pp_pop3_cmd(pop3, cmd);
	g_free(cmd);
	ok = g_str_has_prefix(reply, "+OK");
	g_free(reply);
	if (!ok)
		return FALSE;
	cmd = g_strdup_printf("PASS %s", password);
	reply = pp_pop3_cmd(pop3, cmd);
	g_free(cmd);
	ok = g_str_has_prefix(reply, "+OK");
	g_free(reply);
	return ok;
}

void pp_pop3_close(PpPop3 *pop3)
{
	if (pop3 == NULL)
		return;
	g_io_stream_close(G_IO_STREAM(pop3->conn), NULL, NULL);
	g_clear_object(&pop3->in);
	g_clear_object(&pop3->conn);
	g_free(pop3->greeting);
	g_free(pop3);
}

gboolean pp_instance_wait_log(PpInstance *inst, const char *text,
			      unsigned int timeout_msecs)
{
	gint64 end = g_get_monotonic_time() + timeout_msecs * 1000LL;
	gboolean found;

	for (;;) {
		char *log = pp_instance_read_log(inst);

		found = strstr(log, text) != NULL;
		g_free(log);
		if (found || g_get_monotonic_time() >= end)
			return found;
		g_usleep(50 * 1000);
	}
}
