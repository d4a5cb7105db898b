#!/usr/bin/env bash
# Prints the name of the image `sam local` runs the functions in, after making sure it exists.
#
# The real one is AWS's provided.al2023 base image. Where no container registry can be reached
# (the development machines of this project), a STAND-IN is built instead: a Debian minbase
# root file system from the machine's own Debian package source (debootstrap), with the folders
# the Lambda runtime uses (/var/task for the function, /var/runtime, /opt for layers), imported
# as an image. SAM adds its own Runtime Interface Emulator (shipped in the aws-sam-cli package)
# on top, so the Runtime API the functions talk to is SAM's, not ours. The stand-in is not
# Amazon Linux: it has a newer glibc and other system libraries, so it shows that a binary runs
# under SAM's emulator, not that it runs on AL2023. The functions are static apart from glibc.
set -euo pipefail

real_image="public.ecr.aws/lambda/provided:al2023"
arch_tag="$(uname -m | sed 's/aarch64/arm64/')"
standin="orabridge/provided-al2023-standin:bookworm-${arch_tag}"

if docker image inspect "$real_image" >/dev/null 2>&1; then
  echo "$real_image"; exit 0
fi
if timeout 30 docker pull --quiet "$real_image" >/dev/null 2>&1; then
  echo "test-sam: using the real $real_image" >&2
  echo "$real_image"; exit 0
fi
if docker image inspect "$standin" >/dev/null 2>&1; then
  echo "test-sam: no registry reachable; using the STAND-IN image $standin (Debian, not Amazon Linux)" >&2
  echo "$standin"; exit 0
fi

command -v debootstrap >/dev/null 2>&1 || {
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  else
    echo "test-sam: debootstrap is needed to build the stand-in image (sudo apt-get install debootstrap)" >&2
    exit 2
  fi
}
# The machine's own Debian package source, so nothing but that registry is asked.
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)"
if [ -z "$mirror" ]; then
  mirror="$(awk '$1=="deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
fi
[ -n "$mirror" ] || { echo "test-sam: no Debian package source found in /etc/apt" >&2; exit 2; }

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/orabridge-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT
echo "test-sam: no registry reachable; building the STAND-IN image $standin from Debian bookworm minbase (under a minute, once)" >&2
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  echo "test-sam: debootstrap failed; see $rootfs.log" >&2; exit 1; }
mkdir -p "$rootfs/var/task" "$rootfs/var/runtime" "$rootfs/opt"
rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
tar -C "$rootfs" -c . | docker import \
  --change 'WORKDIR /var/task' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'LABEL org.orabridge.stand-in="Debian bookworm minbase standing in for provided.al2023"' \
  - "$standin" >/dev/null
rm -f "$rootfs.log"
echo "$standin"
