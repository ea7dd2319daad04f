#!/usr/bin/env bash
# Peak memory of every command that reads a bundle, on bundles whose manifest is a hostile
# shape of about the manifest limit (8 MiB): issue 10, "peak memory stays within a small
# constant factor of the manifest limit". Compared, in the same run, with two obvious
# alternatives: decoding the same manifest with Python's cbor2, and `zstd -dc | wc -c`.
#
#   bench/hostile-manifest.sh            # all shapes; about 2 minutes on 2 cores (after the build)
#   BENCH_SKIP_BUILD=1 bench/hostile-manifest.sh
#
# Bundles come from `cargo run --example hostile_manifest` (bundle-format/examples/), signed by
# a key the test policies trust, so that the signed path (decode, validation, display) is
# measured, not only the refusal before trust. Shapes (each manifest 8,384,5xx bytes):
#   entries        99,999 tiny entries (just under max_entries), each decoded and shown
#   empty-strings  8 Mi empty strings in one scope array (1 byte of CBOR each)
#   max-items      1,048,048 7-byte scope names: just under the item limit (spec 3)
#   scope-keys     1 Mi distinct 6-byte scope keys, each with an empty array
#   nested         arrays nested 15 deep (within the depth limit) full of one-byte items
#   huge-string    release notes of 8 MiB
#   unknown-keys   two 2 MiB unknown keys, then 1 KiB unknown keys up to the limit
#   not-cbor       8 MiB of 0xff
# Results: bench/work/hostile/results.md (and docs/benchmarks.md holds a copy of a run).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --quiet -p bridge-import -p bridge-export
    cargo build --release --quiet -p bundle-format --example hostile_manifest
fi
bin="${CARGO_TARGET_DIR:-$repo/target}/release"
work="$repo/bench/work/hostile"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

limit_kib=8192
shapes=(entries empty-strings max-items scope-keys nested huge-string unknown-keys not-cbor)

# Keys and policies: pci trusts `signer` for releases from dev; dev trusts it for results from
# pci (so that `results` verifies the signature and decodes the manifest before it refuses the
# release bundle for its zone); `stranger` is trusted by nobody (the refusal before trust).
for key in signer approver stranger; do "$bin/bridge-import" keygen --out "$key" -q; done
"$bin/bridge-import" policy init --zone pci --out pci.toml -q
"$bin/bridge-import" policy trust pci.toml signer.pub --role release --zone dev -q
"$bin/bridge-export" policy init --zone dev --out dev.toml -q
"$bin/bridge-export" policy trust dev.toml signer.pub --role result --zone pci -q
export OCTOPUS_API_KEY=API-UNUSED

# measure LABEL SHAPE COMMAND...: one row of the table (exit code, peak RSS, ratio).
rows=()
measure() {
    local label=$1 shape=$2
    shift 2
    local code=0
    /usr/bin/time -f '%M' -o "$work/time.txt" "$@" > "$work/out.txt" 2> "$work/err.txt" || code=$?
    local kib
    kib=$(tail -1 "$work/time.txt")
    local line
    line=$(awk -v l="$label" -v s="$shape" -v c="$code" -v k="$kib" -v lim="$limit_kib" \
        'BEGIN { printf "| %s | %s | %d | %.1f MiB | %.1f |", l, s, c, k / 1024, k / lim }')
    rows+=("$line")
    echo "$line"
}

echo "| command | manifest shape | exit | peak RSS | ratio to 8 MiB |"
for shape in "${shapes[@]}"; do
    "$bin/examples/hostile_manifest" "$shape" "$shape.zb" signer.key > /dev/null
    "$bin/examples/hostile_manifest" "$shape" "$shape.untrusted.zb" stranger.key > /dev/null
    measure "bridge-import inspect" "$shape" "$bin/bridge-import" inspect "$shape.zb"
    measure "bridge-import inspect --json" "$shape" "$bin/bridge-import" inspect "$shape.zb" --json
    measure "bridge-import verify" "$shape" "$bin/bridge-import" verify "$shape.zb" --policy pci.toml
    rm -rf "$work/unpacked"
    measure "bridge-import unpack" "$shape" "$bin/bridge-import" unpack "$shape.zb" --policy pci.toml \
        --to "$work/unpacked"
    measure "bridge-import import" "$shape" "$bin/bridge-import" import "$shape.zb" --policy pci.toml \
        --server http://127.0.0.1:9 --ledger import.ledger
    measure "bridge-import import (untrusted signer)" "$shape" "$bin/bridge-import" import \
        "$shape.untrusted.zb" --policy pci.toml --server http://127.0.0.1:9 --ledger import.ledger
    measure "bridge-export results" "$shape" "$bin/bridge-export" results "$shape.zb" \
        --policy dev.toml --ledger export.ledger --no-note
    measure "bridge-export results (untrusted signer)" "$shape" "$bin/bridge-export" results \
        "$shape.untrusted.zb" --policy dev.toml --ledger export.ledger --no-note
    measure "bridge-export sign" "$shape" "$bin/bridge-export" sign "$shape.zb" --key approver.key \
        --out "$work/signed.zb"
    rm -f "$work/signed.zb"
    measure "python3 cbor2.loads (reference)" "$shape" python3 -c \
        'import cbor2, sys; cbor2.loads(open(sys.argv[1], "rb").read())' "$shape.zb.cbor"
    measure "zstd -dc \\| wc -c (reference)" "$shape" bash -c 'zstd -dc "$1" | wc -c' _ "$shape.zb"
done
# Every refusal above was recorded, and both ledgers still verify.
"$bin/bridge-import" ledger verify --ledger import.ledger -q
"$bin/bridge-export" ledger verify --ledger export.ledger -q

{
    echo "| command | manifest shape | exit | peak RSS | ratio to 8 MiB |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} > results.md
echo "written: $work/results.md"
