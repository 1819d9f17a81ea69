#ifndef POP3_POLICY_MAILBOX_H
#define POP3_POLICY_MAILBOX_H

/* Small lib-storage helpers shared by the retention executor and the
   moves it makes. */

struct mail;
struct mail_user;
struct mailbox;

/* Returns "mailbox <name>: <last internal error>". */
const char *pop3_policy_mailbox_error(struct mailbox *box);

/* Opens and syncs the user's mailbox vname, creating it if create is
   TRUE. Returns 1 and the mailbox, 0 if it does not exist (create FALSE),
   -1 on error. */
int pop3_policy_mailbox_open(struct mail_user *user, const char *vname,
			     bool create, struct mailbox **box_r,
			     const char **error_r);

/* Gets the message's GUID ("" if the storage has none) into guid_r.
   Returns 1, 0 if the message was expunged meanwhile (skip it), or -1
   with error_r naming the mailbox. */
int pop3_policy_mail_guid(struct mail *mail, const char **guid_r,
			  const char **error_r);

#endif
