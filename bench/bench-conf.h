#ifndef BENCH_CONF_H
#define BENCH_CONF_H

/* Configuration the benchmark programs share. */

/* The protocol sections Debian's Dovecot has when it is installed with
   dovecot-core and dovecot-pop3d (/etc/dovecot/conf.d: 10-director.conf,
   10-mail.conf, 15-lda.conf, 20-pop3.conf), their contents commented out
   there as here. Every instance has them, so that vanilla is Dovecot as
   installed: the config process answers each process's request for its
   settings by going through such sections, which costs it about 0.36 M
   instructions per POP3 session (bench/callgrind-sessions) even when they
   are empty. The package's own "protocol pop3" section would otherwise
   be the instance's first and carry all of that cost; pp-bench's row
   bare-sessions-8 shows that comparison. */
#define BENCH_STOCK_SECTIONS \
	"protocol lmtp {\n" \
	"}\n" \
	"protocol !indexer-worker {\n" \
	"}\n" \
	"protocol lda {\n" \
	"}\n" \
	"protocol pop3 {\n" \
	"}\n"

/* The site policy of the retention figures, in plugin { }:
   nothing is due in the benchmarks' mailboxes, whose mail is new and kept,
   so what is measured is the cost of having a policy. */
#define BENCH_RETENTION_POLICY \
	"pop3_policy = expire=30d max_age=365d on_delete=hold"

#endif
