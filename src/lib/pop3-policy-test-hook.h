#ifndef POP3_POLICY_TEST_HOOK_H
#define POP3_POLICY_TEST_HOOK_H

/* Named points in the middle of store-changing work (a retention move's
   steps), where a test build kills its own process, so that the kill tests
   (tests/integration/test-kill.c) interrupt the work at exactly that step
   instead of guessing it from timing.

   Only `configure --enable-test-hooks` defines POP3_POLICY_TEST_HOOKS (in
   CFLAGS); without it (a release build) POP3_POLICY_TEST_POINT() expands
   to nothing and no hook code is compiled at all. With it, a process whose environment
   has POP3_POLICY_TEST_KILL_AT=<name> (or <name>:<n>, the n-th time the
   point is reached, default 1) sends itself SIGKILL there. Dovecot's
   services get the variable through import_environment. */

#ifdef POP3_POLICY_TEST_HOOKS
void pop3_policy_test_point(const char *name);
#  define POP3_POLICY_TEST_POINT(name) pop3_policy_test_point(name)
#else
#  define POP3_POLICY_TEST_POINT(name) ((void)0)
#endif

#endif
