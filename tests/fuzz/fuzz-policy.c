/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The policy language (pop3-policy-rules.c) with classes. The input is
   lines: the first is a site policy string, the second a store policy
   string, every further one a class "<name>=<policy string>"; class=
   words look their class up in that table. A policy that parses must
   print (value_str) into words that parse again, one by one, to the same
   values. */

#include "lib.h"
#include "str.h"
#include "fuzz-common.h"
#include "pop3-policy-rules.h"

struct fuzz_classes {
	const char *const *lines;
};

static int fuzz_class_lookup(const char *name, void *context,
			     const char **policy_r, const char **error_r)
{
	struct fuzz_classes *classes = context;
	const char *const *line, *eq;

	for (line = classes->lines + 2; *line != NULL; line++) {
		eq = strchr(*line, '=');
		if (eq == NULL)
			continue;
		if (strncmp(*line, name, eq - *line) == 0 &&
		    name[eq - *line] == '\0') {
			*policy_r = eq + 1;
			return 1;
		}
	}
	if (strcmp(name, "error") == 0) {
		*error_r = "lookup failed";
		return -1;
	}
	return 0;
}

static void fuzz_policy_reparse(const struct pop3_policy *policy)
{
	struct pop3_policy policy2;
	pool_t pool = pool_datastack_create();
	enum pop3_policy_key key;
	const char *word, *error;

	/* one word at a time: the layers may have left keys that one
	   string could not hold together (hold= with on_delete=move:) */
	pop3_policy_init(&policy2);
	for (key = 0; key < POP3_POLICY_KEY_COUNT; key++) {
		(void)pop3_policy_origin_str(policy, key);
		word = t_strdup_printf("%s=%s", pop3_policy_key_name(key),
				       pop3_policy_value_str(policy, key));
		if (pop3_policy_parse(&policy2, pool, word,
				      POP3_POLICY_LAYER_USERDB, NULL, NULL,
				      &error) < 0)
			i_panic("printed word does not parse: %s: %s",
				word, error);
	}
	for (key = 0; key < POP3_POLICY_KEY_COUNT; key++) {
		i_assert(strcmp(pop3_policy_value_str(policy, key),
				pop3_policy_value_str(&policy2, key)) == 0);
	}
	(void)pop3_policy_removal_action(policy, TRUE);
	(void)pop3_policy_removal_action(policy, FALSE);
}

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	struct fuzz_classes classes;
	struct pop3_policy policy;
	pool_t pool;
	const char *error;
	int ret;

	classes.lines = t_strsplit(str, "\n");
	if (classes.lines[0] == NULL || classes.lines[1] == NULL)
		return;
	pool = pool_alloconly_create("fuzz policy", 256);
	pop3_policy_init(&policy);
	ret = pop3_policy_parse(&policy, pool, classes.lines[0],
				POP3_POLICY_LAYER_SITE, fuzz_class_lookup,
				&classes, &error);
	if (ret == 0) {
		ret = pop3_policy_parse(&policy, pool, classes.lines[1],
					POP3_POLICY_LAYER_STORE,
					fuzz_class_lookup, &classes, &error);
	}
	if (ret == 0)
		fuzz_policy_reparse(&policy);
	else
		i_assert(error != NULL);
	pool_unref(&pool);
}
