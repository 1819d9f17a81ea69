/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The mail plugin's policy glue, built into the doveadm plugin too, so
   that doveadm resolves a user's policy exactly as a POP3 session does
   (the two modules cannot call each other). */

#include "../mail/pop3-policy-retention-settings.c"
