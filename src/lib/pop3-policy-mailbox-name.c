/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The check of a move:<mailbox> target: what the policy language accepts
   and what the retention executor checks again before it opens a mailbox
   named in its journal. Kept apart from the policy parser because both
   use it, and the executor has nothing else to do with policy words. */

#include "lib.h"
#include "unichar.h"
#include "pop3-policy-mailbox-name.h"

bool pop3_policy_mailbox_name_is_valid(const char *name,
				       const char **reason_r)
{
	const unsigned char *p;

	if (name[0] == '\0') {
		*reason_r = "the mailbox name is empty";
		return FALSE;
	}
	if (strlen(name) > 255) {
		*reason_r = "the mailbox name is longer than 255 bytes";
		return FALSE;
	}
	if (!uni_utf8_str_is_valid(name)) {
		*reason_r = "the mailbox name is not valid UTF-8";
		return FALSE;
	}
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*reason_r = "the mailbox name contains a control "
				"character";
			return FALSE;
		}
		if (*p == '*' || *p == '%') {
			*reason_r = "the mailbox name contains a wildcard "
				"('*' or '%')";
			return FALSE;
		}
	}
	if (name[0] == '/' || name[0] == '~' || name[0] == '.' ||
	    name[strlen(name)-1] == '/' || strstr(name, "//") != NULL ||
	    strstr(name, "/.") != NULL) {
		/* Never let a policy reach outside the mailbox tree or
		   produce an empty hierarchy level. */
		*reason_r = "the mailbox name starts with '/', '~' or '.', "
			"ends with '/' or has an empty or dot level";
		return FALSE;
	}
	if (strcasecmp(name, "INBOX") == 0) {
		/* moving INBOX mail into INBOX would remove nothing but
		   look like it did */
		*reason_r = "the mailbox is INBOX itself";
		return FALSE;
	}
	*reason_r = NULL;
	return TRUE;
}
