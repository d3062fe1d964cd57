# ctest-timeout: 240
"""The container image (deploy/docker).

1. Dockerfile, statically: multi-stage on Debian 12, a non-root USER, a
   HEALTHCHECK, worktrain as ENTRYPOINT, and its runtime apt-get line names
   the Debian package of every shared library the built binary links
   (readelf -d NEEDED, mapped with dpkg -S).
2. `make image`'s script assembles the image with buildah without pulling
   (FROM scratch over the host's files); its config is checked (user 10001,
   entrypoint, docker-format HEALTHCHECK) and its size printed.
3. Running it: podman is tried; on this machine crun cannot set the
   container's rlimits (setrlimit RLIMIT_NPROC/NOFILE: Operation not
   permitted, no CAP_SYS_RESOURCE), so containers cannot run here and the
   test says so; test_deploy_image_tree runs the image's file tree instead."""
import json
import os
import re
import shutil

from deploytest import BIN, DEPLOY, Check, clean, run

TAG = "localhost/worktrain:test-%d" % os.getpid()


def dpkg_package(path):
    real = os.path.realpath(path)
    for p in (real, real[4:] if real.startswith("/usr/") else "/usr" + real):
        r = run(["dpkg", "-S", p])
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    return None


def check_dockerfile(check):
    with open(os.path.join(DEPLOY, "docker", "Dockerfile")) as f:
        text = f.read()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    check(len(froms) == 2 and all(f.startswith("debian:12") for f in froms),
          "Dockerfile: two stages on Debian 12 (%s)" % froms)
    check(re.search(r"^USER 10001", text, re.M), "Dockerfile: non-root USER")
    check(re.search(r"^HEALTHCHECK .*\n.*healthz", text, re.M), "Dockerfile: HEALTHCHECK on /healthz")
    check('ENTRYPOINT ["/usr/local/bin/worktrain"]' in text, "Dockerfile: worktrain is the entrypoint")
    runtime = text.split(froms[-1], 1)[1]
    pkgs = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runtime.split("&&")[1]))
    elf = run(["readelf", "-d", BIN]).stdout
    # a sanitizer build (make asan) links its runtimes; release images never do
    needed = [lib for lib in re.findall(r"NEEDED.*\[(.+)\]", elf)
              if not re.match(r"lib(a|ub|l|t|hwa)san\.so", lib)]
    ldd = dict(re.findall(r"^\s*(\S+) => (\S+)", run(["ldd", BIN]).stdout, re.M))
    missing = []
    for lib in needed:
        pkg = dpkg_package(ldd.get(lib, "/nonexistent"))
        if pkg not in pkgs and pkg != "libc6":
            missing.append("%s (%s)" % (lib, pkg))
    check(needed and not missing, "Dockerfile installs the package of every linked library "
          "(%d libraries; missing: %s)" % (len(needed), missing))


def check_image(check):
    if shutil.which("buildah") is None:
        print("skip: buildah not installed (Debian package buildah): image not assembled")
        return
    script = os.path.join(DEPLOY, "docker", "build-image.sh")
    r = run(["bash", script, os.path.dirname(BIN), TAG], timeout=180)
    if not clean(check, r, "build-image.sh assembles %s without pulling" % TAG):
        return
    info = json.loads(run(["buildah", "inspect", "--type", "image", TAG]).stdout)
    cfg = info["Docker"]["config"]
    check(cfg.get("User") == "10001:10001", "image runs as uid 10001")
    check(cfg.get("Entrypoint") == ["/usr/local/bin/worktrain"], "image entrypoint is worktrain")
    hc = (cfg.get("Healthcheck") or {}).get("Test", [])
    check(hc[:1] == ["CMD-SHELL"] and "/healthz" in hc[1], "image keeps its HEALTHCHECK: %s" % hc)
    size = json.loads(run(["podman", "image", "inspect", TAG]).stdout)[0]["Size"]
    print("image size: %.1f MB" % (size / 1e6))
    r = run(["podman", "run", "--rm", "--network", "host", "--no-healthcheck", TAG, "--version"],
            timeout=60)
    if r.returncode == 0:
        check("worktrain" in r.stdout, "podman runs the image: %s" % r.stdout.strip())
    else:
        print("note: podman cannot run containers on this machine: %s"
              % (r.stderr.strip().splitlines() or ["?"])[-1])
    run(["podman", "rmi", "-f", TAG])


def main():
    check = Check()
    check_dockerfile(check)
    check_image(check)
    check.done()


if __name__ == "__main__":
    main()
