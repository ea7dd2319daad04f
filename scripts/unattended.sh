#!/usr/bin/env bash
# The unattended path on the built-in stand-in instances, with no command typed per release:
# the scheduled export (`bridge-export run`) publishes the newest releases of "Payments API"
# into an outbox; a transfer host's rsync (the operator guide's flags) carries only complete
# files into the secure zone's inbox; `bridge-import watch` verifies, imports and deploys each
# to "PCI Staging" in channel order and publishes the signed results into its results outbox;
# rsync carries those home, where `bridge-export watch` takes them in and notes each outcome
# on its release in the development instance. Both watches run as services (JSON logs,
# health, metrics) and stop gracefully on SIGTERM. Everything lives in a temporary folder
# removed at the end (KEEP=1 keeps it).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
command -v rsync >/dev/null || { echo "rsync is needed (apt-get install rsync)" >&2; exit 1; }
cargo build --quiet --bins -p bridge-export -p bridge-import -p octopus-standin
export PATH="$repo/target/debug:$PATH"

work=$(mktemp -d -t zonebridge-unattended.XXXXXX)
. "$repo/scripts/lib.sh"
start() { # zone key seed
    start_standin "$1" octopus-standin --api-key "$2" --seed "octopus-standin/seeds/$3"
}
# wait_for SECONDS WHAT COMMAND...: polls COMMAND every half second.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 2))); do "$@" && return; sleep 0.5; done
    echo "timed out after ${seconds}s waiting for $what" >&2
    exit 1
}
count() { find "$1" -maxdepth 1 -name '*.zb' -type f | wc -l; }
has() { [ "$(count "$1")" -ge "$2" ]; }
# The transfer host: only complete *.zb files, moved (operator guide, "The transfer host").
carry() { rsync --dirs --times --exclude='.*' --include='*.zb' --exclude='*' --remove-source-files \
    --chmod=F0644 --timeout=300 "$1/" "$2/"; }

mkdir -p "$work/dev/outbox" "$work/dev/results-inbox" "$work/pci/inbox" "$work/pci/results-outbox" "$work/transfer"

step "two Octopus instances: the development zone and the secure (PCI) zone"
start dev API-DEVZONE dev.json
start pci API-PCIZONE secure.json
dev=$(head -1 "$work/dev.url")
pci=$(head -1 "$work/pci.url")
echo "development zone: $dev"
echo "secure zone:      $pci"

step "keys and trust, once: a release signer in dev, a result signer in pci"
cd "$work/dev"
bridge-export keygen --out release-signer --quiet
bridge-export policy init --zone dev --out policy.toml --quiet
cd "$work/pci"
bridge-import keygen --out result-signer --quiet
bridge-import policy init --zone pci --out policy.toml --quiet
bridge-import policy trust policy.toml ../dev/release-signer.pub --role release --zone dev --quiet
cd "$work/dev"
bridge-export policy trust policy.toml ../pci/result-signer.pub --role result --zone pci --quiet
cp "$repo/examples/promote/mapping.toml" "$work/pci/mapping.toml"
install -m 600 "$repo/examples/promote/secrets.toml" "$work/pci/secrets.toml"
install -m 600 /dev/null "$work/dev/octopus-api-key"
printf 'API-DEVZONE\n' > "$work/dev/octopus-api-key"

step "secure zone: the inbox watch starts as a service (JSON log lines in pci/watch.log)"
cd "$work/pci"
OCTOPUS_URL="$pci" OCTOPUS_API_KEY=API-PCIZONE bridge-import watch --inbox inbox --policy policy.toml \
    --map mapping.toml --secrets secrets.toml --deploy "Payments API=PCI Staging" \
    --key result-signer.key --results-outbox results-outbox --ledger import.ledger \
    --metrics watch.prom --rescan 2s --log json > watch.out 2> watch.log &
import_watch=$!
pids+=("$import_watch")

step "development zone: the results watch starts as a service (dev/watch.log)"
cd "$work/dev"
OCTOPUS_URL="$dev" OCTOPUS_API_KEY=API-DEVZONE bridge-export watch --inbox results-inbox \
    --policy policy.toml --ledger export.ledger --rescan 2s --log json > watch.out 2> watch.log &
export_watch=$!
pids+=("$export_watch")

step "development zone: the scheduled export, run once (a timer or its own schedule would start it)"
cat > carry.toml <<TOML
source_zone = "dev"
outbox = "outbox"
keys = ["release-signer.key"]
ledger = "export.ledger"
state = "carry-state"
schedule = ["0 30 1 * * *"]

[octopus]
server = "$dev"
api_key_file = "octopus-api-key"

[[carry]]
target_zone = "pci"
projects = ["Payments API"]
newest = 2
TOML
bridge-export run --config carry.toml --once
ls outbox
echo "-- a second run finds nothing new:"
bridge-export run --config carry.toml --once

step "the transfer host carries the outbox into the secure inbox (rsync, complete files only)"
carry "$work/dev/outbox" "$work/transfer"
carry "$work/transfer" "$work/pci/inbox"
ls "$work/pci/inbox"

step "secure zone: the watch imports and deploys both, in channel order, and publishes the results"
wait_for 180 "two result bundles in the results outbox" has "$work/pci/results-outbox" 2
wait_for 30 "both bundles in done/" has "$work/pci/inbox/done" 2
ls "$work/pci/results-outbox"
bridge-import health --inbox "$work/pci/inbox"

step "results come home over the second path, and the results watch takes them in"
carry "$work/pci/results-outbox" "$work/transfer"
carry "$work/transfer" "$work/dev/results-inbox"
wait_for 60 "both results taken in" has "$work/dev/results-inbox/done" 2
bridge-export health --inbox "$work/dev/results-inbox"

step "both services stop gracefully on SIGTERM (exit 0)"
kill -TERM "$import_watch" "$export_watch"
wait "$import_watch"
wait "$export_watch"
echo "both watches exited 0"

step "development zone: developers see the outcome on the release in Octopus"
curl -sf -H 'X-Octopus-ApiKey: API-DEVZONE' "$dev/api/Spaces-1/projects/payments-api/releases/1.4.1" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["ReleaseNotes"])'
bridge-export status --ledger "$work/dev/export.ledger"

step "the secure watch's metrics file, and one of its JSON log lines"
grep -E '^zonebridge_inbox_(bundles_total|queue_length)' "$work/pci/watch.prom" || true
grep -m1 '"done"\|imported' "$work/pci/watch.log" || head -1 "$work/pci/watch.log"

step "both ledgers' audit trails are intact"
bridge-export ledger verify --ledger "$work/dev/export.ledger"
bridge-import ledger verify --ledger "$work/pci/import.ledger"
