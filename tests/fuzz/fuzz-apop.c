/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* APOP secret records (pop3-policy-apop.c) under a key ring of two keys.
   The input's first byte picks what it is:
   - even: an APOP record as stored (the envelope, then the payload),
     read as the passdb reads it (record info, then decrypt);
   - odd: "<secret> NUL <edits>": the secret is sealed for the user, the
     sealed fields are edited (each edit 3 bytes: field, position, new
     byte; byte 0 cuts the field there), the record goes through the
     envelope, and must then decrypt to the same secret or not at all:
     a record that was altered never yields another secret. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "fuzz-common.h"
#include "pop3-policy-record.h"
#include "pop3-policy-apop.h"

#define FUZZ_USER "alice@example.com"
#define FUZZ_SET_TIME 1795391833
#define FUZZ_KEYS \
	"# two keys, newest last\n" \
	"1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n" \
	"2 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"

static struct pop3_policy_apop_keyring *fuzz_ring = NULL;

static void fuzz_ring_free(void)
{
	pop3_policy_apop_keyring_free(&fuzz_ring);
}

static const struct pop3_policy_apop_keyring *fuzz_get_ring(void)
{
	const char *path, *error;

	if (fuzz_ring == NULL) {
		path = fuzz_write_file("apop.keys", FUZZ_KEYS,
				       strlen(FUZZ_KEYS));
		if (pop3_policy_apop_keyring_read(path, &fuzz_ring,
						  &error) < 0)
			i_fatal("%s", error);
		if (atexit(fuzz_ring_free) != 0)
			i_fatal("atexit() failed");
	}
	return fuzz_ring;
}

static int fuzz_read_record(const char *record, const char **secret_r)
{
	const char *const *fields, *key_id, *key_id2, *error;
	time_t set_time;
	int ret;

	*secret_r = NULL;
	if (pop3_policy_record_decode(POP3_POLICY_RECORD_APOP, record,
				      &fields, &error) < 0)
		return -1;
	if (pop3_policy_apop_record_info(fields, &key_id, &set_time,
					 &error) < 0) {
		i_assert(pop3_policy_apop_decrypt(fuzz_get_ring(), FUZZ_USER,
			fields, secret_r, &key_id2, &error) < 0);
		return -1;
	}
	ret = pop3_policy_apop_decrypt(fuzz_get_ring(), FUZZ_USER, fields,
				       secret_r, &key_id2, &error);
	if (ret < 0)
		i_assert(error != NULL);
	else {
		i_assert(strcmp(key_id, key_id2) == 0);
		if (ret > 0) {
			i_assert(pop3_policy_apop_secret_validate(
				*secret_r, &error) == 0);
		}
	}
	return ret;
}

static void fuzz_sealed(const unsigned char *data, size_t size)
{
	const unsigned char *edits;
	const char *secret, *secret2, *const *sealed, *error;
	ARRAY_TYPE(const_string) fields;
	size_t edits_size, len, i;
	unsigned int count, idx;
	char *field;
	bool edited = FALSE;
	int ret;

	secret = fuzz_split(data, size, &edits, &edits_size);
	if (pop3_policy_apop_secret_validate(secret, &error) < 0)
		return;
	sealed = pop3_policy_apop_encrypt(
		pop3_policy_apop_keyring_newest(fuzz_get_ring()), FUZZ_USER,
		FUZZ_SET_TIME, secret);
	count = str_array_length(sealed);
	t_array_init(&fields, count + 1);
	for (i = 0; i < count; i++) {
		field = t_strdup_noconst(sealed[i]);
		array_push_back(&fields, (const char **)&field);
	}
	for (i = 0; i + 3 <= edits_size; i += 3) {
		idx = edits[i] % count;
		field = (char *)array_idx_elem(&fields, idx);
		len = strlen(field);
		if (len == 0)
			continue;
		if (edits[i + 2] == '\0')
			field[edits[i + 1] % len] = '\0';
		else
			field[edits[i + 1] % len] = edits[i + 2];
		edited = edited || strcmp(field, sealed[idx]) != 0;
	}
	array_append_zero(&fields);
	ret = fuzz_read_record(pop3_policy_record_encode(
		POP3_POLICY_RECORD_APOP, array_front(&fields)), &secret2);
	if (!edited) {
		if (ret <= 0)
			i_panic("sealed record does not decrypt");
		i_assert(strcmp(secret, secret2) == 0);
	} else if (ret > 0) {
		/* only an edit the hex decoder does not see (a digit's
		   case) may leave the record readable */
		if (strcmp(secret, secret2) != 0)
			i_panic("altered record decrypts to another secret");
	}
}

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str)
{
	const char *secret;

	if (size == 0)
		return;
	if (data[0] % 2 == 0)
		(void)fuzz_read_record(str + 1, &secret);
	else
		fuzz_sealed(data + 1, size - 1);
}
