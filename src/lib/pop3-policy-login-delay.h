#ifndef POP3_POLICY_LOGIN_DELAY_H
#define POP3_POLICY_LOGIN_DELAY_H

/* LOGIN-DELAY (RFC 2449) with a burst allowance: the pure decision, and
   the codec of its state record shared/pop3-policy/login/<user>
   (payload fields: last login, window start, logins in window; decimal
   UNIX times and a count).

   A window opens at a login when no window is open and lasts login_delay
   seconds; inside it 1 + login_burst logins are allowed. With
   login_burst=0 this is exactly "at least login_delay between two
   logins". A clock that went backwards (now before the window's start)
   closes the window: the check errs towards letting the user in rather
   than locking them out until the clock catches up. */

#include <time.h>

struct pop3_policy_login_state {
	time_t last_login;
	time_t window_start;
	unsigned int logins_in_window;
};

/* Decides whether a login at now is allowed. Returns TRUE if so; FALSE
   with the seconds until the next allowed login in wait_secs_r (>= 1). */
bool pop3_policy_login_delay_allowed(const struct pop3_policy_login_state *state,
				     time_t now, unsigned int delay_secs,
				     unsigned int burst,
				     unsigned int *wait_secs_r);
/* Returns the state after a successful login at now. */
void pop3_policy_login_delay_record(const struct pop3_policy_login_state *state,
				    time_t now, unsigned int delay_secs,
				    struct pop3_policy_login_state *new_state_r);

/* Parses the payload fields of a login record. Returns 0, or -1 with
   error_r naming the bad field. */
int pop3_policy_login_state_parse(const char *const *fields,
				  struct pop3_policy_login_state *state_r,
				  const char **error_r);
/* Returns the payload fields of the state (NULL-terminated, data stack). */
const char *const *
pop3_policy_login_state_fields(const struct pop3_policy_login_state *state);

#endif
