/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The repair of an interrupted move (pop3-policy-retention-move.c) on real
   maildir mailboxes of a mail user made by Dovecot's test storage, in a
   temporary directory.

   Each case saves messages, writes the move journal in its documented
   format (checked by the product's own journal parser) and copies or
   expunges messages the way the move would have until a kill, then runs
   the repair and reads what each mailbox holds through a newly opened
   mailbox. Messages are named by their Subject, and each mailbox's
   contents are compared as the list of Subjects in UID order, so that a
   repair removing the wrong message of a pair fails as surely as one
   removing too many or too few.

   Checks: a hold the move finished leaves no journal and nothing to
   repair; an interrupted hold loses only the quarantine's copies (INBOX
   keeps every message, and a message held before the move stays held);
   an interrupted restore loses only the quarantine's originals that have
   a copy in INBOX; copies whose GUID was lost are paired by their text,
   never a message of the same text outside the move's UID range or not
   in the journal; a journal whose move had finished removes nothing; a
   forged journal (INBOX as the hold's destination, another quarantine,
   a restore the wrong way round, no quarantine known) and a damaged one
   are refused with an error naming the file (and the line), and nothing
   is removed and the journal stays; an interrupted move: to a user's
   mailbox only logs its pairs. After each repair that succeeds the
   journal is gone and a second repair finds none. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "write-full.h"
#include "mkdir-parents.h"
#include "unlink-directory.h"
#include "master-service.h"
#include "mail-storage.h"
#include "mail-namespace.h"
#include "mail-user.h"
#include "test-common.h"
#include "test-mail-storage-common.h"
#include "pop3-policy-move-journal.h"
#include "pop3-policy-retention-move.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#define QUARANTINE "Deleted Messages"

static struct test_mail_storage_ctx *storage_ctx;

/* --- the mail user and its mailboxes --- */

static void test_user_init(const char *username)
{
	const struct test_mail_storage_settings set = {
		.username = username,
		.driver = "maildir",
	};
	const char *home;

	test_mail_storage_init_user(storage_ctx, &set);
	if (mail_user_get_home(storage_ctx->user, &home) <= 0)
		i_fatal("%s has no home", username);
	if (mkdir_parents(home, 0700) < 0 && errno != EEXIST)
		i_fatal("mkdir_parents(%s) failed: %m", home);
}

static void test_user_deinit(void)
{
	test_mail_storage_deinit_user(storage_ctx);
}

static const char *test_journal_path(void)
{
	const char *home;

	if (mail_user_get_home(storage_ctx->user, &home) <= 0)
		i_unreached();
	return t_strdup_printf("%s/%s", home, POP3_POLICY_MOVE_JOURNAL_FNAME);
}

static bool test_journal_exists(void)
{
	struct stat st;

	if (stat(test_journal_path(), &st) == 0)
		return TRUE;
	if (errno != ENOENT)
		i_fatal("stat(%s) failed: %m", test_journal_path());
	return FALSE;
}

/* Opens (creating it if needed) and fully syncs the mailbox: a maildir is
   read from its directories, not only from its index. */
static struct mailbox *test_box_open(const char *vname)
{
	struct mail_namespace *ns =
		mail_namespace_find(storage_ctx->user->namespaces, vname);
	struct mailbox *box = mailbox_alloc(ns->list, vname, 0);

	if (mailbox_open(box) < 0) {
		if (mailbox_get_last_mail_error(box) != MAIL_ERROR_NOTFOUND ||
		    mailbox_create(box, NULL, FALSE) < 0 ||
		    mailbox_open(box) < 0)
			i_fatal("mailbox %s: %s", vname,
				mailbox_get_last_internal_error(box, NULL));
	}
	if (mailbox_sync(box, MAILBOX_SYNC_FLAG_FULL_READ) < 0)
		i_fatal("sync of %s: %s", vname,
			mailbox_get_last_internal_error(box, NULL));
	return box;
}

static const char *test_msg_text(const char *subject)
{
	return t_strdup_printf("From: sender@example.com\n"
			       "Subject: %s\n\n"
			       "The body of %s.\n", subject, subject);
}

/* Saves a new message (its own GUID) with the subject's text. */
static void test_box_save(struct mailbox *box, const char *subject)
{
	const char *text = test_msg_text(subject);
	struct mailbox_transaction_context *t;
	struct mail_save_context *save;
	struct istream *input;
	ssize_t ret;

	input = i_stream_create_from_data(text, strlen(text));
	t = mailbox_transaction_begin(box, MAILBOX_TRANSACTION_FLAG_EXTERNAL,
				      __func__);
	save = mailbox_save_alloc(t);
	if (mailbox_save_begin(&save, input) < 0)
		i_fatal("save: %s", mailbox_get_last_internal_error(box, NULL));
	do {
		if (mailbox_save_continue(save) < 0)
			i_fatal("save: %s",
				mailbox_get_last_internal_error(box, NULL));
	} while ((ret = i_stream_read(input)) > 0);
	i_assert(ret == -1 && input->stream_errno == 0);
	if (mailbox_save_finish(&save) < 0 ||
	    mailbox_transaction_commit(&t) < 0 ||
	    mailbox_sync(box, 0) < 0)
		i_fatal("save: %s", mailbox_get_last_internal_error(box, NULL));
	i_stream_unref(&input);
}

/* Returns the UID of the message with the subject (there is one). */
static uint32_t test_box_uid(struct mailbox *box, const char *subject)
{
	struct mailbox_transaction_context *t;
	struct mailbox_status status;
	struct mail *mail;
	const char *value;
	uint32_t seq, uid = 0;

	mailbox_get_open_status(box, STATUS_MESSAGES, &status);
	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, 0, NULL);
	for (seq = 1; seq <= status.messages && uid == 0; seq++) {
		mail_set_seq(mail, seq);
		if (mail_get_first_header(mail, "Subject", &value) > 0 &&
		    strcmp(value, subject) == 0)
			uid = mail->uid;
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	if (uid == 0)
		i_fatal("%s has no message %s", mailbox_get_vname(box),
			subject);
	return uid;
}

/* Copies the messages named in subjects (NULL-terminated) from src to
   dest in one transaction, as the move's copy does. */
static void test_box_copy(struct mailbox *src, struct mailbox *dest,
			  const char *const *subjects)
{
	struct mailbox_transaction_context *st, *dt;
	struct mail_save_context *save;
	struct mail *mail;

	st = mailbox_transaction_begin(src, 0, __func__);
	dt = mailbox_transaction_begin(dest, MAILBOX_TRANSACTION_FLAG_EXTERNAL,
				       __func__);
	mail = mail_alloc(st, MAIL_FETCH_GUID, NULL);
	for (; *subjects != NULL; subjects++) {
		if (!mail_set_uid(mail, test_box_uid(src, *subjects)))
			i_unreached();
		save = mailbox_save_alloc(dt);
		if (mailbox_copy(&save, mail) < 0)
			i_fatal("copy: %s",
				mailbox_get_last_internal_error(dest, NULL));
	}
	mail_free(&mail);
	if (mailbox_transaction_commit(&dt) < 0 ||
	    mailbox_sync(dest, 0) < 0) {
		i_fatal("copy: %s",
			mailbox_get_last_internal_error(dest, NULL));
	}
	(void)mailbox_transaction_commit(&st);
}

static void test_box_expunge(struct mailbox *box, const char *const *subjects)
{
	struct mailbox_transaction_context *t;
	struct mail *mail;

	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, 0, NULL);
	for (; *subjects != NULL; subjects++) {
		if (!mail_set_uid(mail, test_box_uid(box, *subjects)))
			i_unreached();
		mail_expunge(mail);
	}
	mail_free(&mail);
	if (mailbox_transaction_commit(&t) < 0 || mailbox_sync(box, 0) < 0)
		i_fatal("expunge: %s",
			mailbox_get_last_internal_error(box, NULL));
}

/* Returns the Subjects of the mailbox's messages in UID order, joined with
   ",", read through a newly opened mailbox. */
static const char *test_box_contents(const char *vname)
{
	struct mailbox *box = test_box_open(vname);
	struct mailbox_transaction_context *t;
	struct mailbox_status status;
	struct mail *mail;
	const char *value;
	string_t *str = t_str_new(64);
	uint32_t seq;

	mailbox_get_open_status(box, STATUS_MESSAGES, &status);
	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, 0, NULL);
	for (seq = 1; seq <= status.messages; seq++) {
		mail_set_seq(mail, seq);
		if (mail_get_first_header(mail, "Subject", &value) <= 0)
			value = "?";
		if (str_len(str) > 0)
			str_append_c(str, ',');
		str_append(str, value);
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	mailbox_free(&box);
	return str_c(str);
}

/* --- the move journal --- */

/* The journal a move of kind from src to dest writes before its copies:
   a line per element, the magic and kind first, the source's name and
   UIDVALIDITY, the destination's name, UIDVALIDITY and UIDNEXT as they
   are now, then the UID and GUID of each message named in subjects. The
   names are given apart from the mailboxes, so that a forged journal can
   name others. */
static void
test_journal_lines(ARRAY_TYPE(const_string) *lines, const char *kind,
		   const char *src_name, struct mailbox *src,
		   const char *dest_name, struct mailbox *dest,
		   const char *const *subjects)
{
	struct mailbox_transaction_context *t;
	struct mailbox_status src_status, dest_status;
	struct mail *mail;
	const char *line, *guid;

	mailbox_get_open_status(src, STATUS_UIDVALIDITY, &src_status);
	mailbox_get_open_status(dest, STATUS_UIDVALIDITY | STATUS_UIDNEXT,
				&dest_status);
	t_array_init(lines, 8);
	line = t_strdup_printf("pop3-policy-move\t1\t%s", kind);
	array_push_back(lines, &line);
	line = t_strdup_printf("S\t%s\t%u", src_name, src_status.uidvalidity);
	array_push_back(lines, &line);
	line = t_strdup_printf("D\t%s\t%u\t%u", dest_name,
			       dest_status.uidvalidity, dest_status.uidnext);
	array_push_back(lines, &line);

	t = mailbox_transaction_begin(src, 0, __func__);
	mail = mail_alloc(t, MAIL_FETCH_GUID, NULL);
	for (; *subjects != NULL; subjects++) {
		if (!mail_set_uid(mail, test_box_uid(src, *subjects)) ||
		    mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0 ||
		    *guid == '\0')
			i_fatal("no GUID for %s", *subjects);
		line = t_strdup_printf("%u\t%s", mail->uid, guid);
		array_push_back(lines, &line);
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
}

static const char *test_journal_text(const ARRAY_TYPE(const_string) *lines)
{
	const char *line;
	string_t *str = t_str_new(256);

	array_foreach_elem(lines, line) {
		str_append(str, line);
		str_append_c(str, '\n');
	}
	return str_c(str);
}

static void test_journal_write_text(const char *text)
{
	const char *path = test_journal_path();
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		i_fatal("open(%s) failed: %m", path);
	if (write_full(fd, text, strlen(text)) < 0)
		i_fatal("write(%s) failed: %m", path);
	i_close_fd(&fd);
}

/* Writes the journal after checking that the move's own parser reads it
   with msg_count messages: a case's journal is one the product could have
   written, so what the repair does with it is the repair's doing. */
static void test_journal_write(const ARRAY_TYPE(const_string) *lines,
			       unsigned int msg_count)
{
	const char *text = test_journal_text(lines), *error = NULL;
	unsigned int count = 0;

	test_assert(pop3_policy_move_journal_parse(
		(const unsigned char *)text, strlen(text), &count,
		&error) == 0);
	test_assert(error == NULL);
	test_assert(count == msg_count);
	test_journal_write_text(text);
}

/* Runs the repair, which must succeed with ret (0: no journal, 1:
   repaired) and leave no journal. */
static void test_repair_ok(const char *quarantine, int ret)
{
	const char *error = NULL;

	test_assert(pop3_policy_retention_move_repair(storage_ctx->user,
		storage_ctx->user->event, quarantine, &error) == ret);
	test_assert(error == NULL);
	if (error != NULL)
		i_info("repair failed: %s", error);
	test_assert(!test_journal_exists());
}

/* Runs the repair, which must fail with an error containing the journal's
   path and error_part, and keep the journal. */
static void test_repair_refused(const char *quarantine,
				const char *error_part, unsigned int idx)
{
	const char *error = NULL;

	test_assert_idx(pop3_policy_retention_move_repair(storage_ctx->user,
		storage_ctx->user->event, quarantine, &error) == -1, idx);
	test_assert_idx(error != NULL &&
			strstr(error, test_journal_path()) != NULL, idx);
	test_assert_idx(error != NULL && strstr(error, error_part) != NULL,
			idx);
	test_assert_idx(test_journal_exists(), idx);
}

/* --- the cases --- */

/* A hold made by the move itself, uninterrupted: nothing to repair. */
static void test_repair_after_move(void)
{
	ARRAY_TYPE(pop3_policy_moved_msg) moved;
	ARRAY_TYPE(seq_range) uids;
	struct mailbox *inbox, *quarantine;
	const char *error = NULL;
	pool_t pool;

	test_begin("move repair: a finished hold leaves no journal");
	test_user_init("moved");
	inbox = test_box_open("INBOX");
	quarantine = test_box_open(QUARANTINE);
	test_box_save(inbox, "m1");
	test_box_save(inbox, "m2");
	test_box_save(inbox, "m3");
	pool = pool_alloconly_create("moved messages", 256);
	p_array_init(&moved, pool, 4);
	t_array_init(&uids, 4);
	seq_range_array_add(&uids, test_box_uid(inbox, "m1"));
	seq_range_array_add(&uids, test_box_uid(inbox, "m3"));
	test_assert(pop3_policy_retention_move(storage_ctx->user,
		POP3_POLICY_MOVE_HOLD, inbox, quarantine, &uids, pool, &moved,
		&error) == 0);
	test_assert(error == NULL);
	test_assert(array_count(&moved) == 2);
	pool_unref(&pool);
	mailbox_free(&quarantine);
	mailbox_free(&inbox);
	test_assert(!test_journal_exists());
	test_assert_strcmp(test_box_contents("INBOX"), "m2");
	test_assert_strcmp(test_box_contents(QUARANTINE), "m1,m3");

	test_repair_ok(QUARANTINE, 0);
	test_assert_strcmp(test_box_contents("INBOX"), "m2");
	test_assert_strcmp(test_box_contents(QUARANTINE), "m1,m3");
	test_user_deinit();
	test_end();
}

static void test_repair_hold(void)
{
	static const char *const held[] = { "m1", "m2", NULL };
	ARRAY_TYPE(const_string) lines;
	struct mailbox *inbox, *quarantine;

	test_begin("move repair: interrupted hold keeps INBOX whole");
	test_user_init("hold");
	inbox = test_box_open("INBOX");
	quarantine = test_box_open(QUARANTINE);
	test_box_save(inbox, "m1");
	test_box_save(inbox, "m2");
	test_box_save(inbox, "m3");
	/* held by an earlier, finished move: not this journal's */
	test_box_save(quarantine, "q0");
	test_journal_lines(&lines, "hold",
			   "INBOX", inbox, QUARANTINE, quarantine, held);
	test_journal_write(&lines, 2);
	/* killed after the copies' commit, before the originals' */
	test_box_copy(inbox, quarantine, held);
	mailbox_free(&quarantine);
	mailbox_free(&inbox);
	test_assert_strcmp(test_box_contents(QUARANTINE), "q0,m1,m2");

	test_expect_error_string("Interrupted hold repaired: 2 message(s)");
	test_repair_ok(QUARANTINE, 1);
	test_expect_no_more_errors();
	test_assert_strcmp(test_box_contents("INBOX"), "m1,m2,m3");
	test_assert_strcmp(test_box_contents(QUARANTINE), "q0");
	/* the journal is gone: nothing left to repair */
	test_repair_ok(QUARANTINE, 0);
	test_assert_strcmp(test_box_contents("INBOX"), "m1,m2,m3");
	test_assert_strcmp(test_box_contents(QUARANTINE), "q0");
	test_user_deinit();
	test_end();
}

static void test_repair_restore(void)
{
	static const char *const restored[] = { "m1", "m2", NULL };
	static const char *const copied[] = { "m1", NULL };
	ARRAY_TYPE(const_string) lines;
	struct mailbox *inbox, *quarantine;

	test_begin("move repair: interrupted restore completes it");
	test_user_init("restore");
	inbox = test_box_open("INBOX");
	quarantine = test_box_open(QUARANTINE);
	test_box_save(inbox, "a1");
	test_box_save(quarantine, "m1");
	test_box_save(quarantine, "m2");
	test_box_save(quarantine, "m3");
	test_journal_lines(&lines, "restore",
			   QUARANTINE, quarantine, "INBOX", inbox, restored);
	test_journal_write(&lines, 2);
	/* killed during the copies' commit: only m1 made it */
	test_box_copy(quarantine, inbox, copied);
	mailbox_free(&quarantine);
	mailbox_free(&inbox);

	test_expect_error_string("Interrupted restore repaired: 1 message(s)");
	test_repair_ok(QUARANTINE, 1);
	test_expect_no_more_errors();
	/* m2 had no copy in INBOX: it stays held, a later restore moves it */
	test_assert_strcmp(test_box_contents("INBOX"), "a1,m1");
	test_assert_strcmp(test_box_contents(QUARANTINE), "m2,m3");
	test_repair_ok(QUARANTINE, 0);
	test_user_deinit();
	test_end();
}

static void test_repair_hold_lost_guid(void)
{
	static const char *const held[] = { "m1", "m2", NULL };
	ARRAY_TYPE(const_string) lines;
	struct mailbox *inbox, *quarantine;

	test_begin("move repair: copies without their GUID paired by text");
	test_user_init("lostguid");
	inbox = test_box_open("INBOX");
	quarantine = test_box_open(QUARANTINE);
	test_box_save(inbox, "m1");
	test_box_save(inbox, "m2");
	test_box_save(inbox, "m3");
	/* the text of m1, held before the move (the same message delivered
	   twice): below the journal's UIDNEXT, so never the move's copy */
	test_box_save(quarantine, "m1");
	test_journal_lines(&lines, "hold",
			   "INBOX", inbox, QUARANTINE, quarantine, held);
	test_journal_write(&lines, 2);
	/* copies whose commit a kill stopped before their GUID was kept:
	   the same text under a new GUID */
	test_box_save(quarantine, "m1");
	test_box_save(quarantine, "m2");
	/* the text of m3 again, after the UIDNEXT, but m3 is none of the
	   journal's messages */
	test_box_save(quarantine, "m3");
	mailbox_free(&quarantine);
	mailbox_free(&inbox);
	test_assert_strcmp(test_box_contents(QUARANTINE), "m1,m1,m2,m3");

	test_expect_error_string("Interrupted hold repaired: 2 message(s)");
	test_repair_ok(QUARANTINE, 1);
	test_expect_no_more_errors();
	test_assert_strcmp(test_box_contents("INBOX"), "m1,m2,m3");
	test_assert_strcmp(test_box_contents(QUARANTINE), "m1,m3");
	test_repair_ok(QUARANTINE, 0);
	test_user_deinit();
	test_end();
}

static void test_repair_finished(void)
{
	static const char *const held[] = { "m1", "m2", NULL };
	ARRAY_TYPE(const_string) lines;
	struct mailbox *inbox, *quarantine;

	test_begin("move repair: a finished move's journal removes nothing");
	test_user_init("finished");
	inbox = test_box_open("INBOX");
	quarantine = test_box_open(QUARANTINE);
	test_box_save(inbox, "m1");
	test_box_save(inbox, "m2");
	test_box_save(inbox, "m3");
	test_journal_lines(&lines, "hold",
			   "INBOX", inbox, QUARANTINE, quarantine, held);
	test_journal_write(&lines, 2);
	/* killed after the originals' expunge, before the unlink */
	test_box_copy(inbox, quarantine, held);
	test_box_expunge(inbox, held);
	mailbox_free(&quarantine);
	mailbox_free(&inbox);

	test_repair_ok(QUARANTINE, 1);
	test_assert_strcmp(test_box_contents("INBOX"), "m3");
	test_assert_strcmp(test_box_contents(QUARANTINE), "m1,m2");
	test_repair_ok(QUARANTINE, 0);
	test_user_deinit();
	test_end();
}

struct forged_case {
	const char *kind, *src, *dest;
	/* the quarantine passed to the repair */
	const char *quarantine;
	const char *error_part;
};

/* Each journal names mailboxes whose messages all have a twin in the
   other: accepted, its repair would remove them. */
static const struct forged_case forged_cases[] = {
	/* the hold's "copies" would be INBOX's own messages */
	{ "hold", "INBOX", "INBOX", QUARANTINE,
	  "a hold moves INBOX -> "QUARANTINE", not INBOX -> INBOX" },
	{ "hold", "INBOX", "Trash", QUARANTINE,
	  "a hold moves INBOX -> "QUARANTINE", not INBOX -> Trash" },
	{ "restore", "INBOX", QUARANTINE, QUARANTINE,
	  "a restore moves "QUARANTINE" -> INBOX, not INBOX -> "
	  QUARANTINE },
	{ "restore", "Trash", "INBOX", QUARANTINE,
	  "a restore moves "QUARANTINE" -> INBOX, not Trash -> INBOX" },
	{ "hold", "INBOX", QUARANTINE, NULL,
	  "the quarantine's name is not known here" },
	{ "move", QUARANTINE, "INBOX", QUARANTINE,
	  "a move starts in INBOX, not in "QUARANTINE },
};

static void test_repair_forged(void)
{
	static const char *const msgs[] = { "m1", "m2", NULL };
	static const char *const boxes[] = { QUARANTINE, "Trash", NULL };
	unsigned int i;

	test_begin("move repair: a forged journal is refused");
	for (i = 0; i < N_ELEMENTS(forged_cases); i++) T_BEGIN {
		const struct forged_case *c = &forged_cases[i];
		ARRAY_TYPE(const_string) lines;
		struct mailbox_status status;
		struct mailbox *inbox, *box, *src, *dest;
		const char *const *name, *line;

		/* every message is in all three mailboxes */
		test_user_init(t_strdup_printf("forged%u", i));
		inbox = test_box_open("INBOX");
		test_box_save(inbox, "m1");
		test_box_save(inbox, "m2");
		for (name = boxes; *name != NULL; name++) {
			box = test_box_open(*name);
			test_box_copy(inbox, box, msgs);
			mailbox_free(&box);
		}
		mailbox_free(&inbox);
		src = test_box_open(c->src);
		dest = test_box_open(c->dest);
		test_journal_lines(&lines, c->kind, c->src, src, c->dest,
				   dest, msgs);
		/* from UID 1 on: every message of dest is a copy */
		mailbox_get_open_status(dest, STATUS_UIDVALIDITY, &status);
		line = t_strdup_printf("D\t%s\t%u\t1", c->dest,
				       status.uidvalidity);
		array_idx_set(&lines, 2, &line);
		test_journal_write(&lines, 2);
		mailbox_free(&src);
		mailbox_free(&dest);

		test_repair_refused(c->quarantine, c->error_part, i);
		test_assert_strcmp_idx(test_box_contents("INBOX"), "m1,m2", i);
		test_assert_strcmp_idx(test_box_contents(QUARANTINE),
				       "m1,m2", i);
		test_assert_strcmp_idx(test_box_contents("Trash"), "m1,m2",
				       i);
		test_user_deinit();
	} T_END;
	test_end();
}

struct damaged_case {
	/* the line replaced (1-based) and its new text, or 0 to keep only
	   the first keep_lines lines */
	unsigned int line;
	const char *text;
	unsigned int keep_lines;
	const char *error_part;
};

static const struct damaged_case damaged_cases[] = {
	{ 1, "pop3-policy-mvoe\t1\thold", 0, "line 1: not a move journal" },
	{ 1, "pop3-policy-move\t2\thold", 0, "line 1: unsupported version 2" },
	{ 1, "pop3-policy-move\t1\thol", 0, "line 1: unknown kind 'hol'" },
	{ 2, "S\tINBOX", 0, "line 2: expected S <mailbox> <uidvalidity>" },
	/* cut in the middle of the destination's line */
	{ 3, "D\t"QUARANTINE"\t1", 0,
	  "line 3: expected D <mailbox> <uidvalidity> <uidnext>" },
	/* cut in the middle of the last message's line */
	{ 5, "2", 0, "line 5: expected <uid> <guid>" },
	{ 4, "0\tguid", 0, "line 4: expected <uid> <guid>" },
	{ 0, NULL, 2, "truncated (2 lines)" },
	{ 0, NULL, 0, "truncated (0 lines)" },
};

static void test_repair_damaged(void)
{
	static const char *const held[] = { "m1", "m2", NULL };
	ARRAY_TYPE(const_string) lines;
	struct mailbox *inbox, *quarantine;
	unsigned int i;

	test_begin("move repair: a damaged journal is refused");
	test_user_init("damaged");
	inbox = test_box_open("INBOX");
	quarantine = test_box_open(QUARANTINE);
	test_box_save(inbox, "m1");
	test_box_save(inbox, "m2");
	test_journal_lines(&lines, "hold", "INBOX", inbox, QUARANTINE,
			   quarantine, held);
	/* undamaged, this journal's repair would remove both copies */
	test_box_copy(inbox, quarantine, held);
	mailbox_free(&quarantine);
	mailbox_free(&inbox);

	for (i = 0; i < N_ELEMENTS(damaged_cases); i++) T_BEGIN {
		const struct damaged_case *c = &damaged_cases[i];
		ARRAY_TYPE(const_string) damaged;
		const char *text = c->text;

		t_array_init(&damaged, 8);
		array_append_array(&damaged, &lines);
		if (c->line > 0)
			array_idx_set(&damaged, c->line - 1, &text);
		else
			array_delete(&damaged, c->keep_lines,
				     array_count(&damaged) - c->keep_lines);
		test_journal_write_text(test_journal_text(&damaged));

		test_repair_refused(QUARANTINE, c->error_part, i);
		test_assert_strcmp_idx(test_box_contents("INBOX"), "m1,m2", i);
		test_assert_strcmp_idx(test_box_contents(QUARANTINE),
				       "m1,m2", i);
	} T_END;
	/* the same journal undamaged is repaired: the refusals above were
	   the damage's */
	test_journal_write(&lines, 2);
	test_expect_error_string("Interrupted hold repaired: 2 message(s)");
	test_repair_ok(QUARANTINE, 1);
	test_expect_no_more_errors();
	test_assert_strcmp(test_box_contents("INBOX"), "m1,m2");
	test_assert_strcmp(test_box_contents(QUARANTINE), "");
	test_user_deinit();
	test_end();
}

static void test_repair_move_target(void)
{
	static const char *const moved[] = { "m1", "m2", NULL };
	ARRAY_TYPE(const_string) lines;
	struct mailbox *inbox, *archive;

	test_begin("move repair: an interrupted move: only logs");
	test_user_init("movetarget");
	inbox = test_box_open("INBOX");
	archive = test_box_open("Archive");
	test_box_save(inbox, "m1");
	test_box_save(inbox, "m2");
	test_box_save(inbox, "m3");
	test_journal_lines(&lines, "move",
			   "INBOX", inbox, "Archive", archive, moved);
	test_journal_write(&lines, 2);
	test_box_copy(inbox, archive, moved);
	mailbox_free(&archive);
	mailbox_free(&inbox);

	test_expect_error_string("Interrupted move: 2 message(s) are both");
	test_repair_ok(QUARANTINE, 1);
	test_expect_no_more_errors();
	test_assert_strcmp(test_box_contents("INBOX"), "m1,m2,m3");
	test_assert_strcmp(test_box_contents("Archive"), "m1,m2");
	test_repair_ok(QUARANTINE, 0);
	test_user_deinit();
	test_end();
}

int main(int argc, char **argv)
{
	static void (*const test_functions[])(void) = {
		test_repair_after_move,
		test_repair_hold,
		test_repair_restore,
		test_repair_hold_lost_guid,
		test_repair_finished,
		test_repair_forged,
		test_repair_damaged,
		test_repair_move_target,
		NULL
	};
	char path[] = "/tmp/test-retention-move-repair.XXXXXX";
	const char *error;
	int ret;

	master_service = master_service_init("test-retention-move-repair",
		MASTER_SERVICE_FLAG_STANDALONE |
		MASTER_SERVICE_FLAG_DONT_SEND_STATS |
		MASTER_SERVICE_FLAG_NO_CONFIG_SETTINGS |
		MASTER_SERVICE_FLAG_NO_SSL_INIT |
		MASTER_SERVICE_FLAG_NO_INIT_DATASTACK_FRAME,
		&argc, &argv, "");
	/* the test storage makes its homes under the working directory */
	if (mkdtemp(path) == NULL)
		i_fatal("mkdtemp(%s) failed: %m", path);
	if (chdir(path) < 0)
		i_fatal("chdir(%s) failed: %m", path);
	storage_ctx = test_mail_storage_init();
	ret = test_run(test_functions);
	test_mail_storage_deinit(&storage_ctx);
	if (chdir("/") < 0)
		i_fatal("chdir(/) failed: %m");
	if (unlink_directory(path, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	master_service_deinit(&master_service);
	return ret;
}
