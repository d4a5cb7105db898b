#!/usr/bin/env bash
# `make test-arm64`: the artifact that deploys, proven. `make build`'s arm64 release zips are
# checked (aarch64 ELF; no glibc symbol version above provided.al2023's 2.34) and run under
# Debian's qemu-user against the local stack, answering the demo's sample events as the demo
# checks them, the arm64 finance-closing running a simulated closing through restate-server
# (tools/demo/src/arm64.rs). Reuses the target dir, so a warm run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$(date +%s)
last=$started
step() {
  local now
  now=$(date +%s)
  [ "$last" = "$started" ] || echo "test-arm64: ... $((now - last)) s"
  last=$now
  printf '\n[test-arm64 %s] %s\n' "$(date +%H:%M:%S)" "$*"
}

step "qemu-user and the arm64 C library (Debian packages, pinned)"
bash tools/arm64/qemu.sh

step "make build: the arm64 release zips (cargo lambda, zig; about 10 minutes from nothing on 2 cores)"
make --no-print-directory build

target=$(cargo metadata --locked --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
step "the zips checked, then run under qemu-user against the local stack"
cargo run --locked --quiet -p orabridge-demo -- arm64 --zips "$target/lambda"
now=$(date +%s)
echo "test-arm64: ... $((now - last)) s"
echo "test-arm64: passed in $((now - started)) s"
