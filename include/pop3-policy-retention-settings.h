#ifndef POP3_POLICY_RETENTION_SETTINGS_H
#define POP3_POLICY_RETENTION_SETTINGS_H

/* Host glue of the retention policy: gathers the layers of SPEC 3.2 from
   Dovecot 2.3's settings (plugin {} and userdb fields) and the store, and
   hands them to the pure parser. Compiled into the mail plugin and the
   doveadm plugin; the only file a 2.4 port of the policy lookup touches. */

#include "pop3-policy-policy.h"

struct mail_user;
struct pop3_policy_store;

/* Resolves the user's effective policy (pool owns its strings). store may
   be NULL (no pop3_policy_dict): then the store layer is empty.
   global_plugin_envs (key, value, ..., NULL) are the process's plugin {}
   settings before userdb fields, needed when the userdb sets pop3_policy;
   NULL finds them in the process's global settings, and fails closed if
   they are not there. Returns 0 on success, -1 with error_r naming the
   user, the layer, the word and why. */
int pop3_policy_retention_settings_resolve(struct mail_user *user,
					   struct pop3_policy_store *store,
					   pool_t pool,
				const char *const *global_plugin_envs,
					   struct pop3_policy *policy_r,
					   const char **error_r);
/* Returns the quarantine mailbox name (pop3_policy_quarantine, from
   plugin {} or a userdb field). Returns 0, or -1 with error_r naming the
   user, the name and why if it is not a mailbox the package may move
   mail into and purge (INBOX, a wildcard, a path outside the mailbox
   tree, ...): then nothing may be held, purged or restored. */
int pop3_policy_retention_settings_quarantine(struct mail_user *user,
					      const char **name_r,
					      const char **error_r);

#endif
