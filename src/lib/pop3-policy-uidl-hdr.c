/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The hdr: message key: lower-case hex SHA-256 of the normalised header
   block. The same message fetched from two servers (or saved by two
   migration tools) must give the same key, so the normalisation removes
   what servers are known to change. It is version 1 of the key: changing
   any rule below makes every imported hdr: key useless, so a change needs a
   new key prefix, never an edit here.

   1. Line ends: the input is split at LF; all CRs at the end of a line are
      removed, so CRLF, LF and CR CR LF are the same.
   2. End of the header block: the first line that is empty after rule 1
      (this includes the "CR CR LF" line at which some servers stop and
      others do not). With no empty line, all the input is the header.
   3. Folding: a line that starts with SP or TAB continues the header before
      it and is joined to it with one SP. A continuation holding nothing but
      whitespace (a tab-only line, "Subject: a\r\n \t\r\n") adds nothing:
      Zimbra strips such lines, other servers keep them. A continuation
      before the first header is dropped.
   4. Invalid header lines: a line that is not "name:value", where name is
      one or more characters in 0x21-0x7E other than ':', is dropped with
      its continuations (Zimbra and Yahoo drop them, others keep them).
      Whitespace between the name and the colon is removed.
   5. Names are compared in lower case. Headers that servers add, change or
      strip on their own are dropped: Content-Length, Return-Path, Status,
      X-IMAP, X-IMAPbase, X-Keywords, X-Message-Flag, X-Status, X-UID,
      X-UIDL, X-Yahoo-Newman-Property (the list of Dovecot's pop3_migration).
   6. Values: each run of SP and TAB becomes one SP and leading and trailing
      whitespace is removed (trailing whitespace is what Zimbra strips from
      BODY[HEADER]). A byte outside 0x20-0x7E and '?' itself become '?', and
      a run of '?' becomes one: servers replace NUL and 8-bit bytes
      differently (0x80, '?', one '?' per UTF-8 character).
      Unlike pop3_migration's header hash, spaces inside a value are kept
      (as one), so "a b" and "ab" give different keys.
   7. The hashed text is "name:value\n" for each remaining header in order.

   Worked example: "Subject:  Hello \t\r\n\tworld\r\n\t\r\nbogus line\r\n
   X-UIDL: 17\r\nTo: <a@b>\r\n\r\nbody" hashes "subject:Hello world\n
   to:<a@b>\n". */

#include "lib.h"
#include "str.h"
#include "sha2.h"
#include "hex-binary.h"
#include "pop3-policy-uidl-hdr.h"

/* sorted, lower case */
static const char *const hdr_skip_names[] = {
	"content-length",
	"return-path",
	"status",
	"x-imap",
	"x-imapbase",
	"x-keywords",
	"x-message-flag",
	"x-status",
	"x-uid",
	"x-uidl",
	"x-yahoo-newman-property",
};

struct pop3_policy_uidl_hdr_ctx {
	struct sha256_ctx sha;
	/* the physical line being read */
	string_t *line;
	/* the logical header being built: "name:value" (value normalised) */
	string_t *header;
	/* the normalised text, when asked for */
	string_t *text;
	bool have_header:1;
	bool prev_space:1;
	bool prev_qmark:1;
	bool done:1;
};

struct pop3_policy_uidl_hdr_ctx *pop3_policy_uidl_hdr_init(void)
{
	struct pop3_policy_uidl_hdr_ctx *ctx;

	ctx = i_new(struct pop3_policy_uidl_hdr_ctx, 1);
	sha256_init(&ctx->sha);
	ctx->line = str_new(default_pool, 256);
	ctx->header = str_new(default_pool, 256);
	return ctx;
}

static bool hdr_name_skipped(const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(hdr_skip_names); i++) {
		if (strcmp(name, hdr_skip_names[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

static void hdr_flush(struct pop3_policy_uidl_hdr_ctx *ctx)
{
	size_t len;

	if (!ctx->have_header)
		return;
	ctx->have_header = FALSE;
	/* rule 6: no trailing whitespace */
	len = str_len(ctx->header);
	if (len > 0 && str_data(ctx->header)[len-1] == ' ')
		str_truncate(ctx->header, len - 1);
	str_append_c(ctx->header, '\n');
	sha256_loop(&ctx->sha, str_data(ctx->header), str_len(ctx->header));
	if (ctx->text != NULL)
		str_append_str(ctx->text, ctx->header);
}

/* Appends value bytes by rule 6; a value starts after "name:" with
   prev_space set, so that leading whitespace vanishes. */
static void hdr_append_value(struct pop3_policy_uidl_hdr_ctx *ctx,
			     const unsigned char *p, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++) {
		unsigned char c = p[i];

		if (c == ' ' || c == '\t') {
			if (!ctx->prev_space)
				str_append_c(ctx->header, ' ');
			ctx->prev_space = TRUE;
			ctx->prev_qmark = FALSE;
		} else if (c < 0x20 || c > 0x7e || c == '?') {
			if (!ctx->prev_qmark)
				str_append_c(ctx->header, '?');
			ctx->prev_qmark = TRUE;
			ctx->prev_space = FALSE;
		} else {
			str_append_c(ctx->header, c);
			ctx->prev_space = FALSE;
			ctx->prev_qmark = FALSE;
		}
	}
}

static void hdr_line(struct pop3_policy_uidl_hdr_ctx *ctx,
		     const unsigned char *p, size_t size)
{
	size_t i, name_end;

	/* rule 1 */
	while (size > 0 && p[size-1] == '\r')
		size--;
	if (size == 0) {
		/* rule 2 */
		hdr_flush(ctx);
		ctx->done = TRUE;
		return;
	}
	if (p[0] == ' ' || p[0] == '\t') {
		/* rule 3: a whitespace-only continuation adds nothing,
		   since the value's whitespace runs collapse and trailing
		   whitespace goes */
		if (ctx->have_header) {
			if (!ctx->prev_space) {
				str_append_c(ctx->header, ' ');
				ctx->prev_space = TRUE;
			}
			hdr_append_value(ctx, p, size);
		}
		return;
	}
	hdr_flush(ctx);
	/* rule 4 */
	for (i = 0; i < size && p[i] != ':'; i++) {
		if (p[i] < 0x21 || p[i] > 0x7e)
			break;
	}
	name_end = i;
	while (i < size && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (name_end == 0 || i == size || p[i] != ':')
		return;

	str_truncate(ctx->header, 0);
	str_append_data(ctx->header, p, name_end);
	str_lcase(str_c_modifiable(ctx->header));
	if (hdr_name_skipped(str_c(ctx->header)))
		return;
	str_append_c(ctx->header, ':');
	ctx->have_header = TRUE;
	ctx->prev_space = TRUE;
	ctx->prev_qmark = FALSE;
	hdr_append_value(ctx, p + i + 1, size - i - 1);
}

void pop3_policy_uidl_hdr_more(struct pop3_policy_uidl_hdr_ctx *ctx,
			       const unsigned char *data, size_t size)
{
	const unsigned char *nl;

	while (size > 0 && !ctx->done) {
		nl = memchr(data, '\n', size);
		if (nl == NULL) {
			str_append_data(ctx->line, data, size);
			return;
		}
		if (str_len(ctx->line) > 0) {
			str_append_data(ctx->line, data, nl - data);
			hdr_line(ctx, str_data(ctx->line), str_len(ctx->line));
			str_truncate(ctx->line, 0);
		} else {
			hdr_line(ctx, data, nl - data);
		}
		size -= nl + 1 - data;
		data = nl + 1;
	}
}

bool pop3_policy_uidl_hdr_done(const struct pop3_policy_uidl_hdr_ctx *ctx)
{
	return ctx->done;
}

const char *pop3_policy_uidl_hdr_finish(struct pop3_policy_uidl_hdr_ctx **_ctx)
{
	struct pop3_policy_uidl_hdr_ctx *ctx = *_ctx;
	unsigned char digest[SHA256_RESULTLEN];

	*_ctx = NULL;
	if (!ctx->done && str_len(ctx->line) > 0)
		hdr_line(ctx, str_data(ctx->line), str_len(ctx->line));
	hdr_flush(ctx);
	sha256_result(&ctx->sha, digest);
	str_free(&ctx->line);
	str_free(&ctx->header);
	i_free(ctx);
	return binary_to_hex(digest, sizeof(digest));
}

const char *pop3_policy_uidl_hdr_normalise(const char *data, size_t size)
{
	struct pop3_policy_uidl_hdr_ctx *ctx;
	string_t *text = t_str_new(256);

	ctx = pop3_policy_uidl_hdr_init();
	ctx->text = text;
	pop3_policy_uidl_hdr_more(ctx, (const unsigned char *)data, size);
	(void)pop3_policy_uidl_hdr_finish(&ctx);
	return str_c(text);
}

const char *pop3_policy_uidl_hdr_hash(const char *data, size_t size)
{
	struct pop3_policy_uidl_hdr_ctx *ctx;

	ctx = pop3_policy_uidl_hdr_init();
	pop3_policy_uidl_hdr_more(ctx, (const unsigned char *)data, size);
	return pop3_policy_uidl_hdr_finish(&ctx);
}
