/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-uidl export -u USER|-A

   One row per INBOX message in POP3 order: msn, uid, guid, hdr key, the
   UIDL a POP3 session serves and its source (map, native, or collision: a
   map entry matched but its UIDL was not unique). The hdr column can be
   turned into an import file for another server:
   doveadm -f tab pop3-uidl export -u U | awk 'NR>1 {print $4, $5}'. */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "mail-storage.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "doveadm-pop3-uidl.h"

static int
cmd_uidl_export_run(struct doveadm_mail_cmd_context *ctx,
		    struct mail_user *user)
{
	struct pop3_policy_uidl_state_paths paths;
	struct pop3_policy_uidl_map *map;
	ARRAY_TYPE(pop3_policy_uidl_msg) msgs;
	const struct pop3_policy_uidl_msg *msg;
	struct mailbox *box;
	const char *error;
	unsigned int msn = 0;
	pool_t pool;

	pool = pool_alloconly_create("pop3-uidl export", 4096);
	if (doveadm_pop3_uidl_scan(user, POP3_POLICY_UIDL_SCAN_HDR,
				   pool, &box, &paths, &map, &msgs, &error) < 0) {
		pool_unref(&pool);
		doveadm_pop3_uidl_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	array_foreach(&msgs, msg) {
		doveadm_print_num(++msn);
		doveadm_print_num(msg->uid);
		doveadm_print(msg->guid);
		doveadm_print(msg->keys.hdr_key);
		doveadm_print(msg->assign.served);
		doveadm_print(pop3_policy_uidl_source_name(msg->assign.source));
	}
	mailbox_free(&box);
	pop3_policy_uidl_map_free(&map);
	pool_unref(&pool);
	return 0;
}

static void cmd_uidl_export_init(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
				 const char *const args[])
{
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-uidl export");
	doveadm_print_header_simple("msn");
	doveadm_print_header_simple("uid");
	doveadm_print_header_simple("guid");
	doveadm_print_header_simple("hdr");
	doveadm_print_header_simple("uidl");
	doveadm_print_header_simple("source");
}

static struct doveadm_mail_cmd_context *cmd_uidl_export_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	ctx->v.init = cmd_uidl_export_init;
	ctx->v.run = cmd_uidl_export_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_export = {
	.name = "pop3-uidl export",
	.mail_cmd = cmd_uidl_export_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
