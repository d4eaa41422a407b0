#!/usr/bin/env bash
# The test command (README, .ci/run): set up the machine (idempotent), then
# lint, typecheck, build and run every test against the real parts: isolated-vm,
# the Docker Engine, Redis, the MCP SDK client. Ends with the plain closing
# line 'N passed, N failed, N skipped'.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
export PATH="/usr/local/bin:$PATH"
npm run -s lint || exit 1
npm run -s typecheck || exit 1
npm run -s build || exit 1
mkdir -p .toolcage
npx vitest run --reporter=default --reporter=json --outputFile.json=.toolcage/test-results.json
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(".toolcage/test-results.json", "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A test file that fails to load has no failing test of its own: count it as one failure.
  const broken = (r.testResults ?? []).filter((f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed")).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed, ${skipped} skipped`);
' || true
exit $status
