#!/usr/bin/python3
"""fake_coop_llm - a "cooperative model": an Anthropic Messages API stand-in
that answers every turn with one complete_step call built only from what the
request shows (the step text presented to it and the error of its last
attempt), the way a willing but literal agent would. It never looks at
which workflow runs and knows nothing WorkRail-specific beyond reading the
text: it copies context keys, required phrases, artifact kinds, assessment
ids, dimensions and levels that the prompt or an error names, and on an
error retries its previous answer amended by what the error says.

Used by tests/integration/test_workrail_coop.py to measure how far WorkRail's
own workflows get. Run with /usr/bin/python3: --port-file FILE.
"""
import argparse
import itertools
import json
import os
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDS = itertools.count(1)
NOTES = ("I completed this step as asked: I read the instructions, did the work they "
         "describe, checked the result and recorded the outcome here.")


def blocks_of(msg):
    c = msg.get("content")
    if isinstance(c, str):
        return [{"type": "text", "text": c}]
    return c or []


def text_of(block):
    if block.get("type") == "text":
        return block.get("text", "")
    c = block.get("content")
    if isinstance(c, str):
        return c
    return "".join(b.get("text", "") for b in c or [] if isinstance(b, dict))


def read_request(body):
    """(step text, error text or None, previous complete_step input or None)."""
    msgs = body.get("messages", [])
    error = None
    last = msgs[-1] if msgs else {}
    for b in blocks_of(last):
        if b.get("type") == "tool_result" and b.get("is_error"):
            error = text_of(b)
    step = ""
    for m in reversed(msgs):
        if m.get("role") != "user":
            continue
        for b in blocks_of(m):
            if b.get("type") == "tool_result" and b.get("is_error"):
                continue
            t = text_of(b)
            if t.strip():
                step = t
        if step:
            break
    prev = None
    if error is not None:
        for m in reversed(msgs[:-1]):
            if m.get("role") != "assistant":
                continue
            for b in blocks_of(m):
                if b.get("type") == "tool_use" and b.get("name") == "complete_step":
                    prev = json.loads(json.dumps(b.get("input", {})))
            break
    return step, error, prev


def assessment(arts, aid=None):
    for a in arts:
        if a.get("kind") == "wr.assessment" and (aid is None or a.get("assessmentId") in (aid, None)):
            if aid is not None:
                a["assessmentId"] = aid
            return a
    a = {"kind": "wr.assessment", "dimensions": {}}
    if aid is not None:
        a["assessmentId"] = aid
    arts.append(a)
    return a


def add_phrase(ans, phrase):
    if phrase and phrase not in ans["notes"]:
        ans["notes"] += "\n" + phrase


def from_step(ans, step):
    ctx, arts = ans["context"], ans["artifacts"]
    # context keys the text asks for (old WorkTrain line, or Output Required entries)
    m = re.search(r"Required in complete_step's context:([^\n]*)", step)
    if m:
        for k in m.group(1).split():
            ctx.setdefault(k, "provided")
    sec = re.search(r"## Output Required\n((?:- .*\n?)+)", step)
    for k in re.findall(r"^- \*\*([A-Za-z_][\w.]*)\*\*:", sec.group(1) if sec else "", re.M):
        if k not in ("notesMarkdown",):
            ctx.setdefault(k, "provided")
    for phrase in re.findall(r'Must contain: "([^"]*)"', step):
        add_phrase(ans, phrase)
    for n in re.findall(r"Length: ≥(\d+) chars", step):
        while len(ans["notes"]) < int(n):
            ans["notes"] += " More detail on what was done."
    if "wr.loop_control" in step:
        if not any(a.get("kind") == "wr.loop_control" for a in arts):
            arts.append({"kind": "wr.loop_control", "decision": "stop"})
    # assessments: "Assessment target: "id"" then "  dim (a | b): purpose" lines
    for block in re.split(r"(?=Assessment target: )", step)[1:]:
        aid = re.match(r'Assessment target: "([^"]+)"', block)
        if not aid:
            continue
        a = assessment(arts, aid.group(1))
        for dim, levels in re.findall(r"^\s*-?\s*([A-Za-z_][\w-]*) \(([^)]*\|[^)]*)\):", block, re.M):
            ans["levels"][dim] = [x.strip() for x in levels.split("|")]
            a["dimensions"].setdefault(dim, ans["levels"][dim][0])
    if "wr.assessment" in step and not any(a.get("kind") == "wr.assessment" for a in arts):
        assessment(arts)


def from_error(ans, err):
    ctx, arts = ans["context"], ans["artifacts"]
    m = re.search(r"missing required output: ([^(]*)\(", err)
    if m:
        for k in m.group(1).replace(",", " ").split():
            ctx.setdefault(k, "provided")
    for k in re.findall(r"Missing required context key: ([\w.]+)", err):
        ctx.setdefault(k, "provided")
    if "at least 50 characters" in err or "notes are required" in err:
        ans["notes"] = NOTES
    for phrase in re.findall(r"Output must include: ([^\n]*)", err):
        add_phrase(ans, phrase.strip())
    if "wr.loop_control" in err and not any(a.get("kind") == "wr.loop_control" for a in arts):
        arts.append({"kind": "wr.loop_control", "decision": "stop"})
    # a follow-up: answer with another level than the one that triggered it
    fu = re.search(r"follow-up required \(([\w-]+) was '([^']*)'\)", err) or \
        re.search(r'Follow-up required[^:]*: [\w-]+\.([\w-]+) matched "([^"]*)"', err)
    if fu:
        dim, bad = fu.group(1), fu.group(2)
        for x in arts:
            if x.get("kind") == "wr.assessment" and dim in x.get("dimensions", {}):
                opts = [lv for lv in ans["levels"].get(dim, []) if lv.lower() != bad.lower()]
                x["dimensions"][dim] = opts[-1] if opts else "high"
    aid = re.search(r'"assessmentId": "([^"]+)"', err) or re.search(r'assessmentId "([^"]+)"', err)
    if not fu and ("wr.assessment" in err or "assessment" in err.lower()):
        a = assessment(arts, aid.group(1) if aid else None)
        allowed = re.search(r"Allowed levels: ([^.\n]*)", err)
        levels = [x.strip() for x in allowed.group(1).split(",")] if allowed else []
        for dim in re.findall(r"dimension ['\"]([\w-]+)['\"] is missing", err) + \
                re.findall(r'Missing assessment dimension "([\w-]+)"', err):
            a["dimensions"][dim] = levels[0] if levels else "medium"
        for dim in re.findall(r'Dimension "([\w-]+)": Level', err):
            a["dimensions"][dim] = levels[0] if levels else "medium"


def answer(body):
    step, err, prev = read_request(body)
    ans = {"notes": NOTES, "context": {}, "artifacts": [], "levels": {}}
    if prev:
        ans["notes"] = prev.get("notes") or NOTES
        ans["context"] = prev.get("context") or {}
        ans["artifacts"] = prev.get("artifacts") or []
    from_step(ans, step)
    if err:
        from_error(ans, err)
    inp = {"notes": ans["notes"]}
    if ans["context"]:
        inp["context"] = ans["context"]
    if ans["artifacts"]:
        inp["artifacts"] = ans["artifacts"]
    return {"id": "msg_%d" % next(IDS), "type": "message", "role": "assistant",
            "model": body.get("model", "coop"), "stop_reason": "tool_use", "stop_sequence": None,
            "content": [{"type": "tool_use", "id": "toolu_%d" % next(IDS), "name": "complete_step",
                         "input": inp}],
            "usage": {"input_tokens": 10, "output_tokens": 10}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            out = json.dumps(answer(json.loads(raw))).encode()
            status = 200
        except Exception as e:  # a bug here must show, not hang the worker
            out = json.dumps({"type": "error", "error": {"type": "api_error",
                                                         "message": repr(e)}}).encode()
            status = 400
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
