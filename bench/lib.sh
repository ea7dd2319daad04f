# Shared by the benchmark scripts that start stand-ins (source it after setting $bin and $work).
#   start NAME KEY [ARGS...]   starts a release stand-in with its data in $work/NAME.json; sets $url
#   timed COMMAND...           runs it; prints "wall-seconds peak-RSS-KiB" (GNU time)
#   median                     the median of the numbers on standard input
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
url=
start() {
    local name=$1 key=$2
    shift 2
    rm -rf "$work/$name.json" "$work/$name.json.packages" "$work/$name.json.tasks" "$work/$name.url"
    "$bin/octopus-standin" --api-key "$key" --data "$work/$name.json" "$@" > "$work/$name.url" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/$name.url" ] && break; sleep 0.05; done
    url=$(head -1 "$work/$name.url")
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
timed() { /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
