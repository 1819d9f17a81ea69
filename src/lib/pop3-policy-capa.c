/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* RFC 2449 EXPIRE and LOGIN-DELAY values of policies, see
   pop3-policy-capa.h. */

#include "lib.h"
#include "str.h"
#include "pop3-policy-capa.h"

#define CAPA_SECS_PER_DAY (24*60*60)

unsigned int pop3_policy_capa_expire_secs(const struct pop3_policy *policy)
{
	if (policy->legal_hold || policy->dry_run)
		return POP3_POLICY_NEVER;
	return I_MIN(policy->expire_secs, policy->max_age_secs);
}

const char *pop3_policy_capa_expire_value(unsigned int secs)
{
	if (secs == POP3_POLICY_NEVER)
		return "NEVER";
	return dec2str(secs / CAPA_SECS_PER_DAY);
}

static void
capa_bounds_add(struct pop3_policy_capa_bounds *bounds,
		const struct pop3_policy *policy)
{
	bounds->expire_min_secs = I_MIN(bounds->expire_min_secs,
					pop3_policy_capa_expire_secs(policy));
	bounds->login_delay_max_secs = I_MAX(bounds->login_delay_max_secs,
					     policy->login_delay_secs);
}

/* Parses a bound setting with the policy parser, as the word key=value,
   so that it takes exactly the durations a policy does. */
static int
capa_parse_setting(const char *setting, const char *key, const char *value,
		   struct pop3_policy *policy_r, const char **error_r)
{
	const char *error;

	pop3_policy_init(policy_r);
	if (pop3_policy_parse(policy_r, pool_datastack_create(),
			      t_strconcat(key, "=", value, NULL),
			      POP3_POLICY_LAYER_SITE, NULL, NULL,
			      &error) < 0) {
		*error_r = t_strdup_printf("%s=%s: %s", setting, value, error);
		return -1;
	}
	return 0;
}

int pop3_policy_capa_bounds_get(const char *site,
				const char *const *class_names,
				pop3_policy_class_lookup_t *lookup,
				void *context,
				const char *expire_min,
				const char *login_delay_max,
				struct pop3_policy_capa_bounds *bounds_r,
				const char **error_r)
{
	struct pop3_policy policy;
	const char *error;
	unsigned int i;

	bounds_r->expire_min_secs = POP3_POLICY_NEVER;
	bounds_r->login_delay_max_secs = 0;

	pop3_policy_init(&policy);
	if (pop3_policy_parse(&policy, pool_datastack_create(), site,
			      POP3_POLICY_LAYER_SITE, lookup, context,
			      &error) < 0) {
		*error_r = t_strdup_printf("pop3_policy: %s", error);
		return -1;
	}
	capa_bounds_add(bounds_r, &policy);

	for (i = 0; class_names != NULL && class_names[i] != NULL; i++) {
		pop3_policy_init(&policy);
		if (pop3_policy_parse(&policy, pool_datastack_create(), site,
				      POP3_POLICY_LAYER_SITE, lookup, context,
				      &error) < 0 ||
		    pop3_policy_parse(&policy, pool_datastack_create(),
				      t_strconcat("class=", class_names[i],
						  NULL),
				      POP3_POLICY_LAYER_SITE, lookup,
				      context, &error) < 0) {
			*error_r = t_strdup_printf("pop3_policy_class_%s: %s",
						   class_names[i], error);
			return -1;
		}
		capa_bounds_add(bounds_r, &policy);
	}

	if (expire_min != NULL && expire_min[0] != '\0') {
		if (capa_parse_setting("pop3_policy_capa_expire_min",
				       "expire", expire_min, &policy,
				       error_r) < 0)
			return -1;
		bounds_r->expire_min_secs = I_MIN(bounds_r->expire_min_secs,
						  policy.expire_secs);
	}
	if (login_delay_max != NULL && login_delay_max[0] != '\0') {
		if (capa_parse_setting("pop3_policy_capa_login_delay_max",
				       "login_delay", login_delay_max,
				       &policy, error_r) < 0)
			return -1;
		bounds_r->login_delay_max_secs =
			I_MAX(bounds_r->login_delay_max_secs,
			      policy.login_delay_secs);
	}
	return 0;
}

bool pop3_policy_capa_bound(struct pop3_policy *policy,
			    const struct pop3_policy_capa_bounds *bounds)
{
	bool changed = FALSE;

	if (policy->expire_secs < bounds->expire_min_secs) {
		policy->expire_secs = bounds->expire_min_secs;
		changed = TRUE;
	}
	if (policy->max_age_secs < bounds->expire_min_secs) {
		policy->max_age_secs = bounds->expire_min_secs;
		changed = TRUE;
	}
	if (policy->login_delay_secs > bounds->login_delay_max_secs) {
		policy->login_delay_secs = bounds->login_delay_max_secs;
		changed = TRUE;
	}
	return changed;
}

bool pop3_policy_capa_within(const struct pop3_policy *policy,
			     const struct pop3_policy_capa_bounds *bounds,
			     const char **reason_r)
{
	unsigned int secs = pop3_policy_capa_expire_secs(policy);

	if (secs < bounds->expire_min_secs) {
		*reason_r = t_strdup_printf(
			"%s=%s removes messages sooner than the %s that CAPA "
			"announces before login to every user "
			"(pop3_policy_capa_expire_min)",
			policy->expire_secs <= policy->max_age_secs ?
			"expire" : "max_age", pop3_policy_duration_str(secs),
			pop3_policy_duration_str(bounds->expire_min_secs));
		return FALSE;
	}
	if (policy->login_delay_secs > bounds->login_delay_max_secs) {
		*reason_r = t_strdup_printf(
			"login_delay=%s is longer than the %s that CAPA "
			"announces before login to every user "
			"(pop3_policy_capa_login_delay_max)",
			pop3_policy_duration_str(policy->login_delay_secs),
			pop3_policy_duration_str(
				bounds->login_delay_max_secs));
		return FALSE;
	}
	return TRUE;
}

const char *
pop3_policy_capa_preauth_lines(const struct pop3_policy_capa_bounds *bounds)
{
	return t_strdup_printf("EXPIRE %s USER\r\nLOGIN-DELAY %u USER\r\n",
		pop3_policy_capa_expire_value(bounds->expire_min_secs),
		bounds->login_delay_max_secs);
}

const char *pop3_policy_capa_user_lines(const struct pop3_policy *policy)
{
	return t_strdup_printf("EXPIRE %s\r\nLOGIN-DELAY %u\r\n",
		pop3_policy_capa_expire_value(
			pop3_policy_capa_expire_secs(policy)),
		policy->login_delay_secs);
}

size_t pop3_policy_capa_reply_body_len(const void *data, size_t size,
				       const char *prefix)
{
	const unsigned char *p = data;
	size_t i, prefix_len = strlen(prefix);

	/* prefix, then any lines, then ".\r\n" */
	if (size < prefix_len + 3 || memcmp(p, prefix, prefix_len) != 0 ||
	    memcmp(p + size - 3, ".\r\n", 3) != 0 ||
	    p[size - 4] != '\n')
		return 0;
	/* no other line may be "." before the last one */
	for (i = prefix_len; i + 3 < size; i++) {
		if (p[i] == '.' && p[i-1] == '\n' && p[i+1] == '\r' &&
		    p[i+2] == '\n')
			return 0;
	}
	return size - 3;
}
