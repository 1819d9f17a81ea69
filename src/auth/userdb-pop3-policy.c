/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* userdb { driver = pop3_policy  args = dict=<uri> pop3_policy=<words>
            skip = notfound }

   Records successful POP3 logins in shared/pop3-policy/login/<user> for
   LOGIN-DELAY. Auth looks users up in the userdb only after a login
   succeeded (the master's REQUEST from pop3-login), so this is the one
   place that sees exactly the logins that count: a wrong APOP digest
   (checked after the passdb) or a refused login never reaches it. It adds
   no fields; put it after the site's userdb, which needs
   result_success = continue-ok. Only the pop3 service is recorded, and
   only for users whose policy has a login_delay (the mode=login passdb
   hands the resolved login_delay over, see pop3-policy-auth.h; without
   it the policy is resolved here). Other services and users without a
   login_delay are answered in the auth process at once; the rest go to a
   worker, where the store is used synchronously.

   The login is counted into the login record that the passdb check read
   for its decision (handed over the same way; without it the record is
   read here). Reading fails closed: a store failure or a malformed
   record fails the login with an internal failure. The write of the new
   record is done after the reply has gone out, so a login does not wait
   for the store's commit (on SQLite, a journal write per login). If that
   write fails, the login has already been let through: it is logged as
   an error naming the user and the key, and the login does not count.
   This is deliberate: LOGIN-DELAY throttles how often a client polls, it
   does not protect anything secret, and the login was correct; an
   administrator expects a client that authenticated to get in and a
   bookkeeping failure to show up in the log, not as "-ERR [SYS/TEMP]"
   after the password was accepted. A store that is really down is
   caught by the next login's check, which reads the store fail-closed.

   Two logins racing through the passdb check at the same moment are both
   let in, and each counts itself into the record it read, so the count
   may come out short by the number of racers (the window still holds;
   a client polls one session at a time). */

#include "auth-common.h"
#include "ioloop.h"
#include "userdb.h"
#include "userdb-blocking.h"
#include "pop3-policy-store.h"
#include "pop3-policy-login-delay.h"
#include "pop3-policy-auth.h"

struct pop3_policy_userdb_module {
	struct userdb_module module;

	struct pop3_policy_auth_settings set;
	struct pop3_policy_store *store;
};

/* Returns 1 and the login record to write for this login, 0 if nothing
   is recorded (no login_delay), -1 with error_r on a store failure or a
   malformed record. */
static int
pop3_policy_userdb_next_state(struct pop3_policy_userdb_module *module,
			      struct auth_request *request,
			      const char *const **fields_r,
			      const char **error_r)
{
	const char *user = request->fields.user;
	struct pop3_policy policy;
	struct pop3_policy_login_state state, new_state;
	const char *const *fields, *error;
	unsigned int delay_secs;
	int ret;

	if (!pop3_policy_auth_login_delay_hint(request, &delay_secs)) {
		if (pop3_policy_auth_resolve(&module->set, module->store,
					     user, &policy, error_r) < 0)
			return -1;
		delay_secs = policy.login_delay_secs;
	}
	if (delay_secs == 0)
		return 0;

	i_zero(&state);
	if (pop3_policy_auth_login_state_hint(request, &state))
		ret = 0;
	else {
		ret = pop3_policy_store_lookup(module->store,
					       POP3_POLICY_RECORD_LOGIN,
					       user, &fields, error_r);
	}
	if (ret < 0)
		return -1;
	if (ret > 0 &&
	    pop3_policy_login_state_parse(fields, &state, &error) < 0) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: key %s: %s", user,
			pop3_policy_store_key(POP3_POLICY_RECORD_LOGIN, user),
			error);
		return -1;
	}
	pop3_policy_login_delay_record(&state, ioloop_time, delay_secs,
				       &new_state);
	*fields_r = pop3_policy_login_state_fields(&new_state);
	return 1;
}

static void
pop3_policy_userdb_lookup(struct auth_request *request,
			  userdb_callback_t *callback)
{
	struct pop3_policy_userdb_module *module =
		(struct pop3_policy_userdb_module *)request->userdb->userdb;
	const char *const *fields, *user, *error;
	unsigned int delay_secs;
	int ret;

	if (!pop3_policy_auth_is_pop3(request) ||
	    (pop3_policy_auth_login_delay_hint(request, &delay_secs) &&
	     delay_secs == 0)) {
		/* nothing to record: answered in the auth process itself,
		   without a round trip to a worker */
		callback(USERDB_RESULT_OK, request);
		return;
	}
	if (!worker) {
		/* the store is read and written synchronously: in a
		   worker, as for a blocking userdb */
		userdb_blocking_lookup(request);
		return;
	}
	ret = pop3_policy_userdb_next_state(module, request, &fields, &error);
	if (ret < 0) {
		e_error(authdb_event(request),
			"recording the login for LOGIN-DELAY failed: %s",
			error);
		callback(USERDB_RESULT_INTERNAL_FAILURE, request);
		return;
	}
	if (ret == 0) {
		callback(USERDB_RESULT_OK, request);
		return;
	}
	/* Reply first (the worker flushes it at once), then write: see the
	   comment at the top for why a failed write does not fail the
	   login. The request is kept for the log. */
	user = t_strdup(request->fields.user);
	auth_request_ref(request);
	callback(USERDB_RESULT_OK, request);
	if (pop3_policy_store_set(module->store, POP3_POLICY_RECORD_LOGIN,
				  user, fields, &error) < 0) {
		e_error(authdb_event(request),
			"userdb pop3_policy: recording the login for "
			"LOGIN-DELAY failed after the login was let through "
			"(it does not count): %s", error);
	}
	auth_request_unref(&request);
}

static struct userdb_module *
pop3_policy_userdb_preinit(pool_t pool, const char *args)
{
	struct pop3_policy_userdb_module *module;

	module = p_new(pool, struct pop3_policy_userdb_module, 1);
	pop3_policy_auth_args_parse(pool, "userdb", args, &module->set);
	if (module->set.mode != POP3_POLICY_AUTH_MODE_APOP ||
	    module->set.key_file != NULL)
		i_fatal("userdb pop3_policy: mode= and key_file= are passdb "
			"settings");
	/* not blocking: the lookup itself sends the requests that need the
	   store to a worker (userdb_blocking_lookup()) and answers the
	   others (other services, users without login_delay) at once */
	module->module.blocking = FALSE;
	return &module->module;
}

static void pop3_policy_userdb_init(struct userdb_module *_module)
{
	struct pop3_policy_userdb_module *module =
		(struct pop3_policy_userdb_module *)_module;

	module->store = pop3_policy_auth_store_open(&module->set, "userdb");
}

static void pop3_policy_userdb_deinit(struct userdb_module *_module)
{
	struct pop3_policy_userdb_module *module =
		(struct pop3_policy_userdb_module *)_module;

	pop3_policy_store_deinit(&module->store);
}

static struct userdb_module_interface userdb_pop3_policy = {
	.name = "pop3_policy",
	.preinit = pop3_policy_userdb_preinit,
	.init = pop3_policy_userdb_init,
	.deinit = pop3_policy_userdb_deinit,
	.lookup = pop3_policy_userdb_lookup,
};

void pop3_policy_userdb_register(void)
{
	userdb_register_module(&userdb_pop3_policy);
}

void pop3_policy_userdb_unregister(void)
{
	userdb_unregister_module(&userdb_pop3_policy);
}
