#!/bin/sh
# Records real Packer 1.6.6's `packer validate` verdicts on the template corpus; see packer-verdicts.mjs.
set -e
command -v packer >/dev/null || { echo "packer-verdicts: needs the packer binary (Debian package 'packer', 1.6.6)" >&2; exit 1; }
exec node "$(dirname "$0")/packer-verdicts.mjs" "$@"
