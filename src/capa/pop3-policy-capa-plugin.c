/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* CAPA after login (RFC 2449 5, 6.5, 6.7): the user's exact EXPIRE and
   LOGIN-DELAY, from the effective policy that the mail plugin resolved for
   the session.

   Dovecot 2.3's pop3 has no way to add capabilities: cmd_capa()
   (src/pop3/pop3-commands.c) sends the compile-time POP3_CAPABILITY_REPLY
   with one client_send_line(). So the client's output stream is wrapped,
   as rawlog wraps it, by a filter that recognises exactly that one write
   and inserts the lines before its final ".". The hook runs at the end of
   client_create(), before the commands that pop3-login forwarded are
   replayed (client_add_input() in src/pop3/main.c), so a pipelined CAPA is
   answered with the lines too. A message can never produce the same
   write: RETR and TOP send a body in pieces that break before every line
   starting with "." (fetch_callback()), and the reply ends with such a
   line. The filter also leaves alone every write made while a command
   continues in the background (client->cmd set: a long RETR or TOP). */

#include "lib.h"
#include "ostream-private.h"
#include "mail-user.h"
#include "pop3-common.h"
#include "pop3-capability.h"
#include "pop3-policy-capa.h"
#include "pop3-policy-plugin.h"

#define CAPA_REPLY "+OK\r\n" POP3_CAPABILITY_REPLY ".\r\n"
#define CAPA_REPLY_BODY_LEN (sizeof(CAPA_REPLY) - 1 - 3)

struct capa_ostream {
	struct ostream_private ostream;
	struct client *client;
	char *lines;
};

extern const char *pop3_policy_capa_plugin_version;
extern const char *pop3_policy_capa_plugin_dependencies[];
extern const char pop3_policy_capa_plugin_binary_dependency[];
void pop3_policy_capa_plugin_init(struct module *module);
void pop3_policy_capa_plugin_deinit(void);

const char *pop3_policy_capa_plugin_version = DOVECOT_ABI_VERSION;
const char *pop3_policy_capa_plugin_dependencies[] = { "pop3_policy", NULL };
const char pop3_policy_capa_plugin_binary_dependency[] = "pop3";

static pop3_client_created_func_t *next_hook_client_created;

static void capa_ostream_destroy(struct iostream_private *stream)
{
	struct capa_ostream *cstream =
		container_of(stream, struct capa_ostream, ostream.iostream);

	i_free(cstream->lines);
	o_stream_unref(&cstream->ostream.parent);
}

static bool capa_is_reply(const struct const_iovec *iov,
			  unsigned int iov_count)
{
	return iov_count == 1 && iov[0].iov_len == sizeof(CAPA_REPLY) - 1 &&
		memcmp(iov[0].iov_base, CAPA_REPLY, iov[0].iov_len) == 0;
}

static ssize_t
capa_ostream_sendv(struct ostream_private *stream,
		   const struct const_iovec *iov, unsigned int iov_count)
{
	struct capa_ostream *cstream =
		container_of(stream, struct capa_ostream, ostream);
	struct const_iovec new_iov[3];
	size_t total;
	ssize_t ret;

	if (cstream->client->cmd != NULL || !capa_is_reply(iov, iov_count)) {
		ret = o_stream_sendv(stream->parent, iov, iov_count);
		if (ret < 0)
			o_stream_copy_error_from_parent(stream);
		else
			stream->ostream.offset += ret;
		return ret;
	}

	new_iov[0].iov_base = iov[0].iov_base;
	new_iov[0].iov_len = CAPA_REPLY_BODY_LEN;
	new_iov[1].iov_base = cstream->lines;
	new_iov[1].iov_len = strlen(cstream->lines);
	new_iov[2].iov_base = CONST_PTR_OFFSET(iov[0].iov_base,
					       CAPA_REPLY_BODY_LEN);
	new_iov[2].iov_len = 3;
	total = new_iov[0].iov_len + new_iov[1].iov_len + new_iov[2].iov_len;
	ret = o_stream_sendv(stream->parent, new_iov, N_ELEMENTS(new_iov));
	if (ret < 0) {
		o_stream_copy_error_from_parent(stream);
		return -1;
	}
	/* the client's stream buffers without a limit, so the whole reply
	   is taken; the caller must be told its own length */
	stream->ostream.offset += ret;
	if ((size_t)ret != total) {
		i_error("pop3-policy: CAPA reply only partly buffered "
			"(%zd of %zu bytes)", ret, total);
		stream->ostream.stream_errno = ENOBUFS;
		return -1;
	}
	return iov[0].iov_len;
}

static struct ostream *
capa_ostream_create(struct ostream *output, struct client *client,
		    const char *lines)
{
	struct capa_ostream *cstream;

	cstream = i_new(struct capa_ostream, 1);
	cstream->client = client;
	cstream->lines = i_strdup(lines);
	cstream->ostream.sendv = capa_ostream_sendv;
	cstream->ostream.iostream.destroy = capa_ostream_destroy;
	return o_stream_create(&cstream->ostream, output,
			       o_stream_get_fd(output));
}

static void capa_client_created(struct client **clientp)
{
	struct client *client = *clientp;
	const struct pop3_policy *policy;
	struct ostream *output;

	policy = pop3_policy_plugin_capa_policy(client->user);
	if (policy != NULL) {
		output = capa_ostream_create(client->output, client,
			pop3_policy_capa_user_lines(policy));
		o_stream_set_name(output, o_stream_get_name(client->output));
		o_stream_unref(&client->output);
		client->output = output;
	}
	if (next_hook_client_created != NULL)
		next_hook_client_created(clientp);
}

void pop3_policy_capa_plugin_init(struct module *module ATTR_UNUSED)
{
	next_hook_client_created =
		pop3_client_created_hook_set(capa_client_created);
}

void pop3_policy_capa_plugin_deinit(void)
{
	pop3_client_created_hook_set(next_hook_client_created);
}
