/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The doveadm plugin works out UIDLs with the very code of the mail
   plugin's POP3 sessions, so that export, snapshot and verify show what a
   client is served. The two modules share no symbols (each exports only its
   loader's), so the source is compiled into both. */

#include "pop3-policy-uidl-mailbox.c"
