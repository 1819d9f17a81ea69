#ifndef POP3_POLICY_UIDL_GUARD_SESSION_H
#define POP3_POLICY_UIDL_GUARD_SESSION_H

/* The UIDL guard of a POP3 session's INBOX, called by
   pop3-policy-uidl-session.c after the INBOX's first sync. */

#include "pop3-policy-state-file.h"
#include "pop3-policy-uidl-mailbox.h"

struct mailbox;
struct pop3_policy_user;

struct pop3_policy_uidl_guard_session {
	/* the INBOX's guard file and how to create it */
	const char *path;
	struct pop3_policy_state_file_perm perm;
	/* pop3_policy_uidl_guard (> 0: the guard is on) */
	unsigned int percent;
};

/* The guard when the UIDL map was worked out for every message (msgs,
   in POP3 order). Returns 0 if the session may go on, -1 after failing it
   (pop3_policy_uidl_session_fail()). */
int pop3_policy_uidl_guard_session_mapped(struct mailbox *box,
		struct pop3_policy_user *puser,
		const struct pop3_policy_uidl_guard_session *guard,
		const ARRAY_TYPE(pop3_policy_uidl_msg) *msgs);
/* The guard without a map: Dovecot serves its own UIDLs, and only the
   sampled messages have theirs worked out. Returns as _mapped(). */
int pop3_policy_uidl_guard_session_native(struct mailbox *box,
		struct pop3_policy_user *puser,
		const struct pop3_policy_uidl_guard_session *guard);

#endif
