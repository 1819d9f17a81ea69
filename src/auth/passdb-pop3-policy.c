/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* passdb { driver = pop3_policy  args = dict=<uri> key_file=<path> }

   Answers APOP (lookup_credentials) from the package's store. Lookups run in
   auth-worker processes (blocking = TRUE), where synchronous dict lookups
   are fine. A store that cannot be read fails closed with
   PASSDB_RESULT_INTERNAL_FAILURE, which pop3-login reports as
   "-ERR [SYS/TEMP]", never as a wrong password. */

#include "auth-common.h"
#include "passdb.h"
#include "pop3-policy-store.h"

#define POP3_POLICY_PLAIN_KEY_ID "PLAIN"

struct pop3_policy_passdb_module {
	struct passdb_module module;

	const char *dict_uri;
	const char *key_file;
	struct pop3_policy_store *store;
};

extern const char *authdb_pop3_policy_version;
void authdb_pop3_policy_init(void);
void authdb_pop3_policy_deinit(void);

const char *authdb_pop3_policy_version = DOVECOT_ABI_VERSION;

static struct pop3_policy_passdb_module *
pop3_policy_module(struct auth_request *request)
{
	return (struct pop3_policy_passdb_module *)request->passdb->passdb;
}

static enum passdb_result
pop3_policy_lookup_secret(struct auth_request *request,
			  const char **secret_r)
{
	struct pop3_policy_passdb_module *module = pop3_policy_module(request);
	const char *const *fields, *error;
	int ret;

	ret = pop3_policy_store_lookup(module->store, POP3_POLICY_RECORD_APOP,
				       request->fields.user, &fields, &error);
	if (ret < 0) {
		e_error(authdb_event(request), "%s", error);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (ret == 0) {
		e_debug(authdb_event(request), "no APOP secret in the store");
		return PASSDB_RESULT_USER_UNKNOWN;
	}
	if (strcmp(fields[0], POP3_POLICY_PLAIN_KEY_ID) != 0) {
		/* Encrypted records need the key file support of the APOP
		   secrets issue; fail closed rather than guess. */
		e_error(authdb_event(request),
			"pop3-policy store: user %s: key %s: record encrypted "
			"under key id %s, which this build cannot decrypt",
			request->fields.user,
			pop3_policy_store_key(POP3_POLICY_RECORD_APOP,
					      request->fields.user),
			fields[0]);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	*secret_r = fields[2];
	return PASSDB_RESULT_OK;
}

static void
pop3_policy_verify_plain(struct auth_request *request,
			 const char *password ATTR_UNUSED,
			 verify_plain_callback_t *callback)
{
	/* Plaintext logins are verified by the site's own passdb; this one
	   only answers APOP. */
	callback(PASSDB_RESULT_USER_UNKNOWN, request);
}

static void
pop3_policy_lookup_credentials(struct auth_request *request,
			       lookup_credentials_callback_t *callback)
{
	enum passdb_result result;
	const char *secret = NULL;

	result = pop3_policy_lookup_secret(request, &secret);
	passdb_handle_credentials(result, secret, "PLAIN", callback, request);
}

static struct passdb_module *
pop3_policy_preinit(pool_t pool, const char *args)
{
	struct pop3_policy_passdb_module *module;
	const char *const *arg;

	module = p_new(pool, struct pop3_policy_passdb_module, 1);
	for (arg = t_strsplit_spaces(args, " "); *arg != NULL; arg++) {
		if (str_begins(*arg, "dict="))
			module->dict_uri = p_strdup(pool, *arg + 5);
		else if (str_begins(*arg, "key_file="))
			module->key_file = p_strdup(pool, *arg + 9);
		else
			i_fatal("passdb pop3_policy: Unknown setting: %s", *arg);
	}
	if (module->dict_uri == NULL)
		i_fatal("passdb pop3_policy: Missing setting: dict=<uri>");
	module->module.blocking = TRUE;
	return &module->module;
}

static void pop3_policy_init(struct passdb_module *_module)
{
	struct pop3_policy_passdb_module *module =
		(struct pop3_policy_passdb_module *)_module;
	struct pop3_policy_store_settings set;
	const char *error;

	i_zero(&set);
	set.uri = module->dict_uri;
	set.base_dir = global_auth_settings->base_dir;
	if (pop3_policy_store_init(&set, &module->store, &error) < 0)
		i_fatal("passdb pop3_policy: %s", error);
}

static void pop3_policy_deinit(struct passdb_module *_module)
{
	struct pop3_policy_passdb_module *module =
		(struct pop3_policy_passdb_module *)_module;

	pop3_policy_store_deinit(&module->store);
}

static struct passdb_module_interface passdb_pop3_policy = {
	.name = "pop3_policy",
	.preinit = pop3_policy_preinit,
	.init = pop3_policy_init,
	.deinit = pop3_policy_deinit,
	.verify_plain = pop3_policy_verify_plain,
	.lookup_credentials = pop3_policy_lookup_credentials,
};

void authdb_pop3_policy_init(void)
{
	passdb_register_module(&passdb_pop3_policy);
}

void authdb_pop3_policy_deinit(void)
{
	passdb_unregister_module(&passdb_pop3_policy);
}
