#ifndef BENCH_POP3_H
#define BENCH_POP3_H

/* The load generator: many POP3 sessions at once against one port on
   127.0.0.1, driven by one poll() loop over non-blocking sockets, so that
   the generator costs a few system calls per POP3 command and never becomes
   the bottleneck of the server it measures (the machine has few cores and
   the server forks a process per login). */

#include <glib.h>
#include <signal.h>
#include <stdbool.h>

/* Set from a signal handler (SIGINT, SIGTERM): a running load stops at
   once and bench_pop3_run() fails with "interrupted". */
extern volatile sig_atomic_t bench_pop3_stop;

enum bench_session_kind {
	/* USER, PASS, STAT, UIDL, RETR 1, QUIT */
	BENCH_SESSION_FULL = 0,
	/* APOP (MD5 over the greeting's challenge and the password), QUIT */
	BENCH_SESSION_APOP,
	/* USER, PASS, QUIT */
	BENCH_SESSION_LOGIN,
	/* USER, PASS, UIDL (its latency is recorded), QUIT */
	BENCH_SESSION_UIDL,
	/* CAPA, USER, PASS, CAPA, STAT, UIDL, RETR 1, QUIT */
	BENCH_SESSION_CAPA,
};

struct bench_user {
	const char *user;
	const char *password;
};

struct bench_load {
	guint16 port;
	enum bench_session_kind kind;
	/* Client slot i logs in as users[i % users_count]. */
	const struct bench_user *users;
	unsigned int users_count;
	unsigned int concurrency;
	/* > 0: every slot runs sessions back to back until this much time
	   has passed; the sessions in flight then finish and count.
	   0: run exactly `sessions` sessions in total. */
	double duration_secs;
	unsigned int sessions;
	/* A connection that makes no progress this long fails the run. */
	double stall_timeout_secs;
	/* If not 0, a UIDL listing must have exactly this many lines. */
	unsigned int expect_uidl_lines;
};

struct bench_result {
	unsigned int sessions;
	unsigned int errors;
	/* From the first connect to the last completed session. */
	double elapsed_secs;
	double sessions_per_sec;
	/* Seconds per completed session, connect to QUIT's reply. */
	GArray *session_secs;
	/* Seconds from sending UIDL to its final "." (UIDL sessions only). */
	GArray *uidl_secs;
	/* The first failure seen, with the command and the server's reply. */
	char *first_error;
};

/* Runs the load. Returns 0 when it ran (sessions that got -ERR or lost their
   connection are counted in result_r->errors, the first one described in
   first_error), -1 with error set when it could not run at all or stalled.
   Free the result with bench_result_clear(). */
int bench_pop3_run(const struct bench_load *load,
		   struct bench_result *result_r, GError **error);
void bench_result_clear(struct bench_result *result);

/* Returns the median of the doubles in arr (sorts arr); 0 when empty. */
double bench_median(GArray *arr);

#endif
