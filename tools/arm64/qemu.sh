#!/usr/bin/env bash
# Makes qemu-user and the arm64 C library available to `make test-arm64`: Debian's
# qemu-user-static (qemu-aarch64-static) and libc6-arm64-cross (the arm64 dynamic loader and
# glibc under /usr/aarch64-linux-gnu, qemu's -L root), at the versions pinned below, installed
# as root where missing (otherwise it says what to run), as the SAM tier installs docker.io.
set -euo pipefail

# Debian 12 (bookworm): the versions this tier was built and measured with. Debian's mirror keeps
# only a package's newest point release, so when an exact version has gone the newest one of the
# same upstream release (the series below, a stable update of the same qemu and glibc) is
# installed instead, and named.
packages=(
  "qemu-user-static=1:7.2+dfsg-7+deb12u18+b3"
  "libc6-arm64-cross=2.36-8cross1"
)
series=(
  "qemu-user-static=1:7.2+dfsg-7+deb12u"
  "libc6-arm64-cross=2.36-8cross"
)
sysroot=/usr/aarch64-linux-gnu

if command -v qemu-aarch64-static >/dev/null 2>&1 && [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
  echo "test-arm64: $(qemu-aarch64-static --version | head -1); arm64 glibc under $sysroot"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-arm64: qemu-user or the arm64 C library is missing; run 'sudo bash tools/arm64/qemu.sh' (it installs ${packages[*]}, or the same releases' newest) and 'make test-arm64' again" >&2
  exit 2
fi
apt-get update -qq
wanted=()
for index in "${!packages[@]}"; do
  name=${packages[$index]%%=*}
  version=${packages[$index]#*=}
  prefix=${series[$index]#*=}
  available=$(apt-cache madison "$name" | awk -F'|' '{gsub(/ /, "", $2); print $2}')
  if ! grep -qxF "$version" <<<"$available"; then
    newer=$(awk -v prefix="$prefix" 'index($0, prefix) == 1 { print; exit }' <<<"$available")
    if [ -z "$newer" ]; then
      echo "test-arm64: neither $name $version nor a $prefix* update is in this machine's Debian sources; see apt-cache policy $name and update tools/arm64/qemu.sh" >&2
      exit 1
    fi
    echo "test-arm64: $name $version is not in this machine's sources; installing $newer, the same release's newest there"
    version=$newer
  fi
  wanted+=("$name=$version")
done
echo "test-arm64: installing ${wanted[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
echo "test-arm64: $(qemu-aarch64-static --version | head -1); arm64 glibc under $sysroot"
