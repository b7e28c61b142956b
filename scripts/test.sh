#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then type-check, lint and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/ensure-docker.sh
bash scripts/ensure-busybox.sh
bash scripts/ensure-chromium.sh
# The AWS tests run against the AWS API emulator (moto_server, started by each test file on a free
# loopback port) and a Debian sshd container standing in for the EC2 instance.
if ! command -v moto_server >/dev/null 2>&1; then
  echo "kiln setup: moto_server is not on PATH: the AWS tests need the AWS API emulator moto (this machine kind's Python ships moto 5.2.1; elsewhere: pip install 'moto[server]')" >&2
  exit 1
fi
bash scripts/ensure-sshd.sh
echo "== type-check"; npx tsc -p tsconfig.json --noEmit
echo "== format"; npx prettier --check --log-level warn "src/**/*.ts" "test/**/*.ts" "bench/**/*.mjs" "scripts/**/*.mjs" || { echo "format: run npm run format" >&2; exit 1; }
echo "== lint"; npx eslint --max-warnings=0 --no-error-on-unmatched-pattern src test bench
echo "== tests"; npx vitest run "$@"
