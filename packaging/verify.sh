#!/usr/bin/env bash
# Checks the packaging against systemd's own tools, in a temporary root (nothing is installed
# on this machine):
#
#   1. sysusers.d and tmpfiles.d apply (systemd-sysusers, systemd-tmpfiles --root) with the
#      owners and modes the README promises, every folder a unit may write (ReadWritePaths=)
#      is one tmpfiles.d creates, and no outbox is a mount apart from its staging folder;
#   2. `systemd-analyze verify` accepts every unit (the ExecStart binaries are installed in
#      the root: built with cargo unless BIN_DIR holds them);
#   3. `systemd-analyze security --offline=true` rates each service at most THRESHOLD
#      (exposure, 0 = best, 10 = worst);
#   4. each ExecStart's command line parses: the binary is run with the unit's arguments and
#      `--help` appended, which clap refuses (exit 2) when a flag or value is wrong.
#
# Usage: packaging/verify.sh [BIN_DIR]   (default: target/debug, built if missing)
# Without systemd-analyze it says so and exits 0 (.ci/run installs systemd first).
set -euo pipefail
cd "$(dirname "$0")/.."
THRESHOLD=${THRESHOLD:-2.0}
bin_dir=${1:-target/debug}
units=(packaging/systemd/*.service packaging/systemd/*.timer)
services=(packaging/systemd/*.service)

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "packaging/verify.sh: systemd-analyze is not installed; the units were NOT checked" >&2
    exit 0
fi
if [ ! -x "$bin_dir/bridge-export" ] || [ ! -x "$bin_dir/bridge-import" ]; then
    [ "$bin_dir" = target/debug ] || { echo "no bridge-export and bridge-import in $bin_dir" >&2; exit 1; }
    cargo build -q -p bridge-export -p bridge-import
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail=0

# The system's own units (sysinit.target and the like), which ours are checked against.
system_units=/usr/lib/systemd/system
[ -d "$system_units" ] || system_units=/lib/systemd/system
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/local/bin" \
    "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/etc/zonebridge" "$root/usr/sbin"
cp -a "$system_units" "$root/usr/lib/systemd/system"
cp packaging/systemd/* "$root/etc/systemd/system/"
cp packaging/sysusers.d/*.conf "$root/usr/lib/sysusers.d/"
cp packaging/tmpfiles.d/*.conf "$root/usr/lib/tmpfiles.d/"
for bin in bridge-export bridge-import; do
    ln "$bin_dir/$bin" "$root/usr/local/bin/$bin" 2>/dev/null || cp "$bin_dir/$bin" "$root/usr/local/bin/$bin"
done
# The files the units name that an operator provides (EnvironmentFile=).
touch "$root/etc/zonebridge/import-watch.env" "$root/etc/zonebridge/export-watch.env"

echo "== sysusers.d and tmpfiles.d"
# Every folder a unit may write must be one tmpfiles.d creates (a missing one stops the
# service with 226/NAMESPACE).
created=$(awk '$1 == "d" { print $2 }' packaging/tmpfiles.d/*.conf)
for unit in "${services[@]}"; do
    for path in $(sed -n 's/^ReadWritePaths=//p' "$unit"); do
        if ! grep -qxF -- "${path#-}" <<<"$created"; then
            echo "$(basename "$unit"): ReadWritePaths=$path is not created by packaging/tmpfiles.d" >&2
            fail=1
        fi
    done
done
# A staging folder and its outbox must share one read-write mount: systemd bind-mounts each
# ReadWritePaths= entry on its own, and link/rename between two mounts fails with EXDEV even
# on one filesystem, so a bundle could never move from .NAME.partial into NAME. Units list
# the folder above both instead.
for unit in "${services[@]}"; do
    for path in $(sed -n 's/^ReadWritePaths=//p' "$unit"); do
        case "$path" in
        *.partial | */outbox | */results-outbox)
            echo "$(basename "$unit"): ReadWritePaths=$path makes a mount of its own, apart from its staging folder or outbox (EXDEV); list /var/spool/zonebridge instead" >&2
            fail=1
            ;;
        esac
    done
done
# Applied for real in the root (chown needs root).
if [ "$(id -u)" -ne 0 ]; then
    echo "not root: sysusers.d and tmpfiles.d were NOT applied" >&2
elif command -v systemd-sysusers >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null 2>&1; then
    touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
    out=$(systemd-sysusers --root="$root" 2>&1) || { echo "$out" >&2; fail=1; }
    grep -q '^zonebridge:' "$root/etc/passwd" || { echo "sysusers.d made no zonebridge user" >&2; fail=1; }
    grep -q '^zonebridge-carry:' "$root/etc/group" || { echo "sysusers.d made no zonebridge-carry group" >&2; fail=1; }
    systemd-tmpfiles --root="$root" --create || fail=1
    # The owners and modes packaging/README.md promises.
    for want in "3770 zonebridge zonebridge-carry /var/spool/zonebridge/inbox" \
        "2770 zonebridge zonebridge-carry /var/spool/zonebridge/outbox" \
        "2700 zonebridge zonebridge-carry /var/spool/zonebridge/.outbox.partial" \
        "2700 zonebridge zonebridge-carry /var/spool/zonebridge/.results-outbox.partial" \
        "0700 zonebridge zonebridge /var/spool/zonebridge/inbox/done" \
        "0750 root zonebridge /etc/zonebridge/keys" "0711 zonebridge zonebridge /var/lib/zonebridge"; do
        read -r mode user group path <<<"$want"
        # stat names owners from this machine's users, not the root's: compare numbers.
        uid=0 gid=0
        [ "$user" = root ] || uid=$(awk -F: -v n="$user" '$1 == n { print $3 }' "$root/etc/passwd")
        [ "$group" = root ] || gid=$(awk -F: -v n="$group" '$1 == n { print $3 }' "$root/etc/group")
        got=$(stat -c '%04a %u %g' "$root$path" 2>/dev/null || echo missing)
        [ "$got" = "$mode $uid $gid" ] || { echo "$path is '$got', expected '$mode $uid $gid' ($user:$group)" >&2; fail=1; }
    done
else
    echo "systemd-sysusers or systemd-tmpfiles missing: sysusers.d and tmpfiles.d were NOT applied" >&2
fi

echo "== systemd-analyze verify"
names=()
for unit in "${units[@]}"; do names+=("$(basename "$unit")"); done
# Any message is a failure: verify prints warnings and still exits 0 for some of them.
out=$(systemd-analyze verify --root="$root" --man=no --recursive-errors=no "${names[@]}" 2>&1) || fail=1
if [ -n "$out" ]; then
    echo "$out" >&2
    fail=1
fi

echo "== systemd-analyze security --offline=true (exposure at most $THRESHOLD)"
# --threshold counts in tenths of the exposure shown (0.9 is 9).
tenths=$(awk -v t="$THRESHOLD" 'BEGIN { printf "%d", t * 10 }')
for unit in "${services[@]}"; do
    name=$(basename "$unit")
    if ! report=$(systemd-analyze security --offline=true --root="$root" --threshold="$tenths" "$name" 2>&1); then
        printf '%s\n' "$report" | grep -v '^✓' >&2
        echo "$name: exposure above $THRESHOLD" >&2
        fail=1
    fi
    printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for \([^:]*\): \(.*\)/\1: exposure \2/p'
done

echo "== each ExecStart parses (the unit's arguments, then --help)"
for unit in "${services[@]}"; do
    name=$(basename "$unit")
    line=$(sed -n 's/^ExecStart=//p' "$unit")
    read -r -a argv <<<"$line"
    bin=$bin_dir/$(basename "${argv[0]}")
    subcommand=${argv[1]}
    if ! "$bin" "$subcommand" --help >/dev/null 2>&1; then
        echo "$name: $(basename "$bin") has no \`$subcommand\` command in this build: its arguments were NOT checked" >&2
        continue
    fi
    if ! err=$("$bin" "${argv[@]:1}" --help 2>&1 >/dev/null); then
        echo "$name: $(basename "$bin") refuses the unit's command line: $err" >&2
        fail=1
    fi
done

if [ "$fail" -ne 0 ]; then
    echo "packaging/verify.sh: FAILED" >&2
    exit 1
fi
echo "packaging/verify.sh: every unit verified"
