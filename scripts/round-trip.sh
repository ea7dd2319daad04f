#!/usr/bin/env bash
# The main job on the built-in stand-in instances, the whole round trip: a release of
# "Payments API" goes from the development-zone Octopus to the secure-zone Octopus, is deployed
# there, and its signed result comes back and shows on the release in the development zone.
# Both instances are stand-ins on loopback, seeded from octopus-standin/seeds/; keys, policies,
# ledgers and bundles live in a temporary folder removed at the end (KEEP=1 keeps it).
# OCTOPUS_STANDIN_PROFILE=2020.5 makes both instances behave as Octopus Server 2020.5 instead
# of a current one (2025, the default); .ci/run runs the round trip under both.
set -euo pipefail
profile=${OCTOPUS_STANDIN_PROFILE:-2025}

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --quiet --bins -p bridge-export -p bridge-import -p octopus-standin
export PATH="$repo/target/debug:$PATH"

work=$(mktemp -d -t zonebridge-round-trip.XXXXXX)
. "$repo/scripts/lib.sh"
start() { # zone key seed
    start_standin "$1" octopus-standin --api-key "$2" --seed "octopus-standin/seeds/$3" \
        --profile "$profile"
}
# Each side keeps its own files; only bundles cross, through media/.
mkdir -p "$work/dev" "$work/pci" "$work/media"

step "two Octopus instances (behaving as Octopus Server $profile): the development zone and the secure (PCI) zone"
start dev API-DEVZONE dev.json
start pci API-PCIZONE secure.json
dev=$(head -1 "$work/dev.url")
pci=$(head -1 "$work/pci.url")
echo "development zone: $dev"
echo "secure zone:      $pci"
echo "both report:      $(curl -fsS "$dev/api" | grep -o '"Version":"[^"]*"'), $(curl -fsS "$pci/api" | grep -o '"Version":"[^"]*"')"

step "keys and trust: a release signer in dev, a result signer in pci, each side trusting the other's"
cd "$work/dev"
bridge-export keygen --out release-signer
bridge-export policy init --zone dev --out policy.toml
cd "$work/pci"
bridge-import keygen --out result-signer
bridge-import policy init --zone pci --out policy.toml
bridge-import policy trust policy.toml ../dev/release-signer.pub --role release --zone dev
cd "$work/dev"
bridge-export policy trust policy.toml ../pci/result-signer.pub --role result --zone pci
cp "$repo/examples/promote/mapping.toml" "$work/pci/mapping.toml"
install -m 600 "$repo/examples/promote/secrets.toml" "$work/pci/secrets.toml"

step "development zone: export Payments API 1.4.1 into a signed release bundle"
cd "$work/dev"
OCTOPUS_URL="$dev" OCTOPUS_API_KEY=API-DEVZONE bridge-export export --project "Payments API" \
    --release 1.4.1 --key release-signer.key --source-zone dev --target-zone pci \
    --out ../media/payments-1.4.1.zb --ledger export.ledger

step "carried to the secure zone (a folder stands in for removable media); what it claims, unverified"
bridge-import inspect ../media/payments-1.4.1.zb

step "secure zone: verify, import (names mapped, packages, variables, release) and deploy to PCI Staging"
cd "$work/pci"
export OCTOPUS_URL="$pci" OCTOPUS_API_KEY=API-PCIZONE
bridge-import import ../media/payments-1.4.1.zb --policy policy.toml --map mapping.toml \
    --secrets secrets.toml --ledger import.ledger \
    --deploy-to "PCI Staging" --key result-signer.key --result-out ../media/payments-1.4.1.result.zb --timeout 2m

step "secure zone: the same command again changes nothing (imported, deployed, result written)"
bridge-import import ../media/payments-1.4.1.zb --policy policy.toml --map mapping.toml \
    --secrets secrets.toml --ledger import.ledger \
    --deploy-to "PCI Staging" --key result-signer.key --result-out ../media/payments-1.4.1.result.zb
unset OCTOPUS_URL OCTOPUS_API_KEY

step "carried back to the development zone: take the result in (verified, recorded, noted on the release)"
cd "$work/dev"
OCTOPUS_URL="$dev" OCTOPUS_API_KEY=API-DEVZONE bridge-export results ../media/payments-1.4.1.result.zb \
    --policy policy.toml --ledger export.ledger --log-out payments-1.4.1.log
echo "-- the task log as it left the secure zone (first lines):"
head -5 payments-1.4.1.log

step "development zone: developers see the outcome on the release in Octopus"
curl -sf -H 'X-Octopus-ApiKey: API-DEVZONE' "$dev/api/Spaces-1/projects/payments-api/releases/1.4.1" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["ReleaseNotes"])'

step "development zone: where every exported release stands"
bridge-export status --ledger export.ledger

step "both ledgers' audit trails are intact"
bridge-export ledger verify --ledger "$work/dev/export.ledger"
bridge-import ledger verify --ledger "$work/pci/import.ledger"
