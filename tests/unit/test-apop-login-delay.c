/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* LOGIN-DELAY decisions (table-driven) and the login record codec. */

#include "lib.h"
#include "test-common.h"
#include "pop3-policy-login-delay.h"

struct login_case {
	/* state before */
	time_t window_start;
	unsigned int logins;
	time_t now;
	unsigned int delay, burst;
	bool allowed;
	unsigned int wait;
	/* state after recording a login at now */
	time_t new_window_start;
	unsigned int new_logins;
};

static const struct login_case cases[] = {
	/* no delay: always allowed, windows do not matter */
	{ 1000, 5, 1001, 0, 0, TRUE, 0, 1001, 1 },
	/* first login ever */
	{ 0, 0, 1000, 900, 0, TRUE, 0, 1000, 1 },
	/* inside the window, no burst */
	{ 1000, 1, 1001, 900, 0, FALSE, 899, 0, 0 },
	{ 1000, 1, 1899, 900, 0, FALSE, 1, 0, 0 },
	/* the window closes at exactly start + delay */
	{ 1000, 1, 1900, 900, 0, TRUE, 0, 1900, 1 },
	{ 1000, 1, 5000, 900, 0, TRUE, 0, 5000, 1 },
	/* burst: 1 + burst logins per window */
	{ 1000, 1, 1300, 900, 1, TRUE, 0, 1000, 2 },
	{ 1000, 2, 1500, 900, 1, FALSE, 400, 0, 0 },
	{ 1000, 2, 1500, 900, 2, TRUE, 0, 1000, 3 },
	{ 1000, 3, 1500, 900, 2, FALSE, 400, 0, 0 },
	/* clock went backwards: a new window, not a lockout */
	{ 5000, 1, 1000, 900, 0, TRUE, 0, 1000, 1 },
	/* huge counts and burst do not overflow */
	{ 1000, UINT_MAX, 1001, 900, UINT_MAX, TRUE, 0, 1000, UINT_MAX },
	{ 1000, UINT_MAX, 1001, 900, UINT_MAX - 1, FALSE, 899, 0, 0 },
};

static void test_login_delay_table(void)
{
	struct pop3_policy_login_state state, new_state;
	unsigned int i, wait;
	bool allowed;

	test_begin("login delay decisions");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		i_zero(&state);
		state.window_start = cases[i].window_start;
		state.logins_in_window = cases[i].logins;
		state.last_login = cases[i].window_start;
		wait = 12345;
		allowed = pop3_policy_login_delay_allowed(&state, cases[i].now,
			cases[i].delay, cases[i].burst, &wait);
		test_assert_idx(allowed == cases[i].allowed, i);
		if (!allowed) {
			test_assert_idx(wait == cases[i].wait, i);
			continue;
		}
		pop3_policy_login_delay_record(&state, cases[i].now,
					       cases[i].delay, &new_state);
		test_assert_idx(new_state.last_login == cases[i].now, i);
		if (cases[i].delay != 0) {
			test_assert_idx(new_state.window_start ==
					cases[i].new_window_start, i);
			test_assert_idx(new_state.logins_in_window ==
					cases[i].new_logins, i);
		}
	}
	test_end();
}

static void test_login_delay_sequence(void)
{
	struct pop3_policy_login_state state;
	unsigned int wait;
	time_t now;
	unsigned int allowed = 0;

	/* one attempt a minute for a day with login_delay=15m,
	   login_burst=1: two logins per 15-minute window */
	test_begin("login delay sequence");
	i_zero(&state);
	for (now = 100000; now < 100000 + 86400; now += 60) {
		if (pop3_policy_login_delay_allowed(&state, now, 900, 1,
						    &wait)) {
			pop3_policy_login_delay_record(&state, now, 900,
						       &state);
			allowed++;
		} else {
			test_assert(wait >= 1 && wait <= 900);
		}
	}
	test_assert(allowed == 2 * 96);
	test_end();
}

static void test_login_state_codec(void)
{
	struct pop3_policy_login_state state, parsed;
	const char *error;
	const char *bad1[] = { "1", "2", NULL };
	const char *bad2[] = { "x", "2", "3", NULL };
	const char *bad3[] = { "1", "-2", "3", NULL };
	const char *bad4[] = { "1", "2", "99999999999", NULL };

	test_begin("login state record");
	state.last_login = 1795391833;
	state.window_start = 1795391000;
	state.logins_in_window = 3;
	test_assert(pop3_policy_login_state_parse(
		pop3_policy_login_state_fields(&state), &parsed, &error) == 0);
	test_assert(parsed.last_login == state.last_login);
	test_assert(parsed.window_start == state.window_start);
	test_assert(parsed.logins_in_window == 3);
	test_assert(pop3_policy_login_state_parse(bad1, &parsed, &error) < 0);
	test_assert(pop3_policy_login_state_parse(bad2, &parsed, &error) < 0);
	test_assert(strstr(error, "last login") != NULL);
	test_assert(pop3_policy_login_state_parse(bad3, &parsed, &error) < 0);
	test_assert(strstr(error, "window start") != NULL);
	test_assert(pop3_policy_login_state_parse(bad4, &parsed, &error) < 0);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_login_delay_table,
		test_login_delay_sequence,
		test_login_state_codec,
		NULL
	};
	return test_run(test_functions);
}
