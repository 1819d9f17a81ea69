#ifndef BENCH_MAILDIR_H
#define BENCH_MAILDIR_H

#include <glib.h>
#include <sys/types.h>

/* Creates MAILDIR (and its cur/, new/, tmp/) with COUNT messages written
   straight into cur/, much faster than delivering them: each is named the
   way Dovecot's maildir saving names a file, with the ,S=<size> and
   ,W=<virtual size> fields so that Dovecot never has to open a message to
   learn its sizes, and ":2," (no flags). Message i has about BODY_SIZE bytes
   of body and the same name and content on every call, so two instances get
   identical mailboxes. Files and directories are owned by uid:gid.
   Returns 0, or -1 with error set naming the path that failed. */
int bench_maildir_create(const char *maildir, unsigned int count,
			 unsigned int body_size, uid_t uid, gid_t gid,
			 GError **error);

#endif
