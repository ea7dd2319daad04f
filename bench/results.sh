#!/usr/bin/env bash
# The way home for a long deployment log: `bridge-import deploy` picking up a finished task
# (read the task and its activity tree, fetch the raw log, scrub 200 secret values, pack, sign,
# fsync, ledger) and `bridge-export results` taking the result in (verify, record), against the
# shell a careful operator would write (curl the raw log | sed with the same 200 values | zstd,
# sha256sum; then zstd -dc | sha256sum), in the same run. The log has 20,000 lines (the most
# the stand-in keeps per step) of WIDTH bytes (default 800: about 16 MiB with the stand-in's
# prefixes, the most a result carries). Wall time: median of BENCH_RUNS (default 3); peak RSS.
#
#   bench/results.sh [WIDTH]          # data in bench/work/result-bundles/ (git-ignored)
set -euo pipefail
cd "$(dirname "$0")/.."
width=${1:-800}
runs=${BENCH_RUNS:-3}
work=$PWD/bench/work/result-bundles
mkdir -p "$work"
[ -n "${BENCH_SKIP_BUILD:-}" ] || cargo build --release -q -p bridge-export -p bridge-import -p octopus-standin
bin=$PWD/${CARGO_TARGET_DIR:-target}/release

. "$PWD/bench/lib.sh"

start dev API-BENCHDEV --script-timeout 600; dev=$url
python3 bench/results-setup.py "$dev" API-BENCHDEV "$width"
start pci API-BENCHPCI --script-timeout 600; pci=$url
python3 bench/results-setup.py "$pci" API-BENCHPCI "$width" --target
cd "$work"
rm -f ./*.key ./*.pub ./*.toml ./*.ledger* ./*.zb
"$bin/bridge-export" keygen --out release --quiet
"$bin/bridge-import" keygen --out result --quiet
"$bin/bridge-import" policy init --zone pci --out pci.toml --quiet
"$bin/bridge-import" policy trust pci.toml release.pub --role release --zone dev --quiet
"$bin/bridge-export" policy init --zone dev --out dev.toml --quiet
"$bin/bridge-export" policy trust dev.toml result.pub --role result --zone pci --quiet
python3 - > secrets.toml <<'PY'
for i in range(200):
    print(f'[[secret]]\nowner = "Bench Logs"\nname = "Bench.Secret{i:03}"\nscope = {{}}\nvalue = "bench-secret-{i:03}"\n')
PY
chmod 600 secrets.toml
sed_args=(); for i in $(seq -w 0 199); do sed_args+=(-e "s/bench-secret-$(printf '%03d' "$((10#$i))")/********/g"); done
OCTOPUS_API_KEY=API-BENCHDEV "$bin/bridge-export" export --project "Bench Logs" --release 1.0.0 --key release.key \
    --source-zone dev --target-zone pci --out release.zb --server "$dev" --ledger export.ledger --quiet
export OCTOPUS_API_KEY=API-BENCHPCI
"$bin/bridge-import" import release.zb --policy pci.toml --server "$pci" --ledger import.ledger --quiet
deploy() { "$bin/bridge-import" deploy --project "Bench Logs" --version 1.0.0 --environment "PCI Staging" \
    --key result.key --secrets secrets.toml --server "$pci" --ledger import.ledger --quiet "$@"; }

deploy_rows=(); shell_rows=(); results_rows=(); check_rows=()
for run in $(seq "$runs"); do
    # Start a deployment and leave at once (a `waiting` result), let the task finish, then time
    # the pick-up: everything from reading the task to the ledger's record of the result.
    deploy --redeploy --timeout 0 --result-out "started-$run.zb" || [ $? = 6 ]
    task=$(curl -sf -H "X-Octopus-ApiKey: $OCTOPUS_API_KEY" "$pci/api/Spaces-1/tasks?take=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Items"][0]["Id"])')
    until curl -sf -H "X-Octopus-ApiKey: $OCTOPUS_API_KEY" "$pci/api/tasks/$task" | grep -q '"IsCompleted": *true'; do sleep 0.5; done
    deploy_rows+=("$(timed "$bin/bridge-import" deploy --project "Bench Logs" --version 1.0.0 --environment "PCI Staging" \
        --key result.key --secrets secrets.toml --server "$pci" --ledger import.ledger --quiet --result-out "result-$run.zb")")
    shell_rows+=("$(timed bash -c "curl -sf -H 'X-Octopus-ApiKey: $OCTOPUS_API_KEY' '$pci/api/tasks/$task/raw' | sed ${sed_args[*]} | zstd -q -3 -o shell-$run.zst -f && sha256sum shell-$run.zst")")
    "$bin/bridge-export" results "started-$run.zb" --policy dev.toml --ledger export.ledger --no-note --quiet
    results_rows+=("$(timed "$bin/bridge-export" results "result-$run.zb" --policy dev.toml --ledger export.ledger --no-note --quiet)")
    check_rows+=("$(timed bash -c "zstd -dcq shell-$run.zst | sha256sum")")
done
unset OCTOPUS_API_KEY
log_bytes=$(curl -sf -H "X-Octopus-ApiKey: API-BENCHPCI" "$pci/api/tasks/$task/raw" | wc -c)
log_mib=$(awk -v b="$log_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
col() { printf '%s\n' "$@" | awk -v c="$COL" '{ print $c }' | median; }
COL=1; d=$(col "${deploy_rows[@]}"); s=$(col "${shell_rows[@]}"); r=$(col "${results_rows[@]}"); c=$(col "${check_rows[@]}")
COL=2; dr=$(col "${deploy_rows[@]}"); rr=$(col "${results_rows[@]}")
echo "| log of 20,000 lines, $log_mib MiB, 200 secret values (40,000 occurrences), median of $runs | ours | shell | ratio | our peak RSS |"
echo "|---|---|---|---|---|"
echo "| \`deploy\` picking up a finished task vs \`curl raw \\| sed (200 values) \\| zstd\` + \`sha256sum\` | $d s | $s s | $(ratio "$d" "$s") | $(mib "$dr") MiB |"
echo "| \`results\` (verify + record) vs \`zstd -dc \\| sha256sum\` | $r s | $c s | $(ratio "$r" "$c") | $(mib "$rr") MiB |"
ls -l "$work"/result-1.zb "$work"/shell-1.zst | awk '{ print $5, $9 }'
