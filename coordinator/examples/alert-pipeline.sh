#!/usr/bin/env bash
# alert-pipeline.sh - continues every session an alert trigger starts into a
# pipeline (README "Alerts and queues"). Triggers start one workflow
# (DESIGN §9, §18): with coordinator/examples/triggers-alerts.yml each
# firing alert starts an incident-triage session, the first phase of the
# bundled triage-incident pipeline. This follower reads the fleet's
# trigger_fired events (`worktrain logs --follow --json`) and, for each
# session of the named triggers, runs
#     worktrain run PIPELINE --adopt PHASE=SESSION
# so that session *is* the pipeline's first phase (not a second triage)
# and the rest follows: investigate when it is a real incident, then the
# report to $INCIDENT_WEBHOOK. Zero LLM calls here.
#
# usage: alert-pipeline.sh [--trigger ID]... [--pipeline NAME] [--phase ID]
#                          [--count N] [--once]
#
#   --trigger ID     a trigger whose sessions to continue (repeatable;
#                    default: alerts, pagerduty, incident-queue)
#   --pipeline NAME  pipeline file or bundled name (default triage-incident)
#   --phase ID       the phase the trigger's session is (default triage)
#   --count N        fleet events read back at start (default 10000): a
#                    follower that was down catches up; a session already
#                    adopted is refused by `run` (exit 2), so nothing runs twice
#   --once           handle what is in the stream now, wait for those runs, exit
#
# Environment: WORKTRAIN (binary; default `worktrain` on PATH),
# WORKTRAIN_REDIS / WORKTRAIN_BROKER as for every verb, and what the
# pipeline reads (INCIDENT_WEBHOOK for triage-incident).
# Each run's report (`run --json`) goes to stdout, one line per run.
# Exit codes: 0 done (--once) or stopped, 2 bad usage or jq missing.
set -euo pipefail

WT=${WORKTRAIN:-worktrain}
pipeline=triage-incident
phase=triage
count=10000
once=0
triggers=()

usage() { sed -n '14,28p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

while [ $# -gt 0 ]; do
    case "$1" in
    --trigger) [ $# -ge 2 ] || usage; triggers+=("$2"); shift 2 ;;
    --pipeline) [ $# -ge 2 ] || usage; pipeline=$2; shift 2 ;;
    --phase) [ $# -ge 2 ] || usage; phase=$2; shift 2 ;;
    --count)
        [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] || usage
        count=$2; shift 2 ;;
    --once) once=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "alert-pipeline.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
[ ${#triggers[@]} -gt 0 ] || triggers=(alerts pagerduty incident-queue)
command -v jq >/dev/null || { echo "alert-pipeline.sh: jq is needed" >&2; exit 2; }
want=$(printf '%s\n' "${triggers[@]}" | jq -R . | jq -cs .)

follow=(--follow)
[ "$once" = 1 ] && follow=()
"$WT" logs "${follow[@]}" --json --count "$count" |
    jq -c --unbuffered --argjson want "$want" \
        'select(.type == "trigger_fired" and ((.data.trigger // "") as $t | $want | index($t)))
         | .data.session // .session' |
    {
        while read -r sid; do
            sid=${sid//\"/}
            [ -n "$sid" ] && [ "$sid" != null ] || continue
            # a run already holding the session refuses it (exit 2): nothing twice
            ("$WT" run "$pipeline" --adopt "$phase=$sid" --json --quiet | jq -c .) || true &
        done
        wait
    }
