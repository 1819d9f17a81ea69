#ifndef PP_HELPERS_H
#define PP_HELPERS_H

/* What the test programs share on top of the instances: showing the
   instances' logs when a test fails, files, doveadm with its output in
   the test's messages, and POP3 logins. Every helper aborts the test on
   an unexpected failure (after printing the watched logs). */

#include "pp-harness.h"

/* The instances whose logs pp_dump_logs() prints: a test watches the
   ones it started and unwatches them (NULL: all) before it stops them. */
void pp_watch_instance(PpInstance *inst);
void pp_unwatch_instance(PpInstance *inst);
void pp_dump_logs(void);

/* Writes the file whole (g_file_set_contents) with mode. */
void pp_write_file(const char *path, const char *contents, int mode);
/* An APOP key file line: "<id> <64 hex digits>\n" (g_free). */
char *pp_random_key_line(const char *id);

/* pp_instance_doveadm() that shows the command, its exit status and
   output in the test's messages; *out_r and *err_r are never NULL (an
   empty output is ""; g_free them). */
int pp_doveadm(PpInstance *inst, const char *const *argv, const char *input,
	       char **out_r, char **err_r);
/* The same, failing the test unless doveadm exits 0. */
void pp_doveadm_ok(PpInstance *inst, const char *const *argv, char **out_r);

/* Waits until the wall clock is in the next second: what Dovecot stamped
   with the current second (a save date, a UIDVALIDITY) is then in the
   past, e.g. older than max_age=1s (due when saved + max_age <= now). */
void pp_wait_next_second(void);

/* Fails the test unless reply starts with prefix; frees reply. */
void pp_assert_prefix(char *reply, const char *prefix);
/* Fails the test unless the log shows text within 5 s. */
void pp_assert_log_has(PpInstance *inst, const char *text);

/* Writes a message file straight into the user's INBOX maildir
   (Maildir/<subdir>/<name>, subdir "new" or "cur"), owned by the user,
   making the maildir first: faster than `doveadm save` for hundreds. */
void pp_instance_write_mail(PpInstance *inst, const char *user,
			    const char *subdir, const char *name,
			    const char *contents);

/* pp_pop3_connect() that fails the test when it cannot connect. */
PpPop3 *pp_pop3_connect_or_die(guint16 port);
/* SASL PLAIN's initial response for user and password (base64,
   g_free). */
char *pp_sasl_plain(const char *user, const char *password);
/* The APOP digest of the greeting's challenge and secret (g_free). */
char *pp_apop_digest(PpPop3 *pop3, const char *secret);
/* One login; each returns the reply to the login (g_free) and ends a
   session that logged in with QUIT. pp_try_pass() returns USER's reply
   if it was not +OK; with session_r, a session that logged in is
   returned there instead of ended. */
char *pp_try_pass(guint16 port, const char *user, const char *password,
		  PpPop3 **session_r);
char *pp_try_apop(guint16 port, const char *user, const char *secret);
/* SASL PLAIN with an initial response. */
char *pp_try_auth_plain(guint16 port, const char *user,
			const char *password);

/* A real POP3 client's (fetchmail, mpop) working directory dir, under
   pp_tmp_root(), with the maildir out that it delivers into. */
typedef struct {
	char *dir, *out;
} PpClient;

PpClient *pp_client_new(void);
/* Removes the directory. */
void pp_client_free(PpClient *c);
/* The messages in the maildir's new/ and cur/; with text, only those
   that contain it. */
unsigned int pp_maildir_count(const char *maildir, const char *text);

/* Real POP3 clients against 127.0.0.1:port, run in c->dir with nothing
   of our environment but PATH, delivering into c->out and leaving the mail
   on the server (fetchmail: keep, uidl; mpop: keep, only_new). Each
   returns the client's exit status, and its stdout and stderr together in
   output_r if not NULL (g_free). fetchmail's auth is "password" (USER/PASS)
   or "apop" (its protocol APOP), mpop's "user" or "apop". */
int pp_client_fetchmail(PpClient *c, guint16 port, const char *auth,
			const char *user, const char *password,
			char **output_r);
int pp_client_getmail(PpClient *c, guint16 port, const char *user,
		      const char *password, gboolean apop, char **output_r);
int pp_client_mpop(PpClient *c, guint16 port, const char *auth,
		   const char *user, const char *password, char **output_r);

/* Runs a program (found in PATH) in cwd (NULL: ours) with envp (NULL:
   ours), feeding it stdin_data (may be NULL), and shows its exit status
   and output in the test's messages. Returns the exit status, -1 if it
   did not exit; stdout and stderr if the pointers are not NULL
   (g_free). */
int pp_run_program(const char *const *argv, const char *cwd,
		   const char *const *envp, const char *stdin_data,
		   char **out_r, char **err_r);

#endif
