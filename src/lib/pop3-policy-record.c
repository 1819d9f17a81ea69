/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The value layout of every record pop3-policy keeps in its dict.

   A record is one line of TAB-separated fields:

     <version> TAB <kind> TAB <field 1> TAB ... TAB <field n>

   - version: decimal, POP3_POLICY_RECORD_VERSION (1) for everything this
     build writes. A reader refuses a version it does not know instead of
     guessing: the store is shared by backends that may run different builds.
   - kind: the record's kind tag ("policy", "apop", "login", "uidl-guard",
     "uidl-map", "uidl-map-chunk"). It is repeated in the value so that a value
     copied under the wrong key is caught rather than misread.
   - fields: escaped with Dovecot's tab escaping (str_tabescape: \001 -> \0011,
     TAB -> \001t, LF -> \001n, CR -> \001r), so any field may contain any
     byte but NUL.

   Worked example, the policy record of user "alice" set with
   `doveadm pop3-policy set -u alice on_delete=hold hold=7d` at 1795391833:

     key   shared/pop3-policy/policy/alice
     value "1\tpolicy\t1795391833\ton_delete=hold hold=7d"

   The fields of each kind are listed in include/pop3-policy-record.h and the
   README. A record may carry more fields than its kind's minimum: later
   versions of the same layout append fields, which older readers ignore. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "str-sanitize.h"
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
	[POP3_POLICY_RECORD_UIDL_GUARD] = { "uidl-guard", 2 },
	[POP3_POLICY_RECORD_UIDL_MAP_INDEX] = { "uidl-map", 3 },
	[POP3_POLICY_RECORD_UIDL_MAP_CHUNK] = { "uidl-map-chunk", 1 },
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

int pop3_policy_record_decode(enum pop3_policy_record_kind kind,
			      const char *record,
			      const char *const **fields_r,
			      const char **error_r)
{
	const char *const *parts;
	unsigned int version, count;

	if (record[0] == '\0') {
		*error_r = "malformed record: empty value";
		return -1;
	}
	parts = t_strsplit_tabescaped(record);
	count = str_array_length(parts);
	if (str_to_uint(parts[0], &version) < 0) {
		*error_r = "malformed record: no version number at its start";
		return -1;
	}
	if (version == 0 || version > POP3_POLICY_RECORD_VERSION) {
		*error_r = t_strdup_printf(
			"unknown record version %u (this build reads up to %u)",
			version, POP3_POLICY_RECORD_VERSION);
		return -1;
	}
	if (count < 2) {
		*error_r = "malformed record: no kind after the version";
		return -1;
	}
	if (strcmp(parts[1], pop3_policy_record_kind_name(kind)) != 0) {
		*error_r = t_strdup_printf(
			"malformed record: kind is '%s', expected '%s'",
			str_sanitize(parts[1], 20),
			pop3_policy_record_kind_name(kind));
		return -1;
	}
	if (count - 2 < pop3_policy_record_kind_min_fields(kind)) {
		*error_r = t_strdup_printf(
			"malformed record: %u fields, a %s record has at least %u",
			count - 2, pop3_policy_record_kind_name(kind),
			pop3_policy_record_kind_min_fields(kind));
		return -1;
	}
	*fields_r = parts + 2;
	return 0;
}
