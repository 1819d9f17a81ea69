/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The APOP record codec and key file: round trips and hostile input
   (wrong key, other user, corrupted and truncated records, bad key files
   and loose permissions). */

#include "lib.h"
#include "str.h"
#include "unlink-directory.h"
#include "strfuncs.h"
#include "test-common.h"
#include "pop3-policy-record.h"
#include "pop3-policy-apop.h"

#include <stdio.h>
#include <ctype.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define KEY_A "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
#define KEY_A_OTHER "1 ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
#define KEY_B "2 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"

static const char *test_dir;

static const char *t_str_repeat(const char *s, unsigned int n)
{
	string_t *str = t_str_new(n);

	while (n-- > 0)
		str_append(str, s);
	return str_c(str);
}

static const char *write_key_file(const char *name, const char *content,
				  mode_t mode)
{
	const char *path = t_strconcat(test_dir, "/", name, NULL);
	FILE *f;

	i_unlink_if_exists(path);
	f = fopen(path, "w");
	i_assert(f != NULL);
	fputs(content, f);
	i_assert(fclose(f) == 0);
	i_assert(chmod(path, mode) == 0);
	return path;
}

static struct pop3_policy_apop_keyring *read_ring(const char *content)
{
	struct pop3_policy_apop_keyring *ring;
	const char *path, *error;

	path = write_key_file("ring", content, 0600);
	if (pop3_policy_apop_keyring_read(path, &ring, &error) < 0)
		i_fatal("%s", error);
	return ring;
}

static void test_apop_secret(void)
{
	const char *s1, *s2, *error;
	unsigned int i;

	test_begin("apop secret generate and validate");
	s1 = pop3_policy_apop_secret_generate();
	s2 = pop3_policy_apop_secret_generate();
	test_assert(strlen(s1) == POP3_POLICY_APOP_SECRET_GEN_LEN);
	test_assert(strcmp(s1, s2) != 0);
	for (i = 0; s1[i] != '\0'; i++)
		test_assert_idx(i_isalnum(s1[i]), i);
	test_assert(pop3_policy_apop_secret_validate(s1, &error) == 0);
	test_assert(pop3_policy_apop_secret_validate("", &error) < 0);
	test_assert(pop3_policy_apop_secret_validate("a\tb", &error) < 0);
	test_assert(pop3_policy_apop_secret_validate("a\nb", &error) < 0);
	test_assert(pop3_policy_apop_secret_validate(" ab", &error) < 0);
	test_assert(pop3_policy_apop_secret_validate(t_str_repeat("x", 256),
						     &error) < 0);
	test_assert(pop3_policy_apop_secret_validate(t_str_repeat("x", 255),
						     &error) == 0);
	test_end();
}

static void test_apop_roundtrip(void)
{
	struct pop3_policy_apop_keyring *ring = read_ring(KEY_A KEY_B);
	const struct pop3_policy_apop_key *key;
	const char *const *fields, *const *decoded, *record;
	const char *secret, *key_id, *error;
	time_t set_time;

	test_begin("apop encrypt/decrypt round trip");
	key = pop3_policy_apop_keyring_newest(ring);
	test_assert_strcmp(key->id, "2");
	test_assert(pop3_policy_apop_keyring_count(ring) == 2);
	fields = pop3_policy_apop_encrypt(key, "alice", 1795391833,
					  "tanstaaf secret");
	test_assert(str_array_length(fields) == 5);
	test_assert(strstr(t_strarray_join(fields, " "), "tanstaaf") == NULL);

	/* through the record envelope, as the store keeps it */
	record = pop3_policy_record_encode(POP3_POLICY_RECORD_APOP, fields);
	test_assert(pop3_policy_record_decode(POP3_POLICY_RECORD_APOP, record,
					      &decoded, &error) == 0);
	test_assert(pop3_policy_apop_decrypt(ring, "alice", decoded, &secret,
					     &key_id, &error) == 1);
	test_assert_strcmp(secret, "tanstaaf secret");
	test_assert_strcmp(key_id, "2");
	test_assert(pop3_policy_apop_record_info(decoded, &key_id, &set_time,
						 &error) == 0);
	test_assert(set_time == 1795391833);

	/* the same secret encrypts differently each time (fresh nonce) */
	test_assert(strcmp(fields[3], pop3_policy_apop_encrypt(key, "alice",
		1795391833, "tanstaaf secret")[3]) != 0);

	/* PLAIN records */
	fields = pop3_policy_apop_plain_fields(5, "plainsecret");
	test_assert(pop3_policy_apop_decrypt(NULL, "bob", fields, &secret,
					     &key_id, &error) == 1);
	test_assert_strcmp(secret, "plainsecret");
	test_assert_strcmp(key_id, "PLAIN");
	pop3_policy_apop_keyring_free(&ring);
	test_end();
}

static const char *const *
fields_with(const char *const *fields, unsigned int idx, const char *value)
{
	const char **copy = t_new(const char *, 6);
	unsigned int i;

	for (i = 0; i < 5; i++)
		copy[i] = i == idx ? value : fields[i];
	return copy;
}

static void test_apop_hostile(void)
{
	struct pop3_policy_apop_keyring *ring = read_ring(KEY_A KEY_B);
	struct pop3_policy_apop_keyring *other = read_ring(KEY_A_OTHER);
	struct pop3_policy_apop_keyring *only_b = read_ring(KEY_B);
	const struct pop3_policy_apop_key *key_a;
	const char *const *fields, *secret, *key_id, *error, *ct;
	const char *truncated[4];
	char *flipped;

	test_begin("apop hostile records");
	key_a = pop3_policy_apop_keyring_find(ring, "1");
	test_assert(key_a != NULL);
	fields = pop3_policy_apop_encrypt(key_a, "alice", 100, "s3cret-value");

	/* wrong key under the same id */
	error = NULL;
	test_assert(pop3_policy_apop_decrypt(other, "alice", fields, &secret,
					     &key_id, &error) == -1);
	test_assert(error != NULL && strstr(error, "s3cret") == NULL);
	/* key id not in the ring */
	test_assert(pop3_policy_apop_decrypt(only_b, "alice", fields, &secret,
					     &key_id, &error) == 0);
	test_assert_strcmp(key_id, "1");
	test_assert(pop3_policy_apop_decrypt(NULL, "alice", fields, &secret,
					     &key_id, &error) == 0);
	/* record of another user */
	test_assert(pop3_policy_apop_decrypt(ring, "mallory", fields, &secret,
					     &key_id, &error) == -1);
	/* relabelled key id or changed set time */
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 0, "2"), &secret, &key_id, &error) == -1);
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 1, "101"), &secret, &key_id, &error) == -1);
	/* a flipped ciphertext nibble */
	flipped = t_strdup_noconst(fields[3]);
	flipped[0] = flipped[0] == '0' ? '1' : '0';
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 3, flipped), &secret, &key_id,
		&error) == -1);
	/* truncated ciphertext, tag, nonce; odd hex; non-hex */
	ct = fields[3];
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 3, t_strndup(ct, strlen(ct) - 2)),
		&secret, &key_id, &error) == -1);
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 4, t_strndup(fields[4], 30)),
		&secret, &key_id, &error) == -1);
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 2, t_strndup(fields[2], 22)),
		&secret, &key_id, &error) == -1);
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 3, t_strndup(ct, strlen(ct) - 1)),
		&secret, &key_id, &error) == -1);
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 4, "zz000000000000000000000000000000"),
		&secret, &key_id, &error) == -1);
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 3, ""), &secret, &key_id, &error) == -1);
	/* fields missing altogether */
	truncated[0] = fields[0];
	truncated[1] = fields[1];
	truncated[2] = fields[2];
	truncated[3] = NULL;
	test_assert(pop3_policy_apop_decrypt(ring, "alice", truncated,
					     &secret, &key_id, &error) == -1);
	test_assert(strstr(error, "truncated") != NULL);
	/* bad key id and set time */
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 0, "bad id"), &secret, &key_id,
		&error) == -1);
	test_assert(pop3_policy_apop_decrypt(ring, "alice",
		fields_with(fields, 1, "-5"), &secret, &key_id, &error) == -1);
	/* a set time that localtime() cannot take (doveadm pop3-apop
	   status prints it) is malformed too */
	{
		const char *key_id2;
		time_t set_time;

		test_assert(pop3_policy_apop_record_info(
			fields_with(fields, 1, "9223372036854775807"),
			&key_id2, &set_time, &error) == -1);
		test_assert(strstr(error, "set time") != NULL);
		test_assert(pop3_policy_apop_record_info(
			pop3_policy_apop_plain_fields(253402300800, "x"),
			&key_id2, &set_time, &error) == -1);
		test_assert(pop3_policy_apop_record_info(
			pop3_policy_apop_plain_fields(253402300799, "x"),
			&key_id2, &set_time, &error) == 0);
	}
	/* a PLAIN record with a control character */
	test_assert(pop3_policy_apop_decrypt(NULL, "alice",
		pop3_policy_apop_plain_fields(1, "a\001b"), &secret, &key_id,
		&error) == -1);

	pop3_policy_apop_keyring_free(&ring);
	pop3_policy_apop_keyring_free(&other);
	pop3_policy_apop_keyring_free(&only_b);
	test_end();
}

static void test_bad_key_file(const char *content, mode_t mode,
			      const char *expect, unsigned int idx)
{
	struct pop3_policy_apop_keyring *ring = NULL;
	const char *path, *error = NULL;

	path = write_key_file("bad", content, mode);
	test_assert_idx(pop3_policy_apop_keyring_read(path, &ring,
						      &error) < 0, idx);
	test_assert_idx(ring == NULL, idx);
	test_assert_idx(error != NULL && strstr(error, expect) != NULL, idx);
	/* no key material in the error */
	test_assert_idx(error != NULL && strstr(error, "0102030405") == NULL,
			idx);
}

static void test_apop_key_file(void)
{
	struct pop3_policy_apop_keyring *ring;
	const char *path, *error, *id;
	struct stat st;

	test_begin("apop key file checks");
	test_bad_key_file(KEY_A, 0644, "permissions 0644 are too open", 0);
	test_bad_key_file(KEY_A, 0640, "too open", 1);
	test_bad_key_file(KEY_A, 0602, "too open", 2);
	test_bad_key_file("# nothing\n\n", 0600, "no key", 3);
	test_bad_key_file("# c\n1 0011\n", 0600, "line 2", 4);
	test_bad_key_file("1\n", 0600, "line 1", 5);
	test_bad_key_file(KEY_A KEY_A, 0600, "duplicate key id 1", 6);
	test_bad_key_file("PLAIN 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
			  0600, "invalid key id", 7);
	test_bad_key_file("1 zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
			  0600, "not valid hex", 8);
	test_assert(pop3_policy_apop_keyring_read(
		t_strconcat(test_dir, "/missing", NULL), &ring, &error) < 0);
	test_assert(strstr(error, "missing") != NULL);
	test_assert(pop3_policy_apop_keyring_read(test_dir, &ring,
						  &error) < 0);

	/* a comment and CRLF are fine */
	path = write_key_file("crlf", "# keys\r\n1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n", 0600);
	test_assert(pop3_policy_apop_keyring_read(path, &ring, &error) == 0);
	pop3_policy_apop_keyring_free(&ring);

	/* generating keys: a new file is 0600 and keys are numbered */
	path = t_strconcat(test_dir, "/generated", NULL);
	test_assert(pop3_policy_apop_keyfile_add_key(path, &id, &error) == 0);
	test_assert_strcmp(id, "1");
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_assert(pop3_policy_apop_keyring_read(path, &ring, &error) == 0);
	test_assert(!pop3_policy_apop_keyring_is_stale(ring, path));
	test_assert(pop3_policy_apop_keyfile_add_key(path, &id, &error) == 0);
	test_assert_strcmp(id, "2");
	test_assert(pop3_policy_apop_keyring_is_stale(ring, path));
	pop3_policy_apop_keyring_free(&ring);
	/* a chmod alone makes the ring stale, so the loose mode is seen */
	test_assert(pop3_policy_apop_keyring_read(path, &ring, &error) == 0);
	test_assert(!pop3_policy_apop_keyring_is_stale(ring, path));
	test_assert(chmod(path, 0644) == 0);
	test_assert(pop3_policy_apop_keyring_is_stale(ring, path));
	test_assert(chmod(path, 0600) == 0);
	pop3_policy_apop_keyring_free(&ring);
	test_assert(pop3_policy_apop_keyring_read(path, &ring, &error) == 0);
	test_assert(pop3_policy_apop_keyring_count(ring) == 2);
	test_assert_strcmp(pop3_policy_apop_keyring_newest(ring)->id, "2");
	pop3_policy_apop_keyring_free(&ring);
	/* adding to a loose file is refused, and the file is unchanged */
	test_assert(chmod(path, 0644) == 0);
	test_assert(pop3_policy_apop_keyfile_add_key(path, &id, &error) < 0);
	test_assert(strstr(error, "too open") != NULL);
	test_end();
}

/* Writers that add keys at the same time (doveadm pop3-apop rotate-key
   --new-key run twice) each keep their key: every add reads the file the
   previous one wrote. */
static void test_apop_key_file_concurrent(void)
{
#define CONCURRENT_WRITERS 4
#define CONCURRENT_ADDS 20
	struct pop3_policy_apop_keyring *ring;
	const char *path, *error, *id;
	pid_t pids[CONCURRENT_WRITERS];
	unsigned int i, j, failed = 0;
	int status;

	test_begin("apop key file concurrent adds");
	path = t_strconcat(test_dir, "/concurrent", NULL);
	test_assert(pop3_policy_apop_keyfile_add_key(path, &id, &error) == 0);
	for (i = 0; i < CONCURRENT_WRITERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			i_fatal("fork() failed: %m");
		if (pids[i] == 0) {
			for (j = 0; j < CONCURRENT_ADDS; j++) {
				if (pop3_policy_apop_keyfile_add_key(path,
						&id, &error) < 0) {
					fprintf(stderr, "%s\n", error);
					_exit(1);
				}
			}
			_exit(0);
		}
	}
	for (i = 0; i < CONCURRENT_WRITERS; i++) {
		if (waitpid(pids[i], &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	test_assert(failed == 0);
	test_assert(pop3_policy_apop_keyring_read(path, &ring, &error) == 0);
	test_assert(pop3_policy_apop_keyring_count(ring) ==
		    1 + CONCURRENT_WRITERS * CONCURRENT_ADDS);
	test_assert_strcmp(pop3_policy_apop_keyring_newest(ring)->id,
			   dec2str(1 + CONCURRENT_WRITERS * CONCURRENT_ADDS));
	pop3_policy_apop_keyring_free(&ring);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_apop_secret,
		test_apop_roundtrip,
		test_apop_hostile,
		test_apop_key_file,
		test_apop_key_file_concurrent,
		NULL
	};
	char template[] = "/tmp/test-apop.XXXXXX";
	const char *error;
	int ret;

	lib_init();
	if (mkdtemp(template) == NULL)
		i_fatal("mkdtemp() failed: %m");
	test_dir = template;
	ret = test_run(test_functions);
	if (unlink_directory(test_dir, UNLINK_DIRECTORY_FLAG_RMDIR,
			     &error) < 0)
		i_error("%s", error);
	lib_deinit();
	return ret;
}
