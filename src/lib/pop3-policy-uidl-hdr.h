#ifndef POP3_POLICY_UIDL_HDR_H
#define POP3_POLICY_UIDL_HDR_H

/* The hdr: message key: SHA-256 over a normalised header block. The
   normalisation (documented at the top of src/lib/pop3-policy-uidl-hdr.c)
   makes the same message give the same key on servers that disagree about
   trailing whitespace, whitespace-only continuation lines, invalid header
   lines, folding and line ends. */

#define POP3_POLICY_UIDL_HDR_HEX_LEN 64

struct pop3_policy_uidl_hdr_ctx;

/* Incremental interface: feed the message (or just its header) in any
   slices; everything after the end of the header block is ignored. */
struct pop3_policy_uidl_hdr_ctx *pop3_policy_uidl_hdr_init(void);
void pop3_policy_uidl_hdr_more(struct pop3_policy_uidl_hdr_ctx *ctx,
			       const unsigned char *data, size_t size);
/* Returns TRUE once the end of the header block was seen (more input is
   useless then). */
bool pop3_policy_uidl_hdr_done(const struct pop3_policy_uidl_hdr_ctx *ctx);
/* Returns the 64 lower-case hex digits (data stack) and frees ctx. */
const char *pop3_policy_uidl_hdr_finish(struct pop3_policy_uidl_hdr_ctx **ctx);

/* Returns the normalised header block itself (data stack), as hashed. */
const char *pop3_policy_uidl_hdr_normalise(const char *data, size_t size);
/* Returns the hex SHA-256 of the normalised header block (data stack). */
const char *pop3_policy_uidl_hdr_hash(const char *data, size_t size);

#endif
