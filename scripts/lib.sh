# What the scripts that start stand-ins share (sourced, after `work` is set to the script's
# temporary folder): the processes they start are stopped and the folder removed on exit
# (KEEP=1 keeps it), `step` prints a heading, `start_standin ZONE COMMAND...` starts a
# stand-in and waits for the URL it prints (read it from "$work/ZONE.url").

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "working folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
start_standin() {
    local zone=$1
    shift
    "$@" > "$work/$zone.url" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/$zone.url" ] && return; sleep 0.1; done
    echo "the $zone stand-in did not start" >&2
    exit 1
}
