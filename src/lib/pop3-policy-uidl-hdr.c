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
      Whitespace between the name and the colon is removed. A name longer
      than 998 characters (RFC 5322's line limit) makes the line invalid,
      so that no input makes the normaliser keep more than that.
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

/* the longest header name kept: RFC 5322 lines end at 998 characters,
   so no valid header has a longer one (rule 4) */
#define HDR_MAX_NAME 998
/* normalised text is hashed in chunks of about this size */
#define HDR_OUT_CHUNK 4096

/* Where the current physical line is. The input is processed byte by
   byte without keeping lines or headers, so that memory stays bounded
   whatever the input (a header of many megabytes, a line without end)
   and any slicing gives the same key. */
enum hdr_state {
	/* nothing of the line yet */
	HDR_STATE_LINE_START = 0,
	/* only CRs so far (rule 1: an empty line if LF follows) */
	HDR_STATE_LINE_CRS,
	/* in a header name */
	HDR_STATE_NAME,
	/* whitespace after the name, before the colon */
	HDR_STATE_NAME_WS,
	/* in a value (of a header line or a continuation) */
	HDR_STATE_VALUE,
	/* the rest of the line does not count */
	HDR_STATE_SKIP,
};

struct pop3_policy_uidl_hdr_ctx {
	struct sha256_ctx sha;
	enum hdr_state state;
	/* the header name being read (rule 4) */
	char name[HDR_MAX_NAME + 1];
	size_t name_len;
	/* CRs seen in a value and not yet known to be inside the line
	   (rule 1 removes them at its end) */
	size_t pending_crs;
	/* normalised text not yet hashed */
	string_t *out;
	/* the normalised text, when asked for */
	string_t *text;
	bool have_header:1;
	/* a value SP not yet written: dropped if the header ends here
	   (rule 6: no trailing whitespace) */
	bool pending_space:1;
	bool prev_space:1;
	bool prev_qmark:1;
	bool done:1;
};

struct pop3_policy_uidl_hdr_ctx *pop3_policy_uidl_hdr_init(void)
{
	struct pop3_policy_uidl_hdr_ctx *ctx;

	ctx = i_new(struct pop3_policy_uidl_hdr_ctx, 1);
	sha256_init(&ctx->sha);
	ctx->out = str_new(default_pool, HDR_OUT_CHUNK + 64);
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

static void hdr_out_flush(struct pop3_policy_uidl_hdr_ctx *ctx)
{
	sha256_loop(&ctx->sha, str_data(ctx->out), str_len(ctx->out));
	if (ctx->text != NULL)
		str_append_str(ctx->text, ctx->out);
	str_truncate(ctx->out, 0);
}

static void hdr_out_c(struct pop3_policy_uidl_hdr_ctx *ctx, char c)
{
	if (ctx->pending_space) {
		ctx->pending_space = FALSE;
		str_append_c(ctx->out, ' ');
	}
	str_append_c(ctx->out, c);
	if (str_len(ctx->out) >= HDR_OUT_CHUNK)
		hdr_out_flush(ctx);
}

/* Ends the header being written (rule 7). */
static void hdr_flush(struct pop3_policy_uidl_hdr_ctx *ctx)
{
	if (!ctx->have_header)
		return;
	ctx->have_header = FALSE;
	/* rule 6: no trailing whitespace */
	ctx->pending_space = FALSE;
	hdr_out_c(ctx, '\n');
}

/* One value byte by rule 6; a value starts after "name:" with prev_space
   set, so that leading whitespace vanishes. */
static void hdr_value_c(struct pop3_policy_uidl_hdr_ctx *ctx, unsigned char c)
{
	if (c == ' ' || c == '\t') {
		if (!ctx->prev_space)
			ctx->pending_space = TRUE;
		ctx->prev_space = TRUE;
		ctx->prev_qmark = FALSE;
	} else if (c < 0x20 || c > 0x7e || c == '?') {
		if (!ctx->prev_qmark)
			hdr_out_c(ctx, '?');
		ctx->prev_qmark = TRUE;
		ctx->prev_space = FALSE;
	} else {
		hdr_out_c(ctx, (char)c);
		ctx->prev_space = FALSE;
		ctx->prev_qmark = FALSE;
	}
}

/* The name ended with its colon (rule 4, 5). */
static void hdr_name_done(struct pop3_policy_uidl_hdr_ctx *ctx)
{
	size_t i;

	ctx->name[ctx->name_len] = '\0';
	str_lcase(ctx->name);
	if (hdr_name_skipped(ctx->name)) {
		ctx->state = HDR_STATE_SKIP;
		return;
	}
	for (i = 0; i < ctx->name_len; i++)
		hdr_out_c(ctx, ctx->name[i]);
	hdr_out_c(ctx, ':');
	ctx->have_header = TRUE;
	ctx->prev_space = TRUE;
	ctx->prev_qmark = FALSE;
	ctx->state = HDR_STATE_VALUE;
}

static bool hdr_is_name_c(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ':';
}

/* The first byte of a line that is not a CR or LF. */
static void hdr_line_start(struct pop3_policy_uidl_hdr_ctx *ctx,
			   unsigned char c, bool after_crs)
{
	if (!after_crs && (c == ' ' || c == '\t')) {
		/* rule 3: a continuation, joined with one SP (which the
		   value's whitespace rules collapse or drop) */
		if (!ctx->have_header) {
			ctx->state = HDR_STATE_SKIP;
			return;
		}
		ctx->state = HDR_STATE_VALUE;
		hdr_value_c(ctx, ' ');
		hdr_value_c(ctx, c);
		return;
	}
	hdr_flush(ctx);
	/* rule 4: a line starting with a CR or any byte not allowed in a
	   name is invalid */
	if (after_crs || !hdr_is_name_c(c)) {
		ctx->state = HDR_STATE_SKIP;
		return;
	}
	ctx->name[0] = (char)c;
	ctx->name_len = 1;
	ctx->state = HDR_STATE_NAME;
}

static void hdr_line_end(struct pop3_policy_uidl_hdr_ctx *ctx)
{
	if (ctx->state == HDR_STATE_LINE_START ||
	    ctx->state == HDR_STATE_LINE_CRS) {
		/* rule 2 */
		hdr_flush(ctx);
		ctx->done = TRUE;
	}
	/* rule 1: CRs at the end of the line go; a name without its colon
	   is an invalid line */
	ctx->pending_crs = 0;
	ctx->state = HDR_STATE_LINE_START;
}

static void hdr_byte(struct pop3_policy_uidl_hdr_ctx *ctx, unsigned char c)
{
	if (c == '\n') {
		hdr_line_end(ctx);
		return;
	}
	switch (ctx->state) {
	case HDR_STATE_LINE_START:
		if (c == '\r')
			ctx->state = HDR_STATE_LINE_CRS;
		else
			hdr_line_start(ctx, c, FALSE);
		break;
	case HDR_STATE_LINE_CRS:
		if (c != '\r')
			hdr_line_start(ctx, c, TRUE);
		break;
	case HDR_STATE_NAME:
		if (c == ':')
			hdr_name_done(ctx);
		else if (c == ' ' || c == '\t')
			ctx->state = HDR_STATE_NAME_WS;
		else if (!hdr_is_name_c(c) || ctx->name_len == HDR_MAX_NAME)
			ctx->state = HDR_STATE_SKIP;
		else
			ctx->name[ctx->name_len++] = (char)c;
		break;
	case HDR_STATE_NAME_WS:
		if (c == ':')
			hdr_name_done(ctx);
		else if (c != ' ' && c != '\t')
			ctx->state = HDR_STATE_SKIP;
		break;
	case HDR_STATE_VALUE:
		if (c == '\r') {
			ctx->pending_crs++;
			break;
		}
		/* the CRs were inside the line after all */
		for (; ctx->pending_crs > 0; ctx->pending_crs--)
			hdr_value_c(ctx, '\r');
		hdr_value_c(ctx, c);
		break;
	case HDR_STATE_SKIP:
		break;
	}
}

void pop3_policy_uidl_hdr_more(struct pop3_policy_uidl_hdr_ctx *ctx,
			       const unsigned char *data, size_t size)
{
	size_t i;

	for (i = 0; i < size && !ctx->done; i++)
		hdr_byte(ctx, data[i]);
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
	/* the last line, without its LF: rule 1 holds for it too */
	if (!ctx->done && ctx->state == HDR_STATE_LINE_CRS)
		hdr_line_end(ctx);
	hdr_flush(ctx);
	hdr_out_flush(ctx);
	sha256_result(&ctx->sha, digest);
	str_free(&ctx->out);
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
