#ifndef PASSDB_POP3_POLICY_H
#define PASSDB_POP3_POLICY_H

/* Shared by the two halves of the pop3_policy passdb: the APOP passdb
   and the module's wiring (passdb-pop3-policy.c) and the mode=login
   check (passdb-pop3-policy-login.c). Internal to the module. */

#include "passdb.h"

struct pop3_policy_apop_keyring;

struct pop3_policy_passdb_module {
	struct passdb_module module;

	struct pop3_policy_auth_settings set;
	struct pop3_policy_store *store;
	struct pop3_policy_apop_keyring *keyring;
};

/* The passdb module of the request's passdb. */
struct pop3_policy_passdb_module *
pop3_policy_module(struct auth_request *request);
/* TRUE if the request authenticates with the APOP mechanism. */
bool pop3_policy_request_is_apop(struct auth_request *request);

/* The login check when it needs no store: requests not authenticated by
   an earlier passdb, other services, and APOP logins whose policy and
   login records the APOP passdb handed over. Returns TRUE with the
   result, or FALSE if the user's records must be read
   (pop3_policy_login_check_async()). */
bool pop3_policy_login_check(struct auth_request *request,
			     enum passdb_result *result_r);
/* The login check that reads the store asynchronously, answering through
   verify_callback (verify_plain) or else credentials_callback
   (lookup_credentials, with no credentials of its own). */
void pop3_policy_login_check_async(struct auth_request *request,
		verify_plain_callback_t *verify_callback,
		lookup_credentials_callback_t *credentials_callback);

#endif
