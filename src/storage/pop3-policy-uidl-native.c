/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The native UIDL of a message: the one Dovecot's pop3 process serves
   without the package (contract in pop3-policy-uidl-native.h). The one
   place it is worked out, for the UIDL map's sessions and doveadm
   commands as for the retention moves, whose copies keep the UIDL served
   for their originals. */

#include "lib.h"
#include "str.h"
#include "var-expand.h"
#include "mail-storage.h"
#include "pop3-policy-uidl.h"
#include "pop3-policy-uidl-native.h"

/* Looks up a value the format names, failing as pop3_get_uid() does when
   the storage cannot give it. */
static int
uidl_native_special(struct mail *mail, enum mail_fetch_field field,
		    const char *what, char key, const char **value_r,
		    const char **error_r)
{
	if (mail_get_special(mail, field, value_r) < 0) {
		*error_r = t_strdup_printf("UIDL: %s lookup failed: %s", what,
			mailbox_get_last_internal_error(mail->box, NULL));
		return -1;
	}
	if (**value_r == '\0') {
		*error_r = t_strdup_printf(
			"UIDL: %s not found (pop3_uidl_format=%%%c "
			"not supported by storage?)", what, key);
		return -1;
	}
	return 0;
}

int pop3_policy_uidl_native(struct mail *mail, uint32_t uidvalidity,
			    const char *format, const char **uidl_r,
			    bool *stored_r, const char **error_r)
{
	const char *uidl, *hdr_md5 = "", *filename = "", *guid = "";
	const char *error;
	string_t *str;

	if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND, &uidl) < 0) {
		*error_r = t_strdup_printf(
			"UIDL: stored UIDL lookup failed: %s",
			mailbox_get_last_internal_error(mail->box, NULL));
		return -1;
	}
	if (*uidl != '\0') {
		*uidl_r = uidl;
		*stored_r = TRUE;
		return 0;
	}
	*stored_r = FALSE;
	if (strcmp(format, POP3_POLICY_UIDL_FORMAT_DEFAULT) == 0) {
		/* what var_expand() makes of it, without its cost for
		   every message of a large mailbox */
		*uidl_r = pop3_policy_uidl_format_default(uidvalidity,
							  mail->uid);
		return 0;
	}
	/* the values looked up are those the pop3 process looks up
	   (parse_uidl_keymask() in src/pop3/pop3-client.c): short keys,
	   with modifiers too (%Lm), never a long one (%{md5} expands to ""
	   there, and so here) */
	if (var_has_key(format, 'm', NULL) &&
	    uidl_native_special(mail, MAIL_FETCH_HEADER_MD5, "Header MD5",
				'm', &hdr_md5, error_r) < 0)
		return -1;
	if (var_has_key(format, 'f', NULL) &&
	    uidl_native_special(mail, MAIL_FETCH_STORAGE_ID, "File name",
				'f', &filename, error_r) < 0)
		return -1;
	if (var_has_key(format, 'g', NULL) &&
	    uidl_native_special(mail, MAIL_FETCH_GUID, "Message GUID",
				'g', &guid, error_r) < 0)
		return -1;
	const struct var_expand_table tab[] = {
		{ 'v', dec2str(uidvalidity), "uidvalidity" },
		{ 'u', t_strdup(dec2str(mail->uid)), "uid" },
		{ 'm', hdr_md5, "md5" },
		{ 'f', filename, "filename" },
		{ 'g', guid, "guid" },
		{ '\0', NULL, NULL }
	};
	str = t_str_new(64);
	if (var_expand(str, format, tab, &error) <= 0) {
		*error_r = t_strdup_printf(
			"Failed to expand pop3_uidl_format=%s: %s",
			format, error);
		return -1;
	}
	*uidl_r = str_c(str);
	return 0;
}
