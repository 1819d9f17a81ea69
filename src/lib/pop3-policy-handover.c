/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Handing a POP3 session the policy record it reads at its start.

   The store is the administrator's and only trusted processes reach it:
   the pop3_policy userdb runs in the auth process, right before the
   session starts, and hands the user's policy record (which the login
   check has usually just read) to the session as userdb fields:

     pop3_policy_handover_user=<user>
     pop3_policy_handover=policy
     pop3_policy_handover_policy=<policy record>

   so that the session never opens the store. The kinds field lists what
   was read; a record's field is absent if the user has none. A record
   that could not be read (the store failed) or does not fit
   (POP3_POLICY_HANDOVER_MAX_BYTES) is left out of the list, and the
   session reads it from the store (if it may reach it), with the same
   fail-closed errors. The records are passed as stored, so the session
   decodes and checks them exactly as if it had read them.

   Values are tab-escaped (str_tabescape()) and '%' is doubled: Dovecot
   applies userdb fields that are not settings as plugin settings, and
   expands %variables in every plugin setting (mail_user_init()), which
   turns "%%" back into "%". */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "pop3-policy-handover.h"

const enum pop3_policy_record_kind pop3_policy_handover_kinds[] = {
	POP3_POLICY_RECORD_POLICY,
};
const unsigned int pop3_policy_handover_kinds_count =
	N_ELEMENTS(pop3_policy_handover_kinds);

static bool handover_kind_is_known(enum pop3_policy_record_kind kind)
{
	unsigned int i;

	for (i = 0; i < pop3_policy_handover_kinds_count; i++) {
		if (pop3_policy_handover_kinds[i] == kind)
			return TRUE;
	}
	return FALSE;
}

const char *
pop3_policy_handover_record_field(enum pop3_policy_record_kind kind)
{
	switch (kind) {
	case POP3_POLICY_RECORD_POLICY:
		return "pop3_policy_handover_policy";
	default:
		i_unreached();
	}
}

static const char *handover_encode(const char *value)
{
	string_t *str = t_str_new(strlen(value) + 16);
	const char *p;

	for (p = str_tabescape(value); *p != '\0'; p++) {
		if (*p == '%')
			str_append_c(str, '%');
		str_append_c(str, *p);
	}
	return str_c(str);
}

const char *const *
pop3_policy_handover_fields(const char *user,
			    const struct pop3_policy_handover_record *records,
			    unsigned int count)
{
	ARRAY_TYPE(const_string) fields;
	string_t *kinds = t_str_new(64);
	const char *name, *value;
	size_t used = 0;
	unsigned int i;

	t_array_init(&fields, count * 2 + 5);
	for (i = 0; i < count; i++) {
		enum pop3_policy_record_kind kind = records[i].kind;

		i_assert(handover_kind_is_known(kind));
		value = records[i].record == NULL ? NULL :
			handover_encode(records[i].record);
		if (value != NULL) {
			/* left out (not listed): the session reads it */
			if (used + strlen(value) >
			    POP3_POLICY_HANDOVER_MAX_BYTES)
				continue;
			used += strlen(value);
			name = pop3_policy_handover_record_field(kind);
			array_push_back(&fields, &name);
			array_push_back(&fields, &value);
		}
		if (str_len(kinds) > 0)
			str_append_c(kinds, ' ');
		str_append(kinds, pop3_policy_record_kind_name(kind));
	}
	if (str_len(kinds) == 0) {
		array_append_zero(&fields);
		return array_front(&fields);
	}
	name = POP3_POLICY_HANDOVER_USER_FIELD;
	value = handover_encode(user);
	array_push_back(&fields, &name);
	array_push_back(&fields, &value);
	name = POP3_POLICY_HANDOVER_KINDS_FIELD;
	value = str_c(kinds);
	array_push_back(&fields, &name);
	array_push_back(&fields, &value);
	array_append_zero(&fields);
	return array_front(&fields);
}

static int handover_kind_parse(const char *name,
			       enum pop3_policy_record_kind *kind_r)
{
	unsigned int i;

	for (i = 0; i < pop3_policy_handover_kinds_count; i++) {
		if (strcmp(pop3_policy_record_kind_name(
				pop3_policy_handover_kinds[i]), name) == 0) {
			*kind_r = pop3_policy_handover_kinds[i];
			return 0;
		}
	}
	return -1;
}

int pop3_policy_handover_read(const char *user,
			      const char *(*get_field)(const char *name,
						       void *context),
			      void *context,
			      struct pop3_policy_handover_record **records_r,
			      unsigned int *count_r, const char **error_r)
{
	struct pop3_policy_handover_record *records;
	const char *kinds, *const *names, *handed_user, *value;
	enum pop3_policy_record_kind kind;
	unsigned int i, j, count;

	kinds = get_field(POP3_POLICY_HANDOVER_KINDS_FIELD, context);
	if (kinds == NULL)
		return 0;
	handed_user = get_field(POP3_POLICY_HANDOVER_USER_FIELD, context);
	if (handed_user == NULL) {
		*error_r = POP3_POLICY_HANDOVER_USER_FIELD" is missing";
		return -1;
	}
	if (strcmp(str_tabunescape(t_strdup_noconst(handed_user)),
		   user) != 0) {
		*error_r = POP3_POLICY_HANDOVER_USER_FIELD
			" names another user";
		return -1;
	}
	names = t_strsplit_spaces(kinds, " ");
	count = str_array_length(names);
	records = t_new(struct pop3_policy_handover_record, count + 1);
	for (i = 0; i < count; i++) {
		if (handover_kind_parse(names[i], &kind) < 0) {
			*error_r = POP3_POLICY_HANDOVER_KINDS_FIELD
				": unknown record kind";
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (records[j].kind == kind) {
				*error_r = POP3_POLICY_HANDOVER_KINDS_FIELD
					": a record kind is listed twice";
				return -1;
			}
		}
		value = get_field(pop3_policy_handover_record_field(kind),
				  context);
		records[i].kind = kind;
		records[i].record = value == NULL ? NULL :
			str_tabunescape(t_strdup_noconst(value));
	}
	*records_r = records;
	*count_r = count;
	return 1;
}
