#!/usr/bin/env bash
# The main job: the seed example end to end (installs what is missing first).
#   bash scripts/demo.sh            bake the web image, deploy the seed stack, ask its URL twice
#   KILN_DEMO_STACK=name ...        another stack name (default: seed)
# `kiln up` makes debian:bookworm with debootstrap when it is absent, bakes the image (a second run
# builds nothing), deploys VPC, security groups, Redis, the instance and the load balancer, and
# prints the outputs. `node bin/kiln.js destroy --stack seed` removes it all again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/ensure-docker.sh
stack="${KILN_DEMO_STACK:-seed}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
node bin/kiln.js up examples/seed --stack "$stack" --yes | tee "$out"
url=$(sed -n 's/^ *Url *\(http[^ ]*\).*/\1/p' "$out" | head -1)
if [ -z "$url" ]; then
  url=$(node bin/kiln.js outputs --stack "$stack" | sed -n 's/^ *Url *\(http[^ ]*\).*/\1/p' | head -1)
fi
[ -n "$url" ] || { echo "demo: no Url output" >&2; exit 1; }
# GET the URL (node: curl may not be installed on a fresh machine). The load balancer admits the
# instance once its health check passes (2 checks, 5 s apart), so wait for the first 200.
get() { node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()); }, () => process.exit(1))' "$1"; }
for _ in $(seq 1 120); do get "$url" >/dev/null 2>&1 && break; sleep 0.5; done
echo "GET $url"
get "$url"
get "$url"
echo "(run 'bash scripts/demo.sh' again: nothing is built or replaced; edit examples/seed/app and it is)"
