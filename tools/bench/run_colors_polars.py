"""run-colors in polars (lazy where it helps, all cores), for the side-by-side benchmark in
BENCHMARKS.md. Same inputs, rules and outputs as `run-colors-cli --input ...`.

usage: run_colors_polars.py INPUT.csv RULES.json AS_OF OUT_DIR
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

import polars as pl

import run_colors_spec as spec
from run_colors_manifest import write_manifest

KNOWN = ["ID", "CUSIP", "SOURCE", "RANK", "COLOR_DATE", "PRICE"]


def parse_dates(text: pl.Expr) -> pl.Expr:
    """The spec's three forms (see run_colors_spec), normalised to one RFC 3339 shape with a
    six-digit fraction and an offset, then parsed; no offset means UTC."""
    parts = text.str.extract_groups(spec.COLOR_DATE)
    fraction = pl.concat_str(parts.struct[2].fill_null(""), pl.lit("000000")).str.slice(0, 6)
    offset = (
        pl.when(parts.struct[3].is_null() | parts.struct[3].str.to_uppercase().eq("Z"))
        .then(pl.lit("+00:00"))
        .otherwise(parts.struct[3])
    )
    normalised = pl.concat_str(
        parts.struct[0], pl.lit("T"), parts.struct[1].fill_null("00:00:00"), pl.lit("."), fraction, offset
    )
    return normalised.str.to_datetime("%Y-%m-%dT%H:%M:%S%.6f%:z", strict=False, time_unit="us", time_zone="UTC")


def parse_rank(text: pl.Expr) -> pl.Expr:
    """The rank, or null when the cell is not one (see run_colors_spec)."""
    integer = text.str.extract(spec.RANK_INTEGER, 0).cast(pl.Int64, strict=False)
    return pl.when(text.str.contains(spec.RANK)).then(integer)


def parse_price(text: pl.Expr) -> pl.Expr:
    """The price, or null when the cell is not one (see run_colors_spec)."""
    value = text.cast(pl.Float64, strict=False)
    return pl.when(text.str.contains(spec.PRICE) & value.is_finite()).then(value)


def utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def main(input_path, rules_path, as_of_text, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    document = open(rules_path, "rb").read()
    rules = json.loads(document)
    as_of = utc(as_of_text)

    df = pl.read_csv(input_path, infer_schema=False, missing_utf8_is_empty_string=True)
    df = df.rename({c: c.strip().upper() for c in df.columns if c.strip().upper() in KNOWN})
    passthrough = [c for c in df.columns if c not in KNOWN]
    df = df.with_columns([pl.lit("").alias(c) for c in KNOWN if c not in df.columns])

    df = df.with_columns(
        pl.col("ID").str.strip_chars(),
        pl.col("CUSIP").str.strip_chars().str.to_uppercase(),
        pl.col("SOURCE").str.strip_chars(),
        pl.col("RANK").str.strip_chars().alias("_RANK_T"),
        pl.col("COLOR_DATE").str.strip_chars().alias("_DATE_T"),
        pl.col("PRICE").str.strip_chars().alias("_PRICE_T"),
    ).with_columns(
        parse_rank(pl.col("_RANK_T")).alias("RANK_V"),
        parse_dates(pl.col("_DATE_T")).alias("DATE_V"),
        parse_price(pl.col("_PRICE_T")).alias("PRICE_V"),
    )

    invalid = [
        ("ID", (pl.col("ID") == "") | pl.col("ID").is_first_distinct().not_()),
        ("CUSIP", pl.col("CUSIP") == ""),
        ("RANK", (pl.col("_RANK_T") != "") & pl.col("RANK_V").is_null()),
        ("COLOR_DATE", (pl.col("_DATE_T") != "") & pl.col("DATE_V").is_null()),
        ("PRICE", (pl.col("_PRICE_T") != "") & pl.col("PRICE_V").is_null()),
    ]
    invalid_reasons = [pl.when(mask).then(pl.lit("invalid:" + name)) for name, mask in invalid]
    values = {
        "ID": pl.when(pl.col("ID") != "").then(pl.col("ID")),
        "CUSIP": pl.when(pl.col("CUSIP") != "").then(pl.col("CUSIP")),
        "SOURCE": pl.when(pl.col("SOURCE") != "").then(pl.col("SOURCE")),
        "RANK": pl.col("RANK_V"),
        "COLOR_DATE": pl.col("DATE_V"),
        "PRICE": pl.col("PRICE_V"),
    }
    rule_reasons = []
    for rule in rules.get("rules", []):
        field, op = rule["field"].strip().upper(), rule["op"]
        column = values[field]
        if op == "missing":
            mask = column.is_null()
        elif op in ("eq", "ne", "in", "not_in"):
            wanted = [rule["value"]] if op in ("eq", "ne") else rule["values"]
            if field in ("RANK", "PRICE"):
                hit = column.cast(pl.Float64).is_in([float(v) for v in wanted])
            elif field == "COLOR_DATE":
                hit = column.is_in([utc(v) for v in wanted])
            else:
                hit = column.str.strip_chars().str.to_lowercase().is_in([str(v).strip().lower() for v in wanted])
            mask = column.is_not_null() & (hit if op in ("eq", "in") else hit.not_())
        elif op in ("lt", "le", "gt", "ge"):
            value = utc(rule["value"]) if field == "COLOR_DATE" else rule["value"]
            mask = {"lt": column < value, "le": column <= value, "gt": column > value, "ge": column >= value}[op]
        elif op == "matches":
            mask = column.str.contains(rule["value"])
        elif op == "older_than_days":
            mask = column < as_of - timedelta(days=rule["value"])
        else:
            raise SystemExit(f"unknown op {op}")
        rule_reasons.append(pl.when(mask.fill_null(False)).then(pl.lit(rule["id"])))

    df = df.with_columns(pl.concat_str(invalid_reasons, separator=";", ignore_nulls=True).alias("_INVALID"))
    df = df.with_columns(
        pl.when(pl.col("_INVALID") != "")
        .then(pl.col("_INVALID"))
        .otherwise(pl.concat_str(rule_reasons, separator=";", ignore_nulls=True) if rule_reasons else pl.lit(""))
        .alias("REASONS")
    )
    excluded = df.filter(pl.col("REASONS") != "")
    excluded.select("ID", "CUSIP", "REASONS").write_csv(os.path.join(out_dir, "excluded.csv"))

    descending_price = rules.get("price_order", "desc").lower() != "asc"
    kept = df.filter(pl.col("REASONS") == "").sort(
        ["CUSIP", "RANK_V", "DATE_V", "PRICE_V", "ID"],
        descending=[False, False, True, descending_price, False],
        nulls_last=True,
        maintain_order=True,
    )
    kept = kept.with_columns(
        pl.int_range(pl.len()).over("CUSIP").alias("POSITION"),
        pl.col("ID").first().over("CUSIP").alias("_PARENT"),
    ).with_columns(
        pl.when(pl.col("POSITION") == 0).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("IS_PARENT"),
        pl.when(pl.col("POSITION") > 0).then(pl.col("_PARENT")).alias("PARENT_ID"),
        pl.col("RANK_V").alias("RANK"),
        pl.col("DATE_V").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("COLOR_DATE"),
        pl.when(pl.col("_PRICE_T") != "").then(pl.col("_PRICE_T").str.strip_chars_start("+")).alias("PRICE"),
        pl.when(pl.col("SOURCE") != "").then(pl.col("SOURCE")).alias("SOURCE"),
    )
    columns = ["CUSIP", "POSITION", "IS_PARENT", "PARENT_ID", "ID", "SOURCE", "RANK", "COLOR_DATE", "PRICE"] + passthrough
    out = kept.select(columns)
    out.write_csv(os.path.join(out_dir, "colors.csv"))

    row = pl.struct(
        [c for c in columns if c not in ("CUSIP", "PRICE")] + [pl.col("PRICE").cast(pl.Float64)]
    )
    nested = (
        out.with_columns(row.alias("_ROW"))
        .group_by("CUSIP", maintain_order=True)
        .agg(pl.col("_ROW").first().alias("parent"), pl.col("_ROW").slice(1).alias("children"))
        .rename({"CUSIP": "cusip"})
    )
    nested.write_json(os.path.join(out_dir, "colors.json"))

    write_manifest(
        out_dir,
        as_of=as_of_text,
        input_path=input_path,
        rows={"input": df.height, "included": out.height, "excluded": excluded.height},
        securities=out["CUSIP"].n_unique(),
        rules=rules,
        document=document,
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
