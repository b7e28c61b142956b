#!/usr/bin/env bash
# The main job: the seed example end to end (installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/ensure-docker.sh
node bin/kiln.js validate examples/seed/stack.json --param AmiId=ami-0123456789abcdef0
node bin/kiln.js render examples/seed/stack.json --param AmiId=ami-0123456789abcdef0 --stack seed
