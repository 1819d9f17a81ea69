#ifndef POP3_POLICY_UIDL_GUARD_H
#define POP3_POLICY_UIDL_GUARD_H

#include "array.h"

/* The UIDL guard: a bounded sketch of which UIDL the last session served for
   which message, and the decision whether today's UIDLs changed too much.
   See the top of src/lib/pop3-policy-uidl-guard.c. */

/* at most this many messages are remembered: those whose
   pop3_policy_uidl_guard_uid_key() is smallest (a bottom-k sample, so new
   mail and deletions leave the other samples alone) */
#define POP3_POLICY_UIDL_GUARD_SAMPLES 256
#define POP3_POLICY_UIDL_GUARD_DEFAULT_PERCENT 50

struct pop3_policy_uidl_guard_sample {
	uint32_t uid;
	/* pop3_policy_uidl_guard_hash() of the GUID and of the UIDL */
	uint64_t guid_hash;
	uint64_t uidl_hash;
};
ARRAY_DEFINE_TYPE(pop3_policy_uidl_guard_sample,
		  struct pop3_policy_uidl_guard_sample);

struct pop3_policy_uidl_guard_sketch {
	uint32_t uidvalidity;
	/* sorted by pop3_policy_uidl_guard_uid_key() of the uid */
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) samples;
};

/* Returns the hash the sketch uses for GUIDs and UIDLs (FNV-1a, 64 bits). */
uint64_t pop3_policy_uidl_guard_hash(const char *s);
/* Returns the sampling order of a UID (a 64-bit mix of it). */
uint64_t pop3_policy_uidl_guard_uid_key(uint32_t uid);

struct pop3_policy_uidl_guard_builder;

/* Starts today's picture of a mailbox with the given UIDVALIDITY. The
   caller adds (at least) every message whose uid key is among the
   POP3_POLICY_UIDL_GUARD_SAMPLES smallest of the mailbox, and every message
   of the previous sketch that is still there: by UID when the UIDVALIDITY
   is the previous sketch's, else by GUID hash (a UID of another
   UIDVALIDITY says nothing). Adding more messages changes nothing. */
struct pop3_policy_uidl_guard_builder *
pop3_policy_uidl_guard_builder_init(uint32_t uidvalidity);
void pop3_policy_uidl_guard_builder_add(
	struct pop3_policy_uidl_guard_builder *builder,
	uint32_t uid, uint64_t guid_hash, const char *uidl);
/* Returns today's sketch into sketch_r (its array created by the caller). */
void pop3_policy_uidl_guard_builder_sketch(
	struct pop3_policy_uidl_guard_builder *builder,
	struct pop3_policy_uidl_guard_sketch *sketch_r);

struct pop3_policy_uidl_guard_result {
	/* samples of the previous sketch whose message is still there */
	unsigned int present;
	/* of those, how many are served another UIDL today */
	unsigned int changed;
	bool tripped;
};
/* Compares the previous sketch with today's messages. A message of the
   previous sketch that is gone was deleted and is not counted. Trips if
   changed > percent% of present (percent 0 disables the guard). */
void pop3_policy_uidl_guard_check(
	struct pop3_policy_uidl_guard_builder *builder,
	const struct pop3_policy_uidl_guard_sketch *previous,
	unsigned int percent,
	struct pop3_policy_uidl_guard_result *result_r);
void pop3_policy_uidl_guard_builder_deinit(
	struct pop3_policy_uidl_guard_builder **builder);

/* Returns TRUE if the sketches are the same (no need to store today's). */
bool pop3_policy_uidl_guard_sketch_equals(
	const struct pop3_policy_uidl_guard_sketch *s1,
	const struct pop3_policy_uidl_guard_sketch *s2);

/* Parses the pop3_policy_uidl_guard setting: a percentage 0-100, with or
   without '%'. NULL or "" gives the default. */
int pop3_policy_uidl_guard_parse_percent(const char *value,
					 unsigned int *percent_r,
					 const char **error_r);

/* Sketch <-> record payload fields (NULL-terminated, data stack). */
const char *const *pop3_policy_uidl_guard_encode(
	const struct pop3_policy_uidl_guard_sketch *sketch);
int pop3_policy_uidl_guard_decode(const char *const *fields,
	struct pop3_policy_uidl_guard_sketch *sketch_r,
	const char **error_r);

#endif
