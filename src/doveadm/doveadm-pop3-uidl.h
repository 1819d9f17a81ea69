#ifndef DOVEADM_POP3_UIDL_H
#define DOVEADM_POP3_UIDL_H

/* Shared by the doveadm pop3-uidl commands (one file per command). */

#include "pop3-policy-uidl-mailbox.h"

struct mail_user;
struct doveadm_mail_cmd_context;
struct pop3_policy_store;

extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_import;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_export;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_snapshot;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_verify;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_clear;
extern struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_accept;

/* Opens the store named by the user's pop3_policy_dict. Returns 0, or -1
   with error_r (also when it is not set). */
int doveadm_pop3_uidl_store_open(struct mail_user *user,
				 struct pop3_policy_store **store_r,
				 const char **error_r);

/* Opens and syncs the user's INBOX and works out every message's UIDL as a
   POP3 session would serve it, with the user's map from the store (loaded
   into *map_r; may be NULL when the user has none). flags adds key kinds
   beyond what the map needs. Returns 0 (box_r to be freed by the caller),
   or -1 with error_r. */
int doveadm_pop3_uidl_scan(struct mail_user *user,
			   struct pop3_policy_store *store,
			   enum pop3_policy_uidl_scan_flags flags, pool_t pool,
			   struct mailbox **box_r,
			   struct pop3_policy_uidl_map **map_r,
			   ARRAY_TYPE(pop3_policy_uidl_msg) *msgs_r,
			   const char **error_r);

/* Reads a whole file ("-" is stdin) into pool. Returns 0, or -1 with
   error_r. */
int doveadm_pop3_uidl_read_file(const char *path, pool_t pool,
				const char **data_r, size_t *size_r,
				const char **error_r);

/* Logs the error and sets the exit code of a failed command. */
void doveadm_pop3_uidl_failed(struct doveadm_mail_cmd_context *ctx,
			      int mail_error, const char *error);

#endif
