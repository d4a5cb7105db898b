"""Runs the lake's Athena view in DuckDB, over lake objects on local disk.

The table and the view come from template.yaml itself: the Glue table's columns (matched to the
JSON keys case-insensitively, as Athena's OpenX JSON SerDe does) and the named query that
creates `readings_deduplicated`, run verbatim. The objects are read as Athena reads them:
newline-delimited JSON under hive-style partition folders, partition values as strings.

    .venv/bin/python tools/lake_query.py --lake <dir holding readings/> [--template template.yaml]

prints one JSON document: the number of lines in `readings` and the rows of the view.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[1]


def hive_to_duckdb(hive: str) -> str:
    """A Glue (Hive) column type in DuckDB's spelling: string, double, bigint, boolean,
    map<k,v> and struct<name:type,...>, nested."""
    hive = hive.strip()
    lower = hive.lower()
    scalars = {"string": "VARCHAR", "double": "DOUBLE", "bigint": "BIGINT", "int": "INTEGER",
               "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}
    if lower in scalars:
        return scalars[lower]
    if lower.startswith("map<") and lower.endswith(">"):
        key, value = split_top(hive[4:-1])
        return f"MAP({hive_to_duckdb(key)}, {hive_to_duckdb(value)})"
    if lower.startswith("struct<") and lower.endswith(">"):
        fields = []
        for field in split_top(hive[7:-1]):
            name, kind = field.split(":", 1)
            fields.append(f'"{name.strip()}" {hive_to_duckdb(kind)}')
        return f"STRUCT({', '.join(fields)})"
    raise ValueError(f"no DuckDB type for the Glue type {hive!r}")


def split_top(text: str) -> list[str]:
    """Splits on the commas outside any <...>."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def lake_definitions(template_path: Path) -> tuple[list[dict], list[str], str]:
    """The Glue table's columns and partition keys, and the view's SQL, from the template."""
    template, problems = decode_str(template_path.read_text())
    if problems:
        raise SystemExit(f"{template_path} does not parse: {problems}")
    resources = template["Resources"]
    tables = [r for r in resources.values() if r["Type"] == "AWS::Glue::Table"
              and r["Properties"]["TableInput"]["Name"] == "readings"]
    queries = [r for r in resources.values() if r["Type"] == "AWS::Athena::NamedQuery"
               and "readings_deduplicated" in r["Properties"]["QueryString"]]
    if len(tables) != 1 or len(queries) != 1:
        raise SystemExit("template.yaml must hold one readings table and one view query")
    table = tables[0]["Properties"]["TableInput"]
    columns = table["StorageDescriptor"]["Columns"]
    partitions = [key["Name"] for key in table["PartitionKeys"]]
    return columns, partitions, queries[0]["Properties"]["QueryString"]


def run(lake: Path, template_path: Path) -> dict:
    columns, partitions, view_sql = lake_definitions(template_path)
    files = sorted((lake / "readings").glob("*/*/*/*.jsonl"))
    if not files:
        raise SystemExit(f"no lake objects under {lake / 'readings'}")
    # Athena's OpenX SerDe matches the table's lower-case columns to the JSON keys whatever
    # their case; DuckDB's reader needs the keys as written, so they are learned from the data.
    keys = {}
    for path in files:
        for line in path.read_text().splitlines():
            for key in json.loads(line):
                keys.setdefault(key.lower(), key)
    json_columns = {keys.get(c["Name"], c["Name"]): hive_to_duckdb(c["Type"]) for c in columns}
    db = duckdb.connect()
    source = db.sql(
        "SELECT * FROM read_json($files, format = 'newline_delimited', columns = $columns, "
        "hive_partitioning = true, hive_types = $hive_types)",
        params={
            "files": [str(p) for p in files],
            "columns": json_columns,
            "hive_types": {name: "VARCHAR" for name in partitions},
        },
    )
    source.create_view("readings_json")
    selected = ", ".join(
        [f'"{keys.get(c["Name"], c["Name"])}" AS "{c["Name"]}"' for c in columns]
        + [f'"{name}"' for name in partitions]
    )
    db.execute(f"CREATE VIEW readings AS SELECT {selected} FROM readings_json")
    db.execute(view_sql)
    lines = db.execute("SELECT count(*) FROM readings").fetchone()[0]
    result = db.execute("SELECT * FROM readings_deduplicated ORDER BY readingid")
    names = [d[0] for d in result.description]
    rows = [dict(zip(names, row)) for row in result.fetchall()]
    return {"readings": lines, "deduplicated": rows}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True,
                        help="the folder holding readings/ (the bucket's lake prefix, downloaded)")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.lake, args.template), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
