#!/usr/bin/env bash
# `make test-arm64`: the artifact that deploys, proven. `make build`'s arm64 release zips are
# checked (aarch64 ELF; no glibc symbol version above provided.al2023's 2.34) and run under
# Debian's qemu-user against the local stack, answering the demo's sample events as the demo
# checks them, the arm64 finance-closing running a simulated closing through restate-server
# (tools/demo/src/arm64.rs). Reuses the target dir, so a warm run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$(date +%s)
last=""
step() {
  local now
  now=$(date +%s)
  [ -z "$last" ] || echo "test-arm64: ... $((now - last)) s"
  last=$now
  printf '\n[test-arm64 %s] %s\n' "$(date +%H:%M:%S)" "$*"
}

step "qemu-user and the arm64 C library (Debian packages, pinned)"
bash tools/arm64/qemu.sh

step "make build: the arm64 release zips (cargo lambda, zig; about 10 minutes from nothing on 2 cores)"
make --no-print-directory build

target=$(tools/target-dir.sh)

# `make deploy` builds through SAM, whose rust-cargolambda builder runs this per function at the
# workspace root (aws-lambda-builders, workflows/rust_cargo/actions.py): with the workspace's
# default-members it resolves the same features as `make build`, so cargo rebuilds nothing and
# the binary is the zip's, byte for byte. A difference means what deploys is not what runs here.
step "SAM's build command (cargo lambda build --release --arm64 --bin <function>) gives the zips' binaries"
for function in proxy sensor-consumer run-colors finance-closing; do
  cargo lambda build --release --arm64 --bin "$function" >/dev/null 2>&1 ||
    cargo lambda build --release --arm64 --bin "$function"
  python3 - "$target/lambda/$function" <<'PY'
import sys, zipfile
from pathlib import Path
out = Path(sys.argv[1])
zipped = zipfile.ZipFile(out / "bootstrap.zip").read("bootstrap")
if (out / "bootstrap").read_bytes() != zipped:
    sys.exit(f"{out.name}: SAM's build gives another binary than make build's zip (features or "
             "flags differ; check default-members in Cargo.toml)")
# SAM copies this file with its mode and zips it adding only read bits: it must be executable
# by everyone, since Lambda runs it as a user that does not own it.
mode = (out / "bootstrap").stat().st_mode & 0o777
if mode & 0o555 != 0o555:
    sys.exit(f"{out.name}: SAM's bootstrap is mode {mode:o}; Lambda needs it readable and executable by all (755)")
print(f"  ✓ {out.name}: the same {len(zipped):,} bytes")
PY
done
step "the zips checked, then run under qemu-user against the local stack"
# The harness is the workspace's test build (what `make test` compiles); `cargo run -p
# orabridge-demo` would resolve features anew and compile the dependency tree once more.
cargo test --workspace --no-run --locked --quiet
"$target/debug/orabridge-demo" arm64 --zips "$target/lambda"
now=$(date +%s)
echo "test-arm64: ... $((now - last)) s"
echo "test-arm64: passed in $((now - started)) s"
