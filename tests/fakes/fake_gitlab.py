#!/usr/bin/python3
"""fake_gitlab - a local stand-in for GitLab's REST API (merge requests).

Serves GET /api/v4/projects/{id}/merge_requests?state=opened&order_by=updated_at
&sort=desc&per_page=N&page=P for any project a test created merge requests
in ({id} is the numeric id or the URL-encoded path, e.g. grp%2Fproj). Token:
the PRIVATE-TOKEN header (or "Authorization: Bearer T") must match --token,
else 401. Answers carry RateLimit-Limit/Remaining/Reset (a 200 uses one
request, a 304 on a matching If-None-Match none), ETag, Link and the
X-Page / X-Per-Page / X-Total / X-Next-Page headers. Quota exhaustion
answers 429 with Retry-After when asked.

Control (JSON bodies):
  POST /_control/item    {"project": "42", "title", "description", "author": "name",
                          "labels": [names], "sha", "draft": bool} -> the MR
  POST /_control/update  {"project", "iid", "title"?, "labels"?, "sha"?, "state"?}
  POST /_control/ratelimit {"reset_in_s": 2, "status": 429, "retry_after": 2}
  POST /_control/fail    {"answers": [{"status": 502}, {"raw": "<html>"}]}
  POST /_control/reset, GET /_control/requests  (as fake_github)
Run with /usr/bin/python3 fake_gitlab.py --port-file F --token T.
"""
import os
import sys
from urllib.parse import unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_forge import Forge, iso, serve  # noqa: E402


class GitLab(Forge):
    token_headers = ("private-token", "authorization")
    rate_prefix = "RateLimit-"
    limited_status = 429

    def __init__(self, token=""):
        super().__init__(token)
        self.next_iid = {}

    def add_item(self, b):
        proj = str(b["project"])
        n = self.next_iid.get(proj, 1)
        self.next_iid[proj] = n + 1
        t = self.tick()
        item = {
            "id": 5000 + n, "iid": n, "project_id": 42, "title": b.get("title", "MR %d" % n),
            "description": b.get("description", ""), "state": b.get("state", "opened"),
            "web_url": "https://gitlab.example/%s/-/merge_requests/%d" % (proj, n),
            "author": {"id": 7, "username": b.get("author", "alice"), "name": "A"},
            "labels": list(b.get("labels", [])), "draft": bool(b.get("draft", False)),
            "source_branch": b.get("source_branch", "feature-%d" % n),
            "target_branch": b.get("target_branch", "main"),
            "sha": b.get("sha", "%040x" % (0xabc000 + n)),
            "created_at": iso(t, True), "updated_at": iso(t, True), "_project": proj,
        }
        self.items[(proj, n)] = item
        return public(item)

    def update_item(self, b):
        item = self.items.get((str(b["project"]), int(b["iid"])))
        if item is None:
            return {"error": "no such merge request"}
        for k in ("title", "description", "state", "labels", "sha"):
            if k in b:
                item[k] = b[k]
        item["updated_at"] = iso(self.tick(), True)
        return public(item)

    def extra_headers(self, page, per_page, total):
        last = max(1, (total + per_page - 1) // per_page)
        return {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(total),
                "X-Total-Pages": str(last), "X-Next-Page": str(page + 1) if page < last else "",
                "RateLimit-Observed": str(self.limit - self.remaining)}


def public(item):
    return {k: v for k, v in item.items() if not k.startswith("_")}


def route(forge, path, query):
    prefix = "/api/v4/projects/"
    if not path.startswith(prefix) or not path.endswith("/merge_requests"):
        return None
    proj = unquote(path[len(prefix):-len("/merge_requests")])
    state = query.get("state", ["all"])[0]
    items = [public(i) for (p, _), i in forge.items.items()
             if p == proj and (state == "all" or i["state"] == state)]
    key = query.get("order_by", ["created_at"])[0]
    key = key if key in ("created_at", "updated_at") else "created_at"
    desc = query.get("sort", ["desc"])[0] == "desc"
    if "source_branch" in query:
        items = [i for i in items if i["source_branch"] == query["source_branch"][0]]
    items.sort(key=lambda i: (i[key], i["iid"]), reverse=desc)
    return items, "http://127.0.0.1:%d%s" % (forge.port, path)


def create(forge, path, body):
    """Lock held. POST .../merge_requests as GitLab answers it."""
    prefix = "/api/v4/projects/"
    if not path.startswith(prefix) or not path.endswith("/merge_requests"):
        return None
    proj = unquote(path[len(prefix):-len("/merge_requests")])
    src, title = body.get("source_branch"), body.get("title")
    if not src or not body.get("target_branch") or not title:
        return 400, {"message": "source_branch, target_branch and title are required"}
    for (p, _), i in forge.items.items():
        if p == proj and i["state"] == "opened" and i["source_branch"] == src:
            return 409, {"message": ["Another open merge request already exists for this "
                                     "source branch: !%d" % i["iid"]]}
    labels = [x for x in (body.get("labels") or "").split(",") if x]
    mr = forge.add_item({"project": proj, "title": title,
                         "description": body.get("description", ""), "labels": labels,
                         "draft": title.startswith("Draft:"), "source_branch": src,
                         "target_branch": body["target_branch"]})
    return 201, mr


GitLab.create = create


if __name__ == "__main__":
    serve(GitLab(), route)
