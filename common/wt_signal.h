/* wt_signal - SIGINT/SIGTERM turn into a stop request that loops poll.
 * The flag is the one process-wide mutable state we allow (a signal handler
 * can touch nothing else safely). */
#ifndef WT_SIGNAL_H
#define WT_SIGNAL_H

/* Installs handlers for SIGINT and SIGTERM and ignores SIGPIPE. */
void wt_signal_install(void);
/* Number of stop signals received so far (0 = keep running). */
int wt_signal_stopping(void);
/* Installs a SIGHUP handler (reload request) too; daemons that reload call it. */
void wt_signal_install_hup(void);
/* Returns 1 once per batch of SIGHUPs received since the last call. */
int wt_signal_take_hup(void);
/* Requests a stop as if a signal had arrived. */
void wt_signal_request_stop(void);

#endif
