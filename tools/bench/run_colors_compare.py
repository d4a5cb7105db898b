"""Side-by-side benchmark of run-colors against the engine it replaced and the same ranking in
DuckDB, polars and pandas.

One generated input (1,000,000 rows, about 200,000 CUSIPs by default, with every cell form the
spec accepts or refuses mixed in: see `run-colors-cli generate`), the example rules, and each
implementation run as its own process, interleaved round by round so machine noise hits all of
them alike. Per run: wall time, CPU time (user + system, all threads) and peak RSS from wait4().

Before anything is timed, the outputs are checked: run-colors' three data files must be byte for
byte those of the baseline engine (`--baseline`, commit a60b8a0, built beside it by `make bench`),
and every peer must agree with run-colors on every ranked row's (CUSIP, POSITION, ID) and every
excluded row's (ID, REASONS). A fast wrong answer does not count.

The CPU ratio to the baseline is the median of per-round ratios over `--engine-rounds` extra
paired rounds of the two Rust engines (cheap: a second each), since this shared machine's speed
drifts by a factor of two over an hour and a ratio of two runs a second apart drifts far less.

usage: run_colors_compare.py --binary target/release/run-colors-cli [--baseline BIN]
           [--rows N] [--rounds R] [--pandas-rounds P] [--engine-rounds E]
       run_colors_compare.py --check REFERENCE_DIR OTHER_DIR...
       run_colors_compare.py --identical REFERENCE_DIR OTHER_DIR
"""

import argparse
import csv
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RULES = os.path.join(ROOT, "events", "run-colors-rules.json")
AS_OF = "2026-11-20T16:00:00Z"
DATA_FILES = ["colors.csv", "colors.json", "excluded.csv"]
RUST, BASELINE = "run-colors (Rust)", "run-colors a60b8a0 (before issue 22)"
# Each implementation's output folders, by a short name of its own.
FOLDERS = {RUST: "rust", BASELINE: "baseline", "DuckDB": "duckdb", "polars": "polars", "pandas": "pandas"}


def measure(argv):
    # close_fds=False lets subprocess use posix_spawn (vfork): a fork of this harness would
    # otherwise count the harness's own memory in the child's peak RSS.
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=False)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{argv[0]} {argv[1]} failed: {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def ranked(out_dir):
    with open(os.path.join(out_dir, "colors.csv"), newline="") as f:
        return [(r["CUSIP"], r["POSITION"], r["ID"]) for r in csv.DictReader(f)]


def excluded(out_dir):
    with open(os.path.join(out_dir, "excluded.csv"), newline="") as f:
        return [(r["ID"], r["REASONS"]) for r in csv.DictReader(f)]


def check(reference_dir, *others):
    reference = ranked(reference_dir), excluded(reference_dir)
    for out in others:
        if (ranked(out), excluded(out)) != reference:
            sys.exit(f"{out} disagrees with {reference_dir} on the ranking or the exclusions")
    print(f"outputs agree: {len(reference[0]):,} ranked rows, {len(reference[1]):,} excluded", file=sys.stderr)


def identical(reference_dir, other_dir):
    for name in DATA_FILES:
        if not filecmp.cmp(os.path.join(reference_dir, name), os.path.join(other_dir, name), shallow=False):
            sys.exit(f"{other_dir}/{name} differs from {reference_dir}/{name}")
    print(f"{other_dir} is byte for byte {reference_dir}", file=sys.stderr)


def implementations(args, source):
    python = sys.executable
    peer = lambda script: lambda out: [python, os.path.join(HERE, script), source, RULES, AS_OF, out]
    rust = lambda binary: lambda out: [binary, "--input", source, "--rules", RULES, "--as-of", AS_OF, "--out", out]
    found = {RUST: rust(args.binary)}
    if args.baseline:
        found[BASELINE] = rust(args.baseline)
    found |= {"DuckDB": peer("run_colors_duckdb.py"), "polars": peer("run_colors_polars.py"),
              "pandas": peer("run_colors_pandas.py")}
    return found


def main():
    if sys.argv[1:2] == ["--check"]:
        return check(*sys.argv[2:])
    if sys.argv[1:2] == ["--identical"]:
        return identical(*sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--baseline", help="the engine before issue 22 (commit a60b8a0), built beside")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    # pandas takes some 20 times as long as the others: fewer rounds of it keep `make bench`
    # short, and its median is still far from any target's threshold.
    parser.add_argument("--pandas-rounds", type=int, default=None)
    parser.add_argument("--engine-rounds", type=int, default=15)
    args = parser.parse_args()
    pandas_rounds = min(args.rounds, args.pandas_rounds or args.rounds)

    work = tempfile.mkdtemp(prefix="run-colors-bench-")
    source = os.path.join(work, "colors.csv")
    subprocess.run(
        [args.binary, "generate", "--rows", str(args.rows), "--cusips", str(args.rows // 5),
         "--seed", "42", "--as-of", AS_OF, "--out", source],
        check=True,
    )
    runs = implementations(args, source)
    results = {name: [] for name in runs}
    for round_number in range(args.rounds):
        outputs = {}
        for name, argv in runs.items():
            if name == "pandas" and round_number >= pandas_rounds:
                continue
            # Each round overwrites the last: a million-row run's files take some 200 MB.
            outputs[name] = os.path.join(work, FOLDERS[name])
            results[name].append(measure(argv(outputs[name])))
        if round_number == 0:
            # In child processes, so this harness stays small while it measures the others.
            if args.baseline:
                subprocess.run([sys.executable, __file__, "--identical", outputs[RUST], outputs[BASELINE]], check=True)
            peers = [out for name, out in outputs.items() if name not in (RUST, BASELINE)]
            subprocess.run([sys.executable, __file__, "--check", outputs[RUST], *peers], check=True)
    pairs = []
    if args.baseline:
        for round_number in range(args.engine_rounds):
            order = [RUST, BASELINE] if round_number % 2 == 0 else [BASELINE, RUST]
            cpu = {name: measure(runs[name](os.path.join(work, FOLDERS[name])))[1] for name in order}
            pairs.append(cpu[RUST] / cpu[BASELINE])
    size = os.path.getsize(source)
    shutil.rmtree(work)
    report(args, size, results, pandas_rounds, pairs)


def report(args, size, results, pandas_rounds, pairs):
    size = size / 1e6
    median = lambda name, i: statistics.median(sample[i] for sample in results[name])
    rust_wall, rust_rss = median(RUST, 0), median(RUST, 2)
    print(f"### run-colors: {args.rows:,} rows ({size:.0f} MB CSV, {args.rows // 5:,} CUSIPs) to the four files\n")
    rounds = f"{args.rounds}" if pandas_rounds == args.rounds else f"{args.rounds} (pandas: the first {pandas_rounds})"
    print(f"Median of {rounds} interleaved rounds, each implementation a fresh process on the same "
          "input and rules. Before timing, run-colors' files were checked byte for byte against the "
          "engine before issue 22, and every peer against run-colors on the ranking and the "
          "exclusions. `make bench` runs `tools/bench/run_colors_compare.py`.\n")
    print("| implementation | wall (s) | CPU (s) | peak RSS (MB) | wall ÷ Rust | peak RSS ÷ Rust |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in results:
        wall, cpu, rss = median(name, 0), median(name, 1), median(name, 2)
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {rss:.0f} | {wall / rust_wall:.1f}× | {rss / rust_rss:.1f}× |")
    print()
    print(targets(results, median, pairs))
    print()


def targets(results, median, pairs):
    """The targets of issue 22 and the earlier ones, each judged on the medians above."""
    met = lambda ok: "met" if ok else "missed"
    wall = {name: median(name, 0) for name in results}
    rss = {name: median(name, 2) for name in results}
    lines = []
    if pairs:
        ratio = statistics.median(pairs)
        quartiles = statistics.quantiles(pairs, n=4)
        lines.append(
            f"Targets (issue 22): outputs byte for byte those of the engine before it (met: checked "
            f"above); CPU at most 1.25× that engine's ({met(ratio <= 1.25)}: {ratio:.2f}×, the median of "
            f"{len(pairs)} paired rounds, quartiles {quartiles[0]:.2f}× to {quartiles[2]:.2f}×); "
            f"peak RSS at most 100 MB ({met(rss[RUST] <= 100)}: {rss[RUST]:.0f} MB); wall time at most a "
            f"quarter of polars' and of DuckDB's ({met(4 * wall[RUST] <= min(wall['polars'], wall['DuckDB']))}: "
            f"{wall['polars'] / wall[RUST]:.1f}× and {wall['DuckDB'] / wall[RUST]:.1f}× less)."
        )
    else:
        lines.append("Targets (issue 22): not judged; no baseline engine was given (`--baseline`).")
    lines.append(
        f"Earlier targets: at least 10× faster than pandas ({met(wall['pandas'] >= 10 * wall[RUST])}: "
        f"{wall['pandas'] / wall[RUST]:.0f}×), lower peak memory than every peer "
        f"({met(rss[RUST] < min(rss[p] for p in ('polars', 'pandas', 'DuckDB')))})."
    )
    # "Well under a second" is read as at most 0.8 s of CPU (user + system) on one core.
    rust_cpu = median(RUST, 1)
    lines.append(
        f"The spec's scale goal, a million rows ranked and written in well under a second of CPU on "
        f"one core (read here as ≤ 0.8 s, user + system): {rust_cpu:.2f} s ({met(rust_cpu <= 0.8)})."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
