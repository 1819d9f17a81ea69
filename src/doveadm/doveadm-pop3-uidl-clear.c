/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* doveadm pop3-uidl clear -u USER|-A

   Removes the user's UIDL map (the INBOX's map file). UIDLs a session
   already wrote natively (pop3_policy_uidl_persist) stay. The UIDL guard's
   reference is reset, as with import: the change is wanted. */

#include "lib.h"
#include "mail-user.h"
#include "mail-error.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "pop3-policy-uidl-map-file.h"
#include "doveadm-pop3-uidl.h"

static const char *
uidl_clear(const struct pop3_policy_uidl_state_paths *paths,
	   const char **error_r)
{
	int ret;

	ret = pop3_policy_state_file_remove(paths->map_path, error_r);
	/* the administrator changes the UIDLs on purpose: the guard's
	   reference goes, the next session sets a new one */
	if (ret < 0 ||
	    pop3_policy_state_file_remove(paths->guard_path, error_r) < 0)
		return NULL;
	return ret > 0 ? "cleared" : "no map";
}

static struct doveadm_mail_cmd_context *cmd_uidl_clear_alloc(void)
{
	return doveadm_pop3_uidl_alloc_state_change(uidl_clear);
}

struct doveadm_cmd_ver2 doveadm_pop3_uidl_cmd_clear =
	DOVEADM_POP3_UIDL_CMD_NO_ARGS("pop3-uidl clear",
				      cmd_uidl_clear_alloc);
