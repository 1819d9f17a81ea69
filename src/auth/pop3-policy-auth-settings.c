/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Args and policy resolution of the pop3_policy passdb and userdb.

   The auth process cannot read plugin {} settings (they belong to mail
   processes), so the site default and the classes that the mail plugin
   reads from plugin { pop3_policy = ... pop3_policy_class_<name> = ... }
   are repeated in the args, with ',' in place of the spaces between
   policy words (args are split at spaces):

     args = dict=proxy::pop3policy mode=login \
            pop3_policy=login_delay=15m,login_burst=1 \
            pop3_policy_class_slow=login_delay=1h

   Only the login keys matter here (login_delay, login_burst, apop_only);
   the whole policy is still parsed, with the one shared parser
   (pop3-policy-rules.c), so that a typo fails the same way everywhere.
   The userdb layer (userdb extra field pop3_policy) is not seen by auth:
   userdb lookups happen after authentication. The per-user store record
   (doveadm pop3-policy set) is honoured. */

#include "auth-common.h"
#include "auth-request.h"
#include "pop3-policy-store.h"
#include "pop3-policy-login-delay.h"
#include "pop3-policy-auth.h"

#define CLASS_ARG_PREFIX "pop3_policy_class_"

static const char *policy_arg_value(pool_t pool, const char *value)
{
	return p_strdup(pool, t_str_replace(value, ',', ' '));
}

static int
auth_class_lookup(const char *name, void *context, const char **policy_r,
		  const char **error_r ATTR_UNUSED)
{
	const struct pop3_policy_auth_settings *set = context;
	const struct pop3_policy_auth_class *class;

	array_foreach(&set->classes, class) {
		if (strcmp(class->name, name) == 0) {
			*policy_r = class->policy;
			return 1;
		}
	}
	return 0;
}

void pop3_policy_auth_args_parse(pool_t pool, const char *driver,
				 const char *args,
				 struct pop3_policy_auth_settings *set_r)
{
	const char *const *arg, *value, *error;
	struct pop3_policy_auth_class *class;

	i_zero(set_r);
	p_array_init(&set_r->classes, pool, 4);
	for (arg = t_strsplit_spaces(args, " "); *arg != NULL; arg++) {
		if (str_begins(*arg, "dict="))
			set_r->dict_uri = p_strdup(pool, *arg + 5);
		else if (str_begins(*arg, "key_file="))
			set_r->key_file = p_strdup(pool, *arg + 9);
		else if (strcmp(*arg, "allow_plaintext=yes") == 0)
			set_r->allow_plaintext = TRUE;
		else if (strcmp(*arg, "allow_plaintext=no") == 0)
			set_r->allow_plaintext = FALSE;
		else if (strcmp(*arg, "mode=apop") == 0)
			set_r->mode = POP3_POLICY_AUTH_MODE_APOP;
		else if (strcmp(*arg, "mode=login") == 0)
			set_r->mode = POP3_POLICY_AUTH_MODE_LOGIN;
		else if (str_begins(*arg, "pop3_policy="))
			set_r->site_policy = policy_arg_value(pool, *arg + 12);
		else if (str_begins(*arg, CLASS_ARG_PREFIX) &&
			 (value = strchr(*arg, '=')) != NULL &&
			 value > *arg + strlen(CLASS_ARG_PREFIX)) {
			class = array_append_space(&set_r->classes);
			class->name = p_strdup_until(pool,
				*arg + strlen(CLASS_ARG_PREFIX), value);
			class->policy = policy_arg_value(pool, value + 1);
		} else {
			i_fatal("%s pop3_policy: Unknown setting: %s "
				"(known: dict= key_file= "
				"allow_plaintext=yes|no mode=apop|login "
				"pop3_policy= pop3_policy_class_<name>=)",
				driver, t_strcut(*arg, '='));
		}
	}
	if (set_r->dict_uri == NULL)
		i_fatal("%s pop3_policy: Missing setting: dict=<uri>", driver);

	/* the site and class layers are the same for every request: parse
	   them once. A bad one fails each POP3 request (as the mail
	   plugin fails each session), not the auth process. */
	pop3_policy_init(&set_r->site_layer);
	if (pop3_policy_parse(&set_r->site_layer, pool, set_r->site_policy,
			      POP3_POLICY_LAYER_SITE, auth_class_lookup,
			      set_r, &error) < 0)
		set_r->site_error = p_strdup(pool, error);
}

struct pop3_policy_store *
pop3_policy_auth_store_open(const struct pop3_policy_auth_settings *set,
			    const char *driver)
{
	struct pop3_policy_store_settings store_set;
	struct pop3_policy_store *store;
	const char *error;

	i_zero(&store_set);
	/* the auth process reads the store for every POP3 login: keep its
	   connection to the dict server instead of making one each time */
	store_set.uri = set->dict_uri == NULL ? NULL :
		pop3_policy_store_uri_keep_open(set->dict_uri,
			POP3_POLICY_AUTH_DICT_IDLE_MSECS);
	store_set.base_dir = global_auth_settings->base_dir;
	store_set.event_parent = auth_event;
	if (pop3_policy_store_init(&store_set, &store, &error) < 0)
		i_fatal("%s pop3_policy: %s", driver, error);
	return store;
}

int pop3_policy_auth_resolve_with(const struct pop3_policy_auth_settings *set,
				  const char *user, const char *store_policy,
				  struct pop3_policy *policy_r,
				  const char **error_r)
{
	const char *error;

	if (set->site_error != NULL) {
		*error_r = t_strdup_printf(
			"user %s: passdb/userdb args pop3_policy=: %s",
			user, set->site_error);
		return -1;
	}
	*policy_r = set->site_layer;
	if (store_policy != NULL &&
	    pop3_policy_parse(policy_r, pool_datastack_create(), store_policy,
			      POP3_POLICY_LAYER_STORE, auth_class_lookup,
			      (void *)set, &error) < 0) {
		*error_r = t_strdup_printf(
			"user %s: policy in the store (key %s): %s", user,
			pop3_policy_store_key(POP3_POLICY_RECORD_POLICY, user),
			error);
		return -1;
	}
	return 0;
}

const char *pop3_policy_auth_store_policy(int ret, const char *const *fields)
{
	return ret > 0 ? fields[1] : NULL;
}

/* Reads the user's policy record from the store: returns 0 and its policy
   words in store_policy_r (data stack; NULL if the user has no record),
   or -1 with error_r naming the user and the key. */
static int
pop3_policy_auth_lookup_policy(struct pop3_policy_store *store,
			       const char *user, const char **store_policy_r,
			       const char **error_r)
{
	const char *const *fields;
	int ret;

	ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
				       user, &fields, error_r);
	if (ret < 0)
		return -1;
	*store_policy_r = pop3_policy_auth_store_policy(ret, fields);
	return 0;
}

int pop3_policy_auth_login_state(const char *user, int ret,
				 const char *const *fields,
				 struct pop3_policy_login_state *state_r,
				 const char **error_r)
{
	const char *error;

	i_zero(state_r);
	if (ret <= 0)
		return 0;
	if (pop3_policy_login_state_parse(fields, state_r, &error) < 0) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: key %s: %s", user,
			pop3_policy_store_key(POP3_POLICY_RECORD_LOGIN, user),
			error);
		return -1;
	}
	return 0;
}

int pop3_policy_auth_read_login_state(struct pop3_policy_store *store,
				      const char *user,
				      struct pop3_policy_login_state *state_r,
				      const char **error_r)
{
	const char *const *fields;
	int ret;

	ret = pop3_policy_store_lookup(store, POP3_POLICY_RECORD_LOGIN, user,
				       &fields, error_r);
	if (ret < 0)
		return -1;
	return pop3_policy_auth_login_state(user, ret, fields, state_r,
					    error_r);
}

int pop3_policy_auth_resolve(const struct pop3_policy_auth_settings *set,
			     struct pop3_policy_store *store,
			     const char *user, struct pop3_policy *policy_r,
			     const char **error_r)
{
	const char *store_policy;

	if (pop3_policy_auth_lookup_policy(store, user, &store_policy,
					   error_r) < 0)
		return -1;
	return pop3_policy_auth_resolve_with(set, user, store_policy,
					     policy_r, error_r);
}

bool pop3_policy_auth_login_delay_hint(struct auth_request *request,
				       unsigned int *delay_secs_r)
{
	const char *value;

	if (request->fields.extra_fields == NULL)
		return FALSE;
	value = auth_fields_find(request->fields.extra_fields,
				 POP3_POLICY_AUTH_LOGIN_DELAY_FIELD);
	return value != NULL && str_to_uint(value, delay_secs_r) == 0;
}

void pop3_policy_auth_set_policy_record_hint(struct auth_request *request,
					     int ret,
					     const char *const *fields)
{
	auth_request_set_field(request, POP3_POLICY_AUTH_POLICY_RECORD_FIELD,
			       ret > 0 ? pop3_policy_record_encode(
					POP3_POLICY_RECORD_POLICY, fields) :
			       "", NULL);
}

bool pop3_policy_auth_policy_record_hint(struct auth_request *request,
					 const char **record_r)
{
	const char *value;

	if (request->fields.extra_fields == NULL)
		return FALSE;
	value = auth_fields_find(request->fields.extra_fields,
				 POP3_POLICY_AUTH_POLICY_RECORD_FIELD);
	if (value == NULL)
		return FALSE;
	*record_r = value[0] == '\0' ? NULL : value;
	return TRUE;
}

void pop3_policy_auth_set_login_state_hint(struct auth_request *request,
	const struct pop3_policy_login_state *state)
{
	auth_request_set_field(request, POP3_POLICY_AUTH_LOGIN_STATE_FIELD,
		t_strarray_join(pop3_policy_login_state_fields(state), " "),
		NULL);
}

bool pop3_policy_auth_login_state_hint(struct auth_request *request,
				       struct pop3_policy_login_state *state_r)
{
	const char *value, *error;

	if (request->fields.extra_fields == NULL)
		return FALSE;
	value = auth_fields_find(request->fields.extra_fields,
				 POP3_POLICY_AUTH_LOGIN_STATE_FIELD);
	return value != NULL &&
		pop3_policy_login_state_parse(t_strsplit(value, " "), state_r,
					      &error) == 0;
}

bool pop3_policy_auth_is_pop3(struct auth_request *request)
{
	return request->fields.service != NULL &&
		strcmp(request->fields.service, "pop3") == 0;
}
