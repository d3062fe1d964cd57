#!/usr/bin/env bash
# review-loop.sh - a shell coordinator (DESIGN §7): implement a change with a
# coding-task session, then run mr-review up to N times until the verdict
# is clean, each retry fixing the previous pass's findings first. Zero LLM
# calls here: every decision reads a session's structured result
# (`worktrain await --json`) with jq.
#
# usage: review-loop.sh [--max-passes N] [--timeout DUR] [--workspace PATH]
#                       [--run-id ID] GOAL
#
#   --max-passes N    review passes before giving up (default 3, 1..20)
#   --timeout DUR     how long to wait for each session (default 30m)
#   --workspace PATH  git repository the sessions work in (each session gets
#                     a worktree of it); default: fresh directories
#   --run-id ID       idempotency prefix: re-running with the same id and
#                     goal reuses the sessions already created (spawn --key),
#                     so an interrupted coordinator picks up where it stopped
#
# Context handed to each review pass (the same contract `worktrain run`
# uses for a retried phase): reviewAttempt = pass number (1, 2, ...) and,
# from pass 2 on, previousResult = the previous pass's result object
# ({session, workflow, status, outcome, output, detail}).
#
# Environment: WORKTRAIN (the worktrain binary; default `worktrain` on PATH),
# WORKTRAIN_REDIS and WORKTRAIN_BROKER as for every verb.
#
# Exit codes:
#   0  the review ended clean
#   1  a session failed (its outcome and detail are printed)
#   2  bad usage, or jq / worktrain missing
#   3  still not clean after --max-passes passes: needs a human
#   4  a wait timed out, or spawning failed (fleet unreachable)
set -euo pipefail

WT=${WORKTRAIN:-worktrain}
max_passes=3
timeout=30m
workspace=""
run_id=""

usage() {
    sed -n '/^# usage:/,/GOAL$/s/^# //p' "$0" >&2
}
die() { # code message
    echo "review-loop: $2" >&2
    exit "$1"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --max-passes)
        [ $# -ge 2 ] || die 2 "--max-passes needs a value"
        max_passes=$2
        shift 2
        ;;
    --timeout)
        [ $# -ge 2 ] || die 2 "--timeout needs a value"
        timeout=$2
        shift 2
        ;;
    --workspace)
        [ $# -ge 2 ] || die 2 "--workspace needs a value"
        workspace=$2
        shift 2
        ;;
    --run-id)
        [ $# -ge 2 ] || die 2 "--run-id needs a value"
        run_id=$2
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
        exit 0
        ;;
    --)
        shift
        break
        ;;
    -*) die 2 "unknown option '$1' (see --help)" ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || {
    usage
    die 2 "expected exactly one GOAL argument, got $#"
}
goal=$1
[ -n "$goal" ] || die 2 "GOAL is empty"
case "$max_passes" in
'' | *[!0-9]*) die 2 "--max-passes must be a number from 1 to 20, got '$max_passes'" ;;
esac
if [ "$max_passes" -lt 1 ] || [ "$max_passes" -gt 20 ]; then
    die 2 "--max-passes must be a number from 1 to 20, got '$max_passes'"
fi
command -v jq >/dev/null 2>&1 || die 2 "jq is not installed (apt-get install jq)"
command -v "$WT" >/dev/null 2>&1 || die 2 "worktrain binary '$WT' not found (set WORKTRAIN)"
[ -n "$run_id" ] || run_id="review-loop-$(date +%s)-$$"

# spawn WORKFLOW GOAL CONTEXT_JSON KEY -> prints the session id
spawn() {
    local args=(spawn --workflow "$1" --goal "$2" --context-json "$3" --key "$run_id:$4")
    [ -z "$workspace" ] || args+=(--workspace "$workspace")
    local sid
    sid=$("$WT" "${args[@]}") || die 4 "spawning $1 failed (is the broker up?)"
    printf '%s\n' "$sid"
}

# wait_result SID -> prints the result object; exits 1 when the session did
# not succeed, 4 on timeout
wait_result() {
    local out rc=0
    out=$("$WT" await "$1" --timeout "$timeout" --json) || rc=$?
    case "$rc" in
    0) ;;
    1) ;; # failed: reported below from the result itself
    2) die 4 "session $1 did not end within $timeout" ;;
    *) die 4 "await $1 failed with exit code $rc" ;;
    esac
    local result
    result=$(jq -c '.[0]' <<<"$out") || die 4 "await $1 printed no JSON result"
    local outcome
    outcome=$(jq -r '.outcome // "unknown"' <<<"$result")
    if [ "$outcome" != success ]; then
        echo "session $1 ($(jq -r '.workflow // "?"' <<<"$result")) ended $outcome:" \
            "$(jq -r '.detail // ""' <<<"$result")" >&2
        exit 1
    fi
    printf '%s\n' "$result"
}

# 1. The change.
code_sid=$(spawn coding-task "$goal" '{}' code)
echo "coding-task $code_sid: started"
code=$(wait_result "$code_sid")
summary=$(jq -r '.output.context.summary // ""' <<<"$code")
changed=$(jq -c '.output.context.changedFiles // []' <<<"$code")
echo "coding-task $code_sid: success: $summary"

# 2. Review passes until clean.
previous=""
verdict=""
pass=0
while [ "$pass" -lt "$max_passes" ]; do
    pass=$((pass + 1))
    ctx=$(jq -nc --argjson attempt "$pass" --arg summary "$summary" --argjson changed "$changed" \
        --arg prev "$previous" \
        '{reviewAttempt: $attempt, changeSummary: $summary, changedFiles: $changed}
         + (if $prev == "" then {} else {previousResult: ($prev | fromjson)} end)')
    review_sid=$(spawn mr-review "Review the change made for: $goal" "$ctx" "review-$pass")
    review=$(wait_result "$review_sid")
    verdict=$(jq -r '.output.context.verdict // "none"' <<<"$review")
    nfindings=$(jq -r '.output.context.findings | if type == "array" then length else 0 end' \
        <<<"$review")
    echo "review pass $pass $review_sid: verdict $verdict ($nfindings findings)"
    [ "$verdict" != clean ] || break
    previous=$review
done

# 3. Summary.
echo "summary: goal \"$goal\"; coding-task $code_sid; $pass review pass(es); final verdict $verdict"
if [ "$verdict" = clean ]; then
    exit 0
fi
echo "review-loop: still '$verdict' after $pass pass(es); findings:" >&2
jq -c '.output.context.findings' <<<"$review" >&2
exit 3
