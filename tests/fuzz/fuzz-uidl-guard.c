/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The mailbox's UIDL guard file (pop3-policy-uidl-guard-file.c), decoded
   as a session reads it. A sketch that decodes must encode back into the
   same sketch, and a guard check against it must count within its
   samples. Inputs whose first line is "PPUIDLG 1 -" get the right
   checksum filled in, so that the fuzzer reaches the sketch parser. */

#include "lib.h"
#include "fuzz-common.h"
#include "xxh64.h"
#include "pop3-policy-uidl-guard-file.h"

void fuzz_one(const unsigned char *data, size_t size,
	      const char *str ATTR_UNUSED)
{
	struct pop3_policy_uidl_guard_sketch sketch, sketch2;
	struct pop3_policy_uidl_guard_builder *builder;
	struct pop3_policy_uidl_guard_result result;
	const struct pop3_policy_uidl_guard_sample *sample;
	const char *error, *encoded;
	unsigned int n = 0;
	size_t head = 12;

	if (size >= head && memcmp(data, "PPUIDLG 1 -\n", head) == 0) {
		/* fill in the checksum of the rest */
		data = (const unsigned char *)t_strdup_printf(
			"PPUIDLG 1 %016"PRIx64"\n%s",
			xxh64_data(data + head, size - head, 0),
			t_strndup(data + head, size - head));
		size = size - head + 27;
	}
	i_zero(&sketch);
	t_array_init(&sketch.samples, 16);
	if (pop3_policy_uidl_guard_file_decode(data, size, &sketch,
					       &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	i_zero(&sketch2);
	t_array_init(&sketch2.samples, 16);
	encoded = pop3_policy_uidl_guard_file_encode(&sketch);
	if (pop3_policy_uidl_guard_file_decode(encoded, strlen(encoded),
					       &sketch2, &error) < 0)
		i_panic("encoded sketch does not decode: %s", error);
	i_assert(pop3_policy_uidl_guard_sketch_equals(&sketch, &sketch2));

	/* today: every other message of the sketch is still there, half of
	   those with a UIDL of their own */
	builder = pop3_policy_uidl_guard_builder_init(sketch.uidvalidity);
	array_foreach(&sketch.samples, sample) {
		if (n++ % 2 == 0) {
			pop3_policy_uidl_guard_builder_add(builder,
				sample->uid, sample->guid_hash,
				t_strdup_printf("u%u.%u", sample->uid, n));
		}
	}
	pop3_policy_uidl_guard_check(builder, &sketch, 50, &result);
	i_assert(result.changed <= result.present &&
		 result.present <= array_count(&sketch.samples));
	pop3_policy_uidl_guard_builder_sketch(builder, &sketch2);
	i_assert(array_count(&sketch2.samples) <=
		 POP3_POLICY_UIDL_GUARD_SAMPLES);
	pop3_policy_uidl_guard_builder_deinit(&builder);
}
