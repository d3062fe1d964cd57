# ctest-timeout: 240
"""/metrics through a real fleet, every scrape checked by a strict parser of
the Prometheus text format (0.0.4):
- 200 sessions spawned in four batches with no worker: queue depth rises
  50, 100, 150, 200 and the oldest-age gauge is > 0; two slowed workers
  start and the depth falls back to 0 through intermediate values;
- the dispatch histogram counts every ASSIGN, finished counters match the
  outcomes in Redis, and the workers' counters (LLM calls, tokens, tool
  calls) equal what the session hashes and events say;
- kill -9 of a worker running two sessions: one heartbeat miss, two
  requeues and two resumed dispatches; the dead worker's series disappear;
- a malformed frame on each socket moves wt_bad_frames_total by one."""
import math
import os
import re
import signal
import sys
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, SCRIPTS, Check, Fleet  # noqa: E402

N = 200
BATCH = 50
WF = os.path.join(REPO, "tests", "workflows")

# --- a strict parser of the text exposition format ---------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ParseError(Exception):
    pass


def parse_value(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ParseError("%s: bad sample value %r" % (where, text))
    return float(text)


def parse_labels(s, i, where):
    """Parses {a="x",b="y"} starting at s[i] == '{'; returns (dict, next index)."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = re.compile(LABEL).match(s, i)
        if not m:
            raise ParseError("%s: bad label name at column %d" % (where, i))
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise ParseError("%s: expected =\" after label %s" % (where, name))
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise ParseError("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ParseError("%s: bad escape \\%s in label value" % (where, nxt))
                val.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ParseError("%s: raw newline in label value" % where)
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ParseError("%s: label %s repeated" % (where, name))
        labels[name] = "".join(val)
        if i < len(s) and s[i] == ",":
            i += 1
        elif i < len(s) and s[i] == "}":
            continue
        else:
            raise ParseError("%s: expected , or } in labels" % where)


def family_of(name, families):
    """The family a sample name belongs to (histogram suffixes resolved)."""
    if name in families and families[name]["type"] != "histogram":
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and base in families and families[base]["type"] == "histogram":
            return base
    return None


def parse_exposition(text):
    """Strict 0.0.4 parser. Returns {family: {"type", "help", "samples": [(name, labels, value)]}}.
    Stricter than the spec where our output has no excuse: every sample needs
    a TYPE before it, blank lines are errors, the text ends with a newline."""
    if not text.endswith("\n"):
        raise ParseError("exposition does not end with a newline")
    families = {}
    order = []          # families in the order their first line appeared
    closed = set()      # families whose block has ended
    current = None
    series = set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        if line == "":
            raise ParseError("%s: blank line" % where)
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise ParseError("%s: malformed %r" % (where, line))
                continue  # a plain comment
            kind, name, rest = m.groups()
            if name in closed or (name in families and current != name):
                raise ParseError("%s: %s for %s after its block ended" % (where, kind, name))
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            if name not in order:
                order.append(name)
            if current and current != name:
                closed.add(current)
            current = name
            if kind == "TYPE":
                if fam["type"] is not None:
                    raise ParseError("%s: second TYPE for %s" % (where, name))
                if fam["samples"]:
                    raise ParseError("%s: TYPE for %s after its samples" % (where, name))
                if rest not in TYPES:
                    raise ParseError("%s: unknown type %r" % (where, rest))
                fam["type"] = rest
            else:
                if fam["help"] is not None:
                    raise ParseError("%s: second HELP for %s" % (where, name))
                if re.search(r"\\[^\\n]", rest):
                    raise ParseError("%s: bad escape in HELP" % where)
                fam["help"] = rest
            continue
        m = re.compile(NAME).match(line)
        if not m:
            raise ParseError("%s: bad metric name in %r" % (where, line))
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i, where)
        rest = line[i:]
        if not rest.startswith(" "):
            raise ParseError("%s: expected a space before the value" % where)
        parts = rest[1:].split(" ")
        if len(parts) not in (1, 2) or (len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1])):
            raise ParseError("%s: expected VALUE [TIMESTAMP], got %r" % (where, rest))
        value = parse_value(parts[0], where)
        fname = family_of(name, families)
        if fname is None or families[fname]["type"] is None:
            raise ParseError("%s: sample %s has no TYPE before it" % (where, name))
        if fname != current:
            raise ParseError("%s: sample of %s outside its family's block" % (where, fname))
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ParseError("%s: duplicate series %s%s" % (where, name, labels))
        series.add(key)
        ftype = families[fname]["type"]
        if ftype == "counter":
            if not name.endswith("_total"):
                raise ParseError("%s: counter %s does not end in _total" % (where, name))
            if not (value >= 0 and math.isfinite(value)):
                raise ParseError("%s: counter %s = %r" % (where, name, value))
        if ftype == "histogram" and name.endswith("_bucket") and "le" not in labels:
            raise ParseError("%s: bucket without le" % where)
        if ftype != "histogram" and "le" in labels:
            raise ParseError("%s: le label outside a histogram" % where)
        families[fname]["samples"].append((name, labels, value))
    for fname, fam in families.items():
        if fam["help"] is None:
            raise ParseError("family %s has no HELP" % fname)
        if fam["type"] == "histogram":
            check_histogram(fname, fam["samples"])
    return families


def check_histogram(fname, samples):
    groups = {}
    for name, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == fname + "_bucket":
            if g["sum"] is not None or g["count"] is not None:
                raise ParseError("%s: bucket after _sum/_count" % fname)
            g["buckets"].append((parse_value(labels["le"], fname + " le"), value))
        elif name == fname + "_sum":
            g["sum"] = value
        else:
            g["count"] = value
    for rest, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            raise ParseError("%s%s: buckets do not end with le=\"+Inf\"" % (fname, rest))
        for (le0, v0), (le1, v1) in zip(b, b[1:]):
            if not le1 > le0:
                raise ParseError("%s: le not increasing (%r then %r)" % (fname, le0, le1))
            if v1 < v0:
                raise ParseError("%s: buckets not cumulative (%r then %r)" % (fname, v0, v1))
        if g["count"] is None or g["sum"] is None:
            raise ParseError("%s%s: _sum or _count missing" % (fname, rest))
        if b[-1][1] != g["count"]:
            raise ParseError("%s: +Inf bucket %r != _count %r" % (fname, b[-1][1], g["count"]))


def selftest_parser(check):
    """The parser must refuse what the format forbids, or it proves nothing."""
    good = ('# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n"} 1\n'
            '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'
            'h_sum 3.5\nh_count 2\n')
    bad = {
        "duplicate series": '# HELP g G.\n# TYPE g gauge\ng 1\ng 2\n',
        "sample before TYPE": 'g 1\n# HELP g G.\n# TYPE g gauge\n',
        "second TYPE": '# HELP g G.\n# TYPE g gauge\n# TYPE g gauge\ng 1\n',
        "negative counter": '# HELP c_total C.\n# TYPE c_total counter\nc_total -1\n',
        "counter without _total": '# HELP c C.\n# TYPE c counter\nc 1\n',
        "bad escape": '# HELP g G.\n# TYPE g gauge\ng{a="\\t"} 1\n',
        "no +Inf": '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
        "not cumulative": ('# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 2\n'
                           'h_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
        "+Inf != count": ('# HELP h H.\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\n'
                          'h_sum 1\nh_count 3\n'),
        "split family": ('# HELP g G.\n# TYPE g gauge\ng{a="1"} 1\n# HELP f F.\n# TYPE f gauge\n'
                         'f 1\ng{a="2"} 1\n'),
        "no final newline": '# HELP g G.\n# TYPE g gauge\ng 1',
        "bad value": '# HELP g G.\n# TYPE g gauge\ng one\n',
    }
    try:
        parse_exposition(good)
        ok = True
    except ParseError as e:
        ok = False
        print("parser refused good input: %s" % e)
    refused = []
    for what, text in bad.items():
        try:
            parse_exposition(text)
        except ParseError:
            refused.append(what)
    check(ok and len(refused) == len(bad),
          "parser accepts valid text and refuses %d/%d invalid ones (missed: %s)"
          % (len(refused), len(bad), sorted(set(bad) - set(refused))))


# --- helpers -----------------------------------------------------------------

class Scraper:
    def __init__(self, fleet, check):
        self.fleet = fleet
        self.check = check
        self.errors = []
        self.count = 0

    def __call__(self):
        text = self.fleet.metrics()
        self.count += 1
        try:
            return parse_exposition(text)
        except ParseError as e:
            self.errors.append(str(e))
            raise


def value(fams, family, **labels):
    """The value of one sample (family name; histogram parts by full name)."""
    base = family_of(family, fams) if family not in fams else family
    for name, lab, v in fams.get(base, {"samples": []})["samples"]:
        if name == family and lab == labels:
            return v
    return None


def per_worker(fams, family):
    return {lab["worker"]: v for _, lab, v in fams[family]["samples"]}


def wait_metric(scrape, pred, timeout_s, what):
    """Scrapes until pred(families) holds; returns those families."""
    deadline = time.monotonic() + timeout_s
    while True:
        fams = scrape()
        if pred(fams):
            return fams
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(0.05)


def redis_sums(fleet):
    tot = {"turns": 0, "input_tokens": 0, "output_tokens": 0, "success": 0}
    for sid in fleet.r.zrange("wt:sessions", 0, -1):
        h = fleet.r.hgetall("wt:session:%s" % sid)
        for k in ("turns", "input_tokens", "output_tokens"):
            tot[k] += int(h.get(k) or 0)
        tot["success"] += h.get("outcome") == "success"
    return tot


def tool_calls_in_events(fleet, sids):
    return sum(1 for sid in sids for _, t, _, _ in fleet.events(sid) if t == "tool_call_started")


# --- phases -------------------------------------------------------------------

def queue_rise_and_fall(check, fleet, scrape):
    fams = scrape()
    check(value(fams, "wt_queue_depth") == 0 and value(fams, "wt_queue_oldest_age_seconds") == 0,
          "empty broker: depth 0, oldest age 0")
    c = fleet.client()
    sids = []
    rising = []
    for b in range(N // BATCH):
        sids += c.spawn_many(BATCH, "two-step", goal_fmt="m%d-%%d" % b)
        want = len(sids)
        fams = wait_metric(scrape, lambda f: value(f, "wt_queue_depth") == want, 10,
                           "queue depth %d" % want)
        rising.append(value(fams, "wt_queue_depth"))
    c.close()
    check(rising == [50, 100, 150, 200], "queue depth rises with the spawns: %s" % rising)
    check(value(fams, "wt_sessions", status="queued") == N
          and value(fams, "wt_sessions", status="running") == 0,
          "wt_sessions{status} says 200 queued, 0 running")
    age = value(fams, "wt_queue_oldest_age_seconds")
    check(age is not None and age > 0, "oldest queued session age > 0 while queued (%s)" % age)
    check(value(fams, "wt_sessions_spawned_total") == N, "wt_sessions_spawned_total == 200")
    check(value(fams, "wt_dispatch_latency_seconds_count") == 0, "no dispatch yet")

    # Two slowed workers (300 ms per LLM turn, 8 slots each) drain the queue.
    script = os.path.join(SCRIPTS, "two-step-300ms.json")
    fleet.start_worker("w1", 8, script)
    fleet.start_worker("w2", 8, script)
    depths, ages_ok, status_ok = [], True, True
    deadline = time.monotonic() + 120
    while True:
        fams = scrape()
        d = value(fams, "wt_queue_depth")
        depths.append(d)
        if d > 0 and not value(fams, "wt_queue_oldest_age_seconds") > 0:
            ages_ok = False
        if value(fams, "wt_sessions", status="queued") != d:
            status_ok = False
        if d == 0:
            break
        if time.monotonic() > deadline:
            raise TimeoutError("queue did not drain: %s" % depths[-5:])
        time.sleep(0.1)
    check(depths[-1] == 0, "queue depth falls back to 0")
    between = [d for d in depths if 0 < d < N]
    check(len(between) >= 2 and between == sorted(between, reverse=True),
          "depth falls through intermediate values (%d scrapes, e.g. %s)"
          % (len(between), sorted(set(between), reverse=True)[:8]))
    check(ages_ok, "oldest age > 0 in every scrape with a queue")
    check(status_ok, "wt_sessions{status=\"queued\"} == wt_queue_depth in every scrape")
    fams = scrape()
    check(value(fams, "wt_queue_oldest_age_seconds") == 0, "oldest age 0 once nothing waits")
    fleet.wait_completed(sids, timeout_s=120)
    return sids


def counters_after_run(check, fleet, scrape, sids):
    tot = redis_sums(fleet)
    tools = tool_calls_in_events(fleet, sids)

    def settled(f):
        return (sum(per_worker(f, "wt_worker_llm_calls_total").values()) == tot["turns"]
                and sum(per_worker(f, "wt_worker_tool_calls_total").values()) == tools
                and value(f, "wt_sessions", status="running") == 0)
    # Counters ride on heartbeats (1 s): scrape until the last one arrived.
    fams = wait_metric(scrape, settled, 10, "worker counters to reach Redis' totals")
    check(tot["success"] == N, "Redis: all %d sessions succeeded" % N)
    check(value(fams, "wt_sessions_finished_total", outcome="success") == N,
          "wt_sessions_finished_total{outcome=\"success\"} == %d (Redis says %d)"
          % (N, tot["success"]))
    others = sum(v for _, lab, v in fams["wt_sessions_finished_total"]["samples"]
                 if lab["outcome"] != "success")
    check(others == 0, "no other outcome counted (%s)" % others)
    check(value(fams, "wt_dispatches_total") == N
          and value(fams, "wt_dispatch_latency_seconds_count") == N,
          "dispatch histogram count == dispatches == %d (%s)"
          % (N, value(fams, "wt_dispatch_latency_seconds_count")))
    lat_sum = value(fams, "wt_dispatch_latency_seconds_sum")
    check(lat_sum > 0, "dispatch latency sum > 0 (%.3f s)" % lat_sum)
    slow = value(fams, "wt_dispatch_latency_seconds_bucket", le="+Inf") - \
        value(fams, "wt_dispatch_latency_seconds_bucket", le="0.25")
    check(slow > 0, "sessions queued before any worker land in the slow buckets (%d)" % slow)
    check(value(fams, "wt_sessions_resumed_total") == 0
          and value(fams, "wt_sessions_requeued_total") == 0, "nothing resumed or requeued")
    check(value(fams, "wt_workers_alive") == 2 and value(fams, "wt_slots_total") == 16
          and value(fams, "wt_slots_free") == 16, "2 workers, 16 slots, all free")
    calls = per_worker(fams, "wt_worker_llm_calls_total")
    tin = per_worker(fams, "wt_worker_input_tokens_total")
    tout = per_worker(fams, "wt_worker_output_tokens_total")
    tc = per_worker(fams, "wt_worker_tool_calls_total")
    check(sorted(calls) == ["w1", "w2"] and all(v > 0 for v in calls.values()),
          "both workers report LLM calls: %s" % calls)
    check(sum(calls.values()) == tot["turns"] == 2 * N,
          "LLM calls %d == turns in Redis %d" % (sum(calls.values()), tot["turns"]))
    check(all(v > 0 for v in tin.values()) and sum(tin.values()) == tot["input_tokens"],
          "input tokens %d == Redis %d" % (sum(tin.values()), tot["input_tokens"]))
    check(all(v > 0 for v in tout.values()) and sum(tout.values()) == tot["output_tokens"],
          "output tokens %d == Redis %d" % (sum(tout.values()), tot["output_tokens"]))
    check(sum(tc.values()) == tools == 2 * N,
          "tool calls %d == tool_call_started events %d" % (sum(tc.values()), tools))
    check(sum(per_worker(fams, "wt_worker_llm_retries_total").values()) == 0, "no LLM retries")
    check(value(fams, "wt_heartbeat_misses_total") == 0, "no heartbeat missed yet")


def kill_worker(check, fleet, scrape):
    # Only worker "a" runs: w1 and w2 drain and leave (no heartbeat miss).
    fleet.kill("worker-w1", signal.SIGTERM)
    fleet.kill("worker-w2", signal.SIGTERM)
    fleet.procs["worker-w1"].wait(timeout=20)
    fleet.procs["worker-w2"].wait(timeout=20)
    fleet.wait_workers(0, exact=True)
    script = os.path.join(SCRIPTS, "five-step-slow.json")
    fleet.start_worker("a", 2, script, "--workflows", WF)
    fleet.wait_workers(1, exact=True)
    before = scrape()
    c = fleet.client()
    sids = [c.spawn("five-step", "kill %d" % i) for i in range(2)]
    c.close()
    for sid in sids:  # each session has advanced a step on worker a
        fleet.wait_for(lambda s=sid: fleet.r.xlen("wt:session:%s:events" % s) > 0 and any(
            t == "step_advanced" for _, t, _, _ in fleet.events(s)), 30, "a step of " + sid)
    fams = wait_metric(scrape, lambda f: value(f, "wt_sessions", status="running") == 2, 5,
                       "2 running sessions")
    check("a" in per_worker(fams, "wt_worker_llm_calls_total"), "worker a has counter series")
    fleet.kill("worker-a", signal.SIGKILL)
    fleet.start_worker("b", 2, script, "--workflows", WF)
    fleet.wait_completed(sids, timeout_s=60)
    fams = wait_metric(scrape, lambda f: value(f, "wt_sessions", status="running") == 0, 5,
                       "0 running sessions")
    d = {k: value(fams, k) - value(before, k) for k in (
        "wt_heartbeat_misses_total", "wt_sessions_requeued_total", "wt_sessions_resumed_total",
        "wt_dispatches_total", "wt_dispatch_latency_seconds_count")}
    check(d["wt_heartbeat_misses_total"] == 1, "kill -9: heartbeat misses +1 (%s)" % d)
    check(d["wt_sessions_requeued_total"] == 2 and d["wt_sessions_resumed_total"] == 2,
          "its 2 sessions requeued and resumed")
    check(d["wt_dispatches_total"] == 4 and d["wt_dispatch_latency_seconds_count"] == 4,
          "4 dispatches, all in the histogram")
    check(value(fams, "wt_sessions_finished_total", outcome="success") == N + 2,
          "finished{success} == %d" % (N + 2))
    workers = per_worker(fams, "wt_worker_llm_calls_total")
    check(sorted(workers) == ["b"], "only live worker b has series (%s)" % sorted(workers))


def bad_frames(check, fleet, scrape):
    fams = scrape()
    before = (value(fams, "wt_bad_frames_total", socket="client"),
              value(fams, "wt_bad_frames_total", socket="worker"))
    c = fleet.client()
    c.send_raw([b"WTC1", b"\x01", b"\xc1 not msgpack"])
    cmd, _ = c.recv(5)
    c.close()
    fams = scrape()
    check(cmd == "ERROR" and value(fams, "wt_bad_frames_total", socket="client") == before[0] + 1
          and value(fams, "wt_bad_frames_total", socket="worker") == before[1],
          "malformed client frame: wt_bad_frames_total{socket=\"client\"} +1")
    w = fleet.ctx.socket(zmq.DEALER)
    w.setsockopt(zmq.LINGER, 0)
    w.setsockopt(zmq.IDENTITY, b"rogue")
    w.connect(fleet.workers_ep)
    w.send_multipart([b"WTW1", b"\x21", msgpack.packb({"llm_calls": -1})])
    got = w.poll(5000)
    w.close(0)
    fams = scrape()
    check(got and value(fams, "wt_bad_frames_total", socket="worker") == before[1] + 1,
          "HEARTBEAT with a negative counter: wt_bad_frames_total{socket=\"worker\"} +1")


def main():
    check = Check()
    selftest_parser(check)
    fleet = Fleet("metrics")
    scrape = Scraper(fleet, check)
    try:
        fleet.start_redis()
        fleet.start_broker()
        sids = queue_rise_and_fall(check, fleet, scrape)
        counters_after_run(check, fleet, scrape, sids)
        kill_worker(check, fleet, scrape)
        bad_frames(check, fleet, scrape)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        check(not scrape.errors, "all %d scrapes parse strictly %s" % (scrape.count, scrape.errors[:3]))
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
