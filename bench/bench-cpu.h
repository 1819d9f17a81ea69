#ifndef BENCH_CPU_H
#define BENCH_CPU_H

#include <glib.h>

/* Returns the CPU time (user + system, seconds) used so far by a Dovecot
   instance: its master and the master's children, living ones (auth,
   config, log, anvil, dict, login and mail processes) and the ones it has
   already reaped (the kernel adds those to the master's cutime/cstime).
   The difference over a measurement, divided by the sessions it ran, is the
   instance's CPU per session: unlike a rate it hardly moves when other work
   on the machine takes CPU away. Resolution is the kernel's clock tick, so
   use it over many sessions. Returns -1 if /proc cannot be read. */
double bench_cpu_instance_secs(GPid master_pid);

#endif
