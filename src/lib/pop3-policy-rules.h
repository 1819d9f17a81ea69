#ifndef POP3_POLICY_RULES_H
#define POP3_POLICY_RULES_H

/* The policy language and its layered resolution (README: "The policy language").

   A policy is a string of space-separated key=value words. Layers are
   applied in order (default, site, classes, userdb, store); each parsed
   string overrides the keys it names, key by key, and a word
   class=<name> pulls in the class's policy string at that point (its keys
   are recorded as set by "class:<name>"). Pure functions: the caller
   supplies the class lookup, so nothing here reads host settings. */

/* A duration that never elapses (expire=never, max_age=never). */
#define POP3_POLICY_NEVER ((unsigned int)-1)
/* How deep class=<name> may nest before it is refused. */
#define POP3_POLICY_MAX_CLASS_DEPTH 8
/* class=<name> words expanded in one parse, all depths together */
#define POP3_POLICY_MAX_CLASS_EXPANSIONS 32

enum pop3_policy_layer {
	POP3_POLICY_LAYER_DEFAULT = 0,
	POP3_POLICY_LAYER_SITE,
	POP3_POLICY_LAYER_CLASS,
	POP3_POLICY_LAYER_USERDB,
	POP3_POLICY_LAYER_STORE,
};

enum pop3_policy_key {
	POP3_POLICY_KEY_ON_DELETE = 0,
	POP3_POLICY_KEY_HOLD,
	POP3_POLICY_KEY_EXPIRE,
	POP3_POLICY_KEY_MAX_AGE,
	POP3_POLICY_KEY_LOGIN_DELAY,
	POP3_POLICY_KEY_LOGIN_BURST,
	POP3_POLICY_KEY_APOP_ONLY,
	POP3_POLICY_KEY_LEGAL_HOLD,
	POP3_POLICY_KEY_DRY_RUN,

	POP3_POLICY_KEY_COUNT
};

/* What a removal does to a message. */
enum pop3_policy_action {
	/* nothing is removed (legal_hold) */
	POP3_POLICY_ACTION_KEEP = 0,
	POP3_POLICY_ACTION_EXPUNGE,
	/* moved to the quarantine mailbox, purged hold later */
	POP3_POLICY_ACTION_HOLD,
	/* moved to policy->move_mailbox */
	POP3_POLICY_ACTION_MOVE,
};

enum pop3_policy_on_delete {
	POP3_POLICY_ON_DELETE_EXPUNGE = 0,
	POP3_POLICY_ON_DELETE_HOLD,
	POP3_POLICY_ON_DELETE_MOVE,
};

struct pop3_policy_origin {
	enum pop3_policy_layer layer;
	/* The class's name when layer is POP3_POLICY_LAYER_CLASS */
	const char *class_name;
};

struct pop3_policy {
	enum pop3_policy_on_delete on_delete;
	/* Target mailbox of on_delete=move:<mailbox>, else NULL */
	const char *move_mailbox;
	unsigned int hold_secs;
	/* Seconds, 0, or POP3_POLICY_NEVER */
	unsigned int expire_secs;
	/* Seconds (> 0) or POP3_POLICY_NEVER */
	unsigned int max_age_secs;
	unsigned int login_delay_secs;
	unsigned int login_burst;
	bool apop_only;
	bool legal_hold;
	bool dry_run;

	/* Which layer set each key */
	struct pop3_policy_origin origin[POP3_POLICY_KEY_COUNT];
};

/* Looks up the policy string of class <name> (the setting
   pop3_policy_class_<name>). Returns 1 and the string if the class exists,
   0 if not, -1 with error_r on failure. */
typedef int
pop3_policy_class_lookup_t(const char *name, void *context,
			   const char **policy_r, const char **error_r);

/* Fills the policy with the defaults of the policy language, all keys from the
   default layer. */
void pop3_policy_init(struct pop3_policy *policy_r);

/* Parses the policy string (NULL or "" changes nothing) as set by the
   layer and merges it into the policy, key by key, later words winning.
   class=<name> words are resolved through lookup (may be NULL, then any
   class word is an error). Strings stored in the policy are allocated from
   pool. Returns 0 on success; -1 on error with error_r naming the word and
   why, in which case the policy may have been partly changed, and must not
   be used. Refused: an unknown key, a word without '=', a bad value (bad
   duration, count or yes/no, a bad mailbox name), the same key twice with
   different values or contradicting keys in one string, an unknown class,
   a class loop, classes nested deeper than POP3_POLICY_MAX_CLASS_DEPTH,
   the same class named twice in one string and more than
   POP3_POLICY_MAX_CLASS_EXPANSIONS class words expanded in all. */
int pop3_policy_parse(struct pop3_policy *policy, pool_t pool,
		      const char *str, enum pop3_policy_layer layer,
		      pop3_policy_class_lookup_t *lookup, void *context,
		      const char **error_r);

/* Returns what a removal does under the policy: for a committed DELE
   (is_dele) or for a removal the policy itself owes (expire, max_age).
   legal_hold keeps everything, except that a DELE still hides the message
   in the quarantine (never purged). dry_run does not change the answer:
   the caller logs the action instead of doing it. */
enum pop3_policy_action
pop3_policy_removal_action(const struct pop3_policy *policy, bool is_dele);
/* Returns TRUE if messages held in the quarantine are purged hold after
   their removal under the policy: only for on_delete=hold without
   legal_hold. Under any other policy the quarantine is left alone (held
   mail stays until restored, or until a hold policy applies again), so
   that a mailbox the user made with the quarantine's name is never
   purged for a user whose policy never holds. */
bool pop3_policy_purges_quarantine(const struct pop3_policy *policy);
/* Returns TRUE if duration_secs counted from since have passed at now.
   since == 0 (no record) and POP3_POLICY_NEVER are never due, so a lost
   record can only delay a removal. */
bool pop3_policy_is_due(time_t since, unsigned int duration_secs,
			time_t now);

/* Returns the key's name ("on_delete", ...). */
const char *pop3_policy_key_name(enum pop3_policy_key key);
/* Returns the key's value as a policy word would write it
   ("move:Archive", "14d", "never", "yes", ...), data stack. */
const char *pop3_policy_value_str(const struct pop3_policy *policy,
				  enum pop3_policy_key key);
/* Returns the name of the layer that set the key ("default", "site",
   "class:<name>", "userdb", "store"), data stack. */
const char *pop3_policy_origin_str(const struct pop3_policy *policy,
				   enum pop3_policy_key key);
/* Returns the layer's name (POP3_POLICY_LAYER_CLASS gives "class"). */
const char *pop3_policy_layer_name(enum pop3_policy_layer layer);
/* Returns a duration as the shortest exact Dovecot interval ("0", "90s",
   "15m", "14d", "2w", "never"), data stack. */
const char *pop3_policy_duration_str(unsigned int secs);

#endif
