/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The policy language: parsing, classes, key-by-key merging of the layers
   and the decisions taken from a resolved policy.

   Grammar: words separated by spaces or tabs, each "key=value" with the
   value running to the end of the word (so a move:<mailbox> target cannot
   contain spaces). "class=<name>" expands the class's own policy string in
   place; words after it in the same string override what it set.

   Within one string a key may appear once (or repeated with the same
   value); two different values, hold=<d> next to an on_delete other than
   hold, or login_burst without login_delay are contradictions the
   administrator must resolve, so they are refused rather than guessed at.
   Across layers later always wins: that is the point of layering. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "settings-parser.h"
#include "pop3-policy-mailbox-name.h"
#include "pop3-policy-rules.h"

struct policy_parse_ctx {
	struct pop3_policy *policy;
	pool_t pool;
	pop3_policy_class_lookup_t *lookup;
	void *context;
	/* names of the classes being expanded, innermost last */
	const char *class_stack[POP3_POLICY_MAX_CLASS_DEPTH];
	unsigned int class_depth;
	/* classes expanded so far by this parse: classes that name the
	   same classes again would otherwise grow the work exponentially
	   with the depth (in the auth process too) */
	unsigned int class_expansions;
};

static const char *const key_names[POP3_POLICY_KEY_COUNT] = {
	[POP3_POLICY_KEY_ON_DELETE] = "on_delete",
	[POP3_POLICY_KEY_HOLD] = "hold",
	[POP3_POLICY_KEY_EXPIRE] = "expire",
	[POP3_POLICY_KEY_MAX_AGE] = "max_age",
	[POP3_POLICY_KEY_LOGIN_DELAY] = "login_delay",
	[POP3_POLICY_KEY_LOGIN_BURST] = "login_burst",
	[POP3_POLICY_KEY_APOP_ONLY] = "apop_only",
	[POP3_POLICY_KEY_LEGAL_HOLD] = "legal_hold",
	[POP3_POLICY_KEY_DRY_RUN] = "dry_run",
};

static const char *const layer_names[] = {
	[POP3_POLICY_LAYER_DEFAULT] = "default",
	[POP3_POLICY_LAYER_SITE] = "site",
	[POP3_POLICY_LAYER_CLASS] = "class",
	[POP3_POLICY_LAYER_USERDB] = "userdb",
	[POP3_POLICY_LAYER_STORE] = "store",
};

void pop3_policy_init(struct pop3_policy *policy_r)
{
	i_zero(policy_r);
	policy_r->on_delete = POP3_POLICY_ON_DELETE_EXPUNGE;
	policy_r->hold_secs = 14 * 24 * 3600;
	policy_r->expire_secs = POP3_POLICY_NEVER;
	policy_r->max_age_secs = POP3_POLICY_NEVER;
	/* all origins are POP3_POLICY_LAYER_DEFAULT (0) */
}

const char *pop3_policy_key_name(enum pop3_policy_key key)
{
	i_assert(key < POP3_POLICY_KEY_COUNT);
	return key_names[key];
}

const char *pop3_policy_layer_name(enum pop3_policy_layer layer)
{
	i_assert(layer < N_ELEMENTS(layer_names));
	return layer_names[layer];
}

static int policy_key_lookup(const char *name, enum pop3_policy_key *key_r)
{
	unsigned int i;

	for (i = 0; i < POP3_POLICY_KEY_COUNT; i++) {
		if (strcmp(key_names[i], name) == 0) {
			*key_r = i;
			return 0;
		}
	}
	return -1;
}

static int
policy_parse_duration(const char *value, bool never_ok,
		      unsigned int *secs_r, const char **reason_r)
{
	const char *error;

	if (never_ok && strcmp(value, "never") == 0) {
		*secs_r = POP3_POLICY_NEVER;
		return 0;
	}
	if (value[0] < '0' || value[0] > '9') {
		/* settings_get_time() would skip nothing, but be explicit:
		   no sign, no space, no empty value */
		*reason_r = never_ok ?
			"expected a duration (e.g. 30s, 15m, 14d, 2w) "
			"or never" :
			"expected a duration (e.g. 30s, 15m, 14d, 2w)";
		return -1;
	}
	if (settings_get_time(value, secs_r, &error) < 0) {
		*reason_r = error;
		return -1;
	}
	if (*secs_r == POP3_POLICY_NEVER) {
		*reason_r = "the duration is too large";
		return -1;
	}
	return 0;
}

static int policy_parse_bool(const char *value, bool *result_r,
			     const char **reason_r)
{
	if (strcmp(value, "yes") == 0)
		*result_r = TRUE;
	else if (strcmp(value, "no") == 0)
		*result_r = FALSE;
	else {
		*reason_r = "expected yes or no";
		return -1;
	}
	return 0;
}

static int
policy_parse_value(struct policy_parse_ctx *ctx, struct pop3_policy *p,
		   enum pop3_policy_key key, const char *value,
		   const char **reason_r)
{
	switch (key) {
	case POP3_POLICY_KEY_ON_DELETE:
		if (strcmp(value, "expunge") == 0) {
			p->on_delete = POP3_POLICY_ON_DELETE_EXPUNGE;
			p->move_mailbox = NULL;
		} else if (strcmp(value, "hold") == 0) {
			p->on_delete = POP3_POLICY_ON_DELETE_HOLD;
			p->move_mailbox = NULL;
		} else if (str_begins(value, "move:")) {
			const char *name = value + 5;

			if (!pop3_policy_mailbox_name_is_valid(name, reason_r))
				return -1;
			p->on_delete = POP3_POLICY_ON_DELETE_MOVE;
			p->move_mailbox = p_strdup(ctx->pool, name);
		} else {
			*reason_r = "expected expunge, hold or move:<mailbox>";
			return -1;
		}
		return 0;
	case POP3_POLICY_KEY_HOLD:
		return policy_parse_duration(value, FALSE, &p->hold_secs,
					     reason_r);
	case POP3_POLICY_KEY_EXPIRE:
		return policy_parse_duration(value, TRUE, &p->expire_secs,
					     reason_r);
	case POP3_POLICY_KEY_MAX_AGE:
		if (policy_parse_duration(value, TRUE, &p->max_age_secs,
					  reason_r) < 0)
			return -1;
		if (p->max_age_secs == 0) {
			/* every message is older than 0s: almost certainly
			   a mistake that would empty the mailbox */
			*reason_r = "max_age=0 would remove every message "
				"(use never to disable)";
			return -1;
		}
		return 0;
	case POP3_POLICY_KEY_LOGIN_DELAY:
		return policy_parse_duration(value, FALSE,
					     &p->login_delay_secs, reason_r);
	case POP3_POLICY_KEY_LOGIN_BURST:
		if (str_to_uint(value, &p->login_burst) < 0 ||
		    p->login_burst > 1000000) {
			*reason_r = "expected a count (0..1000000)";
			return -1;
		}
		return 0;
	case POP3_POLICY_KEY_APOP_ONLY:
		return policy_parse_bool(value, &p->apop_only, reason_r);
	case POP3_POLICY_KEY_LEGAL_HOLD:
		return policy_parse_bool(value, &p->legal_hold, reason_r);
	case POP3_POLICY_KEY_DRY_RUN:
		return policy_parse_bool(value, &p->dry_run, reason_r);
	case POP3_POLICY_KEY_COUNT:
		break;
	}
	i_unreached();
}

static void
policy_copy_key(struct pop3_policy *dest, const struct pop3_policy *src,
		enum pop3_policy_key key)
{
	switch (key) {
	case POP3_POLICY_KEY_ON_DELETE:
		dest->on_delete = src->on_delete;
		dest->move_mailbox = src->move_mailbox;
		break;
	case POP3_POLICY_KEY_HOLD:
		dest->hold_secs = src->hold_secs;
		break;
	case POP3_POLICY_KEY_EXPIRE:
		dest->expire_secs = src->expire_secs;
		break;
	case POP3_POLICY_KEY_MAX_AGE:
		dest->max_age_secs = src->max_age_secs;
		break;
	case POP3_POLICY_KEY_LOGIN_DELAY:
		dest->login_delay_secs = src->login_delay_secs;
		break;
	case POP3_POLICY_KEY_LOGIN_BURST:
		dest->login_burst = src->login_burst;
		break;
	case POP3_POLICY_KEY_APOP_ONLY:
		dest->apop_only = src->apop_only;
		break;
	case POP3_POLICY_KEY_LEGAL_HOLD:
		dest->legal_hold = src->legal_hold;
		break;
	case POP3_POLICY_KEY_DRY_RUN:
		dest->dry_run = src->dry_run;
		break;
	case POP3_POLICY_KEY_COUNT:
		i_unreached();
	}
}

static int
policy_parse_string(struct policy_parse_ctx *ctx, const char *str,
		    const struct pop3_policy_origin *origin,
		    const char **error_r);

static int
policy_parse_class(struct policy_parse_ctx *ctx, const char *word,
		   const char *name, const char **error_r)
{
	struct pop3_policy_origin origin;
	const char *class_str, *error;
	unsigned int i;
	int ret;

	if (name[0] == '\0') {
		*error_r = t_strdup_printf("'%s': the class name is empty",
					   word);
		return -1;
	}
	for (i = 0; i < ctx->class_depth; i++) {
		if (strcmp(ctx->class_stack[i], name) == 0) {
			*error_r = t_strdup_printf(
				"'%s': class loop (class %s includes itself)",
				word, name);
			return -1;
		}
	}
	if (ctx->class_expansions >= POP3_POLICY_MAX_CLASS_EXPANSIONS) {
		*error_r = t_strdup_printf(
			"'%s': more than %u class expansions in one policy",
			word, POP3_POLICY_MAX_CLASS_EXPANSIONS);
		return -1;
	}
	ctx->class_expansions++;
	if (ctx->class_depth >= POP3_POLICY_MAX_CLASS_DEPTH) {
		*error_r = t_strdup_printf(
			"'%s': classes nested deeper than %u", word,
			POP3_POLICY_MAX_CLASS_DEPTH);
		return -1;
	}
	if (ctx->lookup == NULL)
		ret = 0;
	else if ((ret = ctx->lookup(name, ctx->context, &class_str,
				    &error)) < 0) {
		*error_r = t_strdup_printf("'%s': %s", word, error);
		return -1;
	}
	if (ret == 0) {
		*error_r = t_strdup_printf(
			"'%s': unknown class (pop3_policy_class_%s is not set)",
			word, name);
		return -1;
	}

	i_zero(&origin);
	origin.layer = POP3_POLICY_LAYER_CLASS;
	origin.class_name = p_strdup(ctx->pool, name);
	ctx->class_stack[ctx->class_depth++] = name;
	ret = policy_parse_string(ctx, class_str, &origin, &error);
	ctx->class_depth--;
	if (ret < 0) {
		*error_r = t_strdup_printf("class %s: %s", name, error);
		return -1;
	}
	return 0;
}

static int
policy_check_conflicts(const struct pop3_policy *own,
		       const bool seen[POP3_POLICY_KEY_COUNT],
		       const char **error_r)
{
	if (seen[POP3_POLICY_KEY_HOLD] && seen[POP3_POLICY_KEY_ON_DELETE] &&
	    own->on_delete != POP3_POLICY_ON_DELETE_HOLD) {
		*error_r = t_strdup_printf(
			"'hold=%s' conflicts with 'on_delete=%s' "
			"(hold applies only to on_delete=hold)",
			pop3_policy_duration_str(own->hold_secs),
			pop3_policy_value_str(own, POP3_POLICY_KEY_ON_DELETE));
		return -1;
	}
	if (seen[POP3_POLICY_KEY_LOGIN_BURST] &&
	    seen[POP3_POLICY_KEY_LOGIN_DELAY] &&
	    own->login_burst > 0 && own->login_delay_secs == 0) {
		*error_r = t_strdup_printf(
			"'login_burst=%u' conflicts with 'login_delay=0' "
			"(a burst needs a delay window)", own->login_burst);
		return -1;
	}
	return 0;
}

static int
policy_parse_string(struct policy_parse_ctx *ctx, const char *str,
		    const struct pop3_policy_origin *origin,
		    const char **error_r)
{
	/* The values this string itself sets, to find contradictions
	   between its own words (class words may be overridden freely). */
	struct pop3_policy own;
	bool seen[POP3_POLICY_KEY_COUNT];
	const char *const *all_words, *const *words, *const *prev;
	const char *word, *eq, *name, *value, *reason, *prev_value;
	enum pop3_policy_key key;

	if (str == NULL)
		return 0;
	i_zero(&seen);
	pop3_policy_init(&own);
	all_words = t_strsplit_spaces(str, " \t\r\n");
	for (words = all_words; *words != NULL; words++) {
		word = *words;
		eq = strchr(word, '=');
		if (eq == NULL) {
			*error_r = t_strdup_printf(
				"'%s': expected key=value", word);
			return -1;
		}
		name = t_strdup_until(word, eq);
		value = eq + 1;
		if (strcmp(name, "class") == 0) {
			for (prev = all_words; prev != words; prev++) {
				if (strcmp(*prev, word) != 0)
					continue;
				*error_r = t_strdup_printf(
					"'%s': class %s is named twice in "
					"the same policy", word, value);
				return -1;
			}
			if (policy_parse_class(ctx, word, value, error_r) < 0)
				return -1;
			continue;
		}
		if (policy_key_lookup(name, &key) < 0) {
			*error_r = t_strdup_printf(
				"'%s': unknown key '%s'", word, name);
			return -1;
		}
		prev_value = seen[key] ?
			pop3_policy_value_str(&own, key) : NULL;
		if (policy_parse_value(ctx, &own, key, value, &reason) < 0) {
			*error_r = t_strdup_printf("'%s': %s", word, reason);
			return -1;
		}
		if (prev_value != NULL &&
		    strcmp(prev_value, pop3_policy_value_str(&own, key)) != 0) {
			*error_r = t_strdup_printf(
				"'%s': conflicts with %s=%s earlier in the "
				"same policy", word, name, prev_value);
			return -1;
		}
		seen[key] = TRUE;
		policy_copy_key(ctx->policy, &own, key);
		ctx->policy->origin[key] = *origin;
	}
	return policy_check_conflicts(&own, seen, error_r);
}

int pop3_policy_parse(struct pop3_policy *policy, pool_t pool,
		      const char *str, enum pop3_policy_layer layer,
		      pop3_policy_class_lookup_t *lookup, void *context,
		      const char **error_r)
{
	struct policy_parse_ctx ctx;
	struct pop3_policy_origin origin;
	const char *error;

	i_zero(&ctx);
	ctx.policy = policy;
	ctx.pool = pool;
	ctx.lookup = lookup;
	ctx.context = context;
	i_zero(&origin);
	origin.layer = layer;
	if (policy_parse_string(&ctx, str, &origin, &error) < 0) {
		*error_r = t_strdup_printf("Invalid %s policy: %s",
					   pop3_policy_layer_name(layer),
					   error);
		return -1;
	}
	return 0;
}

enum pop3_policy_action
pop3_policy_removal_action(const struct pop3_policy *policy, bool is_dele)
{
	if (policy->legal_hold) {
		return is_dele ? POP3_POLICY_ACTION_HOLD :
			POP3_POLICY_ACTION_KEEP;
	}
	switch (policy->on_delete) {
	case POP3_POLICY_ON_DELETE_EXPUNGE:
		return POP3_POLICY_ACTION_EXPUNGE;
	case POP3_POLICY_ON_DELETE_HOLD:
		return POP3_POLICY_ACTION_HOLD;
	case POP3_POLICY_ON_DELETE_MOVE:
		return POP3_POLICY_ACTION_MOVE;
	}
	i_unreached();
}

bool pop3_policy_purges_quarantine(const struct pop3_policy *policy)
{
	return !policy->legal_hold &&
		policy->on_delete == POP3_POLICY_ON_DELETE_HOLD;
}

bool pop3_policy_is_due(time_t since, unsigned int duration_secs,
			time_t now)
{
	if (since <= 0 || duration_secs == POP3_POLICY_NEVER)
		return FALSE;
	/* 64-bit time_t: no overflow for any unsigned int duration */
	return since + (time_t)duration_secs <= now;
}

const char *pop3_policy_duration_str(unsigned int secs)
{
	static const struct {
		unsigned int secs;
		char unit;
	} units[] = {
		{ 7*24*3600, 'w' }, { 24*3600, 'd' }, { 3600, 'h' },
		{ 60, 'm' }, { 1, 's' },
	};
	unsigned int i;

	if (secs == POP3_POLICY_NEVER)
		return "never";
	if (secs == 0)
		return "0";
	for (i = 0; i < N_ELEMENTS(units); i++) {
		if (secs % units[i].secs == 0) {
			return t_strdup_printf("%u%c", secs / units[i].secs,
					       units[i].unit);
		}
	}
	i_unreached();
}

const char *pop3_policy_value_str(const struct pop3_policy *policy,
				  enum pop3_policy_key key)
{
	switch (key) {
	case POP3_POLICY_KEY_ON_DELETE:
		switch (policy->on_delete) {
		case POP3_POLICY_ON_DELETE_EXPUNGE:
			return "expunge";
		case POP3_POLICY_ON_DELETE_HOLD:
			return "hold";
		case POP3_POLICY_ON_DELETE_MOVE:
			return t_strconcat("move:", policy->move_mailbox, NULL);
		}
		break;
	case POP3_POLICY_KEY_HOLD:
		return pop3_policy_duration_str(policy->hold_secs);
	case POP3_POLICY_KEY_EXPIRE:
		return pop3_policy_duration_str(policy->expire_secs);
	case POP3_POLICY_KEY_MAX_AGE:
		return pop3_policy_duration_str(policy->max_age_secs);
	case POP3_POLICY_KEY_LOGIN_DELAY:
		return pop3_policy_duration_str(policy->login_delay_secs);
	case POP3_POLICY_KEY_LOGIN_BURST:
		return dec2str(policy->login_burst);
	case POP3_POLICY_KEY_APOP_ONLY:
		return policy->apop_only ? "yes" : "no";
	case POP3_POLICY_KEY_LEGAL_HOLD:
		return policy->legal_hold ? "yes" : "no";
	case POP3_POLICY_KEY_DRY_RUN:
		return policy->dry_run ? "yes" : "no";
	case POP3_POLICY_KEY_COUNT:
		break;
	}
	i_unreached();
}

const char *pop3_policy_origin_str(const struct pop3_policy *policy,
				   enum pop3_policy_key key)
{
	const struct pop3_policy_origin *origin;

	i_assert(key < POP3_POLICY_KEY_COUNT);
	origin = &policy->origin[key];
	if (origin->layer == POP3_POLICY_LAYER_CLASS)
		return t_strconcat("class:", origin->class_name, NULL);
	return pop3_policy_layer_name(origin->layer);
}
