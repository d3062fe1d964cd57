/* bench_util - the small pieces the bench programs share: their own CPU
 * time, and the CURVE keys of a peer of the broker from one directory
 * (worktrain keygen's layout). Bench code only, no component uses it. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include "wt_cert.h"
#include "wt_err.h"

/* CPU seconds (user + system) of this process, all its threads. */
double bench_cpu_s(void);

/* Loads DIR/NAME.key (this peer's secret certificate) and DIR/broker.pub
 * into p, which it clears first; 0, or -1 with err naming the file. */
int bench_curve_peer(wt_cert_peer_t *p, const char *dir, const char *name, wt_err_t *err);

#endif
