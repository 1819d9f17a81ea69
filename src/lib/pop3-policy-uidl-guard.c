/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL guard: did today's UIDLs change for too many messages?

   The sketch of a session is a bottom-k sample: of all messages in the
   mailbox, the POP3_POLICY_UIDL_GUARD_SAMPLES (256) whose hash of the
   message GUID is smallest, each as (FNV-1a 64-bit hash of the GUID, FNV-1a
   64-bit hash of the served UIDL). FNV-1a, not a cryptographic hash: it is
   computed for every message of every session, and the guard defends
   against accidents, not against someone choosing GUIDs. Because the sample is chosen by the
   message and not by its position, new mail and deletions do not change
   which of the remaining messages are sampled; for mailboxes of up to 256
   messages the sample is the whole mailbox. It is small enough for one
   store record at any mailbox size.

   The check: of the previous sketch's messages that are still in the
   mailbox (a deleted one is not counted), how many are served another UIDL
   today? More than pop3_policy_uidl_guard percent of them trips the guard.
   A message whose GUID changed looks deleted, so the guard cannot see a
   migration that also changes GUIDs.

   Record (priv/pop3-policy/uidl-guard), payload fields:

     <sample count> TAB <msghash>:<uidlhash>,<msghash>:<uidlhash>,...

   with 16 lower-case hex digits per hash, e.g.
   "1\tuidl-guard\t2\t00a1...ff:9c0e...01,0b33...20:77aa...3c". */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strnum.h"
#include "pop3-policy-uidl-guard.h"

#include <ctype.h>

struct pop3_policy_uidl_guard_builder {
	pool_t pool;
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) msgs;
};

uint64_t pop3_policy_uidl_guard_hash(const char *s)
{
	uint64_t v = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		v ^= (unsigned char)*s;
		v *= 0x100000001b3ULL;
	}
	return v;
}

static int u64_cmp(const void *p1, const void *p2)
{
	const uint64_t *v1 = p1, *v2 = p2;

	return *v1 < *v2 ? -1 : (*v1 > *v2 ? 1 : 0);
}

struct pop3_policy_uidl_guard_builder *pop3_policy_uidl_guard_builder_init(void)
{
	struct pop3_policy_uidl_guard_builder *builder;
	pool_t pool;

	pool = pool_alloconly_create("pop3-policy uidl guard", 1024);
	builder = p_new(pool, struct pop3_policy_uidl_guard_builder, 1);
	builder->pool = pool;
	p_array_init(&builder->msgs, pool, 128);
	return builder;
}

void pop3_policy_uidl_guard_builder_add(
	struct pop3_policy_uidl_guard_builder *builder,
	const char *guid, const char *uidl)
{
	pop3_policy_uidl_guard_builder_add_hashed(builder,
		pop3_policy_uidl_guard_hash(guid), uidl);
}

void pop3_policy_uidl_guard_builder_add_hashed(
	struct pop3_policy_uidl_guard_builder *builder,
	uint64_t msg_hash, const char *uidl)
{
	struct pop3_policy_uidl_guard_sample *sample;

	sample = array_append_space(&builder->msgs);
	sample->msg_hash = msg_hash;
	sample->uidl_hash = pop3_policy_uidl_guard_hash(uidl);
}

static int sample_cmp(const struct pop3_policy_uidl_guard_sample *s1,
		      const struct pop3_policy_uidl_guard_sample *s2)
{
	return u64_cmp(&s1->msg_hash, &s2->msg_hash);
}

static void builder_sort(struct pop3_policy_uidl_guard_builder *builder)
{
	array_sort(&builder->msgs, sample_cmp);
}

void pop3_policy_uidl_guard_builder_sketch(
	struct pop3_policy_uidl_guard_builder *builder,
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) *sketch_r)
{
	const struct pop3_policy_uidl_guard_sample *msgs;
	unsigned int i, count;

	builder_sort(builder);
	msgs = array_get(&builder->msgs, &count);
	array_clear(sketch_r);
	for (i = 0; i < count && i < POP3_POLICY_UIDL_GUARD_SAMPLES; i++) {
		/* two messages with one GUID (a copy): keep the first */
		if (i > 0 && msgs[i].msg_hash == msgs[i-1].msg_hash)
			continue;
		array_push_back(sketch_r, &msgs[i]);
	}
}

void pop3_policy_uidl_guard_check(
	struct pop3_policy_uidl_guard_builder *builder,
	const ARRAY_TYPE(pop3_policy_uidl_guard_sample) *previous,
	unsigned int percent,
	struct pop3_policy_uidl_guard_result *result_r)
{
	const struct pop3_policy_uidl_guard_sample *prev, *today;

	i_zero(result_r);
	builder_sort(builder);
	array_foreach(previous, prev) {
		today = array_bsearch(&builder->msgs, prev, sample_cmp);
		if (today == NULL)
			continue;
		result_r->present++;
		if (today->uidl_hash != prev->uidl_hash)
			result_r->changed++;
	}
	result_r->tripped = percent > 0 &&
		(uint64_t)result_r->changed * 100 >
		(uint64_t)result_r->present * percent;
}

void pop3_policy_uidl_guard_builder_deinit(
	struct pop3_policy_uidl_guard_builder **_builder)
{
	struct pop3_policy_uidl_guard_builder *builder = *_builder;

	if (builder == NULL)
		return;
	*_builder = NULL;
	pool_unref(&builder->pool);
}

int pop3_policy_uidl_guard_parse_percent(const char *value,
					 unsigned int *percent_r,
					 const char **error_r)
{
	const char *num;

	if (value == NULL || value[0] == '\0') {
		*percent_r = POP3_POLICY_UIDL_GUARD_DEFAULT_PERCENT;
		return 0;
	}
	num = value;
	if (value[strlen(value)-1] == '%')
		num = t_strndup(value, strlen(value) - 1);
	if (str_to_uint(num, percent_r) < 0 || *percent_r > 100) {
		*error_r = t_strdup_printf(
			"pop3_policy_uidl_guard: '%s' is not a percentage "
			"from 0 to 100", value);
		return -1;
	}
	return 0;
}

const char *const *pop3_policy_uidl_guard_encode(
	const ARRAY_TYPE(pop3_policy_uidl_guard_sample) *sketch)
{
	const struct pop3_policy_uidl_guard_sample *sample;
	const char **fields = t_new(const char *, 3);
	string_t *str = t_str_new(array_count(sketch) * 34 + 1);

	array_foreach(sketch, sample) {
		if (str_len(str) > 0)
			str_append_c(str, ',');
		str_printfa(str, "%016"PRIx64":%016"PRIx64,
			    sample->msg_hash, sample->uidl_hash);
	}
	fields[0] = dec2str(array_count(sketch));
	fields[1] = str_c(str);
	return fields;
}

static int hex_to_u64(const char *s, size_t len, uint64_t *v_r)
{
	uint64_t v = 0;
	size_t i;

	if (len != 16)
		return -1;
	for (i = 0; i < len; i++) {
		if (!i_isxdigit(s[i]))
			return -1;
		v = (v << 4) | (uint64_t)(i_isdigit(s[i]) ? s[i] - '0' :
					  (i_tolower(s[i]) - 'a' + 10));
	}
	*v_r = v;
	return 0;
}

int pop3_policy_uidl_guard_decode(const char *const *fields,
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) *sketch_r,
	const char **error_r)
{
	struct pop3_policy_uidl_guard_sample sample;
	const char *const *parts;
	unsigned int count, i;

	array_clear(sketch_r);
	if (str_to_uint(fields[0], &count) < 0 ||
	    count > POP3_POLICY_UIDL_GUARD_SAMPLES) {
		*error_r = "malformed UIDL guard record: bad sample count";
		return -1;
	}
	parts = fields[1][0] == '\0' ? t_new(const char *, 1) :
		t_strsplit(fields[1], ",");
	if (str_array_length(parts) != count) {
		*error_r = "malformed UIDL guard record: sample count does "
			"not match";
		return -1;
	}
	for (i = 0; i < count; i++) {
		const char *colon = strchr(parts[i], ':');

		if (colon == NULL ||
		    hex_to_u64(parts[i], colon - parts[i],
			       &sample.msg_hash) < 0 ||
		    hex_to_u64(colon + 1, strlen(colon + 1),
			       &sample.uidl_hash) < 0) {
			*error_r = t_strdup_printf(
				"malformed UIDL guard record: sample %u", i + 1);
			return -1;
		}
		array_push_back(sketch_r, &sample);
	}
	return 0;
}
