/* bench-retention: what retention costs, in one run, vanilla Dovecot
   against Dovecot with the package and a policy set (bench/README.md).

   1. POP3 sessions/s with a policy set (expire, max_age, on_delete=hold,
      nothing due), 8 clients: ratio package/vanilla, target >= 0.95.
   2. A session on a 100,000-message mailbox with nothing due: the
      instance's CPU per session (login, STAT, QUIT and everything the
      processes do after the client is gone, including the removals
      check), package minus vanilla, target < 5 ms. Wall time per session
      as the client sees it is printed too.
   3. `doveadm pop3-policy sweep` of a 100,000-message mailbox with 1,000
      messages due (max_age) against `doveadm expunge` of the same 1,000
      messages in an identical mailbox: ratio, target <= 2.

   Rounds alternate the order of A and B so a drifting machine hits both
   alike; figures are medians over the rounds. */

#include "pp-harness.h"
#include "bench-cpu.h"
#include "bench-conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLIENTS 8
#define BIG_MESSAGES 100000
#define DUE_MESSAGES 1000

static int opt_rounds = 5;
static double opt_secs = 3;
static int opt_big_sessions = 10;
static char *opt_parts = NULL;

static gboolean part_wanted(char part)
{
	return opt_parts == NULL || strchr(opt_parts, part) != NULL;
}

/* the instances compared: vanilla, the package without a policy, the
   package with one */
#define N_INST 3
static const char *const inst_names[N_INST] = {
	"vanilla", "package", "package+policy"
};

static PpInstance *start(int kind, gboolean faketime)
{
	PpInstanceOptions opts = { .with_package = kind > 0,
				   .faketime = faketime };
	GError *error = NULL;
	PpInstance *inst;

	opts.store = kind > 0 ? PP_STORE_SQLITE : PP_STORE_NONE;
	/* the package as it is meant to be run, against Dovecot as
	   installed */
	opts.auth_chain = kind > 0;
	opts.plugin_settings = kind == 2 ? BENCH_RETENTION_POLICY : NULL;
	opts.extra_conf = BENCH_STOCK_SECTIONS;
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	return inst;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

static double median(GArray *arr)
{
	g_array_sort(arr, cmp_double);
	return g_array_index(arr, double, arr->len / 2);
}

/* --- 1. sessions/s --- */

struct client_ctx {
	guint16 port;
	const char *user;
	gint64 deadline;
	unsigned int sessions, errors;
};

static gpointer client_thread(gpointer data)
{
	struct client_ctx *ctx = data;

	while (g_get_monotonic_time() < ctx->deadline) {
		PpPop3 *pop3 = pp_pop3_connect(ctx->port, NULL);
		char *line;

		if (pop3 == NULL) {
			ctx->errors++;
			continue;
		}
		if (!pp_pop3_login(pop3, ctx->user, "secret")) {
			ctx->errors++;
			pp_pop3_close(pop3);
			continue;
		}
		g_free(pp_pop3_cmd(pop3, "STAT"));
		g_free(pp_pop3_cmd_multi(pop3, "UIDL"));
		line = pp_pop3_cmd(pop3, "QUIT");
		if (g_str_has_prefix(line, "+OK"))
			ctx->sessions++;
		else
			ctx->errors++;
		g_free(line);
		pp_pop3_close(pop3);
	}
	return NULL;
}

/* Returns the sessions per second, and in cpu_ms_r the instance's CPU per
   session (bench-cpu.h: far less disturbed by other load than the rate). */
static double sessions_per_sec(PpInstance *inst, const char *const *users,
			       double *cpu_ms_r)
{
	struct client_ctx ctx[CLIENTS];
	GThread *threads[CLIENTS];
	unsigned int i, total = 0, errors = 0;
	double cpu0 = bench_cpu_instance_secs(pp_instance_pid(inst));
	gint64 start = g_get_monotonic_time();

	for (i = 0; i < CLIENTS; i++) {
		ctx[i].port = pp_instance_port(inst);
		ctx[i].user = users[i];
		ctx[i].deadline = start + (gint64)(opt_secs * G_USEC_PER_SEC);
		ctx[i].sessions = ctx[i].errors = 0;
		threads[i] = g_thread_new("client", client_thread, &ctx[i]);
	}
	for (i = 0; i < CLIENTS; i++) {
		g_thread_join(threads[i]);
		total += ctx[i].sessions;
		errors += ctx[i].errors;
	}
	if (errors > 0)
		g_printerr("  (%u failed sessions)\n", errors);
	*cpu_ms_r = total == 0 ? 0 : 1000 *
		(bench_cpu_instance_secs(pp_instance_pid(inst)) - cpu0) / total;
	return total / ((g_get_monotonic_time() - start) / 1e6);
}

/* --- mailbox filling --- */

/* Writes n messages into the user's Maildir/cur, owned like the home. */
static void write_messages(PpInstance *inst, const char *user,
			   unsigned int first, unsigned int n)
{
	const char *home = pp_instance_home(inst, user);
	char *top = g_build_filename(home, "Maildir", NULL);
	const char *const subs[] = { "cur", "new", "tmp" };
	struct stat st;
	unsigned int i;
	char *cur;

	if (stat(home, &st) < 0)
		g_error("stat %s: %s", home, g_strerror(errno));
	for (i = 0; i < G_N_ELEMENTS(subs); i++) {
		char *p = g_build_filename(top, subs[i], NULL);

		(void)g_mkdir_with_parents(p, 0700);
		if (chown(p, st.st_uid, st.st_gid) < 0)
			g_error("chown %s", p);
		g_free(p);
	}
	if (chown(top, st.st_uid, st.st_gid) < 0)
		g_error("chown %s", top);
	cur = g_build_filename(top, "cur", NULL);
	for (i = first; i < first + n; i++) {
		char *name = g_strdup_printf("%s/%u.M%uP1.bench:2,S", cur,
					     1700000000 + i, i);
		char *msg = g_strdup_printf(
			"From: bench@example.org\r\nTo: %s@example.org\r\n"
			"Subject: bench %u\r\nMessage-ID: <bench-%u@b>\r\n\r\n"
			"body of message %u\r\n", user, i, i, i);

		/* plain writes: g_file_set_contents() syncs every file */
		FILE *f = fopen(name, "w");

		if (f == NULL || fputs(msg, f) < 0 || fclose(f) != 0 ||
		    chown(name, st.st_uid, st.st_gid) < 0)
			g_error("writing %s failed", name);
		g_free(name);
		g_free(msg);
	}
	g_free(cur);
	g_free(top);
}

static void doveadm_ok(PpInstance *inst, const char *const *argv)
{
	char *out = NULL, *err = NULL;
	int ret = pp_instance_doveadm(inst, argv, NULL, &out, &err);

	if (ret != 0)
		g_error("doveadm %s %s: exit %d: %s", argv[0], argv[1], ret,
			err);
	g_free(out);
	g_free(err);
}

static double doveadm_secs(PpInstance *inst, const char *const *argv)
{
	gint64 start = g_get_monotonic_time();

	doveadm_ok(inst, argv);
	return (g_get_monotonic_time() - start) / 1e6;
}

/* --- 2. one session on a big mailbox --- */

static void big_session(PpInstance *inst, double *wall_ms_r)
{
	gint64 start = g_get_monotonic_time();
	PpPop3 *pop3 = pp_pop3_connect(pp_instance_port(inst), NULL);
	char *line;

	if (pop3 == NULL || !pp_pop3_login(pop3, "big", "secret"))
		g_error("big session: login failed");
	g_free(pp_pop3_cmd(pop3, "STAT"));
	line = pp_pop3_cmd(pop3, "QUIT");
	if (!g_str_has_prefix(line, "+OK"))
		g_error("big session: QUIT: %s", line);
	g_free(line);
	pp_pop3_close(pop3);
	*wall_ms_r = (g_get_monotonic_time() - start) / 1000.0;
}

/* CPU ms per session of the instance over n sessions (the pop3 processes
   are reaped by the master, which then accounts their CPU). */
static double big_sessions_cpu_ms(PpInstance *inst, unsigned int n,
				  double *wall_ms_r)
{
	GArray *walls = g_array_new(FALSE, FALSE, sizeof(double));
	double cpu0, cpu1, wall;
	unsigned int i;

	cpu0 = bench_cpu_instance_secs(pp_instance_pid(inst));
	for (i = 0; i < n; i++) {
		big_session(inst, &wall);
		g_array_append_val(walls, wall);
	}
	/* let the last process finish its deinit and be reaped */
	g_usleep(1000 * 1000);
	cpu1 = bench_cpu_instance_secs(pp_instance_pid(inst));
	*wall_ms_r = median(walls);
	g_array_free(walls, TRUE);
	return (cpu1 - cpu0) * 1000.0 / n;
}

int main(int argc, char **argv)
{
	static const char *users[CLIENTS] = {
		"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"
	};
	GOptionEntry entries[] = {
		{ "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds,
		  "rounds (default 5)", "N" },
		{ "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_secs,
		  "seconds per rate measurement (default 3)", "S" },
		{ "big-sessions", 'b', 0, G_OPTION_ARG_INT, &opt_big_sessions,
		  "big-mailbox sessions per round (default 10)", "N" },
		{ "parts", 'p', 0, G_OPTION_ARG_STRING, &opt_parts,
		  "parts to run, e.g. 12 or 3 (default 123)", "DIGITS" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	GOptionContext *octx = g_option_context_new("- retention benchmark");
	GError *error = NULL;
	PpInstance *inst[N_INST];
	GArray *rates[N_INST], *cpu[N_INST], *wall[N_INST], *ratios[N_INST];
	GArray *cpu_ratios[N_INST];
	GArray *sweep, *expunge, *sratios;
	double v, w, res[N_INST], cpu_res[N_INST];
	int r, i, j;
	unsigned int u;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error))
		g_error("%s", error->message);

	for (i = 0; i < N_INST; i++) {
		inst[i] = NULL;
		rates[i] = g_array_new(FALSE, FALSE, sizeof(double));
		cpu[i] = g_array_new(FALSE, FALSE, sizeof(double));
		wall[i] = g_array_new(FALSE, FALSE, sizeof(double));
		ratios[i] = g_array_new(FALSE, FALSE, sizeof(double));
		cpu_ratios[i] = g_array_new(FALSE, FALSE, sizeof(double));
		if (!part_wanted('1') && !part_wanted('2'))
			continue;
		inst[i] = start(i, FALSE);
		for (u = 0; u < CLIENTS; u++) {
			pp_instance_add_user(inst[i], users[u], "secret",
					     NULL);
			write_messages(inst[i], users[u], 0, 10);
		}
		pp_instance_add_user(inst[i], "big", "secret", NULL);
		if (part_wanted('2'))
			write_messages(inst[i], "big", 0, BIG_MESSAGES);
		if (part_wanted('1')) /* warm-up */
			(void)sessions_per_sec(inst[i], users, &cpu_res[i]);
	}

	/* 1. sessions/s; rounds rotate the order */
	for (r = 0; r < opt_rounds && part_wanted('1'); r++) {
		for (j = 0; j < N_INST; j++) {
			i = (r % 2 == 0) ? j : N_INST - 1 - j;
			res[i] = sessions_per_sec(inst[i], users, &cpu_res[i]);
		}
		for (i = 0; i < N_INST; i++) {
			g_array_append_val(rates[i], res[i]);
			v = res[i] / res[0];
			g_array_append_val(ratios[i], v);
			v = cpu_res[i] / cpu_res[0];
			g_array_append_val(cpu_ratios[i], v);
		}
	}
	if (part_wanted('1'))
		printf("sessions/s, %d clients (STAT, UIDL, QUIT of 10 "
		       "messages):\n", CLIENTS);
	for (i = 0; i < N_INST && part_wanted('1'); i++) {
		printf("  %-15s %7.1f/s  ratio to vanilla %.3f%s\n",
		       inst_names[i], median(rates[i]), median(ratios[i]),
		       i == 2 ? "  (target >= 0.95)" : "");
	}
	for (i = 0; i < N_INST && part_wanted('1'); i++) {
		printf("  %-15s CPU per session, ratio to vanilla %.3f\n",
		       inst_names[i], median(cpu_ratios[i]));
	}
	fflush(stdout);

	/* 2. big mailbox session, nothing due */
	for (i = 0; i < N_INST && part_wanted('2'); i++) {
		/* build the indexes first */
		(void)big_sessions_cpu_ms(inst[i], 2, &w);
		g_array_set_size(ratios[i], 0);
	}
	for (r = 0; r < opt_rounds && part_wanted('2'); r++) {
		for (j = 0; j < N_INST; j++) {
			i = (r % 2 == 0) ? j : N_INST - 1 - j;
			res[i] = big_sessions_cpu_ms(inst[i],
						     opt_big_sessions, &w);
			g_array_append_val(wall[i], w);
			g_array_append_val(cpu[i], res[i]);
		}
		for (i = 0; i < N_INST; i++) {
			/* the policy's own cost: against the package
			   without a policy */
			v = res[i] - res[i == 2 ? 1 : 0];
			g_array_append_val(ratios[i], v);
		}
	}
	if (part_wanted('2'))
		printf("session on a %d-message mailbox, nothing due (login, "
		       "STAT, QUIT; CPU of all the instance's processes):\n",
		       BIG_MESSAGES);
	for (i = 0; i < N_INST && part_wanted('2'); i++) {
		printf("  %-15s CPU %7.1f ms/session (%+.1f ms against %s)"
		       "  client wall %7.1f ms%s\n", inst_names[i],
		       median(cpu[i]), median(ratios[i]),
		       i == 2 ? "package" : "vanilla", median(wall[i]),
		       i == 2 ? "  (target < 5 ms)" : "");
	}
	fflush(stdout);
	for (i = 0; i < N_INST; i++) {
		if (inst[i] != NULL)
			pp_instance_stop(inst[i]);
	}

	/* 3. sweep of 1,000 due in 100,000 against doveadm expunge */
	sweep = g_array_new(FALSE, FALSE, sizeof(double));
	expunge = g_array_new(FALSE, FALSE, sizeof(double));
	sratios = g_array_new(FALSE, FALSE, sizeof(double));
	for (r = 0; r < opt_rounds && part_wanted('3'); r++) {
		PpInstance *fi = start(1, TRUE);
		const char *pin_a[] = { "fetch", "-u", "a", "date.saved",
					"mailbox", "INBOX", NULL };
		const char *pin_b[] = { "fetch", "-u", "b", "date.saved",
					"mailbox", "INBOX", NULL };
		const char *sweep_argv[] = { "pop3-policy", "sweep", "-u", "a",
					     NULL };
		const char *expunge_argv[] = { "expunge", "-u", "b", "mailbox",
					       "INBOX", "1:1000", NULL };
		const char *status_a[] = { "mailbox", "status", "-u", "a",
					   "messages", "INBOX", NULL };
		double t[2];

		pp_instance_add_user(fi, "a", "secret",
				     "pop3_policy=max_age=1d");
		pp_instance_add_user(fi, "b", "secret", NULL);
		/* 1,000 saved at +0, 99,000 two days later: with
		   max_age=1d the first 1,000 are due */
		write_messages(fi, "a", 0, DUE_MESSAGES);
		write_messages(fi, "b", 0, DUE_MESSAGES);
		doveadm_ok(fi, pin_a);
		doveadm_ok(fi, pin_b);
		pp_instance_set_time_offset(fi, "+2d");
		write_messages(fi, "a", DUE_MESSAGES,
			       BIG_MESSAGES - DUE_MESSAGES);
		write_messages(fi, "b", DUE_MESSAGES,
			       BIG_MESSAGES - DUE_MESSAGES);
		doveadm_ok(fi, pin_a);
		doveadm_ok(fi, pin_b);
		doveadm_ok(fi, status_a);
		if (r % 2 == 0) {
			t[0] = doveadm_secs(fi, sweep_argv);
			t[1] = doveadm_secs(fi, expunge_argv);
		} else {
			t[1] = doveadm_secs(fi, expunge_argv);
			t[0] = doveadm_secs(fi, sweep_argv);
		}
		{
			char *out = NULL;
			int ret = pp_instance_doveadm(fi, status_a, NULL,
						      &out, NULL);

			if (ret != 0 || out == NULL ||
			    strstr(out, "99000") == NULL)
				g_error("sweep did not remove exactly %d: %s",
					DUE_MESSAGES, out);
			g_free(out);
		}
		g_array_append_val(sweep, t[0]);
		g_array_append_val(expunge, t[1]);
		v = t[0] / t[1];
		g_array_append_val(sratios, v);
		pp_instance_stop(fi);
	}
	if (part_wanted('3'))
		printf("sweep of %d due in a %d-message mailbox: sweep %.2f s, "
	       "doveadm expunge %.2f s, ratio %.2f (target <= 2)\n",
	       DUE_MESSAGES, BIG_MESSAGES, median(sweep), median(expunge),
	       median(sratios));
	return 0;
}
