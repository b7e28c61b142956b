#!/usr/bin/env bash
# Installs Debian's chromium when it is missing: the browser tests (test/ui) drive it headless
# through puppeteer-core to look at the pages kiln draws. Without it they skip, saying why.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
  printf 'kiln setup: chromium is missing and this is not root: install it (apt-get install chromium) or the browser tests skip\n' >&2
  exit 0
fi
printf 'kiln setup: installing chromium (Debian package) for the browser tests\n' >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
