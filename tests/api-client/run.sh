#!/usr/bin/env bash
# Octopus's own TypeScript client (@octopusdeploy/api-client, pinned in package-lock.json)
# against the stand-in, through the flows a pipeline runs. Usage: tests/api-client/run.sh
# [node --test arguments]. Needs Node.js 20+ and npm; builds the stand-in if needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The stand-in these tests start: this checkout's debug build (cargo rebuilds it only when
# its sources changed).
(cd "$root" && cargo build -q -p octopus-standin)

major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt 20 ]; then
    echo "tests/api-client needs Node.js 20 or later (node:test's runner and flags); found: $(node --version 2>/dev/null || echo none)" >&2
    exit 1
fi

cd "$here"
# Exactly the locked versions; npm ci refuses a lockfile out of step with package.json.
npm ci --no-audit --no-fund --loglevel=error
# One test file at a time: every test starts its own stand-in, and the machine may be small.
if [ "$#" -eq 0 ]; then set -- test/*.test.js; fi
exec node --test --test-concurrency=1 "$@"
