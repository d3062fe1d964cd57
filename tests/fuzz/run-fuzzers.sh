#!/usr/bin/env bash
# run-fuzzers.sh BUILD_DIR SECONDS - runs every libFuzzer target built in
# BUILD_DIR (configured with -DWT_FUZZ=ON and clang) for SECONDS each, on a
# scratch copy of its in-tree corpus. Fails when a target crashes.
# FUZZ_SEED=N fixes libFuzzer's seed (the same inputs in the same order, so
# a run is repeatable up to how far the time allows); unset, each run
# explores from a random seed.
set -eu
build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for bin in "$build"/tests/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus="$here/corpus/${name#fuzz_}"
    scratch=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$scratch"/
    echo "fuzz: $name for ${secs}s"
    seed=()
    [ -n "${FUZZ_SEED:-}" ] && seed=(-seed="$FUZZ_SEED")
    if ! "$bin" "${seed[@]}" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$scratch.crash-" \
        -print_final_stats=0 "$scratch" >"$scratch.log" 2>&1; then
        echo "fuzz: $name FAILED"; tail -40 "$scratch.log"; status=1
        mkdir -p tests/artifacts && cp "$scratch".crash-* tests/artifacts/ 2>/dev/null || true
    else
        grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$scratch.log" | tail -1 || true
    fi
    rm -rf "$scratch" "$scratch.log"
done
exit $status
