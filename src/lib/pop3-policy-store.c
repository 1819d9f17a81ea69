/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The store: where pop3-policy keeps its state, through Dovecot's lib-dict.

   Key schema (store version 1, the version of every record's value).
   <user> is the login name escaped with dict_escape_string() ('/' -> \|,
   '\' -> \\), so a user name can never reach into another user's keys:

     shared/pop3-policy/policy/<user>     policy override (section 3.2)
     shared/pop3-policy/apop/<user>       APOP secret, encrypted (section 4)
     shared/pop3-policy/login/<user>      LOGIN-DELAY state
     priv/pop3-policy/uidl-map            UIDL map index of the user
     priv/pop3-policy/uidl-map/<gen>/<n>  UIDL map chunk n (0, 1, ...) of
                                          generation <gen> (escaped too)
     priv/pop3-policy/uidl-guard          UIDL guard sketch of the user

   priv/ keys are scoped by lib-dict to the user given in the operation
   settings: dict-sql maps store the user in their username_field, redis:
   and fs: prefix the key with the user name. file: does NOT scope them (it
   is one flat file): use a per-user file (plugin setting
   "pop3_policy_dict = file:%h/pop3-policy.dict") if UIDL maps or the guard
   are used with file:.

   Worked example: user "dept/bob" (note the '/') with a policy and a
   UIDL map of 2 chunks in generation "1795391833":

     shared/pop3-policy/policy/dept\|bob
         "1\tpolicy\t1795391833\ton_delete=hold hold=7d"
     priv/pop3-policy/uidl-map                (username dept/bob)
         "1\tuidl-map\t1795391833\t2\t1500"
     priv/pop3-policy/uidl-map/1795391833/0   (username dept/bob)
         "1\tuidl-map-chunk\tguid:6b6f...\001nuid:1:2 ..."
     priv/pop3-policy/uidl-map/1795391833/1   (username dept/bob)

   Values are records as described at the top of pop3-policy-record.c: the
   first field is the record version (1), the second the record's kind.

   Only dict lookup and set/unset are used: redis has no iteration, and the
   dict proxy protocol limits a line to 64 KiB, which is why large UIDL maps
   are split into chunks under a small index record. A map is loaded with
   pop3_policy_store_lookup_keys(): chunk lookups are sent in windows
   (dict_lookup_async, then one dict_wait() per window) of as many records
   as the dict server lets a client leave unread (128 KiB: two records of
   the maximum size), so the round trips grow with the map's bytes / 120 KiB,
   never with its messages. Drivers without asynchronous lookups (redis:,
   file:) get them one after another from lib-dict's synchronous fallback:
   one lookup per chunk, still bounded by the chunk count.

   A session that needs several records at its start (the pop3 mail
   plugin: policy, UIDL map index, UIDL guard sketch) asks for them with
   pop3_policy_store_prefetch(): two round trips (the first record, then
   the others pipelined) instead of one per record, or is handed them by
   the pop3_policy userdb (pop3_policy_store_prefetched_add(), which saves
   the session its connection to the dict server). Each answer is kept
   for the record's next lookup only, so a record read again later in the
   session is read from the store again, and a write or removal of the key
   drops it. The auth process, which must not block, uses
   pop3_policy_store_lookup_async() and pop3_policy_store_set_async()
   instead; they do not use prefetched answers.

   Failure rule: a store that cannot be reached, a malformed record and a
   record of an unknown version are all errors (-1) that name the user and
   the key, so that callers fail closed; never is a bad record read as "no
   record". Errors never include the value, which may be a secret. */

#include "lib.h"
#include "array.h"
#include "safe-memset.h"
#include "str.h"
#include "strescape.h"
#include "str-sanitize.h"
#include "dict.h"
#include "pop3-policy-store.h"

/* An answer of pop3_policy_store_prefetch(), kept until its key's next
   lookup. */
struct store_prefetched {
	char *user, *key;
	/* dict_lookup_async() result: 1 found (value), 0 not, -1 error */
	int ret;
	char *value, *error;
	bool done;
};

struct pop3_policy_store {
	struct dict *dict;
	char *uri;
	ARRAY(struct store_prefetched *) prefetched;
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
		/* only the driver's name: a URI may hold a password
		   (redis:password=...) */
		*error_r = t_strdup_printf(
			"pop3_policy_dict (driver %s): %s",
			str_sanitize(t_strcut(set->uri, ':'), 64), error);
		return -1;
	}
	store = i_new(struct pop3_policy_store, 1);
	store->dict = dict;
	store->uri = i_strdup(set->uri);
	*store_r = store;
	return 0;
}

const char *pop3_policy_store_uri_keep_open(const char *uri,
					    unsigned int idle_msecs)
{
	const char *params;

	if (!str_begins(uri, "proxy:"))
		return uri;
	/* the proxy's parameters come first, each ending with ':'
	   (src/lib-dict/dict-client.c) */
	for (params = uri + 6;;) {
		if (str_begins(params, "idle_msecs="))
			return uri;
		if (!str_begins(params, "warn_slow_msecs=") ||
		    strchr(params, ':') == NULL)
			break;
		params = strchr(params, ':') + 1;
	}
	return t_strdup_printf("proxy:idle_msecs=%u:%s", idle_msecs, uri + 6);
}

static void store_prefetched_free(struct store_prefetched **_item)
{
	struct store_prefetched *item = *_item;

	*_item = NULL;
	i_free(item->user);
	i_free(item->key);
	/* a record may be an APOP secret: don't leave it in freed memory */
	if (item->value != NULL)
		safe_memset(item->value, 0, strlen(item->value));
	i_free(item->value);
	i_free(item->error);
	i_free(item);
}

/* Removes and returns the kept answer for the user's key, or NULL. */
static struct store_prefetched *
store_prefetched_take(struct pop3_policy_store *store, const char *user,
		      const char *key)
{
	struct store_prefetched *const *items, *item;
	unsigned int i, count;

	if (!array_is_created(&store->prefetched))
		return NULL;
	items = array_get(&store->prefetched, &count);
	for (i = 0; i < count; i++) {
		if (strcmp(items[i]->key, key) == 0 &&
		    strcmp(items[i]->user, user) == 0) {
			item = items[i];
			array_delete(&store->prefetched, i, 1);
			return item;
		}
	}
	return NULL;
}

static void store_prefetched_drop(struct pop3_policy_store *store,
				  const char *user, const char *key)
{
	struct store_prefetched *item;

	if ((item = store_prefetched_take(store, user, key)) != NULL)
		store_prefetched_free(&item);
}

/* A new kept answer for the user's key, replacing one kept before. */
static struct store_prefetched *
store_prefetched_new(struct pop3_policy_store *store, const char *user,
		     const char *key)
{
	struct store_prefetched *item;

	if (!array_is_created(&store->prefetched))
		i_array_init(&store->prefetched, 4);
	store_prefetched_drop(store, user, key);
	item = i_new(struct store_prefetched, 1);
	item->user = i_strdup(user);
	item->key = i_strdup(key);
	array_push_back(&store->prefetched, &item);
	return item;
}

void pop3_policy_store_deinit(struct pop3_policy_store **_store)
{
	struct pop3_policy_store *store = *_store;
	struct store_prefetched **itemp;

	if (store == NULL)
		return;
	*_store = NULL;
	dict_wait(store->dict);
	if (array_is_created(&store->prefetched)) {
		array_foreach_modifiable(&store->prefetched, itemp)
			store_prefetched_free(itemp);
		array_free(&store->prefetched);
	}
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

static const char *store_error_prefix(const char *user, const char *key)
{
	/* user names and keys come from clients and admins: keep control
	   characters out of the log */
	return t_strdup_printf("pop3-policy store: user %s: key %s: ",
			       str_sanitize(user, 256),
			       str_sanitize(key, 512));
}

/* The error of a failed lookup of the user's key. */
static const char *
store_lookup_error(const char *user, const char *key, const char *error)
{
	return t_strconcat(store_error_prefix(user, key), "lookup failed: ",
			   pop3_policy_store_driver_error(error), NULL);
}

/* Refuses an empty user name for a record of the kind (its key would be
   no user's). */
static int store_check_user(enum pop3_policy_record_kind kind,
			    const char *user, const char **error_r)
{
	if (user != NULL && user[0] != '\0')
		return 0;
	*error_r = t_strdup_printf(
		"pop3-policy store: %s record: empty user name",
		pop3_policy_record_kind_name(kind));
	return -1;
}

/* Checks what lib-dict would otherwise assert on, so that a bad user name
   or a foreign key is an error and never a crash. */
static int
store_check_key(const char *user, const char *key, const char **error_r)
{
	if (user == NULL || user[0] == '\0') {
		*error_r = t_strdup_printf(
			"pop3-policy store: key %s: empty user name",
			str_sanitize(key, 512));
		return -1;
	}
	if (!str_begins(key, DICT_PATH_SHARED"pop3-policy/") &&
	    !str_begins(key, DICT_PATH_PRIVATE"pop3-policy/")) {
		*error_r = t_strconcat(store_error_prefix(user, key),
			"not a pop3-policy key (must start with "
			DICT_PATH_SHARED"pop3-policy/ or "
			DICT_PATH_PRIVATE"pop3-policy/)", NULL);
		return -1;
	}
	if (strlen(str_tabescape(key)) > POP3_POLICY_STORE_MAX_KEY_SIZE) {
		*error_r = t_strdup_printf(
			"pop3-policy store: user %s: key of %zu bytes is "
			"longer than the store's limit of %u bytes",
			str_sanitize(user, 256), strlen(key),
			POP3_POLICY_STORE_MAX_KEY_SIZE);
		return -1;
	}
	return 0;
}

static int
store_decode(enum pop3_policy_record_kind kind, const char *user,
	     const char *key, const char *value,
	     const char *const **fields_r, const char **error_r)
{
	const char *error;

	if (pop3_policy_record_decode(kind, value, fields_r, &error) < 0) {
		*error_r = t_strconcat(store_error_prefix(user, key),
				       error, NULL);
		return -1;
	}
	return 0;
}

/* Returns a dict driver's error text without any part that quotes data
   read from the store: Dovecot 2.3's redis driver appends
   "(last reply: <partial value>)" to a communication failure, which for an
   APOP record would be the sealed secret. */
const char *pop3_policy_store_driver_error(const char *error)
{
	const char *p = strstr(error, " (last reply:");

	if (p == NULL)
		return error;
	return t_strconcat(t_strdup_until(error, p),
			   " (reply not shown)", NULL);
}

int pop3_policy_store_lookup_key(struct pop3_policy_store *store,
				 enum pop3_policy_record_kind kind,
				 const char *user, const char *key,
				 const char *const **fields_r,
				 const char **error_r)
{
	struct dict_op_settings op_set;
	struct store_prefetched *item;
	/* dict_lookup() reads *error_r also when the lookup succeeded */
	const char *value, *error = NULL;
	int ret;

	if (store_check_key(user, key, error_r) < 0)
		return -1;
	if ((item = store_prefetched_take(store, user, key)) != NULL) {
		ret = item->ret;
		value = t_strdup(item->value);
		error = t_strdup(item->error != NULL ? item->error :
				 "the lookup was not answered");
		store_prefetched_free(&item);
	} else {
		store_op_settings(user, &op_set);
		ret = dict_lookup(store->dict, &op_set,
				  pool_datastack_create(), key, &value,
				  &error);
	}
	if (ret < 0) {
		*error_r = store_lookup_error(user, key, error);
		return -1;
	}
	if (ret == 0)
		return 0;
	if (store_decode(kind, user, key, value, fields_r, error_r) < 0)
		return -1;
	return 1;
}

struct store_async_lookup {
	enum pop3_policy_record_kind kind;
	char *user, *key;
	pop3_policy_store_lookup_callback_t *callback;
	void *context;
};

static void
store_async_lookup_callback(const struct dict_lookup_result *result,
			    struct store_async_lookup *al)
{
	const char *const *fields = NULL, *error = NULL;
	int ret = result->ret;

	T_BEGIN {
		if (ret < 0) {
			error = store_lookup_error(al->user, al->key,
				result->error != NULL ? result->error :
				"unknown error");
		} else if (ret > 0 &&
			   store_decode(al->kind, al->user, al->key,
					result->value, &fields, &error) < 0) {
			ret = -1;
		}
		al->callback(ret, fields, error, al->context);
	} T_END;
	i_free(al->user);
	i_free(al->key);
	i_free(al);
}

void pop3_policy_store_lookup_async(struct pop3_policy_store *store,
				    enum pop3_policy_record_kind kind,
				    const char *user,
				    pop3_policy_store_lookup_callback_t *callback,
				    void *context)
{
	struct dict_op_settings op_set;
	struct store_async_lookup *al;
	const char *key, *error;

	if (store_check_user(kind, user, &error) < 0) {
		callback(-1, NULL, error, context);
		return;
	}
	key = pop3_policy_store_key(kind, user);
	if (store_check_key(user, key, &error) < 0) {
		callback(-1, NULL, error, context);
		return;
	}
	al = i_new(struct store_async_lookup, 1);
	al->kind = kind;
	al->user = i_strdup(user);
	al->key = i_strdup(key);
	al->callback = callback;
	al->context = context;
	store_op_settings(user, &op_set);
	/* drivers without asynchronous lookups call back at once */
	dict_lookup_async(store->dict, &op_set, key,
			  store_async_lookup_callback, al);
}

int pop3_policy_store_lookup(struct pop3_policy_store *store,
			     enum pop3_policy_record_kind kind,
			     const char *user, const char *const **fields_r,
			     const char **error_r)
{
	if (store_check_user(kind, user, error_r) < 0)
		return -1;
	return pop3_policy_store_lookup_key(store, kind, user,
		pop3_policy_store_key(kind, user), fields_r, error_r);
}

static void
store_prefetch_callback(const struct dict_lookup_result *result,
			struct store_prefetched *item)
{
	item->ret = result->ret;
	if (result->ret > 0)
		item->value = i_strdup(result->value);
	else if (result->ret < 0)
		item->error = i_strdup(result->error);
	item->done = TRUE;
}

void pop3_policy_store_prefetch(struct pop3_policy_store *store,
				const char *user,
				const enum pop3_policy_record_kind *kinds,
				unsigned int count)
{
	struct dict_op_settings op_set;
	struct store_prefetched *item;
	const char *key, *error;
	unsigned int i;

	if (user == NULL || user[0] == '\0')
		return;
	store_op_settings(user, &op_set);
	for (i = 0; i < count; i++) {
		key = pop3_policy_store_key(kinds[i], user);
		/* a bad key is reported by the lookup itself */
		if (store_check_key(user, key, &error) < 0)
			continue;
		item = store_prefetched_new(store, user, key);
		dict_lookup_async(store->dict, &op_set, key,
				  store_prefetch_callback, item);
		if (i == 0) {
			/* The first lookup alone, then the rest together:
			   Dovecot 2.3's SQL pool retries a query that was in
			   flight when the database went away and, if the
			   connection is reconnecting by then, holds it for up
			   to 60 s, so a pipelined second query stalls the
			   client for its 30 s timeout. The first one finds a
			   dead database and fails at once. */
			dict_wait(store->dict);
			if (item->ret < 0 || !item->done)
				break;
		}
	}
	dict_wait(store->dict);
	/* an unanswered lookup keeps ret 0 with done unset: make it an
	   error, never "no record" */
	array_foreach_elem(&store->prefetched, item) {
		if (!item->done)
			item->ret = -1;
	}
}

void pop3_policy_store_prefetched_add(struct pop3_policy_store *store,
				      enum pop3_policy_record_kind kind,
				      const char *user, const char *record)
{
	struct store_prefetched *item;

	if (user == NULL || user[0] == '\0')
		return;
	item = store_prefetched_new(store, user,
				    pop3_policy_store_key(kind, user));
	item->ret = record == NULL ? 0 : 1;
	item->value = i_strdup(record);
	item->done = TRUE;
}

struct store_batch_item {
	pool_t pool;
	int ret;
	const char *value, *error;
	bool done:1;
};

static void
store_batch_lookup_callback(const struct dict_lookup_result *result,
			    struct store_batch_item *item)
{
	/* the result lives only during the callback (and in the sync
	   fallback on the data stack of dict_lookup_async's caller) */
	item->ret = result->ret;
	if (result->ret > 0)
		item->value = p_strdup(item->pool, result->value);
	else if (result->ret < 0)
		item->error = p_strdup(item->pool, result->error);
	item->done = TRUE;
}

int pop3_policy_store_lookup_keys(struct pop3_policy_store *store,
				  enum pop3_policy_record_kind kind,
				  const char *user,
				  const char *const *keys, unsigned int count,
				  struct pop3_policy_store_result **results_r,
				  const char **error_r)
{
	struct dict_op_settings op_set;
	struct pop3_policy_store_result *results;
	struct store_batch_item *items;
	pool_t pool;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < count; i++) {
		if (store_check_key(user, keys[i], error_r) < 0)
			return -1;
	}
	results = t_new(struct pop3_policy_store_result, count + 1);
	*results_r = results;
	if (count == 0)
		return 0;

	pool = pool_alloconly_create("pop3-policy store lookups", 4096);
	items = p_new(pool, struct store_batch_item, count);
	store_op_settings(user, &op_set);
	/* send a window of lookups, then wait for all of them: over proxy::
	   they are pipelined on the one connection. The window is bounded by
	   bytes, not by keys: the dict server drops a client that has more
	   than 128 KiB of replies buffered unread, so at most
	   POP3_POLICY_STORE_LOOKUP_WINDOW records of the maximum size are in
	   flight. */
	for (i = 0; i < count; i++) {
		items[i].pool = pool;
		dict_lookup_async(store->dict, &op_set, keys[i],
				  store_batch_lookup_callback, &items[i]);
		if ((i + 1) % POP3_POLICY_STORE_LOOKUP_WINDOW == 0)
			dict_wait(store->dict);
	}
	dict_wait(store->dict);

	for (i = 0; i < count && ret == 0; i++) {
		if (!items[i].done) {
			*error_r = t_strconcat(
				store_error_prefix(user, keys[i]),
				"lookup was not answered", NULL);
			ret = -1;
		} else if (items[i].ret < 0) {
			*error_r = store_lookup_error(user, keys[i],
						      items[i].error);
			ret = -1;
		} else if (items[i].ret > 0) {
			if (store_decode(kind, user, keys[i], items[i].value,
					 &results[i].fields, error_r) < 0)
				ret = -1;
		}
	}
	pool_unref(&pool);
	return ret;
}

static int
store_encode(const struct pop3_policy_store_change *change,
	     const char *user, const char **value_r, const char **error_r)
{
	unsigned int count, min_fields;
	const char *value;
	size_t size;

	count = str_array_length(change->fields);
	min_fields = pop3_policy_record_kind_min_fields(change->kind);
	if (count < min_fields) {
		*error_r = t_strdup_printf(
			"%srefusing to write a %s record of %u fields "
			"(it needs at least %u)",
			store_error_prefix(user, change->key),
			pop3_policy_record_kind_name(change->kind),
			count, min_fields);
		return -1;
	}
	value = pop3_policy_record_encode(change->kind, change->fields);
	/* measured as it travels in the dict proxy protocol, whose lines
	   end at 64 KiB */
	size = strlen(str_tabescape(value));
	if (size > POP3_POLICY_STORE_MAX_VALUE_SIZE) {
		*error_r = t_strdup_printf(
			"%s%s record of %zu bytes is larger than the store's "
			"limit of %u bytes",
			store_error_prefix(user, change->key),
			pop3_policy_record_kind_name(change->kind),
			size, POP3_POLICY_STORE_MAX_VALUE_SIZE);
		return -1;
	}
	*value_r = value;
	return 0;
}

struct store_commit_result {
	int ret;
	char *error;
	bool done;
};

static void
store_commit_callback(const struct dict_commit_result *result,
		      struct store_commit_result *commit)
{
	commit->ret = result->ret;
	commit->error = i_strdup(result->error);
	commit->done = TRUE;
}

/* The error of a failed commit of count changes, the first of them to key
   (a write or a removal), naming user and key. */
static const char *
store_commit_error(const char *user, const char *key, unsigned int count,
		   bool is_write, const char *error)
{
	return t_strdup_printf("%s%s failed: %s",
		store_error_prefix(user, key),
		count > 1 ? t_strdup_printf("transaction of %u changes",
					    count) :
		is_write ? "write" : "removal",
		pop3_policy_store_driver_error(error));
}

/* Checks and encodes the changes and returns their transaction, ready to
   commit; NULL with error_r if any change is refused (nothing written). */
static struct dict_transaction_context *
store_changes_begin(struct pop3_policy_store *store, const char *user,
		    const struct pop3_policy_store_change *changes,
		    unsigned int count, const char **error_r)
{
	struct dict_op_settings op_set;
	struct dict_transaction_context *trans;
	const char **values;
	unsigned int i;

	values = t_new(const char *, count);
	for (i = 0; i < count; i++) {
		if (store_check_key(user, changes[i].key, error_r) < 0)
			return NULL;
		if (changes[i].fields != NULL &&
		    store_encode(&changes[i], user, &values[i], error_r) < 0)
			return NULL;
	}

	for (i = 0; i < count; i++)
		store_prefetched_drop(store, user, changes[i].key);
	store_op_settings(user, &op_set);
	trans = dict_transaction_begin(store->dict, &op_set);
	for (i = 0; i < count; i++) {
		if (values[i] != NULL)
			dict_set(trans, changes[i].key, values[i]);
		else
			dict_unset(trans, changes[i].key);
	}
	return trans;
}

int pop3_policy_store_apply(struct pop3_policy_store *store,
			    const char *user,
			    const struct pop3_policy_store_change *changes,
			    unsigned int count, const char **error_r)
{
	struct dict_transaction_context *trans;
	struct store_commit_result commit;
	const char *error;

	if (count == 0)
		return 0;
	trans = store_changes_begin(store, user, changes, count, error_r);
	if (trans == NULL)
		return -1;
	/* Committed asynchronously and waited for, never with the
	   synchronous dict_transaction_commit(): Dovecot 2.3.19's redis
	   driver calls the commit callback twice in synchronous mode and
	   crashes (doveadm dict set on redis: does too). */
	i_zero(&commit);
	dict_transaction_commit_async(&trans, store_commit_callback, &commit);
	dict_wait(store->dict);
	error = commit.error != NULL ? t_strdup(commit.error) :
		"the commit was not answered";
	i_free(commit.error);
	if (!commit.done || commit.ret < 0) {
		*error_r = store_commit_error(user, changes[0].key, count,
					      changes[0].fields != NULL,
					      error);
		return -1;
	}
	return 0;
}

struct store_async_commit {
	char *user, *key;
	pop3_policy_store_commit_callback_t *callback;
	void *context;
};

static void
store_async_commit_callback(const struct dict_commit_result *result,
			    struct store_async_commit *ac)
{
	T_BEGIN {
		if (result->ret < 0) {
			ac->callback(-1, store_commit_error(ac->user, ac->key,
				1, TRUE, result->error != NULL ?
				result->error : "unknown error"), ac->context);
		} else {
			ac->callback(0, NULL, ac->context);
		}
	} T_END;
	i_free(ac->user);
	i_free(ac->key);
	i_free(ac);
}

void pop3_policy_store_wait(struct pop3_policy_store *store)
{
	dict_wait(store->dict);
}

void pop3_policy_store_set_async(struct pop3_policy_store *store,
				 enum pop3_policy_record_kind kind,
				 const char *user, const char *const *fields,
				 pop3_policy_store_commit_callback_t *callback,
				 void *context)
{
	struct pop3_policy_store_change change = {
		.kind = kind,
		.fields = fields,
	};
	struct dict_transaction_context *trans;
	struct store_async_commit *ac;
	const char *error;

	i_assert(fields != NULL);
	if (store_check_user(kind, user, &error) < 0) {
		callback(-1, error, context);
		return;
	}
	change.key = pop3_policy_store_key(kind, user);
	trans = store_changes_begin(store, user, &change, 1, &error);
	if (trans == NULL) {
		callback(-1, error, context);
		return;
	}
	ac = i_new(struct store_async_commit, 1);
	ac->user = i_strdup(user);
	ac->key = i_strdup(change.key);
	ac->callback = callback;
	ac->context = context;
	/* asynchronous, for the reason given in pop3_policy_store_apply();
	   drivers without asynchronous commits call back at once */
	dict_transaction_commit_async(&trans, store_async_commit_callback, ac);
}

int pop3_policy_store_set_key(struct pop3_policy_store *store,
			      enum pop3_policy_record_kind kind,
			      const char *user, const char *key,
			      const char *const *fields, const char **error_r)
{
	struct pop3_policy_store_change change = {
		.kind = kind,
		.key = key,
		.fields = fields,
	};

	i_assert(fields != NULL);
	return pop3_policy_store_apply(store, user, &change, 1, error_r);
}

int pop3_policy_store_set(struct pop3_policy_store *store,
			  enum pop3_policy_record_kind kind, const char *user,
			  const char *const *fields, const char **error_r)
{
	if (store_check_user(kind, user, error_r) < 0)
		return -1;
	return pop3_policy_store_set_key(store, kind, user,
		pop3_policy_store_key(kind, user), fields, error_r);
}

int pop3_policy_store_unset_key(struct pop3_policy_store *store,
				const char *user, const char *key,
				const char **error_r)
{
	struct pop3_policy_store_change change = {
		.key = key,
	};
	struct dict_op_settings op_set;
	/* dict_lookup() reads *error_r also when the lookup succeeded */
	const char *value, *error = NULL;
	int ret;

	if (store_check_key(user, key, error_r) < 0)
		return -1;
	/* lib-dict does not say whether an unset removed anything; look
	   first (raw, so that a malformed record can still be removed) */
	store_op_settings(user, &op_set);
	ret = dict_lookup(store->dict, &op_set, pool_datastack_create(),
			  key, &value, &error);
	if (ret < 0) {
		*error_r = t_strconcat(store_error_prefix(user, key),
				       "lookup before removal failed: ",
				       error, NULL);
		return -1;
	}
	if (ret == 0)
		return 0;
	if (pop3_policy_store_apply(store, user, &change, 1, error_r) < 0)
		return -1;
	return 1;
}

int pop3_policy_store_unset(struct pop3_policy_store *store,
			    enum pop3_policy_record_kind kind,
			    const char *user, const char **error_r)
{
	if (store_check_user(kind, user, error_r) < 0)
		return -1;
	return pop3_policy_store_unset_key(store, user,
		pop3_policy_store_key(kind, user), error_r);
}
