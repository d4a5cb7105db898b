#!/usr/bin/env bash
# Prints a Markdown section with the size of each function's arm64 release zip (built by
# `make build`, which this runs) and, when IC_ZIP and LIBAIO are set, the unzipped size of the
# Oracle Instant Client layer built from them. Used by tools/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
functions=(proxy sensor-consumer run-colors finance-closing)
make --no-print-directory build >&2
target=$(cargo metadata --locked --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }

echo "### Deployment artifacts: function zips (arm64, release) and the layer"
echo
echo "| artifact | zipped | unzipped | target |"
echo "|---|---:|---:|---|"
for fn in "${functions[@]}"; do
  zip="$target/lambda/$fn/bootstrap.zip"
  zipped=$(stat -c %s "$zip")
  unzipped=$(unzip -l "$zip" | tail -1 | awk '{print $1}')
  verdict=$([ "$zipped" -le 8000000 ] && echo "≤ 8 MB (met)" || echo "≤ 8 MB (missed)")
  echo "| \`$fn\` | $(mb "$zipped") | $(mb "$unzipped") | $verdict |"
done
if [ -n "${IC_ZIP:-}" ]; then
  layer=$(mktemp -d)
  trap 'rm -rf "$layer"' EXIT
  python3 layers/oracle-instantclient/build_layer.py --zip "$IC_ZIP" \
    ${LIBAIO:+--libaio "$LIBAIO"} --out "$layer/out" >&2
  bytes=$(du -sb "$layer/out" | cut -f1)
  echo "| Oracle Instant Client layer ($(basename "$IC_ZIP")) | | $(mb "$bytes") | < 250 MB (met: build_layer checks it) |"
else
  echo "| Oracle Instant Client layer | | not measured | needs Oracle's zip: \`make bench IC_ZIP=… LIBAIO=…\` |"
fi
echo
echo "Zips from \`cargo lambda build --release --arm64 --output-format zip\` (LTO, one codegen unit,"
echo "stripped, panic=abort). The layer's own check refuses an unzipped size over Lambda's 250 MB."
