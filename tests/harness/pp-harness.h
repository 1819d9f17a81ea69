#ifndef PP_HARNESS_H
#define PP_HARNESS_H

/* Integration harness: throwaway Dovecot instances (real dovecot-core,
   dovecot-pop3d, the dict server on SQLite) on 127.0.0.1 inside a private
   mount namespace that bind-mounts the build's modules over Dovecot's
   compiled-in module directories, and a POP3 client over TCP.

   Everything an instance creates lives in one temporary directory, removed
   by pp_instance_stop(). Every process is started with a parent-death
   signal, so that a test that aborts leaves no Dovecot running; every
   instance directory is created under $PP_TEST_TMPDIR (default: the system
   temporary directory), which the runner (tests/run-one) removes after each
   test program, including what an aborted test left behind.

   GLib is used here and in the test programs only, never inside a Dovecot
   process. */

#include <glib.h>

typedef struct _PpInstance PpInstance;
typedef struct _PpPop3 PpPop3;
/* A Redis or PostgreSQL server started by the tests (pp-backends.h). */
typedef struct _PpBackend PpBackend;

typedef enum {
	/* proxy::pop3policy to the instance's dict server on SQLite, with the
	   schema and dict-sql map shipped in conf.d/ (the default) */
	PP_STORE_SQLITE = 0,
	/* file:<instance dir>/store.dict */
	PP_STORE_FILE,
	/* pop3_policy_dict not set */
	PP_STORE_NONE,
	/* redis:host=127.0.0.1:port=N (opts.backend, or a fresh database
	   on a Redis server shared by the test program) */
	PP_STORE_REDIS,
	/* proxy::pop3policy to the instance's dict server on PostgreSQL
	   (pgsql: with the shipped map and conf.d/pop3-policy-pgsql.sql;
	   opts.backend, or a fresh database on a cluster shared by the test
	   program). With PP_STORE_BACKEND=pgsql|redis in the environment,
	   PP_STORE_SQLITE means that backend (pp-backends.h). */
	PP_STORE_PGSQL,
} PpStoreKind;

/* Who may connect to the dict server's socket (PP_STORE_SQLITE and
   PP_STORE_PGSQL), i.e. read and write every user's records. */
typedef enum {
	/* PP_STORE_SOCKET_TRUSTED with auth_chain, whose userdb hands the
	   pop3 process its records; PP_STORE_SOCKET_MAIL without it, where
	   the pop3 process reads the store itself */
	PP_STORE_SOCKET_AUTO = 0,
	/* the auth process's user (dovecot) and root: mode 0600, as
	   conf.d/90-pop3-policy.conf ships it */
	PP_STORE_SOCKET_TRUSTED,
	/* and the mail user's group (mode 0660): the setup without the
	   pop3_policy userdb, and sessions that read what was not handed
	   over */
	PP_STORE_SOCKET_MAIL,
} PpStoreSocket;

/* A user of the instance's passwd-file (see pp_instance_add_user()). */
typedef struct {
	const char *name, *password, *userdb_fields;
} PpUser;

typedef struct {
	/* Load the package: the mail plugin in protocol pop3 and doveadm, the
	   auth module and the doveadm plugin. FALSE gives a vanilla Dovecot. */
	gboolean with_package;
	PpStoreKind store;
	/* Extra lines inside plugin { } (e.g. "pop3_policy = expire=0"). */
	const char *plugin_settings;
	/* Replaces the default passdb (passwd-file with PLAIN passwords) when
	   not NULL: the complete passdb { } block(s). Every "%{passwd_file}"
	   in it is replaced with the instance's passwd-file path (the one
	   pp_instance_add_user() writes and pp_instance_passwd_file()
	   returns). In passdb_conf, extra_conf and plugin_settings every
	   "%{store_uri}" is replaced with the instance's dict URI
	   (pp_instance_store_uri()), e.g. for a passdb's dict= argument, so
	   that the configuration follows PP_STORE_BACKEND. */
	const char *passdb_conf;
	/* Appended verbatim to dovecot.conf (protocol blocks, metric {} ...). */
	const char *extra_conf;
	/* mail_location; default "maildir:~/Maildir" */
	const char *mail_location;
	/* Run every Dovecot process (and doveadm) under libfaketime, with the
	   offset read from a file changed by pp_instance_set_time_offset(). */
	gboolean faketime;
	/* mail_debug = yes and auth_debug = yes */
	gboolean debug;
	/* The server of PP_STORE_REDIS/PP_STORE_PGSQL: instances given the
	   same backend share one store. NULL: a fresh store of its own. */
	PpBackend *backend;
	/* Also run IMAP (dovecot-imapd): protocols = pop3 imap, with an
	   imap listener on 127.0.0.1:pp_instance_imap_port(). */
	gboolean with_imap;
	/* With the package: the auth chain that
	   conf.d/auth-pop3-policy.conf.ext ships. With apop_key_file, the
	   APOP passdb comes first (dict=apop_dict, default the store). Then
	   the site's passdb: the default one, which then continues on
	   success (and skips logins the APOP passdb authenticated), or
	   passdb_conf, which must say so itself. Then the login check
	   passdb (mode=login). The
	   default userdb continues on success to the pop3_policy userdb.
	   auth_chain_args go into the args of the login check and of that
	   userdb, e.g. "pop3_policy=login_delay=1h". */
	gboolean auth_chain;
	const char *auth_chain_args;
	const char *apop_key_file;
	const char *apop_dict;
	PpStoreSocket store_socket;
	/* Users written into the passwd-file before Dovecot starts, ended by
	   an entry with name NULL. Dovecot's passwd-file looks at the file
	   at most once a second (db-passwd-file.c), so a user added after a
	   login may stay unknown for up to a second; users declared here are
	   known from the first login on. */
	const PpUser *users;
} PpInstanceOptions;

/* Writes the config, creates the store, starts `dovecot -F` and waits until
   it accepts POP3 connections. Returns NULL with error set on failure (the
   log is included in the message). */
PpInstance *pp_instance_start(const PpInstanceOptions *opts, GError **error);
/* Stops the instance by the master's pid, waits for it (and kills it if it
   does not go), and removes its directory (kept when the environment has
   PP_KEEP_INSTANCES set). NULL is ignored. */
void pp_instance_stop(PpInstance *inst);
/* Stops the Dovecot processes and starts them again with the same
   directory, port, users, mail and store (the config file is re-read, so a
   test may have edited it). Returns FALSE with error set on failure. */
gboolean pp_instance_restart(PpInstance *inst, GError **error);

guint16 pp_instance_port(PpInstance *inst);
/* The IMAP port of an instance started with opts.with_imap, else 0. */
guint16 pp_instance_imap_port(PpInstance *inst);
/* The instance's directory, base_dir and passwd-file. */
const char *pp_instance_dir(PpInstance *inst);
const char *pp_instance_base_dir(PpInstance *inst);
const char *pp_instance_passwd_file(PpInstance *inst);
/* The generated dovecot.conf and the log file (log_path). */
const char *pp_instance_conf_path(PpInstance *inst);
const char *pp_instance_log_path(PpInstance *inst);
/* The master's pid (for tests that kill processes). */
GPid pp_instance_pid(PpInstance *inst);
/* The instance's mount namespace ("mnt:[4026532...]", the target of
   /proc/<pid>/ns/mnt): every Dovecot process of the instance runs in it.
   The kernel may reuse that number for another namespace once the
   instance is gone: identify leftovers by namespace AND by the instance
   directory's name, which every Dovecot process of the instance carries in
   its command line or process title (instance_name). */
const char *pp_instance_mount_ns(PpInstance *inst);
/* The dict URI the instance's package uses ("proxy::pop3policy", ...). */
const char *pp_instance_store_uri(PpInstance *inst);
/* Returns the whole log so far (g_free it). */
char *pp_instance_read_log(PpInstance *inst);
/* Waits up to timeout_msecs for text to appear in the log, which Dovecot's
   log process writes a little after the client was answered. Returns TRUE
   if it appeared. */
gboolean pp_instance_wait_log(PpInstance *inst, const char *text,
			      unsigned int timeout_msecs);
/* Counts the log lines that contain text, of process (a part of the log
   prefix such as " dict(", or NULL for any). */
unsigned int pp_instance_log_count(PpInstance *inst, const char *process,
				   const char *text);
/* How many store lookups of key the log shows (lib-dict's debug lines
   "Looking up '<key>'" and "Looking up (async) '<key>'", so the instance
   needs debug), by the processes whose log lines contain process (e.g.
   " auth: "), or by any with NULL. */
unsigned int pp_instance_log_lookups(PpInstance *inst, const char *process,
				     const char *key);

/* Waits until every mail process the log shows a login of ("Login: ...
   mpid=N") has exited: the work a session does after its client was
   answered (retention removals in deinit) is over. Fails the test after
   30 s. */
void pp_instance_wait_sessions_over(PpInstance *inst);

/* Adds a user with a plaintext password and optional userdb extra fields
   ("pop3_policy=expire=0" ...; space-separated, no spaces inside values).
   Works before and after start. Creates the user's mail home. */
void pp_instance_add_user(PpInstance *inst, const char *user,
			  const char *password, const char *userdb_fields);
/* Delivers a message (RFC 5322 text, LF or CRLF) to the user's INBOX with
   `doveadm save`. Aborts the test on failure. */
void pp_instance_deliver(PpInstance *inst, const char *user,
			 const char *message);
/* Returns the user's home directory. */
const char *pp_instance_home(PpInstance *inst, const char *user);

/* Runs `doveadm -c <conf> ARGV...` in the instance's mount namespace setup
   (the build's modules loaded, under faketime if enabled), feeding
   stdin_data (may be NULL). Returns the exit status; stdout/stderr are
   returned if the pointers are not NULL (g_free them). */
int pp_instance_doveadm(PpInstance *inst, const char *const *argv,
			const char *stdin_data, char **stdout_r,
			char **stderr_r);
/* Runs any command with the same environment (namespace, faketime),
   e.g. a test program of the store against the instance's dict server. */
int pp_instance_run(PpInstance *inst, const char *const *argv,
		    const char *stdin_data, char **stdout_r, char **stderr_r);

/* Writes a value as is under key for user into the instance's store
   (tests/store-check --set-raw: lib-dict with an asynchronous commit, which
   works on every backend; doveadm dict set crashes on redis: in Dovecot
   2.3.19). Aborts the test on failure. */
void pp_instance_store_set_raw(PpInstance *inst, const char *user,
			       const char *key, const char *value);

/* Sets the faketime offset of the instance's processes, e.g. "+15d" or
   "+0" (libfaketime's relative syntax). Requires opts.faketime. */
void pp_instance_set_time_offset(PpInstance *inst, const char *offset);

/* The build directory (PP_TOP_BUILDDIR) and the source directory
   (PP_TOP_SRCDIR). */
const char *pp_top_builddir(void);
const char *pp_top_srcdir(void);
/* TRUE if the command line of the process pid contains tag. */
gboolean pp_process_cmdline_has(GPid pid, const char *tag);

/* Kill points of a test build (configure --enable-test-hooks, see
   src/lib/pop3-policy-test-hook.h). Fails the test, naming the configure
   option, when the build's modules lack them: a kill test on a release
   build must not pass or skip. */
void pp_require_test_hooks(void);
/* Arms the kill point (POP3_POLICY_TEST_KILL_AT=point, e.g.
   "move-copied:200") for the instance's Dovecot services, or disarms it
   with NULL: rewrites import_environment in the config and restarts the
   instance. Processes started directly (doveadm through pp_instance_run)
   take the variable from their own environment. */
void pp_instance_set_kill_point(PpInstance *inst, const char *point);

/* The per-run root under which every instance (and backend) directory is
   created: PP_TEST_TMPDIR, else the system's temporary directory, made if
   missing, so that the runner can remove what an aborted test left
   behind. */
const char *pp_tmp_root(void);
/* Returns a TCP port on 127.0.0.1 that was free a moment ago (bound to port
   0 and released); a caller that then fails to bind it tries again. */
guint16 pp_free_port(void);

/* POP3 over TCP. */
PpPop3 *pp_pop3_connect(guint16 port, GError **error);
/* The greeting line, without CRLF. */
const char *pp_pop3_greeting(PpPop3 *pop3);
/* Sends a command and returns its status line without CRLF (g_free):
   "" when the server closed the connection, "<error: ...>" on an I/O error
   (30 s timeout). */
char *pp_pop3_cmd(PpPop3 *pop3, const char *cmd);
/* Sends a command whose +OK answer is multi-line; returns the status line
   and the lines up to and excluding the final ".", each without CRLF and
   dot-unstuffed, joined with "\n" (g_free). On -ERR returns the line only.
   A connection lost before the final "." ends the text with a line
   "<error: ...>". */
char *pp_pop3_cmd_multi(PpPop3 *pop3, const char *cmd);
/* USER/PASS; returns TRUE if both got +OK. */
gboolean pp_pop3_login(PpPop3 *pop3, const char *user, const char *password);
/* Closes without QUIT (a client drop). */
void pp_pop3_close(PpPop3 *pop3);

#endif
