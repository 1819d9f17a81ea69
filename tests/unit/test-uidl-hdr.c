/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Table tests of the hdr: key normalisation, including the header quirks
   that broke Dovecot's pop3_migration: trailing whitespace, whitespace-only
   (tab-only) continuation lines, invalid header lines, folding, CRLF vs LF,
   the CR CR LF line, NUL and 8-bit bytes. */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "pop3-policy-uidl-hdr.h"

#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void test_uidl_hdr_normalise(void)
{
	static const struct {
		const char *input;
		const char *normalised;
	} tests[] = {
		{ "", "" },
		{ "Subject: hello\n\nbody", "subject:hello\n" },
		/* CRLF vs LF */
		{ "Subject: hello\r\nTo: a@b\r\n\r\nbody",
		  "subject:hello\nto:a@b\n" },
		/* trailing whitespace (Zimbra strips it in BODY[HEADER]) */
		{ "Subject: hello \t \r\nTo: a@b\t\r\n\r\n",
		  "subject:hello\nto:a@b\n" },
		/* folded headers */
		{ "Subject: hello\r\n\tworld\r\n  again\r\n\r\n",
		  "subject:hello world again\n" },
		/* tab-only and space-only continuation lines */
		{ "Subject: hello\r\n\t\r\n \r\nTo: x\r\n\r\n",
		  "subject:hello\nto:x\n" },
		{ "Subject:\r\n\t\r\n\r\n", "subject:\n" },
		/* invalid header lines, and their continuations */
		{ "Subject: a\r\nbogus line\r\n\tcont\r\nTo: b\r\n\r\n",
		  "subject:a\nto:b\n" },
		{ ": no name\r\nBad Name: x\r\nTo: b\r\n\r\n", "to:b\n" },
		{ "Na\x80me: x\r\nTo: b\r\n\r\n", "to:b\n" },
		/* a continuation before any header */
		{ " leading\r\nTo: b\r\n\r\n", "to:b\n" },
		/* whitespace before the colon, case of the name */
		{ "SUBJECT : Hi\r\n\r\n", "subject:Hi\n" },
		/* runs of whitespace inside a value become one SP, but
		   spaces are not removed ("a b" != "ab") */
		{ "Subject: a  \t b\r\n\r\n", "subject:a b\n" },
		/* headers servers change on their own */
		{ "Return-Path: <x@y>\r\nX-UIDL: 17\r\nStatus: RO\r\n"
		  "X-Keywords: $a\r\nContent-Length: 5\r\nTo: b\r\n\r\n",
		  "to:b\n" },
		/* NUL, 8-bit and '?' runs */
		{ "Subject: a\xc3\xa9\xc3\xa9z\r\n\r\n", "subject:a?z\n" },
		{ "Subject: a??b\r\n\r\n", "subject:a?b\n" },
		/* CR CR LF ends the header (some servers stop there) */
		{ "Subject: a\r\n\r\r\nTo: b\r\n\r\n", "subject:a\n" },
		/* a lone CR inside a value */
		{ "Subject: a\rb\r\n\r\n", "subject:a?b\n" },
		/* no end of header: everything is header */
		{ "Subject: a\r\nTo: b", "subject:a\nto:b\n" },
		/* body never counts */
		{ "To: b\n\nSubject: not a header\n", "to:b\n" },
	};
	unsigned int i;

	test_begin("uidl hdr normalise");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_strcmp_idx(pop3_policy_uidl_hdr_normalise(
			tests[i].input, strlen(tests[i].input)),
			tests[i].normalised, i);
	}
	test_end();
}

static void test_uidl_hdr_equal(void)
{
	/* each pair is the same message as two servers give it */
	static const struct {
		const char *a, *b;
		bool equal;
	} tests[] = {
		{ "Subject: x\r\nTo: y\r\n\r\n", "Subject: x\nTo: y\n\n", TRUE },
		{ "Subject: x \r\n\r\n", "Subject: x\r\n\r\n", TRUE },
		{ "Subject: x\r\n\t\r\n\r\n", "Subject: x\r\n\r\n", TRUE },
		{ "Subject: x\r\nbad\r\n\r\n", "Subject: x\r\n\r\n", TRUE },
		{ "Subject: x\r\n y\r\n\r\n", "Subject: x y\r\n\r\n", TRUE },
		{ "X-UIDL: 1\r\nSubject: x\r\n\r\n", "Subject: x\r\n\r\n", TRUE },
		{ "Subject: a\x00z\r\n\r\n", "Subject: a\x80z\r\n\r\n", TRUE },
		{ "Subject: x y\r\n\r\n", "Subject: xy\r\n\r\n", FALSE },
		{ "Subject: x\r\n\r\n", "Subject: y\r\n\r\n", FALSE },
		{ "Subject: x\r\nTo: y\r\n\r\n", "To: y\r\nSubject: x\r\n\r\n",
		  FALSE },
	};
	unsigned int i;

	test_begin("uidl hdr hash equality");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		/* the NUL case needs explicit lengths */
		size_t alen = i == 6 ? 15 : strlen(tests[i].a);
		size_t blen = strlen(tests[i].b);
		const char *ha = pop3_policy_uidl_hdr_hash(tests[i].a, alen);
		const char *hb = pop3_policy_uidl_hdr_hash(tests[i].b, blen);

		test_assert_idx(strlen(ha) == POP3_POLICY_UIDL_HDR_HEX_LEN, i);
		test_assert_idx((strcmp(ha, hb) == 0) == tests[i].equal, i);
	}
	/* known value: sha256("subject:hello\n") */
	test_assert_strcmp(pop3_policy_uidl_hdr_hash("Subject: hello\r\n\r\n", 18),
		"0b8d32862dc3e25563ce2b843a7932fad47aa5b8f77d33a362e61581174119c9");
	test_end();
}

static void test_uidl_hdr_incremental(void)
{
	const char *msg = "Subject: hello\r\n\tworld  \r\n\t\r\nbad\r\n"
		"To: <a@b>\r\n\r\nbody\r\n";
	const char *whole = pop3_policy_uidl_hdr_hash(msg, strlen(msg));
	struct pop3_policy_uidl_hdr_ctx *ctx;
	size_t i, len = strlen(msg);

	test_begin("uidl hdr incremental");
	/* byte by byte gives the same as all at once */
	ctx = pop3_policy_uidl_hdr_init();
	for (i = 0; i < len; i++) {
		pop3_policy_uidl_hdr_more(ctx,
			(const unsigned char *)msg + i, 1);
	}
	test_assert(pop3_policy_uidl_hdr_done(ctx));
	test_assert_strcmp(pop3_policy_uidl_hdr_finish(&ctx), whole);
	test_assert(ctx == NULL);
	/* a long line in small slices */
	{
		string_t *big = t_str_new(70000);
		const char *h1, *h2;

		str_append(big, "Subject: ");
		for (i = 0; i < 60000; i++)
			str_append_c(big, 'a' + i % 26);
		str_append(big, "\r\n\r\n");
		h1 = pop3_policy_uidl_hdr_hash(str_c(big), str_len(big));
		ctx = pop3_policy_uidl_hdr_init();
		for (i = 0; i < str_len(big); i += 7) {
			pop3_policy_uidl_hdr_more(ctx, str_data(big) + i,
				I_MIN(7, str_len(big) - i));
		}
		h2 = pop3_policy_uidl_hdr_finish(&ctx);
		test_assert_strcmp(h1, h2);
	}
	test_end();
}

/* Feeds size bytes of pattern (a header line's middle, repeated) in
   64 KiB slices after prefix. */
static void hdr_feed_repeated(struct pop3_policy_uidl_hdr_ctx *ctx,
			      const char *prefix, const char *pattern,
			      size_t size)
{
	unsigned char buf[65536];
	size_t i, plen = strlen(pattern), n;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = pattern[i % plen];
	pop3_policy_uidl_hdr_more(ctx, (const unsigned char *)prefix,
				  strlen(prefix));
	/* the slices are whole patterns, so the stream stays periodic */
	n = sizeof(buf) - sizeof(buf) % plen;
	for (i = 0; i < size; i += n)
		pop3_policy_uidl_hdr_more(ctx, buf, n);
}

/* Input of any size is normalised in bounded memory: a value line, a run
   of continuations, a name and a line that never end, each of 256 MiB,
   run in a child whose address space is limited to 64 MiB more than it
   has at the start. Memory use must not grow with a line. */
static void test_uidl_hdr_bounded(void)
{
	static const struct {
		const char *prefix, *pattern;
	} cases[] = {
		{ "Subject: ", "abcdefgh \t" },
		{ "Subject: x\r\n", " folded\r\n" },
		{ "", "NameNameName" },
		{ "bogus line ", "xyz " },
		{ "Subject: ", "a\r\r" },
	};
	unsigned int i;

	test_begin("uidl hdr bounded memory");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			i_fatal("fork() failed: %m");
		if (pid == 0) {
			struct pop3_policy_uidl_hdr_ctx *ctx;
			struct rlimit rl;
			unsigned long pages = 0;
			FILE *f = fopen("/proc/self/statm", "r");

			if (f == NULL || fscanf(f, "%lu", &pages) != 1)
				_exit(2);
			fclose(f);
			rl.rlim_cur = rl.rlim_max =
				pages * (rlim_t)sysconf(_SC_PAGESIZE) +
				64 * 1024 * 1024;
			if (setrlimit(RLIMIT_AS, &rl) < 0)
				_exit(2);
			ctx = pop3_policy_uidl_hdr_init();
			hdr_feed_repeated(ctx, cases[i].prefix,
					  cases[i].pattern, 256 * 1024 * 1024);
			(void)pop3_policy_uidl_hdr_finish(&ctx);
			_exit(0);
		}
		test_assert_idx(waitpid(pid, &status, 0) == pid, i);
		test_assert_idx(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				i);
	}
	test_end();
}

/* Slicing anywhere gives the key of the whole, for the quirks of the
   normalise table too (CRs split from their LF, names split). */
static void test_uidl_hdr_slices(void)
{
	static const char *const msgs[] = {
		"Subject: a\r\rb \r\r\n\t\r\n x\r\nBad Name: y\r\n"
		"SUBJECT : Hi\r\n\r\nbody",
		"\r x: y\r\nTo: b\r\n\r\r\nZ: z\r\n",
		"Subject: a\r\nTo: b\r\r",
		"X-UIDL: 1\r\n\tcont\r\nA:\r\n\r\n",
	};
	struct pop3_policy_uidl_hdr_ctx *ctx;
	unsigned int i;
	size_t cut, len;

	test_begin("uidl hdr slices");
	for (i = 0; i < N_ELEMENTS(msgs); i++) {
		const char *whole;

		len = strlen(msgs[i]);
		whole = pop3_policy_uidl_hdr_hash(msgs[i], len);
		for (cut = 0; cut <= len; cut++) {
			ctx = pop3_policy_uidl_hdr_init();
			pop3_policy_uidl_hdr_more(ctx,
				(const unsigned char *)msgs[i], cut);
			pop3_policy_uidl_hdr_more(ctx,
				(const unsigned char *)msgs[i] + cut,
				len - cut);
			test_assert_strcmp_idx(
				pop3_policy_uidl_hdr_finish(&ctx), whole, i);
		}
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_uidl_hdr_normalise,
		test_uidl_hdr_equal,
		test_uidl_hdr_incremental,
		test_uidl_hdr_slices,
		test_uidl_hdr_bounded,
		NULL
	};
	return test_run(test_functions);
}
