/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Retention of a POP3 session's user. Nothing is removed while the client
   waits: DELE'd messages are only recorded at QUIT (see
   pop3-policy-retention-storage.c) and removed, with the removals the
   policy owes (expire, max_age, hold expiry), in deinit_pre, which the
   pop3 process runs after the QUIT reply was sent and the socket closed.
   A session without QUIT removes nothing and records nothing. A session
   with QUIT also finishes what a retention run killed before it left
   (pop3-policy-retention-move.c), even if it removes nothing itself. */

#include "lib.h"
#include "array.h"
#include "mail-user.h"
#include "pop3-policy-store.h"
#include "pop3-policy-plugin.h"
#include "pop3-policy-retention-run.h"
#include "pop3-policy-retention-settings.h"
#include "pop3-policy-retention.h"

/* A DELE waits this long for a concurrent sweep to finish */
#define RETENTION_DELE_LOCK_SECS 30

static void retention_log_counts(struct pop3_policy_retention_user *ruser,
				 const struct pop3_policy_run_counts *counts)
{
	unsigned int i;

	for (i = 0; i < POP3_POLICY_REASON_COUNT; i++) {
		if (counts->removed[i] == 0)
			continue;
		e_debug(ruser->event, "%s %u message(s) (reason %s)",
			ruser->policy.dry_run ? "Would remove" : "Removed",
			counts->removed[i], pop3_policy_reason_name(i));
	}
}

static void retention_run(struct mail_user *user,
			  struct pop3_policy_retention_user *ruser)
{
	struct pop3_policy_run_settings set;
	struct pop3_policy_run_counts counts;
	const char *error;

	i_zero(&set);
	set.policy = &ruser->policy;
	set.quarantine = ruser->quarantine;
	set.event = ruser->event;
	i_zero(&counts);

	set.lock_secs = RETENTION_DELE_LOCK_SECS;
	if (array_count(&ruser->dele_uids) > 0) {
		if (pop3_policy_run_dele(user, &set, &ruser->dele_uids,
					 &counts, &error) < 0) {
			e_error(ruser->event, "DELE'd messages were kept: %s",
				error);
		}
	} else {
		/* a killed run's leftovers: a DELE run repairs first, else
		   this (one stat() when there is nothing); if a sweep holds
		   the lock, it repairs */
		set.lock_secs = 0;
		if (pop3_policy_run_repair(user, &set, &error) < 0)
			e_error(ruser->event, "%s", error);
	}
	/* a running sweep does the same work: don't wait for it. Messages
	   retrieved in this session may be due at once (expire=0). */
	set.lock_secs = 0;
	if ((ruser->owed_possible ||
	     (array_count(&ruser->retr_uids) > 0 &&
	      ruser->policy.expire_secs == 0)) &&
	    pop3_policy_run_owed(user, &set, &counts, &error) < 0)
		e_error(ruser->event, "Owed removals failed: %s", error);
	retention_log_counts(ruser, &counts);
}

void pop3_policy_retention_user_deinit_pre(struct mail_user *user,
				struct pop3_policy_retention_user *ruser)
{
	e_debug(ruser->event, "Session ended (%s QUIT): %u DELE'd, "
		"%u retrieved whole", ruser->quit_seen ? "with" : "without",
		seq_range_count(&ruser->dele_uids),
		seq_range_count(&ruser->retr_uids));
	if (ruser->quit_seen) T_BEGIN {
		retention_run(user, ruser);
	} T_END;
}

void
pop3_policy_retention_user_deinit(struct pop3_policy_retention_user *ruser)
{
	event_unref(&ruser->event);
}

void pop3_policy_retention_user_created(struct mail_user *user,
					struct pop3_policy_user *puser)
{
	struct pop3_policy_retention_user *ruser;
	struct pop3_policy_handed_record handed = {
		.record = puser->policy_record,
	};
	const char *error;

	if (strcmp(user->service, "pop3") != 0 || user->error != NULL) {
		/* doveadm resolves policies per command; other services
		   have no POP3 sessions */
		return;
	}
	ruser = p_new(user->pool, struct pop3_policy_retention_user, 1);
	ruser->event = event_create(puser->event);
	p_array_init(&ruser->dele_uids, user->pool, 16);
	p_array_init(&ruser->retr_uids, user->pool, 16);
	ruser->quarantine = puser->set.quarantine;
	/* a bad quarantine is this session's error too */
	error = puser->set.quarantine_error;
	if (error == NULL &&
	    pop3_policy_retention_settings_resolve(user, &puser->set,
			puser->store,
			puser->policy_handed_over ? &handed : NULL,
			user->pool, NULL, &ruser->policy, &error) < 0) {
		/* error set */
	}
	if (error != NULL) {
		/* fail closed: a session with a policy we cannot read
		   could remove what the policy keeps */
		e_error(ruser->event, "%s", error);
		user->error = p_strconcat(user->pool, "pop3-policy: ",
					  error, NULL);
		event_unref(&ruser->event);
		return;
	}
	puser->retention = ruser;
}
