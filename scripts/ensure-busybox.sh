#!/usr/bin/env bash
# Imports a tiny busybox image (busybox:latest) from Debian's busybox-static when it is missing.
# Fast tests build on it: it imports in about a second and needs no registry.
set -euo pipefail
img=${1:-busybox:latest}
docker image inspect "$img" >/dev/null 2>&1 && exit 0
if ! [ -x /bin/busybox ] || ! /bin/busybox --list 2>/dev/null | grep -qx httpd; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq busybox-static >/dev/null
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,root,var/www,proc,sys,dev}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do [ "$app" = busybox ] || ln -sf busybox "$root/bin/$app"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$img" >/dev/null
echo "kiln setup: imported $img from busybox-static" >&2
