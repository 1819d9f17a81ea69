#ifndef POP3_POLICY_AUTH_H
#define POP3_POLICY_AUTH_H

/* Shared between the pop3_policy passdb and userdb of
   libauthdb_pop3_policy.so: their args, the store and the user's login
   policy. Internal to the module (not exported). */

#include "array.h"
#include "pop3-policy-rules.h"

struct auth_request;
struct pop3_policy_store;
struct pop3_policy_apop_keyring;
struct pop3_policy_login_state;

enum pop3_policy_auth_mode {
	/* answer APOP from the store's secrets */
	POP3_POLICY_AUTH_MODE_APOP = 0,
	/* lookup only: enforce login_delay, login_burst and apop_only */
	POP3_POLICY_AUTH_MODE_LOGIN,
};

struct pop3_policy_auth_class {
	const char *name;
	const char *policy;
};

struct pop3_policy_auth_settings {
	enum pop3_policy_auth_mode mode;
	const char *dict_uri;
	const char *key_file;
	/* accept PLAIN (unencrypted) APOP records: allow_plaintext=yes */
	bool allow_plaintext;
	/* site default (the plugin setting pop3_policy) and classes
	   (pop3_policy_class_<name>), in policy syntax */
	const char *site_policy;
	ARRAY(struct pop3_policy_auth_class) classes;
	/* the defaults with site_policy (and its classes) merged, parsed
	   once by pop3_policy_auth_args_parse(); if site_policy does not
	   parse, site_error says why and every resolution fails with it */
	struct pop3_policy site_layer;
	const char *site_error;
};

/* Parses the passdb/userdb args: dict=<uri> key_file=<path>
   allow_plaintext=yes|no mode=apop|login pop3_policy=<words>
   pop3_policy_class_<name>=<words>,
   where <words> are policy words joined with ','. i_fatal()s with the bad
   arg, as Dovecot does for bad passdb args at startup. Called once per
   module (preinit): set_r then holds everything the module reads from
   its args, the site layer already parsed. */
void pop3_policy_auth_args_parse(pool_t pool, const char *driver,
				 const char *args,
				 struct pop3_policy_auth_settings *set_r);
/* How long the auth process keeps an idle connection to the dict server
   (proxy: stores) open. Must stay below the dict client's request timeout
   (DICT_CLIENT_REQUEST_TIMEOUT_MSECS, 30 s, src/lib-dict/dict-client.c):
   Dovecot 2.3's dict client leaves that timeout armed after the first
   burst of commands on a new connection, and it asserts when it fires
   with nothing pending; closing the idle connection first removes it. */
#define POP3_POLICY_AUTH_DICT_IDLE_MSECS (20 * 1000)

/* Opens the store of the settings, with a proxy: store's connection kept
   open (pop3_policy_store_uri_keep_open()); i_fatal() on a bad URI. */
struct pop3_policy_store *
pop3_policy_auth_store_open(const struct pop3_policy_auth_settings *set,
			    const char *driver);

/* The policy words of a policy record as pop3_policy_store_lookup()
   answered it (ret, fields): NULL if the user has none. */
const char *pop3_policy_auth_store_policy(int ret, const char *const *fields);
/* The login state of a login record as pop3_policy_store_lookup()
   answered it (ret >= 0, fields): zeroed if the user has none. Returns 0,
   or -1 with error_r naming the user and the key if it is malformed. */
int pop3_policy_auth_login_state(const char *user, int ret,
				 const char *const *fields,
				 struct pop3_policy_login_state *state_r,
				 const char **error_r);
/* Reads the user's login record (zeroed state if there is none). Returns
   0, or -1 with error_r naming the user and the key. */
int pop3_policy_auth_read_login_state(struct pop3_policy_store *store,
				      const char *user,
				      struct pop3_policy_login_state *state_r,
				      const char **error_r);
/* Resolves the user's login policy from the site layer that
   pop3_policy_auth_args_parse() parsed (set->site_layer) and the store
   record's policy words (NULL: no record), whose class= words are looked
   up in set->classes.
   Returns 0, or -1 with error_r naming the user if a policy is bad. */
int pop3_policy_auth_resolve_with(const struct pop3_policy_auth_settings *set,
				  const char *user, const char *store_policy,
				  struct pop3_policy *policy_r,
				  const char **error_r);
/* Resolves the user's login policy: defaults, site, classes and the
   store record shared/pop3-policy/policy/<user>. Returns 0, or -1 with
   error_r (naming the user) if the store failed or a policy is bad. */
int pop3_policy_auth_resolve(const struct pop3_policy_auth_settings *set,
			     struct pop3_policy_store *store,
			     const char *user, struct pop3_policy *policy_r,
			     const char **error_r);

/* The passdb in mode=login leaves the user's resolved login_delay (in
   seconds) in this passdb extra field of a POP3 request it let through,
   so that the pop3_policy userdb of the same request need not resolve
   the policy again. A request without it (no mode=login passdb in the
   chain, doveadm user) is resolved from the store in a worker (auth
   exports passdb extra fields to the worker that runs the userdb lookup).
   pop3-login ignores the field. */
#define POP3_POLICY_AUTH_LOGIN_DELAY_FIELD "pop3_policy_login_delay"
/* With a login_delay, the passdb also leaves the login record it read for
   its decision ("<last login> <window start> <logins in window>"), so
   that the userdb counts this login into it without reading it again. */
#define POP3_POLICY_AUTH_LOGIN_STATE_FIELD "pop3_policy_login_state"
/* The user's policy record as read from the store, encoded as stored (""
   for none). The APOP passdb reads it with the secret (one pipelined round
   trip) and leaves it here with the login record in the field above, so
   that the login check of the same APOP request decides in the auth
   process, without a worker or a store lookup. Otherwise the login check
   (mode=login, asynchronous path) reads it and leaves it. Either way the
   userdb hands it to the session without reading it again: one dict round
   trip less per POP3 login. */
#define POP3_POLICY_AUTH_POLICY_RECORD_FIELD "pop3_policy_policy_record"

/* Returns TRUE and the login_delay that the mode=login passdb resolved for
   this request, FALSE if it did not leave one. */
bool pop3_policy_auth_login_delay_hint(struct auth_request *request,
				       unsigned int *delay_secs_r);
/* Sets the policy record field for the userdb: the record as read (ret
   and fields of the store lookup, ret > 0 for a record). */
void pop3_policy_auth_set_policy_record_hint(struct auth_request *request,
					     int ret,
					     const char *const *fields);
/* Returns TRUE and the policy record the login check left (*record_r NULL
   for none), FALSE if it left none. */
bool pop3_policy_auth_policy_record_hint(struct auth_request *request,
					 const char **record_r);
/* Sets the login state field for the userdb. */
void pop3_policy_auth_set_login_state_hint(struct auth_request *request,
	const struct pop3_policy_login_state *state);
/* Returns TRUE and the login record that the mode=login passdb read for
   this request, FALSE if it did not leave one (or it does not parse). */
bool pop3_policy_auth_login_state_hint(struct auth_request *request,
				       struct pop3_policy_login_state *state_r);

/* TRUE if the request is a POP3 login (the only service this module acts
   on; others pass untouched). */
bool pop3_policy_auth_is_pop3(struct auth_request *request);

void pop3_policy_userdb_register(void);
void pop3_policy_userdb_unregister(void);

#endif
