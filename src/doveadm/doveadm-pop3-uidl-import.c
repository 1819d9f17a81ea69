/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-uidl import -u USER FILE

   Replaces the user's UIDL map with the entries of FILE (lines
   "<key> <uidl>", keys guid:, hdr:, msgid:, uid:; "-" reads stdin). The
   whole file is checked first: the first bad line (a UIDL that breaks RFC
   1939, a repeated UIDL or key, an unknown key) is reported with its line
   number and nothing is imported. The UIDL guard's reference is reset:
   the change is wanted, so the next session must not be refused for it. */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "doveadm-pop3-uidl.h"

struct uidl_import_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	const char *path;
	struct pop3_policy_uidl_map *map;
	/* set when FILE was refused: no user gets anything */
	bool refused;
};

static int
cmd_uidl_import_run(struct doveadm_mail_cmd_context *_ctx,
		    struct mail_user *user)
{
	struct uidl_import_cmd_context *ctx =
		container_of(_ctx, struct uidl_import_cmd_context, ctx);
	struct pop3_policy_uidl_state_paths paths;
	struct mailbox *box;
	const char *error;
	int ret;

	if (ctx->refused)
		return -1;
	if (doveadm_pop3_uidl_inbox_open(user, &box, &paths, &error) < 0) {
		doveadm_pop3_uidl_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	ret = pop3_policy_uidl_map_file_write(paths.map_path, &paths.perm,
					      ctx->map, &error);
	/* the administrator changes the UIDLs on purpose: the guard's
	   reference goes, the next session sets a new one */
	if (ret == 0 &&
	    pop3_policy_state_file_remove(paths.guard_path, &error) < 0)
		ret = -1;
	mailbox_free(&box);
	if (ret < 0) {
		doveadm_pop3_uidl_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	doveadm_print(user->username);
	doveadm_print_num(pop3_policy_uidl_map_count(ctx->map));
	return 0;
}

static void cmd_uidl_import_init(struct doveadm_mail_cmd_context *_ctx,
				 const char *const args[])
{
	struct uidl_import_cmd_context *ctx =
		container_of(_ctx, struct uidl_import_cmd_context, ctx);
	const char *data, *error;
	size_t size;

	if (doveadm_pop3_uidl_init_file_arg(_ctx, args, "map", &ctx->path,
					    &data, &size, &error) < 0 ||
	    pop3_policy_uidl_import_parse(data, size, &ctx->map,
					  &error) < 0) {
		doveadm_pop3_uidl_failed(_ctx, MAIL_ERROR_PARAMS,
			t_strdup_printf("pop3-uidl import: %s: %s "
					"(nothing imported)", ctx->path,
					error));
		ctx->refused = TRUE;
	}
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("imported");
}

static void cmd_uidl_import_deinit(struct doveadm_mail_cmd_context *_ctx)
{
	struct uidl_import_cmd_context *ctx =
		container_of(_ctx, struct uidl_import_cmd_context, ctx);

	pop3_policy_uidl_map_free(&ctx->map);
}

static struct doveadm_mail_cmd_context *cmd_uidl_import_alloc(void)
{
	struct uidl_import_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct uidl_import_cmd_context);
	ctx->ctx.v.init = cmd_uidl_import_init;
	ctx->ctx.v.run = cmd_uidl_import_run;
	ctx->ctx.v.deinit = cmd_uidl_import_deinit;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_import =
	DOVEADM_POP3_UIDL_CMD_FILE("pop3-uidl import", cmd_uidl_import_alloc);
