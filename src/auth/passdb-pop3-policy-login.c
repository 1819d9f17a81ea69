/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The login check of passdb { driver = pop3_policy  args = mode=login }
   (the chain it belongs in: passdb-pop3-policy.c).

   mode=login is lookup-only. It never authenticates anyone by itself (a
   request that no earlier passdb authenticated gets "unknown user"), and
   acts only on the pop3 service; other services pass untouched. For POP3
   it resolves the user's policy (args pop3_policy= and
   pop3_policy_class_<name>=, see pop3-policy-auth-settings.c, then the
   store record) and:
   - apop_only=yes and the user has an APOP secret: any mechanism but APOP
     (USER/PASS, SASL PLAIN) fails as a disabled user, which the client
     sees as the usual "-ERR [AUTH] Authentication failed.";
   - login_delay: a login inside the window that already holds
     1 + login_burst logins succeeds with nologin and reason
     "[LOGIN-DELAY] ...", which pop3-login sends as
     "-ERR [LOGIN-DELAY] ..." (on PASS, AUTH and APOP; USER is never
     authenticated, so never refused).
   Known limit: Dovecot verifies an APOP digest only after the passdb
   chain has run, so inside a delay window a wrong digest is answered
   "-ERR [LOGIN-DELAY] ..." as well (outside a window it gets the usual
   "-ERR [AUTH] ..."). It does not count as a login; it tells someone who
   knows the user name only that the user logged in within the delay.
   A store failure there must not let the login through, hence
   result_internalfail = return-fail (checked at startup, with skip =
   unauthenticated). Logins are recorded by the pop3_policy userdb (see
   userdb-pop3-policy.c) because only a login that really succeeded may
   count: recording in the passdb would let wrong APOP digests, which are
   checked after the passdb, lock the user out.

   The login check of an APOP login decides from the records the APOP
   passdb handed over (pop3-policy-auth.h); every other POP3 login is
   checked in the auth process with asynchronous lookups: the policy
   record, then the APOP record only for apop_only=yes, and the login
   record only when a login_delay applies
   (pop3_policy_login_check_async()), so that it costs no worker round
   trip. */

#include "auth-common.h"
#include "ioloop.h"
#include "passdb.h"
#include "pop3-policy-store.h"
#include "pop3-policy-record.h"
#include "pop3-policy-login-delay.h"
#include "pop3-policy-auth.h"
#include "passdb-pop3-policy.h"

/* pop3-login ignores nologin when the reply also says proxy (or
   proxy_maybe, src/login-common/client-common-auth.c): it would proxy a
   login that LOGIN-DELAY refuses. Removing the proxy fields an earlier
   passdb set (with host, which would make a refusal a referral) lets
   nologin refuse it as it refuses any other. */
static void pop3_policy_login_drop_proxy(struct auth_request *request)
{
	static const char *const proxy_fields[] = {
		"proxy", "proxy_maybe", "proxy_always", "host"
	};
	unsigned int i;

	if (request->fields.extra_fields == NULL ||
	    (!auth_fields_exists(request->fields.extra_fields, "proxy") &&
	     !auth_fields_exists(request->fields.extra_fields, "proxy_maybe")))
		return;
	e_info(authdb_event(request),
	       "login_delay: refusing a login the passdb would proxy");
	for (i = 0; i < N_ELEMENTS(proxy_fields); i++)
		auth_fields_remove(request->fields.extra_fields,
				   proxy_fields[i]);
}

/* The decision of the login check, from the user's login policy, whether
   the user has an APOP secret (read only for apop_only=yes and a mechanism
   other than APOP) and the login record (read only with a login_delay). */
static enum passdb_result
pop3_policy_login_decide(struct auth_request *request, bool is_apop,
			 unsigned int login_delay_secs,
			 unsigned int login_burst, bool apop_only,
			 bool has_apop_secret,
			 const struct pop3_policy_login_state *state)
{
	unsigned int wait_secs;

	if (apop_only && !is_apop && has_apop_secret) {
		e_info(authdb_event(request),
		       "apop_only=yes: refusing mechanism %s for a user with "
		       "an APOP secret", request->fields.mech_name);
		return PASSDB_RESULT_USER_DISABLED;
	}
	/* for the userdb of this request (pop3-policy-auth.h) */
	auth_request_set_field(request, POP3_POLICY_AUTH_LOGIN_DELAY_FIELD,
			       dec2str(login_delay_secs), NULL);
	if (login_delay_secs == 0)
		return PASSDB_RESULT_OK;
	if (!pop3_policy_login_delay_allowed(state, ioloop_time,
					     login_delay_secs, login_burst,
					     &wait_secs)) {
		e_info(authdb_event(request),
		       "login_delay=%u: refused, next login allowed in %u "
		       "seconds", login_delay_secs, wait_secs);
		pop3_policy_login_drop_proxy(request);
		auth_request_set_field(request, "nologin", "", NULL);
		auth_request_set_field(request, "reason", t_strdup_printf(
			"[LOGIN-DELAY] Logins are limited to one per %u "
			"seconds: try again in %u seconds.",
			login_delay_secs, wait_secs), NULL);
	}
	return PASSDB_RESULT_OK;
}

/* The part of the login check that needs no store. Returns TRUE with the
   result if that decides (requests not authenticated by an earlier
   passdb, other services), FALSE if the user's records are needed. */
static bool
pop3_policy_login_precheck(struct auth_request *request,
			   enum passdb_result *result_r)
{
	*result_r = PASSDB_RESULT_OK;
	if (!request->fields.skip_password_check) {
		/* lookup-only: never authenticate by ourselves */
		e_debug(authdb_event(request),
			"login control: not authenticated by an earlier "
			"passdb, ignoring");
		*result_r = PASSDB_RESULT_USER_UNKNOWN;
		return TRUE;
	}
	return !pop3_policy_auth_is_pop3(request);
}

bool pop3_policy_login_check(struct auth_request *request,
			     enum passdb_result *result_r)
{
	struct pop3_policy_passdb_module *module = pop3_policy_module(request);
	struct pop3_policy policy;
	struct pop3_policy_login_state state;
	const char *record, *const *fields, *store_policy = NULL, *error;

	if (pop3_policy_login_precheck(request, result_r))
		return TRUE;
	if (!pop3_policy_request_is_apop(request))
		return FALSE;
	if (!pop3_policy_auth_policy_record_hint(request, &record) ||
	    !pop3_policy_auth_login_state_hint(request, &state))
		return FALSE;
	if (record != NULL) {
		/* encoded by the APOP passdb from what it read: if it does
		   not decode, the store is read instead */
		if (pop3_policy_record_decode(POP3_POLICY_RECORD_POLICY,
					      record, &fields, &error) < 0)
			return FALSE;
		store_policy = pop3_policy_auth_store_policy(1, fields);
	}

	if (pop3_policy_auth_resolve_with(&module->set, request->fields.user,
					  store_policy, &policy,
					  &error) < 0) {
		e_error(authdb_event(request), "%s", error);
		*result_r = PASSDB_RESULT_INTERNAL_FAILURE;
		return TRUE;
	}
	/* apop_only does not concern an APOP login */
	*result_r = pop3_policy_login_decide(request, TRUE,
					     policy.login_delay_secs,
					     policy.login_burst,
					     policy.apop_only, FALSE, &state);
	return TRUE;
}

/* The login check that reads the store, in the auth process with
   asynchronous lookups, in this order: the policy record; the APOP record
   only for apop_only=yes and a mechanism other than APOP; the login record
   only when a login_delay applies (most users have none, and only then
   does its failure count). Any failure fails the login closed. A POP3
   login thus costs no round trip to a worker. */
struct pop3_policy_login_check_async {
	struct auth_request *request;
	verify_plain_callback_t *verify_callback;
	lookup_credentials_callback_t *credentials_callback;

	bool is_apop;
	unsigned int login_delay_secs, login_burst;
	bool apop_only, has_apop_secret;
	struct pop3_policy_login_state state;
};

static void
pop3_policy_login_async_finish(struct pop3_policy_login_check_async *ctx,
			       enum passdb_result result)
{
	struct auth_request *request = ctx->request;

	if (ctx->verify_callback != NULL)
		ctx->verify_callback(result, request);
	else {
		/* login mode adds fields only: no credentials, so that
		   auth uses the ones the earlier passdb found */
		ctx->credentials_callback(result,
			result == PASSDB_RESULT_OK ? uchar_empty_ptr : NULL,
			0, request);
	}
	auth_request_unref(&request);
}

static void
pop3_policy_login_async_fail(struct pop3_policy_login_check_async *ctx,
			     const char *error)
{
	e_error(authdb_event(ctx->request), "%s", error);
	pop3_policy_login_async_finish(ctx, PASSDB_RESULT_INTERNAL_FAILURE);
}

static void
pop3_policy_login_async_decide(struct pop3_policy_login_check_async *ctx)
{
	pop3_policy_login_async_finish(ctx,
		pop3_policy_login_decide(ctx->request, ctx->is_apop,
					 ctx->login_delay_secs,
					 ctx->login_burst, ctx->apop_only,
					 ctx->has_apop_secret, &ctx->state));
}

static void
pop3_policy_login_async_login_read(int ret, const char *const *fields,
				   const char *error, void *context)
{
	struct pop3_policy_login_check_async *ctx = context;

	if (ret >= 0 &&
	    pop3_policy_auth_login_state(ctx->request->fields.user, ret,
					 fields, &ctx->state, &error) < 0)
		ret = -1;
	if (ret < 0) {
		pop3_policy_login_async_fail(ctx, error);
		return;
	}
	pop3_policy_auth_set_login_state_hint(ctx->request, &ctx->state);
	pop3_policy_login_async_decide(ctx);
}

static void
pop3_policy_login_async_login(struct pop3_policy_login_check_async *ctx)
{
	struct pop3_policy_passdb_module *module =
		pop3_policy_module(ctx->request);

	if (ctx->login_delay_secs == 0) {
		pop3_policy_login_async_decide(ctx);
		return;
	}
	pop3_policy_store_lookup_async(module->store, POP3_POLICY_RECORD_LOGIN,
				       ctx->request->fields.user,
				       pop3_policy_login_async_login_read, ctx);
}

static void
pop3_policy_login_async_apop_read(int ret,
				  const char *const *fields ATTR_UNUSED,
				  const char *error, void *context)
{
	struct pop3_policy_login_check_async *ctx = context;

	if (ret < 0) {
		pop3_policy_login_async_fail(ctx, error);
		return;
	}
	ctx->has_apop_secret = ret > 0;
	pop3_policy_login_async_login(ctx);
}

static void
pop3_policy_login_async_policy_read(int ret, const char *const *fields,
				    const char *error, void *context)
{
	struct pop3_policy_login_check_async *ctx = context;
	struct pop3_policy_passdb_module *module =
		pop3_policy_module(ctx->request);
	struct pop3_policy policy;

	if (ret < 0 ||
	    pop3_policy_auth_resolve_with(&module->set,
					  ctx->request->fields.user,
					  pop3_policy_auth_store_policy(ret,
									fields),
					  &policy, &error) < 0) {
		pop3_policy_login_async_fail(ctx, error);
		return;
	}
	pop3_policy_auth_set_policy_record_hint(ctx->request, ret, fields);
	ctx->login_delay_secs = policy.login_delay_secs;
	ctx->login_burst = policy.login_burst;
	ctx->apop_only = policy.apop_only;
	if (ctx->apop_only && !ctx->is_apop) {
		pop3_policy_store_lookup_async(module->store,
			POP3_POLICY_RECORD_APOP, ctx->request->fields.user,
			pop3_policy_login_async_apop_read, ctx);
		return;
	}
	pop3_policy_login_async_login(ctx);
}

void pop3_policy_login_check_async(struct auth_request *request,
		verify_plain_callback_t *verify_callback,
		lookup_credentials_callback_t *credentials_callback)
{
	struct pop3_policy_passdb_module *module = pop3_policy_module(request);
	struct pop3_policy_login_check_async *ctx;

	ctx = p_new(request->pool, struct pop3_policy_login_check_async, 1);
	ctx->request = request;
	ctx->verify_callback = verify_callback;
	ctx->credentials_callback = credentials_callback;
	ctx->is_apop = pop3_policy_request_is_apop(request);
	auth_request_ref(request);
	pop3_policy_store_lookup_async(module->store,
				       POP3_POLICY_RECORD_POLICY,
				       request->fields.user,
				       pop3_policy_login_async_policy_read,
				       ctx);
}
