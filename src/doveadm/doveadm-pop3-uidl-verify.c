/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-uidl verify -u USER FILE

   Compares the UIDLs a POP3 session of the user is served now with FILE, a
   "UIDL" listing captured from the old server ("<msn> <uidl>" lines, the
   "+OK" line and the final "." may be kept; "-" reads stdin). The
   comparison is by UIDL, not by message number: a client keys on UIDLs
   only. Prints one row per difference: "missing" (in FILE, not served: a
   client would lose track of it) or "extra" (served, not in FILE: a client
   would download it). Exit code 1 if there is any difference, 0 if none. */

#include "lib.h"
#include "hash.h"
#include "mail-user.h"
#include "mail-error.h"
#include "mail-storage.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "doveadm-pop3-uidl.h"

struct uidl_verify_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	const char *path;
	ARRAY_TYPE(pop3_policy_uidl_listing_line) lines;
	bool refused;
};

static void
verify_row(const char *user, const char *what, unsigned int msn,
	   const char *uidl)
{
	doveadm_print(user);
	doveadm_print(what);
	doveadm_print_num(msn);
	doveadm_print(uidl);
}

static int
cmd_uidl_verify_run(struct doveadm_mail_cmd_context *_ctx,
		    struct mail_user *user)
{
	struct uidl_verify_cmd_context *ctx =
		container_of(_ctx, struct uidl_verify_cmd_context, ctx);
	struct pop3_policy_uidl_state_paths paths;
	struct pop3_policy_uidl_map *map;
	ARRAY_TYPE(pop3_policy_uidl_msg) msgs;
	const struct pop3_policy_uidl_msg *msg;
	const struct pop3_policy_uidl_listing_line *line;
	HASH_TABLE(const char *, void *) served, expected;
	struct mailbox *box;
	const char *error;
	unsigned int msn = 0, differences = 0;
	pool_t pool;

	if (ctx->refused)
		return -1;
	pool = pool_alloconly_create("pop3-uidl verify", 4096);
	if (doveadm_pop3_uidl_scan(user, 0, pool, &box, &paths, &map, &msgs,
				   &error) < 0) {
		pool_unref(&pool);
		doveadm_pop3_uidl_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	hash_table_create(&served, pool, 0, str_hash, strcmp);
	hash_table_create(&expected, pool, 0, str_hash, strcmp);
	array_foreach(&msgs, msg) {
		hash_table_update(served, msg->assign.served,
				  POINTER_CAST(++msn));
	}
	array_foreach(&ctx->lines, line) {
		hash_table_insert(expected, line->uidl, POINTER_CAST(1));
		if (hash_table_lookup(served, line->uidl) == NULL) {
			verify_row(user->username, "missing", line->msn,
				   line->uidl);
			differences++;
		}
	}
	msn = 0;
	array_foreach(&msgs, msg) {
		msn++;
		if (hash_table_lookup(expected, msg->assign.served) == NULL) {
			verify_row(user->username, "extra", msn,
				   msg->assign.served);
			differences++;
		}
	}
	hash_table_destroy(&served);
	hash_table_destroy(&expected);
	mailbox_free(&box);
	pop3_policy_uidl_map_free(&map);
	pool_unref(&pool);
	if (differences > 0) {
		i_error("pop3-uidl verify: user %s: %u UIDLs differ from %s",
			user->username, differences, ctx->path);
		_ctx->exit_code = 1;
	}
	return 0;
}

static void cmd_uidl_verify_init(struct doveadm_mail_cmd_context *_ctx,
				 const char *const args[])
{
	struct uidl_verify_cmd_context *ctx =
		container_of(_ctx, struct uidl_verify_cmd_context, ctx);
	const char *data, *error;
	size_t size;

	if (doveadm_pop3_uidl_init_file_arg(_ctx, args, "listing", &ctx->path,
					    &data, &size, &error) < 0 ||
	    pop3_policy_uidl_listing_parse(data, size, _ctx->pool,
					   &ctx->lines, &error) < 0) {
		doveadm_pop3_uidl_failed(_ctx, MAIL_ERROR_PARAMS,
			t_strdup_printf("pop3-uidl verify: %s: %s",
					ctx->path, error));
		ctx->refused = TRUE;
	}
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("difference");
	doveadm_print_header_simple("msn");
	doveadm_print_header_simple("uidl");
}

static struct doveadm_mail_cmd_context *cmd_uidl_verify_alloc(void)
{
	struct uidl_verify_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct uidl_verify_cmd_context);
	ctx->ctx.v.init = cmd_uidl_verify_init;
	ctx->ctx.v.run = cmd_uidl_verify_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_verify =
	DOVEADM_POP3_UIDL_CMD_FILE("pop3-uidl verify", cmd_uidl_verify_alloc);
