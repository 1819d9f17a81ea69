/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-uidl snapshot -u USER|-A

   Stores the UIDLs served today as the user's map, each message under its
   uid: key (in POP3 order, so that the order survives) and its guid: key
   (which survives a new UIDVALIDITY, e.g. a lost dovecot-uidlist). The
   previous map is replaced. */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "mail-storage.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "doveadm-pop3-uidl.h"

static int
cmd_uidl_snapshot_run(struct doveadm_mail_cmd_context *ctx,
		      struct mail_user *user)
{
	struct pop3_policy_uidl_state_paths paths;
	struct pop3_policy_uidl_map *map, *snapshot;
	ARRAY_TYPE(pop3_policy_uidl_msg) msgs;
	const struct pop3_policy_uidl_msg *msg;
	struct mailbox *box;
	const char *error;
	pool_t pool;
	int ret;

	pool = pool_alloconly_create("pop3-uidl snapshot", 4096);
	if (doveadm_pop3_uidl_scan(user, 0, pool, &box, &paths, &map, &msgs,
				   &error) < 0) {
		pool_unref(&pool);
		doveadm_pop3_uidl_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	snapshot = pop3_policy_uidl_map_create();
	array_foreach(&msgs, msg) {
		(void)pop3_policy_uidl_map_add(snapshot, msg->keys.uid_key,
					       msg->assign.served);
	}
	array_foreach(&msgs, msg) {
		/* a copy with the same GUID keeps only its uid: key */
		if (msg->keys.guid_key != NULL) {
			(void)pop3_policy_uidl_map_add(snapshot,
				msg->keys.guid_key, msg->assign.served);
		}
	}
	ret = pop3_policy_uidl_map_file_write(paths.map_path, &paths.perm,
					      snapshot, &error);
	if (ret == 0) {
		doveadm_print(user->username);
		doveadm_print_num(array_count(&msgs));
		doveadm_print_num(pop3_policy_uidl_map_count(snapshot));
	}
	mailbox_free(&box);
	pop3_policy_uidl_map_free(&snapshot);
	pop3_policy_uidl_map_free(&map);
	pool_unref(&pool);
	if (ret < 0) {
		doveadm_pop3_uidl_failed(ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	return 0;
}

static void cmd_uidl_snapshot_init(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
				   const char *const args[])
{
	if (args[0] != NULL)
		doveadm_mail_help_name("pop3-uidl snapshot");
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("messages");
	doveadm_print_header_simple("entries");
}

static struct doveadm_mail_cmd_context *cmd_uidl_snapshot_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	ctx->v.init = cmd_uidl_snapshot_init;
	ctx->v.run = cmd_uidl_snapshot_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_snapshot = {
	.name = "pop3-uidl snapshot",
	.mail_cmd = cmd_uidl_snapshot_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
