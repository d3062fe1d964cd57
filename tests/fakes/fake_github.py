#!/usr/bin/python3
"""fake_github - a local stand-in for GitHub's REST API (issues and pulls).

Serves, for any repository a test created items in:
  GET /repos/{owner}/{repo}/issues?state=open&sort=updated&direction=desc&per_page=N&page=P
      open issues AND pull requests (PRs carry a "pull_request" key, as on GitHub)
  GET /repos/{owner}/{repo}/pulls?state=open&sort=updated&direction=desc&per_page=N&page=P
      open pull requests in the pulls format (head.sha, base, draft)
  GET /repos/{owner}/{repo}/pulls?state=open&head=OWNER:BRANCH  only that head's PRs
  POST /repos/{owner}/{repo}/pulls {title, head, base, body, draft} -> 201 the PR;
      422 "Validation Failed" with "A pull request already exists for OWNER:BRANCH." when an
      open PR has that head; 422 "body is too long (maximum is 65536 characters)"
  POST /repos/{owner}/{repo}/issues {title, body, labels} -> 201 the issue
  POST /repos/{owner}/{repo}/issues/{number}/labels {labels: [names]} -> 200 the labels
Token: "Authorization: Bearer T" (or "token T") must match --token, else 401
"Bad credentials". Every answer has X-RateLimit-Limit/Remaining/Reset; a 200
uses one request of quota, a 304 (If-None-Match equal to the page's ETag)
none. Pages carry a Link header (rel="next", "last", ...).

Control (JSON bodies):
  POST /_control/item    {"repo": "o/r", "title", "body", "user", "labels": [names],
                          "pull_request": bool, "head_sha", "state"} -> the item
  POST /_control/update  {"repo", "number", "title"?, "labels"?, "head_sha"?, "state"?}
                          bumps updated_at (strictly later than any earlier one)
  POST /_control/ratelimit {"reset_in_s": 2, "status": 403, "retry_after": null}
                          quota exhausted: every request is refused until the reset
  POST /_control/fail    {"answers": [{"status": 500}, {"raw": "not json"}]}
  POST /_control/reset   clears recorded requests and injected failures
  GET  /_control/requests every API request: method path query headers token_ok t status
Run with /usr/bin/python3 fake_github.py --port-file F --token T.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_forge import Forge, iso, serve  # noqa: E402


class GitHub(Forge):
    token_headers = ("authorization",)
    rate_prefix = "X-RateLimit-"
    limited_status = 403

    def __init__(self, token=""):
        super().__init__(token)
        self.next_number = {}

    def add_item(self, b):
        repo = b["repo"]
        n = self.next_number.get(repo, 1)
        self.next_number[repo] = n + 1
        t = self.tick()
        kind = "pull" if b.get("pull_request") else "issues"
        item = {
            "id": 1000000 + n, "number": n, "title": b.get("title", "Item %d" % n),
            "body": b.get("body", ""), "state": b.get("state", "open"),
            "html_url": "https://github.com/%s/%s/%d" % (repo, kind, n),
            "url": "https://api.github.com/repos/%s/issues/%d" % (repo, n),
            "user": {"login": b.get("user", "octocat"), "id": 1, "type": "User"},
            "labels": [{"id": i + 1, "name": name, "color": "ededed"}
                       for i, name in enumerate(b.get("labels", []))],
            "created_at": iso(t), "updated_at": iso(t), "comments": 0,
            "_repo": repo, "_head_sha": b.get("head_sha", "%040x" % n),
            "_head_ref": b.get("head", "feature-%d" % n), "_base": b.get("base", "main"),
            "_draft": bool(b.get("draft", False)),
        }
        if b.get("pull_request"):
            item["pull_request"] = {
                "url": "https://api.github.com/repos/%s/pulls/%d" % (repo, n),
                "html_url": item["html_url"]}
        self.items[(repo, n)] = item
        return public(item)

    def update_item(self, b):
        item = self.items.get((b["repo"], int(b["number"])))
        if item is None:
            return {"error": "no such item"}
        for k in ("title", "body", "state"):
            if k in b:
                item[k] = b[k]
        if "labels" in b:
            item["labels"] = [{"id": i + 1, "name": name, "color": "ededed"}
                              for i, name in enumerate(b["labels"])]
        if "head_sha" in b:
            item["_head_sha"] = b["head_sha"]
        item["updated_at"] = iso(self.tick())
        return public(item)

    def extra_headers(self, page, per_page, total):
        return {"X-RateLimit-Resource": "core", "X-RateLimit-Used": str(self.limit - self.remaining),
                "X-GitHub-Api-Version-Selected": "2022-11-28"}


def public(item):
    return {k: v for k, v in item.items() if not k.startswith("_")}


def as_pull(item):
    p = public(item)
    p.pop("pull_request", None)
    p.pop("comments", None)
    p["url"] = item["pull_request"]["url"]
    owner = item["_repo"].split("/")[0]
    p["head"] = {"sha": item["_head_sha"], "ref": item["_head_ref"],
                 "label": "%s:%s" % (owner, item["_head_ref"])}
    p["base"] = {"ref": item["_base"], "sha": "0" * 40}
    p["draft"] = item["_draft"]
    p["merged_at"] = None
    return p


def route(forge, path, query):
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "repos" or parts[3] not in ("issues", "pulls"):
        return None
    repo = parts[1] + "/" + parts[2]
    state = query.get("state", ["open"])[0]
    items = [i for (r, _), i in forge.items.items()
             if r == repo and (state == "all" or i["state"] == state)]
    if parts[3] == "pulls":
        items = [as_pull(i) for i in items if "pull_request" in i]
        if "head" in query:
            items = [i for i in items if i["head"]["label"] == query["head"][0]]
    else:
        items = [public(i) for i in items]
    key = "created_at" if query.get("sort", ["created"])[0] == "created" else "updated_at"
    desc = query.get("direction", ["desc"])[0] == "desc"
    items.sort(key=lambda i: (i[key], i["number"]), reverse=desc)
    return items, "http://127.0.0.1:%d%s" % (forge.port, path)


def create(forge, path, body):
    """Lock held. POST .../pulls, .../issues and .../issues/N/labels as GitHub answers them."""
    parts = path.strip("/").split("/")
    if len(parts) == 6 and parts[0] == "repos" and parts[3] == "issues" and parts[5] == "labels":
        item = forge.items.get((parts[1] + "/" + parts[2], int(parts[4])))
        if item is None:
            return 404, {"message": "Not Found"}
        names = [lb["name"] for lb in item["labels"]] + list(body.get("labels", []))
        item["labels"] = [{"id": i + 1, "name": n, "color": "ededed"} for i, n in enumerate(names)]
        return 200, item["labels"]
    if len(parts) == 4 and parts[0] == "repos" and parts[3] == "issues":
        if not isinstance(body.get("title"), str) or not body["title"]:
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "Issue", "code": "missing_field",
                                     "field": "title"}]}
        labels = body.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            return 422, {"message": "Invalid request.\n\nFor 'properties/labels', %r is not "
                                    "an array of strings." % (labels,)}
        item = forge.add_item({"repo": parts[1] + "/" + parts[2], "title": body["title"],
                               "body": body.get("body") or "", "labels": labels})
        return 201, item
    if len(parts) != 4 or parts[0] != "repos" or parts[3] != "pulls":
        return None
    repo = parts[1] + "/" + parts[2]
    head, base = body.get("head"), body.get("base")
    if not head or not base or not body.get("title"):
        return 422, {"message": "Validation Failed",
                     "errors": [{"resource": "PullRequest", "code": "missing_field"}]}
    if len(body.get("body") or "") > 65536:
        return 422, {"message": "Validation Failed",
                     "errors": [{"resource": "PullRequest", "code": "custom", "field": "body",
                                 "message": "body is too long (maximum is 65536 characters)"}]}
    for (r, _), i in forge.items.items():
        if r == repo and i["state"] == "open" and "pull_request" in i and i["_head_ref"] == head:
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "code": "custom",
                                     "message": "A pull request already exists for %s:%s."
                                     % (parts[1], head)}],
                         "documentation_url": "https://docs.github.com/rest/pulls/pulls"}
    item = forge.add_item({"repo": repo, "title": body["title"], "body": body.get("body", ""),
                           "pull_request": True, "head": head, "base": base,
                           "draft": bool(body.get("draft", False))})
    return 201, as_pull(forge.items[(repo, item["number"])])


GitHub.create = create


if __name__ == "__main__":
    serve(GitHub(), route)
