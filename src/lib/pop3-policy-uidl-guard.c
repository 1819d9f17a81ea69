/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL guard: did today's UIDLs change for too many messages?

   The sketch of a session is a bottom-k sample: of all messages in the
   mailbox, the POP3_POLICY_UIDL_GUARD_SAMPLES (256) whose UID has the
   smallest key (pop3_policy_uidl_guard_uid_key(), a 64-bit mix of the UID),
   each as (UID, hash of the GUID, hash of the served UIDL), plus the
   mailbox's UIDVALIDITY. Because the sample is chosen by the message and
   not by its position, new mail and deletions do not change which of the
   remaining messages are sampled; up to 256 messages the sample is the
   whole mailbox. It is small enough for one small file at any size.
   Hashes are FNV-1a (64 bits), not cryptographic: the guard defends
   against accidents, not against someone choosing GUIDs.

   Choosing by UID keeps the usual session cheap: within one UIDVALIDITY a
   UID always names the same message, so the previous samples are found by
   UID and only the sampled messages' UIDLs are worked out. After a new
   UIDVALIDITY (a lost dovecot-uidlist, a migration) UIDs mean nothing, and
   the previous samples are found by GUID hash instead.

   The check: of the previous sketch's messages that are still in the
   mailbox (a deleted one is not counted), how many are served another UIDL
   today? More than pop3_policy_uidl_guard percent of them trips the guard.
   After a new UIDVALIDITY a message whose GUID changed too looks deleted,
   so the guard cannot see a migration that also changes GUIDs.

   Sketch fields (the second line of the guard file,
   pop3-policy-uidl-guard-file.c):

     <sample count> TAB <uid>:<guidhash>:<uidlhash>,... TAB <uidvalidity>

   with 16 lower-case hex digits per hash, e.g.
   "2\t7:00a1...ff:9c0e...01,3:0b33...20:77aa...3c\t1795391833". */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strnum.h"
#include "pop3-policy-uidl-guard.h"

#include <ctype.h>

struct pop3_policy_uidl_guard_builder {
	pool_t pool;
	uint32_t uidvalidity;
	ARRAY_TYPE(pop3_policy_uidl_guard_sample) msgs;
	bool sorted_by_key:1;
	bool sorted_by_guid:1;
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

uint64_t pop3_policy_uidl_guard_uid_key(uint32_t uid)
{
	/* splitmix64's finaliser */
	uint64_t z = uid + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct pop3_policy_uidl_guard_builder *
pop3_policy_uidl_guard_builder_init(uint32_t uidvalidity)
{
	struct pop3_policy_uidl_guard_builder *builder;
	pool_t pool;

	pool = pool_alloconly_create("pop3-policy uidl guard", 1024);
	builder = p_new(pool, struct pop3_policy_uidl_guard_builder, 1);
	builder->pool = pool;
	builder->uidvalidity = uidvalidity;
	p_array_init(&builder->msgs, pool, 64);
	return builder;
}

void pop3_policy_uidl_guard_builder_add(
	struct pop3_policy_uidl_guard_builder *builder,
	uint32_t uid, uint64_t guid_hash, const char *uidl)
{
	struct pop3_policy_uidl_guard_sample *sample;

	sample = array_append_space(&builder->msgs);
	sample->uid = uid;
	sample->guid_hash = guid_hash;
	sample->uidl_hash = pop3_policy_uidl_guard_hash(uidl);
	builder->sorted_by_key = FALSE;
	builder->sorted_by_guid = FALSE;
}

static int sample_key_cmp(const struct pop3_policy_uidl_guard_sample *s1,
			  const struct pop3_policy_uidl_guard_sample *s2)
{
	uint64_t k1 = pop3_policy_uidl_guard_uid_key(s1->uid);
	uint64_t k2 = pop3_policy_uidl_guard_uid_key(s2->uid);

	return k1 < k2 ? -1 : (k1 > k2 ? 1 : 0);
}

static int sample_guid_cmp(const struct pop3_policy_uidl_guard_sample *s1,
			   const struct pop3_policy_uidl_guard_sample *s2)
{
	return s1->guid_hash < s2->guid_hash ? -1 :
		(s1->guid_hash > s2->guid_hash ? 1 : 0);
}

void pop3_policy_uidl_guard_builder_sketch(
	struct pop3_policy_uidl_guard_builder *builder,
	struct pop3_policy_uidl_guard_sketch *sketch_r)
{
	const struct pop3_policy_uidl_guard_sample *msgs;
	unsigned int i, count;

	if (!builder->sorted_by_key) {
		array_sort(&builder->msgs, sample_key_cmp);
		builder->sorted_by_key = TRUE;
		builder->sorted_by_guid = FALSE;
	}
	msgs = array_get(&builder->msgs, &count);
	sketch_r->uidvalidity = builder->uidvalidity;
	array_clear(&sketch_r->samples);
	for (i = 0; i < count && array_count(&sketch_r->samples) <
		    POP3_POLICY_UIDL_GUARD_SAMPLES; i++) {
		/* a message added twice counts once */
		if (i > 0 && msgs[i].uid == msgs[i-1].uid)
			continue;
		array_push_back(&sketch_r->samples, &msgs[i]);
	}
}

void pop3_policy_uidl_guard_check(
	struct pop3_policy_uidl_guard_builder *builder,
	const struct pop3_policy_uidl_guard_sketch *previous,
	unsigned int percent,
	struct pop3_policy_uidl_guard_result *result_r)
{
	const struct pop3_policy_uidl_guard_sample *prev, *today;
	bool by_uid = previous->uidvalidity == builder->uidvalidity;

	i_zero(result_r);
	if (by_uid && !builder->sorted_by_key) {
		array_sort(&builder->msgs, sample_key_cmp);
		builder->sorted_by_key = TRUE;
		builder->sorted_by_guid = FALSE;
	} else if (!by_uid && !builder->sorted_by_guid) {
		array_sort(&builder->msgs, sample_guid_cmp);
		builder->sorted_by_guid = TRUE;
		builder->sorted_by_key = FALSE;
	}
	array_foreach(&previous->samples, prev) {
		if (by_uid) {
			today = array_bsearch(&builder->msgs, prev,
					      sample_key_cmp);
		} else {
			today = array_bsearch(&builder->msgs, prev,
					      sample_guid_cmp);
		}
		if (today == NULL || (by_uid && today->uid != prev->uid))
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

bool pop3_policy_uidl_guard_sketch_equals(
	const struct pop3_policy_uidl_guard_sketch *s1,
	const struct pop3_policy_uidl_guard_sketch *s2)
{
	const struct pop3_policy_uidl_guard_sample *a, *b;
	unsigned int i, count;

	if (s1->uidvalidity != s2->uidvalidity ||
	    array_count(&s1->samples) != array_count(&s2->samples))
		return FALSE;
	a = array_get(&s1->samples, &count);
	if (count == 0) {
		/* two empty mailboxes (array_front() would panic) */
		return TRUE;
	}
	b = array_front(&s2->samples);
	for (i = 0; i < count; i++) {
		if (a[i].uid != b[i].uid || a[i].guid_hash != b[i].guid_hash ||
		    a[i].uidl_hash != b[i].uidl_hash)
			return FALSE;
	}
	return TRUE;
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
	const struct pop3_policy_uidl_guard_sketch *sketch)
{
	const struct pop3_policy_uidl_guard_sample *sample;
	const char **fields = t_new(const char *, 4);
	string_t *str = t_str_new(array_count(&sketch->samples) * 45 + 1);

	array_foreach(&sketch->samples, sample) {
		if (str_len(str) > 0)
			str_append_c(str, ',');
		str_printfa(str, "%u:%016"PRIx64":%016"PRIx64, sample->uid,
			    sample->guid_hash, sample->uidl_hash);
	}
	fields[0] = dec2str(array_count(&sketch->samples));
	fields[1] = str_c(str);
	fields[2] = t_strdup(dec2str(sketch->uidvalidity));
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
	struct pop3_policy_uidl_guard_sketch *sketch_r,
	const char **error_r)
{
	struct pop3_policy_uidl_guard_sample sample;
	const char *const *parts, *const *p;
	unsigned int count, i;

	array_clear(&sketch_r->samples);
	if (str_to_uint(fields[0], &count) < 0 ||
	    count > POP3_POLICY_UIDL_GUARD_SAMPLES) {
		*error_r = "malformed UIDL guard record: bad sample count";
		return -1;
	}
	if (fields[2] == NULL ||
	    str_to_uint32(fields[2], &sketch_r->uidvalidity) < 0) {
		*error_r = "malformed UIDL guard record: bad UIDVALIDITY";
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
		p = t_strsplit(parts[i], ":");
		if (str_array_length(p) != 3 ||
		    str_to_uint32(p[0], &sample.uid) < 0 ||
		    hex_to_u64(p[1], strlen(p[1]), &sample.guid_hash) < 0 ||
		    hex_to_u64(p[2], strlen(p[2]), &sample.uidl_hash) < 0) {
			*error_r = t_strdup_printf(
				"malformed UIDL guard record: sample %u", i + 1);
			return -1;
		}
		array_push_back(&sketch_r->samples, &sample);
	}
	return 0;
}
