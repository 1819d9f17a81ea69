/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The serve-time assignment: which UIDL each message of a mailbox is
   served with (its mapped one or Dovecot's own), so that the UIDLs of one
   session stay unique whatever the map says. */

#include "lib.h"
#include "pop3-policy-uidl.h"

const char *pop3_policy_uidl_source_name(enum pop3_policy_uidl_source source)
{
	switch (source) {
	case POP3_POLICY_UIDL_SOURCE_NATIVE:
		return "native";
	case POP3_POLICY_UIDL_SOURCE_MAP:
		return "map";
	case POP3_POLICY_UIDL_SOURCE_COLLISION:
		return "collision";
	}
	i_unreached();
}

/* The set of UIDLs taken so far in pop3_policy_uidl_assign(): open
   addressing over a power-of-two table of (64-bit hash, string), sized for
   every message at once, so that the 100,000 strings of a large mailbox
   cost one probe each and no allocation. */
struct uidl_taken_slot {
	uint64_t hash;
	const char *uidl;
};

static uint64_t uidl_taken_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Returns TRUE if uidl was taken already; else takes it. */
static bool uidl_taken_add(struct uidl_taken_slot *slots, size_t mask,
			   const char *uidl)
{
	uint64_t hash = uidl_taken_hash(uidl);
	size_t i = (size_t)(hash ^ (hash >> 32)) & mask;

	while (slots[i].uidl != NULL) {
		if (slots[i].hash == hash && strcmp(slots[i].uidl, uidl) == 0)
			return TRUE;
		i = (i + 1) & mask;
	}
	slots[i].hash = hash;
	slots[i].uidl = uidl;
	return FALSE;
}

unsigned int pop3_policy_uidl_assign(struct pop3_policy_uidl_assign *msgs,
				     unsigned int count)
{
	struct uidl_taken_slot *slots;
	size_t size = 16;
	unsigned int i, collisions = 0;

	/* at most half full */
	while (size < (size_t)count * 2)
		size *= 2;
	slots = i_new(struct uidl_taken_slot, size);
	/* native UIDLs of unmapped messages are served as they are, so a
	   mapped UIDL may not take one of them */
	for (i = 0; i < count; i++) {
		if (msgs[i].mapped == NULL)
			(void)uidl_taken_add(slots, size - 1, msgs[i].native);
	}
	for (i = 0; i < count; i++) {
		if (msgs[i].mapped == NULL) {
			msgs[i].served = msgs[i].native;
			msgs[i].source = POP3_POLICY_UIDL_SOURCE_NATIVE;
		} else if (uidl_taken_add(slots, size - 1, msgs[i].mapped)) {
			msgs[i].served = msgs[i].native;
			msgs[i].source = POP3_POLICY_UIDL_SOURCE_COLLISION;
			collisions++;
		} else {
			msgs[i].served = msgs[i].mapped;
			msgs[i].source = POP3_POLICY_UIDL_SOURCE_MAP;
		}
	}
	i_free(slots);
	return collisions;
}
