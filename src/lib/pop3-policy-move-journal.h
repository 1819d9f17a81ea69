#ifndef POP3_POLICY_MOVE_JOURNAL_H
#define POP3_POLICY_MOVE_JOURNAL_H

/* The journal of a retention move between two mailboxes (format at the top
   of pop3-policy-move-journal.c): written whole before the first copy,
   read by the next retention run of the user to repair a move a kill
   interrupted (src/storage/pop3-policy-retention-move.c). */

/* The move journal, in the user's home next to the retention lock */
#define POP3_POLICY_MOVE_JOURNAL_FNAME "pop3-policy.move"

enum pop3_policy_move_kind {
	/* INBOX -> the quarantine (on_delete=hold) */
	POP3_POLICY_MOVE_HOLD = 0,
	/* INBOX -> the policy's move: mailbox, one of the user's own */
	POP3_POLICY_MOVE_TARGET,
	/* the quarantine -> INBOX (doveadm pop3-policy restore) */
	POP3_POLICY_MOVE_RESTORE,
};

struct pop3_policy_moved_msg {
	uint32_t uid;
	const char *guid;
};
ARRAY_DEFINE_TYPE(pop3_policy_moved_msg, struct pop3_policy_moved_msg);

/* A journal as written and read. */
struct pop3_policy_move_journal {
	enum pop3_policy_move_kind kind;
	const char *src_name, *dest_name;
	uint32_t src_uidvalidity, dest_uidvalidity, dest_uidnext;
	/* the messages to copy */
	ARRAY_TYPE(pop3_policy_moved_msg) msgs;
};

/* Returns the kind's name as the journal writes it ("hold", "move",
   "restore"). */
const char *pop3_policy_move_kind_name(enum pop3_policy_move_kind kind);

/* Writes the journal to path, all or nothing: into path.tmp (created
   anew, never through a link), fdatasync()ed if sync_data, then renamed over
   path. Returns 0, or -1 with error_r (path is then unchanged and the
   temporary file removed). */
int pop3_policy_move_journal_write(const char *path,
				   const struct pop3_policy_move_journal *j,
				   bool sync_data, const char **error_r);
/* Reads the journal at path, strings and messages from pool. Returns 1
   and the journal, 0 if there is none, -1 if it cannot be read or is
   malformed (error_r names the file and the line; a line longer than
   4095 bytes is refused). */
int pop3_policy_move_journal_read(const char *path, pool_t pool,
				  struct pop3_policy_move_journal *j_r,
				  const char **error_r);
/* Parses the contents of a move journal as pop3_policy_move_journal_read()
   parses its file, but without the line length limit (for the fuzzer).
   Returns 0 with the number of messages the journal names, or -1 with
   error_r naming the line. */
int pop3_policy_move_journal_parse(const unsigned char *data, size_t size,
				   unsigned int *msg_count_r,
				   const char **error_r);

#endif
