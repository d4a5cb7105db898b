#!/usr/bin/env bash
# Prints a Markdown section with the size of each function's release zip and, when IC_ZIP and
# LIBAIO are set, the unzipped size of the Oracle Instant Client layer built from them. Used by
# tools/bench.sh.
#
# With BENCH_ARM64=1 (what bench.sh passes unless told otherwise) it measures the arm64 zips
# that deploy, from `make build`, a second full cross-compilation of the tree (about ten
# minutes here cold). Otherwise the zips are made from this machine's release build
# (target/release/<fn>) as `cargo lambda` packages them: one stripped `bootstrap`.
set -euo pipefail
cd "$(dirname "$0")/.."
functions=(proxy sensor-consumer run-colors finance-closing)
target=$(tools/target-dir.sh)
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${BENCH_ARM64:-0}" = 1 ]; then
  make --no-print-directory build >&2
  arch="arm64, \`make build\`"
  zip_of() { echo "$target/lambda/$1/bootstrap.zip"; }
else
  arch="$(uname -m), this machine's release build"
  zip_of() {
    mkdir -p "$work/$1"
    cp "$target/release/$1" "$work/$1/bootstrap"
    (cd "$work/$1" && zip -q bootstrap.zip bootstrap)
    echo "$work/$1/bootstrap.zip"
  }
fi

echo "### Deployment artifacts: function zips ($arch) and the layer"
echo
echo "| artifact | zipped | unzipped | target |"
echo "|---|---:|---:|---|"
for fn in "${functions[@]}"; do
  zip=$(zip_of "$fn")
  zipped=$(stat -c %s "$zip")
  unzipped=$(unzip -l "$zip" | tail -1 | awk '{print $1}')
  verdict=$([ "$zipped" -le 8000000 ] && echo "≤ 8 MB (met)" || echo "≤ 8 MB (missed)")
  echo "| \`$fn\` | $(mb "$zipped") | $(mb "$unzipped") | $verdict |"
done
if [ -n "${IC_ZIP:-}" ]; then
  python3 layers/oracle-instantclient/build_layer.py --zip "$IC_ZIP" \
    ${LIBAIO:+--libaio "$LIBAIO"} --out "$work/layer" >&2
  bytes=$(du -sb "$work/layer" | cut -f1)
  echo "| Oracle Instant Client layer ($(basename "$IC_ZIP")) | | $(mb "$bytes") | < 250 MB (met: build_layer checks it) |"
else
  echo "| Oracle Instant Client layer | | not measured | needs Oracle's zip: \`make bench IC_ZIP=… LIBAIO=…\` |"
fi
echo
echo "Release profile: LTO, one codegen unit, stripped, unwinding panics. The arm64 zips that deploy"
echo "come from \`cargo lambda build --release --arm64 --output-format zip\` (\`make build\`); they have"
echo "come out 10–15 % smaller than x86-64 ones. The layer's own check refuses an unzipped size over"
echo "Lambda's 250 MB."
