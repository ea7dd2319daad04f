#!/usr/bin/env bash
# Promotion of a large release: `bridge-export export` and `bridge-import import` of a release
# with 20 packages totalling SIZE GiB (default 1), between two stand-ins on loopback, against
# simply downloading the packages from one instance and uploading them to another with curl,
# in the same run. Reports wall time (median of BENCH_RUNS, default 3) and peak RSS.
#
#   bench/promote.sh [SIZE_GIB]       # data in bench/work/promote/ (git-ignored)
set -euo pipefail
cd "$(dirname "$0")/.."
size_gib=${1:-1}
runs=${BENCH_RUNS:-3}
count=20
work=$PWD/bench/work/promote
mkdir -p "$work"
bytes=$(python3 -c "print(int(float('$size_gib') * 1024**3))")
[ -n "${BENCH_SKIP_BUILD:-}" ] || cargo build --release -q -p bridge-export -p bridge-import -p octopus-standin
bin=$PWD/${CARGO_TARGET_DIR:-target}/release

. "$PWD/bench/lib.sh"

start dev API-BENCHDEV; dev=$url
python3 bench/promote-setup.py "$dev" API-BENCHDEV "$work/packages" "$count" "$bytes"
repo=$PWD
cd "$work"
rm -f signer.key signer.pub policy.toml
"$bin/bridge-export" keygen --out signer --quiet
"$bin/bridge-import" policy init --zone pci --out policy.toml --quiet
"$bin/bridge-import" policy trust policy.toml signer.pub --role release --zone dev --quiet

export_rows=(); download_rows=(); import_rows=(); upload_rows=()
for run in $(seq "$runs"); do
    rm -f bundle.zb export.ledger*
    export_rows+=("$(OCTOPUS_API_KEY=API-BENCHDEV timed "$bin/bridge-export" export --project "Bench Release" \
        --release 1.0.0 --key signer.key --source-zone dev --target-zone pci --out bundle.zb \
        --server "$dev" --ledger export.ledger --quiet)")
    rm -rf downloads && mkdir downloads
    download_rows+=("$(timed bash -c "for i in \$(seq -w 0 $((count - 1))); do curl -sf -o downloads/\$i.zip -H 'X-Octopus-ApiKey: API-BENCHDEV' '$dev/api/Spaces-1/packages/packages-Bench.Pkg'\$i'.1.0.0/raw'; done")")
    start "secure-$run" API-BENCHPCI; secure=$url
    python3 "$repo/bench/promote-setup.py" "$secure" API-BENCHPCI "$work/packages" "$count" "$bytes" --target
    rm -f import.ledger*
    import_rows+=("$(OCTOPUS_API_KEY=API-BENCHPCI timed "$bin/bridge-import" import bundle.zb --policy policy.toml \
        --server "$secure" --ledger import.ledger --quiet)")
    start "plain-$run" API-BENCHPLAIN; plain=$url
    upload_rows+=("$(timed bash -c "for f in '$work'/packages/*.zip; do curl -sf -o /dev/null -H 'X-Octopus-ApiKey: API-BENCHPLAIN' -F \"file=@\$f\" '$plain/api/Spaces-1/packages/raw'; done")")
done

col() { printf '%s\n' "$@" | awk -v c="$COL" '{ print $c }' | median; }
COL=1; e=$(col "${export_rows[@]}"); d=$(col "${download_rows[@]}"); i=$(col "${import_rows[@]}"); u=$(col "${upload_rows[@]}")
COL=2; er=$(col "${export_rows[@]}"); ir=$(col "${import_rows[@]}")
echo "| ${size_gib} GiB in $count packages, median of $runs | ours | curl | ratio | our peak RSS |"
echo "|---|---|---|---|---|"
echo "| export (read release + download + SHA-1 check + pack + sign) vs curl download of the packages | $e s | $d s | $(ratio "$e" "$d") | $(mib "$er") MiB |"
echo "| import (verify + unpack + upload + process, variables, release + check) vs curl upload of the packages | $i s | $u s | $(ratio "$i" "$u") | $(mib "$ir") MiB |"
