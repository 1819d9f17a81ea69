/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* userdb { driver = pop3_policy  args = dict=<uri> pop3_policy=<words>
            skip = notfound }

   Records successful POP3 logins in shared/pop3-policy/login/<user> for
   LOGIN-DELAY. Auth looks users up in the userdb only after a login
   succeeded (the master's REQUEST from pop3-login), so this is the one
   place that sees exactly the logins that count: a wrong APOP digest
   (checked after the passdb) or a refused login never reaches it. Put it
   after the site's userdb, which needs result_success = continue-ok.
   Only the pop3 service is recorded, and only for users whose policy has
   a login_delay (the mode=login passdb hands the resolved login_delay
   over, see pop3-policy-auth.h; without it the policy is resolved here).
   Other services are answered in the auth process at once. So are the
   users whose login_delay and login record the passdb check handed over
   (the usual case): the new record is written from the auth process with
   an asynchronous commit, which costs no round trip to a worker. The rest
   (no login check in the chain) go to a worker, which reads the store
   synchronously.

   For the pop3 service it also hands the session its policy record as
   userdb fields (pop3-policy-handover.h), so that the session never opens
   the store. The record is taken from the mode=login passdb check, which
   has just read it (POP3_POLICY_AUTH_POLICY_RECORD_FIELD), when it left
   it; otherwise it is read here with an asynchronous lookup on the auth
   process's own connection to the store. A lookup that fails leaves the
   record out, so the session reads it (where it may) and fails closed as
   it always did.

   The login is counted into the login record that the passdb check read
   for its decision (handed over the same way; without it the record is
   read here). Reading fails closed: a store failure or a malformed
   record fails the login with an internal failure. The new record is
   committed before the userdb answers, so that the client's next login,
   which may follow the +OK at once, is checked against it (answering
   first let a quick second login read the old record). If that write
   fails, the login is still let through: it is logged as an error naming
   the user and the key, and the login does not count. This is
   deliberate: LOGIN-DELAY throttles how often a client polls, it
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
#include "pop3-policy-handover.h"
#include "pop3-policy-auth.h"

struct pop3_policy_userdb_module {
	struct userdb_module module;

	struct pop3_policy_auth_settings set;
	struct pop3_policy_store *store;
};

/* pop3_policy_userdb_next_state() in the auth process: the store must
   be read, which only a worker does */
#define USERDB_NEEDS_STORE -2

/* Returns 1 and the login record to write for this login, 0 if nothing
   is recorded (no login_delay), -1 with error_r on a store failure or a
   malformed record. With may_use_store FALSE, returns USERDB_NEEDS_STORE
   instead of reading what the passdb check did not hand over. */
static int
pop3_policy_userdb_next_state(struct pop3_policy_userdb_module *module,
			      struct auth_request *request,
			      bool may_use_store,
			      const char *const **fields_r,
			      const char **error_r)
{
	const char *user = request->fields.user;
	struct pop3_policy policy;
	struct pop3_policy_login_state state, new_state;
	unsigned int delay_secs;

	if (!pop3_policy_auth_login_delay_hint(request, &delay_secs)) {
		if (!may_use_store)
			return USERDB_NEEDS_STORE;
		if (pop3_policy_auth_resolve(&module->set, module->store,
					     user, &policy, error_r) < 0)
			return -1;
		delay_secs = policy.login_delay_secs;
	}
	if (delay_secs == 0)
		return 0;

	i_zero(&state);
	if (!pop3_policy_auth_login_state_hint(request, &state)) {
		if (!may_use_store)
			return USERDB_NEEDS_STORE;
		if (pop3_policy_auth_read_login_state(module->store, user,
						      &state, error_r) < 0)
			return -1;
	}
	pop3_policy_login_delay_record(&state, ioloop_time, delay_secs,
				       &new_state);
	*fields_r = pop3_policy_login_state_fields(&new_state);
	return 1;
}

/* One POP3 userdb lookup in the auth process: the records handed over to
   the session and the login record's commit, answered when all are done. */
struct pop3_policy_userdb_lookup {
	struct pop3_policy_userdb_module *module;
	struct auth_request *request;
	userdb_callback_t *callback;
	/* by record kind (those of pop3_policy_handover_kinds[]): the
	   record as read (NULL: none) and whether it was read */
	const char *records[POP3_POLICY_RECORD_KIND_COUNT];
	bool read[POP3_POLICY_RECORD_KIND_COUNT];
	unsigned int pending;
};

struct pop3_policy_userdb_handover_read {
	struct pop3_policy_userdb_lookup *lookup;
	enum pop3_policy_record_kind kind;
};

static void
pop3_policy_userdb_handover_send(struct pop3_policy_userdb_lookup *lookup,
				 unsigned int first, unsigned int last);

static void
pop3_policy_userdb_lookup_finish(struct pop3_policy_userdb_lookup *lookup)
{
	struct auth_request *request = lookup->request;
	struct pop3_policy_handover_record
		handover[POP3_POLICY_RECORD_KIND_COUNT];
	const char *const *fields;
	enum pop3_policy_record_kind kind;
	unsigned int i, count = 0;

	i_assert(lookup->pending > 0);
	if (--lookup->pending > 0)
		return;
	for (i = 0; i < pop3_policy_handover_kinds_count; i++) {
		kind = pop3_policy_handover_kinds[i];
		if (!lookup->read[kind])
			continue;
		handover[count].kind = kind;
		handover[count].record = lookup->records[kind];
		count++;
	}
	T_BEGIN {
		fields = pop3_policy_handover_fields(request->fields.user,
						     handover, count);
		for (; *fields != NULL; fields += 2) {
			auth_request_set_userdb_field(request, fields[0],
						      fields[1]);
		}
	} T_END;
	lookup->callback(USERDB_RESULT_OK, request);
	auth_request_unref(&request);
}

static void pop3_policy_userdb_handover_read(int ret,
					     const char *const *fields,
					     const char *error, void *context)
{
	struct pop3_policy_userdb_handover_read *hread = context;
	struct pop3_policy_userdb_lookup *lookup = hread->lookup;

	if (ret < 0) {
		/* not handed over: the session reads it itself and fails
		   closed there, with its own error */
		e_debug(authdb_event(lookup->request), "userdb pop3_policy: "
			"not handing over the %s record: %s",
			pop3_policy_record_kind_name(hread->kind), error);
	} else {
		lookup->read[hread->kind] = TRUE;
		if (ret > 0) {
			lookup->records[hread->kind] =
				p_strdup(lookup->request->pool,
					 pop3_policy_record_encode(hread->kind,
								   fields));
		}
		if (hread->kind == pop3_policy_handover_kinds[0]) {
			/* the first answered: the rest together (see
			   pop3_policy_userdb_lookup()) */
			pop3_policy_userdb_handover_send(
				lookup, 1, pop3_policy_handover_kinds_count);
		}
	}
	pop3_policy_userdb_lookup_finish(lookup);
}

static void pop3_policy_userdb_recorded(int ret, const char *error,
					void *context)
{
	struct pop3_policy_userdb_lookup *lookup = context;

	if (ret < 0) {
		e_error(authdb_event(lookup->request), "userdb pop3_policy: "
			"recording the login for LOGIN-DELAY failed, letting "
			"the login through (it does not count): %s", error);
	}
	pop3_policy_userdb_lookup_finish(lookup);
}

static void
pop3_policy_userdb_lookup(struct auth_request *request,
			  userdb_callback_t *callback)
{
	struct pop3_policy_userdb_module *module =
		(struct pop3_policy_userdb_module *)request->userdb->userdb;
	struct pop3_policy_userdb_lookup *lookup;
	const char *const *fields = NULL, *error, *record;
	unsigned int delay_secs;
	int ret = 0;

	if (!pop3_policy_auth_is_pop3(request)) {
		/* nothing to do for other services: answered at once */
		callback(USERDB_RESULT_OK, request);
		return;
	}
	if (!pop3_policy_auth_login_delay_hint(request, &delay_secs) ||
	    delay_secs > 0) {
		ret = pop3_policy_userdb_next_state(module, request, worker,
						    &fields, &error);
	}
	if (ret == USERDB_NEEDS_STORE) {
		/* the store is read synchronously: in a worker, as for a
		   blocking userdb */
		userdb_blocking_lookup(request);
		return;
	}
	if (ret < 0) {
		e_error(authdb_event(request),
			"recording the login for LOGIN-DELAY failed: %s",
			error);
		callback(USERDB_RESULT_INTERNAL_FAILURE, request);
		return;
	}

	lookup = p_new(request->pool, struct pop3_policy_userdb_lookup, 1);
	lookup->module = module;
	lookup->request = request;
	lookup->callback = callback;
	/* held until everything below has answered (some drivers answer
	   at once) */
	lookup->pending = 1;
	auth_request_ref(request);
	if (ret > 0) {
		/* Commit, then answer: see the comment at the top. The
		   commit is asynchronous, so that the auth process never
		   blocks on it. */
		lookup->pending++;
		pop3_policy_store_set_async(module->store,
					    POP3_POLICY_RECORD_LOGIN,
					    request->fields.user, fields,
					    pop3_policy_userdb_recorded,
					    lookup);
	}
	/* The first record (the policy) is usually the one the login check
	   has just read: it is taken from there, and any others are read
	   together. Otherwise the first lookup goes alone and the rest from
	   its callback, as pop3_policy_store_prefetch() does: Dovecot 2.3's
	   SQL pool retries a query that meets a dead database connection
	   and holds the retry while it reconnects, for up to 60 s.
	   Pipelining them opens a pool connection per lookup, and each of
	   those left idle when the database goes away holds some later
	   login's query instead of failing it at once. */
	i_assert(pop3_policy_handover_kinds[0] == POP3_POLICY_RECORD_POLICY);
	if (pop3_policy_auth_policy_record_hint(request, &record)) {
		lookup->read[POP3_POLICY_RECORD_POLICY] = TRUE;
		lookup->records[POP3_POLICY_RECORD_POLICY] = record;
		pop3_policy_userdb_handover_send(
			lookup, 1, pop3_policy_handover_kinds_count);
	} else {
		pop3_policy_userdb_handover_send(lookup, 0, 1);
	}
	pop3_policy_userdb_lookup_finish(lookup);
}

static void
pop3_policy_userdb_handover_send(struct pop3_policy_userdb_lookup *lookup,
				 unsigned int first, unsigned int last)
{
	struct auth_request *request = lookup->request;
	struct pop3_policy_userdb_handover_read *hread;
	unsigned int i;

	for (i = first; i < last; i++) {
		hread = p_new(request->pool,
			      struct pop3_policy_userdb_handover_read, 1);
		hread->lookup = lookup;
		hread->kind = pop3_policy_handover_kinds[i];
		lookup->pending++;
		pop3_policy_store_lookup_async(lookup->module->store,
					       hread->kind,
					       request->fields.user,
					       pop3_policy_userdb_handover_read,
					       hread);
	}
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
