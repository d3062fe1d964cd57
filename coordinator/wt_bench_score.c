/* wt_bench_score - scorers and statistics for bench suites.
 *
 * Values from the session output are compared as text (wt_jpath_text), so
 * a number and its decimal string are equal and a list compares as JSON;
 * set scorers take each item's text. Matching is deliberately simple and
 * stated: equals, substring (case-insensitive, because labels written by
 * a model vary in case), or a POSIX extended regex. Set recall over an
 * empty expected list is 1 (nothing to find), precision over an empty
 * output is 1 when nothing was expected, else 0.
 *
 * The command scorer forks /bin/sh -c in its own process group so a
 * timeout kills the whole tree (make and the tests it started), reads
 * the output through a pipe with poll() bounded by the deadline, and
 * never leaves a zombie. */
#include "wt_bench_score.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_jpath.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const kind_names[] = {NULL, "equals",  "regex",   "set_recall", "set_precision",
                                         "f1", "numeric", "command", "llm_judge"};

wt_bench_kind_t
wt_bench_kind_parse(const char *text)
{
    for (int i = 1; text && i < (int)(sizeof kind_names / sizeof kind_names[0]); i++)
        if (strcmp(text, kind_names[i]) == 0)
            return (wt_bench_kind_t)i;
    return 0;
}

const char *
wt_bench_kind_name(wt_bench_kind_t kind)
{
    return kind >= WT_BENCH_EQUALS && kind <= WT_BENCH_LLM_JUDGE ? kind_names[kind] : "?";
}

static int
regex_find(const char *pattern, const char *text)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    int hit = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

static int
contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return 1;
    return n == 0;
}

int
wt_bench_item_match(const char *got, const char *want, wt_bench_match_t m)
{
    switch (m) {
    case WT_BENCH_MATCH_CONTAINS:
        return contains_nocase(got, want);
    case WT_BENCH_MATCH_REGEX:
        return regex_find(want, got);
    default:
        return strcmp(got, want) == 0;
    }
}

json_t *
wt_bench_path_get(json_t *root, const char *path)
{
    json_t *v = root;
    const char *p = path;
    while (v && p && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char step[128];
        if (n == 0 || n >= sizeof step)
            return NULL;
        memcpy(step, p, n);
        step[n] = '\0';
        if (json_is_array(v)) {
            char *end;
            long i = strtol(step, &end, 10);
            v = *end == '\0' && i >= 0 ? json_array_get(v, (size_t)i) : NULL;
        } else {
            v = json_object_get(v, step);
        }
        p = dot ? dot + 1 : NULL;
    }
    return v;
}

/* Items of a list as texts (a scalar counts as a one-item list). */
static char **
items(const json_t *v, size_t *n)
{
    *n = 0;
    if (v == NULL || json_is_null(v))
        return NULL;
    size_t cnt = json_is_array(v) ? json_array_size(v) : 1;
    char **out = wt_xcalloc(cnt ? cnt : 1, sizeof *out);
    for (size_t i = 0; i < cnt; i++)
        out[i] = wt_jpath_text(json_is_array(v) ? json_array_get(v, i) : v);
    *n = cnt;
    return out;
}

static void
items_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* How many of a[] match some item of b[] (a_is_want: a holds the
 * expected items, so matching is got=b, want=a). */
static size_t
covered(char **a, size_t na, char **b, size_t nb, int a_is_want, wt_bench_match_t m)
{
    size_t hit = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (a_is_want ? wt_bench_item_match(b[j], a[i], m)
                          : wt_bench_item_match(a[i], b[j], m)) {
                hit++;
                break;
            }
    return hit;
}

static int
set_score(const wt_bench_scorer_t *sc, const json_t *got, const json_t *want, double *score)
{
    size_t ng, nw;
    char **g = items(got, &ng), **w = items(want, &nw);
    double recall = nw ? (double)covered(w, nw, g, ng, 1, sc->match) / (double)nw : 1.0;
    double precision =
        ng ? (double)covered(g, ng, w, nw, 0, sc->match) / (double)ng : (nw ? 0.0 : 1.0);
    items_free(g, ng);
    items_free(w, nw);
    if (sc->kind == WT_BENCH_SET_RECALL)
        *score = recall;
    else if (sc->kind == WT_BENCH_SET_PRECISION)
        *score = precision;
    else
        *score = recall + precision > 0 ? 2 * recall * precision / (recall + precision) : 0.0;
    return 0;
}

static int
as_number(const json_t *v, double *out)
{
    if (json_is_number(v))
        return *out = json_number_value(v), 0;
    if (!json_is_string(v))
        return -1;
    char *end;
    const char *s = json_string_value(v);
    errno = 0;
    *out = strtod(s, &end);
    return *s && *end == '\0' && errno == 0 ? 0 : -1;
}

int
wt_bench_score_value(const wt_bench_scorer_t *sc, const json_t *got, const json_t *want,
                     double *score, char *why, size_t cap)
{
    *score = 0;
    if (sc->kind == WT_BENCH_SET_RECALL || sc->kind == WT_BENCH_SET_PRECISION ||
        sc->kind == WT_BENCH_F1)
        return set_score(sc, got, want, score);
    if (got == NULL) /* a missing output is a wrong answer, not a broken scorer */
        return 0;
    char *g = wt_jpath_text(got);
    int rc = 0;
    if (sc->kind == WT_BENCH_EQUALS) {
        char *w = wt_jpath_text(want);
        *score = strcmp(g, w) == 0;
        free(w);
    } else if (sc->kind == WT_BENCH_REGEX) {
        char *w = sc->pattern ? wt_xstrdup(sc->pattern) : wt_jpath_text(want);
        regex_t re;
        if (regcomp(&re, w, REG_EXTENDED | REG_NOSUB) != 0) {
            snprintf(why, cap, "bad regex '%.100s'", w);
            rc = -1;
        } else {
            *score = regexec(&re, g, 0, NULL, 0) == 0;
            regfree(&re);
        }
        free(w);
    } else if (sc->kind == WT_BENCH_NUMERIC) {
        double a, b;
        if (as_number(got, &a) != 0)
            *score = 0; /* the model answered something that is not a number */
        else if (as_number(want, &b) != 0)
            rc = -1, snprintf(why, cap, "expected value is not a number");
        else
            *score = fabs(a - b) <= sc->tolerance;
    } else {
        rc = -1, snprintf(why, cap, "scorer '%s' is not a value scorer", sc->name);
    }
    free(g);
    return rc;
}

static void
child(const char *run, const char *cwd, char *const *env, int out_fd)
{
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    if (cwd && chdir(cwd) != 0) {
        dprintf(2, "cannot enter '%s': %s\n", cwd, strerror(errno));
        _exit(127);
    }
    for (int i = 0; env && env[i]; i++)
        putenv(env[i]);
    execl("/bin/sh", "sh", "-c", run, (char *)NULL);
    _exit(127);
}

int
wt_bench_command(const char *run, const char *cwd, char *const *env, int64_t timeout_ms,
                 size_t max_output, char **output, char *why, size_t cap)
{
    if (output)
        *output = NULL;
    int fds[2];
    if (pipe(fds) != 0)
        return snprintf(why, cap, "pipe: %s", strerror(errno)), -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return snprintf(why, cap, "fork: %s", strerror(errno)), -1;
    }
    if (pid == 0) {
        close(fds[0]);
        child(run, cwd, env, fds[1]);
    }
    setpgid(pid, pid); /* also here: no race with the kill below */
    close(fds[1]);
    size_t len = 0;
    char *buf = wt_xmalloc(max_output + 1);
    int64_t deadline = wt_clock_mono_ms() + timeout_ms;
    int timed_out = 0, open_ = 1, status = 0;
    for (;;) {
        int64_t left = deadline - wt_clock_mono_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (open_) {
            struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
            int n = poll(&pfd, 1, (int)(left > 200 ? 200 : left));
            if (n > 0) {
                char tmp[4096];
                ssize_t r = read(fds[0], tmp, sizeof tmp);
                if (r <= 0)
                    open_ = 0;
                for (ssize_t i = 0; i < r && len < max_output; i++)
                    buf[len++] = tmp[i];
            }
        } else {
            struct pollfd none = {.fd = -1};
            poll(&none, 0, 20); /* output closed, process still ending */
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid && !open_)
            break;
        if (w == pid) { /* drain what is left, without waiting past the deadline */
            open_ = 0;
            char tmp[4096];
            ssize_t r;
            fcntl(fds[0], F_SETFL, O_NONBLOCK);
            while ((r = read(fds[0], tmp, sizeof tmp)) > 0)
                for (ssize_t i = 0; i < r && len < max_output; i++)
                    buf[len++] = tmp[i];
            break;
        }
    }
    close(fds[0]);
    buf[len] = '\0';
    if (timed_out) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(why, cap, "command timed out after %lld ms", (long long)timeout_ms);
    }
    if (output)
        *output = buf;
    else
        free(buf);
    if (timed_out)
        return -1;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int
wt_bench_judge_parse(const char *text, double *score)
{
    if (text == NULL)
        return -1;
    while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
        text++;
    /* digits and one dot only: no sign, exponent, hex, inf or nan */
    size_t n = strspn(text, "0123456789.");
    const char *rest = text + n;
    while (*rest == ' ' || *rest == '\n' || *rest == '\t' || *rest == '\r')
        rest++;
    if (n == 0 || *rest != '\0' || text[0] == '.' || text[n - 1] == '.')
        return -1;
    if (strchr(text, '.') != strrchr(text, '.'))
        return -1;
    char *end;
    double v = strtod(text, &end);
    if (end != text + n || v < 0.0 || v > 1.0)
        return -1;
    *score = v;
    return 0;
}

wt_bench_stats_t
wt_bench_stats(const double *v, int n)
{
    wt_bench_stats_t s = {0, 0, n};
    if (n <= 0)
        return s;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    s.mean = sum / n;
    if (n < 2)
        return s;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.se = sqrt(ss / (n - 1)) / sqrt((double)n);
    return s;
}

double
wt_bench_pass_at_k(int n, int c, int k)
{
    if (n <= 0 || k <= 0 || c <= 0)
        return 0.0;
    if (n - c < k)
        return 1.0;
    /* 1 - C(n-c, k) / C(n, k) as a product, stable for large n */
    double none = 1.0;
    for (int i = n - c + 1; i <= n; i++)
        none *= 1.0 - (double)k / i;
    return 1.0 - none;
}

double
wt_bench_pass_pow_k(int n, int c, int k)
{
    if (n <= 0 || k <= 0 || c < k)
        return 0.0;
    double all = 1.0; /* C(c, k) / C(n, k) */
    for (int i = 0; i < k; i++)
        all *= (double)(c - i) / (n - i);
    return all;
}
