#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

/* The part every libFuzzer harness of tests/fuzz shares (fuzz-common.c):
   Dovecot's lib is initialised once, and each input is handed to the
   harness's fuzz_one() inside a data stack frame, both as the fuzzer's
   bytes and as a NUL-terminated copy in a buffer of its own size, so that
   AddressSanitizer sees a read past either end. */

#include "lib.h"

/* Defined by each harness: checks one input. A property the harness
   asserts (i_assert) that does not hold is a crash. */
void fuzz_one(const unsigned char *data, size_t size, const char *str);

/* Splits data at the first NUL byte: returns the part before it (a
   NUL-terminated copy on the data stack), and the rest in rest_r and
   rest_size_r (empty if there is no NUL). */
const char *fuzz_split(const unsigned char *data, size_t size,
		       const unsigned char **rest_r, size_t *rest_size_r);

/* Returns the path of a file that holds exactly data (mode 0600, in a
   directory of this process, rewritten for every call). */
const char *fuzz_write_file(const char *name, const void *data, size_t size);

#endif
