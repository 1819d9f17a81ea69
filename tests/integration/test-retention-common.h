#ifndef TEST_RETENTION_COMMON_H
#define TEST_RETENTION_COMMON_H

/* Helpers shared by the retention integration tests (real Dovecot through
   pp-harness; every helper aborts the test on an unexpected answer). */

#include "pp-harness.h"

#include <string.h>

PpInstance *rt_start(const PpInstanceOptions *opts);
void rt_stop(PpInstance *inst);
/* Runs doveadm with the NULL-terminated arguments; returns the exit code
   and stdout (stderr is printed on failure). */
int rt_doveadm(PpInstance *inst, char **out_r, ...) G_GNUC_NULL_TERMINATED;
void rt_assert_contains(const char *haystack, const char *needle);
/* `doveadm -f tab pop3-policy show` output has the key with the value
   set by the layer. */
void rt_assert_show(const char *out, const char *key, const char *value,
		    const char *layer);
/* `doveadm -f tab pop3-policy sweep` output has count for the reason. */
void rt_assert_sweep_count(const char *out, const char *user,
			   const char *reason, unsigned int count);
/* Runs the sweep (flag may be NULL); returns stdout and stderr (where
   doveadm logs the pop3_policy_removed events). */
char *rt_sweep(PpInstance *inst, const char *user, const char *flag);

void rt_deliver_n(PpInstance *inst, const char *user, unsigned int n);
PpPop3 *rt_connect(PpInstance *inst);
PpPop3 *rt_login(PpInstance *inst, const char *user);
void rt_ok(PpPop3 *pop3, const char *cmd);
char *rt_multi_ok(PpPop3 *pop3, const char *cmd);
/* QUIT (asserting +OK) and close. */
void rt_quit(PpPop3 *pop3);
/* A session of user (password "secret") that sends each command (a
   multi-line one answered +OK: RETR, TOP), QUITs and waits until the
   session's process is over (rt_settle()); the list ends with NULL. */
void rt_retrieve(PpInstance *inst, const char *user, ...)
	G_GNUC_NULL_TERMINATED;
/* At the faketime offset (NULL: as it is), a sweep of user removes
   `removed` messages for reason and leaves `left` in INBOX. */
void rt_sweep_at(PpInstance *inst, const char *offset, const char *user,
		 const char *reason, unsigned int removed, int left);
/* Waits until the instance's pop3 processes of ended sessions have
   exited, their deinit work done (used before asserting that nothing
   happened): every session must have ended. */
void rt_settle(PpInstance *inst);
unsigned int rt_count_lines(const char *multi);

/* Messages in a mailbox (0 if it does not exist). */
int rt_mailbox_count(PpInstance *inst, const char *user, const char *box);
int rt_inbox_count(PpInstance *inst, const char *user);
void rt_wait_mailbox_count(PpInstance *inst, const char *user,
			   const char *box, int count);
void rt_wait_inbox_count(PpInstance *inst, const char *user, int count);
/* The user's INBOX has inbox messages and the quarantine quarantine. */
void rt_assert_counts(PpInstance *inst, const char *user, int inbox,
		      int quarantine);
/* Waits until the log contains needle; returns the log (g_free). */
char *rt_wait_log(PpInstance *inst, const char *needle);
/* Number of times needle occurs in the log. */
unsigned int rt_log_count(PpInstance *inst, const char *needle);
/* Makes Dovecot cache the save dates of the box's messages (a fetch of
   date.saved), so that later runs see them as they are now. */
void rt_pin_save_dates(PpInstance *inst, const char *user, const char *box);
/* Removes the user's dovecot.index* files (an index loss). */
void rt_remove_indexes(PpInstance *inst, const char *user);

#endif
