#ifndef POP3_POLICY_RECORD_H
#define POP3_POLICY_RECORD_H

/* Version of the record layout written by this build (see the format
   description at the top of src/lib/pop3-policy-record.c). Records with a
   higher version are refused, never guessed at. */
#define POP3_POLICY_RECORD_VERSION 1

enum pop3_policy_record_kind {
	/* shared/pop3-policy/policy/<user>: set_time, policy string */
	POP3_POLICY_RECORD_POLICY = 0,
	/* shared/pop3-policy/apop/<user>: key_id, set_time, nonce,
	   ciphertext, tag (or key_id "PLAIN", set_time, secret) */
	POP3_POLICY_RECORD_APOP,
	/* shared/pop3-policy/login/<user>: last_login, window_start,
	   logins_in_window */
	POP3_POLICY_RECORD_LOGIN,

	POP3_POLICY_RECORD_KIND_COUNT
};

/* Returns the kind's tag as written into records ("policy", "apop", ...). */
const char *pop3_policy_record_kind_name(enum pop3_policy_record_kind kind);
/* Returns the minimum number of payload fields a record of the kind has. */
unsigned int
pop3_policy_record_kind_min_fields(enum pop3_policy_record_kind kind);

/* Encodes the payload fields (NULL-terminated) of a record of the given kind.
   Returns the record, allocated from the data stack. */
const char *
pop3_policy_record_encode(enum pop3_policy_record_kind kind,
			  const char *const *fields);
/* Decodes a record that is expected to be of the given kind. Returns 0 and
   the payload fields (NULL-terminated, data stack) on success, -1 with a
   reason in error_r (which never quotes the record's content, since it may
   hold secrets) if the record is malformed, of another kind or of an
   unknown version. */
int pop3_policy_record_decode(enum pop3_policy_record_kind kind,
			      const char *record,
			      const char *const **fields_r,
			      const char **error_r);

#endif
