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

#define POP3_POLICY_RETENTION_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, pop3_policy_retention_user_module)

struct pop3_policy_retention_user {
	union mail_user_module_context module_ctx;
	struct event *event;
	struct pop3_policy policy;
	const char *quarantine;

	/* INBOX UIDs DELE'd (expunged at QUIT) and retrieved whole */
	ARRAY_TYPE(seq_range) dele_uids;
	ARRAY_TYPE(seq_range) retr_uids;
	/* the session's QUIT synced INBOX (RFC 1939 UPDATE state) */
	bool quit_seen:1;
	/* at QUIT, the policy might owe removals (else none is run) */
	bool owed_possible:1;
	/* the site's pop3_policy_capa is yes: CAPA announces the policy */
	bool capa:1;
};

extern MODULE_CONTEXT_DEFINE(pop3_policy_retention_user_module,
			     &mail_user_module_register);

/* Called at the end of the plugin's mail_user_created hook: in a pop3
   session, resolves the user's policy (failing the session through
   user->error if it is bad) and arranges the removals at deinit. */
void pop3_policy_retention_user_created(struct mail_user *user,
					struct pop3_policy_user *puser);

/* Registers and unregisters the storage hooks of retention. */
void pop3_policy_retention_init(struct module *module);
void pop3_policy_retention_deinit(void);

#endif
