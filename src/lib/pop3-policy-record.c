/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The value layout of every record pop3-policy keeps in its dict.

   A record is one line of TAB-separated fields:

     <version> TAB <kind> TAB <field 1> TAB ... TAB <field n>

   - version: decimal, POP3_POLICY_RECORD_VERSION (1) for everything this
     build writes. A reader refuses a version it does not know (0, or higher
     than its own) instead of guessing: the store is shared by backends that
     may run different builds.
   - kind: the record's kind tag ("policy", "apop", "login"). It is repeated in the value so that a value
     copied under the wrong key is caught rather than misread.
   - fields: escaped with Dovecot's tab escaping (str_tabescape: \001 -> \0011,
     TAB -> \001t, LF -> \001n, CR -> \001r), so any field may contain any
     byte but NUL, and the whole record is always a single line (the dict
     proxy protocol and file: are line based).

   Fields per kind (the minimum count is enforced when reading and writing;
   the meaning of each field belongs to the module that owns the kind):

     policy          2: set_time, policy string
     apop            3+: key_id, set_time, then the sealed secret (nonce,
                     ciphertext, tag), or "PLAIN", set_time, secret
     login           3: last_login, window_start, logins_in_window

   Worked example, the policy record of user "alice" set with
   `doveadm pop3-policy set -u alice on_delete=hold hold=7d` at 1795391833:

     key   shared/pop3-policy/policy/alice
     value "1\tpolicy\t1795391833\ton_delete=hold hold=7d"

   and a field holding a TAB and a newline, "a<TAB>b<LF>c", is written as
   "a\001tb\001nc".

   A record may carry more fields than its kind's minimum: later revisions of
   the same version append fields, which older readers ignore. A change that
   older readers must not misread bumps the version instead.

   Errors never quote the record: it may hold a secret (APOP) or be hostile.
   They say which part is wrong (version, kind, field count). */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "pop3-policy-record.h"

struct pop3_policy_record_kind_info {
	const char *name;
	unsigned int min_fields;
};

static const struct pop3_policy_record_kind_info
record_kinds[POP3_POLICY_RECORD_KIND_COUNT] = {
	[POP3_POLICY_RECORD_POLICY] = { "policy", 2 },
	[POP3_POLICY_RECORD_APOP] = { "apop", 3 },
	[POP3_POLICY_RECORD_LOGIN] = { "login", 3 },
};

const char *pop3_policy_record_kind_name(enum pop3_policy_record_kind kind)
{
	i_assert(kind < POP3_POLICY_RECORD_KIND_COUNT);
	return record_kinds[kind].name;
}

unsigned int
pop3_policy_record_kind_min_fields(enum pop3_policy_record_kind kind)
{
	i_assert(kind < POP3_POLICY_RECORD_KIND_COUNT);
	return record_kinds[kind].min_fields;
}

const char *
pop3_policy_record_encode(enum pop3_policy_record_kind kind,
			  const char *const *fields)
{
	string_t *str = t_str_new(128);

	str_printfa(str, "%u\t%s", POP3_POLICY_RECORD_VERSION,
		    pop3_policy_record_kind_name(kind));
	for (; *fields != NULL; fields++) {
		str_append_c(str, '\t');
		str_append_tabescaped(str, *fields);
	}
	return str_c(str);
}

static bool record_kind_lookup(const char *name,
				enum pop3_policy_record_kind *kind_r)
{
	unsigned int i;

	for (i = 0; i < POP3_POLICY_RECORD_KIND_COUNT; i++) {
		if (strcmp(record_kinds[i].name, name) == 0) {
			*kind_r = i;
			return TRUE;
		}
	}
	return FALSE;
}

int pop3_policy_record_decode(enum pop3_policy_record_kind kind,
			      const char *record,
			      const char *const **fields_r,
			      const char **error_r)
{
	enum pop3_policy_record_kind found_kind;
	const char *const *parts, *p;
	unsigned int version, count, min_fields;
	size_t head_len;

	i_assert(kind < POP3_POLICY_RECORD_KIND_COUNT);

	if (record[0] == '\0') {
		*error_r = "malformed record: empty value";
		return -1;
	}
	/* version and kind are plain ASCII: an escape there would let
	   "1\0010" pass as version 1 or "polic\001yy" as kind "policy" */
	p = strchr(record, '\t');
	if (p != NULL)
		p = strchr(p + 1, '\t');
	head_len = p == NULL ? strlen(record) : (size_t)(p - record);
	if (memchr(record, '\001', head_len) != NULL) {
		*error_r = "malformed record: escape character in the version "
			"or kind field";
		return -1;
	}
	parts = t_strsplit_tabescaped(record);
	count = str_array_length(parts);
	if (str_to_uint(parts[0], &version) < 0) {
		/* "-1", "abc", "1x" or a number beyond unsigned int: say
		   what is wrong without quoting it */
		*error_r = "malformed record: the version field is not "
			"a decimal number";
		return -1;
	}
	if (version == 0 || version > POP3_POLICY_RECORD_VERSION) {
		*error_r = t_strdup_printf(
			"unknown record version %u (this build reads "
			"versions 1 to %u)",
			version, POP3_POLICY_RECORD_VERSION);
		return -1;
	}
	if (count < 2) {
		*error_r = "malformed record: no kind after the version";
		return -1;
	}
	if (strcmp(parts[1], pop3_policy_record_kind_name(kind)) != 0) {
		/* Name a known kind (a value under the wrong key), but never
		   echo an unknown one: it could be anything, even a secret. */
		if (record_kind_lookup(parts[1], &found_kind)) {
			*error_r = t_strdup_printf(
				"malformed record: it is a '%s' record, "
				"expected '%s'",
				pop3_policy_record_kind_name(found_kind),
				pop3_policy_record_kind_name(kind));
		} else {
			*error_r = t_strdup_printf(
				"malformed record: unknown kind tag, "
				"expected '%s'",
				pop3_policy_record_kind_name(kind));
		}
		return -1;
	}
	min_fields = pop3_policy_record_kind_min_fields(kind);
	if (count - 2 < min_fields) {
		*error_r = t_strdup_printf(
			"malformed record: %u fields, a %s record has at "
			"least %u",
			count - 2, pop3_policy_record_kind_name(kind),
			min_fields);
		return -1;
	}
	*fields_r = parts + 2;
	return 0;
}
