#!/usr/bin/env bash
# Checks that the workspace's declared `rust-version` (Cargo.toml, [workspace.package]) is not
# below what the build needs, so that `cargo install` on an older toolchain fails up front
# instead of in the middle of a dependency:
#
#   1. dependencies: the highest `rust-version` any package in Cargo.lock declares
#      (`cargo metadata --locked`, every platform, so the bound holds wherever it is built);
#   2. language: edition 2024 needs 1.85; let chains (`if let ... && let ...`) need 1.88;
#   3. library: clippy's `incompatible_msrv` lint, which reads the declared rust-version and
#      refuses any standard-library item stabilised after it (all targets, all crates).
#
# Only one toolchain is installed on the CI machine and no other can be downloaded, so the
# script cannot build with the declared version itself: it proves "not too low" from the
# declarations and the lint, and prints the bound each part gives, so that a declared version
# above all of them (not the TRUE minimum) shows too.
set -euo pipefail
cd "$(dirname "$0")/.."

declared=$(sed -n '/^\[workspace.package\]/,/^\[/s/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
if [ -z "$declared" ]; then
    echo "Cargo.toml declares no rust-version under [workspace.package]" >&2
    exit 1
fi

# 1. Dependencies.
read -r deps_version deps_name < <(cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
ours = set(meta["workspace_members"])
best = ((0,), "0", "none")
for p in meta["packages"]:
    version = p.get("rust_version")
    if version and p["id"] not in ours:
        key = tuple(int(x) for x in version.split("."))
        best = max(best, (key, version, p["name"] + " " + p["version"]))
print(best[1], best[2])
')

# 2. Language.
lang_version=1.85
lang_reason="edition 2024"
if grep -rEq --include='*.rs' '&& let |let [^=]+ = [^;{]+ && ' \
    bundle-format bridge-cli bridge-export bridge-import ledger octopus-api octopus-standin \
    test-support tests; then
    lang_version=1.88
    lang_reason="let chains"
fi

norm() { # 1.89 -> 1.89.0
    awk -F. '{ printf "%d.%d.%d", $1, $2, ($3 == "" ? 0 : $3) }' <<< "$1"
}
newer() { # is $1 a later version than $2?
    local a b
    a=$(norm "$1")
    b=$(norm "$2")
    [ "$a" != "$b" ] && [ "$(printf '%s\n%s\n' "$a" "$b" | sort -V | tail -1)" = "$a" ]
}

echo "declared rust-version: $declared"
echo "dependencies need:     $deps_version ($deps_name)"
echo "the language needs:    $lang_version ($lang_reason)"
failed=0
if newer "$deps_version" "$declared"; then
    echo "error: $deps_name needs Rust $deps_version, above the declared rust-version $declared" >&2
    echo "Hint: raise rust-version in Cargo.toml (and the README's install line) to $deps_version" >&2
    failed=1
fi
if newer "$lang_version" "$declared"; then
    echo "error: $lang_reason needs Rust $lang_version, above the declared rust-version $declared" >&2
    failed=1
fi

# 3. The standard library, by clippy against the declared version.
echo "== clippy incompatible_msrv against rust-version $declared"
if ! cargo clippy --workspace --all-targets --quiet -- -A clippy::all -D clippy::incompatible_msrv; then
    echo "error: our code uses a standard-library item newer than rust-version $declared" >&2
    failed=1
fi

floor=$deps_version
if newer "$lang_version" "$floor"; then floor=$lang_version; fi
if [ "$failed" = 0 ] && newer "$declared" "$floor"; then
    echo "note: the declared $declared is above what the dependencies and the language need ($floor);"
    echo "      lower it unless the code needs $declared (clippy passed at $declared: try it at $floor)"
fi
if [ "${README_CHECK:-1}" = 1 ] && ! grep -q "Rust $declared or later" README.md; then
    echo "error: README.md should say \"Rust $declared or later\"" >&2
    failed=1
fi
exit "$failed"
