#ifndef PP_BACKENDS_H
#define PP_BACKENDS_H

/* Store servers for the integration suite: a private redis-server or a
   private PostgreSQL cluster (Debian's packages), started by the tests on
   127.0.0.1 on a free port, each in its own directory under the run root
   ($PP_TEST_TMPDIR), without persistence worth keeping, and stopped by pid.
   Like Dovecot in pp-harness.c, every server runs with a parent-death
   signal, so a test that aborts leaves none behind.

   A backend is given to instances through PpInstanceOptions.backend with
   store PP_STORE_REDIS or PP_STORE_PGSQL: instances given the same backend
   share one store (Redis database 0; the PostgreSQL database "pop3policy",
   created with conf.d/pop3-policy-pgsql.sql). An instance of those kinds
   without a backend gets a fresh store (a Redis database number, a
   PostgreSQL database) on a server shared by the whole test program.

   The environment variable PP_STORE_BACKEND=sqlite|pgsql|redis makes every
   instance that asks for PP_STORE_SQLITE (the default store) use that
   backend instead, so that the whole integration suite can run against
   each. */

#include "pp-harness.h"

typedef enum {
	PP_BACKEND_REDIS,
	PP_BACKEND_PGSQL,
} PpBackendKind;

/* Starts a server of the kind in a new directory. Returns NULL with error
   set (including the server's log) on failure. */
PpBackend *pp_backend_start(PpBackendKind kind, GError **error);
/* Stops the server (if running) by its pid and removes its directory (kept
   when PP_KEEP_INSTANCES is set). NULL is ignored. */
void pp_backend_free(PpBackend *backend);

/* Stops the server by its pid (SIGTERM for Redis, fast shutdown for
   PostgreSQL; SIGKILL if it does not go) and waits for it, keeping its
   directory, data and port: a fault in the middle of a test. */
void pp_backend_stop_server(PpBackend *backend);
/* Starts a stopped server again with the same directory, data and port.
   Returns FALSE with error set on failure. */
gboolean pp_backend_start_server(PpBackend *backend, GError **error);

PpBackendKind pp_backend_kind(PpBackend *backend);
guint16 pp_backend_port(PpBackend *backend);
/* The server's pid, or 0 while it is stopped. */
GPid pp_backend_pid(PpBackend *backend);
/* The dict URI of the shared store for Redis
   ("redis:host=127.0.0.1:port=N"); NULL for PostgreSQL, whose store is
   reached through the dict server (proxy::pop3policy). */
const char *pp_backend_redis_uri(PpBackend *backend);
/* The dict-sql connect string of the shared database (PostgreSQL). */
const char *pp_backend_pgsql_connect(PpBackend *backend);

/* Runs SQL with psql against the shared database (PostgreSQL only) and
   returns its unaligned, tuples-only output, trailing newline removed
   (g_free). Aborts the test on a psql failure. */
char *pp_backend_psql(PpBackend *backend, const char *sql);
/* Runs redis-cli ARGV... against the server (Redis only) and returns its
   raw output, trailing newline removed (g_free). Aborts the test on a
   redis-cli failure. */
char *pp_backend_redis_cli(PpBackend *backend, const char *const *argv);

/* The store kind an instance asking for `requested` gets: PP_STORE_SQLITE
   becomes the backend named by PP_STORE_BACKEND, if any. Aborts the test
   on an unknown value. */
PpStoreKind pp_backends_effective_store(PpStoreKind requested);

/* Used by pp-config.c: sets up the store of an instance of kind
   PP_STORE_REDIS or PP_STORE_PGSQL (effective kind) in the instance's
   directory inst_dir on `backend` (NULL: a fresh store on the program's
   shared server), appends what dovecot.conf needs (the dict server's map
   for PostgreSQL; pp-config.c adds service dict) to conf, and returns
   the instance's dict URI (g_free). */
char *pp_backends_instance_store(PpStoreKind kind, PpBackend *backend,
				 const char *inst_dir, GString *conf);

#endif
