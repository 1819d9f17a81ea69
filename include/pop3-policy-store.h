#ifndef POP3_POLICY_STORE_H
#define POP3_POLICY_STORE_H

#include "pop3-policy-record.h"

/* The package's store: one lib-dict URI (setting pop3_policy_dict), the same
   code for file:, proxy:: (dict server on SQLite/PostgreSQL/MySQL) and
   redis:. Only lookup and set are used. Keys and value layout are described
   in src/lib/pop3-policy-store.c and src/lib/pop3-policy-record.c. */

struct event;
struct pop3_policy_store;

struct pop3_policy_store_settings {
	/* lib-dict URI, e.g. "proxy::pop3policy" or "file:/path" */
	const char *uri;
	/* Dovecot's base_dir, where proxy:: finds the dict server socket */
	const char *base_dir;
	/* parent of the store's event (may be NULL) */
	struct event *event_parent;
};

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
   error names the user and the key and never the record's content. */
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

/* Writes the user's record of the kind with the given payload fields
   (NULL-terminated) and waits for the commit. Returns 0 on success, -1 with
   error_r (naming user and key) on failure. */
int pop3_policy_store_set(struct pop3_policy_store *store,
			  enum pop3_policy_record_kind kind, const char *user,
			  const char *const *fields, const char **error_r);
/* Removes the user's record of the kind. Returns 1 if it was removed, 0 if
   there was none (where the driver can tell; else 1), -1 on error. */
int pop3_policy_store_unset(struct pop3_policy_store *store,
			    enum pop3_policy_record_kind kind,
			    const char *user, const char **error_r);

#endif
