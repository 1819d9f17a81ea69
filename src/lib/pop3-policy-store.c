/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The store: where pop3-policy keeps the administrator's state, through
   Dovecot's lib-dict.

   Key schema (store version 1, the version of every record's value).
   <user> is the login name escaped with dict_escape_string() ('/' -> \|,
   '\' -> \\), so a user name can never reach into another user's keys:

     shared/pop3-policy/policy/<user>     policy override
     shared/pop3-policy/apop/<user>       APOP secret, encrypted
     shared/pop3-policy/login/<user>      LOGIN-DELAY state

   That is all: a mailbox's own state (its UIDL map and UIDL guard sketch)
   lives with the mailbox (pop3-policy-uidl-state.c), not here. Only the
   auth process and doveadm open the store; a POP3 session is handed its
   policy record by the pop3_policy userdb. Dovecot's dict proxy trusts
   the user name a client sends, so the dict server's socket must be
   reachable by those trusted processes only.

   Worked example: user "dept/bob" (note the '/') with a policy:

     shared/pop3-policy/policy/dept\|bob
         "1\tpolicy\t1795391833\ton_delete=hold hold=7d"

   Values are records as described at the top of pop3-policy-record.c: the
   first field is the record version (1), the second the record's kind.

   Only dict lookup and set/unset are used: redis has no iteration.

   A process that needs several records at once asks for them with
   pop3_policy_store_prefetch(): two round trips (the first record, then
   the others pipelined) instead of one per record. Each answer is kept
   for the record's next lookup only, so a record read again later is read
   from the store again, and a write or removal of the key drops it. The
   auth process, which must not block, uses pop3_policy_store_lookup_-
   async() and pop3_policy_store_set_async() instead; they do not use
   prefetched answers.

   Who may connect: the dict server's socket is the auth process's user's
   and root's only (conf.d/90-pop3-policy.conf), since the dict proxy
   believes the user name a client sends (src/dict/dict-commands.c).
   doveadm runs the package's mail commands with the privileges of the
   mail user dropped only for the effective uid (MAIL_STORAGE_SERVICE_-
   FLAG_TEMP_PRIV_DROP; the real uid stays root), so a proxy: store there
   makes its dict calls, and with them the connection and any reconnect,
   with the effective uid 0, as lib-storage/mail-storage-service.c does
   itself to reach the config socket; see store_priv_begin().

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

#include <unistd.h>

/* An answer of pop3_policy_store_prefetch(), kept until its key's next
   lookup. */
struct store_prefetched {
	char *user, *key;
	/* dict_lookup_async() result: 1 found (value), 0 not, -1 error */
	int ret;
	char *value, *error;
	bool done;
};

/* One change of store_apply(). */
struct store_change {
	/* the kind of record written (ignored for a removal) */
	enum pop3_policy_record_kind kind;
	/* the full key, from pop3_policy_store_key() */
	const char *key;
	/* payload fields (NULL-terminated) to write, or NULL to remove */
	const char *const *fields;
};

struct pop3_policy_store {
	struct dict *dict;
	char *uri;
	ARRAY(struct store_prefetched *) prefetched;
	/* proxy: the dict server's socket, see store_priv_begin() */
	bool proxy:1;
};

static const char *const record_key_prefixes[POP3_POLICY_RECORD_KIND_COUNT] = {
	[POP3_POLICY_RECORD_POLICY] = DICT_PATH_SHARED"pop3-policy/policy/",
	[POP3_POLICY_RECORD_APOP] = DICT_PATH_SHARED"pop3-policy/apop/",
	[POP3_POLICY_RECORD_LOGIN] = DICT_PATH_SHARED"pop3-policy/login/",
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
	store->proxy = str_begins(set->uri, "proxy:");
	*store_r = store;
	return 0;
}

/* In a process whose privileges are dropped temporarily (real uid root,
   effective uid the mail user's: doveadm's mail commands, see the top of
   this file), switches a proxy: store's effective uid back to root for
   a dict call and returns the uid to restore with store_priv_end();
   returns (uid_t)-1 and changes nothing anywhere else: in auth and pop3
   (whose real uid is not root), as root, and for the other drivers
   (file: would write its file as root). */
static uid_t store_priv_begin(const struct pop3_policy_store *store)
{
	uid_t euid;

	if (!store->proxy || getuid() != 0 || (euid = geteuid()) == 0)
		return (uid_t)-1;
	if (seteuid(0) < 0)
		i_fatal("pop3-policy: seteuid(0) failed: %m");
	return euid;
}

static void store_priv_end(uid_t euid)
{
	/* never go on as root */
	if (euid != (uid_t)-1 && seteuid(euid) < 0)
		i_fatal("pop3-policy: seteuid(%s) failed: %m", dec2str(euid));
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
	uid_t euid;

	if (store == NULL)
		return;
	*_store = NULL;
	euid = store_priv_begin(store);
	dict_wait(store->dict);
	store_priv_end(euid);
	if (array_is_created(&store->prefetched)) {
		array_foreach_modifiable(&store->prefetched, itemp)
			store_prefetched_free(itemp);
		array_free(&store->prefetched);
	}
	dict_deinit(&store->dict);
	i_free(store->uri);
	i_free(store);
}

const char *pop3_policy_store_key(enum pop3_policy_record_kind kind,
				  const char *user)
{
	i_assert(kind < POP3_POLICY_RECORD_KIND_COUNT);

	return t_strconcat(record_key_prefixes[kind],
			   dict_escape_string(user), NULL);
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
	if (!str_begins(key, DICT_PATH_SHARED"pop3-policy/")) {
		*error_r = t_strconcat(store_error_prefix(user, key),
			"not a pop3-policy key (must start with "
			DICT_PATH_SHARED"pop3-policy/)", NULL);
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

const char *pop3_policy_store_uri_for_log(const char *uri)
{
	const char *const *args;
	string_t *str;
	unsigned int i;

	if (strstr(uri, "password=") == NULL)
		return str_sanitize(uri, 256);
	/* drivers split their parameters at ':' (dict-redis.c), so a
	   password never holds one */
	str = t_str_new(strlen(uri) + 16);
	args = t_strsplit(uri, ":");
	for (i = 0; args[i] != NULL; i++) {
		if (i > 0)
			str_append_c(str, ':');
		if (str_begins(args[i], "password="))
			str_append(str, "password=<hidden>");
		else
			str_append(str, args[i]);
	}
	return str_sanitize(str_c(str), 256);
}

static int
store_lookup_key(struct pop3_policy_store *store,
		 enum pop3_policy_record_kind kind,
				 const char *user, const char *key,
				 const char *const **fields_r,
				 const char **error_r)
{
	struct dict_op_settings op_set;
	struct store_prefetched *item;
	/* dict_lookup() reads *error_r also when the lookup succeeded */
	const char *value, *error = NULL;
	uid_t euid;
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
		euid = store_priv_begin(store);
		ret = dict_lookup(store->dict, &op_set,
				  pool_datastack_create(), key, &value,
				  &error);
		store_priv_end(euid);
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
	uid_t euid;

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
	euid = store_priv_begin(store);
	dict_lookup_async(store->dict, &op_set, key,
			  store_async_lookup_callback, al);
	store_priv_end(euid);
}

int pop3_policy_store_lookup(struct pop3_policy_store *store,
			     enum pop3_policy_record_kind kind,
			     const char *user, const char *const **fields_r,
			     const char **error_r)
{
	if (store_check_user(kind, user, error_r) < 0)
		return -1;
	return store_lookup_key(store, kind, user,
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
	uid_t euid;

	if (user == NULL || user[0] == '\0')
		return;
	store_op_settings(user, &op_set);
	euid = store_priv_begin(store);
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
	store_priv_end(euid);
	/* no key may have been sent (all over the key size limit): then
	   nothing was kept */
	if (!array_is_created(&store->prefetched))
		return;
	/* an unanswered lookup keeps ret 0 with done unset: make it an
	   error, never "no record" */
	array_foreach_elem(&store->prefetched, item) {
		if (!item->done)
			item->ret = -1;
	}
}

static int
store_encode(const struct store_change *change,
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
		    const struct store_change *changes,
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

static int
store_apply(struct pop3_policy_store *store, const char *user,
			    const struct store_change *changes,
			    unsigned int count, const char **error_r)
{
	struct dict_transaction_context *trans;
	struct store_commit_result commit;
	const char *error;
	uid_t euid;

	if (count == 0)
		return 0;
	/* dict-client sends BEGIN and each change at once */
	euid = store_priv_begin(store);
	trans = store_changes_begin(store, user, changes, count, error_r);
	if (trans == NULL) {
		store_priv_end(euid);
		return -1;
	}
	/* Committed asynchronously and waited for, never with the
	   synchronous dict_transaction_commit(): Dovecot 2.3.19's redis
	   driver calls the commit callback twice in synchronous mode and
	   crashes (doveadm dict set on redis: does too). */
	i_zero(&commit);
	dict_transaction_commit_async(&trans, store_commit_callback, &commit);
	dict_wait(store->dict);
	store_priv_end(euid);
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
	uid_t euid = store_priv_begin(store);

	dict_wait(store->dict);
	store_priv_end(euid);
}

void pop3_policy_store_set_async(struct pop3_policy_store *store,
				 enum pop3_policy_record_kind kind,
				 const char *user, const char *const *fields,
				 pop3_policy_store_commit_callback_t *callback,
				 void *context)
{
	struct store_change change = {
		.kind = kind,
		.fields = fields,
	};
	struct dict_transaction_context *trans;
	struct store_async_commit *ac;
	const char *error;
	uid_t euid;

	i_assert(fields != NULL);
	if (store_check_user(kind, user, &error) < 0) {
		callback(-1, error, context);
		return;
	}
	change.key = pop3_policy_store_key(kind, user);
	euid = store_priv_begin(store);
	trans = store_changes_begin(store, user, &change, 1, &error);
	if (trans == NULL) {
		store_priv_end(euid);
		callback(-1, error, context);
		return;
	}
	ac = i_new(struct store_async_commit, 1);
	ac->user = i_strdup(user);
	ac->key = i_strdup(change.key);
	ac->callback = callback;
	ac->context = context;
	/* asynchronous, for the reason given in store_apply();
	   drivers without asynchronous commits call back at once */
	dict_transaction_commit_async(&trans, store_async_commit_callback, ac);
	store_priv_end(euid);
}

static int
store_set_key(struct pop3_policy_store *store,
	      enum pop3_policy_record_kind kind,
			      const char *user, const char *key,
			      const char *const *fields, const char **error_r)
{
	struct store_change change = {
		.kind = kind,
		.key = key,
		.fields = fields,
	};

	i_assert(fields != NULL);
	return store_apply(store, user, &change, 1, error_r);
}

int pop3_policy_store_set(struct pop3_policy_store *store,
			  enum pop3_policy_record_kind kind, const char *user,
			  const char *const *fields, const char **error_r)
{
	if (store_check_user(kind, user, error_r) < 0)
		return -1;
	return store_set_key(store, kind, user,
		pop3_policy_store_key(kind, user), fields, error_r);
}

static int
store_unset_key(struct pop3_policy_store *store,
		const char *user, const char *key,
				const char **error_r)
{
	struct store_change change = {
		.key = key,
	};
	struct dict_op_settings op_set;
	/* dict_lookup() reads *error_r also when the lookup succeeded */
	const char *value, *error = NULL;
	uid_t euid;
	int ret;

	if (store_check_key(user, key, error_r) < 0)
		return -1;
	/* lib-dict does not say whether an unset removed anything; look
	   first (raw, so that a malformed record can still be removed) */
	store_op_settings(user, &op_set);
	euid = store_priv_begin(store);
	ret = dict_lookup(store->dict, &op_set, pool_datastack_create(),
			  key, &value, &error);
	store_priv_end(euid);
	if (ret < 0) {
		*error_r = t_strconcat(store_error_prefix(user, key),
				       "lookup before removal failed: ",
				       pop3_policy_store_driver_error(error),
				       NULL);
		return -1;
	}
	if (ret == 0)
		return 0;
	if (store_apply(store, user, &change, 1, error_r) < 0)
		return -1;
	return 1;
}

int pop3_policy_store_unset(struct pop3_policy_store *store,
			    enum pop3_policy_record_kind kind,
			    const char *user, const char **error_r)
{
	if (store_check_user(kind, user, error_r) < 0)
		return -1;
	return store_unset_key(store, user,
		pop3_policy_store_key(kind, user), error_r);
}
