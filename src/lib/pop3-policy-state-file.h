#ifndef POP3_POLICY_STATE_FILE_H
#define POP3_POLICY_STATE_FILE_H

/* Whole-file reads and atomic replacement of the package's files in a
   mailbox's own storage (the UIDL map and the UIDL guard sketch). See the
   top of src/lib/pop3-policy-state-file.c. */

#include <sys/types.h>

/* How a new file is created: the mailbox's own permissions
   (mailbox_get_permissions()), so that every process that may open the
   mailbox may read it. */
struct pop3_policy_state_file_perm {
	mode_t mode;
	/* (gid_t)-1: the creating process's */
	gid_t gid;
	/* the new content is not flushed to disk before the rename
	   (mail_fsync = never) */
	bool no_fsync;
};

/* Reads the whole file at path into pool (NUL-terminated after size_r
   bytes). Returns 1 with it, 0 if the file does not exist, -1 with error_r
   naming the path if it cannot be read, is not a regular file (a symlink
   is not followed) or is larger than max_size. */
int pop3_policy_state_file_read(const char *path, size_t max_size,
				pool_t pool, unsigned char **data_r,
				size_t *size_r, const char **error_r);

/* Replaces the file at path with data atomically: written to a temporary
   file in the same directory, flushed to disk (unless perm->no_fsync),
   then renamed over path, so
   that a reader sees the old file or the new one, never a part, and a
   crash leaves one of them. Returns 0, or -1 with error_r naming the path
   (the old file stays). */
int pop3_policy_state_file_write(const char *path,
				 const struct pop3_policy_state_file_perm *perm,
				 const void *data, size_t size,
				 const char **error_r);

/* Removes the file at path. Returns 1 if it was removed, 0 if there was
   none, -1 with error_r. */
int pop3_policy_state_file_remove(const char *path, const char **error_r);

#endif
