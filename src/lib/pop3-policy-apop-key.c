/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The APOP key file (format in pop3-policy-apop-key.h).

   Worked example, a file after one `doveadm pop3-apop rotate-key`:

     # pop3-policy APOP keys, newest last
     1 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
     2 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752

   New records are encrypted under "2"; records under "1" still decrypt
   until rotate-key has re-encrypted them and the admin removes line 1. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "hex-binary.h"
#include "randgen.h"
#include "safe-memset.h"
#include "file-lock.h"
#include "pop3-policy-apop-key.h"

#include "write-full.h"

#include <stdio.h>
#include <ctype.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#define KEY_FILE_MAX_SIZE (1024 * 1024)
/* how long a writer waits for another one to finish adding a key */
#define KEY_FILE_LOCK_SECS 30

struct pop3_policy_apop_keyring {
	ARRAY(struct pop3_policy_apop_key) keys;
	ino_t ino;
	off_t size;
	time_t mtime;
	long mtime_nsec;
	/* ctime catches chmod and chown, which must be re-checked */
	time_t ctime;
	long ctime_nsec;
};

bool pop3_policy_apop_key_id_is_valid(const char *id)
{
	size_t len = strlen(id);
	const char *p;

	if (len == 0 || len > POP3_POLICY_APOP_KEY_ID_MAX_LEN)
		return FALSE;
	if (strcmp(id, POP3_POLICY_APOP_PLAIN_KEY_ID) == 0)
		return FALSE;
	for (p = id; *p != '\0'; p++) {
		if (!i_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
			return FALSE;
	}
	return TRUE;
}

static int
keyfile_check_stat(const char *path, const struct stat *st,
		   const char **error_r)
{
	if (!S_ISREG(st->st_mode)) {
		*error_r = t_strdup_printf(
			"APOP key file %s: not a regular file", path);
		return -1;
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		*error_r = t_strdup_printf(
			"APOP key file %s: owned by uid %ld, must be owned by "
			"uid %ld or root", path, (long)st->st_uid,
			(long)geteuid());
		return -1;
	}
	if ((st->st_mode & 0077) != 0) {
		*error_r = t_strdup_printf(
			"APOP key file %s: permissions %04o are too open "
			"(group and others must have no access: chmod 0600)",
			path, (unsigned int)(st->st_mode & 07777));
		return -1;
	}
	if (st->st_size > KEY_FILE_MAX_SIZE) {
		*error_r = t_strdup_printf(
			"APOP key file %s: larger than %d bytes", path,
			KEY_FILE_MAX_SIZE);
		return -1;
	}
	return 0;
}

/* Reads the whole file into a buffer that the caller clears. */
static int
keyfile_read_all(const char *path, bool missing_ok, buffer_t *buf,
		 struct stat *st_r, const char **error_r)
{
	unsigned char tmp[4096];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd == -1) {
		if (errno == ENOENT && missing_ok) {
			i_zero(st_r);
			return 0;
		}
		*error_r = t_strdup_printf("APOP key file %s: open() failed: %m",
					   path);
		return -1;
	}
	if (fstat(fd, st_r) < 0) {
		*error_r = t_strdup_printf("APOP key file %s: fstat() failed: %m",
					   path);
		i_close_fd(&fd);
		return -1;
	}
	if (keyfile_check_stat(path, st_r, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	while ((ret = read(fd, tmp, sizeof(tmp))) > 0)
		buffer_append(buf, tmp, ret);
	safe_memset(tmp, 0, sizeof(tmp));
	if (ret < 0) {
		*error_r = t_strdup_printf("APOP key file %s: read() failed: %m",
					   path);
		i_close_fd(&fd);
		return -1;
	}
	i_close_fd(&fd);
	return 1;
}

static int
keyfile_parse_line(const char *path, unsigned int line_num,
		   const char *line, struct pop3_policy_apop_key *key_r,
		   const char **error_r)
{
	const char *sp, *id, *hex;
	buffer_t *bin;
	int ret;

	sp = strchr(line, ' ');
	if (sp == NULL) {
		*error_r = t_strdup_printf(
			"APOP key file %s line %u: expected '<key id> <64 hex "
			"digits>'", path, line_num);
		return -1;
	}
	id = t_strdup_until(line, sp);
	hex = sp + 1;
	if (!pop3_policy_apop_key_id_is_valid(id)) {
		*error_r = t_strdup_printf(
			"APOP key file %s line %u: invalid key id (1-%u "
			"characters of A-Z a-z 0-9 . _ -, not PLAIN)",
			path, line_num, POP3_POLICY_APOP_KEY_ID_MAX_LEN);
		return -1;
	}
	if (strlen(hex) != POP3_POLICY_APOP_KEY_SIZE * 2) {
		*error_r = t_strdup_printf(
			"APOP key file %s line %u: key %s is not %u hex digits "
			"(32 bytes)", path, line_num, id,
			POP3_POLICY_APOP_KEY_SIZE * 2);
		return -1;
	}
	bin = t_buffer_create(POP3_POLICY_APOP_KEY_SIZE);
	ret = hex_to_binary(hex, bin);
	if (ret == 0 && bin->used == POP3_POLICY_APOP_KEY_SIZE) {
		memcpy(key_r->key, bin->data, POP3_POLICY_APOP_KEY_SIZE);
		i_assert(strlen(id) < sizeof(key_r->id));
		i_strocpy(key_r->id, id, sizeof(key_r->id));
	}
	safe_memset(buffer_get_modifiable_data(bin, NULL), 0, bin->used);
	if (ret < 0 || key_r->id[0] == '\0') {
		*error_r = t_strdup_printf(
			"APOP key file %s line %u: key %s is not valid hex",
			path, line_num, id);
		return -1;
	}
	return 0;
}

static int
keyring_parse(const char *path, buffer_t *buf,
	      struct pop3_policy_apop_keyring *ring, const char **error_r)
{
	struct pop3_policy_apop_key key;
	char *data, *line, *next;
	unsigned int line_num = 0;
	int ret = 0;

	buffer_append_c(buf, '\0');
	data = buffer_get_modifiable_data(buf, NULL);
	for (line = data; line != NULL && ret == 0; line = next) {
		line_num++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] != '\0' && line[strlen(line)-1] == '\r')
			line[strlen(line)-1] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		i_zero(&key);
		ret = keyfile_parse_line(path, line_num, line, &key, error_r);
		if (ret == 0 &&
		    pop3_policy_apop_keyring_find(ring, key.id) != NULL) {
			*error_r = t_strdup_printf(
				"APOP key file %s line %u: duplicate key id %s",
				path, line_num, key.id);
			ret = -1;
		}
		if (ret == 0)
			array_push_back(&ring->keys, &key);
		safe_memset(&key, 0, sizeof(key));
	}
	return ret;
}

static struct pop3_policy_apop_keyring *keyring_alloc(void)
{
	struct pop3_policy_apop_keyring *ring;

	ring = i_new(struct pop3_policy_apop_keyring, 1);
	i_array_init(&ring->keys, 4);
	return ring;
}

static void keyring_set_stat(struct pop3_policy_apop_keyring *ring,
			     const struct stat *st)
{
	ring->ino = st->st_ino;
	ring->size = st->st_size;
	ring->mtime = st->st_mtim.tv_sec;
	ring->mtime_nsec = st->st_mtim.tv_nsec;
	ring->ctime = st->st_ctim.tv_sec;
	ring->ctime_nsec = st->st_ctim.tv_nsec;
}

int pop3_policy_apop_keyring_read(const char *path,
				  struct pop3_policy_apop_keyring **ring_r,
				  const char **error_r)
{
	struct pop3_policy_apop_keyring *ring;
	struct stat st;
	buffer_t *buf;
	int ret;

	buf = buffer_create_dynamic(default_pool, 512);
	ret = keyfile_read_all(path, FALSE, buf, &st, error_r);
	if (ret < 0) {
		buffer_free(&buf);
		return -1;
	}
	ring = keyring_alloc();
	keyring_set_stat(ring, &st);
	ret = keyring_parse(path, buf, ring, error_r);
	safe_memset(buffer_get_modifiable_data(buf, NULL), 0, buf->used);
	buffer_free(&buf);
	if (ret == 0 && array_count(&ring->keys) == 0) {
		*error_r = t_strdup_printf("APOP key file %s: no key in it",
					   path);
		ret = -1;
	}
	if (ret < 0) {
		pop3_policy_apop_keyring_free(&ring);
		return -1;
	}
	*ring_r = ring;
	return 0;
}

void pop3_policy_apop_keyring_free(struct pop3_policy_apop_keyring **_ring)
{
	struct pop3_policy_apop_keyring *ring = *_ring;
	struct pop3_policy_apop_key *key;

	if (ring == NULL)
		return;
	*_ring = NULL;
	array_foreach_modifiable(&ring->keys, key)
		safe_memset(key, 0, sizeof(*key));
	array_free(&ring->keys);
	i_free(ring);
}

const struct pop3_policy_apop_key *
pop3_policy_apop_keyring_newest(const struct pop3_policy_apop_keyring *ring)
{
	i_assert(array_count(&ring->keys) > 0);
	return array_back(&ring->keys);
}

const struct pop3_policy_apop_key *
pop3_policy_apop_keyring_find(const struct pop3_policy_apop_keyring *ring,
			      const char *id)
{
	const struct pop3_policy_apop_key *key;

	array_foreach(&ring->keys, key) {
		if (strcmp(key->id, id) == 0)
			return key;
	}
	return NULL;
}

unsigned int
pop3_policy_apop_keyring_count(const struct pop3_policy_apop_keyring *ring)
{
	return array_count(&ring->keys);
}

bool pop3_policy_apop_keyring_is_stale(const struct pop3_policy_apop_keyring *ring,
				       const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return TRUE;
	return st.st_ino != ring->ino || st.st_size != ring->size ||
		st.st_mtim.tv_sec != ring->mtime ||
		st.st_mtim.tv_nsec != ring->mtime_nsec ||
		st.st_ctim.tv_sec != ring->ctime ||
		st.st_ctim.tv_nsec != ring->ctime_nsec;
}

static unsigned int
keyring_next_numeric_id(const struct pop3_policy_apop_keyring *ring)
{
	const struct pop3_policy_apop_key *key;
	unsigned int id, max = 0;

	array_foreach(&ring->keys, key) {
		if (str_to_uint(key->id, &id) == 0 && id > max)
			max = id;
	}
	return max + 1;
}

static int
keyfile_write_atomic(const char *path, const buffer_t *data,
		     const char **error_r)
{
	const char *tmp_path = t_strdup_printf("%s.tmp.%ld", path,
					       (long)getpid());
	int fd;

	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd == -1) {
		*error_r = t_strdup_printf("APOP key file %s: open(%s) failed: %m",
					   path, tmp_path);
		return -1;
	}
	if (write_full(fd, data->data, data->used) < 0 || fsync(fd) < 0) {
		*error_r = t_strdup_printf("APOP key file %s: write(%s) failed: %m",
					   path, tmp_path);
		i_close_fd(&fd);
		i_unlink(tmp_path);
		return -1;
	}
	i_close_fd(&fd);
	if (rename(tmp_path, path) < 0) {
		*error_r = t_strdup_printf("APOP key file %s: rename(%s) failed: %m",
					   path, tmp_path);
		i_unlink(tmp_path);
		return -1;
	}
	return 0;
}

/* Takes the key file's write lock: an fcntl lock on "<path>.lock" (the
   key file itself is replaced by rename, so a lock on it would not keep
   a second writer from reading the old file). Returns 1 with the lock,
   0 on timeout, -1 with error_r. The lock file stays for the next
   writer. */
static int
keyfile_lock(const char *path, int *fd_r, struct file_lock **lock_r,
	     const char **error_r)
{
	const struct file_lock_settings lock_set = {
		.lock_method = FILE_LOCK_METHOD_FCNTL,
		.close_on_free = TRUE,
	};
	const char *lock_path = t_strconcat(path, ".lock", NULL);
	const char *error;
	int ret;

	*fd_r = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (*fd_r == -1) {
		*error_r = t_strdup_printf("APOP key file %s: open(%s) "
					   "failed: %m", path, lock_path);
		return -1;
	}
	ret = file_wait_lock(*fd_r, lock_path, F_WRLCK, &lock_set,
			     KEY_FILE_LOCK_SECS, lock_r, &error);
	if (ret <= 0) {
		*error_r = t_strdup_printf("APOP key file %s: %s", path,
			ret < 0 ? error : t_strdup_printf(
				"another writer holds %s for %u seconds",
				lock_path, KEY_FILE_LOCK_SECS));
		i_close_fd(fd_r);
	}
	return ret;
}

static int
keyfile_add_key_locked(const char *path, const char **new_id_r,
		       const char **error_r);

int pop3_policy_apop_keyfile_add_key(const char *path, const char **new_id_r,
				     const char **error_r)
{
	struct file_lock *lock;
	int fd, ret;

	/* a read-modify-write: two writers at once would each add their
	   key to the same old file, and the second rename would drop the
	   first one's key (with the records already sealed under it) */
	if (keyfile_lock(path, &fd, &lock, error_r) <= 0)
		return -1;
	ret = keyfile_add_key_locked(path, new_id_r, error_r);
	/* closes the lock file's fd too */
	file_lock_free(&lock);
	return ret;
}

static int
keyfile_add_key_locked(const char *path, const char **new_id_r,
		       const char **error_r)
{
	struct pop3_policy_apop_keyring *ring;
	unsigned char key[POP3_POLICY_APOP_KEY_SIZE];
	struct stat st;
	buffer_t *buf;
	const char *id;
	unsigned int next_id = 1;
	int ret;

	buf = buffer_create_dynamic(default_pool, 512);
	ret = keyfile_read_all(path, TRUE, buf, &st, error_r);
	if (ret > 0) {
		buffer_t *copy = buffer_create_dynamic(default_pool, buf->used);

		buffer_append_buf(copy, buf, 0, SIZE_MAX);
		ring = keyring_alloc();
		ret = keyring_parse(path, copy, ring, error_r) < 0 ? -1 : 1;
		safe_memset(buffer_get_modifiable_data(copy, NULL), 0,
			    copy->used);
		buffer_free(&copy);
		if (ret > 0)
			next_id = keyring_next_numeric_id(ring);
		pop3_policy_apop_keyring_free(&ring);
	} else if (ret == 0) {
		str_append(buf, "# pop3-policy APOP keys: '<key id> <64 hex "
			   "digits>', newest last\n");
	}
	if (ret < 0) {
		safe_memset(buffer_get_modifiable_data(buf, NULL), 0,
			    buf->used);
		buffer_free(&buf);
		return -1;
	}
	if (buf->used > 0 &&
	    ((const char *)buf->data)[buf->used - 1] != '\n')
		buffer_append_c(buf, '\n');
	id = t_strdup_printf("%u", next_id);
	random_fill(key, sizeof(key));
	str_printfa(buf, "%s ", id);
	binary_to_hex_append(buf, key, sizeof(key));
	buffer_append_c(buf, '\n');
	safe_memset(key, 0, sizeof(key));

	ret = keyfile_write_atomic(path, buf, error_r);
	safe_memset(buffer_get_modifiable_data(buf, NULL), 0, buf->used);
	buffer_free(&buf);
	if (ret < 0)
		return -1;
	*new_id_r = id;
	return 0;
}
