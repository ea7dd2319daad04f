#!/usr/bin/env bash
# Seeds the fuzz corpora from the committed test vectors (tests/vectors/): every bundle for
# `verify`, every manifest (extracted with zstd and tar) for `manifest`; and real diode datagrams
# (a signed header, a heartbeat, symbols, whole transfers) for `diode_datagram`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vectors="$here/../tests/vectors"
mkdir -p "$here/corpus/verify" "$here/corpus/manifest" "$here/corpus/entry_path"
cp "$vectors"/*.zb "$here/corpus/verify/"
for bundle in "$vectors"/*.zb; do
    name=$(basename "$bundle" .zb)
    zstd -dc "$bundle" 2>/dev/null | tar -xOf - zonebridge/manifest.cbor > "$here/corpus/manifest/$name" 2>/dev/null || rm -f "$here/corpus/manifest/$name"
done
printf '%s' "packages/Payments.Api.1.2.3.zip" > "$here/corpus/entry_path/package"
printf '%s' "../etc/passwd" > "$here/corpus/entry_path/traversal"
cargo run -q --manifest-path "$here/../Cargo.toml" -p carriers --example diode_datagrams -- "$here/corpus/diode_datagram"
echo "seeded: $(ls "$here/corpus/verify" | wc -l) bundles, $(ls "$here/corpus/manifest" | wc -l) manifests"
