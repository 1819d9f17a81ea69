#ifndef POP3_POLICY_UIDL_GUARD_FILE_H
#define POP3_POLICY_UIDL_GUARD_FILE_H

#include "pop3-policy-uidl-guard.h"

/* The UIDL guard's sketch of a mailbox's last session, kept in one file in
   the INBOX's control directory (see the top of
   src/lib/pop3-policy-uidl-guard-file.c for the format). */

struct pop3_policy_state_file_perm;

/* The file's name in the INBOX's control directory */
#define POP3_POLICY_UIDL_GUARD_FILE_NAME "pop3-policy-uidl.guard"

/* Returns the file's content for the sketch (data stack). */
const char *
pop3_policy_uidl_guard_file_encode(
	const struct pop3_policy_uidl_guard_sketch *sketch);
/* Parses a guard file's content into sketch_r (its array created by the
   caller). Returns 0, or -1 with error_r saying what is wrong. */
int pop3_policy_uidl_guard_file_decode(const void *data, size_t size,
	struct pop3_policy_uidl_guard_sketch *sketch_r, const char **error_r);

/* Reads the guard file at path. Returns 1 with the sketch, 0 if there is
   none, -1 with error_r naming the path if it cannot be read or is
   damaged. */
int pop3_policy_uidl_guard_file_read(const char *path,
	struct pop3_policy_uidl_guard_sketch *sketch_r, const char **error_r);
/* Replaces the guard file at path atomically. Returns 0, or -1 with
   error_r. */
int pop3_policy_uidl_guard_file_write(const char *path,
	const struct pop3_policy_state_file_perm *perm,
	const struct pop3_policy_uidl_guard_sketch *sketch,
	const char **error_r);

#endif
