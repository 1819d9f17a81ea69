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
   only for users whose policy has a login_delay; a store failure fails
   the login closed (internal failure) rather than letting an unrecorded
   login through. Two logins racing through the passdb check at the same
   moment are both recorded (the count may exceed the burst by the number
   of racers; the window still holds). */

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

static int
pop3_policy_userdb_record(struct pop3_policy_userdb_module *module,
			  struct auth_request *request, const char **error_r)
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
	ret = pop3_policy_store_lookup(module->store, POP3_POLICY_RECORD_LOGIN,
				       user, &fields, error_r);
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
	return pop3_policy_store_set(module->store, POP3_POLICY_RECORD_LOGIN,
				     user,
				     pop3_policy_login_state_fields(&new_state),
				     error_r);
}

static void
pop3_policy_userdb_lookup(struct auth_request *request,
			  userdb_callback_t *callback)
{
	struct pop3_policy_userdb_module *module =
		(struct pop3_policy_userdb_module *)request->userdb->userdb;
	unsigned int delay_secs;
	const char *error;

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
	if (pop3_policy_userdb_record(module, request, &error) < 0) {
		e_error(authdb_event(request),
			"recording the login for LOGIN-DELAY failed: %s",
			error);
		callback(USERDB_RESULT_INTERNAL_FAILURE, request);
		return;
	}
	callback(USERDB_RESULT_OK, request);
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
