/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* LOGIN-DELAY decision and state record (see
   pop3-policy-login-delay.h).

   Worked example, login_delay=15m login_burst=1, logins at 1000, 1300 and
   an attempt at 1500:
     1000: no window -> allowed; state 1000 1000 1
     1300: window [1000, 1900) holds 1 < 2 logins -> allowed; 1300 1000 2
     1500: window holds 2 logins -> refused, wait 400 seconds
     1900: window closed -> allowed; 1900 1900 1
   Record: "1\tlogin\t1300\t1000\t2". */

#include "lib.h"
#include "pop3-policy-login-delay.h"

static bool
login_window_open(const struct pop3_policy_login_state *state, time_t now,
		  unsigned int delay_secs)
{
	if (delay_secs == 0 || state->window_start <= 0 ||
	    state->logins_in_window == 0)
		return FALSE;
	if (now < state->window_start)
		return FALSE;
	return now - state->window_start < (time_t)delay_secs;
}

bool pop3_policy_login_delay_allowed(const struct pop3_policy_login_state *state,
				     time_t now, unsigned int delay_secs,
				     unsigned int burst,
				     unsigned int *wait_secs_r)
{
	time_t wait;

	if (!login_window_open(state, now, delay_secs))
		return TRUE;
	/* 1 + burst logins per window; compare without overflowing */
	if (state->logins_in_window <= burst)
		return TRUE;
	wait = state->window_start + (time_t)delay_secs - now;
	*wait_secs_r = wait < 1 ? 1 : (unsigned int)wait;
	return FALSE;
}

void pop3_policy_login_delay_record(const struct pop3_policy_login_state *state,
				    time_t now, unsigned int delay_secs,
				    struct pop3_policy_login_state *new_state_r)
{
	if (login_window_open(state, now, delay_secs)) {
		new_state_r->window_start = state->window_start;
		new_state_r->logins_in_window =
			state->logins_in_window == UINT_MAX ? UINT_MAX :
			state->logins_in_window + 1;
	} else {
		new_state_r->window_start = now;
		new_state_r->logins_in_window = 1;
	}
	new_state_r->last_login = now;
}

static int
parse_time(const char *str, time_t *time_r)
{
	uintmax_t value;

	if (str_to_uintmax(str, &value) < 0 || value > (uintmax_t)INT64_MAX)
		return -1;
	*time_r = (time_t)value;
	return 0;
}

int pop3_policy_login_state_parse(const char *const *fields,
				  struct pop3_policy_login_state *state_r,
				  const char **error_r)
{
	if (str_array_length(fields) < 3) {
		*error_r = "malformed login record: too few fields";
		return -1;
	}
	if (parse_time(fields[0], &state_r->last_login) < 0) {
		*error_r = "malformed login record: bad last login time";
		return -1;
	}
	if (parse_time(fields[1], &state_r->window_start) < 0) {
		*error_r = "malformed login record: bad window start time";
		return -1;
	}
	if (str_to_uint(fields[2], &state_r->logins_in_window) < 0) {
		*error_r = "malformed login record: bad login count";
		return -1;
	}
	return 0;
}

const char *const *
pop3_policy_login_state_fields(const struct pop3_policy_login_state *state)
{
	const char **fields = t_new(const char *, 4);

	fields[0] = dec2str(state->last_login);
	fields[1] = dec2str(state->window_start);
	fields[2] = dec2str(state->logins_in_window);
	return fields;
}
