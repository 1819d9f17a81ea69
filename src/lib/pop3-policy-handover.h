#ifndef POP3_POLICY_HANDOVER_H
#define POP3_POLICY_HANDOVER_H

/* The record a POP3 session reads at its start (its policy record), read
   by the pop3_policy userdb in the auth process, which keeps its
   connection to the store open, and handed to the session as userdb
   fields: a session that is handed it never opens the store. See the top
   of pop3-policy-handover.c for the fields. */

#include "pop3-policy-record.h"

/* The user the records were read for (encoded as the records are) */
#define POP3_POLICY_HANDOVER_USER_FIELD "pop3_policy_handover_user"
/* The kinds that were read, by name, separated by spaces: for each, the
   record's field holds the record, or is absent if the user has none */
#define POP3_POLICY_HANDOVER_KINDS_FIELD "pop3_policy_handover"
/* The most bytes of handed-over records: the session's login process
   reads the whole userdb reply as one line of at most 8 KiB
   (lib-master/master-login-auth.c), which the site's own fields share.
   A record that does not fit is not handed over; the session reads it. */
#define POP3_POLICY_HANDOVER_MAX_BYTES 3072

struct pop3_policy_handover_record {
	enum pop3_policy_record_kind kind;
	/* the record as stored, NULL if the user has none */
	const char *record;
};

/* The kinds that are handed over, in order of preference */
extern const enum pop3_policy_record_kind pop3_policy_handover_kinds[];
extern const unsigned int pop3_policy_handover_kinds_count;

/* The userdb field that holds a record of the kind (one of
   pop3_policy_handover_kinds). */
const char *
pop3_policy_handover_record_field(enum pop3_policy_record_kind kind);

/* Returns the userdb fields (name, value, name, value, ..., NULL; data
   stack) that hand over the user's records, in the order given, as many
   as fit in POP3_POLICY_HANDOVER_MAX_BYTES; none if none fits. */
const char *const *
pop3_policy_handover_fields(const char *user,
			    const struct pop3_policy_handover_record *records,
			    unsigned int count);

/* Reads a handover from the values of its fields as the session sees them
   (after Dovecot expanded %variables in them). get_field returns a field's
   value, NULL if it is absent. Returns 1 with the records (data stack) in
   records_r, 0 if there is no handover (no kinds field), -1 with error_r
   naming the field if a field is malformed or the handover is for another
   user. */
int pop3_policy_handover_read(const char *user,
			      const char *(*get_field)(const char *name,
						       void *context),
			      void *context,
			      struct pop3_policy_handover_record **records_r,
			      unsigned int *count_r, const char **error_r);

#endif
