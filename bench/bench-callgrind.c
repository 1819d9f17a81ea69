/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Instructions of one POP3 session, counted by valgrind's callgrind, for
   vanilla Dovecot, the package without a policy and the package with a
   policy (nothing due), on identical maildirs (bench/README.md,
   "bench-callgrind"). On a shared machine the CPU time of a session on a big
   mailbox moves by more than the package costs; an instruction count does
   not move at all. The kernel's share is not counted.

   Each instance is started through the integration harness; the session
   is a preauthenticated pop3 process (`pop3 -u USER`, as doveadm exec
   runs it) fed STAT, UIDL, QUIT, run as the mail user inside the
   instance's mount namespace after two warm-up sessions. */

#include "pp-harness.h"
#include "bench-maildir.h"
#include "bench-conf.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_USER "u1"

static int opt_messages = 100000;

struct cg_instance {
	const char *name;
	gboolean with_package;
	const char *plugin_settings;
};

static const struct cg_instance cg_instances[] = {
	{ "vanilla", FALSE, NULL },
	{ "package", TRUE, NULL },
	{ "package+policy", TRUE, BENCH_RETENTION_POLICY },
};

/* Returns the instructions of one session of the instance's user. */
static double session_instructions(const struct cg_instance *spec)
{
	PpInstanceOptions opts;
	PpInstance *inst;
	GError *error = NULL;
	GStatBuf st;
	char *maildir, *outdir, *script, *out = NULL, *err = NULL, *p;
	const char *home, *conf;
	double total;

	memset(&opts, 0, sizeof(opts));
	opts.with_package = spec->with_package;
	opts.store = spec->with_package ? PP_STORE_SQLITE : PP_STORE_NONE;
	opts.plugin_settings = spec->plugin_settings;
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s: %s", spec->name, error->message);
	pp_instance_add_user(inst, BENCH_USER, "secret", NULL);
	home = pp_instance_home(inst, BENCH_USER);
	if (g_stat(home, &st) < 0)
		g_error("stat %s failed", home);
	maildir = g_build_filename(home, "Maildir", NULL);
	if (bench_maildir_create(maildir, opt_messages, 600, st.st_uid,
				 st.st_gid, &error) < 0)
		g_error("%s", error->message);
	/* Maildir rescans a cur/ or new/ changed within the last
	   MAILDIR_SYNC_SECS (1 s) at every sync: a 100,000-file readdir that
	   would land in some sessions and not in others. Wait well past it
	   (auth also re-reads a changed passwd-file at most once a second). */
	g_usleep(3 * G_USEC_PER_SEC);

	conf = pp_instance_conf_path(inst);
	outdir = g_build_filename(pp_instance_dir(inst), "callgrind", NULL);
	if (g_mkdir(outdir, 0700) < 0 ||
	    chown(outdir, st.st_uid, st.st_gid) < 0)
		g_error("mkdir %s failed", outdir);
	/* callgrind writes its file as the mail user: it runs as that
	   user from the start, into a directory of that user, and follows
	   the exec() by which a standalone pop3 reads its configuration
	   (through doveconf) back into pop3. The
	   output goes into a pipe: pop3 polls its output, which /dev/null
	   does not support. */
	script = g_strdup_printf(
		"s='STAT\\r\\nUIDL\\r\\nQUIT\\r\\n'; "
		"for i in 1 2; do printf \"$s\" | /usr/lib/dovecot/pop3 "
		"-c '%s' -u %s | cat >/dev/null; done; "
		"printf \"$s\" | setpriv --reuid=%u --regid=%u --clear-groups "
		"valgrind --tool=callgrind --trace-children=yes "
		"--callgrind-out-file=%s/cg.out "
		"/usr/lib/dovecot/pop3 -c '%s' -u %s 2>%s/valgrind.log | "
		"cat >/dev/null; "
		"grep '^totals:' %s/cg.out",
		conf, BENCH_USER, (unsigned int)st.st_uid,
		(unsigned int)st.st_gid, outdir, conf, BENCH_USER, outdir,
		outdir);
	{
		const char *const argv[] = { "sh", "-c", script, NULL };

		if (pp_instance_run(inst, argv, NULL, &out, &err) != 0) {
			char *log = g_build_filename(outdir, "valgrind.log",
						     NULL), *text = NULL;

			(void)g_file_get_contents(log, &text, NULL, NULL);
			g_error("%s: session failed: %s%s\n%s", spec->name,
				out, err, text == NULL ? "" : text);
		}
	}
	p = strstr(out, "totals:");
	if (p == NULL)
		g_error("%s: no callgrind totals: %s", spec->name, out);
	total = g_ascii_strtod(p + strlen("totals:"), NULL);
	g_free(out);
	g_free(err);
	g_free(script);
	g_free(outdir);
	g_free(maildir);
	pp_instance_stop(inst);
	return total;
}

int main(int argc, char *argv[])
{
	static GOptionEntry entries[] = {
		{ "messages", 'm', 0, G_OPTION_ARG_INT, &opt_messages,
		  "messages in the mailbox (default 100000)", "N" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	GOptionContext *octx = g_option_context_new(
		"- instructions of one POP3 session, vanilla vs package");
	GError *error = NULL;
	double counts[G_N_ELEMENTS(cg_instances)];
	unsigned int i;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error))
		g_error("%s", error->message);
	if (geteuid() != 0)
		g_error("needs root, like the integration tests");

	printf("one session (STAT, UIDL, QUIT) on %d messages, "
	       "callgrind instructions of the pop3 process:\n", opt_messages);
	for (i = 0; i < G_N_ELEMENTS(cg_instances); i++) {
		counts[i] = session_instructions(&cg_instances[i]);
		printf("  %-15s %14.0f", cg_instances[i].name, counts[i]);
		if (i > 0) {
			printf("  %+12.0f (%+.2f%%) against vanilla",
			       counts[i] - counts[0],
			       100 * (counts[i] - counts[0]) / counts[0]);
		}
		printf("\n");
		fflush(stdout);
	}
	printf("  the policy itself: %+.0f instructions\n",
	       counts[2] - counts[1]);
	g_option_context_free(octx);
	return 0;
}
