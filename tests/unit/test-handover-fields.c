/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Table tests of the handover of a session's records as userdb fields
   (src/lib/pop3-policy-handover.c): records with hostile bytes come back
   unchanged through Dovecot's %variable expansion of plugin settings, the
   size budget, and handover fields that must be refused. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "var-expand.h"
#include "test-common.h"
#include "pop3-policy-handover.h"

/* What the session sees: the userdb fields as plugin settings after
   mail_user_init() expanded %variables in them (a user's home is %h) */
struct expanded_fields {
	ARRAY_TYPE(const_string) pairs;
};

static void expanded_fields_init(struct expanded_fields *ef,
				 const char *const *fields)
{
	static const struct var_expand_table table[] = {
		{ 'h', "/home/EXPANDED", "home" },
		{ 'u', "EXPANDED", "user" },
		{ '\0', NULL, NULL }
	};
	string_t *str = t_str_new(256);
	const char *error, *value;

	t_array_init(&ef->pairs, 16);
	for (; *fields != NULL; fields += 2) {
		str_truncate(str, 0);
		test_assert(var_expand(str, fields[1], table, &error) == 1);
		value = t_strdup(str_c(str));
		array_push_back(&ef->pairs, &fields[0]);
		array_push_back(&ef->pairs, &value);
	}
}

static const char *expanded_get(const char *name, void *context)
{
	struct expanded_fields *ef = context;
	const char *const *pairs;
	unsigned int i, count;

	pairs = array_get(&ef->pairs, &count);
	for (i = 0; i < count; i += 2) {
		if (strcmp(pairs[i], name) == 0)
			return pairs[i + 1];
	}
	return NULL;
}

static void test_handover_round_trip(void)
{
	static const char *const users[] = {
		"alice", "dept/bob", "100%h", "tab\there", "%%u",
	};
	static const char *const records[] = {
		"1\tpolicy\t1795391833\ton_delete=move:Sp%hm%%x\001",
		"1\tpolicy\t1\t7:00a1:9c0e\r\n\t%u",
		NULL,
	};
	struct pop3_policy_handover_record in, *out;
	struct expanded_fields ef;
	unsigned int i, r, count;
	const char *error;

	test_begin("handover round trip through %variable expansion");
	in.kind = POP3_POLICY_RECORD_POLICY;
	for (r = 0; r < N_ELEMENTS(records); r++)
	for (i = 0; i < N_ELEMENTS(users); i++) T_BEGIN {
		in.record = records[r];
		expanded_fields_init(&ef, pop3_policy_handover_fields(
					     users[i], &in, 1));
		error = NULL;
		test_assert_idx(pop3_policy_handover_read(users[i],
			expanded_get, &ef, &out, &count, &error) == 1, i);
		test_assert_idx(error == NULL, i);
		test_assert_idx(count == 1, i);
		if (count == 1) {
			test_assert_idx(out[0].kind == in.kind, i);
			test_assert_idx(null_strcmp(out[0].record,
						    in.record) == 0, i);
		}
	} T_END;
	test_end();
}

static void test_handover_budget(void)
{
	struct pop3_policy_handover_record in, *out;
	struct expanded_fields ef;
	const char *const *fields, *error;
	unsigned int count;
	char *big;

	test_begin("handover budget");
	/* a record of the whole budget fits */
	big = t_malloc0(POP3_POLICY_HANDOVER_MAX_BYTES + 2);
	memset(big, 'x', POP3_POLICY_HANDOVER_MAX_BYTES);
	in.kind = POP3_POLICY_RECORD_POLICY;
	in.record = big;
	fields = pop3_policy_handover_fields("alice", &in, 1);
	expanded_fields_init(&ef, fields);
	test_assert(pop3_policy_handover_read("alice", expanded_get, &ef,
					      &out, &count, &error) == 1);
	test_assert(count == 1);
	/* one byte more does not, and is not listed, so that the session
	   reads it */
	big[POP3_POLICY_HANDOVER_MAX_BYTES] = 'x';
	fields = pop3_policy_handover_fields("alice", &in, 1);
	test_assert(fields[0] == NULL);

	/* a doubled '%' counts: a record of '%' only fits at half length */
	big = t_malloc0(POP3_POLICY_HANDOVER_MAX_BYTES);
	memset(big, '%', POP3_POLICY_HANDOVER_MAX_BYTES / 2);
	in.record = big;
	fields = pop3_policy_handover_fields("alice", &in, 1);
	expanded_fields_init(&ef, fields);
	test_assert_strcmp(expanded_get(POP3_POLICY_HANDOVER_KINDS_FIELD,
					&ef), "policy");
	big[POP3_POLICY_HANDOVER_MAX_BYTES / 2] = '%';
	fields = pop3_policy_handover_fields("alice", &in, 1);
	test_assert(fields[0] == NULL);

	/* no record read: no fields at all, and no handover */
	fields = pop3_policy_handover_fields("alice", &in, 0);
	test_assert(fields[0] == NULL);
	expanded_fields_init(&ef, fields);
	test_assert(pop3_policy_handover_read("alice", expanded_get, &ef,
					      &out, &count, &error) == 0);
	test_end();
}

static void test_handover_refused(void)
{
	static const struct {
		const char *fields[7];
		const char *error;
	} cases[] = {
		{ { POP3_POLICY_HANDOVER_KINDS_FIELD, "policy", NULL },
		  POP3_POLICY_HANDOVER_USER_FIELD" is missing" },
		{ { POP3_POLICY_HANDOVER_KINDS_FIELD, "policy",
		    POP3_POLICY_HANDOVER_USER_FIELD, "mallory", NULL },
		  "names another user" },
		{ { POP3_POLICY_HANDOVER_KINDS_FIELD, "policy",
		    POP3_POLICY_HANDOVER_USER_FIELD, "alice\001t", NULL },
		  "names another user" },
		{ { POP3_POLICY_HANDOVER_KINDS_FIELD, "policy apop",
		    POP3_POLICY_HANDOVER_USER_FIELD, "alice", NULL },
		  "unknown record kind" },
		{ { POP3_POLICY_HANDOVER_KINDS_FIELD, "uidl-map",
		    POP3_POLICY_HANDOVER_USER_FIELD, "alice", NULL },
		  "unknown record kind" },
		{ { POP3_POLICY_HANDOVER_KINDS_FIELD, "policy policy",
		    POP3_POLICY_HANDOVER_USER_FIELD, "alice", NULL },
		  "listed twice" },
	};
	struct pop3_policy_handover_record *out;
	struct expanded_fields ef;
	const char *error;
	unsigned int i, count;

	test_begin("handover fields refused");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		expanded_fields_init(&ef, cases[i].fields);
		error = NULL;
		test_assert_idx(pop3_policy_handover_read("alice",
			expanded_get, &ef, &out, &count, &error) == -1, i);
		test_assert_idx(error != NULL &&
				strstr(error, cases[i].error) != NULL, i);
	}

	/* an empty list is a handover of nothing */
	{
		const char *const fields[] = {
			POP3_POLICY_HANDOVER_KINDS_FIELD, "",
			POP3_POLICY_HANDOVER_USER_FIELD, "alice", NULL
		};
		expanded_fields_init(&ef, fields);
		test_assert(pop3_policy_handover_read("alice", expanded_get,
			&ef, &out, &count, &error) == 1);
		test_assert(count == 0);
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_handover_round_trip,
		test_handover_budget,
		test_handover_refused,
		NULL
	};
	return test_run(test_functions);
}
