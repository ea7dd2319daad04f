#!/usr/bin/env bash
# The main job on the built-in stand-in instances: promote release 1.4.1 of "Payments API" from
# the development-zone Octopus to the secure-zone Octopus. Both instances are stand-ins on
# loopback, seeded from octopus-standin/seeds/; keys, policy, ledgers and the bundle live in a
# temporary folder removed at the end (KEEP=1 keeps it).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --quiet --bins -p bridge-export -p bridge-import -p octopus-standin
bin="$repo/target/debug"
export PATH="$bin:$PATH"

work=$(mktemp -d -t zonebridge-promote.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "working folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
start() { # zone key seed
    octopus-standin --api-key "$2" --seed "octopus-standin/seeds/$3" > "$work/$1.url" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/$1.url" ] && return; sleep 0.1; done
    echo "the $1 stand-in did not start" >&2
    exit 1
}

step "two Octopus instances: the development zone and the secure (PCI) zone"
start dev API-DEVZONE dev.json
start pci API-PCIZONE secure.json
dev=$(head -1 "$work/dev.url")
pci=$(head -1 "$work/pci.url")
echo "development zone: $dev"
echo "secure zone:      $pci"

step "development zone: a release-signing key; secure zone: a policy that trusts it"
cd "$work"
bridge-export keygen --out signer
bridge-import policy init --zone pci --out policy.toml
bridge-import policy trust policy.toml signer.pub --role release --zone dev
cp "$repo/examples/promote/mapping.toml" mapping.toml
install -m 600 "$repo/examples/promote/secrets.toml" secrets.toml

step "development zone: export Payments API 1.4.1 into a signed bundle"
OCTOPUS_API_KEY=API-DEVZONE bridge-export export --project "Payments API" --release 1.4.1 \
    --key signer.key --source-zone dev --target-zone pci --out payments-1.4.1.zb \
    --server "$dev" --ledger export.ledger

step "carried across (a folder stands in for removable media); what it claims, unverified"
mkdir media && mv payments-1.4.1.zb media/
bridge-import inspect media/payments-1.4.1.zb

step "secure zone: import it (verify everything, map names, upload packages, create the release)"
OCTOPUS_API_KEY=API-PCIZONE bridge-import import media/payments-1.4.1.zb --policy policy.toml \
    --map mapping.toml --secrets secrets.toml --server "$pci" --ledger import.ledger

step "secure zone: the release is there"
curl -sf -H 'X-Octopus-ApiKey: API-PCIZONE' "$pci/api/Spaces-1/projects/payments-api/releases/1.4.1" \
    | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["Id"], r["Version"], [p["ActionName"] + " " + p["Version"] for p in r["SelectedPackages"]])'

step "the same bundle again changes nothing"
OCTOPUS_API_KEY=API-PCIZONE bridge-import import media/payments-1.4.1.zb --policy policy.toml \
    --map mapping.toml --secrets secrets.toml --server "$pci" --ledger import.ledger

step "both ledgers' audit trails are intact"
bridge-export ledger verify --ledger export.ledger
bridge-import ledger verify --ledger import.ledger
