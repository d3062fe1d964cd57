/* bench_util - see bench_util.h. */
#include "bench_util.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

double
bench_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int
bench_curve_peer(wt_cert_peer_t *p, const char *dir, const char *name, wt_err_t *err)
{
    memset(p, 0, sizeof *p);
    snprintf(p->key_path, sizeof p->key_path, "%s/%s.key", dir, name);
    snprintf(p->pub_path, sizeof p->pub_path, "%s/broker.pub", dir);
    return wt_cert_peer_load(p, err);
}
