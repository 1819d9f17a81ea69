/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The paths of a mailbox's UIDL state files.

   They go into the mailbox's control directory
   (MAILBOX_LIST_PATH_TYPE_CONTROL): the place Dovecot gives the state of
   a mailbox that must survive the loss of its indexes (maildir keeps
   dovecot-uidlist there; it is the mail directory unless CONTROL= is
   set). Never the index directory: indexes are a cache that an
   administrator may delete and Dovecot rebuilds, and the guard must
   outlive exactly that. */

#include "lib.h"
#include "mail-storage-private.h"
#include "pop3-policy-uidl-map-file.h"
#include "pop3-policy-uidl-guard-file.h"
#include "pop3-policy-uidl-state.h"

int pop3_policy_uidl_state_paths(struct mailbox *box,
				 struct pop3_policy_uidl_state_paths *paths_r,
				 const char **error_r)
{
	const struct mailbox_permissions *perm;
	const char *dir;
	int ret;

	i_zero(paths_r);
	ret = mailbox_get_path_to(box, MAILBOX_LIST_PATH_TYPE_CONTROL, &dir);
	if (ret < 0) {
		*error_r = t_strdup_printf("%s: no control directory: %s",
			mailbox_get_vname(box),
			mailbox_get_last_internal_error(box, NULL));
		return -1;
	}
	if (ret == 0)
		return 0;
	perm = mailbox_get_permissions(box);
	paths_r->map_path = t_strconcat(dir, "/",
					POP3_POLICY_UIDL_MAP_FILE_NAME, NULL);
	paths_r->guard_path = t_strconcat(dir, "/",
					  POP3_POLICY_UIDL_GUARD_FILE_NAME,
					  NULL);
	paths_r->perm.mode = perm->file_create_mode;
	paths_r->perm.gid = perm->file_create_gid;
	paths_r->perm.no_fsync =
		box->storage->set->parsed_fsync_mode == FSYNC_MODE_NEVER;
	return 1;
}
