/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Store servers for the integration suite: see pp-backends.h.

   Layout of a backend directory (under the run root, like an instance's):

     redis.log, db/          Redis: its log and working directory (no RDB
                             snapshots, no append-only file)
     pg/                     PostgreSQL, owned by the postgres user:
       data/                 the cluster (initdb), fsync off
       .s.PGSQL.<port>       its unix socket (unix_socket_directories)
       postgres.log          the server's output

   PostgreSQL runs as the postgres user: the child drops root itself and
   then sets the parent-death signal (a change of uid clears it, so
   setpriv/runuser would lose it). Connections use TCP on 127.0.0.1 with
   trust authentication, as user postgres. */

#include "pp-backends.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define PP_PG_BINDIR "/usr/lib/postgresql/15/bin"
#define PP_PG_USER "postgres"
#define PP_PG_SHARED_DB "pop3policy"
#define PP_REDIS_DATABASES 4096
#define PP_BACKEND_START_TIMEOUT_USEC (30 * G_USEC_PER_SEC)
#define PP_BACKEND_STOP_TIMEOUT_USEC (15 * G_USEC_PER_SEC)
#define PP_BACKEND_START_ATTEMPTS 5

struct _PpBackend {
	PpBackendKind kind;
	char *dir;
	char *pg_dir;
	guint16 port;
	GSubprocess *server;
	GPid pid;
	char *redis_uri;
	char *pgsql_connect;
	/* next fresh store (Redis database number, PostgreSQL database) */
	unsigned int next_store;
};

struct pp_child_creds {
	gboolean drop;
	uid_t uid;
	gid_t gid;
	const char *user;
	int deathsig;
};

static PpBackend *pp_shared_backends[2];

static void pp_backends_child_setup(gpointer user_data)
{
	const struct pp_child_creds *creds = user_data;

	if (creds->drop) {
		if (setgid(creds->gid) < 0 ||
		    initgroups(creds->user, creds->gid) < 0 ||
		    setuid(creds->uid) < 0)
			_exit(126);
	}
	/* after the uid change, which would clear it */
	(void)prctl(PR_SET_PDEATHSIG, creds->deathsig);
}

static void pp_backends_creds(PpBackendKind kind, struct pp_child_creds *c)
{
	struct passwd *pw;

	memset(c, 0, sizeof(*c));
	if (kind == PP_BACKEND_REDIS) {
		c->deathsig = SIGTERM;
		return;
	}
	/* PostgreSQL's immediate shutdown */
	c->deathsig = SIGQUIT;
	pw = getpwnam(PP_PG_USER);
	if (pw == NULL)
		g_error("pp-backends: system user %s does not exist "
			"(install postgresql: scripts/install-deps)",
			PP_PG_USER);
	c->drop = TRUE;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	c->user = PP_PG_USER;
}

/* Runs a command (as the backend's user for initdb); returns its exit
   status, stdout and stderr (g_free). */
static int pp_backends_run(PpBackendKind kind, gboolean as_server_user,
			   const char *const *argv, const char *stdin_data,
			   char **out_r, char **err_r)
{
	struct pp_child_creds creds;
	GSubprocessLauncher *launcher;
	GSubprocess *proc;
	GBytes *in, *out = NULL, *err = NULL;
	GError *error = NULL;
	int status;

	pp_backends_creds(kind, &creds);
	if (!as_server_user)
		creds.drop = FALSE;
	creds.deathsig = SIGTERM;
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
					     G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					     G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_subprocess_launcher_set_child_setup(launcher,
		pp_backends_child_setup, &creds, NULL);
	proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
	g_object_unref(launcher);
	if (proc == NULL)
		g_error("pp-backends: %s: %s", argv[0], error->message);
	in = g_bytes_new(stdin_data != NULL ? stdin_data : "",
			 stdin_data != NULL ? strlen(stdin_data) : 0);
	if (!g_subprocess_communicate(proc, in, NULL, &out, &err, &error))
		g_error("pp-backends: %s: %s", argv[0], error->message);
	status = g_subprocess_get_if_exited(proc) ?
		g_subprocess_get_exit_status(proc) :
		128 + g_subprocess_get_term_sig(proc);
	/* g_strndup(NULL, 0) of empty output would be NULL */
	*out_r = g_strdup_printf("%.*s", (int)g_bytes_get_size(out),
				 (const char *)g_bytes_get_data(out, NULL));
	*err_r = g_strdup_printf("%.*s", (int)g_bytes_get_size(err),
				 (const char *)g_bytes_get_data(err, NULL));
	g_bytes_unref(in);
	g_bytes_unref(out);
	g_bytes_unref(err);
	g_object_unref(proc);
	return status;
}

static char *pp_backend_log(PpBackend *b)
{
	char *path = b->kind == PP_BACKEND_REDIS ?
		g_build_filename(b->dir, "redis.log", NULL) :
		g_build_filename(b->pg_dir, "postgres.log", NULL);
	char *log = NULL;

	if (!g_file_get_contents(path, &log, NULL, NULL))
		log = g_strdup("(no log)");
	g_free(path);
	return log;
}

static gboolean pp_backend_running(PpBackend *b)
{
	return b->server != NULL &&
		g_subprocess_get_identifier(b->server) != NULL;
}

static gboolean pp_backend_wait_exit(PpBackend *b, gint64 timeout_usec)
{
	gint64 end = g_get_monotonic_time() + timeout_usec;

	while (pp_backend_running(b)) {
		if (g_get_monotonic_time() > end)
			return FALSE;
		g_usleep(20 * 1000);
	}
	return TRUE;
}

/* TRUE when the server answers a trivial request. */
static gboolean pp_backend_probe(PpBackend *b)
{
	char *port = g_strdup_printf("%u", b->port);
	char *out = NULL, *err = NULL;
	gboolean ok;
	int ret;

	if (b->kind == PP_BACKEND_REDIS) {
		const char *const argv[] = {
			"redis-cli", "-h", "127.0.0.1", "-p", port, "ping",
			NULL
		};
		ret = pp_backends_run(b->kind, FALSE, argv, NULL, &out, &err);
		ok = ret == 0 && g_str_has_prefix(out, "PONG");
	} else {
		const char *const argv[] = {
			PP_PG_BINDIR "/psql", "-X", "-q", "-At",
			"-h", "127.0.0.1", "-p", port, "-U", PP_PG_USER,
			"-d", "postgres", "-c", "SELECT 1", NULL
		};
		ret = pp_backends_run(b->kind, FALSE, argv, NULL, &out, &err);
		ok = ret == 0 && g_str_has_prefix(out, "1");
	}
	g_free(out);
	g_free(err);
	g_free(port);
	return ok;
}

/* The server's command line (g_strfreev). */
static char **pp_backend_argv(PpBackend *b)
{
	GPtrArray *argv = g_ptr_array_new();

	if (b->kind == PP_BACKEND_REDIS) {
		g_ptr_array_add(argv, g_strdup("redis-server"));
		g_ptr_array_add(argv, g_strdup("--port"));
		g_ptr_array_add(argv, g_strdup_printf("%u", b->port));
		g_ptr_array_add(argv, g_strdup("--bind"));
		g_ptr_array_add(argv, g_strdup("127.0.0.1"));
		/* no RDB snapshots, no append-only file */
		g_ptr_array_add(argv, g_strdup("--save"));
		g_ptr_array_add(argv, g_strdup(""));
		g_ptr_array_add(argv, g_strdup("--appendonly"));
		g_ptr_array_add(argv, g_strdup("no"));
		g_ptr_array_add(argv, g_strdup("--dir"));
		g_ptr_array_add(argv, g_build_filename(b->dir, "db", NULL));
		/* one database number per instance with a fresh store */
		g_ptr_array_add(argv, g_strdup("--databases"));
		g_ptr_array_add(argv, g_strdup_printf("%u",
						      PP_REDIS_DATABASES));
		g_ptr_array_add(argv, g_strdup("--daemonize"));
		g_ptr_array_add(argv, g_strdup("no"));
	} else {
		g_ptr_array_add(argv, g_strdup(PP_PG_BINDIR "/postgres"));
		g_ptr_array_add(argv, g_strdup("-D"));
		g_ptr_array_add(argv, g_build_filename(b->pg_dir, "data",
						       NULL));
		g_ptr_array_add(argv, g_strdup("-p"));
		g_ptr_array_add(argv, g_strdup_printf("%u", b->port));
		g_ptr_array_add(argv, g_strdup("-k"));
		g_ptr_array_add(argv, g_strdup(b->pg_dir));
		g_ptr_array_add(argv, g_strdup("-c"));
		g_ptr_array_add(argv, g_strdup("listen_addresses=127.0.0.1"));
		/* throwaway data: no durability */
		g_ptr_array_add(argv, g_strdup("-c"));
		g_ptr_array_add(argv, g_strdup("fsync=off"));
		g_ptr_array_add(argv, g_strdup("-c"));
		g_ptr_array_add(argv, g_strdup("synchronous_commit=off"));
		g_ptr_array_add(argv, g_strdup("-c"));
		g_ptr_array_add(argv, g_strdup("full_page_writes=off"));
		g_ptr_array_add(argv, g_strdup("-c"));
		g_ptr_array_add(argv, g_strdup("max_connections=300"));
	}
	g_ptr_array_add(argv, NULL);
	return (char **)g_ptr_array_free(argv, FALSE);
}

static gboolean pp_backend_spawn(PpBackend *b, GError **error)
{
	struct pp_child_creds creds;
	GSubprocessLauncher *launcher;
	char **argv = pp_backend_argv(b);
	char *log_path;
	gint64 end;

	pp_backends_creds(b->kind, &creds);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
	g_subprocess_launcher_set_child_setup(launcher,
		pp_backends_child_setup, &creds, NULL);
	log_path = b->kind == PP_BACKEND_REDIS ?
		g_build_filename(b->dir, "redis.log", NULL) :
		g_build_filename(b->pg_dir, "postgres.log", NULL);
	g_subprocess_launcher_set_stdout_file_path(launcher, log_path);
	g_subprocess_launcher_set_stderr_file_path(launcher, log_path);
	b->server = g_subprocess_launcher_spawnv(launcher,
		(const char *const *)argv, error);
	g_object_unref(launcher);
	g_strfreev(argv);
	g_free(log_path);
	if (b->server == NULL)
		return FALSE;
	b->pid = (GPid)atoi(g_subprocess_get_identifier(b->server));

	end = g_get_monotonic_time() + PP_BACKEND_START_TIMEOUT_USEC;
	while (g_get_monotonic_time() < end) {
		if (!pp_backend_running(b)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "the server exited during startup");
			g_clear_object(&b->server);
			b->pid = 0;
			return FALSE;
		}
		if (pp_backend_probe(b))
			return TRUE;
		g_usleep(50 * 1000);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
		    "the server did not answer on port %u", b->port);
	pp_backend_stop_server(b);
	return FALSE;
}

static void pp_backend_initdb(PpBackend *b)
{
	char *data_dir = g_build_filename(b->pg_dir, "data", NULL);
	const char *const argv[] = {
		PP_PG_BINDIR "/initdb", "-D", data_dir, "-A", "trust",
		"-U", PP_PG_USER, "-E", "UTF8", "--locale=C", "--no-sync",
		NULL
	};
	char *out, *err;
	int ret;

	ret = pp_backends_run(b->kind, TRUE, argv, NULL, &out, &err);
	if (ret != 0)
		g_error("pp-backends: initdb -D %s: exit %d: %s%s", data_dir,
			ret, out, err);
	g_free(out);
	g_free(err);
	g_free(data_dir);
}

static char *pp_backend_psql_db(PpBackend *b, const char *db,
				const char *sql)
{
	char *port = g_strdup_printf("%u", b->port);
	const char *const argv[] = {
		PP_PG_BINDIR "/psql", "-X", "-q", "-At", "-v",
		"ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", port,
		"-U", PP_PG_USER, "-d", db, NULL
	};
	char *out, *err;
	int ret;

	g_assert(b->kind == PP_BACKEND_PGSQL);
	ret = pp_backends_run(b->kind, FALSE, argv, sql, &out, &err);
	if (ret != 0)
		g_error("pp-backends: psql -d %s: exit %d: %s\n(SQL: %s)", db,
			ret, err, sql);
	g_free(err);
	g_free(port);
	return g_strchomp(out);
}

/* Creates a database with the shipped schema. */
static void pp_backend_create_db(PpBackend *b, const char *db)
{
	char *path = g_build_filename(pp_top_srcdir(), "conf.d",
				      "pop3-policy-pgsql.sql", NULL);
	char *schema, *sql, *out;
	GError *error = NULL;

	if (!g_file_get_contents(path, &schema, NULL, &error))
		g_error("pp-backends: %s", error->message);
	sql = g_strdup_printf("CREATE DATABASE %s", db);
	out = pp_backend_psql_db(b, "postgres", sql);
	g_free(out);
	out = pp_backend_psql_db(b, db, schema);
	g_free(out);
	g_free(sql);
	g_free(schema);
	g_free(path);
}

static char *pp_backend_connect_string(PpBackend *b, const char *db)
{
	return g_strdup_printf("host=127.0.0.1 port=%u dbname=%s user=%s",
			       b->port, db, PP_PG_USER);
}

PpBackend *pp_backend_start(PpBackendKind kind, GError **error)
{
	PpBackend *b = g_new0(PpBackend, 1);
	char *tmpl = g_build_filename(pp_tmp_root(),
				      kind == PP_BACKEND_REDIS ?
				      "pp-redis-XXXXXX" : "pp-pgsql-XXXXXX",
				      NULL);
	struct pp_child_creds creds;
	unsigned int attempt;

	b->kind = kind;
	b->next_store = 1;
	b->dir = g_mkdtemp_full(tmpl, 0755);
	if (b->dir == NULL)
		g_error("pp-backends: mkdtemp %s: %s", tmpl, g_strerror(errno));
	/* the postgres user must traverse it */
	if (chmod(b->dir, 0755) < 0)
		g_error("pp-backends: chmod %s: %s", b->dir, g_strerror(errno));
	if (kind == PP_BACKEND_REDIS) {
		char *db_dir = g_build_filename(b->dir, "db", NULL);

		if (g_mkdir(db_dir, 0700) < 0)
			g_error("pp-backends: mkdir %s: %s", db_dir,
				g_strerror(errno));
		g_free(db_dir);
	} else {
		pp_backends_creds(kind, &creds);
		b->pg_dir = g_build_filename(b->dir, "pg", NULL);
		if (g_mkdir(b->pg_dir, 0700) < 0 ||
		    chown(b->pg_dir, creds.uid, creds.gid) < 0)
			g_error("pp-backends: mkdir %s: %s", b->pg_dir,
				g_strerror(errno));
		pp_backend_initdb(b);
	}

	for (attempt = 0; attempt < PP_BACKEND_START_ATTEMPTS; attempt++) {
		GError *spawn_error = NULL;
		char *log;

		b->port = pp_free_port();
		if (pp_backend_spawn(b, &spawn_error))
			break;
		log = pp_backend_log(b);
		if (attempt + 1 < PP_BACKEND_START_ATTEMPTS &&
		    strstr(log, "already in use") != NULL) {
			/* the port was taken between our probe and the
			   server's bind */
			g_free(log);
			g_error_free(spawn_error);
			continue;
		}
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "pp_backend_start (%s): %s\n--- log ---\n%s",
			    b->dir, spawn_error->message, log);
		g_free(log);
		g_error_free(spawn_error);
		pp_backend_free(b);
		return NULL;
	}

	if (kind == PP_BACKEND_REDIS) {
		b->redis_uri = g_strdup_printf("redis:host=127.0.0.1:port=%u",
					       b->port);
	} else {
		pp_backend_create_db(b, PP_PG_SHARED_DB);
		b->pgsql_connect = pp_backend_connect_string(b,
							     PP_PG_SHARED_DB);
	}
	return b;
}

void pp_backend_stop_server(PpBackend *b)
{
	if (!pp_backend_running(b)) {
		g_clear_object(&b->server);
		b->pid = 0;
		return;
	}
	/* SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for the
	   dict servers' connections to end) */
	kill(b->pid, b->kind == PP_BACKEND_PGSQL ? SIGINT : SIGTERM);
	if (!pp_backend_wait_exit(b, PP_BACKEND_STOP_TIMEOUT_USEC)) {
		g_printerr("# pp-backends: server %d ignored the shutdown "
			   "signal, sending SIGKILL\n", (int)b->pid);
		kill(b->pid, SIGKILL);
		(void)pp_backend_wait_exit(b, PP_BACKEND_STOP_TIMEOUT_USEC);
	}
	g_clear_object(&b->server);
	b->pid = 0;
}

gboolean pp_backend_start_server(PpBackend *b, GError **error)
{
	GError *spawn_error = NULL;
	char *log;

	if (pp_backend_running(b))
		return TRUE;
	g_clear_object(&b->server);
	if (pp_backend_spawn(b, &spawn_error))
		return TRUE;
	log = pp_backend_log(b);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
		    "pp_backend_start_server (%s): %s\n--- log ---\n%s",
		    b->dir, spawn_error->message, log);
	g_free(log);
	g_error_free(spawn_error);
	return FALSE;
}

void pp_backend_free(PpBackend *b)
{
	unsigned int i;

	if (b == NULL)
		return;
	pp_backend_stop_server(b);
	for (i = 0; i < G_N_ELEMENTS(pp_shared_backends); i++) {
		if (pp_shared_backends[i] == b)
			pp_shared_backends[i] = NULL;
	}
	if (g_getenv("PP_KEEP_INSTANCES") != NULL)
		g_printerr("# pp-backends: keeping %s\n", b->dir);
	else {
		const char *const argv[] = {
			"rm", "-rf", "--one-file-system", b->dir, NULL
		};
		char *out, *err;

		if (pp_backends_run(PP_BACKEND_REDIS, FALSE, argv, NULL,
				    &out, &err) != 0)
			g_printerr("# pp-backends: rm -rf %s: %s\n", b->dir,
				   err);
		g_free(out);
		g_free(err);
	}
	g_free(b->dir);
	g_free(b->pg_dir);
	g_free(b->redis_uri);
	g_free(b->pgsql_connect);
	g_free(b);
}

PpBackendKind pp_backend_kind(PpBackend *b)
{
	return b->kind;
}

guint16 pp_backend_port(PpBackend *b)
{
	return b->port;
}

GPid pp_backend_pid(PpBackend *b)
{
	return pp_backend_running(b) ? b->pid : 0;
}

const char *pp_backend_redis_uri(PpBackend *b)
{
	return b->redis_uri;
}

const char *pp_backend_pgsql_connect(PpBackend *b)
{
	return b->pgsql_connect;
}

char *pp_backend_psql(PpBackend *b, const char *sql)
{
	return pp_backend_psql_db(b, PP_PG_SHARED_DB, sql);
}

char *pp_backend_redis_cli(PpBackend *b, const char *const *argv)
{
	GPtrArray *full = g_ptr_array_new_with_free_func(g_free);
	char *out, *err;
	unsigned int i;
	int ret;

	g_assert(b->kind == PP_BACKEND_REDIS);
	g_ptr_array_add(full, g_strdup("redis-cli"));
	g_ptr_array_add(full, g_strdup("-h"));
	g_ptr_array_add(full, g_strdup("127.0.0.1"));
	g_ptr_array_add(full, g_strdup("-p"));
	g_ptr_array_add(full, g_strdup_printf("%u", b->port));
	for (i = 0; argv[i] != NULL; i++)
		g_ptr_array_add(full, g_strdup(argv[i]));
	g_ptr_array_add(full, NULL);
	ret = pp_backends_run(b->kind, FALSE,
			      (const char *const *)full->pdata, NULL,
			      &out, &err);
	if (ret != 0)
		g_error("pp-backends: redis-cli %s: exit %d: %s", argv[0],
			ret, err);
	g_ptr_array_unref(full);
	g_free(err);
	return g_strchomp(out);
}

PpStoreKind pp_backends_effective_store(PpStoreKind requested)
{
	const char *name = g_getenv("PP_STORE_BACKEND");

	if (requested != PP_STORE_SQLITE || name == NULL || name[0] == '\0' ||
	    strcmp(name, "sqlite") == 0)
		return requested;
	if (strcmp(name, "pgsql") == 0)
		return PP_STORE_PGSQL;
	if (strcmp(name, "redis") == 0)
		return PP_STORE_REDIS;
	g_error("pp-backends: PP_STORE_BACKEND=%s: unknown store backend "
		"(sqlite, pgsql or redis)", name);
}

static void pp_backends_free_shared(void)
{
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(pp_shared_backends); i++)
		pp_backend_free(pp_shared_backends[i]);
}

/* The program's shared server of the kind, started on first use and
   stopped at exit (or by its parent-death signal on an abort). */
static PpBackend *pp_backends_shared(PpBackendKind kind)
{
	static gboolean atexit_done = FALSE;
	GError *error = NULL;

	if (pp_shared_backends[kind] != NULL)
		return pp_shared_backends[kind];
	pp_shared_backends[kind] = pp_backend_start(kind, &error);
	if (pp_shared_backends[kind] == NULL)
		g_error("%s", error->message);
	if (!atexit_done) {
		atexit(pp_backends_free_shared);
		atexit_done = TRUE;
	}
	return pp_shared_backends[kind];
}

/* The shipped dict-sql map with its connect line replaced. */
static char *pp_backends_pgsql_map(const char *connect)
{
	char *path = g_build_filename(pp_top_srcdir(), "conf.d",
				      "pop3-policy-dict-sql.conf.ext", NULL);
	char *map, **lines;
	GString *out = g_string_new(NULL);
	GError *error = NULL;
	gboolean connect_seen = FALSE;
	unsigned int i;

	if (!g_file_get_contents(path, &map, NULL, &error))
		g_error("pp-backends: %s", error->message);
	lines = g_strsplit(map, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		const char *p = lines[i];

		while (*p == ' ' || *p == '\t')
			p++;
		if (!connect_seen && g_str_has_prefix(p, "connect") &&
		    strchr(p, '=') != NULL) {
			g_string_append_printf(out, "connect = %s\n", connect);
			connect_seen = TRUE;
		} else {
			g_string_append_printf(out, "%s\n", lines[i]);
		}
	}
	if (!connect_seen)
		g_error("pp-backends: %s has no connect line", path);
	g_strfreev(lines);
	g_free(map);
	g_free(path);
	return g_string_free(out, FALSE);
}

char *pp_backends_instance_store(PpStoreKind kind, PpBackend *backend,
				 const char *inst_dir, GString *conf)
{
	PpBackend *b = backend;

	if (kind == PP_STORE_REDIS) {
		if (b == NULL) {
			b = pp_backends_shared(PP_BACKEND_REDIS);
			if (b->next_store >= PP_REDIS_DATABASES)
				g_error("pp-backends: more than %u Redis "
					"stores in one test program",
					PP_REDIS_DATABASES - 1);
			return g_strdup_printf("%s:db=%u", b->redis_uri,
					       b->next_store++);
		}
		if (b->kind != PP_BACKEND_REDIS)
			g_error("pp-backends: PP_STORE_REDIS with a "
				"PostgreSQL backend");
		return g_strdup(b->redis_uri);
	} else if (kind == PP_STORE_PGSQL) {
		char *connect, *map, *store_dir, *map_path;
		GError *error = NULL;

		if (b == NULL) {
			char *db;

			b = pp_backends_shared(PP_BACKEND_PGSQL);
			db = g_strdup_printf("pp_store_%u", b->next_store++);
			pp_backend_create_db(b, db);
			connect = pp_backend_connect_string(b, db);
			g_free(db);
		} else {
			if (b->kind != PP_BACKEND_PGSQL)
				g_error("pp-backends: PP_STORE_PGSQL with a "
					"Redis backend");
			connect = g_strdup(b->pgsql_connect);
		}
		store_dir = g_build_filename(inst_dir, "store", NULL);
		if (g_mkdir_with_parents(store_dir, 0755) < 0)
			g_error("pp-backends: mkdir %s: %s", store_dir,
				g_strerror(errno));
		map_path = g_build_filename(store_dir,
					    "pop3-policy-dict.conf.ext", NULL);
		map = pp_backends_pgsql_map(connect);
		if (!g_file_set_contents(map_path, map, -1, &error))
			g_error("pp-backends: %s", error->message);
		if (chmod(map_path, 0644) < 0)
			g_error("pp-backends: chmod %s: %s", map_path,
				g_strerror(errno));
		g_string_append_printf(conf,
			"dict {\n  pop3policy = pgsql:%s\n}\n", map_path);
		g_free(map);
		g_free(map_path);
		g_free(store_dir);
		g_free(connect);
		return g_strdup("proxy::pop3policy");
	}
	g_error("pp-backends: store kind %d is not a backend", (int)kind);
}
