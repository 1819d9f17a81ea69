/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The two text formats of UIDLs an administrator hands in: the import
   file a UIDL map is made from, and a POP3 "UIDL" listing captured from
   the old server, which doveadm pop3-uidl verify compares with what a
   session serves.

   Import file, one entry a line:

     <key> SP <uidl>         e.g.  guid:0b8d1c2f5a3e6f11 000000016b038130
                                   uid:1795391833:17 AAQ123
                                   msgid:<a1@example.com> 1f0c3
                                   hdr:9f86d0...(64 hex) UID7-1

   The key ends at the first SP or TAB; one or more SP/TAB separate it from
   the UIDL, which runs to the end of the line (a trailing CR is dropped), so
   a UIDL with a trailing space is refused rather than silently trimmed.
   Empty lines and lines starting with '#' are skipped. The first bad line
   makes the whole file fail: nothing of it is imported. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "pop3-policy-uidl.h"

HASH_TABLE_DEFINE_TYPE(uidl_lines, const char *, void *);
HASH_TABLE_DEFINE_TYPE(uidl_msns, void *, void *);

static int
import_line(struct pop3_policy_uidl_map *map,
	    HASH_TABLE_TYPE(uidl_lines) uidls, const char *line,
	    unsigned int line_num, const char **error_r)
{
	enum pop3_policy_uidl_key_kind kind;
	const char *p, *key, *uidl, *canonical, *error;
	void *prev_line;

	p = line;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	key = t_strdup_until(line, p);
	while (*p == ' ' || *p == '\t')
		p++;
	uidl = p;

	if (pop3_policy_uidl_key_parse(key, &canonical, &kind, &error) < 0) {
		*error_r = t_strdup_printf("line %u: %s", line_num, error);
		return -1;
	}
	if (pop3_policy_uidl_validate(uidl, &error) < 0) {
		*error_r = t_strdup_printf("line %u: %s", line_num, error);
		return -1;
	}
	prev_line = hash_table_lookup(uidls, uidl);
	if (prev_line != NULL) {
		*error_r = t_strdup_printf(
			"line %u: UIDL %s repeats the one of line %u "
			"(UIDLs must be unique)", line_num, uidl,
			POINTER_CAST_TO(prev_line, unsigned int));
		return -1;
	}
	if (pop3_policy_uidl_map_add(map, canonical, uidl) < 0) {
		*error_r = t_strdup_printf(
			"line %u: key %s appears twice", line_num,
			str_sanitize(canonical, 80));
		return -1;
	}
	/* the map's copy outlives this data stack frame */
	hash_table_insert(uidls, pop3_policy_uidl_map_lookup(map, canonical),
			  POINTER_CAST(line_num));
	return 0;
}

/* Takes the line at *p (up to LF or CRLF, or end) onto the data stack and
   moves *p past it. Returns the line, or NULL with error_r when it holds a
   NUL byte (which would end it early). */
static const char *
text_next_line(const char **p, const char *end, unsigned int line_num,
	       const char **error_r)
{
	const char *nl = memchr(*p, '\n', end - *p);
	const char *start = *p;
	size_t len = (nl == NULL ? end : nl) - start;

	*p = nl == NULL ? end : nl + 1;
	if (len > 0 && start[len-1] == '\r')
		len--;
	if (memchr(start, '\0', len) != NULL) {
		*error_r = t_strdup_printf("line %u: contains a NUL byte",
					   line_num);
		return NULL;
	}
	return t_strndup(start, len);
}

int pop3_policy_uidl_import_parse(const char *data, size_t size,
				  struct pop3_policy_uidl_map **map_r,
				  const char **error_r)
{
	struct pop3_policy_uidl_map *map;
	HASH_TABLE_TYPE(uidl_lines) uidls;
	const char *p = data, *end = data + size, *line;
	unsigned int line_num = 0;
	int ret = 0;

	map = pop3_policy_uidl_map_create();
	hash_table_create(&uidls, default_pool, 0, str_hash, strcmp);
	while (p < end && ret == 0) {
		line_num++;
		T_BEGIN {
			line = text_next_line(&p, end, line_num, error_r);
			if (line == NULL)
				ret = -1;
			else if (line[0] != '\0' && line[0] != '#') {
				ret = import_line(map, uidls, line, line_num,
						  error_r);
			}
		} T_END_PASS_STR_IF(ret < 0, error_r);
	}
	hash_table_destroy(&uidls);
	if (ret < 0) {
		pop3_policy_uidl_map_free(&map);
		return -1;
	}
	*map_r = map;
	return 0;
}

static int
listing_line(const char *line, unsigned int line_num, pool_t pool,
	     ARRAY_TYPE(pop3_policy_uidl_listing_line) *lines,
	     HASH_TABLE_TYPE(uidl_lines) uidls,
	     HASH_TABLE_TYPE(uidl_msns) msns, const char **error_r)
{
	struct pop3_policy_uidl_listing_line *l;
	const char *p, *error;
	unsigned int msn, prev;

	p = strchr(line, ' ');
	if (p == NULL || str_to_uint(t_strdup_until(line, p), &msn) < 0 ||
	    msn == 0) {
		*error_r = t_strdup_printf("line %u: expected "
			"\"<message number> <uidl>\"", line_num);
		return -1;
	}
	p++;
	if (pop3_policy_uidl_validate(p, &error) < 0) {
		*error_r = t_strdup_printf("line %u: %s", line_num, error);
		return -1;
	}
	prev = POINTER_CAST_TO(hash_table_lookup(uidls, p), unsigned int);
	if (prev != 0) {
		*error_r = t_strdup_printf("line %u: UIDL %s repeats the one "
			"of line %u", line_num, p, prev);
		return -1;
	}
	prev = POINTER_CAST_TO(hash_table_lookup(msns, POINTER_CAST(msn)),
			       unsigned int);
	if (prev != 0) {
		*error_r = t_strdup_printf("line %u: message number %u "
			"repeats the one of line %u", line_num, msn, prev);
		return -1;
	}
	hash_table_insert(msns, POINTER_CAST(msn), POINTER_CAST(line_num));
	l = array_append_space(lines);
	l->line = line_num;
	l->msn = msn;
	l->uidl = p_strdup(pool, p);
	hash_table_insert(uidls, l->uidl, POINTER_CAST(line_num));
	return 0;
}

int pop3_policy_uidl_listing_parse(const char *data, size_t size, pool_t pool,
	ARRAY_TYPE(pop3_policy_uidl_listing_line) *lines_r,
	const char **error_r)
{
	HASH_TABLE_TYPE(uidl_lines) uidls;
	HASH_TABLE_TYPE(uidl_msns) msns;
	const char *p = data, *end = data + size;
	unsigned int line_num = 0;
	bool ended = FALSE;
	int ret = 0;

	p_array_init(lines_r, pool, 64);
	hash_table_create(&uidls, default_pool, 0, str_hash, strcmp);
	hash_table_create_direct(&msns, default_pool, 0);
	while (p < end && ret == 0) {
		line_num++;
		T_BEGIN {
			const char *line =
				text_next_line(&p, end, line_num, error_r);

			if (line == NULL) {
				ret = -1;
			} else if (line[0] == '\0') {
				/* empty lines are skipped */
			} else if (ended) {
				*error_r = t_strdup_printf("line %u: text "
					"after the final \".\"", line_num);
				ret = -1;
			} else if (strcmp(line, ".") == 0) {
				ended = TRUE;
			} else if (line_num == 1 && str_begins(line, "+OK")) {
				/* the status line of the capture */
			} else {
				ret = listing_line(line, line_num, pool,
						   lines_r, uidls, msns,
						   error_r);
			}
		} T_END_PASS_STR_IF(ret < 0, error_r);
	}
	hash_table_destroy(&uidls);
	hash_table_destroy(&msns);
	return ret;
}
