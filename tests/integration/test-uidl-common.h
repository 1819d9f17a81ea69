#ifndef TEST_UIDL_COMMON_H
#define TEST_UIDL_COMMON_H

/* Helpers shared by the UIDL integration tests (test-uidl*.c). */

#include "pp-harness.h"

/* Starts an instance with the package (store on SQLite through the dict
   server); aborts the test on failure. */
PpInstance *uidl_start(const char *mail_location, const char *uidl_format,
		       const char *plugin_settings);
/* Same as uidl_start() with another store. */
PpInstance *uidl_start_store(PpStoreKind store, const char *mail_location,
			     const char *uidl_format,
			     const char *plugin_settings);
/* Starts an instance with user "u1" (password "pass") and delivers count
   messages "msg <i>" (distinct Message-IDs) to u1. */
PpInstance *uidl_start_with_mail(const char *mail_location,
				 const char *uidl_format,
				 const char *plugin_settings,
				 unsigned int count);
/* The same with users (ended by a NULL name; u1 among them) instead. */
PpInstance *uidl_start_with_users(const char *mail_location,
				  const char *uidl_format,
				  const char *plugin_settings,
				  unsigned int count, const PpUser *users);
/* Returns the i-th (0-based) test message text. */
char *uidl_test_message(unsigned int i);

/* The UIDLs a POP3 session of u1 lists, in message number order (g_strv);
   NULL if the session was refused, with the refusing line in *err_line_r
   (g_free) when not NULL. */
char **uidl_pop3_list(PpInstance *inst, const char *user, char **err_line_r);
/* The raw UIDL listing ("+OK", "<n> <uidl>" lines, ".") of a session. */
char *uidl_pop3_capture(PpInstance *inst, const char *user);

/* Runs doveadm with the given arguments (NULL-terminated); returns the exit
   status and the outputs (g_free). */
int uidl_doveadm(PpInstance *inst, char **out_r, char **err_r, ...)
	G_GNUC_NULL_TERMINATED;

/* One row of `doveadm -f tab pop3-uidl export`. */
typedef struct {
	guint msn, uid;
	char *guid, *hdr, *uidl, *source;
} UidlExportRow;
/* Returns the rows (free with uidl_export_free). */
GPtrArray *uidl_export(PpInstance *inst, const char *user);
void uidl_export_free(GPtrArray *rows);
/* UIDVALIDITY of the user's INBOX. */
guint32 uidl_uidvalidity(PpInstance *inst, const char *user);
/* Writes data into a new file in the instance's directory; returns its
   path (g_free). */
char *uidl_write_file(PpInstance *inst, const char *name, const char *data);
/* Removes dovecot-uidlist and the index files of u's maildir INBOX (a lost
   dovecot-uidlist), after waiting long enough for a new UIDVALIDITY. */
void uidl_lose_uidlist(PpInstance *inst, const char *user);
/* Waits until the clock is past the second of the user's dovecot-uidlist
   (its UIDVALIDITY is the second it was created in), so that a new one
   gets another UIDVALIDITY. */
void uidl_wait_new_uidvalidity(PpInstance *inst, const char *user);

#endif
