#!/usr/bin/env bash
# The one test command (npm test): fetch fixtures, type-check, run every vitest suite, and close with
# the "N passed, N failed" line CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-fixtures.sh || exit 1
npx tsc -p tsconfig.json || exit 1
npx tsc -p edge/tsconfig.json || exit 1
npx tsc -p edge/web/tsconfig.json || exit 1
bash scripts/ensure-chromium.sh || exit 1
mkdir -p .cache
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/test-results.json "$@"
status=$?
node -e '
const r = JSON.parse(require("fs").readFileSync(".cache/test-results.json", "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? ` (${skipped} skipped)` : ""));
' || echo "0 passed, 1 failed (no test report)"
exit $status
