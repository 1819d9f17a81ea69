#ifndef POP3_POLICY_UIDL_SESSION_H
#define POP3_POLICY_UIDL_SESSION_H

/* UIDL remapping and the UIDL guard in the POP3 session:
   hooks called from pop3-policy-plugin.c. */

struct module;
struct mailbox;

/* Settings: pop3_policy_uidl_guard (percent, default 50; 0 disables),
   pop3_policy_uidl_persist (yes/no, default no). */

/* Registers the storage hooks: for the INBOX of a POP3 session, after its
   first sync, the map is loaded (once), every message's UIDL worked out, the
   guard applied and, with pop3_policy_uidl_persist on maildir, the served
   UIDLs written natively; mails then serve those UIDLs
   (MAIL_FETCH_UIDL_BACKEND) and the POP3 order of uid: keys
   (MAIL_FETCH_POP3_ORDER). */
void pop3_policy_uidl_init(struct module *module);
void pop3_policy_uidl_deinit(void);

/* Fails the session's INBOX sync with a temporary error, which pop3 sends
   as "-ERR [SYS/TEMP] <error>" before it ends the session. Returns -1. */
int pop3_policy_uidl_session_fail(struct mailbox *box, const char *error);

#endif
