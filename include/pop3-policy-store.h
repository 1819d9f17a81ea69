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
   included). Writers of large data (UIDL map chunks) size their chunks to
   stay below it; pop3_policy_store_set*() refuse a larger record. */
#define POP3_POLICY_STORE_MAX_VALUE_SIZE (60 * 1024)
/* How many lookups pop3_policy_store_lookup_keys() keeps in flight: the
   dict server (dict-connection.c) drops a client with more than 128 KiB of
   unread replies, i.e. more than two records of the maximum size. */
#define POP3_POLICY_STORE_LOOKUP_WINDOW \
	((128 * 1024 - 4096) / (POP3_POLICY_STORE_MAX_VALUE_SIZE + 256))
/* The longest key (tab-escaped; limits user names to about 1000 bytes). */
#define POP3_POLICY_STORE_MAX_KEY_SIZE 1024

/* One answer of pop3_policy_store_lookup_keys(). */
struct pop3_policy_store_result {
	/* payload fields (NULL-terminated, data stack), or NULL if the key
	   has no record */
	const char *const *fields;
};

/* One change of pop3_policy_store_apply(). */
struct pop3_policy_store_change {
	/* the kind of record written (ignored for a removal) */
	enum pop3_policy_record_kind kind;
	/* the full key, from pop3_policy_store_key() or
	   pop3_policy_store_uidl_chunk_key() */
	const char *key;
	/* payload fields (NULL-terminated) to write, or NULL to remove */
	const char *const *fields;
};

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
   lookup or set. */
int pop3_policy_store_init(const struct pop3_policy_store_settings *set,
			   struct pop3_policy_store **store_r,
			   const char **error_r);
/* Waits for pending writes and closes the store. */
void pop3_policy_store_deinit(struct pop3_policy_store **store);

/* Returns the dict key of the user's record of the given kind (data stack).
   For UIDL map chunks use pop3_policy_store_uidl_chunk_key(). */
const char *pop3_policy_store_key(enum pop3_policy_record_kind kind,
				  const char *user);
/* Returns the key of chunk n of the given generation of a user's UIDL map. */
const char *pop3_policy_store_uidl_chunk_key(const char *generation,
					     unsigned int n);

/* Looks up the user's record of the kind. Returns 1 and its payload fields
   (NULL-terminated, data stack) if found, 0 if there is no record, -1 if the
   store failed or the record is malformed or of an unknown version. The
   error names the user and the key and never the record's content. An
   empty user name, or a key outside shared/pop3-policy/ and
   priv/pop3-policy/, is an error too (never a lib-dict assertion). */
int pop3_policy_store_lookup(struct pop3_policy_store *store,
			     enum pop3_policy_record_kind kind,
			     const char *user, const char *const **fields_r,
			     const char **error_r);
/* Same as pop3_policy_store_lookup(), for an explicit key (UIDL chunks). */
int pop3_policy_store_lookup_key(struct pop3_policy_store *store,
				 enum pop3_policy_record_kind kind,
				 const char *user, const char *key,
				 const char *const **fields_r,
				 const char **error_r);

/* Looks up many keys of the user, all expected to hold records of the
   given kind (UIDL map chunks), with a bounded number of round trips:
   lookups are pipelined with dict_lookup_async(), POP3_POLICY_STORE_-
   LOOKUP_WINDOW at a time, each window collected with one dict_wait().
   Drivers without asynchronous lookups (redis:, file:) answer them one
   after another through lib-dict's synchronous fallback.
   Returns 0 and results_r[i] for keys[i] (data stack) when every lookup
   was answered and every found record is well formed; -1 with error_r
   naming the user and the first failing key otherwise. */
int pop3_policy_store_lookup_keys(struct pop3_policy_store *store,
				  enum pop3_policy_record_kind kind,
				  const char *user,
				  const char *const *keys, unsigned int count,
				  struct pop3_policy_store_result **results_r,
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

/* Keeps an answer for the user's record of the kind that was read
   elsewhere (handed over by the pop3_policy userdb, see
   pop3-policy-handover.h) as if pop3_policy_store_prefetch() had read it:
   record is the record's value as stored, NULL if there is none. The
   record is decoded, and a malformed one reported, by the next lookup. */
void pop3_policy_store_prefetched_add(struct pop3_policy_store *store,
				      enum pop3_policy_record_kind kind,
				      const char *user, const char *record);

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
/* Same as pop3_policy_store_set(), for an explicit key (UIDL chunks). */
int pop3_policy_store_set_key(struct pop3_policy_store *store,
			      enum pop3_policy_record_kind kind,
			      const char *user, const char *key,
			      const char *const *fields, const char **error_r);
/* Applies the changes (writes and removals of the user's keys) in one dict
   transaction and waits for the commit: atomic on SQL, in order on the
   others. Nothing is written if any change is refused before the commit.
   Returns 0 on success, -1 with error_r naming user and key on failure. */
int pop3_policy_store_apply(struct pop3_policy_store *store,
			    const char *user,
			    const struct pop3_policy_store_change *changes,
			    unsigned int count, const char **error_r);

/* Removes the user's record of the kind. Returns 1 if it was removed, 0 if
   there was none, -1 on error. A malformed record is removed too (the
   removal does not decode it). */
int pop3_policy_store_unset(struct pop3_policy_store *store,
			    enum pop3_policy_record_kind kind,
			    const char *user, const char **error_r);
/* Same as pop3_policy_store_unset(), for an explicit key. */
int pop3_policy_store_unset_key(struct pop3_policy_store *store,
				const char *user, const char *key,
				const char **error_r);

/* Returns a dict driver's error text with any quoted store data removed
   (redis' "(last reply: ...)"), so that no record content reaches a log. */
const char *pop3_policy_store_driver_error(const char *error);
/* Returns the dict URI with the value of every password= parameter
   replaced by "<hidden>" (redis:...:password=...), for logs. */
const char *pop3_policy_store_uri_for_log(const char *uri);

#endif
