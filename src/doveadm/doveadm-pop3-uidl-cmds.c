/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Registration of the doveadm pop3-uidl commands. */

#include "lib.h"
#include "doveadm-mail.h"
#include "doveadm-pop3-policy-plugin.h"
#include "doveadm-pop3-uidl.h"

void doveadm_pop3_policy_register_uidl_cmds(void)
{
	doveadm_cmd_register_ver2(&doveadm_pop3_uidl_cmd_import);
	doveadm_cmd_register_ver2(&doveadm_pop3_uidl_cmd_export);
	doveadm_cmd_register_ver2(&doveadm_pop3_uidl_cmd_snapshot);
	doveadm_cmd_register_ver2(&doveadm_pop3_uidl_cmd_verify);
	doveadm_cmd_register_ver2(&doveadm_pop3_uidl_cmd_clear);
	doveadm_cmd_register_ver2(&doveadm_pop3_uidl_cmd_accept);
}
