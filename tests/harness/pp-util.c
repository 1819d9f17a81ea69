/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The harness's process and file helpers: where the source and build
   trees are, commands run outside any instance, users, ports. */

#include "pp-harness-private.h"

#ifndef PP_TOP_SRCDIR
#  define PP_TOP_SRCDIR NULL
#endif
#ifndef PP_TOP_BUILDDIR
#  define PP_TOP_BUILDDIR NULL
#endif

/* A tree's directory: the environment's (make check sets it), else the
   one configure saw. */
static const char *pp_tree_dir(const char *env, const char *configured)
{
	const char *dir = g_getenv(env);

	if (dir == NULL || dir[0] == '\0')
		dir = configured;
	if (dir == NULL || dir[0] == '\0')
		g_error("pp-harness: %s is not set", env);
	return dir;
}

const char *pp_top_builddir(void)
{
	return pp_tree_dir("PP_TOP_BUILDDIR", PP_TOP_BUILDDIR);
}

const char *pp_top_srcdir(void)
{
	return pp_tree_dir("PP_TOP_SRCDIR", PP_TOP_SRCDIR);
}

const char *pp_tmp_root(void)
{
	const char *root = g_getenv("PP_TEST_TMPDIR");

	if (root == NULL || root[0] == '\0')
		root = g_get_tmp_dir();
	if (g_mkdir_with_parents(root, 0755) < 0)
		g_error("pp-harness: mkdir %s: %s", root, g_strerror(errno));
	return root;
}

void pp_child_setup(gpointer user_data G_GNUC_UNUSED)
{
	/* The kernel sends SIGTERM when the test process dies (including an
	   abort), and Dovecot's master stops its children on SIGTERM. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
}

void pp_mkdir(const char *path, int mode, uid_t uid, gid_t gid)
{
	if (g_mkdir_with_parents(path, mode) < 0)
		g_error("pp-harness: mkdir %s: %s", path, g_strerror(errno));
	if (chmod(path, mode) < 0)
		g_error("pp-harness: chmod %s: %s", path, g_strerror(errno));
	if (chown(path, uid, gid) < 0)
		g_error("pp-harness: chown %s: %s", path, g_strerror(errno));
}

/* Runs a helper command outside any instance (cp, sqlite3, rm); returns
   FALSE with error set if it did not exit 0. */
gboolean pp_spawn_sync(const char *const *argv, const char *stdin_data,
		       char **stdout_r, GError **error)
{
	GSubprocessLauncher *launcher;
	GSubprocess *proc;
	GBytes *in = NULL, *out = NULL, *err = NULL;
	gboolean ok = FALSE;
	GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE |
		G_SUBPROCESS_FLAGS_STDERR_PIPE;

	if (stdin_data != NULL)
		flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
	launcher = g_subprocess_launcher_new(flags);
	g_subprocess_launcher_set_child_setup(launcher, pp_child_setup,
					      NULL, NULL);
	proc = g_subprocess_launcher_spawnv(launcher, argv, error);
	g_object_unref(launcher);
	if (proc == NULL)
		return FALSE;
	if (stdin_data != NULL)
		in = g_bytes_new(stdin_data, strlen(stdin_data));
	if (g_subprocess_communicate(proc, in, NULL, &out, &err, error)) {
		if (g_subprocess_get_if_exited(proc) &&
		    g_subprocess_get_exit_status(proc) == 0)
			ok = TRUE;
		else {
			char *cmd = g_strjoinv(" ", (char **)argv);

			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "%s failed: %.*s", cmd,
				    (int)g_bytes_get_size(err),
				    (const char *)g_bytes_get_data(err, NULL));
			g_free(cmd);
		}
	}
	if (ok && stdout_r != NULL) {
		*stdout_r = g_strndup(g_bytes_get_data(out, NULL),
				      g_bytes_get_size(out));
	}
	if (in != NULL)
		g_bytes_unref(in);
	if (out != NULL)
		g_bytes_unref(out);
	if (err != NULL)
		g_bytes_unref(err);
	g_object_unref(proc);
	return ok;
}

void pp_spawn_or_die(const char *const *argv, const char *stdin_data)
{
	GError *error = NULL;

	if (!pp_spawn_sync(argv, stdin_data, NULL, &error))
		g_error("pp-harness: %s", error->message);
}

void pp_lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		g_error("pp-harness: system user %s does not exist", name);
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
}

guint16 pp_free_port(void)
{
	GSocket *sock;
	GInetAddress *lo;
	GSocketAddress *addr, *bound;
	GError *error = NULL;
	guint16 port;

	sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
			    G_SOCKET_PROTOCOL_TCP, &error);
	if (sock == NULL)
		g_error("pp-harness: socket: %s", error->message);
	lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	addr = g_inet_socket_address_new(lo, 0);
	if (!g_socket_bind(sock, addr, FALSE, &error))
		g_error("pp-harness: bind: %s", error->message);
	bound = g_socket_get_local_address(sock, &error);
	if (bound == NULL)
		g_error("pp-harness: getsockname: %s", error->message);
	port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	g_object_unref(bound);
	g_object_unref(addr);
	g_object_unref(lo);
	g_socket_close(sock, NULL);
	g_object_unref(sock);
	return port;
}

void pp_rm_rf(const char *path)
{
	const char *const argv[] = { "rm", "-rf", "--one-file-system", path,
				     NULL };
	GError *error = NULL;

	if (!pp_spawn_sync(argv, NULL, NULL, &error)) {
		g_printerr("# pp-harness: %s\n", error->message);
		g_error_free(error);
	}
}
