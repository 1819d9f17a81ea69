#ifndef POP3_POLICY_RETENTION_H
#define POP3_POLICY_RETENTION_H

/* Retention in the mail plugin: the policy of a POP3 session's
   user, the DELEs and whole retrievals seen in the session, and the
   removals run once the client is gone (mail_user deinit_pre). */

#include "seq-range-array.h"
#include "pop3-policy-rules.h"

struct mail_user;
struct module;
struct pop3_policy_user;

/* A member of the plugin's user context (struct pop3_policy_user) */
struct pop3_policy_retention_user {
	struct event *event;
	struct pop3_policy policy;
	/* pop3_policy_quarantine, from the user's settings */
	const char *quarantine;

	/* INBOX UIDs DELE'd (expunged at QUIT) and retrieved whole */
	ARRAY_TYPE(seq_range) dele_uids;
	ARRAY_TYPE(seq_range) retr_uids;
	/* the session's QUIT synced INBOX (RFC 1939 UPDATE state) */
	bool quit_seen:1;
	/* at QUIT, the policy might owe removals (else none is run) */
	bool owed_possible:1;
};

/* Called at the end of the plugin's mail_user_created hook: in a pop3
   session, resolves the user's policy and sets puser->retention, or fails
   the session through user->error if the policy is bad. */
void pop3_policy_retention_user_created(struct mail_user *user,
					struct pop3_policy_user *puser);
/* Called from the plugin's deinit_pre: the removals after a QUIT. */
void pop3_policy_retention_user_deinit_pre(struct mail_user *user,
				struct pop3_policy_retention_user *ruser);
/* Called from the plugin's deinit: frees what ruser holds. */
void
pop3_policy_retention_user_deinit(struct pop3_policy_retention_user *ruser);

/* Registers and unregisters the storage hooks of retention. */
void pop3_policy_retention_init(struct module *module);
void pop3_policy_retention_deinit(void);

#endif
