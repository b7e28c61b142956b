#!/bin/sh
# Records real Packer 1.6.6's `packer validate` verdicts on the HCL2 corpus; see packer-hcl2-verdicts.mjs.
set -e
command -v packer >/dev/null || { echo "packer-hcl2-verdicts: needs the packer binary (Debian package 'packer', 1.6.6)" >&2; exit 1; }
exec node "$(dirname "$0")/packer-hcl2-verdicts.mjs" "$@"
