#!/usr/bin/env bash
# The one-way diode on an emulated 100 Mbit/s link: goodput, CPU and peak memory of
# `bridge-export send` / `bridge-import receive` against `udp-sender --async --fec` /
# `udp-receiver` (Debian's udpcast), at several loss rates, in the same run. Needs root (network
# namespaces, veth, tc). See bench/README.md; results in docs/benchmarks.md.
#
#   bench/diode.sh                 64 MiB at 0%, 1%, 5% and bursty 1%; then 512 MiB at 1%
#
# The link (as test-support/src/netns.rs builds it for the tests):
#
#   sender ns 10.77.1.1 --veth-- 10.77.1.2 relay ns 10.77.2.1 --veth, tbf 100mbit-- 10.77.2.2 receiver ns
#
# IP forwarding stays off in the relay ns: only the relay process carries datagrams, one way.
# The receiver's veth has ARP and IPv6 off; the relay knows its MAC.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
WORK="$BENCH/work/diode"
LOGS="$WORK/logs"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN_DIR=${BENCH_BIN_DIR:-$TARGET_DIR/release}
EXPORT="$BIN_DIR/bridge-export"
IMPORT="$BIN_DIR/bridge-import"
RELAY="$BIN_DIR/zb-relay"
GNU_TIME=/usr/bin/time
SEED=${BENCH_SEED:-20261202}
export SOURCE_DATE_EPOCH=1793750400

SIZE_MIB=${BENCH_SIZE_MIB:-64}
# Loss conditions: P (uniform) or P:MEANLEN (bursts of mean MEANLEN datagrams).
read -r -a CONDITIONS <<< "${BENCH_CONDITIONS:-0 0.01 0.05 0.01:8}"
# Extra bundle sizes, run at 1% loss, to show memory does not grow with the size.
read -r -a MEM_SIZES <<< "${BENCH_MEM_SIZES-512}"
# Which tools to run (both by default; one alone for a quick check).
read -r -a TOOLS <<< "${BENCH_TOOLS:-zonebridge udpcast}"
LINK_RATE=100mbit
# --rate counts IP and UDP headers; tbf also counts the 14-byte Ethernet header, so a
# 1,494-byte datagram takes 1,508 bytes of the link: 98M keeps the sender 1% under it.
ZB_RATE=${ZB_RATE:-98M}
ZB_SEND_ARGS=${ZB_SEND_ARGS:-}
ZB_PORT=7700
# udpcast's --max-bitrate, tuned the same way (the highest that the tbf never drops).
UDPCAST_RATE=${UDPCAST_RATE:-98m}

# Repair overhead (Zonebridge) and FEC (udpcast: interleave x redundancy / stripe size) per
# condition: set by hand so that every run at that loss delivers (docs/benchmarks.md).
zb_overhead() {
    case $1 in
        0) echo "${ZB_OVERHEAD_0:-1%}" ;;
        0.01) echo "${ZB_OVERHEAD_1:-2%}" ;;
        0.05) echo "${ZB_OVERHEAD_5:-8%}" ;;
        *) echo "${ZB_OVERHEAD_BURST:-4%}" ;;
    esac
}
udpcast_fec() {
    case $1 in
        0) echo "${UDPCAST_FEC_0:-8x4/128}" ;;
        0.01) echo "${UDPCAST_FEC_1:-8x8/128}" ;;
        0.05) echo "${UDPCAST_FEC_5:-8x24/128}" ;;
        *) echo "${UDPCAST_FEC_BURST:-8x16/128}" ;;
    esac
}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

# --- the link -------------------------------------------------------------------------------
ID="zbb$$"
NS_S="$ID-s" NS_R="$ID-r" NS_V="$ID-v"
IF_S="${ID}s" IF_A="${ID}a" IF_B="${ID}b" IF_V="${ID}v"
PIDS=()

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local p
    # Children first: GNU time runs each tool as its child and would leave it behind.
    for p in "${PIDS[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    local ns
    for ns in "$NS_S" "$NS_R" "$NS_V"; do ip netns del "$ns" 2>/dev/null || true; done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Background processes are started with `ip netns exec` itself (it execs the program, so $! is
# the program's pid); in_ns is for commands waited on.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

link_up() {
    local ns
    for ns in "$NS_S" "$NS_R" "$NS_V"; do ip netns add "$ns"; done
    ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_A" netns "$NS_R"
    ip link add "$IF_B" netns "$NS_R" type veth peer name "$IF_V" netns "$NS_V"
    in_ns "$NS_V" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        "net.ipv6.conf.$IF_V.disable_ipv6=1" net.ipv4.icmp_msgs_per_sec=0 net.ipv4.icmp_msgs_burst=0
    in_ns "$NS_S" sysctl -q -w "net.ipv6.conf.$IF_S.disable_ipv6=1"
    in_ns "$NS_R" sysctl -q -w "net.ipv6.conf.$IF_A.disable_ipv6=1" "net.ipv6.conf.$IF_B.disable_ipv6=1"
    ip -n "$NS_V" link set "$IF_V" arp off
    ip -n "$NS_S" addr add 10.77.1.1/24 dev "$IF_S"
    ip -n "$NS_R" addr add 10.77.1.2/24 dev "$IF_A"
    ip -n "$NS_R" addr add 10.77.2.1/24 dev "$IF_B"
    ip -n "$NS_V" addr add 10.77.2.2/24 dev "$IF_V"
    local pair
    for pair in "$NS_S $IF_S" "$NS_R $IF_A" "$NS_R $IF_B" "$NS_V $IF_V"; do
        set -- $pair
        ip -n "$1" link set "$2" up
        ip -n "$1" link set lo up
    done
    ip -n "$NS_R" neigh replace 10.77.2.2 lladdr "$(in_ns "$NS_V" cat "/sys/class/net/$IF_V/address")" \
        dev "$IF_B" nud permanent
    tc -n "$NS_R" qdisc add dev "$IF_B" root tbf rate "$LINK_RATE" burst 64kb latency 50ms

    # udpcast only: udp-receiver accepts data only when the sender's "data address" is its
    # own IP, so udp-sender sends to 10.77.2.2. The sender routes that through the relay, the
    # relay holds 10.77.2.2 on its sender side (so the relay process receives it), and what
    # the relay itself sends to 10.77.2.2 is routed out toward the receiver (a rule for
    # locally sent packets, before the local table). Zonebridge sends to 10.77.1.2 as usual.
    ip -n "$NS_S" route add 10.77.2.0/24 via 10.77.1.2
    ip -n "$NS_R" addr add 10.77.2.2/32 dev "$IF_A"
    ip -n "$NS_R" route add 10.77.2.2/32 dev "$IF_B" src 10.77.2.1 table 77
    ip -n "$NS_R" rule add pref 10 iif lo to 10.77.2.2/32 lookup 77
    ip -n "$NS_R" rule add pref 50 lookup local
    ip -n "$NS_R" rule del pref 0 lookup local
}

rx_tx() { in_ns "$NS_V" cat "/sys/class/net/$IF_V/statistics/tx_packets"; }
tbf_drops() { tc -n "$NS_R" -s qdisc show dev "$IF_B" | awk '/dropped/ { gsub(",", ""); for (i = 1; i <= NF; i++) if ($i == "dropped") print $(i + 1); exit }'; }
# UDP RcvbufErrors in the receiver's namespace (datagrams the kernel dropped: socket full).
rcvbuf_errors() {
    in_ns "$NS_V" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else { print $n["RcvbufErrors"]; exit } }' /proc/net/snmp
}
# GNU time's last line (a killed process gets a "terminated by signal" line first).
cpu_rss() { tail -n 1 "$1" | awk '{ printf "%.2f %.1f", $1 + $2, $3 / 1024 }'; }

wait_for_line() {
    local file=$1 text=$2 i
    for i in $(seq 200); do grep -q "$text" "$file" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

# Waits for pid $1 up to $2 seconds; kills it (and says so) after that.
wait_or_kill() {
    local pid=$1 secs=$2 i
    for i in $(seq $((secs * 10))); do kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 124
}

# --- setup ----------------------------------------------------------------------------------
check_tools() {
    [ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth, tc)"
    local missing=() tool
    for tool in ip tc udp-sender udp-receiver python3 sha256sum zstd; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ -x "$GNU_TIME" ] || missing+=("GNU time ($GNU_TIME)")
    [ "${#missing[@]}" -eq 0 ] || die "missing: ${missing[*]}. Hint: apt-get install udpcast time zstd iproute2"
}

build() {
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        note "== cargo build --release (bridge-export, bridge-import, zb-relay)"
        (cd "$ROOT" && cargo build --release -p bridge-export -p bridge-import -p test-support --bin bridge-export --bin bridge-import --bin zb-relay)
    fi
    local b
    for b in "$EXPORT" "$IMPORT"; do [ -x "$b" ] || die "$b not found"; done
    if [[ " ${TOOLS[*]} " == *" zonebridge "* ]]; then [ -x "$RELAY" ] || die "$RELAY not found"; fi
}

setup_trust() {
    KEYS="$WORK/keys"
    KEY="$KEYS/bench.key"
    POLICY="$KEYS/pci-policy.toml"
    # Kept between runs: the cached bundles are signed by this key.
    [ -f "$KEY" ] && [ -f "$POLICY" ] && return 0
    rm -rf "$KEYS" "$WORK"/*.zb
    mkdir -p "$KEYS"
    chmod 700 "$KEYS"
    "$EXPORT" keygen --out "$KEYS/bench" >"$LOGS/keygen.log" 2>&1 || { cat "$LOGS/keygen.log" >&2; die "keygen failed"; }
    KEY="$KEYS/bench.key"
    POLICY="$KEYS/pci-policy.toml"
    { "$IMPORT" policy init --zone pci --out "$POLICY" \
        && "$IMPORT" policy trust "$POLICY" "$KEYS/bench.pub" --role release --zone dev; } >"$LOGS/policy.log" 2>&1 \
        || { cat "$LOGS/policy.log" >&2; die "policy init/trust failed"; }
}

# A bundle of about $1 MiB (gen-release.py's data packs to about 63% of its size).
make_bundle() {
    local mib=$1 data="$WORK/release-$1" out="$WORK/dev~pci~release~000000000001~bench-$1.zb"
    if [ ! -f "$out" ]; then
        note "== a bundle of about $mib MiB"
        rm -rf "$data"
        python3 "$BENCH/gen-release.py" "$(awk -v m="$mib" 'BEGIN { printf "%.4f", m / 1024 / 0.63 }')" "$data" --seed "$SEED" >/dev/null
        "$EXPORT" pack --release-dir "$data" --key "$KEY" --source-zone dev --target-zone pci --out "$out" --no-fsync >"$LOGS/pack-$mib.log" 2>&1 \
            || { cat "$LOGS/pack-$mib.log" >&2; die "pack failed"; }
        rm -rf "$data"
    fi
    BUNDLE=$out
    BUNDLE_BYTES=$(stat -c %s "$out")
    BUNDLE_SHA=$(sha256sum "$out" | cut -d' ' -f1)
}

relay_args() {
    local cond=$1
    case $cond in
        *:*) echo "--loss ${cond%%:*} --burst ${cond#*:}" ;;
        *) echo "--loss $cond" ;;
    esac
}
label() {
    case $1 in
        *:*) awk -v p="${1%%:*}" -v b="${1#*:}" 'BEGIN { printf "%g%% bursty (mean %g)", p * 100, b }' ;;
        *) awk -v p="$1" 'BEGIN { printf "%g%%", p * 100 }' ;;
    esac
}

ROWS=()
RUN=0

# One transfer: $1 tool (zonebridge|udpcast), $2 condition, $3 bundle MiB label.
transfer() {
    local tool=$1 cond=$2 size=$3
    RUN=$((RUN + 1))
    local tag="$RUN-$tool-${cond//[:.]/_}-$size"
    local out="$WORK/out-$tag" times="$LOGS/$tag"
    rm -rf "$out"
    mkdir -p "$out"
    local tx0 drops0 rcvbuf0
    tx0=$(rx_tx)
    drops0=$(tbf_drops)
    rcvbuf0=$(rcvbuf_errors)
    local relay_pid recv_pid watch_pid send_pid send_status=0 watch_status=0 settings target
    # shellcheck disable=SC2046
    if [ "$tool" = zonebridge ]; then
        ip netns exec "$NS_R" "$RELAY" --listen 10.77.1.2:$ZB_PORT --forward 10.77.2.2:$ZB_PORT --seed "$SEED" \
            $(relay_args "$cond") --stats "$times.relay.json" >"$times.relay.log" 2>&1 &
        relay_pid=$!
        PIDS+=("$relay_pid")
        wait_for_line "$times.relay.log" "zb-relay ready" || die "zb-relay did not start: $(cat "$times.relay.log")"
        ip netns exec "$NS_V" "$GNU_TIME" -f '%U %S %M' -o "$times.recv.time" "$IMPORT" receive \
            --listen 10.77.2.2:$ZB_PORT --inbox "$out" --policy "$POLICY" --state "$out.state" \
            --log-format json >"$times.recv.log" 2>&1 &
        recv_pid=$!
        PIDS+=("$recv_pid")
        target="$out/$(basename "$BUNDLE")"
        settings="--rate $ZB_RATE --overhead $(zb_overhead "$cond")${ZB_SEND_ARGS:+ $ZB_SEND_ARGS}"
    else
        ip netns exec "$NS_R" "$PYTHON" "$BENCH/udpcast-relay.py" --listen 10.77.2.2:9000 --forward 10.77.2.2:9000 \
            --source 10.77.2.1:9001 --seed "$SEED" $(relay_args "$cond") --stats "$times.relay.json" \
            >"$times.relay.log" 2>&1 &
        relay_pid=$!
        PIDS+=("$relay_pid")
        wait_for_line "$times.relay.log" "udpcast-relay ready" || die "udpcast-relay did not start: $(cat "$times.relay.log")"
        target="$out/bundle.zb"
        ip netns exec "$NS_V" "$GNU_TIME" -f '%U %S %M' -o "$times.recv.time" udp-receiver --nokbd \
            --interface "$IF_V" --portbase 9000 --rcvbuf 4194304 --file "$target" </dev/null >"$times.recv.log" 2>&1 &
        recv_pid=$!
        PIDS+=("$recv_pid")
        settings="--fec $(udpcast_fec "$cond") --max-bitrate $UDPCAST_RATE; udp-receiver --rcvbuf 4194304"
    fi
    sleep 0.5
    ip netns exec "$NS_V" "$PYTHON" "$BENCH/diode-watch.py" "$IF_V" "$target" "$BUNDLE_BYTES" 900 >"$times.watch" 2>"$times.watch.err" &
    watch_pid=$!
    PIDS+=("$watch_pid")
    note "== $tool, $(label "$cond"), $size MiB: $settings"
    if [ "$tool" = zonebridge ]; then
        # shellcheck disable=SC2086
        ip netns exec "$NS_S" "$GNU_TIME" -f '%U %S %M %e' -o "$times.send.time" "$EXPORT" send --to 10.77.1.2:$ZB_PORT \
            --key "$KEY" --rate "$ZB_RATE" --overhead "$(zb_overhead "$cond")" $ZB_SEND_ARGS "$BUNDLE" \
            >"$times.send.log" 2>&1 &
    else
        ip netns exec "$NS_S" "$GNU_TIME" -f '%U %S %M %e' -o "$times.send.time" udp-sender --async --fec "$(udpcast_fec "$cond")" \
            --max-bitrate "$UDPCAST_RATE" --autostart 3 --rexmit-hello-interval 100 --nokbd --interface "$IF_S" \
            --portbase 9000 --mcast-data-address 10.77.2.2 --mcast-rdv-address 10.77.2.2 --file "$BUNDLE" \
            </dev/null >"$times.send.log" 2>&1 &
    fi
    # In the background and waited for, so that Ctrl-C reaches the trap at once (bash runs no
    # trap while a foreground command runs, and GNU time ignores SIGINT).
    send_pid=$!
    PIDS+=("$send_pid")
    wait "$send_pid" || send_status=$?
    # After the sender's last datagram, 10 s for the receiver to finish (nothing more comes).
    wait_or_kill "$watch_pid" 10 || watch_status=$?
    if [ "$tool" = zonebridge ]; then
        # GNU time runs the receiver as its child; stop the receiver itself so time reports.
        local child
        child=$(pgrep -P "$recv_pid" || true)
        [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
    fi
    wait_or_kill "$recv_pid" 15 || true
    kill -TERM "$relay_pid" 2>/dev/null || true
    wait "$relay_pid" 2>/dev/null || true

    local ok=no secs=- goodput=- pct=- scpu=- srss=- swall=- rcpu=- rrss=- dropped=- tx drops rcvbuf
    if [ "$watch_status" = 0 ] && [ -f "$target" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$BUNDLE_SHA" ]; then
        ok=yes
        read -r first done < "$times.watch"
        secs=$(awk -v a="$first" -v b="$done" 'BEGIN { printf "%.2f", b - a }')
        # Mbit/s over a 100 Mbit/s link: the figure is also the percentage.
        goodput=$(awk -v n="$BUNDLE_BYTES" -v s="$secs" 'BEGIN { printf "%.1f", n * 8 / s / 1e6 }')
        pct=$goodput
    elif [ "$watch_status" = 0 ]; then
        ok="NO (SHA-256 differs)"
    else
        ok="NO (incomplete; sender exit $send_status)"
    fi
    [ -s "$times.send.time" ] && read -r scpu srss <<< "$(cpu_rss "$times.send.time")" \
        && swall=$(tail -n 1 "$times.send.time" | awk '{ print $4 }')
    [ -s "$times.recv.time" ] && read -r rcpu rrss <<< "$(cpu_rss "$times.recv.time")"
    [ -s "$times.relay.json" ] && dropped=$("$PYTHON" -c 'import json, sys; c = json.load(open(sys.argv[1])); print("%d/%d" % (c["dropped"], c["received"]))' "$times.relay.json" || echo -)
    tx=$(( $(rx_tx) - tx0 ))
    drops=$(( $(tbf_drops) - drops0 ))
    rcvbuf=$(( $(rcvbuf_errors) - rcvbuf0 ))
    ROWS+=("| $(label "$cond") | $size | $tool | \`$settings\` | $secs | **$pct** | $swall | $scpu | $rcpu | $srss | $rrss | $dropped | $drops | $rcvbuf | $tx | $ok |")
    RESULT_GOODPUT=$goodput RESULT_CPU=$(awk -v a="$scpu" -v b="$rcpu" 'BEGIN { printf "%.2f", a + b }') RESULT_RSS=$rrss
    rm -rf "$out" "$out.state"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b }'; }

# --- main -----------------------------------------------------------------------------------
check_tools
# The interpreter itself, not a wrapper (pyenv's shim), so that $! is the relay's pid.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$WORK" "$LOGS"
build
setup_trust
link_up
note "== link: $NS_S -- $NS_R (tbf $LINK_RATE toward the receiver) -- $NS_V"

RATIOS=()
run_pair() {
    local cond=$1 size=$2 zg=- zc=- zr=-
    make_bundle "$size"
    RESULT_GOODPUT=- RESULT_CPU=- RESULT_RSS=-
    if [[ " ${TOOLS[*]} " == *" zonebridge "* ]]; then
        transfer zonebridge "$cond" "$size"
        zg=$RESULT_GOODPUT zc=$RESULT_CPU zr=$RESULT_RSS
    fi
    RESULT_GOODPUT=- RESULT_CPU=- RESULT_RSS=-
    [[ " ${TOOLS[*]} " == *" udpcast "* ]] && transfer udpcast "$cond" "$size"
    RATIOS+=("| $(label "$cond") | $size | $(ratio "$zg" "$RESULT_GOODPUT") | $(ratio "$zc" "$RESULT_CPU") | $(ratio "$zr" "$RESULT_RSS") |")
}
for cond in "${CONDITIONS[@]}"; do run_pair "$cond" "$SIZE_MIB"; done
for size in "${MEM_SIZES[@]}"; do run_pair 0.01 "$size"; done

{
    echo
    echo "Link: veth + tbf $LINK_RATE (burst 64kb, latency 50ms) toward the receiver; relay seed $SEED."
    echo "Goodput = bundle bytes x 8 / (file complete - first packet at the receiver's veth); % of 100 Mbit/s."
    echo
    echo "| loss | MiB | tool | settings | s | goodput, % of link | sender wall s | sender CPU s | receiver CPU s | sender RSS MiB | receiver RSS MiB | relay dropped | tbf drops | RcvbufErrors | receiver tx packets | SHA-256 ok |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Zonebridge / udpcast:"
    echo
    echo "| loss | MiB | goodput | CPU (sender + receiver) | receiver peak RSS |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${RATIOS[@]}"
} | tee "$WORK/results.md"
