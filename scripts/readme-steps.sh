#!/usr/bin/env bash
# Runs the README's "Step by step" block exactly as written, against the two Octopus stand-ins,
# so that the steps an operator copies keep working.
#
# The lines are taken from README.md (the first ```sh block after the line containing
# "Step by step"), unchanged except for the two placeholder URLs
# (https://octopus.dev.example.com and https://octopus.pci.example.com), which become the
# stand-ins' loopback URLs. The stand-ins are started with the README's placeholder API key
# `API-...` itself, so the key lines stay as written. The block runs with `bash -euo pipefail`
# in a fresh folder whose `examples` is the checkout's, with the workspace's freshly built
# binaries first on PATH and HOME and XDG_STATE_HOME in the folder (the default ledgers go
# there). KEEP=1 keeps the folder.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --quiet --bins -p bridge-export -p bridge-import -p octopus-standin
bin="${CARGO_TARGET_DIR:-$repo/target}/debug"

work=$(mktemp -d -t zonebridge-readme.XXXXXX)
. "$repo/scripts/lib.sh"

# The block: from the first ```sh after "Step by step" to its closing fence.
awk '
    /Step by step/ { armed = 1 }
    armed && !inside && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
' README.md > "$work/steps.sh"
if [ ! -s "$work/steps.sh" ]; then
    echo "README.md has no \`\`\`sh block after \"Step by step\"" >&2
    exit 1
fi
for placeholder in https://octopus.dev.example.com https://octopus.pci.example.com 'OCTOPUS_API_KEY=API-...'; do
    if ! grep -qF "$placeholder" "$work/steps.sh"; then
        echo "the README's steps no longer use the placeholder $placeholder; update $0" >&2
        exit 1
    fi
done

start() { # zone seed
    start_standin "$1" "$bin/octopus-standin" --api-key 'API-...' --seed "octopus-standin/seeds/$2"
}
start dev dev.json
start pci secure.json
dev=$(head -1 "$work/dev.url")
pci=$(head -1 "$work/pci.url")

sed -e "s|https://octopus.dev.example.com|$dev|g" -e "s|https://octopus.pci.example.com|$pci|g" \
    "$work/steps.sh" > "$work/run.sh"
echo "== the README's steps (URLs -> $dev, $pci):"
cat "$work/run.sh"

mkdir -p "$work/checkout" "$work/home"
ln -s "$repo/examples" "$work/checkout/examples"
echo "== running them in $work/checkout"
(
    cd "$work/checkout"
    export PATH="$bin:$PATH" HOME="$work/home" XDG_STATE_HOME="$work/home/state"
    unset OCTOPUS_URL OCTOPUS_API_KEY ZONEBRIDGE_LEDGER
    bash -euo pipefail "$work/run.sh"
)

echo "== checks"
export PATH="$bin:$PATH" HOME="$work/home" XDG_STATE_HOME="$work/home/state"
cd "$work/checkout"
test -f dev-zone/second-approver.key
test -f media/payments-1.4.1.result.zb
signers=$(bridge-import verify media/payments-1.4.1.zb --policy secure-zone/policy.toml --json \
    | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["signers"]))')
if [ "$signers" != 2 ]; then
    echo "the release bundle should carry two trusted signatures, found $signers" >&2
    exit 1
fi
results=$(bridge-export status --json | python3 -c 'import json, sys
promotions = json.load(sys.stdin)["promotions"]
print(" ".join(p["project"] + "/" + p["version"] + ":" + d["state"] for p in promotions for d in p["deployments"]))')
if [ "$results" != "Payments API/1.4.1:success" ]; then
    echo "the development side should show the successful deployment, found: $results" >&2
    exit 1
fi
bridge-export ledger verify
bridge-import ledger verify
echo "the README's steps ran as written"
