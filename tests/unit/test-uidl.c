/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* Table tests of UIDL validation, message keys, the import parser, the
   serve-time assignment and the guard. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "var-expand.h"
#include "test-common.h"
#include "pop3-policy-uidl.h"
#include "pop3-policy-uidl-guard.h"

static void test_uidl_validate(void)
{
	static const struct {
		const char *uidl;
		bool valid;
	} tests[] = {
		{ "a", TRUE },
		{ "000000016b038130", TRUE },
		{ "!~", TRUE },
		/* 70 characters */
		{ "1234567890123456789012345678901234567890"
		  "123456789012345678901234567890", TRUE },
		/* 71 characters */
		{ "1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901", FALSE },
		{ "", FALSE },
		{ "a b", FALSE },
		{ "a\tb", FALSE },
		{ "ab ", FALSE },
		{ "\x7f", FALSE },
		{ "caf\xc3\xa9", FALSE },
		{ "a\r", FALSE },
	};
	const char *error;
	unsigned int i;

	test_begin("uidl validate");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		error = NULL;
		test_assert_idx((pop3_policy_uidl_validate(tests[i].uidl,
							   &error) == 0) ==
				tests[i].valid, i);
		test_assert_idx(tests[i].valid || error != NULL, i);
	}
	test_end();
}

static void test_uidl_key_parse(void)
{
	static const struct {
		const char *key;
		const char *canonical; /* NULL = invalid */
		enum pop3_policy_uidl_key_kind kind;
	} tests[] = {
		{ "guid:0b8d1c2f5a3e6f11", "guid:0b8d1c2f5a3e6f11",
		  POP3_POLICY_UIDL_KEY_GUID },
		{ "uid:1795391833:17", "uid:1795391833:17",
		  POP3_POLICY_UIDL_KEY_UID },
		{ "uid:0017:0005", "uid:17:5", POP3_POLICY_UIDL_KEY_UID },
		{ "uid:0:5", NULL, 0 },
		{ "uid:5:0", NULL, 0 },
		{ "uid:5", NULL, 0 },
		{ "uid:5:6:7", NULL, 0 },
		{ "uid:4294967296:1", NULL, 0 },
		{ "uid:-1:1", NULL, 0 },
		{ "msgid:<a1@example.com>", "msgid:a1@example.com",
		  POP3_POLICY_UIDL_KEY_MSGID },
		{ "msgid:a1@example.com", "msgid:a1@example.com",
		  POP3_POLICY_UIDL_KEY_MSGID },
		{ "msgid:<>", NULL, 0 },
		{ "hdr:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
		  "hdr:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		  POP3_POLICY_UIDL_KEY_HDR },
		{ "hdr:9f86", NULL, 0 },
		{ "hdr:zf86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		  NULL, 0 },
		{ "guid:", NULL, 0 },
		{ "guid:a\x01", NULL, 0 },
		{ "GUID:abc", NULL, 0 },
		{ "md5:abc", NULL, 0 },
		{ "", NULL, 0 },
	};
	enum pop3_policy_uidl_key_kind kind;
	const char *canonical, *error;
	unsigned int i;

	test_begin("uidl key parse");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		int ret = pop3_policy_uidl_key_parse(tests[i].key, &canonical,
						     &kind, &error);
		if (tests[i].canonical == NULL) {
			test_assert_idx(ret < 0, i);
		} else {
			test_assert_idx(ret == 0, i);
			if (ret == 0) {
				test_assert_strcmp_idx(canonical,
						       tests[i].canonical, i);
				test_assert_idx(kind == tests[i].kind, i);
			}
		}
	}
	test_assert(pop3_policy_uidl_key_msgid("  <x@y>\t") != NULL &&
		    strcmp(pop3_policy_uidl_key_msgid("  <x@y>\t"),
			   "msgid:x@y") == 0);
	test_assert(pop3_policy_uidl_key_msgid(" ") == NULL);
	test_assert(pop3_policy_uidl_key_msgid("<a b@c>") == NULL);
	test_end();
}

static void test_uidl_import(void)
{
	static const struct {
		const char *data;
		/* NULL = must succeed; else a substring of the error */
		const char *error;
		unsigned int count;
	} tests[] = {
		{ "", NULL, 0 },
		{ "# comment\n\nguid:abc U1\n", NULL, 1 },
		{ "guid:abc U1\r\nuid:5:7\tU2\r\nmsgid:<m@x>   U3\n"
		  "hdr:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 U4",
		  NULL, 4 },
		{ "guid:abc U1\nguid:def U1\n", "line 2: UIDL U1 repeats the one of line 1", 0 },
		{ "guid:abc U1\nguid:abc U2\n", "line 2: key guid:abc appears twice", 0 },
		{ "guid:abc U1\nguid:def\n", "line 2: UIDL is empty", 0 },
		{ "guid:abc U1\nguid:def \n", "line 2: UIDL is empty", 0 },
		{ "guid:abc U1\n\nguid:def U2 \n", "line 3: UIDL has character 0x20", 0 },
		{ "guid:abc a\xffz\n", "line 1: UIDL has character 0xff", 0 },
		{ "guid:abc 1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901\n",
		  "line 1: UIDL is 71 characters long", 0 },
		{ "x:abc U1\n", "line 1: unknown key", 0 },
		{ "uid:1:2 U1\nuid:01:2 U2\n", "line 2: key uid:1:2 appears twice", 0 },
		{ "msgid:<a@b> U1\nmsgid:a@b U2\n", "line 2: key msgid:a@b appears twice", 0 },
		{ " U1\n", "line 1: unknown key", 0 },
	};
	struct pop3_policy_uidl_map *map;
	const char *error;
	unsigned int i;

	test_begin("uidl import parse");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		int ret;

		map = NULL;
		error = NULL;
		ret = pop3_policy_uidl_import_parse(tests[i].data,
			strlen(tests[i].data), &map, &error);
		if (tests[i].error == NULL) {
			test_assert_idx(ret == 0, i);
			test_assert_idx(map != NULL &&
				pop3_policy_uidl_map_count(map) ==
				tests[i].count, i);
		} else {
			test_assert_idx(ret < 0 && map == NULL, i);
			test_assert_idx(error != NULL &&
				strstr(error, tests[i].error) != NULL, i);
		}
		pop3_policy_uidl_map_free(&map);
	}
	/* a NUL byte inside a line is refused with its line number */
	test_assert(pop3_policy_uidl_import_parse("guid:a U1\nguid:b U\0002\n",
						  22, &map, &error) < 0 &&
		    strstr(error, "line 2") != NULL);
	test_end();
}

static void test_uidl_resolve(void)
{
	struct pop3_policy_uidl_map *map;
	struct pop3_policy_uidl_msg_keys keys;
	const char *data = "uid:7:1 U-UID\nguid:g1 U-GUID\nmsgid:m@x U-MSGID\n"
		"hdr:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 U-HDR\n";
	const char *error;

	test_begin("uidl resolve order");
	test_assert(pop3_policy_uidl_import_parse(data, strlen(data), &map,
						  &error) == 0);
	i_zero(&keys);
	keys.uid_key = "uid:7:1";
	keys.guid_key = "guid:g1";
	keys.msgid_key = "msgid:m@x";
	keys.hdr_key = "hdr:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	test_assert_strcmp(pop3_policy_uidl_map_resolve(map, &keys), "U-UID");
	keys.uid_key = "uid:8:1";
	test_assert_strcmp(pop3_policy_uidl_map_resolve(map, &keys), "U-GUID");
	keys.guid_key = NULL;
	test_assert_strcmp(pop3_policy_uidl_map_resolve(map, &keys), "U-MSGID");
	keys.msgid_key = "msgid:other";
	test_assert_strcmp(pop3_policy_uidl_map_resolve(map, &keys), "U-HDR");
	keys.hdr_key = NULL;
	test_assert(pop3_policy_uidl_map_resolve(map, &keys) == NULL);
	test_assert(map->kind_counts[POP3_POLICY_UIDL_KEY_HDR] == 1);
	pop3_policy_uidl_map_free(&map);
	test_end();
}

static void test_uidl_assign(void)
{
	struct pop3_policy_uidl_assign msgs[] = {
		{ .native = "N1", .mapped = "A" },
		{ .native = "N2", .mapped = NULL },
		/* takes the native UIDL of message 2: falls back */
		{ .native = "N3", .mapped = "N2" },
		/* same mapped UIDL as message 1: falls back */
		{ .native = "N4", .mapped = "A" },
		{ .native = "N5", .mapped = "B" },
		/* mapped equals its own native: fine */
		{ .native = "N6", .mapped = "N6" },
	};

	test_begin("uidl assign collisions");
	test_assert(pop3_policy_uidl_assign(msgs, N_ELEMENTS(msgs)) == 2);
	test_assert_strcmp(msgs[0].served, "A");
	test_assert(msgs[0].source == POP3_POLICY_UIDL_SOURCE_MAP);
	test_assert_strcmp(msgs[1].served, "N2");
	test_assert(msgs[1].source == POP3_POLICY_UIDL_SOURCE_NATIVE);
	test_assert_strcmp(msgs[2].served, "N3");
	test_assert(msgs[2].source == POP3_POLICY_UIDL_SOURCE_COLLISION);
	test_assert_strcmp(msgs[3].served, "N4");
	test_assert(msgs[3].source == POP3_POLICY_UIDL_SOURCE_COLLISION);
	test_assert_strcmp(msgs[4].served, "B");
	test_assert_strcmp(msgs[5].served, "N6");
	test_assert(msgs[5].source == POP3_POLICY_UIDL_SOURCE_MAP);
	test_end();
}

/* A mailbox of count messages (uid i+1, GUID "guid<i>"), then today's:
   messages below deleted_below gone, new_mail more, UIDLs changed from
   changed_from on, and with renumber a new UIDVALIDITY whose UIDs are
   shifted (a lost dovecot-uidlist). Today's builder gets only what the
   caller contract asks for, as a session does. */
static void
guard_run(unsigned int count, unsigned int changed_from,
	  unsigned int deleted_below, unsigned int new_mail, bool renumber,
	  unsigned int percent, struct pop3_policy_uidl_guard_result *res_r)
{
	struct pop3_policy_uidl_guard_builder *b1, *b2;
	struct pop3_policy_uidl_guard_sketch prev, prev2;
	const struct pop3_policy_uidl_guard_sample *p;
	const char *error;
	unsigned int i, k, added = 0;

	t_array_init(&prev.samples, 256);
	t_array_init(&prev2.samples, 256);
	b1 = pop3_policy_uidl_guard_builder_init(1000);
	for (i = 0; i < count; i++) {
		pop3_policy_uidl_guard_builder_add(b1, i + 1,
			pop3_policy_uidl_guard_hash(t_strdup_printf("guid%u", i)),
			t_strdup_printf("u%u", i));
	}
	pop3_policy_uidl_guard_builder_sketch(b1, &prev);
	/* through the record codec, as between two sessions */
	test_assert(pop3_policy_uidl_guard_decode(
		pop3_policy_uidl_guard_encode(&prev), &prev2, &error) == 0);
	test_assert(pop3_policy_uidl_guard_sketch_equals(&prev, &prev2));

	b2 = pop3_policy_uidl_guard_builder_init(renumber ? 2000 : 1000);
	for (i = deleted_below; i < count + new_mail; i++) {
		uint32_t uid = renumber ? i - deleted_below + 1 : i + 1;
		uint64_t gh = pop3_policy_uidl_guard_hash(
			t_strdup_printf("guid%u", i));
		bool want = FALSE;

		/* the smallest keys of today's mailbox ... */
		k = 0;
		for (unsigned int j = deleted_below; j < count + new_mail; j++) {
			uint32_t u2 = renumber ? j - deleted_below + 1 : j + 1;
			if (pop3_policy_uidl_guard_uid_key(u2) <
			    pop3_policy_uidl_guard_uid_key(uid))
				k++;
			if (k >= POP3_POLICY_UIDL_GUARD_SAMPLES)
				break;
		}
		want = k < POP3_POLICY_UIDL_GUARD_SAMPLES;
		/* ... and the previous samples still there */
		array_foreach(&prev2.samples, p) {
			if (renumber ? p->guid_hash == gh : p->uid == uid)
				want = TRUE;
		}
		if (!want)
			continue;
		added++;
		pop3_policy_uidl_guard_builder_add(b2, uid, gh,
			t_strdup_printf(i >= changed_from ? "v%u" : "u%u", i));
	}
	test_assert(added <= 2 * POP3_POLICY_UIDL_GUARD_SAMPLES);
	pop3_policy_uidl_guard_check(b2, &prev2, percent, res_r);
	pop3_policy_uidl_guard_builder_deinit(&b1);
	pop3_policy_uidl_guard_builder_deinit(&b2);
}

static void test_uidl_guard(void)
{
	struct pop3_policy_uidl_guard_result res;
	struct pop3_policy_uidl_guard_sketch sketch;
	const char *error;
	unsigned int percent;

	test_begin("uidl guard");
	/* nothing changed */
	guard_run(100, UINT_MAX, 0, 0, FALSE, 50, &res);
	test_assert(res.present == 100 && res.changed == 0 && !res.tripped);
	/* everything changed */
	guard_run(100, 0, 0, 0, FALSE, 50, &res);
	test_assert(res.present == 100 && res.changed == 100 && res.tripped);
	/* exactly half: not more than 50% */
	guard_run(100, 50, 0, 0, FALSE, 50, &res);
	test_assert(res.changed == 50 && !res.tripped);
	guard_run(100, 49, 0, 0, FALSE, 50, &res);
	test_assert(res.tripped);
	/* normal deletions and lots of new mail never trip it */
	guard_run(100, UINT_MAX, 90, 1000, FALSE, 50, &res);
	test_assert(res.present == 10 && !res.tripped);
	/* all deleted: nothing to compare */
	guard_run(100, 0, 100, 5, FALSE, 50, &res);
	test_assert(res.present == 0 && !res.tripped);
	/* a large mailbox is sampled */
	guard_run(2000, 0, 0, 0, FALSE, 50, &res);
	test_assert(res.present == POP3_POLICY_UIDL_GUARD_SAMPLES &&
		    res.tripped);
	guard_run(2000, UINT_MAX, 0, 3000, FALSE, 50, &res);
	test_assert(res.present == POP3_POLICY_UIDL_GUARD_SAMPLES &&
		    !res.tripped);
	/* a new UIDVALIDITY with renumbered UIDs: matched by GUID, so
	   unchanged UIDLs (a snapshot served them) pass and changed ones
	   trip, also after deletions shifted every UID */
	guard_run(300, UINT_MAX, 20, 0, TRUE, 50, &res);
	test_assert(res.present > 200 && res.changed == 0 && !res.tripped);
	guard_run(300, 0, 20, 0, TRUE, 50, &res);
	test_assert(res.present > 200 && res.tripped);
	/* 0 disables */
	guard_run(100, 0, 0, 0, FALSE, 0, &res);
	test_assert(!res.tripped);
	/* an empty mailbox in two sessions in a row (compared empty
	   sketches once panicked in array_front()) */
	guard_run(0, UINT_MAX, 0, 0, FALSE, 50, &res);
	test_assert(res.present == 0 && !res.tripped);

	test_assert(pop3_policy_uidl_guard_parse_percent(NULL, &percent,
							 &error) == 0 &&
		    percent == 50);
	test_assert(pop3_policy_uidl_guard_parse_percent("20%", &percent,
							 &error) == 0 &&
		    percent == 20);
	test_assert(pop3_policy_uidl_guard_parse_percent("101", &percent,
							 &error) < 0);
	test_assert(pop3_policy_uidl_guard_parse_percent("x", &percent,
							 &error) < 0);

	/* hostile records */
	t_array_init(&sketch.samples, 4);
	{
		const char *good = "1:0011223344556677:0011223344556677";
		const char *bad1[] = { "2", good, "5", NULL };
		const char *bad2[] = { "1", "1:001122334455667:0011223344556677", "5", NULL };
		const char *bad3[] = { "1", "1:0011223344556677-0011223344556677", "5", NULL };
		const char *bad4[] = { "999", "", "5", NULL };
		const char *bad5[] = { "1", "1:001122334455667g:0011223344556677", "5", NULL };
		const char *bad6[] = { "1", good, NULL };
		const char *bad7[] = { "1", good, "x", NULL };
		const char *bad8[] = { "1", "x:0011223344556677:0011223344556677", "5", NULL };
		const char *ok0[] = { "0", "", "5", NULL };
		const char *ok1[] = { "1", good, "5", NULL };
		test_assert(pop3_policy_uidl_guard_decode(bad1, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(bad2, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(bad3, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(bad4, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(bad5, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(bad6, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(bad7, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(bad8, &sketch, &error) < 0);
		test_assert(pop3_policy_uidl_guard_decode(ok0, &sketch, &error) == 0 &&
			    array_count(&sketch.samples) == 0);
		test_assert(pop3_policy_uidl_guard_decode(ok1, &sketch, &error) == 0 &&
			    array_count(&sketch.samples) == 1 &&
			    sketch.uidvalidity == 5);
	}
	test_end();
}

static void test_uidl_listing(void)
{
	static const struct {
		const char *data;
		const char *error; /* NULL = valid */
		unsigned int count;
	} tests[] = {
		{ "", NULL, 0 },
		{ "+OK\r\n1 A\r\n2 B\r\n.\r\n", NULL, 2 },
		{ "1 A\n3 C\n", NULL, 2 },
		{ "1 A\n2 A\n", "line 2: UIDL A repeats the one of line 1", 0 },
		{ "1 A\n1 B\n", "line 2: message number 1 repeats", 0 },
		{ "0 A\n", "line 1: expected", 0 },
		{ "x A\n", "line 1: expected", 0 },
		{ "1\n", "line 1: expected", 0 },
		{ "1 A B\n", "line 1: UIDL has character 0x20", 0 },
		{ "+OK\n1 A\n.\n2 B\n", "line 4: text after", 0 },
		{ "1 A\n+OK\n", "line 2: expected", 0 },
	};
	ARRAY_TYPE(pop3_policy_uidl_listing_line) lines;
	const char *error;
	unsigned int i;
	pool_t pool = pool_alloconly_create("test", 1024);

	test_begin("uidl listing parse");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		int ret = pop3_policy_uidl_listing_parse(tests[i].data,
			strlen(tests[i].data), pool, &lines, &error);
		if (tests[i].error == NULL) {
			test_assert_idx(ret == 0 &&
					array_count(&lines) == tests[i].count, i);
		} else {
			test_assert_idx(ret < 0 &&
				strstr(error, tests[i].error) != NULL, i);
		}
	}
	pool_unref(&pool);
	test_end();
}

/* The fast path gives what Dovecot's own expansion of the default format
   gives, also at the ends of the ranges. */
static void test_uidl_format_default(void)
{
	static const uint32_t values[][2] = {
		{ 0, 0 }, { 1, 1 }, { 1700000000, 17 }, { 0x0abcdef0, 9 },
		{ 0xffffffff, 0xffffffff }, { 0x80000000, 0x7fffffff },
	};
	const char *error;
	unsigned int i;

	test_begin("uidl default format");
	for (i = 0; i < N_ELEMENTS(values); i++) {
		const struct var_expand_table tab[] = {
			{ 'v', dec2str(values[i][0]), "uidvalidity" },
			{ 'u', t_strdup(dec2str(values[i][1])), "uid" },
			{ '\0', NULL, NULL }
		};
		string_t *expanded = t_str_new(32);

		test_assert_idx(var_expand(expanded,
					   POP3_POLICY_UIDL_FORMAT_DEFAULT,
					   tab, &error) == 1, i);
		test_assert_strcmp_idx(pop3_policy_uidl_format_default(
			values[i][0], values[i][1]), str_c(expanded), i);
	}
	test_assert_strcmp(pop3_policy_uidl_format_default(0x12AB, 0xC),
			   "0000000c000012ab");
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_uidl_validate,
		test_uidl_key_parse,
		test_uidl_import,
		test_uidl_resolve,
		test_uidl_assign,
		test_uidl_guard,
		test_uidl_listing,
		test_uidl_format_default,
		NULL
	};
	return test_run(test_functions);
}
