#ifndef POP3_POLICY_STORE_H
#define POP3_POLICY_STORE_H

#include "pop3-policy-record.h"

/* The package's store: one lib-dict URI (setting pop3_policy_dict), the same
   code for file:, proxy:: (dict server on SQLite/PostgreSQL/MySQL) and
   redis:. Only lookup and set are used. Keys and value layout are described
   in src/lib/pop3-policy-store.c and src/lib/pop3-policy-record.c. */

struct event;
struct pop3_policy_store;

/* The largest record the store writes, measured tab-escaped as it travels
   in the dict proxy protocol (whose lines end at 64 KiB, key and command
   included); pop3_policy_store_set*() refuse a larger record. */
#define POP3_POLICY_STORE_MAX_VALUE_SIZE (60 * 1024)
/* The longest key (tab-escaped; limits user names to about 1000 bytes). */
#define POP3_POLICY_STORE_MAX_KEY_SIZE 1024

struct pop3_policy_store_settings {
	/* lib-dict URI, e.g. "proxy::pop3policy" or "file:/path" */
	const char *uri;
	/* Dovecot's base_dir, where proxy:: finds the dict server socket */
	const char *base_dir;
	/* parent of the store's event (may be NULL) */
	struct event *event_parent;
};

/* Returns the URI with a proxy: dict's connection to the dict server kept
   open for idle_msecs after its last command (the proxy's idle_msecs=
   parameter, which Dovecot defaults to 0: a new connection for each burst
   of commands). For long-lived processes (auth), which would otherwise
   connect for every login. Other drivers, and a proxy URI that sets
   idle_msecs= itself, are returned as they are. */
const char *pop3_policy_store_uri_keep_open(const char *uri,
					    unsigned int idle_msecs);

/* Opens the store. Returns 0 on success, -1 with error_r on a bad URI. No
   connection is made yet: a store that is down is reported by the first
   lookup or set. In a process whose privileges are dropped only for the
   effective uid (real uid root: doveadm's MAIL_STORAGE_SERVICE_FLAG_TEMP_-
   PRIV_DROP), a proxy: store makes its dict calls with the effective uid
   0, so that it reaches a dict server socket that only root and auth may
   use. */
int pop3_policy_store_init(const struct pop3_policy_store_settings *set,
			   struct pop3_policy_store **store_r,
			   const char **error_r);
/* Waits for pending writes and closes the store. */
void pop3_policy_store_deinit(struct pop3_policy_store **store);

/* Returns the dict key of the user's record of the given kind (data stack). */
const char *pop3_policy_store_key(enum pop3_policy_record_kind kind,
				  const char *user);
/* Looks up the user's record of the kind. Returns 1 and its payload fields
   (NULL-terminated, data stack) if found, 0 if there is no record, -1 if the
   store failed or the record is malformed or of an unknown version. The
   error names the user and the key and never the record's content. An
   empty or overlong user name is an error too (never a lib-dict
   assertion). */
int pop3_policy_store_lookup(struct pop3_policy_store *store,
			     enum pop3_policy_record_kind kind,
			     const char *user, const char *const **fields_r,
			     const char **error_r);
/* Looks up the user's records of the given kinds in two round trips (the
   first alone, so that a store that just went away fails it at once, then
   the others pipelined with dict_lookup_async) and keeps the answers: the
   next pop3_policy_store_lookup() of each of those records is answered
   from them, once; a later lookup reads the store again, and a write or
   removal of the key drops its answer. After a failed first lookup the
   others are not sent. A failed lookup is kept as a failure and
   reported, naming user and key, by that next lookup (callers still fail
   closed there). For a session that reads several records at its start. */
void pop3_policy_store_prefetch(struct pop3_policy_store *store,
				const char *user,
				const enum pop3_policy_record_kind *kinds,
				unsigned int count);

/* Writes the user's record of the kind with the given payload fields
   (NULL-terminated) and waits for the commit. Returns 0 on success, -1 with
   error_r (naming user and key) on failure, also when the fields are fewer
   than the kind needs or the record is larger than
   POP3_POLICY_STORE_MAX_VALUE_SIZE. */
int pop3_policy_store_set(struct pop3_policy_store *store,
			  enum pop3_policy_record_kind kind, const char *user,
			  const char *const *fields, const char **error_r);
/* Called when a lookup of pop3_policy_store_lookup_async() is answered,
   with what pop3_policy_store_lookup() would return (fields and error are
   valid during the call only). */
typedef void
pop3_policy_store_lookup_callback_t(int ret, const char *const *fields,
				    const char *error, void *context);
/* Same as pop3_policy_store_lookup(), without waiting: for a process that
   must not block on the store (auth). The callback is called once, from
   the ioloop when the store answers, or at once for a bad user name or on
   drivers without asynchronous lookups (file:). */
void pop3_policy_store_lookup_async(struct pop3_policy_store *store,
				    enum pop3_policy_record_kind kind,
				    const char *user,
				    pop3_policy_store_lookup_callback_t *callback,
				    void *context);
/* Called when a commit of pop3_policy_store_set_async() is answered: ret 0,
   or -1 with an error naming user and key (never the value). */
typedef void pop3_policy_store_commit_callback_t(int ret, const char *error,
						 void *context);
/* Same as pop3_policy_store_set(), without waiting for the commit: for a
   process that must not block on the store (auth). The callback is called
   once, from the ioloop when the store answers, or at once when the record
   is refused before the commit or the driver has no asynchronous commits
   (file:). pop3_policy_store_deinit() waits for commits still in flight. */
void pop3_policy_store_set_async(struct pop3_policy_store *store,
				 enum pop3_policy_record_kind kind,
				 const char *user, const char *const *fields,
				 pop3_policy_store_commit_callback_t *callback,
				 void *context);
/* Waits until every commit of pop3_policy_store_set_async() is answered. */
void pop3_policy_store_wait(struct pop3_policy_store *store);
/* Removes the user's record of the kind. Returns 1 if it was removed, 0 if
   there was none, -1 on error. A malformed record is removed too (the
   removal does not decode it). */
int pop3_policy_store_unset(struct pop3_policy_store *store,
			    enum pop3_policy_record_kind kind,
			    const char *user, const char **error_r);
/* Returns a dict driver's error text with any quoted store data removed
   (redis' "(last reply: ...)"), so that no record content reaches a log. */
const char *pop3_policy_store_driver_error(const char *error);
/* Returns the dict URI with the value of every password= parameter
   replaced by "<hidden>" (redis:...:password=...), for logs. */
const char *pop3_policy_store_uri_for_log(const char *uri);

#endif
