#ifndef DOVEADM_POP3_APOP_H
#define DOVEADM_POP3_APOP_H

/* Shared by the doveadm pop3-apop commands (one file per command). */

struct mail_user;
struct doveadm_mail_cmd_context;
struct pop3_policy_store;
struct pop3_policy_apop_keyring;

extern struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_set;
extern struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_generate;
extern struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_delete;
extern struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_status;
extern struct doveadm_cmd_ver2 doveadm_pop3_apop_cmd_rotate_key;

/* Every pop3-apop command runs as the invoking user (root), not as the
   mail user: it reads the key file, which only root may read (as the
   auth-worker does), and it touches no mail, so no namespaces are set up. */
void doveadm_pop3_apop_cmd_setup(struct doveadm_mail_cmd_context *ctx);

/* Opens the store named by the plugin setting pop3_policy_dict and
   returns the key file path of pop3_policy_apop_key_file (NULL if unset),
   both from doveadm's global configuration (never from the userdb).
   Returns 0, or -1 with error_r (also when the user's userdb fields set
   either). */
int doveadm_pop3_apop_open(struct mail_user *user,
			   struct pop3_policy_store **store_r,
			   const char **key_file_r, const char **error_r);
/* Reads the key file; -1 with error_r if it is unset or bad. */
int doveadm_pop3_apop_keyring(const char *key_file,
			      struct pop3_policy_apop_keyring **ring_r,
			      const char **error_r);
/* Logs the error and sets the exit code of a failed command. */
void doveadm_pop3_apop_failed(struct doveadm_mail_cmd_context *ctx,
			      int mail_error, const char *error);

#endif
