/* wt_bench_report - aggregates, verdicts and renderings of bench runs.
 *
 * pass_rate counts a case (and repeat) as 1 when its outcome is "pass";
 * an "error" (a scorer could not score) counts as 0 there but is left out
 * of that scorer's mean, so a broken scorer shows as missing data, not as
 * a model failure. With repeats, pass@k / pass^k use k = the number of
 * repeats of that case; a case is flaky when its repeats disagree. */
#include "wt_bench_report.h"

#include "wt_alloc.h"
#include "wt_buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
stats_json(const double *v, int n)
{
    wt_bench_stats_t st = wt_bench_stats(v, n);
    return json_pack("{s:f,s:f,s:i}", "mean", st.mean, "stderr", st.se, "n", st.n);
}

/* Values of one metric over a variant's cases: scores[name], or pass. */
static int
collect(json_t *cases, const char *metric, double *out)
{
    int n = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        if (strcmp(metric, "pass_rate") == 0) {
            const char *oc = json_string_value(json_object_get(c, "outcome"));
            out[n++] = oc && strcmp(oc, "pass") == 0;
            continue;
        }
        json_t *v = json_object_get(json_object_get(c, "scores"), metric);
        if (json_is_number(v))
            out[n++] = json_number_value(v);
    }
    return n;
}

static json_t *
repeats(json_t *cases, json_t *agg, int *nflaky)
{
    json_t *out = json_array(), *seen = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        json_t *r = json_object_get(seen, id);
        if (r == NULL) {
            r = json_pack("{s:s,s:i,s:i}", "id", id, "n", 0, "passes", 0);
            json_object_set_new(seen, id, r);
            json_array_append(out, r);
        }
        const char *oc = json_string_value(json_object_get(c, "outcome"));
        json_object_set_new(r, "n", json_integer(json_integer_value(json_object_get(r, "n")) + 1));
        if (oc && strcmp(oc, "pass") == 0)
            json_object_set_new(r, "passes",
                                json_integer(json_integer_value(json_object_get(r, "passes")) + 1));
    }
    size_t nr = json_array_size(out);
    double *at = wt_xcalloc(nr + 1, sizeof *at), *pw = wt_xcalloc(nr + 1, sizeof *pw);
    int k = 0;
    json_array_foreach(out, i, c)
    {
        int n = (int)json_integer_value(json_object_get(c, "n"));
        int p = (int)json_integer_value(json_object_get(c, "passes"));
        k = n;
        at[i] = wt_bench_pass_at_k(n, p, n);
        pw[i] = wt_bench_pass_pow_k(n, p, n);
        json_object_set_new(c, "pass_at_k", json_real(at[i]));
        json_object_set_new(c, "pass_pow_k", json_real(pw[i]));
        json_object_set_new(c, "flaky", json_boolean(p > 0 && p < n));
        *nflaky += p > 0 && p < n;
    }
    char name[32];
    snprintf(name, sizeof name, "pass@%d", k);
    json_object_set_new(agg, name, stats_json(at, (int)nr));
    snprintf(name, sizeof name, "pass^%d", k);
    json_object_set_new(agg, name, stats_json(pw, (int)nr));
    free(at);
    free(pw);
    json_decref(seen);
    return out;
}

void
wt_bench_report_judge(json_t *run, const wt_bench_suite_t *s)
{
    int all = 1;
    size_t i;
    json_t *v;
    int repeat = (int)json_integer_value(json_object_get(run, "repeat"));
    json_array_foreach(json_object_get(run, "variants"), i, v)
    {
        json_t *cases = json_object_get(v, "cases"), *agg = json_object();
        double *vals = wt_xcalloc(json_array_size(cases) + 1, sizeof *vals);
        for (int k = 0; k < s->nscorers; k++)
            json_object_set_new(agg, s->scorers[k].name,
                                stats_json(vals, collect(cases, s->scorers[k].name, vals)));
        json_object_set_new(agg, "pass_rate", stats_json(vals, collect(cases, "pass_rate", vals)));
        double tin = 0, tout = 0, cost = 0, jin = 0, jout = 0;
        size_t j;
        json_t *c;
        json_array_foreach(cases, j, c)
        {
            tin += (double)json_integer_value(json_object_get(c, "input_tokens"));
            tout += (double)json_integer_value(json_object_get(c, "output_tokens"));
            cost += json_number_value(json_object_get(c, "cost_usd"));
            jin += (double)json_integer_value(json_object_get(c, "judge_input_tokens"));
            jout += (double)json_integer_value(json_object_get(c, "judge_output_tokens"));
        }
        free(vals);
        json_object_set_new(v, "aggregate", agg);
        json_object_set_new(v, "totals",
                            json_pack("{s:f,s:f,s:f,s:f,s:f}", "input_tokens", tin, "output_tokens",
                                      tout, "cost_usd", cost, "judge_input_tokens", jin,
                                      "judge_output_tokens", jout));
        if (repeat > 1) {
            int flaky = 0;
            json_object_set_new(v, "repeats", repeats(cases, agg, &flaky));
            json_object_set_new(v, "flaky", json_integer(flaky));
        }
        json_t *fails = json_array();
        int one_shot = strcmp(json_string_value(json_object_get(v, "mode")) ?: "", "one-shot") == 0;
        for (int t = 0; t < s->nthresholds && !one_shot; t++) {
            json_t *m = json_object_get(agg, s->thresholds[t].metric);
            double mean = json_number_value(json_object_get(m, "mean"));
            if (mean + 1e-12 < s->thresholds[t].min) {
                char *msg = wt_xasprintf("%s %.3f < threshold %.3f", s->thresholds[t].metric, mean,
                                         s->thresholds[t].min);
                json_array_append_new(fails, json_string(msg));
                free(msg);
            }
        }
        int pass = json_array_size(fails) == 0;
        json_object_set_new(v, "failures", fails);
        json_object_set_new(v, "pass", json_boolean(pass));
        all = all && pass;
    }
    json_object_set_new(run, "pass", json_boolean(all));
}

static json_t *
variant_named(const json_t *run, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "variants"), i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strcmp(n, name) == 0)
            return v;
    }
    return NULL;
}

int
wt_bench_report_baseline(json_t *run, const json_t *base, double max_regression)
{
    json_t *regs = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "variants"), i, v)
    {
        json_t *bv = variant_named(base, json_string_value(json_object_get(v, "name")));
        const char *metric;
        json_t *m;
        json_object_foreach(json_object_get(v, "aggregate"), metric, m)
        {
            json_t *bm = json_object_get(json_object_get(bv, "aggregate"), metric);
            if (bm == NULL)
                continue;
            double now = json_number_value(json_object_get(m, "mean"));
            double was = json_number_value(json_object_get(bm, "mean"));
            if (was - now > max_regression + 1e-12)
                json_array_append_new(regs, json_pack("{s:O,s:s,s:f,s:f,s:f}", "variant",
                                                      json_object_get(v, "name"), "metric", metric,
                                                      "baseline", was, "now", now, "allowed",
                                                      max_regression));
        }
    }
    int n = (int)json_array_size(regs);
    json_object_set_new(run, "regressions", regs);
    if (n)
        json_object_set_new(run, "pass", json_false());
    return n;
}

static double
num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

char *
wt_bench_report_md(const json_t *run)
{
    wt_buf_t b;
    wt_buf_init(&b, (size_t)64 << 20);
    wt_buf_printf(&b, NULL, "# Bench %s, run %s: %s\n\n",
                  json_string_value(json_object_get(run, "suite")),
                  json_string_value(json_object_get(run, "run")),
                  json_is_true(json_object_get(run, "pass")) ? "pass" : "FAIL");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "variants"), i, v)
    {
        json_t *agg = json_object_get(v, "aggregate"), *tot = json_object_get(v, "totals");
        wt_buf_printf(
            &b, NULL, "## %s (%s%s%s) %s\n\n| metric | mean | stderr | n |\n|---|---|---|---|\n",
            json_string_value(json_object_get(v, "name")),
            json_string_value(json_object_get(v, "mode")), json_object_get(v, "model") ? ", " : "",
            json_string_value(json_object_get(v, "model")) ?: "",
            json_is_true(json_object_get(v, "pass")) ? "pass" : "FAIL");
        const char *metric;
        json_t *m;
        json_object_foreach(agg, metric, m)
            wt_buf_printf(&b, NULL, "| %s | %.3f | %.3f | %d |\n", metric, num(m, "mean"),
                          num(m, "stderr"), (int)json_integer_value(json_object_get(m, "n")));
        wt_buf_printf(&b, NULL, "\ntokens in %.0f, out %.0f, cost $%.4f\n\n",
                      num(tot, "input_tokens"), num(tot, "output_tokens"), num(tot, "cost_usd"));
        size_t j;
        json_t *f;
        json_array_foreach(json_object_get(v, "failures"), j, f)
            wt_buf_printf(&b, NULL, "- threshold failed: %s\n", json_string_value(f));
        json_array_foreach(json_object_get(v, "repeats"), j,
                           f) if (json_is_true(json_object_get(f, "flaky")))
            wt_buf_printf(&b, NULL, "- flaky: %s (%d/%d passed)\n",
                          json_string_value(json_object_get(f, "id")),
                          (int)json_integer_value(json_object_get(f, "passes")),
                          (int)json_integer_value(json_object_get(f, "n")));
        wt_buf_printf(&b, NULL,
                      "\n| case | repeat | outcome | session | tokens | wall ms | note |\n"
                      "|---|---|---|---|---|---|---|\n");
        json_array_foreach(json_object_get(v, "cases"), j, f)
        {
            const char *note = json_string_value(json_object_get(f, "reason"));
            const char *k;
            json_t *e;
            json_object_foreach(json_object_get(f, "errors"), k, e) if (note == NULL) note =
                json_string_value(e);
            char clean[160];
            snprintf(clean, sizeof clean, "%s", note ? note : "");
            for (char *p = clean; *p; p++)
                if (*p == '|' || *p == '\n')
                    *p = ' ';
            wt_buf_printf(&b, NULL, "| %s | %d | %s | %s | %lld | %lld | %s |\n",
                          json_string_value(json_object_get(f, "id")),
                          (int)json_integer_value(json_object_get(f, "repeat")),
                          json_string_value(json_object_get(f, "outcome")),
                          json_string_value(json_object_get(f, "session")) ?: "-",
                          (long long)(json_integer_value(json_object_get(f, "input_tokens")) +
                                      json_integer_value(json_object_get(f, "output_tokens"))),
                          (long long)json_integer_value(json_object_get(f, "wall_ms")), clean);
        }
        wt_buf_puts(&b, "\n", NULL);
    }
    size_t j;
    json_t *r;
    json_array_foreach(json_object_get(run, "regressions"), j, r)
        wt_buf_printf(&b, NULL, "- regression: %s %s %.3f -> %.3f (allowed %.3f)\n",
                      json_string_value(json_object_get(r, "variant")),
                      json_string_value(json_object_get(r, "metric")), num(r, "baseline"),
                      num(r, "now"), num(r, "allowed"));
    return wt_buf_detach(&b);
}

static void
xml_text(wt_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            wt_buf_puts(b, "&lt;", NULL);
        else if (c == '>')
            wt_buf_puts(b, "&gt;", NULL);
        else if (c == '&')
            wt_buf_puts(b, "&amp;", NULL);
        else if (c == '"')
            wt_buf_puts(b, "&quot;", NULL);
        else if (c < 0x20 && c != '\n' && c != '\t')
            wt_buf_puts(b, " ", NULL); /* not allowed in XML 1.0 */
        else
            wt_buf_append(b, s, 1, NULL);
    }
}

char *
wt_bench_report_junit(const json_t *run)
{
    wt_buf_t b;
    wt_buf_init(&b, (size_t)64 << 20);
    wt_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"", NULL);
    xml_text(&b, json_string_value(json_object_get(run, "suite")));
    wt_buf_puts(&b, "\">\n", NULL);
    size_t i, j;
    json_t *v, *c;
    json_array_foreach(json_object_get(run, "variants"), i, v)
    {
        json_t *cases = json_object_get(v, "cases");
        int fails = 0, errs = 0;
        json_array_foreach(cases, j, c)
        {
            const char *oc = json_string_value(json_object_get(c, "outcome")) ?: "";
            fails += strcmp(oc, "fail") == 0;
            errs += strcmp(oc, "error") == 0;
        }
        wt_buf_puts(&b, "  <testsuite name=\"", NULL);
        xml_text(&b, json_string_value(json_object_get(v, "name")));
        wt_buf_printf(&b, NULL, "\" tests=\"%zu\" failures=\"%d\" errors=\"%d\">\n",
                      json_array_size(cases), fails, errs);
        json_array_foreach(cases, j, c)
        {
            const char *oc = json_string_value(json_object_get(c, "outcome")) ?: "";
            wt_buf_puts(&b, "    <testcase name=\"", NULL);
            xml_text(&b, json_string_value(json_object_get(c, "id")));
            int rep = (int)json_integer_value(json_object_get(c, "repeat"));
            if (json_integer_value(json_object_get(run, "repeat")) > 1)
                wt_buf_printf(&b, NULL, "#%d", rep);
            wt_buf_printf(&b, NULL, "\" classname=\"%s\" time=\"%.3f\"",
                          json_string_value(json_object_get(v, "name")),
                          (double)json_integer_value(json_object_get(c, "wall_ms")) / 1000.0);
            if (strcmp(oc, "pass") == 0) {
                wt_buf_puts(&b, "/>\n", NULL);
                continue;
            }
            wt_buf_printf(&b, NULL, ">\n      <%s message=\"", oc[0] == 'e' ? "error" : "failure");
            wt_buf_t msg;
            wt_buf_init(&msg, 1 << 20);
            const char *reason = json_string_value(json_object_get(c, "reason"));
            if (reason)
                wt_buf_printf(&msg, NULL, "%s; ", reason);
            const char *k;
            json_t *e;
            json_object_foreach(json_object_get(c, "scores"), k, e)
            {
                json_t *why = json_object_get(json_object_get(c, "errors"), k);
                if (json_is_number(e))
                    wt_buf_printf(&msg, NULL, "%s=%.3f", k, json_number_value(e));
                else
                    wt_buf_printf(&msg, NULL, "%s=null", k);
                wt_buf_printf(&msg, NULL, "%s%s; ", why ? " " : "",
                              why ? json_string_value(why) : "");
            }
            xml_text(&b, wt_buf_str(&msg));
            wt_buf_release(&msg);
            wt_buf_printf(&b, NULL, "\"/>\n    </testcase>\n");
        }
        wt_buf_puts(&b, "  </testsuite>\n", NULL);
    }
    wt_buf_puts(&b, "</testsuites>\n", NULL);
    return wt_buf_detach(&b);
}

json_t *
wt_bench_report_compare(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    size_t i;
    json_t *va;
    json_array_foreach(json_object_get(a, "variants"), i, va)
    {
        const char *name = json_string_value(json_object_get(va, "name"));
        json_t *vb = variant_named(b, name);
        const char *metric;
        json_t *ma;
        json_object_foreach(json_object_get(va, "aggregate"), metric, ma)
        {
            json_t *mb = json_object_get(json_object_get(vb, "aggregate"), metric);
            if (mb == NULL)
                continue;
            double d = num(mb, "mean") - num(ma, "mean");
            double se =
                sqrt(num(ma, "stderr") * num(ma, "stderr") + num(mb, "stderr") * num(mb, "stderr"));
            int beyond = se > 0 ? fabs(d) > 2 * se : fabs(d) > 1e-12;
            json_array_append_new(out, json_pack("{s:s,s:s,s:f,s:f,s:f,s:f,s:b}", "variant", name,
                                                 "metric", metric, "a", num(ma, "mean"), "b",
                                                 num(mb, "mean"), "delta", d, "stderr", se,
                                                 "beyond_noise", beyond));
        }
    }
    return out;
}
