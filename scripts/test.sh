#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then type-check, lint and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/ensure-docker.sh
bash scripts/ensure-busybox.sh
bash scripts/ensure-chromium.sh
echo "== type-check"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint --max-warnings=0 --no-error-on-unmatched-pattern src test bench
echo "== tests"; npx vitest run "$@"
