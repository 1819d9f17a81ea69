/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The store against a real dict server: the schema and
   dict-sql map shipped in conf.d/ on SQLite, reached with proxy::pop3policy
   from tests/unit/store-check (Dovecot-linked) run inside the instance's
   environment. Also: the rows land where the map says, and a dict server
   that is gone (wrong socket, socket removed, process killed, database
   broken) gives every operation a clear error naming user and key, and the
   store works again once the server is back. The same against redis:. */

#include "pp-harness.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
#include <gio/gio.h>

static PpInstance *start_sqlite_instance(void)
{
	PpInstanceOptions opts = { 0 };
	GError *error = NULL;
	PpInstance *inst;

	/* the dict server and the store are Dovecot's and ours; the
	   package's modules are not needed to test them */
	opts.with_package = FALSE;
	opts.store = PP_STORE_SQLITE;
	inst = pp_instance_start(&opts, &error);
	if (inst == NULL)
		g_error("%s", error->message);
	g_assert_cmpstr(pp_instance_store_uri(inst), ==, "proxy::pop3policy");
	return inst;
}

static char *store_check_path(void)
{
	const char *builddir = g_getenv("PP_TOP_BUILDDIR");

	if (builddir == NULL)
		g_error("PP_TOP_BUILDDIR is not set");
	return g_build_filename(builddir, "tests", "store-check", NULL);
}

/* Runs store-check [--expect-failure] URI BASE_DIR in the instance's
   environment; returns its exit status and stdout. */
static int run_store_check(PpInstance *inst, gboolean expect_failure,
			   const char *uri, char **out_r)
{
	char *prog = store_check_path();
	const char *argv[5];
	char *out = NULL, *err = NULL;
	unsigned int i = 0;
	int ret;

	argv[i++] = prog;
	if (expect_failure)
		argv[i++] = "--expect-failure";
	argv[i++] = uri;
	argv[i++] = pp_instance_base_dir(inst);
	argv[i] = NULL;
	ret = pp_instance_run(inst, argv, NULL, &out, &err);
	if (ret != 0 || g_test_verbose())
		g_test_message("store-check %s: exit %d\n%s%s", uri, ret,
			       out, err);
	g_free(err);
	g_free(prog);
	*out_r = out;
	return ret;
}

static void assert_store_works(PpInstance *inst)
{
	char *out;

	g_assert_cmpint(run_store_check(inst, FALSE, "proxy::pop3policy",
					&out), ==, 0);
	g_assert_nonnull(strstr(out, "0 / 11 tests failed"));
	g_free(out);
}

/* Every error line names the user and the key, never the value. */
static void assert_failure_output(const char *out, const char *cause)
{
	char **lines = g_strsplit(out, "\n", -1);
	unsigned int i, errors = 0;

	for (i = 0; lines[i] != NULL; i++) {
		if (strstr(lines[i], " error: ") == NULL)
			continue;
		errors++;
		g_assert_nonnull(strstr(lines[i], "user dept/bob: key "));
		g_assert_nonnull(strstr(lines[i], "pop3-policy/"));
		g_assert_null(strstr(lines[i], "S3cr3tValue"));
		if (cause != NULL && strstr(lines[i], cause) == NULL)
			g_error("error line lacks '%s': %s", cause, lines[i]);
	}
	/* prefetched lookup, set, lookup, asynchronous lookup and set, and
	   unset of the three kinds */
	g_assert_cmpuint(errors, ==, 18);
	g_assert_nonnull(strstr(out, "0 / 1 tests failed"));
	g_strfreev(lines);
}

static char *sqlite_query(PpInstance *inst, const char *sql)
{
	char *db = g_build_filename(pp_instance_dir(inst), "store",
				    "pop3-policy.sqlite", NULL);
	const char *argv[] = { "sqlite3", "-batch", "-bail", db, sql, NULL };
	char *out = NULL, *err = NULL;
	int ret;

	ret = pp_instance_run(inst, argv, NULL, &out, &err);
	if (ret != 0)
		g_error("sqlite3 %s: exit %d: %s", sql, ret, err);
	g_free(err);
	g_free(db);
	return g_strchomp(out);
}

static void dict_set(PpInstance *inst, const char *user, const char *key,
		     const char *value)
{
	const char *argv[] = { "dict", "set", "-u", user,
			       pp_instance_store_uri(inst), key, value, NULL };
	char *err = NULL;
	int ret;

	ret = pp_instance_doveadm(inst, argv, NULL, NULL, &err);
	if (ret != 0)
		g_error("doveadm dict set %s: exit %d: %s", key, ret, err);
	g_free(err);
}

static void test_store_sqlite_round_trip(void)
{
	PpInstance *inst = start_sqlite_instance();

	assert_store_works(inst);
	pp_instance_stop(inst);
}

/* The map puts each key where the schema says: shared keys by their
   (escaped) user, priv keys by the operation's user, chunks by generation
   and number. Written with doveadm dict, read with sqlite3. */
static void test_store_sqlite_map_layout(void)
{
	PpInstance *inst = start_sqlite_instance();
	char *out;

	dict_set(inst, "dept/bob", "shared/pop3-policy/policy/dept\\|bob",
		 "1\tpolicy\t1\thold=7d");
	dict_set(inst, "dept/bob", "shared/pop3-policy/apop/dept\\|bob",
		 "1\tapop\tk1\t1\tsealed");
	dict_set(inst, "dept/bob", "shared/pop3-policy/login/dept\\|bob",
		 "1\tlogin\t1\t2\t3");
	out = sqlite_query(inst, "SELECT username || '|' || value "
			   "FROM pop3_policy_policy");
	g_assert_cmpstr(out, ==, "dept\\|bob|1\tpolicy\t1\thold=7d");
	g_free(out);
	out = sqlite_query(inst, "SELECT username FROM pop3_policy_apop");
	g_assert_cmpstr(out, ==, "dept\\|bob");
	g_free(out);
	out = sqlite_query(inst, "SELECT username FROM pop3_policy_login");
	g_assert_cmpstr(out, ==, "dept\\|bob");
	g_free(out);
	/* the store holds the administrator's records only: a mailbox's
	   UIDL map and guard live with the mailbox */
	out = sqlite_query(inst, "SELECT count(*) FROM sqlite_master "
			   "WHERE type = 'table'");
	g_assert_cmpstr(out, ==, "3");
	g_free(out);

	/* a second write of the same key updates the row */
	dict_set(inst, "dept/bob", "shared/pop3-policy/login/dept\\|bob",
		 "1\tlogin\t4\t5\t6");
	out = sqlite_query(inst, "SELECT count(*) || '|' || max(value) "
			   "FROM pop3_policy_login");
	g_assert_cmpstr(out, ==, "1|1\tlogin\t4\t5\t6");
	g_free(out);
	pp_instance_stop(inst);
}

static void test_store_wrong_socket(void)
{
	PpInstance *inst = start_sqlite_instance();
	char *uri, *out;

	uri = g_strdup_printf("proxy:%s/no-such-dict:pop3policy",
			      pp_instance_base_dir(inst));
	g_assert_cmpint(run_store_check(inst, TRUE, uri, &out), ==, 0);
	assert_failure_output(out, "no-such-dict) failed: No such file");
	g_free(out);
	g_free(uri);
	pp_instance_stop(inst);
}

/* The socket of the dict service removed (the service is down), then put
   back: errors while it is gone, a working store again after. */
static void test_store_socket_removed(void)
{
	PpInstance *inst = start_sqlite_instance();
	char *sock, *moved, *out;

	sock = g_build_filename(pp_instance_base_dir(inst), "dict", NULL);
	moved = g_strconcat(sock, ".away", NULL);
	g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
	if (g_rename(sock, moved) < 0)
		g_error("rename %s: %s", sock, g_strerror(errno));
	g_assert_cmpint(run_store_check(inst, TRUE, "proxy::pop3policy",
					&out), ==, 0);
	assert_failure_output(out, "/dict) failed: No such file or directory");
	g_free(out);

	if (g_rename(moved, sock) < 0)
		g_error("rename %s: %s", moved, g_strerror(errno));
	assert_store_works(inst);
	g_free(sock);
	g_free(moved);
	pp_instance_stop(inst);
}

/* The instance's dict processes: children (at any depth) of its master
   whose command name is "dict". */
static GArray *find_dict_pids(PpInstance *inst)
{
	GArray *pids = g_array_new(FALSE, FALSE, sizeof(GPid));
	GDir *dir = g_dir_open("/proc", 0, NULL);
	const char *name;

	g_assert_nonnull(dir);
	while ((name = g_dir_read_name(dir)) != NULL) {
		GPid pid = (GPid)atoi(name), p;
		char *path, *stat = NULL, *comm_end;
		unsigned int depth;
		gboolean is_dict = FALSE, ours = FALSE;

		if (pid <= 1)
			continue;
		for (p = pid, depth = 0; p > 1 && depth < 8; depth++) {
			path = g_strdup_printf("/proc/%d/stat", (int)p);
			if (!g_file_get_contents(path, &stat, NULL, NULL)) {
				g_free(path);
				break;
			}
			g_free(path);
			/* "pid (comm) state ppid ..." */
			comm_end = strrchr(stat, ')');
			if (comm_end == NULL) {
				g_free(stat);
				break;
			}
			if (depth == 0) {
				*comm_end = '\0';
				is_dict = g_strcmp0(strchr(stat, '(') + 1,
						    "dict") == 0;
				*comm_end = ')';
			}
			p = (GPid)atoi(comm_end + 4);
			g_free(stat);
			if (!is_dict)
				break;
			if (p == pp_instance_pid(inst)) {
				ours = TRUE;
				break;
			}
		}
		if (is_dict && ours)
			g_array_append_val(pids, pid);
	}
	g_dir_close(dir);
	return pids;
}

static void kill_dict_processes(PpInstance *inst)
{
	GArray *pids = find_dict_pids(inst);
	unsigned int i, tries;

	g_assert_cmpuint(pids->len, >, 0);
	for (i = 0; i < pids->len; i++) {
		GPid pid = g_array_index(pids, GPid, i);

		if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
			g_error("kill %d: %s", (int)pid, g_strerror(errno));
		for (tries = 0; tries < 100 && kill(pid, 0) == 0; tries++)
			g_usleep(50000);
	}
	g_array_unref(pids);
}

/* The dict process killed: the master starts a new one on the next
   connection and the store works again; with its database broken (moved
   away, so that the new process opens an empty one) every operation fails
   with the dict server's error; with the database back it works again. */
static void test_store_dict_killed(void)
{
	PpInstance *inst = start_sqlite_instance();
	char *db, *moved, *out;

	assert_store_works(inst);
	kill_dict_processes(inst);
	assert_store_works(inst);

	db = g_build_filename(pp_instance_dir(inst), "store",
			      "pop3-policy.sqlite", NULL);
	moved = g_strconcat(db, ".away", NULL);
	if (g_rename(db, moved) < 0)
		g_error("rename %s: %s", db, g_strerror(errno));
	kill_dict_processes(inst);
	g_assert_cmpint(run_store_check(inst, TRUE, "proxy::pop3policy",
					&out), ==, 0);
	assert_failure_output(out, "no such table");
	g_free(out);

	kill_dict_processes(inst);
	g_unlink(db);
	if (g_rename(moved, db) < 0)
		g_error("rename %s: %s", moved, g_strerror(errno));
	assert_store_works(inst);
	g_free(db);
	g_free(moved);
	pp_instance_stop(inst);
}

static void redis_child_setup(gpointer data G_GNUC_UNUSED)
{
	/* never outlive the test, also when it aborts */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int run_store_check_direct(gboolean expect_failure, const char *uri,
				  char **out_r)
{
	char *prog = store_check_path();
	const char *argv[5];
	char *err = NULL;
	unsigned int i = 0;
	int status;
	GError *error = NULL;

	argv[i++] = prog;
	if (expect_failure)
		argv[i++] = "--expect-failure";
	argv[i++] = uri;
	argv[i++] = g_get_tmp_dir();
	argv[i] = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, out_r,
			  &err, &status, &error))
		g_error("%s: %s", prog, error->message);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    g_test_verbose())
		g_test_message("store-check %s: status %d\n%s%s", uri, status,
			       *out_r, err);
	g_free(err);
	g_free(prog);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* redis: (a store for more machines) through the same store code, on a
   throwaway redis-server on 127.0.0.1; then the server stopped by its pid:
   every operation fails with an error naming user and key. */
/* Starts a throwaway redis-server on 127.0.0.1:port with its files in dir,
   and waits until it listens. */
static GSubprocess *redis_start(const char *dir, guint16 port)
{
	GSubprocessLauncher *launcher;
	GSubprocess *redis;
	GSocketClient *client;
	GSocketConnection *conn = NULL;
	GError *error = NULL;
	char *port_str = g_strdup_printf("%u", port);
	unsigned int tries;

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_subprocess_launcher_set_child_setup(launcher, redis_child_setup,
					      NULL, NULL);
	redis = g_subprocess_launcher_spawn(launcher, &error, "redis-server",
		"--port", port_str, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, NULL);
	g_assert_no_error(error);
	client = g_socket_client_new();
	for (tries = 0; tries < 100 && conn == NULL; tries++) {
		conn = g_socket_client_connect_to_host(client, "127.0.0.1",
						       port, NULL, NULL);
		if (conn == NULL)
			g_usleep(50000);
	}
	if (conn == NULL)
		g_error("redis-server did not listen on port %u", port);
	g_object_unref(conn);
	g_object_unref(client);
	g_object_unref(launcher);
	g_free(port_str);
	return redis;
}

static void redis_stop(GSubprocess *redis)
{
	GError *error = NULL;

	g_subprocess_send_signal(redis, SIGTERM);
	g_subprocess_wait(redis, NULL, &error);
	g_assert_no_error(error);
	g_object_unref(redis);
}

/* redis: (a store for more machines) through the same store code, on a
   throwaway redis-server on 127.0.0.1; then the server stopped by its pid:
   every operation fails with an error naming user and key. */
static void test_store_redis(void)
{
	GSubprocess *redis;
	GError *error = NULL;
	char *dir, *uri, *out;
	guint16 port = pp_free_port();

	dir = g_dir_make_tmp("pp-store-redis-XXXXXX", &error);
	g_assert_no_error(error);
	redis = redis_start(dir, port);

	uri = g_strdup_printf("redis:host=127.0.0.1:port=%u", port);
	g_assert_cmpint(run_store_check_direct(FALSE, uri, &out), ==, 0);
	g_assert_nonnull(strstr(out, "0 / 11 tests failed"));
	g_free(out);

	redis_stop(redis);
	g_assert_cmpint(run_store_check_direct(TRUE, uri, &out), ==, 0);
	assert_failure_output(out, NULL);
	g_assert_nonnull(strstr(out, "redis"));
	g_free(out);

	g_rmdir(dir);
	g_free(uri);
	g_free(dir);
}

/* A TCP relay between the store and redis-server that loses the
   connection in the middle of every reply carrying a value (a RESP bulk
   string: "$<size>", not "$-1"): it passes on the size line and half the
   value, then closes both sides. Everything else passes whole. One
   connection at a time, until the test closes the listening socket. */
struct cut_relay {
	int listen_fd;
	guint16 port, redis_port;
	GThread *thread;
};

union relay_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
};

static void relay_addr_init(union relay_addr *addr, guint16 port)
{
	memset(addr, 0, sizeof(*addr));
	addr->sin.sin_family = AF_INET;
	addr->sin.sin_port = htons(port);
	addr->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int relay_connect(guint16 port)
{
	union relay_addr addr;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	g_assert_cmpint(fd, >=, 0);
	relay_addr_init(&addr, port);
	if (connect(fd, &addr.sa, sizeof(addr.sin)) < 0)
		g_error("relay: connect to redis: %s", g_strerror(errno));
	return fd;
}

/* Returns how much of the server's chunk to pass on: all of it, or, for a
   bulk string with a value, the size line and half the value (cut_r). */
static size_t relay_pass_len(const char *buf, size_t len, gboolean *cut_r)
{
	const char *eol = memchr(buf, '\n', len);
	size_t header;

	*cut_r = FALSE;
	if (len < 2 || buf[0] != '$' || buf[1] == '-' || eol == NULL)
		return len;
	header = eol - buf + 1;
	*cut_r = TRUE;
	return header + (len - header) / 2;
}

static void relay_serve(int client_fd, guint16 redis_port)
{
	int fds[2] = { client_fd, relay_connect(redis_port) };
	char buf[65536];
	gboolean cut = FALSE;

	while (!cut) {
		struct pollfd pfd[2] = {
			{ .fd = fds[0], .events = POLLIN },
			{ .fd = fds[1], .events = POLLIN },
		};
		unsigned int i;

		if (poll(pfd, 2, -1) < 0)
			break;
		for (i = 0; i < 2 && !cut; i++) {
			ssize_t n;
			size_t pass;

			if ((pfd[i].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			n = read(fds[i], buf, sizeof(buf));
			if (n <= 0) {
				cut = TRUE;
				break;
			}
			pass = i == 1 ? relay_pass_len(buf, n, &cut) : (size_t)n;
			if (send(fds[1 - i], buf, pass, MSG_NOSIGNAL) !=
			    (ssize_t)pass)
				cut = TRUE;
		}
	}
	close(fds[0]);
	close(fds[1]);
}

static gpointer relay_thread(gpointer data)
{
	struct cut_relay *relay = data;
	int fd;

	while ((fd = accept(relay->listen_fd, NULL, NULL)) >= 0)
		relay_serve(fd, relay->redis_port);
	return NULL;
}

static void cut_relay_start(struct cut_relay *relay, guint16 redis_port)
{
	union relay_addr addr;
	socklen_t len = sizeof(addr.sin);

	relay->redis_port = redis_port;
	relay->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	g_assert_cmpint(relay->listen_fd, >=, 0);
	/* port 0: the kernel picks a free one */
	relay_addr_init(&addr, 0);
	g_assert_cmpint(bind(relay->listen_fd, &addr.sa, sizeof(addr.sin)),
			==, 0);
	g_assert_cmpint(listen(relay->listen_fd, 4), ==, 0);
	g_assert_cmpint(getsockname(relay->listen_fd, &addr.sa, &len), ==, 0);
	relay->port = ntohs(addr.sin.sin_port);
	relay->thread = g_thread_new("cut-relay", relay_thread, relay);
}

static void cut_relay_stop(struct cut_relay *relay)
{
	/* shutdown() wakes the accept() */
	shutdown(relay->listen_fd, SHUT_RDWR);
	g_thread_join(relay->thread);
	close(relay->listen_fd);
}

/* A connection to redis lost in the middle of a record's reply: the
   driver's error carries the part that arrived ("last reply"); every
   lookup, also the one before a removal, reports the failure without it,
   and nothing is removed. */
static void test_store_redis_cut_reply(void)
{
	struct cut_relay relay;
	GSubprocess *redis;
	GError *error = NULL;
	char *dir, *writer, *reader, *prog, *out = NULL, *err = NULL;
	const char *argv[5];
	int status;
	guint16 port = pp_free_port();

	dir = g_dir_make_tmp("pp-store-redis-XXXXXX", &error);
	g_assert_no_error(error);
	redis = redis_start(dir, port);
	cut_relay_start(&relay, port);

	prog = store_check_path();
	writer = g_strdup_printf("redis:host=127.0.0.1:port=%u", port);
	reader = g_strdup_printf("redis:host=127.0.0.1:port=%u", relay.port);
	argv[0] = prog;
	argv[1] = "--cut-reply";
	argv[2] = writer;
	argv[3] = reader;
	argv[4] = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &out,
			  &err, &status, &error))
		g_error("%s: %s", prog, error->message);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    g_test_verbose())
		g_test_message("store-check --cut-reply: status %d\n%s%s",
			       status, out, err);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the driver's reason is kept, the record's part is not */
	g_assert_nonnull(strstr(out, "lookup error: "));
	g_assert_nonnull(strstr(out, "unset error: "));
	g_assert_nonnull(strstr(out, "lookup before removal failed: "));
	g_assert_nonnull(strstr(out, "Communication failure"));
	g_assert_null(strstr(out, "S3cr3tValue"));
	g_assert_nonnull(strstr(out, "0 / 1 tests failed"));

	cut_relay_stop(&relay);
	redis_stop(redis);
	g_rmdir(dir);
	g_free(out);
	g_free(err);
	g_free(prog);
	g_free(writer);
	g_free(reader);
	g_free(dir);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	if (geteuid() != 0)
		g_error("the integration tests need root");

	g_test_add_func("/store/sqlite-round-trip",
			test_store_sqlite_round_trip);
	g_test_add_func("/store/sqlite-map-layout",
			test_store_sqlite_map_layout);
	g_test_add_func("/store/wrong-socket", test_store_wrong_socket);
	g_test_add_func("/store/socket-removed", test_store_socket_removed);
	g_test_add_func("/store/dict-killed", test_store_dict_killed);
	g_test_add_func("/store/redis", test_store_redis);
	g_test_add_func("/store/redis-cut-reply", test_store_redis_cut_reply);
	return g_test_run();
}
