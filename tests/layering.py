#!/usr/bin/env python3
"""layering - the dependency rule between the source folders, checked.

Lower layers never include or link upper ones, and the parts at the top
(broker, worker, coordinator, console) never reach into each other: they
talk over the wire (proto/) and Redis, and share file formats through
formats/. Two things are checked:

  * every `#include "X"` in a folder's .c/.h files names a header of the
    folder itself or of one it may use (a header is owned by the folder
    that holds it; headers found in no folder, such as system or tests/
    headers, are not judged);
  * every wt* library a folder's CMakeLists.txt links is one it may use.

main.c (the verb dispatcher), tests/ and bench/ are outside the rule.
Usage: layering.py [SOURCE_ROOT]; exit 0 when clean, 1 listing each breach.
"""
import os
import re
import sys

# folder -> folders it may use (besides itself)
ALLOWED = {
    "common": set(),
    "proto": {"common"},
    "formats": {"common", "proto"},
    "notify": {"common"},
    "broker": {"common", "proto", "formats"},
    "worker": {"common", "proto", "formats", "notify"},
    "coordinator": {"common", "proto", "formats", "notify"},
    "console": {"common", "proto", "formats"},
}
LIBS = {
    "wtbase": "common",
    "wtproto": "proto",
    "wtformats": "formats",
    "wtnotify": "notify",
    "wtbroker": "broker",
    "wtworker": "worker",
    "wtcoord": "coordinator",
    "wtconsole": "console",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LINK = re.compile(r"target_link_libraries\(\s*(\S+)([^)]*)\)", re.S)


def sources(root, folder):
    for dirpath, _, files in os.walk(os.path.join(root, folder)):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(dirpath, f)


def owners(root):
    """header basename -> folder; a name in two folders is a breach too."""
    own, dup = {}, []
    for folder in ALLOWED:
        for path in sources(root, folder):
            name = os.path.basename(path)
            if name.endswith(".h"):
                if name in own and own[name] != folder:
                    dup.append(f"{name}: in both {own[name]}/ and {folder}/")
                own[name] = folder
    return own, dup


def include_breaches(root, own):
    out = []
    for folder, may in ALLOWED.items():
        for path in sources(root, folder):
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                if "/" in inc:
                    real = os.path.normpath(os.path.join(os.path.dirname(path), inc))
                    rel = os.path.relpath(real, root)
                    where = rel.split(os.sep)[0]
                else:
                    where = own.get(inc)
                if where is None or where not in ALLOWED:
                    continue
                if where != folder and where not in may:
                    line = text.count("\n", 0, m.start()) + 1
                    out.append(f"{os.path.relpath(path, root)}:{line}: includes {inc} "
                               f"from {where}/ ({folder}/ may use: "
                               f"{', '.join(sorted(may)) or 'nothing'})")
    return out


def link_breaches(root):
    out = []
    for folder, may in ALLOWED.items():
        path = os.path.join(root, folder, "CMakeLists.txt")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for m in LINK.finditer(text):
            for word in m.group(2).split():
                where = LIBS.get(word)
                if where and where != folder and where not in may:
                    out.append(f"{folder}/CMakeLists.txt: {m.group(1)} links {word} "
                               f"({where}/)")
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, ".."))
    own, dup = owners(root)
    bad = dup + include_breaches(root, own) + link_breaches(root)
    for b in bad:
        print(b)
    nfiles = sum(1 for f in ALLOWED for _ in sources(root, f))
    print(f"layering: {nfiles} files in {len(ALLOWED)} folders, {len(bad)} breaches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
