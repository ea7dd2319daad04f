#!/usr/bin/env bash
# Benchmark: bridge-export pack / bridge-import verify and unpack against the plain
# tar + zstd pipelines, on synthetic releases of SIZE_GIB GiB each (default: 1 and 4).
#
#   bench/run.sh [SIZE_GIB...]
#
# Environment: BENCH_RUNS (default 3; the median is kept), BENCH_SKIP_BUILD=1 (use the
# binaries already in target/release), BENCH_KEEP_OUTPUTS=1 (keep bundles and archives).
# Everything it writes goes to bench/work/ (git-ignored). See bench/README.md.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
WORK="$BENCH/work"
RUNS=${BENCH_RUNS:-3}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
EXPORT="$TARGET_DIR/release/bridge-export"
IMPORT="$TARGET_DIR/release/bridge-import"
GNU_TIME=/usr/bin/time
SEED=20261103
# Fixed creation time, so that two packs of the same input can be compared byte for byte.
export SOURCE_DATE_EPOCH=1793750400

# Targets (bench/README.md). Ratios are wall time ours/theirs.
PACK_MAX_RATIO=1.00
UNPACK_MAX_RATIO=1.30
MAX_RSS_MIB=64

# The pipelines we compare with, run as `bash -c SCRIPT _ ARGS...` (so $1, $2 are theirs).
# shellcheck disable=SC2016
THEIR_PACK='set -o pipefail; tar -cf - -C "$1" . | zstd -T0 -3 -q -o "$2" && sha256sum "$2" >"$2.sha256"'
# shellcheck disable=SC2016
THEIR_VERIFY='set -o pipefail; zstd -dc -q "$1" | sha256sum >/dev/null'
# shellcheck disable=SC2016
THEIR_UNPACK='set -o pipefail; zstd -dc -q "$1" | tar -x -C "$2"'

if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(1 4); fi

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

# ---- preconditions -----------------------------------------------------------------------

check_tools() {
    local missing=() tool probe
    for tool in zstd tar sha256sum python3 awk; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ] && ! command -v cargo >/dev/null 2>&1; then
        missing+=(cargo)
    fi
    probe=$(mktemp)
    if ! [ -x "$GNU_TIME" ] || ! "$GNU_TIME" -f '%e %M' -o "$probe" true 2>/dev/null \
        || ! grep -Eq '^[0-9.]+ [0-9]+$' "$probe"; then
        missing+=("GNU time ($GNU_TIME)")
    fi
    rm -f "$probe"
    if [ "${#missing[@]}" -gt 0 ]; then
        note "bench: missing: ${missing[*]}"
        note "Hint: on Debian or Ubuntu: apt-get install zstd time"
        exit 1
    fi
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
    local size
    for size in "${SIZES[@]}"; do
        [[ $size =~ ^[0-9]+([.][0-9]+)?$ ]] || die "size '$size' is not a number of GiB (e.g. 1, 4, 0.25)"
    done
}

build() {
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        note "== cargo build --release"
        (cd "$ROOT" && cargo build --release)
    fi
    [ -x "$EXPORT" ] || die "$EXPORT not found (cargo build --release did not produce it)"
    [ -x "$IMPORT" ] || die "$IMPORT not found (cargo build --release did not produce it)"
}

# Keys and trust policy, fresh for every invocation.
setup_trust() {
    KEYS="$WORK/keys"
    rm -rf "$KEYS"
    mkdir -p "$KEYS"
    chmod 700 "$KEYS"
    "$EXPORT" keygen --out "$KEYS/bench" >"$LOGS/keygen.log" 2>&1 \
        || { cat "$LOGS/keygen.log" >&2; die "bridge-export keygen failed"; }
    if [ -f "$KEYS/bench.key" ]; then KEY="$KEYS/bench.key"
    elif [ -f "$KEYS/bench" ]; then KEY="$KEYS/bench"
    else die "keygen --out $KEYS/bench wrote neither bench.key nor bench"; fi
    PUB="$KEYS/bench.pub"
    [ -f "$PUB" ] || die "keygen --out $KEYS/bench did not write bench.pub"
    POLICY="$KEYS/pci-policy.toml"
    if ! { "$IMPORT" policy init --zone pci --out "$POLICY" \
            && "$IMPORT" policy trust "$POLICY" "$PUB" --role release --zone dev; } >"$LOGS/policy.log" 2>&1; then
        cat "$LOGS/policy.log" >&2
        die "bridge-import policy init/trust failed"
    fi
}

# ---- data --------------------------------------------------------------------------------

# Generates bench/work/data-SIZE once; regenerated when gen-release.py changes.
prepare_data() {
    local size=$1
    DATA="$WORK/data-$size"
    SUMS="$WORK/data-$size.sha256"
    local stamp="$WORK/data-$size.stamp" want
    want="$(sha256sum "$BENCH/gen-release.py" | cut -d' ' -f1) size=$size seed=$SEED"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$DATA/release.toml" ]; then
        note "== data: reusing $DATA"
    else
        note "== data: generating $size GiB in $DATA"
        rm -rf "$DATA" "$stamp" "$SUMS"
        python3 "$BENCH/gen-release.py" "$size" "$DATA" --seed "$SEED" --checksums "$SUMS"
        printf '%s\n' "$want" >"$stamp"
    fi
    INPUT_BYTES=$(find "$DATA" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
    INPUT_FILES=$(find "$DATA" -type f | wc -l)
}

check_disk() {
    local need_kib avail_kib
    # data (cached) + our bundle + tar.zst + one unpacked copy, with some slack
    need_kib=$(awk -v s="$1" 'BEGIN { printf "%.0f", s * 3.5 * 1048576 }')
    avail_kib=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
    if [ "$avail_kib" -lt "$need_kib" ]; then
        note "bench: warning: $((avail_kib / 1048576)) GiB free in $WORK, a $1 GiB run needs about $((need_kib / 1048576)) GiB more"
    fi
}

# ---- measuring ---------------------------------------------------------------------------

# measure LABEL RUN COMMAND...: wall seconds and peak RSS (KiB) of COMMAND into $RAW.
# For `bash -c 'a | b'`, GNU time reports the largest ru_maxrss of bash and the processes it
# waited for: the peak of the largest single process in the pipeline (not their sum).
measure() {
    local label=$1 run=$2
    shift 2
    local log="$LOGS/$SIZE-$label-$run.log" tfile="$LOGS/$SIZE-$label-$run.time" status=0
    "$GNU_TIME" -f '%e %M' -o "$tfile" "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        note "bench: '$label' (run $run) exited with status $status: $*"
        tail -n 30 "$log" >&2
        die "stopping; full output in $log"
    fi
    local wall rss
    read -r wall rss < <(tail -n 1 "$tfile")
    printf '%s\t%s\t%s\t%s\n' "$label" "$run" "$wall" "$rss" >>"$RAW"
    printf '   %-14s run %d: %7.2f s  %6d MiB\n' "$label" "$run" "$wall" "$((rss / 1024))" >&2
}

# The unpacked tree must hold exactly the generated bytes (checked once per size).
check_unpacked() {
    if ! (cd "$1" && sha256sum -c --quiet --strict "$SUMS") >"$LOGS/$SIZE-content-check.log" 2>&1; then
        head -n 20 "$LOGS/$SIZE-content-check.log" >&2
        die "the unpacked tree in $1 does not match the release directory (expected process.json and packages/* at the top; if unpack lays entries out differently on purpose, adjust check_unpacked in bench/run.sh)"
    fi
}

tidy() {
    rm -rf "$UNPACK_OURS" "$UNPACK_THEIRS"
    sync
}

bench_size() {
    SIZE=$1
    local run zb tz zb_sum
    prepare_data "$SIZE"
    check_disk "$SIZE"
    local out="$WORK/out-$SIZE"
    rm -rf "$out"
    mkdir -p "$out"
    OUT_DIR=$out
    zb="$out/release.zb"
    tz="$out/release.tar.zst"
    UNPACK_OURS="$out/unpacked-ours"
    UNPACK_THEIRS="$out/unpacked-theirs"
    RAW="$WORK/raw-$SIZE.tsv"
    : >"$RAW"
    ZB_SUMS=()

    note "== warm-up read of $DATA ($INPUT_FILES files, $INPUT_BYTES bytes)"
    find "$DATA" -type f -exec cat {} + >/dev/null

    for ((run = 1; run <= RUNS; run++)); do
        note "== $SIZE GiB, run $run of $RUNS"
        rm -f "$zb"
        measure pack "$run" "$EXPORT" pack --release-dir "$DATA" --key "$KEY" \
            --source-zone dev --target-zone pci --out "$zb"
        zb_sum=$(sha256sum "$zb" | cut -d' ' -f1)
        ZB_SUMS+=("$zb_sum")
        sync

        rm -f "$tz" "$tz.sha256"
        measure tar-zstd "$run" bash -c "$THEIR_PACK" _ "$DATA" "$tz"
        sync

        measure verify "$run" "$IMPORT" verify "$zb" --policy "$POLICY"
        measure zstd-sha256 "$run" bash -c "$THEIR_VERIFY" _ "$tz"

        tidy
        measure unpack "$run" "$IMPORT" unpack "$zb" --policy "$POLICY" --to "$UNPACK_OURS"
        if [ "$run" -eq 1 ]; then check_unpacked "$UNPACK_OURS"; fi
        tidy
        mkdir -p "$UNPACK_THEIRS"
        measure zstd-tar "$run" bash -c "$THEIR_UNPACK" _ "$tz" "$UNPACK_THEIRS"
        tidy
    done
    ZB_BYTES=$(stat -c %s "$zb")
    TZ_BYTES=$(stat -c %s "$tz")
    report >"$WORK/results-$SIZE.md"
    cat "$WORK/results-$SIZE.md"
    if [ "${BENCH_KEEP_OUTPUTS:-0}" != 1 ]; then rm -rf "$out"; fi
}

# ---- report ------------------------------------------------------------------------------
# Byte counts go through awk as "%.0f": mawk (Debian's awk) clamps "%d" at 2^31 - 1.

# stat LABEL: "median_wall max_rss_kib" over the runs of LABEL (LABEL may be a+b: the sum of
# a and b within each run, e.g. verify then unpack).
stat_of() {
    awk -F'\t' -v want="$1" '
        BEGIN { n = split(want, parts, "+") }
        { for (i = 1; i <= n; i++) if ($1 == parts[i]) { wall[$2] += $3; if ($4 > rss) rss = $4 } }
        END {
            k = 0
            for (r in wall) v[++k] = wall[r]
            for (i = 2; i <= k; i++) { x = v[i]; j = i - 1; while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
            m = (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
            printf "%.2f %.0f\n", m, rss
        }' "$RAW"
}

# row NAME OURS_TEXT OURS_LABEL THEIRS_TEXT THEIRS_LABEL MAX_RATIO|- RSS_TARGET(yes|no)
row() {
    local name=$1 ours_cmd=$2 ours=$3 theirs_cmd=$4 theirs=$5 max_ratio=$6 rss_target=$7
    local ow orss tw trss
    read -r ow orss < <(stat_of "$ours")
    read -r tw trss < <(stat_of "$theirs")
    # Texts go through the environment: awk -v would eat the backslash of "\|".
    NAME=$name OURS_CMD=$ours_cmd THEIRS_CMD=$theirs_cmd awk -v ow="$ow" -v orss="$orss" \
        -v tw="$tw" -v trss="$trss" -v bytes="$INPUT_BYTES" -v maxr="$max_ratio" \
        -v rsst="$rss_target" -v maxrss="$MAX_RSS_MIB" '
        function rate(w) { return w > 0 ? sprintf("%.0f", bytes / 1048576 / w) : "n/a" }
        BEGIN {
            name = ENVIRON["NAME"]; oc = ENVIRON["OURS_CMD"]; tc = ENVIRON["THEIRS_CMD"]
            ratio = tw > 0 ? ow / tw : 0
            target = ""; met = "yes"
            if (maxr != "-") { target = sprintf("<= %.2f", maxr); if (ratio > maxr + 0.0001) met = "no" }
            if (rsst == "yes") {
                target = target (target == "" ? "" : ", ") sprintf("RSS < %d MiB", maxrss)
                if (orss / 1024 >= maxrss) met = "no"
            }
            if (target == "") { target = "-"; met = "-" }
            printf "| %s | %s | %.2f | %s | %.1f | %s | %.2f | %s | %.1f | %.2f | %s | %s |\n",
                name, oc, ow, rate(ow), orss / 1024, tc, tw, rate(tw), trss / 1024, ratio, target, met
        }'
}

report() {
    local commit reproducible="yes" s
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
    for s in "${ZB_SUMS[@]}"; do [ "$s" = "${ZB_SUMS[0]}" ] || reproducible="no"; done
    echo "## Zonebridge benchmark: $SIZE GiB"
    echo
    echo "Input: \`bench/gen-release.py $SIZE\` (seed $SEED): $INPUT_FILES files, $INPUT_BYTES bytes" \
        "($(awk -v b="$INPUT_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB), half text, half incompressible."
    echo "Wall time is the median of $RUNS runs; peak RSS is the largest over the runs (for a pipeline:"
    echo "its largest single process). MiB/s is input bytes over wall time. Data read from page cache."
    echo
    echo "| operation | ours | wall s | MiB/s | peak RSS MiB | theirs | wall s | MiB/s | peak RSS MiB | time ours/theirs | target | met |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    row "pack" "\`bridge-export pack\`" \
        pack "\`tar -c \\| zstd -T0 -3\` + \`sha256sum\`" tar-zstd "$PACK_MAX_RATIO" yes
    row "verify" "\`bridge-import verify\`" \
        verify "\`zstd -dc \\| sha256sum\`" zstd-sha256 - yes
    row "verify+unpack" "\`bridge-import unpack\`" \
        unpack "\`zstd -dc \\| tar -x\`" zstd-tar "$UNPACK_MAX_RATIO" yes
    row "verify, then unpack" "\`verify\` + \`unpack\`" \
        verify+unpack "\`zstd -dc \\| tar -x\`" zstd-tar - no
    echo
    echo "| output | bytes | MiB | input/output |"
    echo "|---|---|---|---|"
    awk -v b="$ZB_BYTES" -v t="$TZ_BYTES" -v i="$INPUT_BYTES" 'BEGIN {
        printf "| bundle (`pack`) | %.0f | %.1f | %.2f |\n", b, b / 1048576, i / b
        printf "| `tar -c \\| zstd -T0 -3` | %.0f | %.1f | %.2f |\n", t, t / 1048576, i / t
        printf "| bundle / tar.zst | | | %.3f |\n", b / t
    }'
    echo
    echo "Bundle byte-identical across the $RUNS packs (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH): $reproducible."
    echo
    echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown))," \
        "$(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)," \
        "$(zstd --version | head -n 1 | sed 's/^\*\*\* //; s/ \*\*\*$//'), $(tar --version | head -n 1)," \
        "sha256sum alone $SHA256SUM_RATE." \
        "Commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ)."
}

# Throughput of sha256sum(1) alone, for reading the pack and verify rows: coreutils may not
# use the CPU's SHA instructions, while our binaries do.
measure_sha256sum() {
    local t
    t=$("$GNU_TIME" -f '%e' bash -c 'head -c 268435456 /dev/zero | sha256sum >/dev/null' 2>&1 | tail -n 1)
    SHA256SUM_RATE=$(awk -v t="$t" 'BEGIN { printf "%.0f MiB/s", (t > 0 ? 256 / t : 0) }')
}

cleanup() {
    if [ -n "${OUT_DIR:-}" ] && [ "${BENCH_KEEP_OUTPUTS:-0}" != 1 ]; then rm -rf "$OUT_DIR"; fi
}

# ---- main --------------------------------------------------------------------------------

main() {
    local started=$SECONDS size
    check_tools
    mkdir -p "$WORK"
    LOGS="$WORK/logs"
    rm -rf "$LOGS"
    mkdir -p "$LOGS"
    trap cleanup EXIT
    build
    setup_trust
    measure_sha256sum
    for size in "${SIZES[@]}"; do
        bench_size "$size"
    done
    note "== done in $((SECONDS - started)) s; results in $WORK/results-*.md"
}

main
