#ifndef POP3_POLICY_UIDL_STATE_H
#define POP3_POLICY_UIDL_STATE_H

#include "pop3-policy-state-file.h"

/* Where a mailbox keeps the package's UIDL state: the UIDL map file and
   the UIDL guard file, in the INBOX's control directory. */

struct mailbox;

struct pop3_policy_uidl_state_paths {
	const char *map_path;
	const char *guard_path;
	/* how new files are created: the mailbox's own permissions */
	struct pop3_policy_state_file_perm perm;
};

/* Returns 1 with the paths (data stack) of the mailbox's UIDL state files,
   0 if its storage has no local files to keep them in (then there is no
   map and no guard), -1 with error_r. */
int pop3_policy_uidl_state_paths(struct mailbox *box,
				 struct pop3_policy_uidl_state_paths *paths_r,
				 const char **error_r);

#endif
