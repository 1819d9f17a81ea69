#ifndef POP3_POLICY_MAILBOX_H
#define POP3_POLICY_MAILBOX_H

/* Small lib-storage helpers shared by the retention executor and the
   moves it makes. */

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

#endif
