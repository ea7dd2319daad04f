#!/usr/bin/env bash
# The stand-in's built-in feed with a large package: upload and download a SIZE GiB file
# through octopus-standin (release build) with curl, against `cp` and `sha1sum` of the same file,
# and the stand-in's peak memory (VmHWM). Issue 4 pushes whole releases through this feed, so
# it must stream, not buffer.
#
#   bench/standin-feed.sh [SIZE_GIB]     # default 1; data and state go to bench/work/feed/
set -euo pipefail
cd "$(dirname "$0")/.."
size_gib=${1:-1}
runs=${BENCH_RUNS:-3}
work=bench/work/feed
mkdir -p "$work"
file="$work/Big.Package.1.0.0.zip"
bytes=$(python3 -c "print(int(float('$size_gib') * 1024**3))")
if [ ! -f "$file" ] || [ "$(stat -c %s "$file")" != "$bytes" ]; then
    head -c "$bytes" /dev/urandom > "$file"
fi
[ -n "${BENCH_SKIP_BUILD:-}" ] || cargo build --release -q -p octopus-standin
bin=${CARGO_TARGET_DIR:-target}/release/octopus-standin
rm -rf "$work/state.json" "$work/state.json.packages" "$work/url"
"$bin" --api-key BENCH --data "$work/state.json" > "$work/url" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$work/down.zip" "$work/copy.zip"' EXIT
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -1 "$work/url")

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
seconds() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
measure() { for _ in $(seq "$runs"); do seconds "$@"; done | median; }

upload=$(measure curl -sf -o /dev/null -H 'X-Octopus-ApiKey: BENCH' \
    -F "file=@$file" "$url/api/Spaces-1/packages/raw?overwriteMode=OverwriteExisting")
download=$(measure curl -sf -o "$work/down.zip" -H 'X-Octopus-ApiKey: BENCH' \
    "$url/api/Spaces-1/packages/packages-Big.Package.1.0.0/raw")
cmp -s "$work/down.zip" "$file" || { echo "the download differs from the upload" >&2; exit 1; }
copy=$(measure cp "$file" "$work/copy.zip")
hash=$(measure sha1sum "$file")
rss=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
echo "| operation | ${size_gib} GiB, median of $runs | reference | ratio |"
echo "|---|---|---|---|"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
both=$(awk -v a="$copy" -v b="$hash" 'BEGIN { printf "%.2f", a + b }')
echo "| upload (stream to disk + SHA-1) | $upload s | cp + sha1sum: $both s | $(ratio "$upload" "$both") |"
echo "| download | $download s | cp: $copy s | $(ratio "$download" "$copy") |"
echo "| stand-in peak RSS | ${rss} MiB | | |"
