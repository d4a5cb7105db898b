#!/usr/bin/env bash
# Regenerates BENCHMARKS.md from fresh measurements, all taken in this one run.
# Called by `make bench`; installs the tools it needs (`make bench-tools`) while it builds.
# 30 to 45 minutes on 2 cores from a fresh clone (measured: 2,427 s, of which 420 s the baseline
# engine's build, which compiles the dependency tree the others then reuse, 960 s the release
# builds' link-time optimisation and 657 s the arm64 zips). The arm64 zips that deploy come last
# (`make build`, about 10 minutes cold, reused from make test-arm64 when warm): their sizes and
# a start of each under qemu-user; BENCH_ARM64=0 skips them (20 to 30 minutes then).
set -euo pipefail
cd "$(dirname "$0")/.."
out=BENCHMARKS.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# Each step says when it starts, in seconds since the run began.
step() { echo "bench [+${SECONDS}s]: $*" >&2; }
release="${CARGO_TARGET_DIR:-target}/release"

# The tools install (`make bench-tools`: network and disk) while the builds (CPU) run.
tools_log=$(mktemp)
trap 'rm -f "$tmp" "$tools_log"' EXIT
if [ "${BENCH_ARM64:-1}" = 1 ]; then
  # Before anything is measured: a machine that cannot run arm64 binaries says so now.
  step "qemu-user and the arm64 C library for the arm64 starts (BENCH_ARM64=0 skips them)"
  bash tools/arm64/qemu.sh >&2
fi
step "tools: make bench-tools, in the background (log: $tools_log)"
"${MAKE:-make}" --no-print-directory bench-tools >"$tools_log" 2>&1 &
tools=$!

# The run-colors engine before issue 22 reshaped it (commit a60b8a0), built first with the
# same profile into the same target dir (the dependencies it shares compile once), so the new
# engine's CPU is measured against it in the same interleaved rounds. A clone without that
# commit (a shallow one) gets the table without the comparison, which the report says.
baseline_commit=a60b8a0
baseline_bin=$(mktemp -d)/run-colors-a60b8a0
baseline_args=()
if git cat-file -e "$baseline_commit^{commit}" 2>/dev/null; then
  step "build: run-colors at $baseline_commit, the baseline of issue 22's CPU target"
  baseline_src=$(mktemp -d)
  git archive "$baseline_commit" | tar -x -C "$baseline_src"
  CARGO_TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-target}")" \
    cargo build --release --locked -q -p run-colors --manifest-path "$baseline_src/Cargo.toml"
  cp "$release/run-colors" "$baseline_bin"
  rm -rf "$baseline_src"
  baseline_args=(--baseline "$baseline_bin")
else
  step "build: commit $baseline_commit is not in this clone; run-colors is measured without its baseline"
fi

# Two builds, both with the shipped release profile, so the dependency tree compiles once:
# the functions and the baseline exactly as `make build` builds them, then the harness, which
# adds the test kit and holds every benchmark program (one more link, not one per package).
step "build: the functions and the hello-world baseline, as shipped (cargo build --release)"
cargo build --release --locked -q -p proxy -p sensor-consumer -p run-colors -p run-colors-cli -p finance-closing -p hello-lambda
step "build: the harness with the benchmark programs (same profile, dependencies reused)"
cargo build --release --locked -q -p orabridge-demo

if ! wait "$tools"; then
  cat "$tools_log" >&2
  echo "bench: installing the tools failed (above)" >&2
  exit 1
fi

# The programs run straight from the build: `cargo run` would resolve features anew.
step "proxy added latency (orabridge-demo proxy-path)"
latency=$("$release/orabridge-demo" proxy-path)
step "sensor-consumer batch throughput (orabridge-demo batch-throughput)"
consumer=$("$release/orabridge-demo" batch-throughput)
step "sensor path and run-colors publish with 20 ms per AWS request (orabridge-demo latency 20)"
network=$("$release/orabridge-demo" latency 20)
step "proxy peak memory (orabridge-demo proxy-rss 300)"
rss=$("$release/orabridge-demo" proxy-rss 300)
step "cold starts against hello-world (orabridge-demo cold-start 60)"
# A missed target is reported in the table, not by failing the whole run.
coldstart=$("$release/orabridge-demo" cold-start 60 || true)
step "run-colors against the engine before issue 22, DuckDB, polars and pandas (tools/bench/run_colors_compare.py)"
colors=$(.venv/bin/python tools/bench/run_colors_compare.py --binary "$release/run-colors-cli" "${baseline_args[@]}" \
  --rows 1000000 --rounds 5 --pandas-rounds 3 --engine-rounds 15)
step "finance-closing compute per closing (orabridge-demo lambda-time)"
closing=$("$release/orabridge-demo" lambda-time)
step "finance-closing result copy, 100,000 and 1,000,000 rows (orabridge-demo closing-copy)"
copy=$("$release/orabridge-demo" closing-copy)
arm64_starts=""
if [ "${BENCH_ARM64:-1}" = 1 ]; then
  step "the arm64 zips: make build, then each started under qemu-user (orabridge-demo arm64-starts)"
  make --no-print-directory build >&2
  # A check or start that fails is a row of its table saying so, not the end of the whole run.
  arm64_starts=$("$release/orabridge-demo" arm64-starts --zips "${CARGO_TARGET_DIR:-target}/lambda" || true)
fi
step "release zips (tools/artifact-sizes.sh: the arm64 ones of make build unless BENCH_ARM64=0)"
sizes=$(BENCH_ARM64="${BENCH_ARM64:-1}" bash tools/artifact-sizes.sh)

cat > "$tmp" <<MD
# Benchmarks

Regenerated by \`make bench\` on $(date -u +%Y-%m-%d) on this machine: $(nproc) cores
($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB),
$(rustc --version). The machine is shared and noisy: read medians and ratios, not single runs.
Every figure below comes from the same run, and every program measured was built with the
shipped release profile (fat LTO, one codegen unit, position-dependent executables).

| what | command |
|---|---|
| proxy added latency | \`cargo run --release -p orabridge-demo -- proxy-path\` |
| proxy peak memory | \`cargo build --release -p proxy\`, then \`cargo run --release -p orabridge-demo -- proxy-rss 300\` |
| sensor-consumer throughput and memory | \`cargo run --release -p orabridge-demo -- batch-throughput\` |
| sensor path and run-colors publish with production latency | \`cargo run --release -p orabridge-demo -- latency 20\` (delay per request in ms) |
| cold start and peak RSS per function | \`cargo build --release -p proxy -p sensor-consumer -p run-colors -p finance-closing -p hello-lambda\`, then \`cargo run --release -p orabridge-demo -- cold-start 60\` |
| run-colors vs the engine before issue 22, DuckDB, polars and pandas, 1,000,000 rows | \`cargo build --release -p run-colors-cli\`, then \`.venv/bin/python tools/bench/run_colors_compare.py --binary target/release/run-colors-cli --baseline <a60b8a0's run-colors>\` (\`make bench\` builds it) |
| finance-closing compute per closing, durable step | \`cargo run --release -p orabridge-demo -- lambda-time\` |
| finance-closing result copy, rows/s and peak RSS | \`cargo run --release -p orabridge-demo -- closing-copy\` |
| function zips and layer size | \`tools/artifact-sizes.sh\` (the arm64 zips of \`make build\`, x86-64 with \`BENCH_ARM64=0\`; the layer with \`IC_ZIP=… LIBAIO=…\`) |
| the arm64 zips started under qemu-user (emulated) | \`make build\`, then \`cargo run --release -p orabridge-demo -- arm64-starts --zips target/lambda\` |

$latency

$rss

$coldstart

$consumer

$network

$colors

$closing

$copy

$sizes

$arm64_starts
MD
mv "$tmp" "$out"
step "wrote $out"
