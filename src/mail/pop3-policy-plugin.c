/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Wiring of the mail plugin: settings are read once per user in the
   mail_user_created hook (pop3-policy-mail-settings.h) into the plugin's
   one mail_user context, which also holds each feature's per-user state
   (retention's: pop3-policy-retention.h). A POP3 session whose policy
   record the pop3_policy userdb handed over never opens the store;
   otherwise the user's store is opened there, and a store that cannot be
   opened fails the session (user->error): the policy must never be
   skipped silently. */

#include "lib.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "pop3-policy-store.h"
#include "pop3-policy-handover.h"
#include "pop3-policy-plugin.h"
#include "pop3-policy-uidl-session.h"
#include "pop3-policy-retention.h"

const char *pop3_policy_plugin_version = DOVECOT_ABI_VERSION;

struct pop3_policy_user_module pop3_policy_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

struct event_category event_category_pop3_policy = {
	.name = "pop3-policy",
};

static void pop3_policy_mail_user_deinit_pre(struct mail_user *user)
{
	struct pop3_policy_user *puser = POP3_POLICY_USER_CONTEXT(user);

	if (puser->retention != NULL)
		pop3_policy_retention_user_deinit_pre(user, puser->retention);
	puser->module_ctx.super.deinit_pre(user);
}

static void pop3_policy_mail_user_deinit(struct mail_user *user)
{
	struct pop3_policy_user *puser = POP3_POLICY_USER_CONTEXT(user);

	if (puser->retention != NULL)
		pop3_policy_retention_user_deinit(puser->retention);
	pop3_policy_store_deinit(&puser->store);
	event_unref(&puser->event);
	puser->module_ctx.super.deinit(user);
}

/* The handover fields are the login's userdb fields, not settings: the
   reader (src/lib, which has no lib-storage) asks for them by name. */
static const char *pop3_policy_user_field(const char *name, void *context)
{
	struct mail_user *user = context;

	return mail_user_plugin_getenv(user, name);
}

/* Takes the policy record the pop3_policy userdb handed over (see
   pop3-policy-handover.h), so that the session needs no store. A
   handover that does not parse is ignored: the session then reads the
   record from the store, so nothing is lost. Returns TRUE if the record
   was handed over (puser->policy_record: NULL if the user has none). */
static bool pop3_policy_take_handover(struct mail_user *user,
				      struct pop3_policy_user *puser)
{
	struct pop3_policy_handover_record *records;
	unsigned int i, records_count;
	const char *error;
	int ret;

	ret = pop3_policy_handover_read(user->username, pop3_policy_user_field,
					user, &records, &records_count,
					&error);
	if (ret < 0) {
		e_warning(puser->event, "Ignoring the records handed over by "
			  "the userdb, reading them from the store: %s",
			  error);
		return FALSE;
	}
	for (i = 0; i < records_count && ret > 0; i++) {
		if (records[i].kind != POP3_POLICY_RECORD_POLICY)
			continue;
		puser->policy_record = p_strdup(user->pool,
						records[i].record);
		puser->policy_handed_over = TRUE;
		e_debug(puser->event, "Policy record handed over by the "
			"userdb: the session does not use the store");
		return TRUE;
	}
	return FALSE;
}

static void pop3_policy_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct pop3_policy_store_settings store_set;
	struct pop3_policy_user *puser;
	const char *error;

	puser = p_new(user->pool, struct pop3_policy_user, 1);
	puser->module_ctx.super = *v;
	user->vlast = &puser->module_ctx.super;
	v->deinit_pre = pop3_policy_mail_user_deinit_pre;
	v->deinit = pop3_policy_mail_user_deinit;
	MODULE_CONTEXT_SET(user, pop3_policy_user_module, puser);

	puser->event = event_create(user->event);
	event_add_category(puser->event, &event_category_pop3_policy);
	event_set_append_log_prefix(puser->event, "pop3-policy: ");

	/* Only a POP3 session uses the settings and the store here:
	   doveadm's commands read both themselves, per command, and other
	   services use neither. The store is opened only for the policy
	   record the userdb did not hand over. */
	if (strcmp(user->service, "pop3") != 0)
		return;
	pop3_policy_mail_settings_read(user, user->pool, NULL, &puser->set);
	if (pop3_policy_take_handover(user, puser)) {
		pop3_policy_retention_user_created(user, puser);
		return;
	}
	i_zero(&store_set);
	store_set.uri = puser->set.dict_uri;
	store_set.base_dir = user->set->base_dir;
	store_set.event_parent = puser->event;
	if (store_set.uri == NULL || store_set.uri[0] == '\0') {
		e_debug(puser->event, "Plugin initialised without a store "
			"(pop3_policy_dict is not set)");
		pop3_policy_retention_user_created(user, puser);
		return;
	}
	if (pop3_policy_store_init(&store_set, &puser->store, &error) < 0) {
		e_error(puser->event, "%s", error);
		user->error = p_strdup_printf(user->pool,
			"pop3-policy: %s", error);
		return;
	}
	/* the URI without its password: it may hold one */
	e_debug(puser->event, "Plugin initialised with a store %s",
		pop3_policy_store_uri_for_log(store_set.uri));
	pop3_policy_retention_user_created(user, puser);
}

const struct pop3_policy *
pop3_policy_plugin_capa_policy(struct mail_user *user)
{
	struct pop3_policy_user *puser = POP3_POLICY_USER_CONTEXT(user);

	return puser == NULL || puser->retention == NULL ||
		!puser->set.capa || user->error != NULL ? NULL :
		&puser->retention->policy;
}

static struct mail_storage_hooks pop3_policy_mail_storage_hooks = {
	.mail_user_created = pop3_policy_mail_user_created,
};

void pop3_policy_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &pop3_policy_mail_storage_hooks);
	pop3_policy_uidl_init(module);
	pop3_policy_retention_init(module);
}

void pop3_policy_plugin_deinit(void)
{
	pop3_policy_uidl_deinit();
	pop3_policy_retention_deinit();
	mail_storage_hooks_remove(&pop3_policy_mail_storage_hooks);
}
