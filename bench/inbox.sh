#!/usr/bin/env bash
# The watched inbox (`bridge-import watch`): throughput, in bundles per minute, of small
# release bundles (an empty process, no packages: the cost of the inbox, verification, the
# ledger and the Octopus calls of an import, import only), and the delay from a complete file
# renamed into the inbox to its release imported (the file moved to done/ right after the
# ledger records the import), with the watch already running. For comparison, the delay of a
# file copied in place (the settle rule: --settle, default 5s, then the import). The
# throughput is compared, in the same run, with the obvious alternative: a shell loop of
# `bridge-import import FILE`, one process per bundle.
#
#   bench/inbox.sh [COUNT]        # COUNT bundles for the throughput (default 100); data in bench/work/inbox/
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100}
latency_runs=${BENCH_RUNS:-10}
work=$PWD/bench/work/inbox
rm -rf "$work"
mkdir -p "$work"
[ -n "${BENCH_SKIP_BUILD:-}" ] || cargo build --release -q -p bridge-export -p bridge-import -p octopus-standin
bin=$PWD/${CARGO_TARGET_DIR:-target}/release
export BENCH_DIR=$PWD/bench

. "$PWD/bench/lib.sh"

throughput_runs=${BENCH_THROUGHPUT_RUNS:-3}
start dev API-BENCHDEV; dev=$url
total=$((count + 2 * latency_runs))
setup_target() { # URL KEY: the project the bundles go to, on a secure stand-in
    python3 - "$1" "$2" <<'PY'
import os
import sys
sys.path.insert(0, os.environ["BENCH_DIR"])
from standin_api import call
call(sys.argv[1], sys.argv[2], "POST", "/api/Spaces-1/projects",
     {"Name": "Bench Inbox", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1"})
PY
}
setup_target "$dev" API-BENCHDEV
python3 - "$dev" "$total" <<'PY'
import os
import sys
sys.path.insert(0, os.environ["BENCH_DIR"])
from standin_api import call
dev, total = sys.argv[1], int(sys.argv[2])
pid = call(dev, "API-BENCHDEV", "GET", "/api/Spaces-1/projects/bench-inbox")["Id"]
for i in range(1, total + 1):
    call(dev, "API-BENCHDEV", "POST", "/api/Spaces-1/releases",
         {"ProjectId": pid, "Version": f"1.0.{i}", "SelectedPackages": []})
PY
cd "$work"
"$bin/bridge-export" keygen --out release --quiet
"$bin/bridge-import" policy init --zone pci --out pci.toml --quiet
"$bin/bridge-import" policy trust pci.toml release.pub --role release --zone dev --quiet
mkdir -p bundles
for i in $(seq "$total"); do
    OCTOPUS_API_KEY=API-BENCHDEV "$bin/bridge-export" export --project "Bench Inbox" --release "1.0.$i" \
        --key release.key --source-zone dev --target-zone pci --out "bundles/$(printf '%04d' "$i").zb" \
        --server "$dev" --ledger export.ledger --quiet
done
size=$(stat -c %s bundles/0001.zb)
export OCTOPUS_API_KEY=API-BENCHPCI

# Throughput: COUNT bundles in a fresh inbox (renamed in beforehand), one `watch --once`
# (start-up included; --settle 0s, as the files are whole before it starts), each run against
# a fresh secure stand-in and ledger.
rows=()
loops=()
for run in $(seq "$throughput_runs"); do
    start "pci-$run" API-BENCHPCI; pci=$url
    setup_target "$pci" API-BENCHPCI
    mkdir -p "inbox-$run"
    for i in $(seq "$count"); do
        f=$(printf '%04d' "$i").zb
        cp "bundles/$f" "inbox-$run/.$f" && mv "inbox-$run/.$f" "inbox-$run/$f"
    done
    rows+=("$(timed "$bin/bridge-import" watch --inbox "inbox-$run" --policy pci.toml --server "$pci" \
        --ledger "import-$run.ledger" --log json --once --settle 0s)")
    imported=$(find "inbox-$run/done" -name '*.zb' | wc -l)
    [ "$imported" = "$count" ] || { echo "only $imported of $count imported" >&2; exit 1; }
    # The obvious alternative, in the same run: what an operator scripts without the watch,
    # one `bridge-import import` per file in name order, moved aside once imported.
    start "loop-$run" API-BENCHPCI; loop=$url
    setup_target "$loop" API-BENCHPCI
    mkdir -p "loop-$run/done"
    for i in $(seq "$count"); do cp "bundles/$(printf '%04d' "$i").zb" "loop-$run/"; done
    loops+=("$(timed bash -c 'for f in "$1"/*.zb; do "$2" import "$f" --policy pci.toml --server "$3" --ledger "$4" --quiet && mv "$f" "$1/done/" || exit 1; done' \
        _ "loop-$run" "$bin/bridge-import" "$loop" "loop-$run.ledger")")
    imported=$(find "loop-$run/done" -name '*.zb' | wc -l)
    [ "$imported" = "$count" ] || { echo "the loop imported only $imported of $count" >&2; exit 1; }
done
col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{ print $c }'; }
wall=$(col 1 | median)
rss=$(col 2 | sort -n | tail -1)
walls=$(col 1 | sort -n | paste -sd ' ')
per_minute=$(awk -v n="$count" -v s="$wall" 'BEGIN { printf "%.0f", n * 60 / s }')
loop_wall=$(printf '%s\n' "${loops[@]}" | awk '{ print $1 }' | median)
loop_walls=$(printf '%s\n' "${loops[@]}" | awk '{ print $1 }' | sort -n | paste -sd ' ')
loop_per_minute=$(awk -v n="$count" -v s="$loop_wall" 'BEGIN { printf "%.0f", n * 60 / s }')
mv "inbox-$throughput_runs" inbox
mv "import-$throughput_runs.ledger" import.ledger
watch_args=(--inbox inbox --policy pci.toml --server "$pci" --ledger import.ledger --log json)

# Latency: the watch running (default --settle 5s), bundles given one at a time; the delay
# is from just before the rename (or the copy) to the "done" line of the watch's log.
"$bin/bridge-import" watch "${watch_args[@]}" > /dev/null 2> watch.log &
watch_pid=$!
pids+=("$watch_pid")
until [ -s inbox/.watch/health.json ] && grep -q '"updated"' inbox/.watch/health.json; do sleep 0.1; done
now() { python3 -c 'import time; print(f"{time.time():.6f}")'; }
done_at() {
    python3 - "$1" <<'PY'
import json, sys, datetime
for line in open("watch.log"):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("fields", {}).get("message") == "done" and event["fields"].get("file") == sys.argv[1]:
        print(datetime.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp())
        break
PY
}
delays() { # MODE (renamed|copied) FIRST: one bundle at a time, printing each delay in seconds
    local mode=$1 first=$2
    for i in $(seq "$first" $((first + latency_runs - 1))); do
        f=$(printf '%04d' "$i").zb
        if [ "$mode" = renamed ]; then
            cp "bundles/$f" "inbox/.$f"
            t0=$(now); mv "inbox/.$f" "inbox/$f"
        else
            t0=$(now); cp "bundles/$f" "inbox/$f"
        fi
        until [ -e "inbox/done/$f" ]; do sleep 0.05; done
        sleep 0.1
        awk -v a="$(done_at "$f")" -v b="$t0" 'BEGIN { printf "%.3f\n", a - b }'
    done
}
renamed=$(delays renamed $((count + 1)) | sort -n)
copied=$(delays copied $((count + latency_runs + 1)) | sort -n)
kill "$watch_pid"
wait "$watch_pid" || true
stat_line() { awk '{ a[NR] = $1 } END { printf "%.3f | %.3f | %.3f", a[1], a[int((NR + 1) / 2)], a[NR] }'; }
echo "| measure | result |"
echo "|---|---|"
echo "| throughput, $count bundles of $size bytes, \`watch --once --settle 0s\` (import only), median of $throughput_runs | $wall s (runs: $walls), **$per_minute bundles/minute**, peak RSS $(mib "$rss") MiB |"
echo "| the same bundles by a shell loop of \`bridge-import import FILE\` (one process a bundle), median of $throughput_runs | $loop_wall s (runs: $loop_walls), **$loop_per_minute bundles/minute** |"
echo "| watch / loop throughput | **$(ratio "$per_minute" "$loop_per_minute")x** |"
echo
echo "| delay from a complete file to its release imported, $latency_runs bundles | min s | median s | max s |"
echo "|---|---|---|---|"
echo "| renamed into the inbox (taken at once) | $(stat_line <<< "$renamed") |"
echo "| copied in place (waits out --settle 5s) | $(stat_line <<< "$copied") |"
