/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Table tests of the policy language and its layered resolution. */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "pop3-policy-rules.h"

static const struct {
	const char *name;
	const char *policy;
} test_classes[] = {
	{ "gold", "expire=30d login_delay=5m" },
	{ "silver", "class=gold expire=7d" },
	{ "hold", "on_delete=hold hold=2w" },
	{ "loop1", "class=loop2" },
	{ "loop2", "class=loop1" },
	{ "self", "expire=1d class=self" },
	{ "bad", "expire=soon" },
	{ "deep1", "class=deep2" }, { "deep2", "class=deep3" },
	{ "deep3", "class=deep4" }, { "deep4", "class=deep5" },
	{ "deep5", "class=deep6" }, { "deep6", "class=deep7" },
	{ "deep7", "class=deep8" }, { "deep8", "class=deep9" },
	{ "deep9", "dry_run=yes" },
	{ "failing", NULL },
	{ "twice", "class=gold class=gold" },
	/* a binary tree over two classes per level: 62 expansions */
	{ "fan1a", "class=fan2a class=fan2b" },
	{ "fan2a", "class=fan3a class=fan3b" },
	{ "fan2b", "class=fan3a class=fan3b" },
	{ "fan3a", "class=fan4a class=fan4b" },
	{ "fan3b", "class=fan4a class=fan4b" },
	{ "fan4a", "class=fan5a class=fan5b" },
	{ "fan4b", "class=fan5a class=fan5b" },
	{ "fan5a", "class=fan6a class=fan6b" },
	{ "fan5b", "class=fan6a class=fan6b" },
	{ "fan6a", "dry_run=yes" },
	{ "fan6b", "dry_run=yes" },
};

static int
test_class_lookup(const char *name, void *context ATTR_UNUSED,
		  const char **policy_r, const char **error_r)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(test_classes); i++) {
		if (strcmp(test_classes[i].name, name) != 0)
			continue;
		if (test_classes[i].policy == NULL) {
			*error_r = "lookup failed";
			return -1;
		}
		*policy_r = test_classes[i].policy;
		return 1;
	}
	return 0;
}

static void test_policy_defaults(void)
{
	struct pop3_policy policy;
	static const char *const expected[POP3_POLICY_KEY_COUNT] = {
		"expunge", "2w", "never", "never", "0", "0", "no", "no", "no"
	};
	unsigned int i;

	test_begin("policy defaults");
	pop3_policy_init(&policy);
	for (i = 0; i < POP3_POLICY_KEY_COUNT; i++) {
		test_assert_strcmp_idx(pop3_policy_value_str(&policy, i),
				       expected[i], i);
		test_assert_strcmp_idx(pop3_policy_origin_str(&policy, i),
				       "default", i);
	}
	test_end();
}

/* One valid policy string at the userdb layer: the key that must have
   changed, its printed value and origin. */
static void test_policy_valid(void)
{
	static const struct {
		const char *input;
		enum pop3_policy_key key;
		const char *value;
		const char *origin;
	} tests[] = {
		{ "on_delete=hold", POP3_POLICY_KEY_ON_DELETE, "hold", "userdb" },
		{ "on_delete=move:Trash", POP3_POLICY_KEY_ON_DELETE,
		  "move:Trash", "userdb" },
		{ "on_delete=move:Archive/POP3", POP3_POLICY_KEY_ON_DELETE,
		  "move:Archive/POP3", "userdb" },
		{ "on_delete=move:Gelöscht", POP3_POLICY_KEY_ON_DELETE,
		  "move:Gelöscht", "userdb" },
		{ "  on_delete=expunge\t", POP3_POLICY_KEY_ON_DELETE,
		  "expunge", "userdb" },
		{ "hold=30s", POP3_POLICY_KEY_HOLD, "30s", "userdb" },
		{ "hold=0", POP3_POLICY_KEY_HOLD, "0", "userdb" },
		{ "hold=90s", POP3_POLICY_KEY_HOLD, "90s", "userdb" },
		{ "hold=120s", POP3_POLICY_KEY_HOLD, "2m", "userdb" },
		{ "hold=14days", POP3_POLICY_KEY_HOLD, "2w", "userdb" },
		{ "expire=0", POP3_POLICY_KEY_EXPIRE, "0", "userdb" },
		{ "expire=never", POP3_POLICY_KEY_EXPIRE, "never", "userdb" },
		{ "expire=15m", POP3_POLICY_KEY_EXPIRE, "15m", "userdb" },
		{ "expire=2h", POP3_POLICY_KEY_EXPIRE, "2h", "userdb" },
		{ "max_age=365d", POP3_POLICY_KEY_MAX_AGE, "365d", "userdb" },
		{ "max_age=never", POP3_POLICY_KEY_MAX_AGE, "never", "userdb" },
		{ "login_delay=5m", POP3_POLICY_KEY_LOGIN_DELAY, "5m", "userdb" },
		{ "login_delay=5m login_burst=3", POP3_POLICY_KEY_LOGIN_BURST,
		  "3", "userdb" },
		{ "login_burst=2", POP3_POLICY_KEY_LOGIN_BURST, "2", "userdb" },
		{ "apop_only=yes", POP3_POLICY_KEY_APOP_ONLY, "yes", "userdb" },
		{ "legal_hold=yes", POP3_POLICY_KEY_LEGAL_HOLD, "yes", "userdb" },
		{ "dry_run=yes dry_run=yes", POP3_POLICY_KEY_DRY_RUN, "yes",
		  "userdb" },
		{ "expire=1d expire=24h", POP3_POLICY_KEY_EXPIRE, "1d",
		  "userdb" },
		{ "class=gold", POP3_POLICY_KEY_EXPIRE, "30d", "class:gold" },
		{ "class=gold", POP3_POLICY_KEY_LOGIN_DELAY, "5m", "class:gold" },
		{ "class=gold expire=1d", POP3_POLICY_KEY_EXPIRE, "1d", "userdb" },
		{ "expire=1d class=gold", POP3_POLICY_KEY_EXPIRE, "30d",
		  "class:gold" },
		{ "class=silver", POP3_POLICY_KEY_EXPIRE, "1w", "class:silver" },
		{ "class=silver", POP3_POLICY_KEY_LOGIN_DELAY, "5m",
		  "class:gold" },
		{ "class=hold", POP3_POLICY_KEY_HOLD, "2w", "class:hold" },
		{ "class=deep2", POP3_POLICY_KEY_DRY_RUN, "yes", "class:deep9" },
		/* a class's on_delete does not conflict with the string's own
		   words: the string overrides it */
		{ "class=hold on_delete=expunge", POP3_POLICY_KEY_ON_DELETE,
		  "expunge", "userdb" },
		{ "", POP3_POLICY_KEY_EXPIRE, "never", "default" },
		{ " \t ", POP3_POLICY_KEY_EXPIRE, "never", "default" },
	};
	struct pop3_policy policy;
	const char *error;
	unsigned int i;
	int ret;

	test_begin("policy valid");
	for (i = 0; i < N_ELEMENTS(tests); i++) T_BEGIN {
		pop3_policy_init(&policy);
		error = NULL;
		ret = pop3_policy_parse(&policy, pool_datastack_create(),
					tests[i].input,
					POP3_POLICY_LAYER_USERDB,
					test_class_lookup, NULL, &error);
		test_assert_idx(ret == 0, i);
		if (ret < 0)
			i_error("%u: %s", i, error);
		test_assert_strcmp_idx(pop3_policy_value_str(&policy,
							     tests[i].key),
				       tests[i].value, i);
		test_assert_strcmp_idx(pop3_policy_origin_str(&policy,
							      tests[i].key),
				       tests[i].origin, i);
	} T_END;
	test_end();
}

/* Refused input, including hostile input: the error must name the word
   (or the part of it) and why. */
static void test_policy_invalid(void)
{
	static const struct {
		const char *input;
		const char *error_part1;
		const char *error_part2;
	} tests[] = {
		{ "expire", "'expire'", "expected key=value" },
		{ "=", "'='", "unknown key ''" },
		{ "=1d", "'=1d'", "unknown key" },
		{ "expires=1d", "'expires=1d'", "unknown key 'expires'" },
		{ "EXPIRE=1d", "'EXPIRE=1d'", "unknown key" },
		{ "expire=", "'expire='", "duration" },
		{ "expire=soon", "'expire=soon'", "duration" },
		{ "expire=10", "'expire=10'", "missing units" },
		{ "expire=10x", "'expire=10x'", "Invalid time interval" },
		{ "expire=-1d", "'expire=-1d'", "duration" },
		{ "expire=+1d", "'expire=+1d'", "duration" },
		{ "expire=1d2h", "'expire=1d2h'", "Invalid time interval" },
		{ "expire=99999999999999999999d", "'expire=9", "Invalid" },
		{ "expire=9999999w", "'expire=9999999w'", "too large" },
		{ "hold=never", "'hold=never'", "duration" },
		{ "login_delay=never", "'login_delay=never'", "duration" },
		{ "max_age=0", "'max_age=0'", "remove every message" },
		{ "login_burst=-1", "'login_burst=-1'", "count" },
		{ "login_burst=1x", "'login_burst=1x'", "count" },
		{ "login_burst=99999999999", "'login_burst=", "count" },
		{ "apop_only=maybe", "'apop_only=maybe'", "yes or no" },
		{ "legal_hold=YES", "'legal_hold=YES'", "yes or no" },
		{ "dry_run=1", "'dry_run=1'", "yes or no" },
		{ "on_delete=delete", "'on_delete=delete'",
		  "expunge, hold or move" },
		{ "on_delete=move:", "'on_delete=move:'", "empty" },
		{ "on_delete=move:INBOX", "'on_delete=move:INBOX'", "INBOX" },
		{ "on_delete=move:inbox", "'on_delete=move:inbox'", "INBOX" },
		{ "on_delete=move:a*", "'on_delete=move:a*'", "wildcard" },
		{ "on_delete=move:a%b", "'on_delete=move:a%b'", "wildcard" },
		{ "on_delete=move:/etc", "'on_delete=move:/etc'", "'/'" },
		{ "on_delete=move:../x", "'on_delete=move:../x'", "'.'" },
		{ "on_delete=move:a/../b", "'on_delete=move:a/../b'", "dot" },
		{ "on_delete=move:~root", "'on_delete=move:~root'", "'~'" },
		{ "on_delete=move:a//b", "'on_delete=move:a//b'", "empty" },
		{ "on_delete=move:a/", "'on_delete=move:a/'", "'/'" },
		{ "on_delete=move:a\x01z", "move:a", "control character" },
		{ "on_delete=move:a\x7fz", "move:a", "control character" },
		{ "on_delete=move:\xff\xfe", "move:", "UTF-8" },
		{ "expire=1d expire=2d", "'expire=2d'",
		  "conflicts with expire=1d" },
		{ "on_delete=hold on_delete=expunge", "'on_delete=expunge'",
		  "conflicts" },
		{ "hold=1d on_delete=expunge", "'hold=1d'",
		  "'on_delete=expunge'" },
		{ "on_delete=move:X hold=1d", "'hold=1d'", "move:X" },
		{ "login_burst=3 login_delay=0", "'login_burst=3'",
		  "'login_delay=0'" },
		{ "class=", "'class='", "empty" },
		{ "class=nosuch", "'class=nosuch'", "unknown class" },
		{ "class=loop1", "'class=loop1'", "class loop" },
		{ "class=self", "'class=self'", "class loop" },
		{ "class=bad", "class bad", "'expire=soon'" },
		{ "class=deep1", "class=deep9", "nested deeper" },
		{ "class=failing", "'class=failing'", "lookup failed" },
		/* repeats, and expansions that multiply with the depth */
		{ "class=gold class=gold", "'class=gold'", "named twice" },
		{ "class=gold expire=1d class=gold", "class gold",
		  "named twice" },
		{ "class=twice", "class twice", "named twice" },
		{ "class=fan1a", "'class=fan",
		  "more than 32 class expansions" },
		{ "expire=1d bogus", "'bogus'", "expected key=value" },
	};
	struct pop3_policy policy;
	const char *error;
	unsigned int i;
	int ret;

	test_begin("policy invalid");
	for (i = 0; i < N_ELEMENTS(tests); i++) T_BEGIN {
		pop3_policy_init(&policy);
		error = NULL;
		ret = pop3_policy_parse(&policy, pool_datastack_create(),
					tests[i].input,
					POP3_POLICY_LAYER_STORE,
					test_class_lookup, NULL, &error);
		test_assert_idx(ret == -1, i);
		test_assert_idx(error != NULL &&
				strstr(error, "Invalid store policy: ") != NULL &&
				strstr(error, tests[i].error_part1) != NULL &&
				strstr(error, tests[i].error_part2) != NULL, i);
		if (ret == 0 || error == NULL ||
		    strstr(error, tests[i].error_part1) == NULL ||
		    strstr(error, tests[i].error_part2) == NULL)
			i_error("%u: got '%s'", i, error);
	} T_END;
	test_end();
}

/* Layers in order: later wins key by key, each key remembers its layer. */
static void test_policy_layers(void)
{
	struct pop3_policy policy;
	pool_t pool = pool_alloconly_create("test policy", 1024);
	const char *error;

	test_begin("policy layers");
	pop3_policy_init(&policy);
	test_assert(pop3_policy_parse(&policy, pool,
		"on_delete=hold hold=7d expire=never", POP3_POLICY_LAYER_SITE,
		test_class_lookup, NULL, &error) == 0);
	test_assert(pop3_policy_parse(&policy, pool, "class=gold",
		POP3_POLICY_LAYER_USERDB, test_class_lookup, NULL,
		&error) == 0);
	test_assert(pop3_policy_parse(&policy, pool, "expire=3d dry_run=yes",
		POP3_POLICY_LAYER_STORE, test_class_lookup, NULL,
		&error) == 0);
	test_assert_strcmp(pop3_policy_value_str(&policy,
		POP3_POLICY_KEY_ON_DELETE), "hold");
	test_assert_strcmp(pop3_policy_origin_str(&policy,
		POP3_POLICY_KEY_ON_DELETE), "site");
	test_assert_strcmp(pop3_policy_value_str(&policy,
		POP3_POLICY_KEY_HOLD), "1w");
	test_assert_strcmp(pop3_policy_value_str(&policy,
		POP3_POLICY_KEY_EXPIRE), "3d");
	test_assert(policy.expire_secs == 3*24*3600);
	test_assert_strcmp(pop3_policy_origin_str(&policy,
		POP3_POLICY_KEY_EXPIRE), "store");
	test_assert_strcmp(pop3_policy_origin_str(&policy,
		POP3_POLICY_KEY_LOGIN_DELAY), "class:gold");
	test_assert(policy.login_delay_secs == 300);
	test_assert_strcmp(pop3_policy_origin_str(&policy,
		POP3_POLICY_KEY_DRY_RUN), "store");
	test_assert(policy.dry_run);
	test_assert_strcmp(pop3_policy_origin_str(&policy,
		POP3_POLICY_KEY_MAX_AGE), "default");

	/* no lookup callback: a class word is an unknown class */
	test_assert(pop3_policy_parse(&policy, pool, "class=gold",
		POP3_POLICY_LAYER_SITE, NULL, NULL, &error) == -1);
	test_assert(strstr(error, "unknown class") != NULL);
	/* NULL changes nothing */
	test_assert(pop3_policy_parse(&policy, pool, NULL,
		POP3_POLICY_LAYER_SITE, NULL, NULL, &error) == 0);
	test_assert(policy.dry_run);
	pool_unref(&pool);
	test_end();
}

/* Hostile volume: a huge policy string and a huge word must be handled
   (refused or parsed) without crashing or quadratic blowups. */
static void test_policy_hostile(void)
{
	struct pop3_policy policy;
	string_t *str;
	const char *error;
	unsigned int i;

	test_begin("policy hostile");
	str = t_str_new(1024*64);
	for (i = 0; i < 5000; i++)
		str_append(str, "expire=1d ");
	pop3_policy_init(&policy);
	test_assert(pop3_policy_parse(&policy, pool_datastack_create(),
		str_c(str), POP3_POLICY_LAYER_SITE, test_class_lookup, NULL,
		&error) == 0);
	test_assert(policy.expire_secs == 24*3600);

	str_truncate(str, 0);
	str_append(str, "on_delete=move:");
	for (i = 0; i < 10000; i++)
		str_append_c(str, 'a');
	test_assert(pop3_policy_parse(&policy, pool_datastack_create(),
		str_c(str), POP3_POLICY_LAYER_SITE, test_class_lookup, NULL,
		&error) == -1);
	test_assert(strstr(error, "longer than 255") != NULL);

	test_assert(pop3_policy_parse(&policy, pool_datastack_create(),
		"expire==1d", POP3_POLICY_LAYER_SITE, test_class_lookup, NULL,
		&error) == -1);
	test_assert(strstr(error, "'expire==1d'") != NULL);
	test_assert(pop3_policy_parse(&policy, pool_datastack_create(),
		"%s%n%x=1", POP3_POLICY_LAYER_SITE, test_class_lookup, NULL,
		&error) == -1);
	test_assert(strstr(error, "'%s%n%x'") != NULL);
	test_end();
}

static void test_policy_duration_str(void)
{
	static const struct {
		unsigned int secs;
		const char *str;
	} tests[] = {
		{ 0, "0" }, { 1, "1s" }, { 59, "59s" }, { 60, "1m" },
		{ 3600, "1h" }, { 86400, "1d" }, { 604800, "1w" },
		{ 90000, "25h" }, { POP3_POLICY_NEVER, "never" },
	};
	unsigned int i;

	test_begin("policy duration_str");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_strcmp_idx(pop3_policy_duration_str(tests[i].secs),
				       tests[i].str, i);
	}
	test_end();
}

static void test_policy_decisions(void)
{
	static const struct {
		const char *policy;
		enum pop3_policy_action dele, owed;
	} actions[] = {
		{ "", POP3_POLICY_ACTION_EXPUNGE, POP3_POLICY_ACTION_EXPUNGE },
		{ "on_delete=hold", POP3_POLICY_ACTION_HOLD,
		  POP3_POLICY_ACTION_HOLD },
		{ "on_delete=move:Old", POP3_POLICY_ACTION_MOVE,
		  POP3_POLICY_ACTION_MOVE },
		{ "legal_hold=yes", POP3_POLICY_ACTION_HOLD,
		  POP3_POLICY_ACTION_KEEP },
		{ "legal_hold=yes on_delete=move:Old", POP3_POLICY_ACTION_HOLD,
		  POP3_POLICY_ACTION_KEEP },
		/* dry_run does not change the action, only whether it runs */
		{ "dry_run=yes on_delete=hold", POP3_POLICY_ACTION_HOLD,
		  POP3_POLICY_ACTION_HOLD },
	};
	static const struct {
		time_t since;
		unsigned int duration;
		time_t now;
		bool due;
	} dues[] = {
		{ 1000, 0, 1000, TRUE },
		{ 1000, 0, 999, FALSE },
		{ 1000, 60, 1059, FALSE },
		{ 1000, 60, 1060, TRUE },
		{ 1000, POP3_POLICY_NEVER, (time_t)1 << 40, FALSE },
		/* no record: never due (a lost record only delays) */
		{ 0, 0, 1000, FALSE },
		{ -5, 0, 1000, FALSE },
		/* the largest duration does not wrap around */
		{ 2000000000, POP3_POLICY_NEVER - 1, 2000000001, FALSE },
	};
	struct pop3_policy policy;
	const char *error;
	unsigned int i;

	test_begin("policy decisions");
	for (i = 0; i < N_ELEMENTS(actions); i++) T_BEGIN {
		pop3_policy_init(&policy);
		test_assert_idx(pop3_policy_parse(&policy,
			pool_datastack_create(), actions[i].policy,
			POP3_POLICY_LAYER_SITE, NULL, NULL, &error) == 0, i);
		test_assert_idx(pop3_policy_removal_action(&policy, TRUE) ==
				actions[i].dele, i);
		test_assert_idx(pop3_policy_removal_action(&policy, FALSE) ==
				actions[i].owed, i);
	} T_END;
	for (i = 0; i < N_ELEMENTS(dues); i++) {
		test_assert_idx(pop3_policy_is_due(dues[i].since,
						   dues[i].duration,
						   dues[i].now) == dues[i].due,
				i);
	}
	test_end();
}

/* The quarantine is purged only under a policy that holds: a mailbox of
   its name under any other policy is the user's own. */
static void test_policy_purges_quarantine(void)
{
	static const struct {
		const char *policy;
		bool purges;
	} cases[] = {
		{ "", FALSE },
		{ "on_delete=expunge", FALSE },
		{ "on_delete=move:Old", FALSE },
		{ "on_delete=hold", TRUE },
		{ "on_delete=hold dry_run=yes", TRUE },
		{ "on_delete=hold legal_hold=yes", FALSE },
		{ "legal_hold=yes", FALSE },
		{ "expire=1d max_age=30d", FALSE },
	};
	struct pop3_policy policy;
	const char *error;
	unsigned int i;

	test_begin("policy purges quarantine");
	for (i = 0; i < N_ELEMENTS(cases); i++) T_BEGIN {
		pop3_policy_init(&policy);
		test_assert_idx(pop3_policy_parse(&policy,
			pool_datastack_create(), cases[i].policy,
			POP3_POLICY_LAYER_SITE, NULL, NULL, &error) == 0, i);
		test_assert_idx(pop3_policy_purges_quarantine(&policy) ==
				cases[i].purges, i);
	} T_END;
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_policy_defaults,
		test_policy_valid,
		test_policy_invalid,
		test_policy_layers,
		test_policy_hostile,
		test_policy_duration_str,
		test_policy_decisions,
		test_policy_purges_quarantine,
		NULL
	};
	return test_run(test_functions);
}
