/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Table tests of the record codec (src/lib/pop3-policy-record.c): round
   trips of every kind with hostile bytes in fields, and hostile records
   whose errors must say what is wrong without echoing the value. */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "pop3-policy-record.h"

/* Marker put into every hostile record: no error may contain it. */
#define SECRET "S3cr3tValue"

static void test_record_kind_names(void)
{
	static const char *const names[POP3_POLICY_RECORD_KIND_COUNT] = {
		"policy", "apop", "login",
	};
	unsigned int i;

	test_begin("record kind names and minimum field counts");
	for (i = 0; i < POP3_POLICY_RECORD_KIND_COUNT; i++) {
		test_assert_strcmp_idx(pop3_policy_record_kind_name(i),
				       names[i], i);
		test_assert_idx(pop3_policy_record_kind_min_fields(i) >= 1, i);
	}
	test_end();
}

struct round_trip_case {
	enum pop3_policy_record_kind kind;
	const char *fields[6];
};

static const struct round_trip_case round_trip_cases[] = {
	{ POP3_POLICY_RECORD_POLICY,
	  { "1795391833", "on_delete=hold hold=7d", NULL } },
	{ POP3_POLICY_RECORD_POLICY,
	  { "0", "", NULL } },
	{ POP3_POLICY_RECORD_POLICY,
	  { "1", "tab\there", "newline\nthere", "cr\rthere", NULL } },
	{ POP3_POLICY_RECORD_APOP,
	  { "k1", "1795391833", "\001", "\001\001t", "\001n\t\n", NULL } },
	{ POP3_POLICY_RECORD_APOP,
	  { "PLAIN", "1795391833", "pa ss\tw\001rd\n", NULL } },
	{ POP3_POLICY_RECORD_LOGIN,
	  { "1795391833", "1795391800", "3", NULL } },
	{ POP3_POLICY_RECORD_LOGIN,
	  { "1795391833", "\t\t\t", "gen/1\\x", NULL } },
	{ POP3_POLICY_RECORD_POLICY,
	  { "\001\001\001", "x", "extra field a later revision appends",
	    NULL } },
};

static void test_record_round_trip(void)
{
	unsigned int i, j;

	test_begin("record round trips");
	for (i = 0; i < N_ELEMENTS(round_trip_cases); i++) T_BEGIN {
		const struct round_trip_case *c = &round_trip_cases[i];
		const char *record, *const *fields, *error = NULL;

		record = pop3_policy_record_encode(c->kind, c->fields);
		/* one line, so that line-based drivers keep it whole */
		test_assert_idx(strchr(record, '\n') == NULL, i);
		test_assert_idx(strchr(record, '\r') == NULL, i);
		test_assert_idx(str_begins(record, t_strdup_printf("1\t%s\t",
			pop3_policy_record_kind_name(c->kind))), i);
		test_assert_idx(pop3_policy_record_decode(c->kind, record,
			&fields, &error) == 0, i);
		test_assert_idx(error == NULL, i);
		if (error != NULL)
			continue;
		for (j = 0; c->fields[j] != NULL; j++)
			test_assert_strcmp_idx(fields[j], c->fields[j],
					       i * 100 + j);
		test_assert_idx(fields[j] == NULL, i);
	} T_END;
	test_end();
}

static void test_record_round_trip_huge(void)
{
	const char *fields[4], *record, *const *decoded, *error;
	string_t *big;
	unsigned int i;

	test_begin("record round trip of a 1 MiB field of every byte");
	big = t_str_new(1024 * 1024 + 256);
	while (str_len(big) < 1024 * 1024) {
		for (i = 1; i < 256; i++)
			str_append_c(big, i);
	}
	fields[0] = "1795391833";
	fields[1] = str_c(big);
	fields[2] = "tail";
	fields[3] = NULL;
	record = pop3_policy_record_encode(POP3_POLICY_RECORD_POLICY, fields);
	test_assert(strchr(record, '\n') == NULL);
	test_assert(pop3_policy_record_decode(POP3_POLICY_RECORD_POLICY,
					      record, &decoded, &error) == 0);
	test_assert(strcmp(decoded[1], str_c(big)) == 0);
	test_assert_strcmp(decoded[2], "tail");
	test_end();
}

struct hostile_case {
	enum pop3_policy_record_kind kind;
	const char *record;
	/* the error must contain this */
	const char *error_part;
};

static const struct hostile_case hostile_cases[] = {
	{ POP3_POLICY_RECORD_POLICY, "",
	  "empty value" },
	{ POP3_POLICY_RECORD_POLICY, "policy\t1\t"SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, "\t\t"SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, "0\tpolicy\t1\t"SECRET,
	  "unknown record version 0" },
	{ POP3_POLICY_RECORD_POLICY, "2\tpolicy\t1\t"SECRET,
	  "unknown record version 2 (this build reads versions 1 to 1)" },
	{ POP3_POLICY_RECORD_APOP, "4294967295\tapop\tk\t1\t"SECRET,
	  "unknown record version 4294967295" },
	{ POP3_POLICY_RECORD_POLICY, "-1\tpolicy\t1\t"SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, "99999999999999999999\tpolicy\t1\t"SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, " 1\tpolicy\t1\t"SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, "1x\tpolicy\t1\t"SECRET,
	  "version field is not a decimal number" },
	{ POP3_POLICY_RECORD_POLICY, "\xff\xfe"SECRET"\x01\x02",
	  "escape character in the version or kind field" },
	{ POP3_POLICY_RECORD_POLICY, "1\0010\tpolicy\t1\t"SECRET,
	  "escape character in the version or kind field" },
	{ POP3_POLICY_RECORD_POLICY, "1\tpolic\001yy\t1\t"SECRET,
	  "escape character in the version or kind field" },
	{ POP3_POLICY_RECORD_POLICY, "1",
	  "no kind after the version" },
	{ POP3_POLICY_RECORD_POLICY, "1\tapop\tk1\t1\t"SECRET,
	  "it is a 'apop' record, expected 'policy'" },
	{ POP3_POLICY_RECORD_APOP, "1\tpolicy\t1\t"SECRET,
	  "it is a 'policy' record, expected 'apop'" },
	{ POP3_POLICY_RECORD_APOP, "1\t"SECRET"\tk1\t1\t"SECRET,
	  "unknown kind tag, expected 'apop'" },
	{ POP3_POLICY_RECORD_POLICY, "1\tPolicy\t1\t"SECRET,
	  "unknown kind tag, expected 'policy'" },
	{ POP3_POLICY_RECORD_POLICY, "1\tpolicy\t"SECRET,
	  "1 fields, a policy record has at least 2" },
	{ POP3_POLICY_RECORD_LOGIN, "1\tlogin",
	  "0 fields, a login record has at least 3" },
	{ POP3_POLICY_RECORD_APOP, "1\tapop\t"SECRET"\t"SECRET,
	  "2 fields, a apop record has at least 3" },
	{ POP3_POLICY_RECORD_LOGIN, "1\tlogin\tg\t"SECRET,
	  "2 fields, a login record has at least 3" },
	{ POP3_POLICY_RECORD_POLICY, "1\tuidl-map\tg\t"SECRET"\t1",
	  "unknown kind tag, expected 'policy'" },
};

static void test_record_hostile(void)
{
	unsigned int i;

	test_begin("hostile records give errors that do not echo them");
	for (i = 0; i < N_ELEMENTS(hostile_cases); i++) T_BEGIN {
		const struct hostile_case *c = &hostile_cases[i];
		const char *const *fields = NULL, *error = NULL;

		test_assert_idx(pop3_policy_record_decode(c->kind, c->record,
			&fields, &error) == -1, i);
		test_assert_idx(fields == NULL, i);
		test_assert_idx(error != NULL, i);
		if (error == NULL)
			continue;
		if (strstr(error, c->error_part) == NULL) {
			i_error("case %u: error '%s' lacks '%s'",
				i, error, c->error_part);
			test_assert_idx(FALSE, i);
		}
		test_assert_idx(strstr(error, SECRET) == NULL, i);
	} T_END;
	test_end();
}

static void test_record_hostile_huge(void)
{
	const char *const *fields, *error = NULL;
	string_t *str;
	unsigned int i;

	test_begin("huge hostile records");
	/* a megabyte of digits as the version */
	str = t_str_new(1024 * 1024 + 64);
	for (i = 0; i < 1024 * 1024; i++)
		str_append_c(str, '9');
	str_append(str, "\tpolicy\t1\t"SECRET);
	test_assert(pop3_policy_record_decode(POP3_POLICY_RECORD_POLICY,
					      str_c(str), &fields, &error) < 0);
	test_assert(error != NULL && strlen(error) < 200);
	test_assert(error != NULL && strstr(error, "99999") == NULL);

	/* a megabyte long kind tag */
	str_truncate(str, 0);
	str_append(str, "1\t");
	for (i = 0; i < 1024 * 1024; i++)
		str_append_c(str, 'k');
	str_append(str, "\t1\t"SECRET);
	error = NULL;
	test_assert(pop3_policy_record_decode(POP3_POLICY_RECORD_POLICY,
					      str_c(str), &fields, &error) < 0);
	test_assert(error != NULL && strlen(error) < 200);

	/* 100,000 empty fields are well formed: extra fields are allowed */
	str_truncate(str, 0);
	str_append(str, "1\tlogin");
	for (i = 0; i < 100000; i++)
		str_append_c(str, '\t');
	test_assert(pop3_policy_record_decode(POP3_POLICY_RECORD_LOGIN,
					      str_c(str), &fields, &error) == 0);
	test_assert(str_array_length(fields) == 100000);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_record_kind_names,
		test_record_round_trip,
		test_record_round_trip_huge,
		test_record_hostile,
		test_record_hostile_huge,
		NULL
	};
	return test_run(test_functions);
}
