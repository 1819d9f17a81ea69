/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* passdb { driver = pop3_policy }: APOP secrets from the package's store,
   and login control (LOGIN-DELAY, APOP-only) for the pop3 service.

   The complete chain, APOP from the store next to the site's own hashed
   passwords (the order matters):

     passdb {   # 1. APOP secrets, encrypted in the store
       driver = pop3_policy
       args = dict=proxy::pop3policy key_file=/etc/dovecot/pop3-apop.keys
       mechanisms = apop
       result_success = continue-ok
     }
     passdb {   # 2. the site's passwords (passwd-file, SQL, LDAP, ...)
       driver = passwd-file
       args = scheme=SHA512-CRYPT /etc/dovecot/users
       skip = authenticated
       result_success = continue-ok
     }
     passdb {   # 3. login control, after a successful authentication
       driver = pop3_policy
       args = dict=proxy::pop3policy mode=login \
              pop3_policy=login_delay=15m,login_burst=1
       skip = unauthenticated
       result_failure = return-fail
       result_internalfail = return-fail
     }
     userdb {   # the site's userdb first
       driver = passwd-file
       args = /etc/dovecot/users
       result_success = continue-ok
     }
     userdb {   # records successful POP3 logins for LOGIN-DELAY
       driver = pop3_policy
       args = dict=proxy::pop3policy \
              pop3_policy=login_delay=15m,login_burst=1
       skip = notfound
     }

   mode=apop (the default) answers APOP (lookup_credentials) from
   shared/pop3-policy/apop/<user>: a missing record is "unknown user", a
   store failure, a malformed, truncated or altered record, a record under
   a key the key file lacks and a bad key file (loose permissions, wrong
   owner, bad line) are internal failures, which pop3-login reports as
   "-ERR [SYS/TEMP]", never as a wrong password: the module fails closed.
   A PLAIN (unencrypted) record is such a failure too unless the args
   say allow_plaintext=yes. The secret is answered to the APOP mechanism
   of the pop3 service only, whatever the passdb's mechanisms= says:
   CRAM-MD5, DIGEST-MD5 or SCRAM asking for credentials, or any other
   service, get "unknown user". Plaintext logins are never answered
   here.

   mode=login is lookup-only: the login check (LOGIN-DELAY, apop_only),
   in passdb-pop3-policy-login.c.

   APOP secrets are read in auth-worker processes, where synchronous dict
   lookups are fine (decrypting a secret is CPU work, too). The APOP
   passdb reads the secret, the policy and the login record together
   (pop3_policy_store_prefetch) and leaves the latter two in passdb extra
   fields (pop3-policy-auth.h), so that the login check of that request
   decides without the store. The login check of every other POP3 login
   runs in the auth process with asynchronous lookups: the policy record,
   then the APOP record only for apop_only=yes, and the login record only
   when a login_delay applies (pop3_policy_login_check_async()), so that
   it costs no worker round trip. A record that cannot be read is never
   handed over: whoever needs it reads the store and fails closed.

   No secret is ever logged: errors name the user, the key and the key id
   only. */

#include "auth-common.h"
#include "auth.h"
#include "passdb.h"
#include "passdb-blocking.h"
#include "safe-memset.h"
#include "pop3-policy-store.h"
#include "pop3-policy-apop.h"
#include "pop3-policy-login-delay.h"
#include "pop3-policy-auth.h"
#include "passdb-pop3-policy.h"

extern const char *authdb_pop3_policy_version;
void authdb_pop3_policy_init(void);
void authdb_pop3_policy_deinit(void);

const char *authdb_pop3_policy_version = DOVECOT_ABI_VERSION;

struct pop3_policy_passdb_module *
pop3_policy_module(struct auth_request *request)
{
	return (struct pop3_policy_passdb_module *)request->passdb->passdb;
}

/* Makes sure the key ring matches the key file (re-read when the file
   changed, so that rotate-key's new key is used without a restart, and a
   file made loose is refused at once). */
static int
pop3_policy_keyring_refresh(struct pop3_policy_passdb_module *module,
			    const char **error_r)
{
	struct pop3_policy_apop_keyring *ring;

	if (module->set.key_file == NULL)
		return 0;
	if (module->keyring != NULL &&
	    !pop3_policy_apop_keyring_is_stale(module->keyring,
					       module->set.key_file))
		return 0;
	pop3_policy_apop_keyring_free(&module->keyring);
	if (pop3_policy_apop_keyring_read(module->set.key_file, &ring,
					  error_r) < 0)
		return -1;
	module->keyring = ring;
	return 0;
}

static const enum pop3_policy_record_kind apop_prefetch_kinds[] = {
	POP3_POLICY_RECORD_APOP,
	POP3_POLICY_RECORD_POLICY,
	POP3_POLICY_RECORD_LOGIN,
};

/* The records the login check reads. */
struct pop3_policy_login_records {
	/* the store's answer for the policy record: ret > 0 and its fields
	   for a record */
	int policy_ret;
	const char *const *policy_fields;
	/* the login record, zeroed if the user has none */
	struct pop3_policy_login_state state;
	/* NULL, or why the record could not be read or parsed (naming the
	   user and the key) */
	const char *policy_error, *login_error;
};

/* Reads the user's policy and login records, which the APOP passdb
   prefetched with the secret. Both are always read, so that no prefetched
   answer is left behind for a later request of this worker. */
static void
pop3_policy_read_login_records(struct pop3_policy_store *store,
			       const char *user,
			       struct pop3_policy_login_records *records_r)
{
	const char *error;

	i_zero(records_r);
	records_r->policy_ret =
		pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
					 user, &records_r->policy_fields,
					 &error);
	if (records_r->policy_ret < 0)
		records_r->policy_error = error;
	if (pop3_policy_auth_read_login_state(store, user, &records_r->state,
					      &error) < 0)
		records_r->login_error = error;
}

/* Leaves the user's policy and login records (prefetched with the secret)
   in passdb extra fields for the login check of the same APOP request
   (pop3-policy-auth.h), which can then decide in the auth process without
   a worker. A record that cannot be read or parsed is not handed over:
   the login check then reads the store itself and fails closed. Dovecot
   drops the fields if this passdb does not succeed. */
static void pop3_policy_apop_handover(struct auth_request *request,
				      struct pop3_policy_store *store)
{
	struct pop3_policy_login_records records;

	pop3_policy_read_login_records(store, request->fields.user, &records);
	if (records.policy_error != NULL || records.login_error != NULL)
		return;
	pop3_policy_auth_set_policy_record_hint(request, records.policy_ret,
						records.policy_fields);
	pop3_policy_auth_set_login_state_hint(request, &records.state);
}

static enum passdb_result
pop3_policy_lookup_secret(struct auth_request *request,
			  const char **secret_r)
{
	struct pop3_policy_passdb_module *module = pop3_policy_module(request);
	const char *user = request->fields.user;
	const char *const *fields, *key_id, *error;
	int ret;

	/* the secret and the records the login check needs, prefetched
	   together; the records are handed over to the check */
	pop3_policy_store_prefetch(module->store, user, apop_prefetch_kinds,
				   N_ELEMENTS(apop_prefetch_kinds));
	pop3_policy_apop_handover(request, module->store);
	ret = pop3_policy_store_lookup(module->store, POP3_POLICY_RECORD_APOP,
				       user, &fields, &error);
	if (ret < 0) {
		e_error(authdb_event(request), "%s", error);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (ret == 0) {
		e_debug(authdb_event(request), "no APOP secret in the store");
		return PASSDB_RESULT_USER_UNKNOWN;
	}
	if (!module->set.allow_plaintext && fields[0] != NULL &&
	    strcmp(fields[0], POP3_POLICY_APOP_PLAIN_KEY_ID) == 0) {
		/* an unencrypted secret is a choice the passdb must make,
		   not one the store's content makes for it */
		e_error(authdb_event(request),
			"pop3-policy store: user %s: key %s: record holds an "
			"unencrypted (PLAIN) secret, which this passdb "
			"refuses: add allow_plaintext=yes to its args to "
			"accept such records", user,
			pop3_policy_store_key(POP3_POLICY_RECORD_APOP, user));
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (pop3_policy_keyring_refresh(module, &error) < 0) {
		e_error(authdb_event(request), "user %s: %s", user, error);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	ret = pop3_policy_apop_decrypt(module->keyring, user, fields,
				       secret_r, &key_id, &error);
	if (ret == 0) {
		error = module->set.key_file == NULL ?
			t_strdup_printf("record is encrypted under key id %s, "
					"but no key_file= is configured",
					key_id) :
			t_strdup_printf("record is encrypted under key id %s, "
					"which key file %s does not have",
					key_id, module->set.key_file);
	}
	if (ret <= 0) {
		e_error(authdb_event(request),
			"pop3-policy store: user %s: key %s: %s", user,
			pop3_policy_store_key(POP3_POLICY_RECORD_APOP, user),
			error);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	return PASSDB_RESULT_OK;
}

static void
pop3_policy_apop_lookup_credentials(struct auth_request *request,
				    lookup_credentials_callback_t *callback)
{
	enum passdb_result result;
	const char *secret = NULL;

	result = pop3_policy_lookup_secret(request, &secret);
	passdb_handle_credentials(result, secret, "PLAIN", callback, request);
	if (secret != NULL)
		safe_memset((char *)secret, 0, strlen(secret));
}

bool pop3_policy_request_is_apop(struct auth_request *request)
{
	return request->fields.mech_name != NULL &&
		strcasecmp(request->fields.mech_name, "APOP") == 0;
}

static void
pop3_policy_verify_plain(struct auth_request *request,
			 const char *password ATTR_UNUSED,
			 verify_plain_callback_t *callback)
{
	struct pop3_policy_passdb_module *module = pop3_policy_module(request);
	enum passdb_result result;

	if (module->set.mode == POP3_POLICY_AUTH_MODE_LOGIN) {
		if (pop3_policy_login_check(request, &result))
			callback(result, request);
		else
			pop3_policy_login_check_async(request, callback, NULL);
		return;
	}
	/* Plaintext logins are verified by the site's own passdb; this one
	   only answers APOP. */
	callback(PASSDB_RESULT_USER_UNKNOWN, request);
}

static void
pop3_policy_lookup_credentials(struct auth_request *request,
			       lookup_credentials_callback_t *callback)
{
	struct pop3_policy_passdb_module *module = pop3_policy_module(request);
	enum passdb_result result;

	if (module->set.mode == POP3_POLICY_AUTH_MODE_APOP) {
		if (!pop3_policy_request_is_apop(request) ||
		    !pop3_policy_auth_is_pop3(request)) {
			/* The secret is APOP's alone: handed to any other
			   mechanism that asks for credentials (CRAM-MD5,
			   DIGEST-MD5, SCRAM) it would log in wherever that
			   mechanism is offered, IMAP included, even without
			   "mechanisms = apop" in the passdb's config. */
			e_debug(authdb_event(request),
				"APOP secrets answer only APOP on pop3, "
				"not mechanism %s on service %s",
				request->fields.mech_name == NULL ? "(none)" :
				request->fields.mech_name,
				request->fields.service == NULL ? "(none)" :
				request->fields.service);
			callback(PASSDB_RESULT_USER_UNKNOWN, NULL, 0,
				 request);
			return;
		}
		if (worker)
			pop3_policy_apop_lookup_credentials(request, callback);
		else
			passdb_blocking_lookup_credentials(request);
		return;
	}
	if (!pop3_policy_login_check(request, &result)) {
		pop3_policy_login_check_async(request, NULL, callback);
		return;
	}
	/* login mode adds fields only: no credentials, so that auth uses
	   the ones the earlier passdb found */
	callback(result, result == PASSDB_RESULT_OK ? uchar_empty_ptr : NULL,
		 0, request);
}

static struct passdb_module *
pop3_policy_passdb_preinit(pool_t pool, const char *args)
{
	struct pop3_policy_passdb_module *module;

	module = p_new(pool, struct pop3_policy_passdb_module, 1);
	pop3_policy_auth_args_parse(pool, "passdb", args, &module->set);
	/* not blocking: APOP lookups send themselves to a worker
	   (passdb_blocking_lookup_credentials()), where the store is used
	   synchronously; the login check runs in the auth process, with
	   asynchronous store lookups */
	module->module.blocking = FALSE;
	return &module->module;
}

/* A login-mode passdb that let a failure or a store error fall through to
   "success" would silently turn the policy off; refuse to start instead. */
static void pop3_policy_check_rules(struct pop3_policy_passdb_module *module,
				    struct auth *auth)
{
	struct auth_passdb *passdb;

	for (passdb = auth->passdbs; passdb != NULL; passdb = passdb->next) {
		if (passdb->passdb != &module->module)
			continue;
		if (passdb->skip != AUTH_PASSDB_SKIP_UNAUTHENTICATED ||
		    passdb->result_internalfail != AUTH_DB_RULE_RETURN_FAIL ||
		    passdb->result_failure != AUTH_DB_RULE_RETURN_FAIL) {
			i_fatal("passdb pop3_policy mode=login needs "
				"skip = unauthenticated, result_failure = "
				"return-fail and result_internalfail = "
				"return-fail (else a failed check would let "
				"the login through)");
		}
	}
}

static void pop3_policy_passdb_init(struct passdb_module *_module)
{
	struct pop3_policy_passdb_module *module =
		(struct pop3_policy_passdb_module *)_module;
	struct auth *auth;

	module->store = pop3_policy_auth_store_open(&module->set, "passdb");
	if (module->set.mode == POP3_POLICY_AUTH_MODE_LOGIN) {
		pop3_policy_check_rules(module, auth_default_service());
		auth = auth_find_service("pop3");
		if (auth != NULL)
			pop3_policy_check_rules(module, auth);
	}
	/* The key file is read at the first APOP lookup (in the worker), so
	   that a bad key file fails APOP closed with a clear error instead
	   of taking every other login down with the auth process. */
}

static void pop3_policy_passdb_deinit(struct passdb_module *_module)
{
	struct pop3_policy_passdb_module *module =
		(struct pop3_policy_passdb_module *)_module;

	pop3_policy_apop_keyring_free(&module->keyring);
	pop3_policy_store_deinit(&module->store);
}

static struct passdb_module_interface passdb_pop3_policy = {
	.name = "pop3_policy",
	.preinit = pop3_policy_passdb_preinit,
	.init = pop3_policy_passdb_init,
	.deinit = pop3_policy_passdb_deinit,
	.verify_plain = pop3_policy_verify_plain,
	.lookup_credentials = pop3_policy_lookup_credentials,
};

void authdb_pop3_policy_init(void)
{
	passdb_register_module(&passdb_pop3_policy);
	pop3_policy_userdb_register();
}

void authdb_pop3_policy_deinit(void)
{
	pop3_policy_userdb_unregister();
	passdb_unregister_module(&passdb_pop3_policy);
}
