#!/usr/bin/env bash
# The stand-in for an EC2 instance in the AWS tests and benchmarks: debian:bookworm with
# openssh-server (and its SFTP server) and sudo, a user `admin` with passwordless sudo as on Debian's
# AMIs, and no authorized keys (the tests install the key pair the emulator made, as cloud-init
# does). Built once from Debian's archive and kept as a local image; a lock keeps two callers from
# building it at the same time.
set -euo pipefail
img=${1:-kiln-test/sshd:bookworm}
docker image inspect "$img" >/dev/null 2>&1 && exit 0
exec 9>"${TMPDIR:-/tmp}/kiln-ensure-sshd.lock"
flock 9
docker image inspect "$img" >/dev/null 2>&1 && exit 0
cd "$(dirname "$0")/.."
if ! docker image inspect debian:bookworm >/dev/null 2>&1; then
  # kiln produces debian:bookworm from Debian's packages when it is missing (no registry here).
  node --input-type=module -e "
    const { connectDocker } = await import('./dist/docker/client.js');
    const { ensureBaseImage } = await import('./dist/image/base.js');
    await ensureBaseImage(connectDocker(), 'debian:bookworm', { say: (t) => console.error(t) });"
  docker image inspect debian:bookworm >/dev/null 2>&1 || { echo "kiln setup: could not produce debian:bookworm" >&2; exit 1; }
fi
name="kiln-ensure-sshd-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker run --name "$name" --label kiln.kind=test-base debian:bookworm sh -ec '
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssh-server openssh-sftp-server sudo >/dev/null
  rm -rf /var/lib/apt/lists/*
  useradd -m -s /bin/bash admin && usermod -p "*" admin
  echo "admin ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/admin && chmod 0440 /etc/sudoers.d/admin
  install -d -m 0700 -o admin -g admin /home/admin/.ssh
  mkdir -p /run/sshd
  printf "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n" > /etc/ssh/sshd_config.d/kiln.conf
  rm -f /etc/ssh/ssh_host_*
' >/dev/null
# Host keys are made when a container starts, so two stand-ins never share them.
docker commit -c 'CMD ["/bin/sh", "-c", "ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -e"]' -c 'EXPOSE 22' -c 'LABEL kiln.kind=test-base' "$name" "$img" >/dev/null
echo "kiln setup: built $img (debian:bookworm + openssh-server)" >&2
