#ifndef POP3_POLICY_PLUGIN_H
#define POP3_POLICY_PLUGIN_H

#include "module-context.h"
#include "mail-user.h"
#include "pop3-policy-mail-settings.h"

struct pop3_policy;
struct pop3_policy_retention_user;

#define POP3_POLICY_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, pop3_policy_user_module)

/* The plugin's one context on a mail user: its settings and the state of
   each feature, set up in the mail_user_created hook. */
struct pop3_policy_user {
	union mail_user_module_context module_ctx;
	struct event *event;
	/* plugin {} settings, read once when the user was created (in a
	   pop3 session; zeroed in other services, which use none) */
	struct pop3_policy_mail_settings set;
	/* the store named by pop3_policy_dict; NULL if it is not set, not
	   needed (another service than pop3) or the userdb handed the
	   policy record over */
	struct pop3_policy_store *store;
	/* the policy record as the userdb handed it over (NULL: the user
	   has none), if policy_handed_over */
	const char *policy_record;
	bool policy_handed_over:1;
	/* retention of a POP3 session whose policy resolved, else NULL
	   (pop3-policy-retention.h); the UIDL overrides keep their state
	   per INBOX and read set */
	struct pop3_policy_retention_user *retention;
};

extern MODULE_CONTEXT_DEFINE(pop3_policy_user_module,
			     &mail_user_module_register);
extern struct event_category event_category_pop3_policy;

extern const char *pop3_policy_plugin_version;

/* Returns the effective retention policy of a POP3 session's user (the
   one its removals follow) if the site's pop3_policy_capa is yes, else
   NULL (also when the user has no policy: not a pop3 session, or the
   session failed). The site's setting, not the user's: a capability
   announced before login must be announced after it (RFC 2449 5). For
   the pop3-only CAPA module, which is its own file: the one function this
   module exports beyond the loader's. */
const struct pop3_policy *
pop3_policy_plugin_capa_policy(struct mail_user *user);

void pop3_policy_plugin_init(struct module *module);
void pop3_policy_plugin_deinit(void);

#endif
