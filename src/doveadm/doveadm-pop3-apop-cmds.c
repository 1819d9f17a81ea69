/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Registration of the doveadm pop3-apop commands. */

#include "lib.h"
#include "doveadm-mail.h"
#include "doveadm-pop3-policy-plugin.h"
#include "doveadm-pop3-apop.h"

void doveadm_pop3_policy_register_apop_cmds(void)
{
	doveadm_cmd_register_ver2(&doveadm_pop3_apop_cmd_set);
	doveadm_cmd_register_ver2(&doveadm_pop3_apop_cmd_generate);
	doveadm_cmd_register_ver2(&doveadm_pop3_apop_cmd_delete);
	doveadm_cmd_register_ver2(&doveadm_pop3_apop_cmd_status);
	doveadm_cmd_register_ver2(&doveadm_pop3_apop_cmd_rotate_key);
}
