#!/usr/bin/env bash
# The bundle alone, without Octopus: make keys for both zones, write the secure zone's trust
# policy, pack examples/release into a signed bundle in the development zone, "carry" it
# through a folder that stands in for removable media, then verify and unpack it in the
# secure zone. Everything happens in a temporary folder that is removed at the end
# (set KEEP=1 to keep it). scripts/round-trip.sh is the whole job with Octopus.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --quiet --bins -p bridge-export -p bridge-import
bin="$repo/target/debug"
export PATH="$bin:$PATH"

work=$(mktemp -d -t zonebridge-round-trip.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then echo "working folder kept: $work"; else trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work/dev" "$work/media" "$work/secure"

step() { printf '\n== %s\n' "$*"; }

step "development zone: a release signing key"
bridge-export keygen --out "$work/dev/release-signer"

step "secure zone: a trust policy that accepts releases signed by that key for zone dev"
bridge-import policy init --zone pci --out "$work/secure/policy.toml"
bridge-import policy trust "$work/secure/policy.toml" "$work/dev/release-signer.pub" --role release --zone dev

step "development zone: pack examples/release for zone pci"
bridge-export pack --release-dir examples/release --key "$work/dev/release-signer.key" \
    --source-zone dev --target-zone pci --out "$work/media/payments-api.zb"

step "anyone: what the bundle claims (not verified)"
bridge-import inspect "$work/media/payments-api.zb"

step "secure zone: verify, then unpack only what verified"
bridge-import verify "$work/media/payments-api.zb" --policy "$work/secure/policy.toml"
bridge-import unpack "$work/media/payments-api.zb" --policy "$work/secure/policy.toml" --to "$work/secure/release"

step "secure zone: the unpacked release matches the original byte for byte"
(cd "$work/secure/release" && find . -type f | sort) > "$work/expected"
while read -r file; do
    cmp "examples/release/$file" "$work/secure/release/$file"
done < "$work/expected"
echo "$(wc -l < "$work/expected") files identical"

step "a tampered copy is refused, and nothing is unpacked"
cp "$work/media/payments-api.zb" "$work/media/tampered.zb"
printf 'x' >> "$work/media/tampered.zb"
if bridge-import unpack "$work/media/tampered.zb" --policy "$work/secure/policy.toml" --to "$work/secure/tampered"; then
    echo "tampered bundle was accepted" >&2
    exit 1
fi
test ! -e "$work/secure/tampered"
echo "refused as expected"
