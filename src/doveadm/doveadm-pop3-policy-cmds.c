/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Registration of the doveadm pop3-policy commands. */

#include "lib.h"
#include "doveadm-pop3-policy-plugin.h"

void doveadm_pop3_policy_register_policy_cmds(void)
{
}
