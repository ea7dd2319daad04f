#!/usr/bin/env bash
# Starts the two Octopus stand-ins of the demo on loopback: the development zone
# (octopus-standin/seeds/dev.json) and the secure zone (seeds/secure.json), prints their URLs
# and API keys, and serves until Ctrl-C. State lives in a temporary folder removed at the end
# (set KEEP=1 to keep it).
#
#   scripts/standins.sh           # serve until Ctrl-C
#   scripts/standins.sh --check   # deploy Fraud Rules 3.13.0 to Development, show the log, stop
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --quiet -p octopus-standin
bin="$repo/target/debug/octopus-standin"

work=$(mktemp -d -t zonebridge-standins.XXXXXX)
. "$repo/scripts/lib.sh"

start() { # zone key seed
    start_standin "$1" "$bin" --api-key "$2" --data "$work/$1.json" --seed "octopus-standin/seeds/$3"
}
start dev API-DEVZONE dev.json
start secure API-SECUREZONE secure.json
dev=$(head -1 "$work/dev.url")
secure=$(head -1 "$work/secure.url")
echo "development zone: $dev  (X-Octopus-ApiKey: API-DEVZONE)"
echo "secure zone:      $secure  (X-Octopus-ApiKey: API-SECUREZONE)"

if [ "${1:-}" = --check ]; then
    api() { curl -sf -H 'X-Octopus-ApiKey: API-DEVZONE' "$@"; }
    field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
    env=$(api "$dev/api/Spaces-1/environments?name=Development" | field "['Items'][0]['Id']")
    release=$(api "$dev/api/Spaces-1/projects/fraud-rules/releases/3.13.0" | field "['Id']")
    task=$(api -X POST "$dev/api/Spaces-1/deployments" \
        -d "{\"ReleaseId\": \"$release\", \"EnvironmentId\": \"$env\"}" | field "['TaskId']")
    for _ in $(seq 300); do
        state=$(api "$dev/api/tasks/$task" | field "['State']")
        case $state in Success|Failed) break ;; esac
        sleep 0.1
    done
    api "$dev/api/tasks/$task/raw"
    [ "$state" = Success ] || { echo "the deployment ended $state" >&2; exit 1; }
    exit 0
fi
echo "Ctrl-C stops both."
wait
