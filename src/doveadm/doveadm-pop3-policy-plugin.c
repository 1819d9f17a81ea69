/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Wiring of the doveadm plugin: registers the pop3-policy, pop3-apop and
   pop3-uidl command families. */

#include "lib.h"
#include "module-dir.h"
#include "doveadm-pop3-policy-plugin.h"

const char *doveadm_pop3_policy_plugin_version = DOVECOT_ABI_VERSION;

void doveadm_pop3_policy_plugin_init(struct module *module ATTR_UNUSED)
{
	doveadm_pop3_policy_register_policy_cmds();
	doveadm_pop3_policy_register_apop_cmds();
	doveadm_pop3_policy_register_uidl_cmds();
}

void doveadm_pop3_policy_plugin_deinit(void)
{
}
