#!/usr/bin/env bash
# Installs the npm packages (and compiles kiln) when node_modules or dist is missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.kiln-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  printf 'kiln setup: installing npm packages (npm ci)\n' >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
elif [ ! -f dist/cli/main.js ] || [ -n "$(find src scripts/build-spec.mjs -newer dist/cli/main.js -print -quit 2>/dev/null)" ]; then
  npm run --silent build
fi
