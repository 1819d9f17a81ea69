#ifndef POP3_POLICY_RETENTION_RUN_H
#define POP3_POLICY_RETENTION_RUN_H

/* The retention executor: carries out the removals a resolved policy owes
   on a user's mail (README: "Retention"). Shared by the mail plugin (after a POP3
   session's QUIT, once the client is gone) and doveadm (sweep, restore).
   It works through lib-storage only and reads no settings: the caller
   passes everything in pop3_policy_run_settings.

   Safety rules:
   - removals of one user are serialised with a lock file in the user's
     home (or volatile dir); a run that cannot get it does nothing and
     says so, it never waits on a client's session;
   - a message is copied (hold, move:, restore) and the copy committed
     before the original is expunged, under a move journal: a run killed
     in between leaves the message in both mailboxes, and the next run of
     the user (any entry point below, right after taking the lock)
     removes the copy in the quarantine, never the one in INBOX or in a
     user's move: mailbox (see pop3-policy-retention-move.h);
   - the first-retrieval time lives in an index extension of INBOX; if the
     index is lost, the time is lost and the message is simply not due
     until it is retrieved again (removal delayed, never advanced). */

#include "seq-range-array.h"

struct mail_user;
struct mailbox;
struct pop3_policy;

#define POP3_POLICY_DEFAULT_QUARANTINE "POP3 Quarantine"
#define POP3_POLICY_RETR_EXT_NAME "pop3-policy-retr"
#define POP3_POLICY_LOCK_FNAME "pop3-policy.lock"

enum pop3_policy_reason {
	POP3_POLICY_REASON_DELE = 0,
	POP3_POLICY_REASON_HOLD_EXPIRED,
	POP3_POLICY_REASON_EXPIRE,
	POP3_POLICY_REASON_MAX_AGE,

	POP3_POLICY_REASON_COUNT
};

struct pop3_policy_run_counts {
	/* messages removed (or that would be, in a dry run) per reason */
	unsigned int removed[POP3_POLICY_REASON_COUNT];
};

struct pop3_policy_run_settings {
	const struct pop3_policy *policy;
	/* Name of the quarantine mailbox for on_delete=hold */
	const char *quarantine;
	/* Parent of the pop3_policy_removed events */
	struct event *event;
	/* Log and count, remove nothing (in addition to policy->dry_run) */
	bool dry_run;
	/* Seconds to wait for the user's retention lock (0 = don't wait) */
	unsigned int lock_secs;
};

/* Returns the reason's name as used in events ("dele", "hold_expired",
   "expire", "max_age"). */
const char *pop3_policy_reason_name(enum pop3_policy_reason reason);

/* Removes the messages with the given INBOX UIDs (DELE'd in a session
   that ended with QUIT) as on_delete says. Returns 0 on success, -1 on
   error (error_r); nothing is lost on error. */
int pop3_policy_run_dele(struct mail_user *user,
			 const struct pop3_policy_run_settings *set,
			 const ARRAY_TYPE(seq_range) *uids,
			 struct pop3_policy_run_counts *counts,
			 const char **error_r);

/* Records now as the first-retrieval time of the given INBOX UIDs that
   have none yet, in the open INBOX (the session's own, at QUIT: no second
   opening of INBOX). Returns 0 on success, -1 on error. */
int pop3_policy_run_record_retrievals(struct mailbox *inbox,
				      const ARRAY_TYPE(seq_range) *uids,
				      const char **error_r);

/* Runs the removals owed now: expire and max_age in INBOX, hold expiry in
   the quarantine. Returns 1 if it ran, 0 if another run holds the user's
   lock (nothing done), -1 on error (error_r; what was done before the
   error is counted). */
int pop3_policy_run_owed(struct mail_user *user,
			 const struct pop3_policy_run_settings *set,
			 struct pop3_policy_run_counts *counts,
			 const char **error_r);

/* Returns TRUE if the policy may owe a removal now, judged cheaply from
   INBOX's header (retrieval and hold times) and its oldest message's save
   date; FALSE means a run would remove nothing. inbox must be open and
   synced, and have no open transaction. Used at a session's QUIT to skip
   the run; a sweep always runs in full. */
bool pop3_policy_run_owed_possible(struct mailbox *inbox,
				   const struct pop3_policy *policy);

/* Repairs what a killed run left (see pop3-policy-retention-move.h), for
   a session that runs nothing else: one stat() when there is nothing to
   repair; otherwise takes the lock (waiting up to set->lock_secs) and
   repairs. Returns 1 if it repaired, 0 if there was nothing to repair or
   the lock is held (its holder repairs), -1 on error. */
int pop3_policy_run_repair(struct mail_user *user,
			   const struct pop3_policy_run_settings *set,
			   const char **error_r);

/* Moves held messages back from the quarantine to INBOX with the POP3
   UIDL they had (uids NULL = all). Returns the number restored, or -1 on
   error. A UID that is not in the quarantine is an error naming it. */
int pop3_policy_run_restore(struct mail_user *user, const char *quarantine,
			    const ARRAY_TYPE(seq_range) *uids,
			    const char **error_r);

#endif
