"""Every key WorkRail v3.37.1's files use, at any level, is in README.md's
"WorkRail compatibility" table with a status (issue 12: no silent gaps).

Walks every workflow file of the fixture folder (../shared/fixtures when
present, else the copies in tests/fixtures; WT_WORKRAIL_FIXTURES=DIR picks
one) and the property names of
WorkRail's workflow schema (spec/workflow.schema.json), and fails naming
each key, with the JSON path where it was first seen, that no row of the
table shows in backticks. The contents of a few free-form objects are data
the author names (outputRequired's keys, a templateCall's args, examples):
those objects must be in the table themselves, their keys need not be."""
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared", "fixtures", "workrail-v3.37.1"))
SHIPPED = os.path.join(REPO, "tests", "fixtures", "workrail-v3.37.1")
# Objects whose keys are names the workflow author chose, not WorkRail fields.
FREE_FORM = [re.compile(p) for p in (r"\.promptBlocks\.outputRequired$",
                                     r"\.templateCall\.args$",
                                     r"^\$\.examples\[\]")]


def fixture_keys(root):
    keys = {}

    def walk(o, path, rel):
        if isinstance(o, dict):
            free = any(p.search(path) for p in FREE_FORM)
            for k, v in o.items():
                if not free:
                    keys.setdefault(k, "%s: %s.%s" % (rel, path, k))
                    walk(v, path + "." + k, rel)
        elif isinstance(o, list):
            for v in o:
                walk(v, path + "[]", rel)

    n = 0
    for d, _, files in os.walk(os.path.join(root, "workflows")):
        for f in sorted(files):
            if f.endswith(".json"):
                p = os.path.join(d, f)
                with open(p) as fh:
                    walk(json.load(fh), "$", os.path.relpath(p, root))
                n += 1
    return keys, n


def schema_keys(path):
    keys = {}

    def walk(o, where):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "properties" and isinstance(v, dict):
                    for name in v:
                        keys.setdefault(name, "spec/workflow.schema.json: %s" % where)
                walk(v, where + "/" + k)
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, "%s/%d" % (where, i))

    with open(path) as f:
        walk(json.load(f), "#")
    return keys


def readme_names(readme):
    """Names in backticks in the table rows of the compatibility section."""
    text = open(readme).read()
    m = re.search(r"^## WorkRail compatibility\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        sys.exit("README.md has no '## WorkRail compatibility' section")
    names, rows = set(), 0
    for line in m.group(1).splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows += 1
            cells = line.strip("|").split("|")
            if len(cells) < 2 or not cells[1].strip():
                sys.exit("README.md compatibility row without a status: %s" % line)
            for span in re.findall(r"`([^`]*)`", cells[0]):
                names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span))
    return names, rows


def main():
    root = os.environ.get("WT_WORKRAIL_FIXTURES") or (
        SHARED if os.path.isdir(os.path.join(SHARED, "workflows")) else SHIPPED)
    keys, n = fixture_keys(root)
    skeys = schema_keys(os.path.join(root, "spec", "workflow.schema.json"))
    for k, v in skeys.items():
        keys.setdefault(k, v)
    names, rows = readme_names(os.path.join(REPO, "README.md"))
    missing = sorted(k for k in keys if k not in names)
    print("%s: %d workflow files and the schema use %d keys; the README table has %d rows"
          % (root, n, len(keys), rows))
    for k in missing:
        print("not in README.md's WorkRail compatibility table: `%s` (%s)" % (k, keys[k]))
    shipped = root.rstrip("/").endswith(os.path.join("tests", "fixtures", "workrail-v3.37.1"))
    if n < (17 if shipped else 43) or len(keys) < 90:
        sys.exit("too few files or keys walked: the walk itself is broken")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
