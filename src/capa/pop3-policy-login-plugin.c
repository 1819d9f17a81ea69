/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* CAPA before login (RFC 2449 6.5, 6.7): EXPIRE <days> USER, the
   smallest EXPIRE any user can have, and LOGIN-DELAY <secs> USER, the
   largest LOGIN-DELAY, over the site policy and every class
   (pop3-policy-capa.h).

   pop3-login builds its CAPA reply in cmd_capa()
   (src/pop3-login/client-authenticate.c) from the compile-time
   POP3_CAPABILITY_REPLY, STLS, USER and SASL, and sends it with one
   client_send_raw(). This login plugin overrides the client's
   send_raw_data and inserts the lines before the reply's final "."; the
   reply after STLS is built the same way and gets them too.

   Login processes have no plugin {} settings. The module's init runs
   before pop3-login drops root and chroots (login_load_modules() in
   src/login-common/main.c), so the settings are read there, once, from
   the config server, as Dovecot's own processes read theirs; only the
   pop3_policy* settings are kept, since plugin {} may hold secrets of
   other plugins. */

#include "lib.h"
#include "array.h"
#include "module-context.h"
#include "net.h"
#include "istream.h"
#include "write-full.h"
#include "str.h"
#include "master-service.h"
#include "login-common.h"
#include "client-common.h"
#include "pop3-capability.h"
#include "pop3-policy-capa.h"

#include <sys/stat.h>

#define CAPA_PREFIX "+OK\r\n" POP3_CAPABILITY_REPLY
#define CAPA_PLUGIN_PREFIX "plugin/"
#define CAPA_SETTINGS_PREFIX "pop3_policy"
#define CAPA_CONFIG_REQUEST \
	"VERSION\tconfig\t2\t0\n" \
	"REQ\tmodule=mail\tservice=pop3\n"

#define POP3_POLICY_LOGIN_CONTEXT(obj) \
	MODULE_CONTEXT(obj, pop3_policy_login_client_module)

struct pop3_policy_login_client {
	union login_client_module_context module_ctx;
};

extern const char *pop3_policy_login_plugin_version;
extern const char pop3_policy_login_plugin_binary_dependency[];
void pop3_policy_login_plugin_init(struct module *module);
void pop3_policy_login_plugin_deinit(void);

const char *pop3_policy_login_plugin_version = DOVECOT_ABI_VERSION;
const char pop3_policy_login_plugin_binary_dependency[] = "pop3-login";

static MODULE_CONTEXT_DEFINE_INIT(pop3_policy_login_client_module,
				  &login_module_register);

/* The lines to insert, or NULL when nothing is announced */
static char *capa_preauth_lines = NULL;

static void
capa_send_raw_data(struct client *client, const void *data, size_t size)
{
	struct pop3_policy_login_client *pclient =
		POP3_POLICY_LOGIN_CONTEXT(client);
	size_t body_len;
	buffer_t *buf;

	body_len = pop3_policy_capa_reply_body_len(data, size, CAPA_PREFIX);
	if (body_len == 0) {
		pclient->module_ctx.super.send_raw_data(client, data, size);
		return;
	}
	buf = t_buffer_create(size + strlen(capa_preauth_lines));
	buffer_append(buf, data, body_len);
	buffer_append(buf, capa_preauth_lines, strlen(capa_preauth_lines));
	buffer_append(buf, CONST_PTR_OFFSET(data, body_len), size - body_len);
	pclient->module_ctx.super.send_raw_data(client, buf->data, buf->used);
}

static void capa_client_allocated(struct client *client)
{
	struct pop3_policy_login_client *pclient;
	struct client_vfuncs *v = client->vlast;

	if (capa_preauth_lines == NULL)
		return;
	pclient = p_new(client->pool, struct pop3_policy_login_client, 1);
	pclient->module_ctx.super = *v;
	client->vlast = &pclient->module_ctx.super;
	v->send_raw_data = capa_send_raw_data;
	MODULE_CONTEXT_SET(client, pop3_policy_login_client_module, pclient);
}

static struct login_client_hooks capa_login_hooks = {
	.client_allocated = capa_client_allocated,
};

/* Asks the config server for protocol pop3's mail settings and keeps
   the pop3_policy* ones of plugin {} (key, value, ..., NULL) in envs_r.
   Returns 0, or -1 with error_r. */
static int capa_read_settings(pool_t pool, ARRAY_TYPE(const_string) *envs_r,
			      const char **error_r)
{
	const char *path = master_service_get_config_path(master_service);
	struct istream *input;
	const char *line, *key, *value, *p;
	struct stat st;
	bool first = TRUE, done = FALSE;
	int fd, ret = 0;

	if (stat(path, &st) < 0) {
		*error_r = t_strdup_printf("stat(%s) failed: %m", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*error_r = t_strdup_printf("%s is not the config server's "
					   "socket", path);
		return -1;
	}
	fd = net_connect_unix(path);
	if (fd < 0) {
		*error_r = t_strdup_printf("net_connect_unix(%s) failed: %m",
					   path);
		return -1;
	}
	net_set_nonblock(fd, FALSE);
	if (write_full(fd, CAPA_CONFIG_REQUEST,
		       strlen(CAPA_CONFIG_REQUEST)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	input = i_stream_create_fd(fd, SIZE_MAX);
	while (!done && (line = i_stream_read_next_line(input)) != NULL) {
		if (first) {
			/* flags of the answer, or "ERROR ..." */
			first = FALSE;
			if (str_begins(line, "ERROR")) {
				*error_r = t_strdup_printf(
					"config server: %s", line);
				ret = -1;
				break;
			}
			continue;
		}
		if (line[0] == '\0') {
			done = TRUE;
			break;
		}
		if (!str_begins(line, CAPA_PLUGIN_PREFIX CAPA_SETTINGS_PREFIX))
			continue;
		key = line + strlen(CAPA_PLUGIN_PREFIX);
		p = strchr(key, '=');
		if (p == NULL)
			continue;
		value = p_strdup(pool, p + 1);
		key = p_strdup_until(pool, key, p);
		array_push_back(envs_r, &key);
		array_push_back(envs_r, &value);
	}
	if (ret == 0 && !done) {
		*error_r = t_strdup_printf("read(%s) failed: %s", path,
			input->stream_errno != 0 ?
			i_stream_get_error(input) : "EOF before the end");
		ret = -1;
	}
	i_stream_destroy(&input);
	i_close_fd(&fd);
	return ret;
}

static const char *
capa_env(const ARRAY_TYPE(const_string) *envs, const char *key)
{
	const char *const *env;
	unsigned int i, count;

	env = array_get(envs, &count);
	for (i = 0; i + 1 < count; i += 2) {
		if (strcmp(env[i], key) == 0)
			return env[i+1];
	}
	return NULL;
}

static int
capa_class_lookup(const char *name, void *context, const char **policy_r,
		  const char **error_r ATTR_UNUSED)
{
	*policy_r = capa_env(context, t_strconcat("pop3_policy_class_",
						  name, NULL));
	return *policy_r == NULL ? 0 : 1;
}

/* Returns the lines to announce (data stack), NULL for none, or NULL
   with error_r set on failure. */
static const char *capa_lines_from_settings(const char **error_r)
{
	ARRAY_TYPE(const_string) envs, classes;
	struct pop3_policy_capa_bounds bounds;
	const char *const *env, *capa, *error;
	unsigned int i, count;
	pool_t pool = pool_datastack_create();

	p_array_init(&envs, pool, 16);
	if (capa_read_settings(pool, &envs, error_r) < 0)
		return NULL;
	capa = capa_env(&envs, "pop3_policy_capa");
	if (capa == NULL || strcasecmp(capa, "yes") != 0)
		return NULL;

	t_array_init(&classes, 8);
	env = array_get(&envs, &count);
	for (i = 0; i + 1 < count; i += 2) {
		if (str_begins(env[i], "pop3_policy_class_")) {
			const char *name = env[i] + 18;
			array_push_back(&classes, &name);
		}
	}
	array_append_zero(&classes);
	if (pop3_policy_capa_bounds_get(capa_env(&envs, "pop3_policy"),
			array_front(&classes), capa_class_lookup, &envs,
			capa_env(&envs, "pop3_policy_capa_expire_min"),
			capa_env(&envs, "pop3_policy_capa_login_delay_max"),
			&bounds, &error) < 0) {
		*error_r = t_strdup_printf("plugin setting %s", error);
		return NULL;
	}
	return pop3_policy_capa_preauth_lines(&bounds);
}

void pop3_policy_login_plugin_init(struct module *module)
{
	const char *lines, *error = NULL;

	T_BEGIN {
		lines = capa_lines_from_settings(&error);
		if (lines != NULL)
			capa_preauth_lines = i_strdup(lines);
		else if (error != NULL) {
			/* announcing nothing is always true; a login
			   process that cannot start would be worse */
			i_error("pop3-policy: CAPA before login announces "
				"no EXPIRE and LOGIN-DELAY: %s", error);
		}
	} T_END;
	login_client_hooks_add(module, &capa_login_hooks);
}

void pop3_policy_login_plugin_deinit(void)
{
	login_client_hooks_remove(&capa_login_hooks);
	i_free(capa_preauth_lines);
}
