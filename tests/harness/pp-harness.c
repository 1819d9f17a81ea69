/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Integration harness: see pp-harness.h for the contract.

   Layout of an instance directory (one per instance, under the per-run root
   $PP_TEST_TMPDIR, or the system temporary directory):

     dovecot.conf          generated configuration
     dovecot.log           log_path of every Dovecot process
     passwd                passwd-file, passdb and userdb
     run/                  base_dir (sockets, master.pid)
     state/                state_dir
     modules/              private copy of Dovecot's module directory plus
                           the build's modules, bind-mounted over
                           /usr/lib/dovecot/modules in the instance's own
                           mount namespace
     store/                SQLite database and dict-sql map (PP_STORE_SQLITE)
                           or store.dict (PP_STORE_FILE), owned by the
                           service user that writes it
     home/<user>/          mail homes, owned by the mail uid
     faketime              libfaketime's timestamp file (opts.faketime)

   Every process is started through `unshare -m --propagation private` with
   PR_SET_PDEATHSIG, so that the kernel stops the Dovecot master when the
   test process dies; the master then stops its children. */

#include "pp-harness-private.h"

/* libfaketime of the faketime package, under the multiarch directory. */
static const char *pp_faketime_lib(void)
{
	static char *path = NULL;
	GDir *dir;
	const char *name;

	if (path != NULL)
		return path;
	dir = g_dir_open("/usr/lib", 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		char *p = g_build_filename("/usr/lib", name, "faketime",
					   "libfaketime.so.1", NULL);

		if (g_file_test(p, G_FILE_TEST_EXISTS)) {
			path = p;
			break;
		}
		g_free(p);
	}
	if (dir != NULL)
		g_dir_close(dir);
	if (path == NULL) {
		g_error("pp-harness: libfaketime.so.1 not found under "
			"/usr/lib/*/faketime (install the faketime package: "
			"scripts/install-deps)");
	}
	return path;
}

/* argv prefix that runs a command in a new private mount namespace with the
   instance's module directory over Dovecot's compiled-in one. */
static GPtrArray *pp_ns_argv(const char *const *argv)
{
	GPtrArray *arr = g_ptr_array_new_with_free_func(g_free);
	unsigned int i;

	g_ptr_array_add(arr, g_strdup("unshare"));
	g_ptr_array_add(arr, g_strdup("-m"));
	g_ptr_array_add(arr, g_strdup("--propagation"));
	g_ptr_array_add(arr, g_strdup("private"));
	g_ptr_array_add(arr, g_strdup("sh"));
	g_ptr_array_add(arr, g_strdup("-c"));
	g_ptr_array_add(arr, g_strdup(
		"mount --bind \"$PP_MODULES\" " PP_DOVECOT_MODULEDIR
		" || exit 125; exec \"$@\""));
	g_ptr_array_add(arr, g_strdup("pp-ns"));
	for (i = 0; argv[i] != NULL; i++)
		g_ptr_array_add(arr, g_strdup(argv[i]));
	g_ptr_array_add(arr, NULL);
	return arr;
}

static GSubprocessLauncher *
pp_instance_launcher(PpInstance *inst, GSubprocessFlags flags)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(flags);
	char *moddir = g_build_filename(inst->dir, "modules", NULL);

	g_subprocess_launcher_set_child_setup(launcher, pp_child_setup,
					      NULL, NULL);
	g_subprocess_launcher_setenv(launcher, "PP_MODULES", moddir, TRUE);
	if (inst->opts.faketime) {
		g_subprocess_launcher_setenv(launcher, "LD_PRELOAD",
					     pp_faketime_lib(), TRUE);
		g_subprocess_launcher_setenv(launcher,
			"FAKETIME_TIMESTAMP_FILE", inst->faketime_path, TRUE);
		g_subprocess_launcher_setenv(launcher, "FAKETIME_NO_CACHE",
					     "1", TRUE);
		/* Dovecot's ioloop timers use the monotonic clock; a jump
		   there would fire every timeout at once. */
		g_subprocess_launcher_setenv(launcher,
			"FAKETIME_DONT_FAKE_MONOTONIC", "1", TRUE);
	}
	pp_sanitizer_setenv(inst, launcher);
	g_free(moddir);
	return launcher;
}

static char *pp_read_ns(GPid pid)
{
	char *link = g_strdup_printf("/proc/%d/ns/mnt", (int)pid);
	char *target = g_file_read_link(link, NULL);

	g_free(link);
	return target;
}

/* TRUE if the command line of pid contains tag. */
gboolean pp_process_cmdline_has(GPid pid, const char *tag)
{
	char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
	char *cmdline = NULL;
	gsize len = 0, i;
	gboolean ret = FALSE;

	if (g_file_get_contents(path, &cmdline, &len, NULL)) {
		for (i = 0; i < len; i++) {
			if (cmdline[i] == '\0')
				cmdline[i] = ' ';
		}
		ret = strstr(cmdline, tag) != NULL;
	}
	g_free(cmdline);
	g_free(path);
	return ret;
}

/* Pids of the instance's processes: in its mount namespace, and with its
   instance name (the directory's name) in their command line or process
   title. The name matters because the kernel reuses a namespace's inode
   number once its last process is gone, possibly for another test's
   instance. */
static GArray *pp_ns_pids(PpInstance *inst)
{
	GArray *pids = g_array_new(FALSE, FALSE, sizeof(GPid));
	char *tag;
	GDir *dir;
	const char *name;

	if (inst->mnt_ns == NULL)
		return pids;
	dir = g_dir_open("/proc", 0, NULL);
	if (dir == NULL)
		g_error("pp-harness: cannot read /proc");
	tag = g_path_get_basename(inst->dir);
	while ((name = g_dir_read_name(dir)) != NULL) {
		GPid pid;
		char *target;

		if (!g_ascii_isdigit(name[0]))
			continue;
		pid = (GPid)atoi(name);
		target = pp_read_ns(pid);
		if (target != NULL && strcmp(target, inst->mnt_ns) == 0 &&
		    pp_process_cmdline_has(pid, tag))
			g_array_append_val(pids, pid);
		g_free(target);
	}
	g_dir_close(dir);
	g_free(tag);
	return pids;
}

static gboolean pp_master_running(PpInstance *inst)
{
	const char *id;

	if (inst->master == NULL)
		return FALSE;
	id = g_subprocess_get_identifier(inst->master);
	return id != NULL;
}

static gboolean pp_wait_master_exit(PpInstance *inst, gint64 timeout_usec)
{
	gint64 end = g_get_monotonic_time() + timeout_usec;

	while (pp_master_running(inst)) {
		if (g_get_monotonic_time() > end)
			return FALSE;
		g_usleep(20 * 1000);
	}
	return TRUE;
}

/* Connects and reads the greeting; TRUE when Dovecot answers POP3. */
static gboolean pp_probe_pop3(guint16 port)
{
	PpPop3 *pop3 = pp_pop3_connect(port, NULL);
	gboolean ok;

	if (pop3 == NULL)
		return FALSE;
	ok = g_str_has_prefix(pp_pop3_greeting(pop3), "+OK");
	pp_pop3_close(pop3);
	return ok;
}

/* Whether the log from offset on (what a start wrote: a restart follows
   kills that the log names with Fatal) shows a process failing. */
static gboolean pp_log_has_fatal(PpInstance *inst, gsize offset)
{
	char *log = NULL;
	gsize size = 0;
	gboolean ret;

	if (!g_file_get_contents(inst->log_path, &log, &size, NULL))
		return FALSE;
	if (offset > size)
		offset = size;
	ret = strstr(log + offset, ": Fatal: ") != NULL ||
		strstr(log + offset, ": Panic: ") != NULL;
	g_free(log);
	return ret;
}

static gboolean pp_instance_spawn(PpInstance *inst, GError **error)
{
	const char *const dovecot_argv[] = {
		"dovecot", "-F", "-c", inst->conf_path, NULL
	};
	GSubprocessLauncher *launcher;
	GPtrArray *argv;
	GStatBuf st;
	gint64 end;
	char *log_file;
	gsize log_start;

	log_start = g_stat(inst->log_path, &st) == 0 ? (gsize)st.st_size : 0;
	log_file = g_build_filename(inst->dir, "master.out", NULL);
	launcher = pp_instance_launcher(inst, G_SUBPROCESS_FLAGS_STDIN_PIPE);
	g_subprocess_launcher_set_stdout_file_path(launcher, log_file);
	g_subprocess_launcher_set_stderr_file_path(launcher, log_file);
	argv = pp_ns_argv(dovecot_argv);
	inst->master = g_subprocess_launcher_spawnv(launcher,
		(const char *const *)argv->pdata, error);
	g_ptr_array_unref(argv);
	g_object_unref(launcher);
	g_free(log_file);
	if (inst->master == NULL)
		return FALSE;
	inst->pid = (GPid)atoi(g_subprocess_get_identifier(inst->master));

	end = g_get_monotonic_time() + PP_START_TIMEOUT_USEC;
	while (g_get_monotonic_time() < end) {
		if (!pp_master_running(inst)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "dovecot exited during startup");
			return FALSE;
		}
		if (inst->mnt_ns == NULL) {
			char *ns = pp_read_ns(inst->pid);
			char *own = pp_read_ns(getpid());

			/* until unshare has run, the child is still in our
			   namespace */
			if (ns != NULL && g_strcmp0(ns, own) != 0)
				inst->mnt_ns = g_strdup(ns);
			g_free(ns);
			g_free(own);
		}
		if (inst->mnt_ns != NULL && pp_probe_pop3(inst->port))
			return TRUE;
		if (pp_log_has_fatal(inst, log_start)) {
			/* e.g. a module that does not load: the master
			   would only keep throttling the service */
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "a Dovecot process failed to start");
			return FALSE;
		}
		g_usleep(50 * 1000);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
		    "dovecot did not accept POP3 connections on port %u",
		    inst->port);
	return FALSE;
}

static void pp_instance_kill_master(PpInstance *inst)
{
	if (!pp_master_running(inst))
		return;
	kill(inst->pid, SIGTERM);
	if (!pp_wait_master_exit(inst, PP_STOP_TIMEOUT_USEC)) {
		g_printerr("# pp-harness: master %d ignored SIGTERM, "
			   "sending SIGKILL\n", (int)inst->pid);
		kill(inst->pid, SIGKILL);
		(void)pp_wait_master_exit(inst, PP_STOP_TIMEOUT_USEC);
	}
}

/* Sends sig to every process left in the instance's namespace and waits
   up to timeout_usec for them to go; returns the number left. Only our
   instance's processes run in that namespace. */
static guint pp_ns_signal_wait(PpInstance *inst, int sig,
			       gint64 timeout_usec)
{
	gint64 end = g_get_monotonic_time() + timeout_usec;
	GArray *pids;
	guint i, left;

	pids = pp_ns_pids(inst);
	for (i = 0; sig != 0 && i < pids->len; i++)
		kill(g_array_index(pids, GPid, i), sig);
	for (;;) {
		left = pids->len;
		g_array_unref(pids);
		if (left == 0 || g_get_monotonic_time() > end)
			return left;
		g_usleep(20 * 1000);
		pids = pp_ns_pids(inst);
	}
}

/* After the master: Dovecot's log and stats processes and a pop3 process
   with a connected client outlive it until their peers go, so the rest of
   the namespace is stopped too, with SIGTERM and then SIGKILL. */
static void pp_instance_reap_namespace(PpInstance *inst)
{
	if (pp_ns_signal_wait(inst, 0, G_USEC_PER_SEC / 2) == 0)
		return;
	if (pp_ns_signal_wait(inst, SIGTERM, 3 * G_USEC_PER_SEC) == 0)
		return;
	if (pp_ns_signal_wait(inst, SIGKILL, PP_STOP_TIMEOUT_USEC) != 0) {
		g_printerr("# pp-harness: processes of %s survived SIGKILL\n",
			   inst->dir);
	}
}

static void pp_instance_free(PpInstance *inst)
{
	g_clear_object(&inst->master);
	g_hash_table_unref(inst->homes);
	g_free(inst->plugin_settings);
	g_free(inst->passdb_conf);
	g_free(inst->extra_conf);
	g_free(inst->mail_location);
	g_free(inst->dir);
	g_free(inst->base_dir);
	g_free(inst->conf_path);
	g_free(inst->log_path);
	g_free(inst->passwd_path);
	g_free(inst->faketime_path);
	g_free(inst->store_uri);
	g_free(inst->mnt_ns);
	g_free(inst);
}

static PpInstance *pp_instance_new(const PpInstanceOptions *opts)
{
	PpInstance *inst = g_new0(PpInstance, 1);
	char *tmpl = g_build_filename(pp_tmp_root(), "pp-inst-XXXXXX", NULL);

	inst->opts = *opts;
	inst->plugin_settings = g_strdup(opts->plugin_settings);
	inst->passdb_conf = g_strdup(opts->passdb_conf);
	inst->extra_conf = g_strdup(opts->extra_conf);
	inst->mail_location = g_strdup(opts->mail_location);
	inst->homes = g_hash_table_new_full(g_str_hash, g_str_equal,
					    g_free, g_free);
	pp_lookup_user(PP_MAIL_USER, &inst->mail_uid, &inst->mail_gid);

	/* g_mkdtemp_full() fills in tmpl and returns it */
	inst->dir = g_mkdtemp_full(tmpl, 0755);
	if (inst->dir == NULL)
		g_error("pp-harness: mkdtemp %s: %s", tmpl, g_strerror(errno));
	/* the mail uid, dovecot and dovenull must traverse it */
	if (chmod(inst->dir, 0755) < 0)
		g_error("pp-harness: chmod %s: %s", inst->dir,
			g_strerror(errno));
	inst->base_dir = g_build_filename(inst->dir, "run", NULL);
	inst->conf_path = g_build_filename(inst->dir, "dovecot.conf", NULL);
	inst->log_path = g_build_filename(inst->dir, "dovecot.log", NULL);
	inst->passwd_path = g_build_filename(inst->dir, "passwd", NULL);
	inst->faketime_path = g_build_filename(inst->dir, "faketime", NULL);
	pp_mkdir(inst->base_dir, 0755, 0, 0);
	{
		char *home_root = g_build_filename(inst->dir, "home", NULL);

		pp_mkdir(home_root, 0755, 0, 0);
		g_free(home_root);
	}
	if (!g_file_test(inst->passwd_path, G_FILE_TEST_EXISTS))
		pp_write_file(inst->passwd_path, "", 0644);
	pp_write_file(inst->faketime_path, "+0\n", 0644);
	pp_write_file(inst->log_path, "", 0644);
	return inst;
}

PpInstance *pp_instance_start(const PpInstanceOptions *opts, GError **error)
{
	PpInstance *inst;
	char *conf;
	unsigned int attempt, i;

	inst = pp_instance_new(opts);
	pp_instance_make_modules(inst);
	for (i = 0; opts->users != NULL && opts->users[i].name != NULL; i++) {
		pp_instance_add_user(inst, opts->users[i].name,
				     opts->users[i].password,
				     opts->users[i].userdb_fields);
	}

	for (attempt = 0; attempt < PP_START_ATTEMPTS; attempt++) {
		GError *spawn_error = NULL;
		char *log;

		inst->port = pp_free_port();
		do {
			inst->imap_port = opts->with_imap ? pp_free_port() : 0;
		} while (inst->imap_port == inst->port);
		g_free(inst->store_uri);
		inst->store_uri = NULL;
		conf = pp_instance_build_conf(inst);
		pp_write_file(inst->conf_path, conf, 0644);
		g_free(conf);

		if (pp_instance_spawn(inst, &spawn_error))
			return inst;

		pp_instance_kill_master(inst);
		pp_instance_reap_namespace(inst);
		g_clear_object(&inst->master);
		g_clear_pointer(&inst->mnt_ns, g_free);
		log = pp_instance_read_log(inst);
		if (attempt + 1 < PP_START_ATTEMPTS &&
		    strstr(log, "Address already in use") != NULL) {
			/* another process took the port between our probe
			   and Dovecot's bind: try another one */
			g_free(log);
			g_error_free(spawn_error);
			pp_write_file(inst->log_path, "", 0644);
			continue;
		}
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "pp_instance_start (%s): %s\n--- log ---\n%s",
			    inst->dir, spawn_error->message, log);
		g_free(log);
		g_error_free(spawn_error);
		break;
	}
	pp_rm_rf(inst->dir);
	pp_instance_free(inst);
	return NULL;
}

/* libfaketime (0.9.10) makes a shared memory object and a semaphore in
   /dev/shm for every process it is preloaded into, named after its pid,
   and removes them only when that process exits normally: Dovecot's
   processes that are killed or _exit() leave thousands behind. Removes
   those whose process is gone (whoever started it: a dead process's are
   garbage either way). */
static void pp_faketime_shm_cleanup(void)
{
	static const char *const prefixes[] = {
		"faketime_shm_", "sem.faketime_sem_"
	};
	GDir *dir = g_dir_open("/dev/shm", 0, NULL);
	const char *name;
	unsigned int i;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		for (i = 0; i < G_N_ELEMENTS(prefixes); i++) {
			const char *p = name + strlen(prefixes[i]);
			char *end, *path;
			long pid;

			if (!g_str_has_prefix(name, prefixes[i]))
				continue;
			pid = strtol(p, &end, 10);
			if (*p == '\0' || *end != '\0' || pid <= 0 ||
			    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			path = g_build_filename("/dev/shm", name, NULL);
			(void)unlink(path);
			g_free(path);
		}
	}
	if (dir != NULL)
		g_dir_close(dir);
}

void pp_instance_stop(PpInstance *inst)
{
	if (inst == NULL)
		return;
	pp_instance_kill_master(inst);
	pp_instance_reap_namespace(inst);
	pp_sanitizer_check(inst);
	if (inst->opts.faketime)
		pp_faketime_shm_cleanup();
	if (g_getenv("PP_KEEP_INSTANCES") != NULL)
		g_printerr("# pp-harness: keeping %s\n", inst->dir);
	else
		pp_rm_rf(inst->dir);
	pp_instance_free(inst);
}

gboolean pp_instance_restart(PpInstance *inst, GError **error)
{
	pp_instance_kill_master(inst);
	pp_instance_reap_namespace(inst);
	g_clear_object(&inst->master);
	g_clear_pointer(&inst->mnt_ns, g_free);
	return pp_instance_spawn(inst, error);
}

guint16 pp_instance_port(PpInstance *inst)
{
	return inst->port;
}

guint16 pp_instance_imap_port(PpInstance *inst)
{
	return inst->imap_port;
}

const char *pp_instance_dir(PpInstance *inst)
{
	return inst->dir;
}

const char *pp_instance_base_dir(PpInstance *inst)
{
	return inst->base_dir;
}

const char *pp_instance_passwd_file(PpInstance *inst)
{
	return inst->passwd_path;
}

const char *pp_instance_conf_path(PpInstance *inst)
{
	return inst->conf_path;
}

const char *pp_instance_log_path(PpInstance *inst)
{
	return inst->log_path;
}

GPid pp_instance_pid(PpInstance *inst)
{
	return inst->pid;
}

const char *pp_instance_mount_ns(PpInstance *inst)
{
	return inst->mnt_ns;
}

const char *pp_instance_store_uri(PpInstance *inst)
{
	return inst->store_uri;
}

char *pp_instance_read_log(PpInstance *inst)
{
	char *contents = NULL, *out = NULL, *path;
	GString *str = g_string_new(NULL);

	if (g_file_get_contents(inst->log_path, &contents, NULL, NULL))
		g_string_append(str, contents);
	path = g_build_filename(inst->dir, "master.out", NULL);
	if (g_file_get_contents(path, &out, NULL, NULL) && out[0] != '\0')
		g_string_append_printf(str, "--- master stdout/stderr ---\n%s",
				       out);
	g_free(path);
	g_free(contents);
	g_free(out);
	return g_string_free(str, FALSE);
}

unsigned int pp_instance_log_count(PpInstance *inst, const char *process,
				   const char *text)
{
	char *log = pp_instance_read_log(inst);
	char **lines = g_strsplit(log, "\n", -1);
	unsigned int i, count = 0;

	for (i = 0; lines[i] != NULL; i++) {
		if ((process == NULL || strstr(lines[i], process) != NULL) &&
		    strstr(lines[i], text) != NULL)
			count++;
	}
	g_strfreev(lines);
	g_free(log);
	return count;
}

unsigned int pp_instance_log_lookups(PpInstance *inst, const char *process,
				     const char *key)
{
	char *log = pp_instance_read_log(inst);
	char **lines = g_strsplit(log, "\n", -1);
	char *quoted = g_strdup_printf("'%s'", key);
	unsigned int i, count = 0;

	for (i = 0; lines[i] != NULL; i++) {
		if ((process == NULL || strstr(lines[i], process) != NULL) &&
		    strstr(lines[i], "Looking up") != NULL &&
		    strstr(lines[i], quoted) != NULL)
			count++;
	}
	g_free(quoted);
	g_strfreev(lines);
	g_free(log);
	return count;
}

void pp_instance_wait_sessions_over(PpInstance *inst)
{
	gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	char *log = pp_instance_read_log(inst);
	const char *p = log;

	/* the login process logs "Login: user=<...>, ..., mpid=N" */
	while ((p = strstr(p, " mpid=")) != NULL) {
		pid_t pid = (pid_t)atoi(p + strlen(" mpid="));

		p++;
		if (pid <= 0)
			continue;
		while (kill(pid, 0) == 0 || errno != ESRCH) {
			if (g_get_monotonic_time() > end) {
				g_error("pp-harness: the session process %d "
					"still runs after 30 s\n--- log ---\n"
					"%s", (int)pid, log);
			}
			g_usleep(10 * 1000);
		}
	}
	g_free(log);
}

void pp_instance_add_user(PpInstance *inst, const char *user,
			  const char *password, const char *userdb_fields)
{
	char *home_root = g_build_filename(inst->dir, "home", NULL);
	char *home = g_build_filename(home_root, user, NULL);
	GString *line = g_string_new(NULL);
	char *old = NULL;

	if (strpbrk(user, ":/\n ") != NULL || strpbrk(password, ":\n") != NULL)
		g_error("pp-harness: bad user %s or password", user);
	g_string_append_printf(line, "%s:{PLAIN}%s:%u:%u::%s::", user,
			       password, (unsigned int)inst->mail_uid,
			       (unsigned int)inst->mail_gid, home);
	if (userdb_fields != NULL) {
		char **fields = g_strsplit(userdb_fields, " ", -1);
		unsigned int i;
		gboolean first = TRUE;

		for (i = 0; fields[i] != NULL; i++) {
			if (fields[i][0] == '\0')
				continue;
			g_string_append_printf(line, "%suserdb_%s",
					       first ? "" : " ", fields[i]);
			first = FALSE;
		}
		g_strfreev(fields);
	}
	g_string_append_c(line, '\n');

	(void)g_file_get_contents(inst->passwd_path, &old, NULL, NULL);
	{
		char *contents = g_strconcat(old != NULL ? old : "",
					     line->str, NULL);

		pp_write_file(inst->passwd_path, contents, 0644);
		g_free(contents);
	}
	pp_mkdir(home, 0700, inst->mail_uid, inst->mail_gid);
	g_hash_table_replace(inst->homes, g_strdup(user), g_strdup(home));

	g_free(old);
	g_string_free(line, TRUE);
	g_free(home);
	g_free(home_root);
}

const char *pp_instance_home(PpInstance *inst, const char *user)
{
	const char *home = g_hash_table_lookup(inst->homes, user);

	if (home == NULL)
		g_error("pp-harness: unknown user %s", user);
	return home;
}

int pp_instance_run(PpInstance *inst, const char *const *argv,
		    const char *stdin_data, char **stdout_r, char **stderr_r)
{
	GSubprocessLauncher *launcher;
	GSubprocess *proc;
	GPtrArray *ns_argv;
	GBytes *in, *out = NULL, *err = NULL;
	GError *error = NULL;
	int status;

	launcher = pp_instance_launcher(inst, G_SUBPROCESS_FLAGS_STDIN_PIPE |
					G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					G_SUBPROCESS_FLAGS_STDERR_PIPE);
	ns_argv = pp_ns_argv(argv);
	proc = g_subprocess_launcher_spawnv(launcher,
		(const char *const *)ns_argv->pdata, &error);
	g_ptr_array_unref(ns_argv);
	g_object_unref(launcher);
	if (proc == NULL)
		g_error("pp-harness: %s: %s", argv[0], error->message);
	in = g_bytes_new(stdin_data != NULL ? stdin_data : "",
			 stdin_data != NULL ? strlen(stdin_data) : 0);
	if (!g_subprocess_communicate(proc, in, NULL, &out, &err, &error))
		g_error("pp-harness: %s: %s", argv[0], error->message);
	if (g_subprocess_get_if_exited(proc))
		status = g_subprocess_get_exit_status(proc);
	else
		status = 128 + g_subprocess_get_term_sig(proc);
	if (stdout_r != NULL) {
		*stdout_r = g_strndup(g_bytes_get_data(out, NULL),
				      g_bytes_get_size(out));
	}
	if (stderr_r != NULL) {
		*stderr_r = g_strndup(g_bytes_get_data(err, NULL),
				      g_bytes_get_size(err));
	}
	g_bytes_unref(in);
	g_bytes_unref(out);
	g_bytes_unref(err);
	g_object_unref(proc);
	return status;
}

void pp_instance_store_set_raw(PpInstance *inst, const char *user,
			       const char *key, const char *value)
{
	char *prog = g_build_filename(pp_top_builddir(), "tests",
				      "store-check", NULL);
	const char *argv[] = {
		prog, "--set-raw", pp_instance_store_uri(inst),
		pp_instance_base_dir(inst), user, key, value, NULL
	};
	char *out = NULL, *err = NULL;
	int status;

	status = pp_instance_run(inst, argv, NULL, &out, &err);
	if (status != 0) {
		g_error("pp-harness: store-check --set-raw %s: exit %d: %s%s",
			key, status, out, err);
	}
	g_free(out);
	g_free(err);
	g_free(prog);
}

int pp_instance_doveadm(PpInstance *inst, const char *const *argv,
			const char *stdin_data, char **stdout_r,
			char **stderr_r)
{
	GPtrArray *full = g_ptr_array_new();
	unsigned int i;
	int ret;

	g_ptr_array_add(full, (char *)"doveadm");
	g_ptr_array_add(full, (char *)"-c");
	g_ptr_array_add(full, inst->conf_path);
	for (i = 0; argv[i] != NULL; i++)
		g_ptr_array_add(full, (char *)argv[i]);
	g_ptr_array_add(full, NULL);
	ret = pp_instance_run(inst, (const char *const *)full->pdata,
			      stdin_data, stdout_r, stderr_r);
	g_ptr_array_unref(full);
	return ret;
}

void pp_instance_deliver(PpInstance *inst, const char *user,
			 const char *message)
{
	const char *const argv[] = { "save", "-u", user, NULL };
	char *out = NULL, *err = NULL;
	int ret;

	ret = pp_instance_doveadm(inst, argv, message, &out, &err);
	if (ret != 0) {
		g_error("pp-harness: doveadm save -u %s failed (%d): %s%s",
			user, ret, out, err);
	}
	g_free(out);
	g_free(err);
}

void pp_instance_set_time_offset(PpInstance *inst, const char *offset)
{
	char *line;

	if (!inst->opts.faketime)
		g_error("pp-harness: set_time_offset needs opts.faketime");
	line = g_strdup_printf("%s\n", offset);
	pp_write_file(inst->faketime_path, line, 0644);
	g_free(line);
}

gboolean pp_instance_wait_log(PpInstance *inst, const char *text,
			      unsigned int timeout_msecs)
{
	gint64 end = g_get_monotonic_time() + timeout_msecs * 1000LL;
	gboolean found;

	for (;;) {
		char *log = pp_instance_read_log(inst);

		found = strstr(log, text) != NULL;
		g_free(log);
		if (found || g_get_monotonic_time() >= end)
			return found;
		g_usleep(50 * 1000);
	}
}
