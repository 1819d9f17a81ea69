/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL guard file of a mailbox.

   The sketch of the UIDLs the last POP3 session served
   (pop3-policy-uidl-guard.c) is the INBOX's state: it lives in
   POP3_POLICY_UIDL_GUARD_FILE_NAME in the INBOX's control directory, next
   to the UIDL map file, where Dovecot never removes it on an index rebuild
   or a new UIDVALIDITY, so the guard still sees the UIDLs change when
   dovecot-uidlist or the index is lost. A session rewrites it (atomically,
   pop3-policy-state-file.c) only when the sketch changed, i.e. when mail
   that is sampled arrived or went.

   Format, version 1: two lines of text.

     PPUIDLG 1 <checksum>
     <sample count> TAB <uid>:<guidhash>:<uidlhash>,... TAB <uidvalidity>

   <checksum> is the xxh64 of the second line (with its LF), 16 lower-case
   hex digits; hashes are 16 lower-case hex digits. Example with two
   samples:

     PPUIDLG 1 5be1c0d2a8e4f317
     2<TAB>7:00a1...ff:9c0e...01,3:0b33...20:77aa...3c<TAB>1795391833

   A file of another version, a checksum that does not match or a line that
   does not parse is an error: the session fails closed and the
   administrator decides (doveadm pop3-uidl accept). */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "xxh64.h"
#include "pop3-policy-state-file.h"
#include "pop3-policy-uidl-guard-file.h"

#define UIDL_GUARD_FILE_MAGIC "PPUIDLG"
#define UIDL_GUARD_FILE_VERSION 1
/* 256 samples of at most 45 bytes, with room to spare */
#define UIDL_GUARD_FILE_MAX_SIZE (64 * 1024)

const char *
pop3_policy_uidl_guard_file_encode(
	const struct pop3_policy_uidl_guard_sketch *sketch)
{
	const char *body;

	body = t_strconcat(t_strarray_join(
		pop3_policy_uidl_guard_encode(sketch), "\t"), "\n", NULL);
	return t_strdup_printf("%s %u %016"PRIx64"\n%s", UIDL_GUARD_FILE_MAGIC,
			       UIDL_GUARD_FILE_VERSION,
			       xxh64_data(body, strlen(body), 0), body);
}

int pop3_policy_uidl_guard_file_decode(const void *data, size_t size,
	struct pop3_policy_uidl_guard_sketch *sketch_r, const char **error_r)
{
	const char *text, *body, *const *head, *const *fields;
	unsigned int version;
	uint64_t checksum;

	if (memchr(data, '\0', size) != NULL) {
		*error_r = "damaged: contains NUL";
		return -1;
	}
	text = t_strndup(data, size);
	body = strchr(text, '\n');
	if (body == NULL) {
		*error_r = "damaged: no header line";
		return -1;
	}
	head = t_strsplit(t_strdup_until(text, body++), " ");
	if (str_array_length(head) != 3 ||
	    strcmp(head[0], UIDL_GUARD_FILE_MAGIC) != 0) {
		*error_r = "not a UIDL guard file";
		return -1;
	}
	if (str_to_uint(head[1], &version) < 0 ||
	    version != UIDL_GUARD_FILE_VERSION) {
		*error_r = t_strdup_printf("format version %s, this build "
					   "reads version %u", head[1],
					   UIDL_GUARD_FILE_VERSION);
		return -1;
	}
	if (strlen(head[2]) != 16 ||
	    str_to_uint64_hex(head[2], &checksum) < 0 ||
	    checksum != xxh64_data(body, strlen(body), 0)) {
		*error_r = "damaged: checksum mismatch";
		return -1;
	}
	if (body[0] == '\0' || body[strlen(body) - 1] != '\n' ||
	    strchr(body, '\n') != body + strlen(body) - 1) {
		*error_r = "damaged: not one sketch line";
		return -1;
	}
	fields = t_strsplit(t_strcut(body, '\n'), "\t");
	if (str_array_length(fields) != 3) {
		*error_r = "damaged: the sketch line needs 3 fields";
		return -1;
	}
	return pop3_policy_uidl_guard_decode(fields, sketch_r, error_r);
}

int pop3_policy_uidl_guard_file_read(const char *path,
	struct pop3_policy_uidl_guard_sketch *sketch_r, const char **error_r)
{
	unsigned char *data;
	size_t size;
	int ret;

	ret = pop3_policy_state_file_read(path, UIDL_GUARD_FILE_MAX_SIZE,
					  pool_datastack_create(), &data,
					  &size, error_r);
	if (ret <= 0)
		return ret;
	if (pop3_policy_uidl_guard_file_decode(data, size, sketch_r,
					       error_r) < 0) {
		*error_r = t_strdup_printf("%s: %s", path, *error_r);
		return -1;
	}
	return 1;
}

int pop3_policy_uidl_guard_file_write(const char *path,
	const struct pop3_policy_state_file_perm *perm,
	const struct pop3_policy_uidl_guard_sketch *sketch,
	const char **error_r)
{
	const char *data = pop3_policy_uidl_guard_file_encode(sketch);

	return pop3_policy_state_file_write(path, perm, data, strlen(data),
					    error_r);
}
