#!/usr/bin/env bash
# `make test-sam`: the real template.yaml built by `sam build` and run under SAM's own
# emulators (`sam local invoke`, `start-api`, `start-lambda`) against moto, restate-server and
# PostgreSQL on loopback. See README, "Tests", for what it checks and how long it takes.
#
# The functions are built for THIS machine's architecture (x86_64 here; template parameter
# Architecture), in debug mode (SAM_BUILD_MODE=debug: about 3.5 minutes from nothing on two
# cores, against much longer for the release profile's link-time optimisation), because no
# arm64 emulation is set up on the development machines. The Oracle layer is built by SAM from
# a synthetic Instant Client zip (tools/synthetic_instantclient.py): nothing here talks to Oracle.
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n[test-sam %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
started=$(date +%s)
out=.aws-sam/test-sam
mkdir -p "$out"
arch=$(uname -m | sed 's/aarch64/arm64/')

step "Docker engine (host network only)"
bash tools/sam/docker.sh
step "Lambda base image"
image=$(bash tools/sam/lambda-image.sh)
echo "test-sam: functions run in $image"

step "sam build of template.yaml ($arch, debug; the first build compiles every function, about 4 minutes on 2 cores)"
python3 tools/synthetic_instantclient.py --arch "$arch" --out "$out" >/dev/null
SAM_BUILD_MODE=debug SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 \
  IC_ZIP="$PWD/$out/instantclient-synthetic.zip" LIBAIO="$PWD/$out/libaio.so.1" ARCH="$arch" \
  sam build --beta-features --template template.yaml --build-dir "$out/build" \
    --parameter-overrides "Architecture=$arch"
# run-colors reads the sample CSV under SAM (no Oracle here); SAM mounts this folder as /var/task.
cp events/run-colors-sample.csv "$out/build/RunColorsFunction/"

cleanup() {
  # Containers SAM leaves behind if it is stopped hard.
  docker ps -aq --filter label=sam.cli.container.type=lambda | xargs -r docker rm -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "the suite under sam local invoke, start-api and start-lambda"
# The harness and the closing service it starts are the workspace's test build (what `make test`
# and `make demo` compile); `cargo run -p orabridge-demo` would resolve features anew.
cargo test --workspace --no-run --locked --quiet
target=$(tools/target-dir.sh)
"$target/debug/orabridge-demo" sam --template "$out/build/template.yaml" --image "$image"
echo "test-sam: passed in $(( $(date +%s) - started )) s"
