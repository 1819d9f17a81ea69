#ifndef DOVEADM_POP3_UIDL_H
#define DOVEADM_POP3_UIDL_H

/* Shared by the doveadm pop3-uidl commands (one file per command). */

#include "pop3-policy-uidl-mailbox.h"
#include "pop3-policy-uidl-state.h"

struct mail_user;
struct doveadm_mail_cmd_context;

extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_import;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_export;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_snapshot;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_verify;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_clear;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_accept;

/* Opens and syncs the user's INBOX and finds its UIDL state files.
   Returns 0 (box_r to be freed by the caller), or -1 with error_r (also
   when the storage keeps no local files: there is nowhere to keep a
   map). */
int doveadm_pop3_uidl_inbox_open(struct mail_user *user,
				 struct mailbox **box_r,
				 struct pop3_policy_uidl_state_paths *paths_r,
				 const char **error_r);

/* Opens the INBOX as doveadm_pop3_uidl_inbox_open() does and works out
   every message's UIDL as a POP3 session would serve it, with the map
   from the INBOX's map file (loaded into *map_r; NULL when there is
   none). flags adds key kinds beyond what the map needs. Returns 0
   (box_r to be freed by the caller), or -1 with error_r. */
int doveadm_pop3_uidl_scan(struct mail_user *user,
			   enum pop3_policy_uidl_scan_flags flags, pool_t pool,
			   struct mailbox **box_r,
			   struct pop3_policy_uidl_state_paths *paths_r,
			   struct pop3_policy_uidl_map **map_r,
			   ARRAY_TYPE(pop3_policy_uidl_msg) *msgs_r,
			   const char **error_r);

/* Reads a whole file ("-" is stdin) into pool. Returns 0, or -1 with
   error_r. */
int doveadm_pop3_uidl_read_file(const char *path, pool_t pool,
				const char **data_r, size_t *size_r,
				const char **error_r);

/* The init of a command that takes one file argument ("-" is stdin) and
   one user: a usage error without exactly one argument, a fatal one with
   -A (a what belongs to one user). Reads the file into ctx's pool.
   Returns 0, or -1 with error_r (the file could not be read). */
int doveadm_pop3_uidl_init_file_arg(struct doveadm_mail_cmd_context *ctx,
				    const char *const args[], const char *what,
				    const char **path_r, const char **data_r,
				    size_t *size_r, const char **error_r);

/* Changes the INBOX's UIDL state files (paths). Returns the result to
   print for the user, or NULL with error_r. */
typedef const char *doveadm_pop3_uidl_state_change_t(
	const struct pop3_policy_uidl_state_paths *paths, const char **error_r);

/* Allocates a command that takes no argument and, for each user, opens
   the INBOX, applies change to its state files and prints a "user" and a
   "result" column. */
struct doveadm_mail_cmd_context *
doveadm_pop3_uidl_alloc_state_change(doveadm_pop3_uidl_state_change_t *change);

/* The table of a command whose only argument is a file ("path": doveadm
   reads a parameter named "file" as an input stream). */
#define DOVEADM_POP3_UIDL_CMD_FILE(cmd_name, alloc) { \
	.name = cmd_name, \
	.mail_cmd = alloc, \
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "<file>", \
DOVEADM_CMD_PARAMS_START \
DOVEADM_CMD_MAIL_COMMON \
DOVEADM_CMD_PARAM('\0', "path", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL) \
DOVEADM_CMD_PARAMS_END \
}

/* The table of a command without arguments. */
#define DOVEADM_POP3_UIDL_CMD_NO_ARGS(cmd_name, alloc) { \
	.name = cmd_name, \
	.mail_cmd = alloc, \
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX, \
DOVEADM_CMD_PARAMS_START \
DOVEADM_CMD_MAIL_COMMON \
DOVEADM_CMD_PARAMS_END \
}

/* Logs the error and sets the exit code of a failed command. */
void doveadm_pop3_uidl_failed(struct doveadm_mail_cmd_context *ctx,
			      int mail_error, const char *error);

#endif
