/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The handover userdb fields (pop3-policy-handover.c) as a session reads
   them. The input is lines: the session's user, then "<field>=<value>"
   lines. Records that are read must be handed over again unchanged:
   pop3_policy_handover_fields() of them, with '%%' expanded as Dovecot
   does, reads back to the same records. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "fuzz-common.h"
#include "pop3-policy-handover.h"

static const char *fuzz_get_field(const char *name, void *context)
{
	const char *const *line = context;
	size_t len = strlen(name);

	for (; *line != NULL; line++) {
		if (strncmp(*line, name, len) == 0 && (*line)[len] == '=')
			return *line + len + 1;
	}
	return NULL;
}

/* Dovecot's %variable expansion of a plugin setting, for "%%" */
static const char *fuzz_expand(const char *value)
{
	string_t *str = t_str_new(strlen(value));

	for (; *value != '\0'; value++) {
		if (value[0] == '%' && value[1] == '%')
			value++;
		str_append_c(str, *value);
	}
	return str_c(str);
}

static void
fuzz_handover_again(const char *user,
		    const struct pop3_policy_handover_record *records,
		    unsigned int count)
{
	struct pop3_policy_handover_record *records2;
	ARRAY_TYPE(const_string) lines;
	const char *const *fields, *line, *error;
	unsigned int i, j, count2;

	t_array_init(&lines, 8);
	fields = pop3_policy_handover_fields(user, records, count);
	for (; fields[0] != NULL; fields += 2) {
		line = t_strconcat(fields[0], "=", fuzz_expand(fields[1]),
				   NULL);
		array_push_back(&lines, &line);
	}
	array_append_zero(&lines);
	if (count == 0)
		return;
	if (pop3_policy_handover_read(user, fuzz_get_field,
				      (void *)array_front(&lines), &records2,
				      &count2, &error) <= 0)
		i_panic("handed-over fields do not read back: %s", error);
	i_assert(count2 <= count);
	for (i = 0; i < count2; i++) {
		for (j = 0; j < count; j++) {
			if (records[j].kind == records2[i].kind)
				break;
		}
		i_assert(j < count);
		i_assert(null_strcmp(records[j].record,
				     records2[i].record) == 0);
	}
}

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	struct pop3_policy_handover_record *records;
	const char *const *lines, *const *fields, *error;
	unsigned int i, count;
	int ret;

	lines = t_strsplit(str, "\n");
	if (lines[0] == NULL)
		return;
	ret = pop3_policy_handover_read(lines[0], fuzz_get_field,
					(void *)(lines + 1), &records, &count,
					&error);
	if (ret < 0)
		i_assert(error != NULL);
	if (ret <= 0)
		return;
	for (i = 0; i < count; i++) {
		if (records[i].record != NULL) {
			(void)pop3_policy_record_decode(records[i].kind,
							records[i].record,
							&fields, &error);
		}
	}
	fuzz_handover_again(lines[0], records, count);
}
