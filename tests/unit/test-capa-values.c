/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Table tests of the RFC 2449 EXPIRE and LOGIN-DELAY values: days rounded
   down, the pre-login bounds over site and classes, holding a policy to
   them, and recognising a whole CAPA reply. */

#include "lib.h"
#include "test-common.h"
#include "pop3-policy-capa.h"

static const char *const test_class_names[] = {
	"fast", "slow", "keep", "old", NULL
};

static int
test_class_lookup(const char *name, void *context ATTR_UNUSED,
		  const char **policy_r, const char **error_r ATTR_UNUSED)
{
	static const char *const policies[][2] = {
		{ "fast", "expire=60h" },
		{ "slow", "login_delay=1h" },
		{ "keep", "legal_hold=yes expire=0" },
		{ "old", "max_age=10d" },
		{ "bad", "expire=soon" },
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(policies); i++) {
		if (strcmp(policies[i][0], name) == 0) {
			*policy_r = policies[i][1];
			return 1;
		}
	}
	return 0;
}

static void test_capa_user_values(void)
{
	static const struct {
		const char *policy;
		const char *lines;
	} tests[] = {
		{ "", "EXPIRE NEVER\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=0", "EXPIRE 0\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=23h", "EXPIRE 0\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=1d", "EXPIRE 1\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=47h", "EXPIRE 1\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=2w login_delay=15m",
		  "EXPIRE 14\r\nLOGIN-DELAY 900\r\n" },
		{ "expire=30d max_age=10d", "EXPIRE 10\r\nLOGIN-DELAY 0\r\n" },
		{ "max_age=3d", "EXPIRE 3\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=0 legal_hold=yes", "EXPIRE NEVER\r\nLOGIN-DELAY 0\r\n" },
		{ "max_age=1d dry_run=yes login_delay=30s",
		  "EXPIRE NEVER\r\nLOGIN-DELAY 30\r\n" },
	};
	struct pop3_policy policy;
	const char *error;
	unsigned int i;

	test_begin("capa user values");
	for (i = 0; i < N_ELEMENTS(tests); i++) T_BEGIN {
		pop3_policy_init(&policy);
		test_assert_idx(pop3_policy_parse(&policy,
			pool_datastack_create(), tests[i].policy,
			POP3_POLICY_LAYER_SITE, NULL, NULL, &error) == 0, i);
		test_assert_strcmp_idx(pop3_policy_capa_user_lines(&policy),
				       tests[i].lines, i);
	} T_END;
	test_end();
}

static void test_capa_bounds(void)
{
	static const struct {
		const char *site;
		bool classes;
		const char *expire_min, *login_delay_max;
		const char *lines;
	} tests[] = {
		{ NULL, FALSE, NULL, NULL,
		  "EXPIRE NEVER USER\r\nLOGIN-DELAY 0 USER\r\n" },
		{ "expire=30d login_delay=5m", FALSE, NULL, NULL,
		  "EXPIRE 30 USER\r\nLOGIN-DELAY 300 USER\r\n" },
		/* a class's legal_hold does not lower the bound */
		{ "expire=30d login_delay=5m", TRUE, NULL, NULL,
		  "EXPIRE 2 USER\r\nLOGIN-DELAY 3600 USER\r\n" },
		{ "expire=30d login_delay=5m", TRUE, "1d", "2h",
		  "EXPIRE 1 USER\r\nLOGIN-DELAY 7200 USER\r\n" },
		/* the settings only widen */
		{ "expire=30d login_delay=5m", TRUE, "5d", "1m",
		  "EXPIRE 2 USER\r\nLOGIN-DELAY 3600 USER\r\n" },
		{ NULL, FALSE, "never", "0",
		  "EXPIRE NEVER USER\r\nLOGIN-DELAY 0 USER\r\n" },
		/* every class inherits the site's legal_hold */
		{ "legal_hold=yes", TRUE, NULL, NULL,
		  "EXPIRE NEVER USER\r\nLOGIN-DELAY 3600 USER\r\n" },
	};
	struct pop3_policy_capa_bounds bounds;
	const char *const bad_classes[] = { "bad", NULL };
	const char *error;
	unsigned int i;

	test_begin("capa bounds");
	for (i = 0; i < N_ELEMENTS(tests); i++) T_BEGIN {
		test_assert_idx(pop3_policy_capa_bounds_get(tests[i].site,
			tests[i].classes ? test_class_names : NULL,
			test_class_lookup, NULL, tests[i].expire_min,
			tests[i].login_delay_max, &bounds, &error) == 0, i);
		test_assert_strcmp_idx(pop3_policy_capa_preauth_lines(&bounds),
				       tests[i].lines, i);
	} T_END;
	test_assert(pop3_policy_capa_bounds_get("expire=soon", NULL, NULL,
		NULL, NULL, NULL, &bounds, &error) < 0);
	test_assert(pop3_policy_capa_bounds_get(NULL, bad_classes,
		test_class_lookup, NULL, NULL, NULL, &bounds, &error) < 0 &&
		strstr(error, "pop3_policy_class_bad") != NULL);
	test_assert(pop3_policy_capa_bounds_get(NULL, NULL, NULL, NULL,
		"3 days", NULL, &bounds, &error) < 0 &&
		strstr(error, "pop3_policy_capa_expire_min=3 days") != NULL);
	test_assert(pop3_policy_capa_bounds_get(NULL, NULL, NULL, NULL,
		NULL, "never", &bounds, &error) < 0 &&
		strstr(error, "pop3_policy_capa_login_delay_max") != NULL);
	test_end();
}

static void test_capa_bound(void)
{
	static const struct {
		const char *policy;
		bool within;
		const char *lines;
	} tests[] = {
		{ "expire=30d", TRUE, "EXPIRE 30\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=60h login_delay=1h", TRUE,
		  "EXPIRE 2\r\nLOGIN-DELAY 3600\r\n" },
		{ "expire=1d", FALSE, "EXPIRE 2\r\nLOGIN-DELAY 0\r\n" },
		{ "expire=0", FALSE, "EXPIRE 2\r\nLOGIN-DELAY 0\r\n" },
		{ "max_age=1d", FALSE, "EXPIRE 2\r\nLOGIN-DELAY 0\r\n" },
		{ "login_delay=61m", FALSE,
		  "EXPIRE NEVER\r\nLOGIN-DELAY 3600\r\n" },
		/* nothing removed: nothing to bound */
		{ "expire=0 legal_hold=yes", TRUE,
		  "EXPIRE NEVER\r\nLOGIN-DELAY 0\r\n" },
	};
	const struct pop3_policy_capa_bounds bounds = {
		.expire_min_secs = 60*3600, .login_delay_max_secs = 3600,
	};
	struct pop3_policy policy;
	const char *error, *reason;
	unsigned int i;

	test_begin("capa bound");
	for (i = 0; i < N_ELEMENTS(tests); i++) T_BEGIN {
		pop3_policy_init(&policy);
		test_assert_idx(pop3_policy_parse(&policy,
			pool_datastack_create(), tests[i].policy,
			POP3_POLICY_LAYER_SITE, NULL, NULL, &error) == 0, i);
		test_assert_idx(pop3_policy_capa_within(&policy, &bounds,
			&reason) == tests[i].within, i);
		if (!tests[i].within)
			(void)pop3_policy_capa_bound(&policy, &bounds);
		test_assert_strcmp_idx(pop3_policy_capa_user_lines(&policy),
				       tests[i].lines, i);
		test_assert_idx(pop3_policy_capa_within(&policy, &bounds,
							&reason), i);
	} T_END;
	test_end();
}

static void test_capa_reply(void)
{
#define PREFIX "+OK\r\nCAPA\r\nTOP\r\n"
	static const struct {
		const char *data;
		size_t body_len;
	} tests[] = {
		{ PREFIX ".\r\n", sizeof(PREFIX) - 1 },
		{ PREFIX "USER\r\nSASL PLAIN\r\n.\r\n",
		  sizeof(PREFIX "USER\r\nSASL PLAIN\r\n") - 1 },
		{ PREFIX, 0 },
		{ PREFIX ".\r\n+OK\r\n", 0 },
		{ PREFIX ".\r\n" PREFIX ".\r\n", 0 },
		{ PREFIX "X.\r\n", 0 },
		{ "+OK\r\nCAPA\r\n.\r\n", 0 },
		{ "", 0 },
	};
	unsigned int i;

	test_begin("capa reply");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(pop3_policy_capa_reply_body_len(tests[i].data,
			strlen(tests[i].data), PREFIX) == tests[i].body_len, i);
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_capa_user_values,
		test_capa_bounds,
		test_capa_bound,
		test_capa_reply,
		NULL
	};
	return test_run(test_functions);
}
