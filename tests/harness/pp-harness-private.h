#ifndef PP_HARNESS_PRIVATE_H
#define PP_HARNESS_PRIVATE_H

/* What the harness's files share (pp-harness.c: the instances,
   pp-config.c: their configuration and stores, pp-util.c: processes and
   files, pp-pop3-client.c: the POP3 client); the tests use pp-harness.h. */

#include "pp-harness.h"
#include "pp-helpers.h"
#include "pp-backends.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PP_DOVECOT_MODULEDIR "/usr/lib/dovecot/modules"
#define PP_MAIL_USER "nobody"
#define PP_START_TIMEOUT_USEC (30 * G_USEC_PER_SEC)
#define PP_STOP_TIMEOUT_USEC (10 * G_USEC_PER_SEC)
#define PP_IO_TIMEOUT_SECS 30
#define PP_START_ATTEMPTS 5

struct _PpInstance {
	PpInstanceOptions opts;
	char *plugin_settings;
	char *passdb_conf;
	char *extra_conf;
	char *mail_location;

	char *dir;
	char *base_dir;
	char *conf_path;
	char *log_path;
	char *passwd_path;
	char *faketime_path;
	char *store_uri;
	char *mnt_ns;
	guint16 port;
	guint16 imap_port;

	uid_t mail_uid;
	gid_t mail_gid;

	GSubprocess *master;
	GPid pid;
	GHashTable *homes;
};


/* pp-util.c */
void pp_child_setup(gpointer user_data G_GNUC_UNUSED);
void pp_mkdir(const char *path, int mode, uid_t uid, gid_t gid);
gboolean pp_spawn_sync(const char *const *argv, const char *stdin_data,
		       char **stdout_r, GError **error);
void pp_spawn_or_die(const char *const *argv, const char *stdin_data);
void pp_lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r);
void pp_rm_rf(const char *path);

/* pp-config.c */
void pp_instance_make_modules(PpInstance *inst);
char *pp_read_shipped(const char *name);
void pp_instance_make_sqlite_store(PpInstance *inst,
				   GString *conf);
void pp_instance_dict_service(PpInstance *inst, GString *conf);
void pp_instance_make_file_store(PpInstance *inst);
void pp_append_with_store_uri(PpInstance *inst, GString *conf,
			      const char *text);
const char *pp_str_or_empty(const char *str);
const char *pp_sanitizer_runtime(void);
void pp_sanitizer_setenv(PpInstance *inst,
			 GSubprocessLauncher *launcher);
void pp_sanitizer_check(PpInstance *inst);
char *pp_instance_build_conf(PpInstance *inst);

#endif
