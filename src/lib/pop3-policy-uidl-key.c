/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* UIDLs and message keys: UIDL validation (RFC 1939 section 7), the UIDL
   of Dovecot's default pop3_uidl_format, and the keys a map entry names a
   message by (uid:, guid:, msgid:, hdr:): building them, and parsing and
   normalising them as an import or a map file gives them. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "pop3-policy-uidl.h"

#include <ctype.h>

static const char *const key_prefixes[POP3_POLICY_UIDL_KEY_KIND_COUNT] = {
	[POP3_POLICY_UIDL_KEY_UID] = "uid:",
	[POP3_POLICY_UIDL_KEY_GUID] = "guid:",
	[POP3_POLICY_UIDL_KEY_MSGID] = "msgid:",
	[POP3_POLICY_UIDL_KEY_HDR] = "hdr:",
};

int pop3_policy_uidl_validate(const char *uidl, const char **error_r)
{
	size_t i, len = strlen(uidl);

	if (len == 0) {
		*error_r = "UIDL is empty (RFC 1939 needs 1 to 70 characters)";
		return -1;
	}
	if (len > POP3_POLICY_UIDL_MAX_LEN) {
		*error_r = t_strdup_printf(
			"UIDL is %zu characters long (RFC 1939 allows at most %u)",
			len, POP3_POLICY_UIDL_MAX_LEN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = uidl[i];

		if (c < 0x21 || c > 0x7e) {
			*error_r = t_strdup_printf(
				"UIDL has character 0x%02x at position %zu "
				"(RFC 1939 allows only 0x21-0x7E)", c, i + 1);
			return -1;
		}
	}
	return 0;
}

static bool is_printable_word(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return FALSE;
	}
	return TRUE;
}

const char *pop3_policy_uidl_key_uid(uint32_t uidvalidity, uint32_t uid)
{
	return t_strdup_printf("uid:%u:%u", uidvalidity, uid);
}

const char *pop3_policy_uidl_format_default(uint32_t uidvalidity,
					    uint32_t uid)
{
	static const char hex[] = "0123456789abcdef";
	char *uidl = t_malloc_no0(8 + 8 + 1);
	unsigned int i;

	for (i = 0; i < 8; i++) {
		uidl[i] = hex[(uid >> (28 - 4 * i)) & 0xf];
		uidl[8 + i] = hex[(uidvalidity >> (28 - 4 * i)) & 0xf];
	}
	uidl[16] = '\0';
	return uidl;
}

const char *pop3_policy_uidl_key_uid_pool(pool_t pool, uint32_t uidvalidity,
					  uint32_t uid)
{
	char buf[4 + 10 + 1 + 10 + 1], digits[10];
	unsigned int len = 0, n, i;
	const uint32_t nums[2] = { uidvalidity, uid };

	memcpy(buf, "uid:", 4);
	len = 4;
	for (i = 0; i < 2; i++) {
		uint32_t v = nums[i];

		n = 0;
		do {
			digits[n++] = '0' + v % 10;
			v /= 10;
		} while (v > 0);
		while (n > 0)
			buf[len++] = digits[--n];
		if (i == 0)
			buf[len++] = ':';
	}
	return p_strndup(pool, buf, len);
}

const char *pop3_policy_uidl_key_guid(const char *guid)
{
	return t_strconcat("guid:", guid, NULL);
}

const char *pop3_policy_uidl_key_msgid(const char *message_id)
{
	const char *p, *end;

	/* trim whitespace (folded headers leave some) and one pair of <> */
	p = message_id;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end - p >= 2 && *p == '<' && end[-1] == '>') {
		p++;
		end--;
	}
	if (end == p)
		return NULL;
	p = t_strdup_until(p, end);
	if (!is_printable_word(p))
		return NULL;
	return t_strconcat("msgid:", p, NULL);
}

static int key_parse_uid(const char *value, const char **canonical_r,
			 const char **error_r)
{
	const char *p;
	uint32_t uidvalidity, uid;

	p = strchr(value, ':');
	if (p == NULL ||
	    str_to_uint32(t_strdup_until(value, p), &uidvalidity) < 0 ||
	    str_to_uint32(p + 1, &uid) < 0 || uidvalidity == 0 || uid == 0) {
		*error_r = "uid: key must be uid:<uidvalidity>:<uid> with "
			"two non-zero 32-bit decimal numbers";
		return -1;
	}
	*canonical_r = pop3_policy_uidl_key_uid(uidvalidity, uid);
	return 0;
}

static int key_parse_hdr(const char *value, const char **canonical_r,
			 const char **error_r)
{
	size_t i, len = strlen(value);

	if (len != 64) {
		*error_r = t_strdup_printf(
			"hdr: key must be 64 hex digits (SHA-256), not %zu "
			"characters", len);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!i_isxdigit(value[i])) {
			*error_r = "hdr: key has a character that is not a hex digit";
			return -1;
		}
	}
	*canonical_r = t_strconcat("hdr:", t_str_lcase(value), NULL);
	return 0;
}

int pop3_policy_uidl_key_parse(const char *key, const char **canonical_r,
			       enum pop3_policy_uidl_key_kind *kind_r,
			       const char **error_r)
{
	enum pop3_policy_uidl_key_kind kind;
	const char *value = NULL;

	for (kind = 0; kind < POP3_POLICY_UIDL_KEY_KIND_COUNT; kind++) {
		if (str_begins(key, key_prefixes[kind])) {
			value = key + strlen(key_prefixes[kind]);
			break;
		}
	}
	if (value == NULL) {
		*error_r = t_strdup_printf(
			"unknown key '%s' (expected guid:, hdr:, msgid: or uid:)",
			str_sanitize(key, 40));
		return -1;
	}
	if (value[0] == '\0') {
		*error_r = t_strdup_printf("%s key has no value",
					   key_prefixes[kind]);
		return -1;
	}
	if (!is_printable_word(value)) {
		*error_r = "key has a character outside 0x21-0x7E";
		return -1;
	}
	*kind_r = kind;
	switch (kind) {
	case POP3_POLICY_UIDL_KEY_UID:
		return key_parse_uid(value, canonical_r, error_r);
	case POP3_POLICY_UIDL_KEY_HDR:
		return key_parse_hdr(value, canonical_r, error_r);
	case POP3_POLICY_UIDL_KEY_MSGID:
		*canonical_r = pop3_policy_uidl_key_msgid(value);
		if (*canonical_r == NULL) {
			*error_r = "msgid: key is empty inside its <>";
			return -1;
		}
		return 0;
	case POP3_POLICY_UIDL_KEY_GUID:
		*canonical_r = t_strdup(key);
		return 0;
	case POP3_POLICY_UIDL_KEY_KIND_COUNT:
		break;
	}
	i_unreached();
}

int pop3_policy_uidl_key_check(const char *key,
			       enum pop3_policy_uidl_key_kind *kind_r,
			       const char **error_r)
{
	enum pop3_policy_uidl_key_kind kind;
	size_t len;

	for (kind = 0; kind < POP3_POLICY_UIDL_KEY_KIND_COUNT; kind++) {
		len = strlen(key_prefixes[kind]);
		if (strncmp(key, key_prefixes[kind], len) == 0)
			break;
	}
	if (kind == POP3_POLICY_UIDL_KEY_KIND_COUNT) {
		*error_r = "unknown key kind";
		return -1;
	}
	if (key[len] == '\0' || !is_printable_word(key + len)) {
		*error_r = "key has no value or a character outside 0x21-0x7E";
		return -1;
	}
	if (kind == POP3_POLICY_UIDL_KEY_HDR &&
	    (strlen(key + len) != 64 ||
	     strspn(key + len, "0123456789abcdef") != 64)) {
		*error_r = "hdr: key is not 64 lower-case hex digits";
		return -1;
	}
	if (kind == POP3_POLICY_UIDL_KEY_UID) {
		const char *p = key + len;
		size_t n1 = strspn(p, "0123456789");

		if (n1 == 0 || p[n1] != ':' ||
		    strspn(p + n1 + 1, "0123456789") != strlen(p + n1 + 1) ||
		    p[n1 + 1] == '\0') {
			*error_r = "uid: key is not uid:<uidvalidity>:<uid>";
			return -1;
		}
	}
	*kind_r = kind;
	return 0;
}

enum pop3_policy_uidl_key_kind
pop3_policy_uidl_key_kind(const char *canonical)
{
	enum pop3_policy_uidl_key_kind kind;

	for (kind = 0; kind < POP3_POLICY_UIDL_KEY_KIND_COUNT; kind++) {
		if (str_begins(canonical, key_prefixes[kind]))
			return kind;
	}
	i_unreached();
}
