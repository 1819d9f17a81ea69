#ifndef POP3_POLICY_MAILBOX_NAME_H
#define POP3_POLICY_MAILBOX_NAME_H

/* Returns TRUE if name is a valid target mailbox for move:<mailbox>: not
   empty, at most 255 bytes of UTF-8 without control characters or
   wildcards, no absolute, home-relative, empty or dot level, and not
   INBOX; otherwise FALSE with the reason in reason_r. */
bool pop3_policy_mailbox_name_is_valid(const char *name,
				       const char **reason_r);

#endif
