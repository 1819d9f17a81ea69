/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The test build's kill points (see pop3-policy-test-hook.h); nothing of
   this is compiled into a release build. */

#include "lib.h"
#include "strnum.h"
#include "pop3-policy-test-hook.h"

#ifdef POP3_POLICY_TEST_HOOKS

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

void pop3_policy_test_point(const char *name)
{
	/* one point is armed per process: count its hits only */
	static unsigned int hits = 0;
	const char *at = getenv("POP3_POLICY_TEST_KILL_AT");
	const char *sep;
	unsigned int nth = 1;
	size_t len;

	if (at == NULL)
		return;
	sep = strchr(at, ':');
	len = sep == NULL ? strlen(at) : (size_t)(sep - at);
	if (strncmp(at, name, len) != 0 || name[len] != '\0')
		return;
	if (sep != NULL && (str_to_uint(sep + 1, &nth) < 0 || nth == 0))
		i_fatal("POP3_POLICY_TEST_KILL_AT=%s: bad count", at);
	if (++hits < nth)
		return;
	/* written to the log before the kill: the tests wait for it */
	i_info("test point %s reached (%u): killing myself", name, hits);
	(void)kill(getpid(), SIGKILL);
}

#endif
