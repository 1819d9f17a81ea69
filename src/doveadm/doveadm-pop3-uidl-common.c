/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* What the pop3-uidl commands share: the user's INBOX with its UIDL state
   files, the INBOX scan and reading an input file. */

#include "lib.h"
#include "buffer.h"
#include "istream.h"
#include "mail-user.h"
#include "mail-error.h"
#include "mail-storage.h"
#include "mail-namespace.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "doveadm-pop3-uidl.h"

#include <unistd.h>
#include <fcntl.h>

int doveadm_pop3_uidl_inbox_open(struct mail_user *user,
				 struct mailbox **box_r,
				 struct pop3_policy_uidl_state_paths *paths_r,
				 const char **error_r)
{
	struct mail_namespace *ns;
	struct mailbox *box;
	const char *error;
	int ret;

	ns = mail_namespace_find_inbox(user->namespaces);
	box = mailbox_alloc(ns->list, "INBOX", 0);
	if (mailbox_sync(box, 0) < 0) {
		error = mailbox_get_last_internal_error(box, NULL);
		*error_r = t_strdup_printf("user %s: INBOX: %s",
					   user->username, error);
		mailbox_free(&box);
		return -1;
	}
	ret = pop3_policy_uidl_state_paths(box, paths_r, &error);
	if (ret <= 0) {
		*error_r = t_strdup_printf("user %s: %s", user->username,
			ret < 0 ? error : "INBOX: its storage keeps no local "
			"files, so it has no UIDL map or guard");
		mailbox_free(&box);
		return -1;
	}
	*box_r = box;
	return 0;
}

int doveadm_pop3_uidl_scan(struct mail_user *user,
			   enum pop3_policy_uidl_scan_flags flags, pool_t pool,
			   struct mailbox **box_r,
			   struct pop3_policy_uidl_state_paths *paths_r,
			   struct pop3_policy_uidl_map **map_r,
			   ARRAY_TYPE(pop3_policy_uidl_msg) *msgs_r,
			   const char **error_r)
{
	struct mailbox *box;
	const char *error;

	*map_r = NULL;
	if (doveadm_pop3_uidl_inbox_open(user, &box, paths_r, error_r) < 0)
		return -1;
	if (pop3_policy_uidl_map_file_read(paths_r->map_path, 0, map_r,
					   &error) < 0) {
		*error_r = t_strdup_printf("user %s: UIDL map: %s",
					   user->username, error);
		mailbox_free(&box);
		return -1;
	}
	/* doveadm shows every key: GUIDs always, msgid:/hdr: when asked
	   for or when the map has them */
	flags |= pop3_policy_uidl_mailbox_scan_flags(*map_r) |
		POP3_POLICY_UIDL_SCAN_GUID | POP3_POLICY_UIDL_SCAN_ALL_KEYS;
	if (pop3_policy_uidl_mailbox_scan(box, *map_r, flags, pool, msgs_r,
					  &error) < 0) {
		*error_r = t_strdup_printf("user %s: INBOX: %s",
					   user->username, error);
		mailbox_free(&box);
		pop3_policy_uidl_map_free(map_r);
		return -1;
	}
	*box_r = box;
	return 0;
}

int doveadm_pop3_uidl_read_file(const char *path, pool_t pool,
				const char **data_r, size_t *size_r,
				const char **error_r)
{
	buffer_t *buf = buffer_create_dynamic(pool, 4096);
	unsigned char tmp[8192];
	ssize_t n;
	int fd;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
	if (fd < 0) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buffer_append(buf, tmp, n);
	if (n < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		if (fd != STDIN_FILENO)
			i_close_fd(&fd);
		return -1;
	}
	if (fd != STDIN_FILENO)
		i_close_fd(&fd);
	*size_r = buf->used;
	buffer_append_c(buf, '\0');
	*data_r = buf->data;
	return 0;
}

void doveadm_pop3_uidl_failed(struct doveadm_mail_cmd_context *ctx,
			      int mail_error, const char *error)
{
	i_error("%s", error);
	doveadm_mail_failed_error(ctx, (enum mail_error)mail_error);
}

int doveadm_pop3_uidl_init_file_arg(struct doveadm_mail_cmd_context *ctx,
				    const char *const args[], const char *what,
				    const char **path_r, const char **data_r,
				    size_t *size_r, const char **error_r)
{
	const char *name = ctx->cmd->name;

	if (args[0] == NULL || args[1] != NULL)
		doveadm_mail_help_name(name);
	if (ctx->iterate_all_users) {
		i_fatal_status(EX_USAGE, "%s: a %s belongs to one user: "
			       "use -u, not -A", name, what);
	}
	*path_r = p_strdup(ctx->pool, args[0]);
	return doveadm_pop3_uidl_read_file(*path_r, ctx->pool, data_r, size_r,
					   error_r);
}

struct uidl_state_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	doveadm_pop3_uidl_state_change_t *change;
};

static void
cmd_uidl_state_init(struct doveadm_mail_cmd_context *ctx,
		    const char *const args[])
{
	if (args[0] != NULL)
		doveadm_mail_help_name(ctx->cmd->name);
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("result");
}

static int
cmd_uidl_state_run(struct doveadm_mail_cmd_context *_ctx,
		   struct mail_user *user)
{
	struct uidl_state_cmd_context *ctx =
		container_of(_ctx, struct uidl_state_cmd_context, ctx);
	struct pop3_policy_uidl_state_paths paths;
	struct mailbox *box;
	const char *result, *error;

	if (doveadm_pop3_uidl_inbox_open(user, &box, &paths, &error) < 0) {
		doveadm_pop3_uidl_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	result = ctx->change(&paths, &error);
	mailbox_free(&box);
	if (result == NULL) {
		doveadm_pop3_uidl_failed(_ctx, MAIL_ERROR_TEMP, error);
		return -1;
	}
	doveadm_print(user->username);
	doveadm_print(result);
	return 0;
}

struct doveadm_mail_cmd_context *
doveadm_pop3_uidl_alloc_state_change(doveadm_pop3_uidl_state_change_t *change)
{
	struct uidl_state_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct uidl_state_cmd_context);
	ctx->change = change;
	ctx->ctx.v.init = cmd_uidl_state_init;
	ctx->ctx.v.run = cmd_uidl_state_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}
