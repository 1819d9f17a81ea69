/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The UIDL guard's sketch record (pop3-policy-uidl-guard.c), decoded as
   a session reads it: the record envelope, then the sketch. A sketch that
   decodes must encode back into the same sketch, and a guard check
   against it must count within its samples. */

#include "lib.h"
#include "fuzz-common.h"
#include "pop3-policy-record.h"
#include "pop3-policy-uidl-guard.h"

void fuzz_one(const unsigned char *data ATTR_UNUSED, size_t size ATTR_UNUSED,
	      const char *str)
{
	struct pop3_policy_uidl_guard_sketch sketch, sketch2;
	struct pop3_policy_uidl_guard_builder *builder;
	struct pop3_policy_uidl_guard_result result;
	const struct pop3_policy_uidl_guard_sample *sample;
	const char *const *fields, *error;
	unsigned int n = 0;

	if (pop3_policy_record_decode(POP3_POLICY_RECORD_UIDL_GUARD, str,
				      &fields, &error) < 0)
		return;
	i_zero(&sketch);
	t_array_init(&sketch.samples, 16);
	if (pop3_policy_uidl_guard_decode(fields, &sketch, &error) < 0) {
		i_assert(error != NULL);
		return;
	}
	i_zero(&sketch2);
	t_array_init(&sketch2.samples, 16);
	if (pop3_policy_uidl_guard_decode(
		pop3_policy_uidl_guard_encode(&sketch), &sketch2, &error) < 0)
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
