#!/usr/bin/env bash
# The fuzz tier: every target in fuzz/ for FUZZ_SECONDS each (make fuzz: 60; make test's short
# pass: 20), seeded with the events nobody on the team wrote (events/aws-lambda-rust-runtime/)
# and our own. A crash, a panic (libFuzzer aborts on one even where the handler would catch it)
# or an input whose handling holds more than 64 MB (fuzz/fuzz_targets/common.rs) fails the run,
# and the input is left under fuzz/artifacts/<target>/ to become a regression test.
#   tools/fuzz.sh [seconds] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-60}}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(apigw_event ingest_body consumer_batch run_colors_rules run_colors_csv)
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
corpus_root="$target_dir/fuzz-corpus"

# Seeds: whole API Gateway events for the adapter, request bodies for ingestion and the
# consumer, SQS events for the consumer, the rules documents and CSV inputs for run-colors.
mkdir -p "$corpus_root/apigw_event" "$corpus_root/ingest_body" "$corpus_root/consumer_batch" \
  "$corpus_root/run_colors_rules" "$corpus_root/run_colors_csv"
cp events/aws-lambda-rust-runtime/*apigw*.json events/proxy-*.json "$corpus_root/apigw_event/"
cp events/aws-lambda-rust-runtime/*sqs*.json events/sqs-*.json events/sensor-direct-readings.json \
  "$corpus_root/consumer_batch/"
cp events/run-colors-rules.json "$corpus_root/run_colors_rules/"
printf '%s' '{"price_order": "asc", "rules": [{"id": "r", "field": "COLOR_DATE", "op": "ge", "value": "2026-11-20T00:00:00Z"}, {"id": "m", "field": "SOURCE", "op": "matches", "value": "(?i)^a+$"}, {"id": "n", "field": "RANK", "op": "not_in", "values": [1, 2]}]}' \
  > "$corpus_root/run_colors_rules/every-kind.json"
head -c 60000 events/run-colors-sample.csv > "$corpus_root/run_colors_csv/sample.csv"
cp functions/run-colors/tests/golden/input.csv "$corpus_root/run_colors_csv/golden.csv"
python3 - "$corpus_root/ingest_body" <<'PY'
import base64, json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for path in pathlib.Path("events").glob("*.json"):
    event = json.loads(path.read_text())
    bodies = []
    if isinstance(event.get("body"), str):
        body = event["body"]
        bodies.append(base64.b64decode(body) if event.get("isBase64Encoded") else body.encode())
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        if isinstance(record.get("body"), str):
            bodies.append(record["body"].encode())
    if "readings" in event:
        bodies.append(json.dumps(event).encode())
    for index, body in enumerate(bodies):
        (out / f"{path.stem}-{index}").write_bytes(body)
        # The consumer reads the same bodies as SQS messages.
        (out.parent / "consumer_batch" / f"body-{path.stem}-{index}").write_bytes(body)
# Descriptions of large bodies (fuzz_targets/ingest_body.rs): 4.4 MB of one-key objects, of
# numbers, of nesting, and one reading holding a long list.
for name, (count, prefix, item, suffix) in {
    "large-objects": (9000, b"[", b'{"a":0},', b'{"a":0}]'),
    "large-numbers": (40000, b"[", b"0,", b"0]"),
    "large-nesting": (40000, b"", b"[", b""),
    "large-reading": (9000, b'{"sensorId":"X","values":[', b'{"a":0},', b'{"a":0}]}'),
}.items():
    (out / name).write_bytes(b"\xff" + count.to_bytes(2, "big") + prefix + b"\0" + item + b"\0" + suffix)
PY

for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds} s (corpus $corpus_root/$target)"
  # Stable toolchain: cargo-fuzz needs nightly flags, which RUSTC_BOOTSTRAP allows. No sanitizer:
  # the code under test forbids unsafe, and a plain build runs several times more inputs.
  log="$target_dir/fuzz-$target.log"
  set +e
  RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer none \
    --target-dir "$target_dir/fuzz" "$target" "$corpus_root/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target failed (exit $status); the input is under fuzz/artifacts/$target/, the log in $log" >&2
    exit 1
  fi
done
echo "fuzz: every target ran ${seconds} s without a finding"
