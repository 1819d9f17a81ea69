#ifndef POP3_POLICY_UIDL_GUARD_H
#define POP3_POLICY_UIDL_GUARD_H

#include "array.h"

/* The UIDL guard: a bounded sketch of which UIDL the last session served for
   which message, and the decision whether today's UIDLs changed too much.
   See the top of src/lib/pop3-policy-uidl-guard.c. */

/* at most this many messages are remembered (a bottom-k sample by the hash
   of the message GUID, so new mail and deletions leave the other samples
   alone) */
#define POP3_POLICY_UIDL_GUARD_SAMPLES 256
#define POP3_POLICY_UIDL_GUARD_DEFAULT_PERCENT 50

struct pop3_policy_uidl_guard_sample {
	/* pop3_policy_uidl_guard_hash() of the GUID and of the UIDL */
	uint64_t msg_hash;
	uint64_t uidl_hash;
};
ARRAY_DEFINE_TYPE(pop3_policy_uidl_guard_sample,
		  struct pop3_policy_uidl_guard_sample);

struct pop3_policy_uidl_guard_builder;

struct pop3_policy_uidl_guard_builder *pop3_policy_uidl_guard_builder_init(void);
/* Adds one message of today's session. */
void pop3_policy_uidl_guard_builder_add(
	struct pop3_policy_uidl_guard_builder *builder,
	const char *guid, const char *uidl);
/* Same, with the GUID already hashed. A session that only needs the guard
   hashes every message's GUID, but works out the UIDL only of the messages
   the sketches need: the POP3_POLICY_UIDL_GUARD_SAMPLES smallest hashes of
   today and those of the previous sketch. Adding just those gives the same
   check and sketch as adding all messages. */
void pop3_policy_uidl_guard_builder_add_hashed(
	struct pop3_policy_uidl_guard_builder *builder,
	uint64_t msg_hash, const char *uidl);
/* Returns the hash the sketch uses (FNV-1a, 64 bits). */
uint64_t pop3_policy_uidl_guard_hash(const char *s);

/* Returns today's sketch (sorted by msg_hash, at most SAMPLES entries)
   into sketch_r, which must be created by the caller. */
void pop3_policy_uidl_guard_builder_sketch(
	struct pop3_policy_uidl_guard_builder *builder,
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) *sketch_r);

struct pop3_policy_uidl_guard_result {
	/* samples of the previous sketch whose message is still there */
	unsigned int present;
	/* of those, how many are served another UIDL today */
	unsigned int changed;
	bool tripped;
};
/* Compares the previous sketch with the messages of today (all of them,
   as the builder saw them). A message of the previous sketch that is gone
   was deleted and is not counted. Trips if changed > percent% of present
   (percent 0 disables the guard). */
void pop3_policy_uidl_guard_check(
	struct pop3_policy_uidl_guard_builder *builder,
	const ARRAY_TYPE(pop3_policy_uidl_guard_sample) *previous,
	unsigned int percent,
	struct pop3_policy_uidl_guard_result *result_r);
void pop3_policy_uidl_guard_builder_deinit(
	struct pop3_policy_uidl_guard_builder **builder);

/* Parses the pop3_policy_uidl_guard setting: a percentage 0-100, with or
   without '%'. NULL or "" gives the default. */
int pop3_policy_uidl_guard_parse_percent(const char *value,
					 unsigned int *percent_r,
					 const char **error_r);

/* Sketch <-> record payload fields (NULL-terminated, data stack). */
const char *const *pop3_policy_uidl_guard_encode(
	const ARRAY_TYPE(pop3_policy_uidl_guard_sample) *sketch);
int pop3_policy_uidl_guard_decode(const char *const *fields,
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) *sketch_r,
	const char **error_r);

#endif
