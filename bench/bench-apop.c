/* bench-apop: what APOP from the store and LOGIN-DELAY cost a login, in
   one run (bench/README.md).

   1. APOP logins/s (APOP + QUIT), 8 clients: APOP secrets from the store
      (the documented chain: pop3_policy passdb with an AES-256-GCM key
      file, login control and the login-recording userdb) against APOP
      from a passwd-file passdb with the same users. Target >= 0.9.
   2. USER/PASS logins/s (USER, PASS, QUIT), 8 clients: the same chain,
      for users whose policy (store record) has login_delay on, against
      vanilla Dovecot. login_delay=1s with a login_burst no run can reach,
      so that every login pays the whole check (policy and login record
      read, decision, record written by the userdb) and none is refused,
      which would not measure the same work. Both sides use the same
      PLAIN passwd-file, so that only the package differs. Target >= 0.9.

   The store's SQLite database uses WAL journaling, which the shipped
   schema sets (every login with login_delay on commits one write to the
   store); --sqlite-wal sets it again and checks it.

   The mail plugin is not loaded into the pop3 processes of either side:
   these rows measure the auth path (the retention and UIDL rows of
   pp-bench measure the mail plugin).

   Rounds alternate the order of A and B so a drifting machine hits both
   alike; each row's ratio is the median of the per-round ratios. Each row
   also shows the CPU time the whole instance (master, auth, workers, dict
   server, login and pop3 processes) spent per login, and the ratio
   A-CPU/B-CPU: the throughput ratio a CPU-bound server would see, which
   hardly moves when other work on the machine takes CPU away (the rate
   ratio does, on a shared machine). The target applies to the rate
   ratio. */

#include "pp-harness.h"
#include "bench-pop3.h"
#include "bench-cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLIENTS 8
#define USERS 32
#define POLICY_ARGS "pop3_policy=login_delay=0"
#define DELAY_POLICY "login_delay=1s login_burst=1000000"

static int opt_rounds = 5;
static double opt_secs = 3;
static gboolean opt_wal = FALSE;

/* users[] log in with APOP (no login_delay), delay_users[] with USER/PASS
   under login_delay */
static struct bench_user users[USERS];
static struct bench_user delay_users[USERS];

static char *key_file;
static char *extra_conf, *plugin_settings;

static void write_key_file(const char *dir)
{
	GString *line = g_string_new("1 ");
	unsigned int i;

	for (i = 0; i < 32; i++)
		g_string_append_printf(line, "%02x", g_random_int_range(0, 256));
	g_string_append_c(line, '\n');
	key_file = g_build_filename(dir, "apop.keys", NULL);
	if (!g_file_set_contents(key_file, line->str, -1, NULL) ||
	    chmod(key_file, 0600) < 0)
		g_error("cannot write %s", key_file);
	g_string_free(line, TRUE);
}

static PpInstance *start_vanilla(void)
{
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	unsigned int i;

	opts.store = PP_STORE_NONE;
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	for (i = 0; i < USERS; i++) {
		pp_instance_add_user(inst, users[i].user, users[i].password,
				     NULL);
		pp_instance_add_user(inst, delay_users[i].user,
				     delay_users[i].password, NULL);
	}
	return inst;
}

static void sqlite_wal(PpInstance *inst)
{
	char *db = g_build_filename(pp_instance_dir(inst), "store",
				    "pop3-policy.sqlite", NULL);
	const char *const argv[] = {
		"sqlite3", db, "PRAGMA journal_mode=WAL;", NULL
	};
	char *out = NULL;

	if (pp_instance_run(inst, argv, NULL, &out, NULL) != 0 ||
	    out == NULL || strncmp(out, "wal", 3) != 0)
		g_error("cannot switch %s to WAL", db);
	g_free(out);
	g_free(db);
}

/* The user's policy record in the store, as doveadm pop3-policy set
   writes it (pop3-policy-record.c). */
static void set_delay_policy(PpInstance *inst, const char *user)
{
	char *key = g_strdup_printf("shared/pop3-policy/policy/%s", user);
	char *value = g_strdup_printf("1\tpolicy\t%ld\t" DELAY_POLICY,
				      (long)time(NULL));
	const char *const argv[] = {
		"dict", "set", pp_instance_store_uri(inst), key, value, NULL
	};

	if (pp_instance_doveadm(inst, argv, NULL, NULL, NULL) != 0)
		g_error("doveadm dict set %s failed", key);
	g_free(key);
	g_free(value);
}

static PpInstance *start_package(void)
{
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;
	unsigned int i;

	/* Only the auth side is measured: the mail plugin (retention, UIDL)
	   is left out of the pop3 process on both sides, so that the ratio
	   is the cost of APOP from the store and of the login control. */
	extra_conf = g_strdup(
		"protocol pop3 {\n"
		"  mail_plugins =\n"
		"}\n");
	plugin_settings = g_strdup_printf(
		"  pop3_policy_apop_key_file = %s\n"
		"  pop3_policy = login_delay=0",
		key_file);
	opts.with_package = TRUE;
	opts.store = PP_STORE_SQLITE;
	opts.auth_chain = TRUE;
	opts.auth_chain_args = POLICY_ARGS;
	opts.apop_key_file = key_file;
	opts.extra_conf = extra_conf;
	opts.plugin_settings = plugin_settings;
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	if (opt_wal)
		sqlite_wal(inst);
	for (i = 0; i < USERS; i++) {
		pp_instance_add_user(inst, users[i].user, users[i].password,
				     NULL);
		pp_instance_add_user(inst, delay_users[i].user,
				     delay_users[i].password, NULL);
	}
	/* let auth see the whole passwd-file (it re-reads it on a change of
	   its modification time, which has a one-second granularity) */
	g_usleep(1100 * 1000);
	for (i = 0; i < USERS; i++) {
		const char *const argv[] = {
			"pop3-apop", "set", "-u", users[i].user, NULL
		};
		char *err = NULL;

		/* the APOP secret is the same string as the vanilla
		   instance's password, so both sides run the same load */
		if (pp_instance_doveadm(inst, argv, users[i].password, NULL,
					&err) != 0)
			g_error("pop3-apop set -u %s failed: %s",
				users[i].user, err);
		g_free(err);
		set_delay_policy(inst, delay_users[i].user);
	}
	return inst;
}

/* Returns sessions/s; failed sessions (-ERR, lost connection) are added
   to errors and the first one is kept, for the table. */
static unsigned int row_errors;
static char *row_first_error;

static double measure(PpInstance *inst, enum bench_session_kind kind,
		      double *cpu_ms_r)
{
	struct bench_load load = {
		.port = pp_instance_port(inst),
		.kind = kind,
		.users = kind == BENCH_SESSION_APOP ? users : delay_users,
		.users_count = USERS,
		.concurrency = CLIENTS,
		.duration_secs = opt_secs,
		.stall_timeout_secs = 30,
	};
	struct bench_result result;
	GError *error = NULL;
	double rate, cpu0;

	cpu0 = bench_cpu_instance_secs(pp_instance_pid(inst));
	if (bench_pop3_run(&load, &result, &error) < 0)
		g_error("%s", error->message);
	/* CPU per login: reaped children (pop3-login, pop3) are added to
	   the master's account a moment after they exit; the next
	   measurement starts with them, which evens out over rounds */
	*cpu_ms_r = result.sessions == 0 ? 0 :
		(bench_cpu_instance_secs(pp_instance_pid(inst)) - cpu0) *
		1000 / result.sessions;
	if (result.errors > 0) {
		row_errors += result.errors;
		if (row_first_error == NULL)
			row_first_error = g_strdup(result.first_error);
	}
	rate = result.sessions_per_sec;
	bench_result_clear(&result);
	return rate;
}

static double median(double *v, int n)
{
	GArray *arr = g_array_new(FALSE, FALSE, sizeof(double));
	double m;

	g_array_append_vals(arr, v, n);
	m = bench_median(arr);
	g_array_free(arr, TRUE);
	return m;
}

struct row {
	const char *label;
	enum bench_session_kind kind;
	const char *a_name, *b_name;
	double target;
};

static const struct row rows[] = {
	{ "APOP logins/s, 8 clients", BENCH_SESSION_APOP,
	  "passwd-file", "store", 0.9 },
	{ "USER/PASS logins/s, 8 clients", BENCH_SESSION_LOGIN,
	  "vanilla", "login_delay", 0.9 },
};

int main(int argc, char **argv)
{
	GOptionEntry entries[] = {
		{ "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds,
		  "rounds per row (default 5)", "N" },
		{ "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_secs,
		  "seconds per measurement (default 3)", "S" },
		{ "sqlite-wal", 'w', 0, G_OPTION_ARG_NONE, &opt_wal,
		  "switch the store's SQLite database to WAL", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	GOptionContext *octx = g_option_context_new(NULL);
	GError *error = NULL;
	PpInstance *inst[2];
	char *dir;
	unsigned int i, r;
	int failed = 0;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		fprintf(stderr, "bench-apop: %s\n", error->message);
		return 2;
	}
	g_option_context_free(octx);
	if (opt_rounds < 1 || opt_secs <= 0) {
		fprintf(stderr, "bench-apop: bad --rounds or --seconds\n");
		return 2;
	}
	dir = g_dir_make_tmp("pp-bench-apop-XXXXXX", &error);
	if (dir == NULL)
		g_error("%s", error->message);
	(void)chmod(dir, 0755);
	for (i = 0; i < USERS; i++) {
		users[i].user = g_strdup_printf("bench%u", i);
		users[i].password = g_strdup_printf("bench-%u-Secret-7f3a", i);
		delay_users[i].user = g_strdup_printf("delay%u", i);
		delay_users[i].password = g_strdup_printf("delay-%u-Pw", i);
	}
	write_key_file(dir);
	inst[0] = start_vanilla();
	inst[1] = start_package();

	/* the shipped schema (conf.d/pop3-policy-sqlite.sql) turns WAL on;
	   --sqlite-wal only checks that it is so */
	printf("store journal: WAL\n");
	printf("%-32s %12s %12s %7s %7s %9s %9s %7s\n", "row", "A/s", "B/s",
	       "B/A", "target", "A-CPU ms", "B-CPU ms", "A/B-CPU");
	for (i = 0; i < G_N_ELEMENTS(rows); i++) {
		double a[opt_rounds], b[opt_rounds], ratio[opt_rounds];
		double a_cpu[opt_rounds], b_cpu[opt_rounds];
		double cpu_ratio[opt_rounds], unused;
		double ratio_med;

		/* one warm-up each, not counted */
		(void)measure(inst[0], rows[i].kind, &unused);
		(void)measure(inst[1], rows[i].kind, &unused);
		for (r = 0; r < (unsigned int)opt_rounds; r++) {
			if (r % 2 == 0) {
				a[r] = measure(inst[0], rows[i].kind,
					       &a_cpu[r]);
				b[r] = measure(inst[1], rows[i].kind,
					       &b_cpu[r]);
			} else {
				b[r] = measure(inst[1], rows[i].kind,
					       &b_cpu[r]);
				a[r] = measure(inst[0], rows[i].kind,
					       &a_cpu[r]);
			}
			ratio[r] = b[r] / a[r];
			cpu_ratio[r] = b_cpu[r] > 0 ? a_cpu[r] / b_cpu[r] : 0;
		}
		ratio_med = median(ratio, opt_rounds);
		if (row_errors > 0) {
			/* a failed login is no login: the row misses */
			printf("  %u sessions failed, first: %s\n", row_errors,
			       row_first_error);
			ratio_med = 0;
		}
		printf("%-32s %12.1f %12.1f %7.3f %7s %9.2f %9.2f %7.3f  "
		       "(A=%s, B=%s)%s\n",
		       rows[i].label, median(a, opt_rounds),
		       median(b, opt_rounds), ratio_med, ">=0.9",
		       median(a_cpu, opt_rounds), median(b_cpu, opt_rounds),
		       median(cpu_ratio, opt_rounds),
		       rows[i].a_name, rows[i].b_name,
		       ratio_med >= rows[i].target ? "" : "  MISSED");
		if (ratio_med < rows[i].target)
			failed = 1;
		row_errors = 0;
		g_free(row_first_error);
		row_first_error = NULL;
		fflush(stdout);
	}
	pp_instance_stop(inst[0]);
	pp_instance_stop(inst[1]);
	(void)unlink(key_file);
	(void)rmdir(dir);
	return failed;
}
