/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The move:<mailbox> name check (pop3-policy-mailbox-name.c). A name it
   accepts must also be accepted inside a policy word
   (pop3-policy-rules.c). */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-mailbox-name.h"
#include "pop3-policy-rules.h"

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	struct pop3_policy policy;
	const char *reason, *error;

	if (!pop3_policy_mailbox_name_is_valid(str, &reason)) {
		i_assert(reason != NULL);
		return;
	}
	pop3_policy_init(&policy);
	if (strpbrk(str, " \t\r\n") != NULL)
		return;
	if (pop3_policy_parse(&policy, pool_datastack_create(),
			      t_strconcat("on_delete=move:", str, NULL),
			      POP3_POLICY_LAYER_USERDB, NULL, NULL,
			      &error) < 0)
		i_panic("valid mailbox name refused in a policy: %s", error);
	i_assert(strcmp(policy.move_mailbox, str) == 0);
}
