#!/usr/bin/env bash
# short-run.sh - part of `make test`: when clang is installed, builds the
# libFuzzer targets in build-fuzz-short and runs each for 10 s. Without clang
# it says so and passes (the gcc replay tests still run every corpus).
# The seed is fixed (FUZZ_SEED, default 1) so that `make test` is
# repeatable: the same inputs are tried on every run, as far as 10 s reach.
# `make fuzz` explores with random seeds; what it finds goes in the corpus.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v clang >/dev/null 2>&1; then
    echo "clang not installed: skipping short fuzz run"
    echo "0 passed, 0 failed"
    exit 0
fi
targets=$(ls tests/fuzz/fuzz_*.c | xargs -n1 basename | sed 's/\.c$//')
CC=clang cmake -S . -B build-fuzz-short -DWT_FUZZ=ON -DWT_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
for t in $targets; do cmake --build build-fuzz-short --target "$t" -j 2 >/dev/null; done
if FUZZ_SEED=${FUZZ_SEED:-1} bash tests/fuzz/run-fuzzers.sh build-fuzz-short "${FUZZ_SECONDS:-10}"; then
    echo "$(echo $targets | wc -w) passed, 0 failed"
else
    echo "0 passed, 1 failed"; exit 1
fi
