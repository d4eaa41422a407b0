#!/usr/bin/env bash
# Quick start: set up the machine, then walk through toolcage on a fresh
# workspace with the example tools (claim minted, tool run, replay refused,
# approval flow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="/usr/local/bin:$PATH"
node dist/cli/main.js demo "$@"
