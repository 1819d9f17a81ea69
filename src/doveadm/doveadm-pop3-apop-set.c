/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-apop set [-p|--plaintext] -u USER [SECRET]

   Stores the user's APOP secret, encrypted under the newest key of the key
   file, or as a PLAIN record with --plaintext. Without SECRET it is read
   from stdin (one line; a trailing CR/LF is dropped), which keeps it out of
   the process list and shell history. Prints nothing. */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "ioloop.h"
#include "safe-memset.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include <sysexits.h>
#include "pop3-policy-store.h"
#include "pop3-policy-apop.h"
#include "doveadm-pop3-apop.h"

struct apop_set_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	const char *secret;
	bool plaintext;
};

static int
apop_set_read_stdin(struct apop_set_cmd_context *ctx, const char **error_r)
{
	struct istream *input = ctx->ctx.cmd_input;
	const unsigned char *data;
	size_t size;
	string_t *str = str_new(ctx->ctx.pool, 128);
	char *p;

	i_stream_seek(input, 0);
	while (i_stream_read_more(input, &data, &size) > 0) {
		if (str_len(str) + size > POP3_POLICY_APOP_SECRET_MAX_LEN + 2) {
			*error_r = "APOP secret on stdin is too long";
			return -1;
		}
		str_append_data(str, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(stdin) failed: %s",
					   i_stream_get_error(input));
		return -1;
	}
	p = str_c_modifiable(str);
	if (str_len(str) > 0 && p[str_len(str)-1] == '\n')
		str_truncate(str, str_len(str) - 1);
	if (str_len(str) > 0 && p[str_len(str)-1] == '\r')
		str_truncate(str, str_len(str) - 1);
	ctx->secret = str_c(str);
	return 0;
}

static int
cmd_apop_set_run(struct doveadm_mail_cmd_context *_ctx,
		 struct mail_user *user)
{
	struct apop_set_cmd_context *ctx =
		(struct apop_set_cmd_context *)_ctx;
	struct pop3_policy_store *store;
	struct pop3_policy_apop_keyring *ring;
	const char *const *fields, *key_file, *error;
	int ret;

	if (ctx->secret == NULL &&
	    apop_set_read_stdin(ctx, &error) < 0) {
		doveadm_pop3_apop_failed(_ctx, MAIL_ERROR_PARAMS, error);
		return -1;
	}
	if (pop3_policy_apop_secret_validate(ctx->secret, &error) < 0) {
		doveadm_pop3_apop_failed(_ctx, MAIL_ERROR_PARAMS, error);
		return -1;
	}
	if (doveadm_pop3_apop_open(user, &store, &key_file, &error) < 0) {
		doveadm_pop3_apop_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	if (ctx->plaintext) {
		fields = pop3_policy_apop_plain_fields(ioloop_time, ctx->secret);
	} else if (doveadm_pop3_apop_keyring(key_file, &ring, &error) < 0) {
		pop3_policy_store_deinit(&store);
		doveadm_pop3_apop_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	} else {
		fields = pop3_policy_apop_encrypt(
			pop3_policy_apop_keyring_newest(ring),
			user->username, ioloop_time, ctx->secret);
		pop3_policy_apop_keyring_free(&ring);
	}
	ret = pop3_policy_store_set(store, POP3_POLICY_RECORD_APOP,
				    user->username, fields, &error);
	pop3_policy_store_deinit(&store);
	if (ret < 0) {
		doveadm_pop3_apop_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	if (ctx->plaintext) {
		/* the passdb refuses such a record unless told otherwise:
		   say so now rather than at the user's next login */
		i_warning("user %s: stored an unencrypted (PLAIN) APOP "
			  "secret: the pop3_policy passdb accepts it only "
			  "with allow_plaintext=yes in its args",
			  user->username);
	}
	return 0;
}

static void cmd_apop_set_init(struct doveadm_mail_cmd_context *_ctx,
			      const char *const args[])
{
	struct apop_set_cmd_context *ctx =
		(struct apop_set_cmd_context *)_ctx;

	if (args[0] != NULL && args[1] != NULL)
		doveadm_mail_help_name("pop3-apop set");
	if (_ctx->iterate_all_users) {
		/* one shared secret for every user defeats APOP */
		i_fatal_status(EX_USAGE, "pop3-apop set: -A would give every "
			       "user the same secret; use -u, or generate -A");
	}
	if (args[0] != NULL)
		ctx->secret = p_strdup(_ctx->pool, args[0]);
	else
		doveadm_mail_get_input(_ctx);
}

static void cmd_apop_set_deinit(struct doveadm_mail_cmd_context *_ctx)
{
	struct apop_set_cmd_context *ctx =
		(struct apop_set_cmd_context *)_ctx;

	if (ctx->secret != NULL)
		safe_memset((char *)ctx->secret, 0, strlen(ctx->secret));
}

static bool
cmd_apop_set_parse_arg(struct doveadm_mail_cmd_context *_ctx, int c)
{
	struct apop_set_cmd_context *ctx =
		(struct apop_set_cmd_context *)_ctx;

	if (c != 'p')
		return FALSE;
	ctx->plaintext = TRUE;
	return TRUE;
}

static struct doveadm_mail_cmd_context *cmd_apop_set_alloc(void)
{
	struct apop_set_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct apop_set_cmd_context);
	doveadm_pop3_apop_cmd_setup(&ctx->ctx);
	ctx->ctx.getopt_args = "p";
	ctx->ctx.v.parse_arg = cmd_apop_set_parse_arg;
	ctx->ctx.v.init = cmd_apop_set_init;
	ctx->ctx.v.run = cmd_apop_set_run;
	ctx->ctx.v.deinit = cmd_apop_set_deinit;
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_set = {
	.name = "pop3-apop set",
	.mail_cmd = cmd_apop_set_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[-p|--plaintext] [<secret>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('p', "plaintext", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "secret", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};
