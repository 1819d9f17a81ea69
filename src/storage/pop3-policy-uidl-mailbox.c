/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Works out the UIDLs of a mailbox's messages as a POP3 session serves
   them: the UIDL the pop3 process serves natively
   (pop3_policy_uidl_native()), or the map's UIDL when one matches, unless
   it collides (see pop3_policy_uidl_assign()). */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "istream.h"
#include "mail-storage.h"
#include "mail-storage-settings.h"
#include "mail-storage-private.h"
#include "mail-index.h"
#include "pop3-policy-uidl-hdr.h"
#include "pop3-policy-uidl-native.h"
#include "pop3-policy-uidl-mailbox.h"

enum pop3_policy_uidl_scan_flags
pop3_policy_uidl_mailbox_scan_flags(const struct pop3_policy_uidl_map *map)
{
	enum pop3_policy_uidl_scan_flags flags = 0;

	if (map == NULL)
		return 0;
	if (map->kind_counts[POP3_POLICY_UIDL_KEY_HDR] > 0)
		flags |= POP3_POLICY_UIDL_SCAN_HDR;
	if (map->kind_counts[POP3_POLICY_UIDL_KEY_MSGID] > 0)
		flags |= POP3_POLICY_UIDL_SCAN_MSGID;
	return flags;
}

const char *pop3_policy_uidl_mailbox_hdr_key(struct mail *mail,
					     const char **error_r)
{
	struct pop3_policy_uidl_hdr_ctx *ctx;
	struct istream *input;
	const unsigned char *data;
	size_t size;

	if (mail_get_hdr_stream(mail, NULL, &input) < 0) {
		*error_r = mailbox_get_last_internal_error(mail->box, NULL);
		return NULL;
	}
	ctx = pop3_policy_uidl_hdr_init();
	while (!pop3_policy_uidl_hdr_done(ctx) &&
	       i_stream_read_more(input, &data, &size) > 0) {
		pop3_policy_uidl_hdr_more(ctx, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0) {
		*error_r = i_stream_get_error(input);
		(void)pop3_policy_uidl_hdr_finish(&ctx);
		return NULL;
	}
	return t_strconcat("hdr:", pop3_policy_uidl_hdr_finish(&ctx), NULL);
}

int pop3_policy_uidl_mailbox_native(struct mail *mail, uint32_t uidvalidity,
				    const char **uidl_r, const char **error_r)
{
	bool stored;

	return pop3_policy_uidl_native(mail, uidvalidity,
		mailbox_get_settings(mail->box)->pop3_uidl_format,
		uidl_r, &stored, error_r);
}

/* Works out the message's keys and UIDLs; msg_r has its seq, uid, uid_key,
   map_order and (when its uid: entry matched) mapped UIDL set already. */
static int
uidl_scan_mail(struct mail *mail, uint32_t uidvalidity, const char *format,
	       struct pop3_policy_uidl_map *map,
	       enum pop3_policy_uidl_scan_flags flags, pool_t pool,
	       struct pop3_policy_uidl_msg *msg_r, const char **error_r)
{
	bool all_keys = (flags & POP3_POLICY_UIDL_SCAN_ALL_KEYS) != 0;
	const char *value, *uidl, **mapped = &msg_r->assign.mapped;

	/* the other keys cost more (the GUID is a file name lookup on
	   maildir, hdr: reads the header): only what the map can still
	   match, in the order of pop3_policy_uidl_map_resolve() */
	if ((flags & POP3_POLICY_UIDL_SCAN_GUID) != 0 ||
	    (*mapped == NULL && map != NULL &&
	     map->kind_counts[POP3_POLICY_UIDL_KEY_GUID] > 0)) {
		if (mail_get_special(mail, MAIL_FETCH_GUID, &value) < 0) {
			*error_r = mailbox_get_last_internal_error(mail->box,
								   NULL);
			return -1;
		}
		msg_r->guid = p_strdup(pool, value);
		if (*value != '\0') {
			msg_r->keys.guid_key = p_strdup(pool,
				pop3_policy_uidl_key_guid(value));
		}
		if (*mapped == NULL && map != NULL &&
		    msg_r->keys.guid_key != NULL) {
			*mapped = pop3_policy_uidl_map_lookup(map,
				msg_r->keys.guid_key);
		}
	}
	if ((flags & POP3_POLICY_UIDL_SCAN_MSGID) != 0 &&
	    (*mapped == NULL || all_keys) &&
	    mail_get_first_header(mail, "Message-ID", &value) > 0) {
		msg_r->keys.msgid_key = p_strdup(pool,
			pop3_policy_uidl_key_msgid(value));
		if (*mapped == NULL && map != NULL &&
		    msg_r->keys.msgid_key != NULL) {
			*mapped = pop3_policy_uidl_map_lookup(map,
				msg_r->keys.msgid_key);
		}
	}
	if ((flags & POP3_POLICY_UIDL_SCAN_HDR) != 0 &&
	    (*mapped == NULL || all_keys)) {
		value = pop3_policy_uidl_mailbox_hdr_key(mail, error_r);
		if (value == NULL)
			return -1;
		msg_r->keys.hdr_key = p_strdup(pool, value);
		if (*mapped == NULL && map != NULL)
			*mapped = pop3_policy_uidl_map_lookup(map, value);
	}
	/* a mapped message's native UIDL matters only if its mapped one
	   collides: it is worked out then (uidl_scan_collisions()) */
	if (*mapped != NULL && (flags & POP3_POLICY_UIDL_SCAN_NATIVE) == 0)
		return 0;
	if (pop3_policy_uidl_native(mail, uidvalidity, format, &uidl,
				    &msg_r->native_stored, error_r) < 0)
		return -1;
	msg_r->native = p_strdup(pool, uidl);
	msg_r->assign.native = msg_r->native;
	return 0;
}

static int
uidl_scan_collisions(struct mailbox *box, uint32_t uidvalidity,
		     const char *format, pool_t pool,
		     ARRAY_TYPE(pop3_policy_uidl_msg) *msgs,
		     const char **error_r)
{
	struct mailbox_transaction_context *trans;
	struct pop3_policy_uidl_msg *msg;
	struct mail *mail;
	const char *uidl, *error = NULL;

	trans = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(trans, 0, NULL);
	array_foreach_modifiable(msgs, msg) {
		if (msg->assign.source != POP3_POLICY_UIDL_SOURCE_COLLISION ||
		    msg->native != NULL)
			continue;
		if (!mail_set_uid(mail, msg->uid)) {
			error = t_strdup_printf("UID %u: expunged", msg->uid);
			break;
		}
		if (pop3_policy_uidl_native(mail, uidvalidity, format, &uidl,
					    &msg->native_stored, &error) < 0)
			break;
		msg->native = p_strdup(pool, uidl);
		msg->assign.native = msg->native;
		msg->assign.served = msg->native;
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&trans);
	if (error != NULL) {
		*error_r = error;
		return -1;
	}
	return 0;
}

static int uidl_msg_order_cmp(const struct pop3_policy_uidl_msg *m1,
			      const struct pop3_policy_uidl_msg *m2)
{
	if (m1->map_order != m2->map_order)
		return m1->map_order < m2->map_order ? -1 : 1;
	return m1->seq < m2->seq ? -1 : (m1->seq > m2->seq ? 1 : 0);
}

static void
uidl_scan_order(struct pop3_policy_uidl_map *map,
		ARRAY_TYPE(pop3_policy_uidl_msg) *msgs)
{
	ARRAY_TYPE(pop3_policy_uidl_msg) ordered;
	ARRAY(unsigned int) positions;
	struct pop3_policy_uidl_msg *msg, *all;
	const struct pop3_policy_uidl_msg *sorted;
	const unsigned int *pos;
	unsigned int i, count, last_order = 0;
	bool any = FALSE, in_order = TRUE;

	if (map == NULL || map->kind_counts[POP3_POLICY_UIDL_KEY_UID] == 0)
		return;
	/* map_order was set by the scan, from the map's uid: table. The
	   messages with a uid: entry take the places they have in sequence
	   order, in the order of their entries; the others (new mail,
	   messages matched by other keys) stay where they are. Nothing
	   moves when the entries are in sequence order already (a snapshot
	   of a mailbox that kept its order). */
	all = array_get_modifiable(msgs, &count);
	for (i = 0; i < count; i++) {
		if (all[i].map_order == 0)
			continue;
		any = TRUE;
		if (all[i].map_order <= last_order)
			in_order = FALSE;
		last_order = all[i].map_order;
	}
	if (!any)
		return;
	if (!in_order) {
		t_array_init(&ordered, 64);
		t_array_init(&positions, 64);
		array_foreach_modifiable(msgs, msg) {
			if (msg->map_order > 0) {
				i = array_foreach_idx(msgs, msg);
				array_push_back(&positions, &i);
				array_push_back(&ordered, msg);
			}
		}
		array_sort(&ordered, uidl_msg_order_cmp);
		sorted = array_front(&ordered);
		pos = array_front(&positions);
		for (i = 0; i < array_count(&positions); i++)
			all[pos[i]] = sorted[i];
	}
	/* pop3 sorts by MAIL_FETCH_POP3_ORDER and puts messages without
	   one last, so every message gets its place */
	for (i = 0; i < count; i++)
		all[i].pop3_order = i + 1;
}

int pop3_policy_uidl_mailbox_scan(struct mailbox *box,
				  struct pop3_policy_uidl_map *map,
				  enum pop3_policy_uidl_scan_flags flags,
				  pool_t pool,
				  ARRAY_TYPE(pop3_policy_uidl_msg) *msgs_r,
				  const char **error_r)
{
	const struct mail_storage_settings *set = mailbox_get_settings(box);
	struct mailbox_status status;
	struct mailbox_transaction_context *trans;
	struct pop3_policy_uidl_assign *assigns;
	struct pop3_policy_uidl_msg *msg;
	struct mail *mail;
	const struct pop3_policy_uidl_map_uid *map_uids = NULL;
	const struct pop3_policy_uidl_map_entry *entries = NULL;
	const char *error = NULL;
	unsigned int i, count, collisions, map_uid_count = 0;
	bool need_mail = (flags & (POP3_POLICY_UIDL_SCAN_GUID |
				   POP3_POLICY_UIDL_SCAN_ALL_KEYS |
				   POP3_POLICY_UIDL_SCAN_NATIVE)) != 0 ||
		map == NULL || map->kind_counts[POP3_POLICY_UIDL_KEY_UID] == 0;
	uint32_t seq, uid;
	int ret = 0;

	mailbox_get_open_status(box, STATUS_UIDVALIDITY | STATUS_MESSAGES,
				&status);
	p_array_init(msgs_r, pool, status.messages + 1);
	if (map != NULL) {
		/* the uid: entries of this UIDVALIDITY, sorted by uid like
		   the messages: walked along with them */
		pop3_policy_uidl_map_freeze(map);
		map_uids = pop3_policy_uidl_map_uids(map, status.uidvalidity,
						     &map_uid_count);
		/* (array_get(): an empty map has no front) */
		entries = array_get(&map->entries, &count);
	}

	trans = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(trans, 0, NULL);
	for (seq = 1; seq <= status.messages && ret == 0; seq++) T_BEGIN {
		msg = array_append_space(msgs_r);
		mail_index_lookup_uid(box->view, seq, &uid);
		msg->seq = seq;
		msg->uid = uid;
		msg->keys.uid_key = pop3_policy_uidl_key_uid_pool(pool,
			status.uidvalidity, uid);
		while (map_uid_count > 0 && map_uids->uid < uid) {
			map_uids++;
			map_uid_count--;
		}
		if (map_uid_count > 0 && map_uids->uid == uid) {
			msg->assign.mapped = entries[map_uids->entry].uidl;
			msg->map_order = map_uids->order;
		}
		/* a message a uid: entry matches needs no mail at all (a
		   snapshot's map), unless doveadm wants all of its keys */
		if (!need_mail && msg->assign.mapped != NULL) {
			/* done */
		} else {
			mail_set_seq(mail, seq);
			if (uidl_scan_mail(mail, status.uidvalidity,
					   set->pop3_uidl_format, map, flags,
					   pool, msg, &error) < 0) {
				error = p_strdup_printf(pool, "UID %u: %s",
							uid, error);
				ret = -1;
			}
		}
	} T_END;
	mail_free(&mail);
	(void)mailbox_transaction_commit(&trans);
	if (ret < 0) {
		*error_r = t_strdup(error);
		return -1;
	}

	uidl_scan_order(map, msgs_r);
	msg = array_get_modifiable(msgs_r, &count);
	assigns = t_new(struct pop3_policy_uidl_assign, count);
	for (i = 0; i < count; i++)
		assigns[i] = msg[i].assign;
	collisions = pop3_policy_uidl_assign(assigns, count);
	for (i = 0; i < count; i++)
		msg[i].assign = assigns[i];
	if (collisions > 0 &&
	    uidl_scan_collisions(box, status.uidvalidity,
				 set->pop3_uidl_format, pool, msgs_r,
				 &error) < 0) {
		*error_r = t_strdup(error);
		return -1;
	}
	return collisions;
}
