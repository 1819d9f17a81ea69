/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The hdr: key's header normaliser (pop3-policy-uidl-hdr.c). The same
   message must give the same key however it is sliced: whole, one byte
   at a time and in slices of sizes drawn from the input (empty ones
   too). The key is the SHA-256 of the normalised text, and once the end
   of the header block was seen, more input changes nothing. */

#include "lib.h"
#include "sha2.h"
#include "hex-binary.h"
#include "fuzz-common.h"
#include "pop3-policy-uidl-hdr.h"

static const char *
fuzz_hash_sliced(const unsigned char *data, size_t size, uint32_t seed,
		 bool bytewise)
{
	struct pop3_policy_uidl_hdr_ctx *ctx = pop3_policy_uidl_hdr_init();
	size_t pos = 0, n;

	while (pos < size) {
		if (bytewise)
			n = 1;
		else {
			/* a small LCG: slices of 0 to 15 bytes, now and
			   then a long one */
			seed = seed * 1103515245 + 12345;
			n = (seed >> 16) % 16;
			if ((seed >> 8) % 8 == 0)
				n *= 37;
		}
		n = I_MIN(n, size - pos);
		pop3_policy_uidl_hdr_more(ctx, data + pos, n);
		pos += n;
	}
	return pop3_policy_uidl_hdr_finish(&ctx);
}

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	struct pop3_policy_uidl_hdr_ctx *ctx;
	unsigned char digest[SHA256_RESULTLEN];
	const char *whole, *text, *sliced;
	uint32_t seed = size;
	size_t i;
	bool done;

	whole = pop3_policy_uidl_hdr_hash((const char *)data, size);
	i_assert(strlen(whole) == POP3_POLICY_UIDL_HDR_HEX_LEN);

	text = pop3_policy_uidl_hdr_normalise((const char *)data, size);
	sha256_get_digest(text, strlen(text), digest);
	i_assert(strcmp(whole, binary_to_hex(digest, sizeof(digest))) == 0);

	for (i = 0; i < size && i < 4; i++)
		seed = seed * 31 + data[i];
	sliced = fuzz_hash_sliced(data, size, seed, FALSE);
	if (strcmp(whole, sliced) != 0)
		i_panic("sliced input hashes %s, whole %s", sliced, whole);
	sliced = fuzz_hash_sliced(data, size, 0, TRUE);
	if (strcmp(whole, sliced) != 0)
		i_panic("bytewise input hashes %s, whole %s", sliced, whole);

	ctx = pop3_policy_uidl_hdr_init();
	pop3_policy_uidl_hdr_more(ctx, data, size);
	done = pop3_policy_uidl_hdr_done(ctx);
	if (done) {
		pop3_policy_uidl_hdr_more(ctx, (const unsigned char *)
					  "X: more\r\n\r\n", 11);
		i_assert(pop3_policy_uidl_hdr_done(ctx));
	}
	sliced = pop3_policy_uidl_hdr_finish(&ctx);
	i_assert(!done || strcmp(whole, sliced) == 0);
}
