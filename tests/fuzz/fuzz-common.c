/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

#include "lib.h"
#include "unlink-directory.h"
#include "write-full.h"
#include "fuzz-common.h"

#include <stdlib.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char *fuzz_dir = NULL;

/* libFuzzer ends with exit(), never through lib_deinit() */
static void fuzz_cleanup(void)
{
	const char *error;

	if (fuzz_dir != NULL &&
	    unlink_directory(fuzz_dir, UNLINK_DIRECTORY_FLAG_RMDIR,
			     &error) < 0)
		i_error("%s", error);
}

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	lib_init();
	if (atexit(fuzz_cleanup) != 0)
		i_fatal("atexit() failed");
	return 0;
}

const char *fuzz_split(const unsigned char *data, size_t size,
		       const unsigned char **rest_r, size_t *rest_size_r)
{
	const unsigned char *nul = memchr(data, '\0', size);
	size_t len = nul == NULL ? size : (size_t)(nul - data);

	*rest_r = nul == NULL ? data + size : nul + 1;
	*rest_size_r = nul == NULL ? 0 : size - len - 1;
	return t_strndup(data, len);
}

const char *fuzz_write_file(const char *name, const void *data, size_t size)
{
	const char *path;
	int fd;

	if (fuzz_dir == NULL) {
		char tmpl[] = "/tmp/pp-fuzz.XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			i_fatal("mkdtemp(%s) failed: %m", tmpl);
		fuzz_dir = i_strdup(tmpl);
	}
	path = t_strconcat(fuzz_dir, "/", name, NULL);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		i_fatal("open(%s) failed: %m", path);
	if (write_full(fd, data, size) < 0)
		i_fatal("write(%s) failed: %m", path);
	if (close(fd) < 0)
		i_fatal("close(%s) failed: %m", path);
	return path;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *str = malloc(size + 1);

	i_assert(str != NULL);
	memcpy(str, data, size);
	str[size] = '\0';
	T_BEGIN {
		fuzz_one(data, size, str);
	} T_END;
	free(str);
	return 0;
}
