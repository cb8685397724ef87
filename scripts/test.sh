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
// A suite whose set-up failed fails none of its tests (they are skipped): count it as a failure, by name.
const broken = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).map((f) => f.name.replace(process.cwd() + "/", ""));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken.length} failed` + (skipped ? ` (${skipped} skipped)` : "") + (broken.length ? `; suites that failed before their tests: ${broken.join(", ")}` : ""));
' || echo "0 passed, 1 failed (no test report)"
exit $status
