/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* store-check: exercises the store API (src/lib/pop3-policy-store.c)
   against a real lib-dict driver.

     store-check                       file: in a temporary directory
     store-check <dict-uri> [<base_dir>]
     store-check --expect-failure <dict-uri> [<base_dir>]
     store-check --cut-reply <writer-uri> <reader-uri>

   The first two forms round-trip every record kind (set, lookup, unset,
   lookup-not-found) for user names with '/', '\' and spaces and values up
   to the store's 60 KiB limit, prefetch, and check the error paths: records written raw with lib-dict that are
   malformed, of an unknown version or of another kind, refused writes, and
   a dict server that is not there. The third form expects every operation
   on the URI to fail (a stopped dict server, a broken backend) and checks
   that each error names the user and the key, never the value; it prints
   the errors so that the caller can check what they say. The fourth
   writes a record of each kind through the first URI, then reads and
   removes them through the second, on which every reply that carries a
   record is cut half-way (a connection lost mid-reply, made by the
   caller): each lookup and removal must fail without quoting the part of
   the record that arrived, and the record must still be there.

   make check runs the first form; tests/integration/test-store.c runs the
   others inside a real instance against its dict server on SQLite. Linked
   with Dovecot's libraries (never GLib); output is test-common.h's. */

#include "lib.h"
#include "ioloop.h"
#include "str.h"
#include "unlink-directory.h"
#include "dict.h"
#include "test-common.h"
#include "pop3-policy-store.h"

#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

/* A marker put into every value: no error may quote it. */
#define SECRET "S3cr3tValue"

static const char *store_uri, *store_base_dir;

static const char *const test_users[] = {
	"alice",
	"dept/bob",
	"back\\slash",
	"with space",
	"a/b\\c d/../x",
};

static struct pop3_policy_store *store_open(const char *uri,
					    const char *base_dir)
{
	struct pop3_policy_store_settings set;
	struct pop3_policy_store *store;
	const char *error;

	i_zero(&set);
	set.uri = uri;
	set.base_dir = base_dir;
	if (pop3_policy_store_init(&set, &store, &error) < 0)
		i_fatal("store-check: %s", error);
	return store;
}

static struct dict *raw_dict_open(void)
{
	struct dict_settings set;
	struct dict *dict;
	const char *error;

	i_zero(&set);
	set.base_dir = store_base_dir;
	if (dict_init(store_uri, &set, &dict, &error) < 0)
		i_fatal("store-check: dict_init(%s): %s", store_uri, error);
	return dict;
}

static void raw_commit_callback(const struct dict_commit_result *result,
				int *ret_r)
{
	if (result->ret < 0)
		i_error("store-check: raw write: %s", result->error);
	*ret_r = result->ret;
}

static void raw_dict_set(const char *user, const char *key, const char *value)
{
	struct dict *dict = raw_dict_open();
	struct dict_op_settings op_set;
	struct dict_transaction_context *trans;
	int ret = -1;

	i_zero(&op_set);
	op_set.username = user;
	trans = dict_transaction_begin(dict, &op_set);
	dict_set(trans, key, value);
	/* async and waited for: a synchronous commit crashes Dovecot
	   2.3.19's redis driver (see pop3_policy_store_apply()) */
	dict_transaction_commit_async(&trans, raw_commit_callback, &ret);
	dict_wait(dict);
	if (ret < 0)
		i_fatal("store-check: raw write of %s failed", key);
	dict_deinit(&dict);
}

/* An error must name the user and the key and never quote the value. */
static void check_error(const char *error, const char *user, const char *key,
			unsigned int idx)
{
	test_assert_idx(error != NULL, idx);
	if (error == NULL)
		return;
	if (strstr(error, t_strdup_printf("user %s:", user)) == NULL ||
	    (key != NULL && strstr(error, key) == NULL)) {
		i_warning("store-check: case %u: error does not name user %s "
			  "and key %s: %s", idx, user, key, error);
		test_assert_idx(FALSE, idx);
	}
	test_assert_idx(strstr(error, SECRET) == NULL, idx);
}

/* A value of about size bytes with the marker and every byte the record
   codec escapes. */
static const char *make_value(size_t size)
{
	string_t *str = t_str_new(size + 64);

	str_append(str, SECRET" tab\there nl\nthere cr\rthere ctl\001");
	while (str_len(str) < size)
		str_append_c(str, 'a' + str_len(str) % 26);
	return str_c(str);
}

static bool fields_equal(const char *const *a, const char *const *b)
{
	for (; *a != NULL && *b != NULL; a++, b++) {
		if (strcmp(*a, *b) != 0)
			return FALSE;
	}
	return *a == NULL && *b == NULL;
}

static void
round_trip_kind(struct pop3_policy_store *store,
		enum pop3_policy_record_kind kind, const char *user,
		const char *value, unsigned int idx)
{
	const char *fields[] = { "1795391833", value, "3", NULL };
	const char *const *found, *error = NULL;
	int ret;

	if (pop3_policy_store_set(store, kind, user, fields, &error) < 0) {
		i_warning("store-check: %s", error);
		test_assert_idx(FALSE, idx);
		return;
	}
	found = NULL;
	ret = pop3_policy_store_lookup(store, kind, user, &found, &error);
	test_assert_idx(ret == 1, idx);
	if (ret < 0)
		i_warning("store-check: %s", error);
	test_assert_idx(ret != 1 || fields_equal(found, fields), idx);

	ret = pop3_policy_store_unset(store, kind, user, &error);
	test_assert_idx(ret == 1, idx);
	ret = pop3_policy_store_lookup(store, kind, user, &found, &error);
	test_assert_idx(ret == 0, idx);
	/* nothing left to remove */
	ret = pop3_policy_store_unset(store, kind, user, &error);
	test_assert_idx(ret == 0, idx);
}

static void test_store_round_trip(void)
{
	static const size_t sizes[] = { 0, 100, 4096, 58 * 1024 };
	struct pop3_policy_store *store;
	unsigned int kind, u, s, idx = 0;

	test_begin("store round trip of every kind, user and size");
	store = store_open(store_uri, store_base_dir);
	for (kind = 0; kind < POP3_POLICY_RECORD_KIND_COUNT; kind++) {
		for (u = 0; u < N_ELEMENTS(test_users); u++) {
			for (s = 0; s < N_ELEMENTS(sizes); s++) T_BEGIN {
				round_trip_kind(store, kind, test_users[u],
						make_value(sizes[s]), idx++);
			} T_END;
		}
	}
	pop3_policy_store_deinit(&store);
	test_end();
}

/* pop3_policy_store_prefetch(): answers the next lookup of each record
   as the store did, once; a write or removal drops the kept answer. */
static void test_store_prefetch(void)
{
	static const enum pop3_policy_record_kind kinds[] = {
		POP3_POLICY_RECORD_POLICY,
		POP3_POLICY_RECORD_LOGIN,
		POP3_POLICY_RECORD_APOP,
	};
	const char *policy[] = { "1795391833", "on_delete=hold", NULL };
	const char *changed[] = { "1795391834", "on_delete=expunge", NULL };
	const char *guard[] = { "1795391833", "sketch", "3", NULL };
	const char *const *found, *error, *user = "dept/bob";
	struct pop3_policy_store *store, *other;

	test_begin("store prefetch");
	store = store_open(store_uri, store_base_dir);
	other = store_open(store_uri, store_base_dir);
	test_assert(pop3_policy_store_set(store, POP3_POLICY_RECORD_POLICY,
					  user, policy, &error) == 0);
	test_assert(pop3_policy_store_set(store, POP3_POLICY_RECORD_APOP,
					  user, guard, &error) == 0);
	pop3_policy_store_prefetch(store, user, kinds, N_ELEMENTS(kinds));
	/* changed by another process after the prefetch: the kept answer
	   is served once, then the store is read again */
	test_assert(pop3_policy_store_set(other, POP3_POLICY_RECORD_POLICY,
					  user, changed, &error) == 0);
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
		user, &found, &error) == 1 && fields_equal(found, policy));
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
		user, &found, &error) == 1 && fields_equal(found, changed));
	test_assert(pop3_policy_store_lookup(store,
		POP3_POLICY_RECORD_LOGIN, user, &found, &error) == 0);
	test_assert(pop3_policy_store_lookup(store,
		POP3_POLICY_RECORD_APOP, user, &found, &error) == 1 &&
		fields_equal(found, guard));

	/* a write of a prefetched key drops the kept answer */
	pop3_policy_store_prefetch(store, user, kinds, 1);
	test_assert(pop3_policy_store_set(store, POP3_POLICY_RECORD_POLICY,
					  user, policy, &error) == 0);
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
		user, &found, &error) == 1 && fields_equal(found, policy));

	/* a removal too */
	pop3_policy_store_prefetch(store, user, kinds, 1);
	test_assert(pop3_policy_store_unset(store, POP3_POLICY_RECORD_POLICY,
					    user, &error) == 1);
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
		user, &found, &error) == 0);
	test_assert(pop3_policy_store_unset(store,
		POP3_POLICY_RECORD_APOP, user, &error) == 1);

	/* an empty user name prefetches nothing and the lookup fails */
	pop3_policy_store_prefetch(store, "", kinds, N_ELEMENTS(kinds));
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
		"", &found, &error) == -1);
	pop3_policy_store_deinit(&other);
	pop3_policy_store_deinit(&store);
	test_end();
}

/* What the callback of an asynchronous lookup or write reported. */
struct async_result {
	unsigned int calls;
	int ret;
	const char **fields;
	char *error;
};

static void async_result_set(struct async_result *result, int ret,
			     const char *const *fields, const char *error)
{
	result->calls++;
	result->ret = ret;
	i_free(result->fields);
	result->fields = fields == NULL ? NULL :
		p_strarray_dup(default_pool, fields);
	i_free(result->error);
	result->error = i_strdup(error);
}

static void async_lookup_callback(int ret, const char *const *fields,
				  const char *error, void *context)
{
	async_result_set(context, ret, fields, error);
}

static void async_set_callback(int ret, const char *error, void *context)
{
	async_result_set(context, ret, NULL, error);
}

static void async_result_free(struct async_result *result)
{
	i_free(result->fields);
	i_free(result->error);
	i_zero(result);
}

/* pop3_policy_store_set_async(): the record is written and the callback
   called once with 0; a record refused before the commit is called back
   at once with an error naming user and key, and nothing is written. */
static void test_store_set_async(void)
{
	const char *fields[] = { "1795391833", "7", "3", NULL };
	const char *big_fields[] = { "1", NULL, NULL };
	const char *const *found, *error, *user = "dept/bob";
	const char *key = pop3_policy_store_key(POP3_POLICY_RECORD_LOGIN, user);
	struct async_result result;
	struct pop3_policy_store *store;

	test_begin("store asynchronous write");
	store = store_open(store_uri, store_base_dir);
	i_zero(&result);
	pop3_policy_store_set_async(store, POP3_POLICY_RECORD_LOGIN, user,
				    fields, async_set_callback, &result);
	pop3_policy_store_wait(store);
	test_assert(result.calls == 1 && result.ret == 0 &&
		    result.error == NULL);
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_LOGIN,
		user, &found, &error) == 1 && fields_equal(found, fields));

	/* refused before the commit: called back at once */
	async_result_free(&result);
	pop3_policy_store_set_async(store, POP3_POLICY_RECORD_LOGIN, "",
				    fields, async_set_callback, &result);
	test_assert(result.calls == 1 && result.ret == -1 &&
		    result.error != NULL &&
		    strstr(result.error, "empty user name") != NULL);
	async_result_free(&result);
	big_fields[1] = make_value(POP3_POLICY_STORE_MAX_VALUE_SIZE);
	pop3_policy_store_set_async(store, POP3_POLICY_RECORD_LOGIN, user,
				    big_fields, async_set_callback, &result);
	test_assert(result.calls == 1 && result.ret == -1);
	check_error(result.error, user, key, 0);
	async_result_free(&result);
	pop3_policy_store_wait(store);
	/* the earlier record is still the one stored */
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_LOGIN,
		user, &found, &error) == 1 && fields_equal(found, fields));
	test_assert(pop3_policy_store_unset(store, POP3_POLICY_RECORD_LOGIN,
					    user, &error) == 1);
	pop3_policy_store_deinit(&store);
	test_end();
}

/* pop3_policy_store_lookup_async(): the same answers as the synchronous
   lookup, once each: found, none, a malformed record, a bad user name. */
static void test_store_lookup_async(void)
{
	const char *fields[] = { "1795391833", "7", "3", NULL };
	const char *const *found, *error, *user = "dept/bob";
	struct async_result result;
	struct pop3_policy_store *store;

	test_begin("store asynchronous lookup");
	store = store_open(store_uri, store_base_dir);
	test_assert(pop3_policy_store_set(store, POP3_POLICY_RECORD_LOGIN,
					  user, fields, &error) == 0);
	i_zero(&result);
	pop3_policy_store_lookup_async(store, POP3_POLICY_RECORD_LOGIN, user,
				       async_lookup_callback, &result);
	pop3_policy_store_wait(store);
	test_assert(result.calls == 1 && result.ret == 1 &&
		    result.fields != NULL &&
		    fields_equal(result.fields, fields));
	async_result_free(&result);

	pop3_policy_store_lookup_async(store, POP3_POLICY_RECORD_POLICY, user,
				       async_lookup_callback, &result);
	pop3_policy_store_wait(store);
	test_assert(result.calls == 1 && result.ret == 0 &&
		    result.error == NULL);
	async_result_free(&result);

	/* a record that is not the package's: an error naming user and
	   key, never "no record" */
	raw_dict_set(user, pop3_policy_store_key(POP3_POLICY_RECORD_POLICY,
						 user), "9\tpolicy\tx");
	pop3_policy_store_lookup_async(store, POP3_POLICY_RECORD_POLICY, user,
				       async_lookup_callback, &result);
	pop3_policy_store_wait(store);
	test_assert(result.calls == 1 && result.ret == -1);
	check_error(result.error, user, pop3_policy_store_key(
		POP3_POLICY_RECORD_POLICY, user), 0);
	async_result_free(&result);

	pop3_policy_store_lookup_async(store, POP3_POLICY_RECORD_LOGIN, "",
				       async_lookup_callback, &result);
	test_assert(result.calls == 1 && result.ret == -1 &&
		    result.error != NULL &&
		    strstr(result.error, "empty user name") != NULL);
	async_result_free(&result);

	test_assert(pop3_policy_store_unset(store, POP3_POLICY_RECORD_POLICY,
					    user, &error) == 1);
	test_assert(pop3_policy_store_unset(store, POP3_POLICY_RECORD_LOGIN,
					    user, &error) == 1);
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_LOGIN,
		user, &found, &error) == 0);
	pop3_policy_store_deinit(&store);
	test_end();
}

static void test_store_users_apart(void)
{
	const char *fields_a[] = { "1", "record of dept/bob", "3", NULL };
	const char *fields_b[] = { "2", "record of dept", "4", NULL };
	const char *const *found, *error;
	struct pop3_policy_store *store;
	unsigned int kind;

	test_begin("store keeps users apart");
	store = store_open(store_uri, store_base_dir);
	for (kind = 0; kind < POP3_POLICY_RECORD_KIND_COUNT; kind++) {
		test_assert_idx(pop3_policy_store_set(store, kind, "dept/bob",
			fields_a, &error) == 0, kind);
		test_assert_idx(pop3_policy_store_lookup(store, kind, "dept",
			&found, &error) == 0, kind);
		test_assert_idx(pop3_policy_store_lookup(store, kind, "bob",
			&found, &error) == 0, kind);
		test_assert_idx(pop3_policy_store_set(store, kind, "dept",
			fields_b, &error) == 0, kind);
		test_assert_idx(pop3_policy_store_lookup(store, kind,
			"dept/bob", &found, &error) == 1 &&
			fields_equal(found, fields_a), kind);
		test_assert_idx(pop3_policy_store_lookup(store, kind, "dept",
			&found, &error) == 1 &&
			fields_equal(found, fields_b), kind);
		test_assert_idx(pop3_policy_store_unset(store, kind,
			"dept/bob", &error) == 1, kind);
		test_assert_idx(pop3_policy_store_unset(store, kind, "dept",
			&error) == 1, kind);
	}
	pop3_policy_store_deinit(&store);
	test_end();
}

struct raw_case {
	enum pop3_policy_record_kind kind;
	const char *value;
	const char *error_part;
};

static const struct raw_case raw_cases[] = {
	{ POP3_POLICY_RECORD_POLICY, SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, "2\tpolicy\t1\t"SECRET,
	  "unknown record version 2" },
	{ POP3_POLICY_RECORD_POLICY, "0\tpolicy\t1\t"SECRET,
	  "unknown record version 0" },
	{ POP3_POLICY_RECORD_APOP, "1\tpolicy\t1\t"SECRET,
	  "it is a 'policy' record, expected 'apop'" },
	{ POP3_POLICY_RECORD_APOP, "1\tapop\t"SECRET,
	  "1 fields, a apop record has at least 3" },
	{ POP3_POLICY_RECORD_LOGIN, "1\t"SECRET"\t1\t2\t3",
	  "unknown kind tag" },
	{ POP3_POLICY_RECORD_LOGIN, "-7\tlogin\t"SECRET"\t1\t1",
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_LOGIN, "3\tlogin\t"SECRET"\t1\t1",
	  "unknown record version 3" },
};

static void test_store_bad_records(void)
{
	struct pop3_policy_store *store;
	const char *const *found, *error, *user, *key;
	unsigned int i, u;
	int ret;

	test_begin("store refuses malformed and unknown-version records");
	store = store_open(store_uri, store_base_dir);
	for (i = 0; i < N_ELEMENTS(raw_cases); i++) {
		for (u = 0; u < N_ELEMENTS(test_users); u++) T_BEGIN {
			const struct raw_case *c = &raw_cases[i];

			user = test_users[u];
			key = pop3_policy_store_key(c->kind, user);
			raw_dict_set(user, key, c->value);
			error = NULL;
			ret = pop3_policy_store_lookup(store, c->kind, user,
						       &found, &error);
			test_assert_idx(ret == -1, i);
			check_error(error, user, key, i);
			if (error != NULL &&
			    strstr(error, c->error_part) == NULL) {
				i_warning("store-check: case %u: '%s' "
					  "lacks '%s'", i, error,
					  c->error_part);
				test_assert_idx(FALSE, i);
			}
			/* a bad record can still be removed */
			test_assert_idx(pop3_policy_store_unset(store,
				c->kind, user, &error) == 1, i);
			test_assert_idx(pop3_policy_store_lookup(store,
				c->kind, user, &found, &error) == 0, i);
		} T_END;
	}

	pop3_policy_store_deinit(&store);
	test_end();
}

static void test_store_refused_input(void)
{
	struct pop3_policy_store_settings set;
	struct pop3_policy_store *store, *bad;
	const char *const *found, *error, *big_fields[3];
	const char *few_fields[] = { SECRET, NULL };
	const char *user = "dept/bob";

	test_begin("store refuses bad input with an error, not a crash");
	store = store_open(store_uri, store_base_dir);

	/* empty user names: no user's key */
	error = NULL;
	test_assert(pop3_policy_store_lookup(store,
		POP3_POLICY_RECORD_LOGIN, "", &found, &error) == -1);
	test_assert(error != NULL && strstr(error, "empty user") != NULL);
	error = NULL;
	test_assert(pop3_policy_store_set(store, POP3_POLICY_RECORD_POLICY,
		"", few_fields, &error) == -1);
	test_assert(error != NULL && strstr(error, "empty user") != NULL);
	test_assert(pop3_policy_store_unset(store, POP3_POLICY_RECORD_APOP,
		"", &error) == -1);
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
		NULL, &found, &error) == -1);

	/* too few fields for the kind */
	error = NULL;
	test_assert(pop3_policy_store_set(store, POP3_POLICY_RECORD_APOP,
		user, few_fields, &error) == -1);
	check_error(error, user, pop3_policy_store_key(
		POP3_POLICY_RECORD_APOP, user), 1);
	test_assert(error != NULL &&
		    strstr(error, "apop record of 1 fields") != NULL);

	/* a record larger than the proxy protocol carries */
	big_fields[0] = "1";
	big_fields[1] = make_value(POP3_POLICY_STORE_MAX_VALUE_SIZE);
	big_fields[2] = NULL;
	error = NULL;
	test_assert(pop3_policy_store_set(store, POP3_POLICY_RECORD_POLICY,
		user, big_fields, &error) == -1);
	check_error(error, user, pop3_policy_store_key(
		POP3_POLICY_RECORD_POLICY, user), 2);
	test_assert(error != NULL && strstr(error, "limit of") != NULL);
	/* and nothing was written */
	test_assert(pop3_policy_store_lookup(store, POP3_POLICY_RECORD_POLICY,
		user, &found, &error) == 0);
	pop3_policy_store_deinit(&store);

	/* bad URIs */
	i_zero(&set);
	set.base_dir = store_base_dir;
	set.uri = "";
	test_assert(pop3_policy_store_init(&set, &bad, &error) == -1);
	set.uri = "no-such-driver:x";
	error = NULL;
	test_assert(pop3_policy_store_init(&set, &bad, &error) == -1);
	test_assert(error != NULL &&
		    strstr(error, "no-such-driver") != NULL);
	test_end();
}

/* One operation of expect_failures(): it failed (failed), with an error
   naming user and key, which is printed for the caller. */
static void expect_failed(bool failed, const char *error, const char *what,
			  const char *user, const char *key, unsigned int idx)
{
	test_assert_idx(failed, idx);
	check_error(error, user, key, idx);
	printf("%s error: %s\n", what, error);
}

/* Every operation on the store must fail with an error naming user and
   key; prints each error for the caller. */
static void expect_failures(const char *uri, const char *base_dir)
{
	const char *fields[] = { "1", SECRET, SECRET, SECRET, NULL };
	struct async_result async;
	struct pop3_policy_store *store;
	const char *const *found, *error, *key, *user = "dept/bob";
	unsigned int kind;
	int ret;

	i_zero(&async);
	store = store_open(uri, base_dir);
	for (kind = 0; kind < POP3_POLICY_RECORD_KIND_COUNT; kind++) T_BEGIN {
		key = pop3_policy_store_key(kind, user);
		/* a prefetched failure is reported by the lookup */
		enum pop3_policy_record_kind prefetch_kind = kind;

		error = NULL;
		pop3_policy_store_prefetch(store, user,
					   &prefetch_kind, 1);
		ret = pop3_policy_store_lookup(store, kind, user,
					       &found, &error);
		expect_failed(ret == -1, error, "prefetched lookup",
			      user, key, kind);
		error = NULL;
		ret = pop3_policy_store_set(store, kind, user, fields,
					    &error);
		expect_failed(ret == -1, error, "set", user, key,
			      kind);
		error = NULL;
		ret = pop3_policy_store_lookup(store, kind, user,
					       &found, &error);
		expect_failed(ret == -1, error, "lookup", user, key,
			      kind);
		pop3_policy_store_lookup_async(store, kind, user,
			async_lookup_callback, &async);
		pop3_policy_store_wait(store);
		expect_failed(async.calls == 1 && async.ret == -1,
			      async.error, "async lookup", user, key,
			      kind);
		async_result_free(&async);
		pop3_policy_store_set_async(store, kind, user, fields,
			async_set_callback, &async);
		pop3_policy_store_wait(store);
		expect_failed(async.calls == 1 && async.ret == -1,
			      async.error, "async set", user, key,
			      kind);
		async_result_free(&async);
		error = NULL;
		ret = pop3_policy_store_unset(store, kind, user,
					      &error);
		expect_failed(ret == -1, error, "unset", user, key,
			      kind);
	} T_END;
	pop3_policy_store_deinit(&store);
}

/* Records whose replies the reader URI cuts half-way: the marker comes
   first, so that the half that arrives holds it. Each kind gets a new
   connection, whose first lookup is the one before a removal; the lookup
   after it meets Dovecot 2.3's redis driver reading the next reply as the
   rest of the lost one (it keeps the lost reply's byte count), which the
   record decoder must refuse. */
static void expect_cut_replies(const char *writer_uri,
			       const char *reader_uri)
{
	/* enough fields for every kind */
	const char *fields[] = { SECRET, NULL, "x", "x", NULL };
	struct pop3_policy_store *writer, *reader;
	const char *const *found, *error, *key, *user = "dept/bob";
	string_t *padding;
	unsigned int kind;
	int ret;

	padding = t_str_new(200);
	while (str_len(padding) < 200)
		str_append_c(padding, 'p');
	fields[1] = str_c(padding);
	writer = store_open(writer_uri, store_base_dir);
	for (kind = 0; kind < POP3_POLICY_RECORD_KIND_COUNT; kind++) T_BEGIN {
		key = pop3_policy_store_key(kind, user);
		ret = pop3_policy_store_set(writer, kind, user, fields,
					    &error);
		if (ret < 0)
			i_warning("store-check: %s", error);
		test_assert_idx(ret == 0, kind);
		reader = store_open(reader_uri, store_base_dir);
		error = NULL;
		ret = pop3_policy_store_unset(reader, kind, user, &error);
		expect_failed(ret == -1, error, "unset", user, key, kind);
		error = NULL;
		ret = pop3_policy_store_lookup(reader, kind, user, &found,
					       &error);
		expect_failed(ret == -1, error, "lookup", user, key, kind);
		pop3_policy_store_deinit(&reader);
		/* nothing was removed on the failed lookup */
		ret = pop3_policy_store_lookup(writer, kind, user, &found,
					       &error);
		test_assert_idx(ret == 1 && strcmp(found[0], SECRET) == 0,
				kind);
		test_assert_idx(pop3_policy_store_unset(writer, kind, user,
							&error) == 1, kind);
	} T_END;
	pop3_policy_store_deinit(&writer);
}

static const char *cut_reply_writer_uri, *cut_reply_reader_uri;

static void test_store_cut_reply(void)
{
	failure_callback_t *fatal_handler, *test_handler, *info_handler,
		*debug_handler;

	i_get_failure_handlers(&fatal_handler, &test_handler, &info_handler,
			       &debug_handler);
	test_begin("store replies cut half-way are errors that quote nothing");
	/* the driver logs the lost connection itself */
	i_set_error_handler(default_error_handler);
	expect_cut_replies(cut_reply_writer_uri, cut_reply_reader_uri);
	i_set_error_handler(test_handler);
	test_end();
}

static const char *expect_failure_uri, *expect_failure_base_dir;

static void test_store_expected_failure(void)
{
	failure_callback_t *fatal_handler, *test_handler, *info_handler,
		*debug_handler;

	i_get_failure_handlers(&fatal_handler, &test_handler, &info_handler,
			       &debug_handler);

	test_begin(t_strdup_printf("store %s fails every operation clearly",
				   expect_failure_uri));
	/* drivers log their own errors (redis: "connect() failed"), which
	   test-common would count as failures: here they are expected */
	i_set_error_handler(default_error_handler);
	expect_failures(expect_failure_uri, expect_failure_base_dir);
	i_set_error_handler(test_handler);
	test_end();
}

static void test_store_uri_keep_open(void)
{
	static const struct {
		const char *uri, *result;
	} cases[] = {
		{ "proxy::pop3policy", "proxy:idle_msecs=500::pop3policy" },
		{ "proxy:/run/dict:pop3policy",
		  "proxy:idle_msecs=500:/run/dict:pop3policy" },
		{ "proxy:warn_slow_msecs=10::pop3policy",
		  "proxy:idle_msecs=500:warn_slow_msecs=10::pop3policy" },
		/* the administrator's own idle_msecs is kept */
		{ "proxy:idle_msecs=0::pop3policy",
		  "proxy:idle_msecs=0::pop3policy" },
		{ "proxy:warn_slow_msecs=10:idle_msecs=7::pop3policy",
		  "proxy:warn_slow_msecs=10:idle_msecs=7::pop3policy" },
		/* only proxy: has the parameter */
		{ "file:/tmp/x.dict", "file:/tmp/x.dict" },
		{ "redis:host=127.0.0.1", "redis:host=127.0.0.1" },
		{ "proxyish:x", "proxyish:x" },
	};
	unsigned int i;

	test_begin("store URI keeps the proxy's connection open");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		test_assert_strcmp_idx(pop3_policy_store_uri_keep_open(
			cases[i].uri, 500), cases[i].result, i);
	}
	test_end();
}

static void test_store_driver_error_hides_data(void)
{
	const char *error;

	test_begin("store driver errors never quote store data");
	error = pop3_policy_store_driver_error(
		"redis: Communication failure (last reply: 1\tapop\tSECRET)");
	test_assert(strstr(error, "SECRET") == NULL);
	test_assert(strstr(error, "Communication failure") != NULL);
	test_assert_strcmp(pop3_policy_store_driver_error("timeout"),
			   "timeout");
	test_end();
}

static void test_store_uri_for_log(void)
{
	static const struct {
		const char *uri, *logged;
	} cases[] = {
		{ "proxy::pop3policy", "proxy::pop3policy" },
		{ "redis:host=127.0.0.1:port=6379",
		  "redis:host=127.0.0.1:port=6379" },
		{ "redis:host=127.0.0.1:password=s3cret:port=6379",
		  "redis:host=127.0.0.1:password=<hidden>:port=6379" },
		{ "redis:password=s3cret",
		  "redis:password=<hidden>" },
		{ "proxy:idle_msecs=5:redis:password=a:password=b",
		  "proxy:idle_msecs=5:redis:password=<hidden>:"
		  "password=<hidden>" },
	};
	unsigned int i;

	test_begin("store URI for the log hides passwords");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		test_assert_strcmp_idx(pop3_policy_store_uri_for_log(
			cases[i].uri), cases[i].logged, i);
	}
	test_end();
}

static void test_store_missing_server(void)
{
	const char *dir;

	/* a base_dir with no dict socket: proxy:: cannot connect */
	dir = t_strdup_printf("/tmp/store-check-nodict.%s.%ld",
			      dec2str(getpid()), (long)ioloop_time);
	if (mkdir(dir, 0700) < 0)
		i_fatal("store-check: mkdir(%s): %m", dir);
	test_begin("store with a missing dict server fails clearly");
	expect_failures("proxy::pop3policy", dir);
	test_end();
	if (rmdir(dir) < 0)
		i_fatal("store-check: rmdir(%s): %m", dir);
}

int main(int argc, char *argv[])
{
	static void (*const full_tests[])(void) = {
		test_store_uri_keep_open,
		test_store_driver_error_hides_data,
		test_store_uri_for_log,
		test_store_round_trip,
		test_store_prefetch,
		test_store_set_async,
		test_store_lookup_async,
		test_store_users_apart,
		test_store_bad_records,
		test_store_refused_input,
		test_store_missing_server,
		NULL
	};
	static void (*const failure_tests[])(void) = {
		test_store_expected_failure,
		NULL
	};
	static void (*const cut_reply_tests[])(void) = {
		test_store_cut_reply,
		NULL
	};
	struct ioloop *ioloop;
	const char *tmpdir = NULL, *error;
	bool expect_failure = FALSE;
	int ret;

	lib_init();
	/* as every Dovecot service does: a lost connection is an error
	   of the write, not the end of the process */
	signal(SIGPIPE, SIG_IGN);
	ioloop = io_loop_create();
	dict_drivers_register_builtin();

	if (argc == 7 && strcmp(argv[1], "--set-raw") == 0) {
		/* store-check --set-raw <uri> <base_dir> <user> <key> <value>:
		   writes a value as is (a damaged record for a test), also on
		   redis:, where doveadm dict set crashes Dovecot 2.3.19 */
		store_uri = argv[2];
		store_base_dir = argv[3];
		raw_dict_set(argv[4], argv[5], argv[6]);
		dict_drivers_unregister_builtin();
		io_loop_destroy(&ioloop);
		lib_deinit();
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--cut-reply") == 0) {
		cut_reply_writer_uri = argv[2];
		cut_reply_reader_uri = argv[3];
		store_base_dir = "/nonexistent";
		ret = test_run(cut_reply_tests);
		dict_drivers_unregister_builtin();
		io_loop_destroy(&ioloop);
		lib_deinit();
		return ret;
	}
	if (argc > 1 && strcmp(argv[1], "--expect-failure") == 0) {
		expect_failure = TRUE;
		argv++;
		argc--;
	}
	if (argc > 3 || (expect_failure && argc < 2) ||
	    (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr, "Usage: store-check [--expect-failure] "
			"[<dict-uri> [<base_dir>]]\n"
			"       store-check --cut-reply <writer-uri> "
			"<reader-uri>\n"
			"       store-check --set-raw <dict-uri> <base_dir> "
			"<user> <key> <value>\n");
		return 2;
	}
	if (argc > 1) {
		store_uri = argv[1];
		store_base_dir = argc > 2 ? argv[2] : "/nonexistent";
	} else {
		char path[] = "/tmp/store-check.XXXXXX";

		if (mkdtemp(path) == NULL)
			i_fatal("store-check: mkdtemp(%s): %m", path);
		tmpdir = t_strdup(path);
		store_uri = t_strdup_printf("file:%s/store.dict", tmpdir);
		store_base_dir = tmpdir;
	}

	if (expect_failure) {
		expect_failure_uri = store_uri;
		expect_failure_base_dir = store_base_dir;
		ret = test_run(failure_tests);
	} else {
		ret = test_run(full_tests);
	}

	if (tmpdir != NULL && unlink_directory(tmpdir,
			UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("store-check: %s", error);
	dict_drivers_unregister_builtin();
	io_loop_destroy(&ioloop);
	lib_deinit();
	return ret;
}
