#!/usr/bin/env bash
# Prints cargo's target folder for this workspace (CARGO_TARGET_DIR, a target-dir in cargo's
# configuration, or target/), as cargo itself resolves it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --locked --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
