/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The LOGIN-DELAY state record (pop3-policy-login-delay.c), decoded as
   the login check reads it, then checked and recorded at a time and with
   a delay taken from the input's last line. A state that parses prints
   back to the same state, a refused login waits at least a second, and
   the state after a login parses again. */

#include "lib.h"
#include <stdio.h>
#include "fuzz-common.h"
#include "pop3-policy-record.h"
#include "pop3-policy-login-delay.h"

static void fuzz_state_roundtrip(const struct pop3_policy_login_state *state)
{
	struct pop3_policy_login_state state2;
	const char *error;

	if (pop3_policy_login_state_parse(
		pop3_policy_login_state_fields(state), &state2, &error) < 0)
		i_panic("printed login state does not parse: %s", error);
	i_assert(state2.last_login == state->last_login &&
		 state2.window_start == state->window_start &&
		 state2.logins_in_window == state->logins_in_window);
}

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	struct pop3_policy_login_state state, new_state;
	const char *const *lines, *const *fields, *error;
	/* now is a clock's time, never near time_t's end */
	unsigned int now = 1795391833, delay = 300, burst = 2, wait_secs;

	lines = t_strsplit(str, "\n");
	if (lines[0] == NULL)
		return;
	if (lines[1] != NULL &&
	    sscanf(lines[1], "%u %u %u", &now, &delay, &burst) < 1)
		return;
	if (pop3_policy_record_decode(POP3_POLICY_RECORD_LOGIN, lines[0],
				      &fields, &error) < 0)
		return;
	if (pop3_policy_login_state_parse(fields, &state, &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	fuzz_state_roundtrip(&state);
	if (!pop3_policy_login_delay_allowed(&state, (time_t)now, delay,
					     burst, &wait_secs))
		i_assert(wait_secs >= 1);
	pop3_policy_login_delay_record(&state, (time_t)now, delay,
				       &new_state);
	fuzz_state_roundtrip(&new_state);
}
