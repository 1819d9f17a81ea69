#ifndef DOVEADM_POP3_POLICY_PLUGIN_H
#define DOVEADM_POP3_POLICY_PLUGIN_H

struct module;

extern const char *doveadm_pop3_policy_plugin_version;

void doveadm_pop3_policy_plugin_init(struct module *module);
void doveadm_pop3_policy_plugin_deinit(void);

/* Each command family registers its commands (one file per command). */
void doveadm_pop3_policy_register_policy_cmds(void);
void doveadm_pop3_policy_register_apop_cmds(void);
void doveadm_pop3_policy_register_uidl_cmds(void);

#endif
