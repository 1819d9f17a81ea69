/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Message keys and UIDLs (pop3-policy-uidl-key.c): a key's canonical form
   passes the check for stored keys and (but for msgid:) is a fixed point
   of the parser, and the key a session makes of a Message-ID header is
   the one an import of that Message-ID makes. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-uidl.h"

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	enum pop3_policy_uidl_key_kind kind, kind2;
	const char *canonical, *canonical2, *key, *error;

	if (pop3_policy_uidl_validate(str, &error) == 0)
		i_assert(strlen(str) <= POP3_POLICY_UIDL_MAX_LEN);
	else
		i_assert(error != NULL);
	(void)pop3_policy_uidl_key_check(str, &kind, &error);

	if (pop3_policy_uidl_key_parse(str, &canonical, &kind,
				       &error) == 0) {
		if (pop3_policy_uidl_key_check(canonical, &kind2,
					       &error) < 0)
			i_panic("canonical key %s fails the check: %s",
				canonical, error);
		i_assert(kind == kind2);
		/* a fixed point, except msgid: (it strips one pair of <>
		   each time, as a session does with the header) */
		if (kind != POP3_POLICY_UIDL_KEY_MSGID) {
			if (pop3_policy_uidl_key_parse(canonical, &canonical2,
						       &kind2, &error) < 0)
				i_panic("canonical key %s does not parse: %s",
					canonical, error);
			i_assert(strcmp(canonical, canonical2) == 0 &&
				 kind == kind2);
		}
	}

	/* a session's key of a Message-ID header is what importing
	   "msgid:<the header>" gives */
	key = pop3_policy_uidl_key_msgid(str);
	if (key != NULL && strpbrk(str, " \t\r\n") == NULL) {
		if (pop3_policy_uidl_key_parse(t_strconcat("msgid:", str, NULL),
					       &canonical, &kind,
					       &error) < 0)
			i_panic("Message-ID %s does not import: %s",
				str, error);
		i_assert(kind == POP3_POLICY_UIDL_KEY_MSGID &&
			 strcmp(key, canonical) == 0);
	}
}
