/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-uidl accept -u USER|-A

   Accepts the UIDLs the guard refused: the INBOX's guard file (the sketch
   of the last session) is removed, so the next session is let through and its UIDLs
   become the new reference. */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "pop3-policy-uidl-guard-file.h"
#include "doveadm-pop3-uidl.h"

static const char *
uidl_accept(const struct pop3_policy_uidl_state_paths *paths,
	    const char **error_r)
{
	if (pop3_policy_state_file_remove(paths->guard_path, error_r) < 0)
		return NULL;
	return "accepted";
}

static struct doveadm_mail_cmd_context *cmd_uidl_accept_alloc(void)
{
	return doveadm_pop3_uidl_alloc_state_change(uidl_accept);
}

struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_accept =
	DOVEADM_POP3_UIDL_CMD_NO_ARGS("pop3-uidl accept",
				      cmd_uidl_accept_alloc);
