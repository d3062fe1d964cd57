/* wt_doctor - `worktrain doctor`: checks what a new operator gets wrong
 * (Redis reachable and recent enough, ACL sufficient, broker reachable and
 * active, CURVE keys readable and matching, workflows load, LLM key
 * accepted, workspace root writable, clock skew against Redis) and prints
 * one line per check with a fix for each failure. Exit 0 when nothing
 * failed, 1 otherwise, 2 on bad usage (DESIGN.md section 16).
 *
 * The report part (wt_doctor_report_t) is plain data so its text and JSON
 * renderings are unit-tested without any of the outside world. */
#ifndef WT_DOCTOR_H
#define WT_DOCTOR_H

#include "wt_buf.h"

#define WT_DOCTOR_MAX_CHECKS 16

typedef enum { WT_DOCTOR_OK, WT_DOCTOR_FAIL, WT_DOCTOR_SKIP } wt_doctor_status_t;

typedef struct wt_doctor_check {
    char name[32];             /* "redis", "acl", ... */
    wt_doctor_status_t status; /* outcome */
    char detail[512];          /* what was found */
    char fix[512];             /* what to do (failures only) */
} wt_doctor_check_t;

typedef struct wt_doctor_report {
    wt_doctor_check_t checks[WT_DOCTOR_MAX_CHECKS]; /* in the order run */
    int n;                                          /* used */
} wt_doctor_report_t;

/* Appends a check; detail and fix are printf formats of their own. */
void wt_doctor_add(wt_doctor_report_t *r, const char *name, wt_doctor_status_t status,
                   const char *fix, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Number of failed checks. */
int wt_doctor_failed(const wt_doctor_report_t *r);
/* One line per check ("ok   redis  ...", "FAIL acl  ... -> fix: ...") and a
 * closing summary line. */
void wt_doctor_render_text(const wt_doctor_report_t *r, wt_buf_t *out);
/* {"ok":bool,"checks":[{"check","status","detail","fix"}]} (jansson). */
void wt_doctor_render_json(const wt_doctor_report_t *r, wt_buf_t *out);

/* `worktrain doctor ...`: returns the exit code. */
int wt_doctor_main(int argc, char **argv);

#endif
