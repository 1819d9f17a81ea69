#ifndef POP3_POLICY_UIDL_NATIVE_H
#define POP3_POLICY_UIDL_NATIVE_H

struct mail;

/* Returns in uidl_r (data stack or the mail's pool) the UIDL Dovecot's pop3
   process serves the message with, worked out as pop3_get_uid() in
   src/pop3/pop3-commands.c does: the UIDL the storage keeps
   (MAIL_FETCH_UIDL_BACKEND, a mail_update_pop3_uidl() value; *stored_r is
   then TRUE), else format (the mailbox's pop3_uidl_format) expanded with
   %v (uidvalidity: the mailbox's, as the session saw it when it opened
   the mailbox), %u (UID), %m (header MD5), %f (the storage's file name)
   and %g (GUID). pop3_reuse_xuidl is not followed: a site that serves
   X-UIDL headers imports them as a map instead.

   Returns 0, or -1 with error_r wherever the pop3 process fails its UIDL
   command (a %m, %f or %g value that cannot be looked up or that the
   storage does not have, a format that does not expand), and also where
   the stored UIDL cannot be looked up: the pop3 process then goes on with
   the format and may serve another UIDL than the one kept, so no answer
   is safer than a guess (a copy made with a wrong UIDL is downloaded
   again by every client). */
int pop3_policy_uidl_native(struct mail *mail, uint32_t uidvalidity,
			    const char *format, const char **uidl_r,
			    bool *stored_r, const char **error_r);

#endif
