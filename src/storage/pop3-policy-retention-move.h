#ifndef POP3_POLICY_RETENTION_MOVE_H
#define POP3_POLICY_RETENTION_MOVE_H

/* Moving messages between two mailboxes of a user (hold, move:, restore)
   so that a process killed at any point leaves every message in at least
   one of them, and the next retention run for the user leaves it in
   exactly one (see src/storage/pop3-policy-retention-move.c). Callers hold
   the user's retention lock (POP3_POLICY_LOCK_FNAME) around every call. */

#include "seq-range-array.h"
#include "pop3-policy-move-journal.h"

struct event;
struct mail_user;
struct mailbox;

/* Copies the src messages with the given UIDs to dest, each copy carrying
   the POP3 UIDL served for its original, commits the copies, then
   expunges the originals. For POP3_POLICY_MOVE_TARGET a message whose GUID
   is already in dest is not copied again (only expunged). moved gets the
   UID and GUID of every message moved (allocated from pool). Returns 0 on
   success, -1 on error (error_r; moved is emptied: an error after the
   copies were committed leaves the journal for the next run's repair). */
int pop3_policy_retention_move(struct mail_user *user,
			       enum pop3_policy_move_kind kind,
			       struct mailbox *src, struct mailbox *dest,
			       const ARRAY_TYPE(seq_range) *uids, pool_t pool,
			       ARRAY_TYPE(pop3_policy_moved_msg) *moved,
			       const char **error_r);

/* Returns in path_r (data stack) where the user's move journal is: in
   the home, not mail_volatile_dir where the lock may live (often tmpfs: a
   reboot would lose it) nor the mail root (with mbox every file there is
   a mailbox). Returns 0, or -1 with error_r if the user has no home. */
int pop3_policy_retention_move_journal_path(struct mail_user *user,
					    const char **path_r,
					    const char **error_r);

/* Returns 1 if a move journal exists (one stat, no lock needed), 0 if
   not, -1 on error (error_r). */
int pop3_policy_retention_move_pending(struct mail_user *user,
				       const char **error_r);

/* Finishes what a move interrupted by a kill left
   (pop3-policy-retention-repair.c): every message still in the move's
   source that also has a copy made by that move in its destination loses
   the copy in the quarantine (the hold's copy, or the restore's
   original), never the one in INBOX and never one in a user's move:
   mailbox (those pairs are only logged). A journal naming other mailboxes
   than such a move has (INBOX and quarantine, in the order of its kind)
   is refused: an error, and nothing is removed. Logs what it did with
   event as parent, then removes the journal. Returns 0 if there was no
   journal, 1 if one was repaired, -1 on error (the journal stays). */
int pop3_policy_retention_move_repair(struct mail_user *user,
				      struct event *event,
				      const char *quarantine,
				      const char **error_r);

#endif
