#ifndef POP3_POLICY_CAPA_H
#define POP3_POLICY_CAPA_H

/* RFC 2449 advertising of the retention policy: the EXPIRE and LOGIN-DELAY
   capabilities in CAPA replies.

   Before login the server cannot know the user, so RFC 2449 sections 6.5
   and 6.7 ask for the bound over every user, with the token USER: the
   smallest EXPIRE any user can have and the largest LOGIN-DELAY. Here
   that bound is taken over the site default and every class (each class
   on top of the site default, as class=<name> would pull it in), widened
   by the administrator's pop3_policy_capa_expire_min and
   pop3_policy_capa_login_delay_max; per-user layers (userdb field, store
   record) must stay inside it (pop3_policy_capa_bound()).

   After login the exact value of the user's effective policy is given.
   EXPIRE counts days (RFC 2449 6.7): the policy's seconds are rounded
   down, so the server never promises to keep a message longer than the
   policy does. Pure functions: the caller reads the settings. */

#include "pop3-policy-rules.h"

struct pop3_policy_capa_bounds {
	/* The shortest time after which any user's messages may be removed
	   (expire or max_age), or POP3_POLICY_NEVER */
	unsigned int expire_min_secs;
	/* The largest login_delay any user may have */
	unsigned int login_delay_max_secs;
};

/* Returns the shortest time after which the policy may remove a message
   that was retrieved (expire) or saved (max_age): the smaller of the two,
   or POP3_POLICY_NEVER when nothing is ever removed by the policy
   (both never, legal_hold or dry_run). */
unsigned int pop3_policy_capa_expire_secs(const struct pop3_policy *policy);
/* Returns the RFC 2449 EXPIRE value of secs: whole days rounded down, or
   "NEVER" for POP3_POLICY_NEVER (data stack). */
const char *pop3_policy_capa_expire_value(unsigned int secs);

/* Computes the pre-login bounds over the site policy (may be NULL) and
   each class in class_names (NULL-terminated, may be NULL), each applied
   on top of the site policy, then widened by expire_min and
   login_delay_max (duration strings as in a policy word; NULL or "" for
   none; expire_min may be "never", which widens nothing). Returns 0, or
   -1 with error_r naming the setting and why. */
int pop3_policy_capa_bounds_get(const char *site,
				const char *const *class_names,
				pop3_policy_class_lookup_t *lookup,
				void *context,
				const char *expire_min,
				const char *login_delay_max,
				struct pop3_policy_capa_bounds *bounds_r,
				const char **error_r);

/* Keeps the policy inside the bounds: an expire or max_age shorter than
   bounds->expire_min_secs is raised to it (messages are kept longer than
   asked, never removed earlier than announced) and a login_delay above
   bounds->login_delay_max_secs is lowered to it. Returns TRUE if the
   policy was changed. */
bool pop3_policy_capa_bound(struct pop3_policy *policy,
			    const struct pop3_policy_capa_bounds *bounds);
/* Returns TRUE if the policy is inside the bounds, else FALSE with the
   reason (which key, its value and the bound) in reason_r. */
bool pop3_policy_capa_within(const struct pop3_policy *policy,
			     const struct pop3_policy_capa_bounds *bounds,
			     const char **reason_r);

/* The capability lines before login, "EXPIRE <days>|NEVER USER\r\n"
   "LOGIN-DELAY <secs> USER\r\n" (data stack). */
const char *
pop3_policy_capa_preauth_lines(const struct pop3_policy_capa_bounds *bounds);
/* The capability lines after login for the user's effective policy,
   "EXPIRE <days>|NEVER\r\nLOGIN-DELAY <secs>\r\n" (data stack). */
const char *pop3_policy_capa_user_lines(const struct pop3_policy *policy);

/* Returns the length of the part of a CAPA reply before its final ".\r\n"
   line if data is exactly one whole multi-line CAPA reply beginning with
   prefix (e.g. "+OK\r\n" POP3_CAPABILITY_REPLY), else 0. */
size_t pop3_policy_capa_reply_body_len(const void *data, size_t size,
				       const char *prefix);

#endif
