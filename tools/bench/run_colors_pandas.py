"""run-colors in pandas: the stack the old scripts used, written the way a careful pandas user
would (vectorised, no row loops except where nested JSON needs one), for the side-by-side
benchmark in BENCHMARKS.md. Same inputs, rules and outputs as `run-colors-cli --input ...`.

usage: run_colors_pandas.py INPUT.csv RULES.json AS_OF OUT_DIR
"""

import json
import os
import sys

import numpy as np
import pandas as pd

import run_colors_spec as spec
from run_colors_manifest import write_manifest

KNOWN = ["ID", "CUSIP", "SOURCE", "RANK", "COLOR_DATE", "PRICE"]


def parse_dates(text: pd.Series) -> pd.Series:
    """The spec's three forms (see run_colors_spec), normalised to one RFC 3339 shape with a
    six-digit fraction and an offset, then parsed with that one format: given a column that mixes
    forms, pandas' own ISO 8601 inference reads naive times in another row's offset."""
    date, time, fraction, offset = (text.str.extract(spec.COLOR_DATE)[i] for i in range(4))
    offset = offset.fillna("+00:00").replace({"Z": "+00:00", "z": "+00:00"})
    fraction = (fraction.fillna("") + "000000").str[:6]
    normalised = date + "T" + time.fillna("00:00:00") + "." + fraction + offset
    return pd.to_datetime(normalised, format="%Y-%m-%dT%H:%M:%S.%f%z", utc=True, errors="coerce")


def parse_rank(text: pd.Series) -> pd.Series:
    """The rank (a float holding an integer, NaN where there is none), or NaN when the cell is
    not a rank (see run_colors_spec)."""
    integer = pd.to_numeric(text.str.extract(f"({spec.RANK_INTEGER})", expand=False), errors="coerce")
    in_range = integer.between(spec.I64_MIN, spec.I64_MAX)
    return integer.where(text.str.fullmatch(spec.RANK) & in_range)


def parse_price(text: pd.Series) -> pd.Series:
    """The price, or NaN when the cell is not one (see run_colors_spec)."""
    value = pd.to_numeric(text.where(text.str.fullmatch(spec.PRICE)), errors="coerce")
    return value.where(np.isfinite(value))


def main(input_path, rules_path, as_of_text, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    document = open(rules_path, "rb").read()
    rules = json.loads(document)
    as_of = pd.Timestamp(as_of_text).tz_convert("UTC")

    df = pd.read_csv(input_path, dtype=str, keep_default_na=False, na_filter=False)
    rename = {c: c.strip().upper() for c in df.columns if c.strip().upper() in KNOWN}
    df = df.rename(columns=rename)
    passthrough = [c for c in df.columns if c not in KNOWN]
    for column in KNOWN:
        if column not in df.columns:
            df[column] = ""

    df["ID"] = df["ID"].str.strip()
    df["CUSIP"] = df["CUSIP"].str.strip().str.upper()
    df["SOURCE"] = df["SOURCE"].str.strip()
    rank_text = df["RANK"].str.strip()
    date_text = df["COLOR_DATE"].str.strip()
    price_text = df["PRICE"].str.strip()

    rank_number = parse_rank(rank_text)
    rank_ok = rank_number.notna()
    dates = parse_dates(date_text)
    prices = parse_price(price_text)

    invalid = {
        "ID": (df["ID"] == "") | df["ID"].duplicated(keep="first"),
        "CUSIP": df["CUSIP"] == "",
        "RANK": (rank_text != "") & ~rank_ok,
        "COLOR_DATE": (date_text != "") & dates.isna(),
        "PRICE": (price_text != "") & prices.isna(),
    }
    df["RANK_V"] = rank_number.where(rank_ok)
    df["DATE_V"] = dates
    df["PRICE_V"] = prices

    reasons = pd.Series("", index=df.index)
    for column, mask in invalid.items():
        reasons = reasons.mask(mask, reasons + ";invalid:" + column)
    is_invalid = reasons != ""

    values = {
        "ID": df["ID"].where(df["ID"] != ""),
        "CUSIP": df["CUSIP"].where(df["CUSIP"] != ""),
        "SOURCE": df["SOURCE"].where(df["SOURCE"] != ""),
        "RANK": df["RANK_V"],
        "COLOR_DATE": df["DATE_V"],
        "PRICE": df["PRICE_V"],
    }
    rule_reasons = pd.Series("", index=df.index)
    for rule in rules.get("rules", []):
        field, op = rule["field"].strip().upper(), rule["op"]
        column = values[field]
        present = column.notna()
        if op == "missing":
            mask = ~present
        elif op in ("eq", "ne", "in", "not_in"):
            wanted = [rule["value"]] if op in ("eq", "ne") else rule["values"]
            if field in ("RANK", "PRICE"):
                hit = column.isin([float(v) for v in wanted])
            elif field == "COLOR_DATE":
                hit = column.isin([pd.Timestamp(v).tz_localize("UTC") if pd.Timestamp(v).tzinfo is None else pd.Timestamp(v) for v in wanted])
            else:
                hit = column.str.strip().str.lower().isin([str(v).strip().lower() for v in wanted])
            mask = present & (hit if op in ("eq", "in") else ~hit)
        elif op in ("lt", "le", "gt", "ge"):
            value = rule["value"]
            if field == "COLOR_DATE":
                value = pd.Timestamp(value)
                value = value.tz_localize("UTC") if value.tzinfo is None else value
            compare = {"lt": column.lt, "le": column.le, "gt": column.gt, "ge": column.ge}[op]
            mask = present & compare(value)
        elif op == "matches":
            mask = present & column.str.contains(rule["value"], regex=True, na=False)
        elif op == "older_than_days":
            mask = present & (column < as_of - pd.Timedelta(days=rule["value"]))
        else:
            raise SystemExit(f"unknown op {op}")
        rule_reasons = rule_reasons.mask(mask & ~is_invalid, rule_reasons + ";" + rule["id"])
    reasons = reasons + rule_reasons
    excluded_mask = reasons != ""

    excluded = pd.DataFrame(
        {"ID": df.loc[excluded_mask, "ID"], "CUSIP": df.loc[excluded_mask, "CUSIP"], "REASONS": reasons[excluded_mask].str[1:]}
    )
    excluded.to_csv(os.path.join(out_dir, "excluded.csv"), index=False, lineterminator="\n")

    kept = df.loc[~excluded_mask].copy()
    ascending_price = rules.get("price_order", "desc").lower() == "asc"
    kept["_NO_RANK"] = kept["RANK_V"].isna()
    kept["_NO_DATE"] = kept["DATE_V"].isna()
    kept["_NO_PRICE"] = kept["PRICE_V"].isna()
    kept = kept.sort_values(
        ["CUSIP", "_NO_RANK", "RANK_V", "_NO_DATE", "DATE_V", "_NO_PRICE", "PRICE_V", "ID"],
        ascending=[True, True, True, True, False, True, ascending_price, True],
        kind="mergesort",
    )
    kept["POSITION"] = kept.groupby("CUSIP", sort=False).cumcount()
    kept["IS_PARENT"] = np.where(kept["POSITION"] == 0, "Y", "N")
    parent = kept.groupby("CUSIP", sort=False)["ID"].transform("first")
    kept["PARENT_ID"] = parent.where(kept["POSITION"] > 0, "")
    kept["RANK"] = kept["RANK_V"].map(lambda r: "" if pd.isna(r) else str(int(r)))
    kept["COLOR_DATE"] = kept["DATE_V"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    kept["PRICE"] = price_text[kept.index].str.lstrip("+")

    columns = ["CUSIP", "POSITION", "IS_PARENT", "PARENT_ID", "ID", "SOURCE", "RANK", "COLOR_DATE", "PRICE"] + passthrough
    out = kept[columns]
    out.to_csv(os.path.join(out_dir, "colors.csv"), index=False, lineterminator="\n")

    records = out.drop(columns=["CUSIP"]).replace({"": None}).to_dict("records")
    groups = []
    current = None
    for cusip, record in zip(out["CUSIP"].tolist(), records):
        record["POSITION"] = int(record["POSITION"])
        if record["RANK"] is not None:
            record["RANK"] = int(record["RANK"])
        if record["PRICE"] is not None:
            record["PRICE"] = float(record["PRICE"])
        if current is None or current["cusip"] != cusip:
            current = {"cusip": cusip, "parent": record, "children": []}
            groups.append(current)
        else:
            current["children"].append(record)
    with open(os.path.join(out_dir, "colors.json"), "w") as f:
        json.dump(groups, f, separators=(",", ":"))

    write_manifest(
        out_dir,
        as_of=as_of_text,
        input_path=input_path,
        rows={"input": len(df), "included": len(out), "excluded": int(excluded_mask.sum())},
        securities=int(out["CUSIP"].nunique()),
        rules=rules,
        document=document,
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
