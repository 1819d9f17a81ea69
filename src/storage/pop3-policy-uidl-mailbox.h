#ifndef POP3_POLICY_UIDL_MAILBOX_H
#define POP3_POLICY_UIDL_MAILBOX_H

#include "pop3-policy-uidl.h"

/* Walks a mailbox and works out, for every message, its keys, the UIDL
   Dovecot serves natively, the map's UIDL and the UIDL served. Used by the
   POP3 session (once, after its first sync) and by doveadm pop3-uidl, so
   that both see the same UIDLs (libpop3policy_storage, which both
   plugins link). */

struct mailbox;

enum pop3_policy_uidl_scan_flags {
	/* compute hdr: keys (reads every message's header) */
	POP3_POLICY_UIDL_SCAN_HDR = 0x01,
	/* compute msgid: keys */
	POP3_POLICY_UIDL_SCAN_MSGID = 0x02,
	/* work out the native UIDL of mapped messages too (else only of
	   unmapped ones and of those whose mapped UIDL collides) */
	POP3_POLICY_UIDL_SCAN_NATIVE = 0x04,
	/* always fetch the GUID (else only while the map can match it) */
	POP3_POLICY_UIDL_SCAN_GUID = 0x08,
	/* compute the msgid:/hdr: keys asked for even for messages an
	   earlier key matched (doveadm shows them) */
	POP3_POLICY_UIDL_SCAN_ALL_KEYS = 0x10,
};

struct pop3_policy_uidl_msg {
	uint32_t seq, uid;
	/* message GUID ("" if the storage has none; NULL if not fetched) */
	const char *guid;
	struct pop3_policy_uidl_msg_keys keys;
	/* native UIDL (NULL for a mapped message unless
	   POP3_POLICY_UIDL_SCAN_NATIVE), and whether it is one the storage
	   keeps (a mail_update_pop3_uidl() value), not pop3_uidl_format's */
	const char *native;
	bool native_stored;
	/* 1-based position of the message's uid: entry among the map's uid:
	   entries (the POP3 order it had), 0 if none */
	unsigned int map_order;
	/* 1-based POP3 message number when the map's uid: entries reorder
	   the mailbox, 0 when the order is Dovecot's own */
	unsigned int pop3_order;
	/* assignment of pop3-policy-uidl.h */
	struct pop3_policy_uidl_assign assign;
};
ARRAY_DEFINE_TYPE(pop3_policy_uidl_msg, struct pop3_policy_uidl_msg);

/* Scans the opened mailbox: messages in POP3 order (sequence order, except
   that the messages with a uid: map entry are put in the order of their
   entries, within the places they take), with keys, native, mapped and
   served UIDLs. map may be NULL (nothing mapped); it is frozen
   (pop3_policy_uidl_map_freeze()) if it is not yet. Strings are allocated
   from pool, except mapped UIDLs, which live in map. Returns the number of
   collisions (>= 0), or -1 with an error. */
int pop3_policy_uidl_mailbox_scan(struct mailbox *box,
				  struct pop3_policy_uidl_map *map,
				  enum pop3_policy_uidl_scan_flags flags,
				  pool_t pool,
				  ARRAY_TYPE(pop3_policy_uidl_msg) *msgs_r,
				  const char **error_r);

/* Returns the flags a scan needs for the map's key kinds. */
enum pop3_policy_uidl_scan_flags
pop3_policy_uidl_mailbox_scan_flags(const struct pop3_policy_uidl_map *map);

/* pop3_policy_uidl_native() with the mailbox's pop3_uidl_format: returns
   in uidl_r (data stack or the mail's pool) the UIDL Dovecot serves the
   message natively. Returns 0, or -1 with an error (when, see
   pop3-policy-uidl-native.h). */
int pop3_policy_uidl_mailbox_native(struct mail *mail, uint32_t uidvalidity,
				    const char **uidl_r, const char **error_r);

/* Returns the message's hdr: key (data stack), or NULL with an error. */
const char *pop3_policy_uidl_mailbox_hdr_key(struct mail *mail,
					     const char **error_r);

#endif
