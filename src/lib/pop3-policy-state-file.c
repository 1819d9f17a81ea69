/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The package's files in a mailbox's own storage.

   A mailbox's UIDL map and UIDL guard sketch are the mailbox's state, so
   they live next to the files Dovecot keeps for the mailbox itself (its
   control directory, where maildir keeps dovecot-uidlist), not in the
   administrator's store. Every process that opens the mailbox reads them
   whole; only doveadm (the map) and the POP3 session (the guard, a map's
   "persisted" mark) write them.

   Writers never change a file in place where a reader could see half of
   it: the new content goes to a temporary file named <path>.<host>.<pid>.
   <random> (safe_mkstemp_hostpid(), created with O_EXCL, so never through
   a planted symlink), is flushed with fdatasync() (unless mail_fsync =
   never) and renamed over the old file, so that a crash leaves the old
   file or the new one, never an empty one. Readers refuse what is not a regular file (O_NOFOLLOW) and
   anything larger than the caller's bound before allocating it. */

#include "lib.h"
#include "str.h"
#include "read-full.h"
#include "write-full.h"
#include "safe-mkstemp.h"
#include "pop3-policy-state-file.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

int pop3_policy_state_file_read(const char *path, size_t max_size,
				pool_t pool, unsigned char **data_r,
				size_t *size_r, const char **error_r)
{
	struct stat st;
	unsigned char *data;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = t_strdup_printf("%s: not a regular file", path);
		i_close_fd(&fd);
		return -1;
	}
	if ((uintmax_t)st.st_size > max_size) {
		*error_r = t_strdup_printf("%s: %jd bytes, larger than the "
					   "limit of %zu", path,
					   (intmax_t)st.st_size, max_size);
		i_close_fd(&fd);
		return -1;
	}
	data = p_malloc(pool, st.st_size + 1);
	ret = st.st_size == 0 ? 1 : read_full(fd, data, st.st_size);
	i_close_fd(&fd);
	if (ret <= 0) {
		*error_r = ret == 0 ?
			t_strdup_printf("%s: shorter than its size (being "
					"replaced?)", path) :
			t_strdup_printf("read(%s) failed: %m", path);
		return -1;
	}
	*data_r = data;
	*size_r = st.st_size;
	return 1;
}

int pop3_policy_state_file_write(const char *path,
				 const struct pop3_policy_state_file_perm *perm,
				 const void *data, size_t size,
				 const char **error_r)
{
	string_t *temp_path;
	int fd, ret = 0;

	temp_path = t_str_new(256);
	str_printfa(temp_path, "%s.", path);
	fd = safe_mkstemp_hostpid(temp_path, perm->mode, (uid_t)-1,
				  perm->gid);
	if (fd == -1) {
		*error_r = t_strdup_printf("safe_mkstemp(%s) failed: %m",
					   str_c(temp_path));
		return -1;
	}
	if (write_full(fd, data, size) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m",
					   str_c(temp_path));
		ret = -1;
	} else if (!perm->no_fsync && fdatasync(fd) < 0) {
		*error_r = t_strdup_printf("fdatasync(%s) failed: %m",
					   str_c(temp_path));
		ret = -1;
	}
	if (close(fd) < 0 && ret == 0) {
		*error_r = t_strdup_printf("close(%s) failed: %m",
					   str_c(temp_path));
		ret = -1;
	}
	if (ret == 0 && rename(str_c(temp_path), path) < 0) {
		*error_r = t_strdup_printf("rename(%s, %s) failed: %m",
					   str_c(temp_path), path);
		ret = -1;
	}
	if (ret < 0)
		i_unlink_if_exists(str_c(temp_path));
	return ret;
}

int pop3_policy_state_file_remove(const char *path, const char **error_r)
{
	if (unlink(path) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	*error_r = t_strdup_printf("unlink(%s) failed: %m", path);
	return -1;
}
