/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The store: where pop3-policy keeps its state, through Dovecot's lib-dict.

   Key schema (store version 1). <user> is the login name escaped with
   dict_escape_string() ('/' -> \|, '\' -> \\), so a user name can never
   reach into another user's keys:

     shared/pop3-policy/policy/<user>     policy override (section 3.2)
     shared/pop3-policy/apop/<user>       APOP secret, encrypted (section 4)
     shared/pop3-policy/login/<user>      LOGIN-DELAY state
     priv/pop3-policy/uidl-map            UIDL map index of the user
     priv/pop3-policy/uidl-map/<gen>/<n>  UIDL map chunk n of generation gen
     priv/pop3-policy/uidl-guard          UIDL guard sketch of the user

   priv/ keys are scoped by lib-dict to the user given in the operation
   settings (dict-sql maps them with username_field, file: and redis: prefix
   them with the user name). Values are records as described at the top of
   pop3-policy-record.c, e.g. "1\tpolicy\t1795391833\ton_delete=hold".

   Only dict lookup and set/unset are used: redis has no iteration, and the
   dict proxy protocol limits a line to 64 KiB, which is why large UIDL maps
   are split into chunks under a small index record.

   Failure rule: a store that cannot be reached, a malformed record and a
   record of an unknown version are all errors (-1) that name the user and
   the key, so that callers fail closed; never is a bad record read as "no
   record". Errors never include the value, which may be a secret. */

#include "lib.h"
#include "str.h"
#include "dict.h"
#include "pop3-policy-store.h"

struct pop3_policy_store {
	struct dict *dict;
	char *uri;
};

static const char *const record_key_prefixes[POP3_POLICY_RECORD_KIND_COUNT] = {
	[POP3_POLICY_RECORD_POLICY] = DICT_PATH_SHARED"pop3-policy/policy/",
	[POP3_POLICY_RECORD_APOP] = DICT_PATH_SHARED"pop3-policy/apop/",
	[POP3_POLICY_RECORD_LOGIN] = DICT_PATH_SHARED"pop3-policy/login/",
	[POP3_POLICY_RECORD_UIDL_GUARD] = DICT_PATH_PRIVATE"pop3-policy/uidl-guard",
	[POP3_POLICY_RECORD_UIDL_MAP_INDEX] = DICT_PATH_PRIVATE"pop3-policy/uidl-map",
	[POP3_POLICY_RECORD_UIDL_MAP_CHUNK] = DICT_PATH_PRIVATE"pop3-policy/uidl-map/",
};

int pop3_policy_store_init(const struct pop3_policy_store_settings *set,
			   struct pop3_policy_store **store_r,
			   const char **error_r)
{
	struct dict_settings dict_set;
	struct pop3_policy_store *store;
	struct dict *dict;
	const char *error;

	if (set->uri == NULL || set->uri[0] == '\0') {
		*error_r = "pop3_policy_dict is not set";
		return -1;
	}
	i_zero(&dict_set);
	dict_set.base_dir = set->base_dir;
	dict_set.event_parent = set->event_parent;
	if (dict_init(set->uri, &dict_set, &dict, &error) < 0) {
		*error_r = t_strdup_printf("pop3_policy_dict %s: %s",
					   set->uri, error);
		return -1;
	}
	store = i_new(struct pop3_policy_store, 1);
	store->dict = dict;
	store->uri = i_strdup(set->uri);
	*store_r = store;
	return 0;
}

void pop3_policy_store_deinit(struct pop3_policy_store **_store)
{
	struct pop3_policy_store *store = *_store;

	if (store == NULL)
		return;
	*_store = NULL;
	dict_wait(store->dict);
	dict_deinit(&store->dict);
	i_free(store->uri);
	i_free(store);
}

static bool record_kind_is_private(enum pop3_policy_record_kind kind)
{
	return str_begins(record_key_prefixes[kind], DICT_PATH_PRIVATE);
}

const char *pop3_policy_store_key(enum pop3_policy_record_kind kind,
				  const char *user)
{
	i_assert(kind < POP3_POLICY_RECORD_KIND_COUNT);
	i_assert(kind != POP3_POLICY_RECORD_UIDL_MAP_CHUNK);

	if (record_kind_is_private(kind))
		return record_key_prefixes[kind];
	return t_strconcat(record_key_prefixes[kind],
			   dict_escape_string(user), NULL);
}

const char *pop3_policy_store_uidl_chunk_key(const char *generation,
					     unsigned int n)
{
	return t_strdup_printf("%s%s/%u",
		record_key_prefixes[POP3_POLICY_RECORD_UIDL_MAP_CHUNK],
		dict_escape_string(generation), n);
}

static void
store_op_settings(const char *user, struct dict_op_settings *set_r)
{
	i_zero(set_r);
	set_r->username = user;
}

int pop3_policy_store_lookup_key(struct pop3_policy_store *store,
				 enum pop3_policy_record_kind kind,
				 const char *user, const char *key,
				 const char *const **fields_r,
				 const char **error_r)
{
	struct dict_op_settings op_set;
	const char *value, *error;
	int ret;

	store_op_settings(user, &op_set);
	ret = dict_lookup(store->dict, &op_set, pool_datastack_create(),
			  key, &value, &error);
	if (ret < 0) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: key %s: lookup failed: %s",
			user, key, error);
		return -1;
	}
	if (ret == 0)
		return 0;
	if (pop3_policy_record_decode(kind, value, fields_r, &error) < 0) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: key %s: %s",
			user, key, error);
		return -1;
	}
	return 1;
}

int pop3_policy_store_lookup(struct pop3_policy_store *store,
			     enum pop3_policy_record_kind kind,
			     const char *user, const char *const **fields_r,
			     const char **error_r)
{
	return pop3_policy_store_lookup_key(store, kind, user,
		pop3_policy_store_key(kind, user), fields_r, error_r);
}

static int
store_commit(struct pop3_policy_store *store, const char *user,
	     const char *key, const char *value, const char **error_r)
{
	struct dict_op_settings op_set;
	struct dict_transaction_context *trans;
	const char *error;
	int ret;

	store_op_settings(user, &op_set);
	trans = dict_transaction_begin(store->dict, &op_set);
	if (value != NULL)
		dict_set(trans, key, value);
	else
		dict_unset(trans, key);
	ret = dict_transaction_commit(&trans, &error);
	if (ret < 0) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: key %s: %s failed: %s",
			user, key, value != NULL ? "write" : "removal",
			error);
		return -1;
	}
	return ret;
}

int pop3_policy_store_set(struct pop3_policy_store *store,
			  enum pop3_policy_record_kind kind, const char *user,
			  const char *const *fields, const char **error_r)
{
	const char *key = pop3_policy_store_key(kind, user);

	if (store_commit(store, user, key,
			 pop3_policy_record_encode(kind, fields),
			 error_r) < 0)
		return -1;
	return 0;
}

int pop3_policy_store_unset(struct pop3_policy_store *store,
			    enum pop3_policy_record_kind kind,
			    const char *user, const char **error_r)
{
	int ret;

	ret = store_commit(store, user, pop3_policy_store_key(kind, user),
			   NULL, error_r);
	return ret < 0 ? -1 : 1;
}
