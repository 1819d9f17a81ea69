#ifndef POP3_POLICY_PLUGIN_H
#define POP3_POLICY_PLUGIN_H

#include "module-context.h"
#include "mail-user.h"

#define POP3_POLICY_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, pop3_policy_user_module)

struct pop3_policy_user {
	union mail_user_module_context module_ctx;
	/* the store named by pop3_policy_dict; NULL if it is not set, not
	   needed (another service than pop3) or the userdb handed the
	   policy record over */
	struct pop3_policy_store *store;
	/* the policy record as the userdb handed it over (NULL: the user
	   has none), if policy_handed_over */
	const char *policy_record;
	bool policy_handed_over:1;
	struct event *event;
};

extern MODULE_CONTEXT_DEFINE(pop3_policy_user_module,
			     &mail_user_module_register);
extern struct event_category event_category_pop3_policy;

extern const char *pop3_policy_plugin_version;

void pop3_policy_plugin_init(struct module *module);
void pop3_policy_plugin_deinit(void);

#endif
