"""run-colors in DuckDB SQL, as a data engineer would write it (one pass of window functions,
all cores), for the side-by-side benchmark in BENCHMARKS.md. Same inputs, rules and outputs as
`run-colors-cli --input ...`.

usage: run_colors_duckdb.py INPUT.csv RULES.json AS_OF OUT_DIR
"""

import csv
import json
import os
import sys

import duckdb

import run_colors_spec as spec
from run_colors_manifest import write_manifest

KNOWN = ["ID", "CUSIP", "SOURCE", "RANK", "COLOR_DATE", "PRICE"]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def trimmed(column: str) -> str:
    # The spec trims white space around every cell; DuckDB's trim() takes only spaces.
    return f"regexp_replace(coalesce({column}, ''), '^\\s+|\\s+$', '', 'g')"


def rule_sql(rule) -> str:
    """The SQL condition under which `rule` excludes a valid row."""
    field, op = rule["field"].strip().upper(), rule["op"]
    column = {"ID": "id", "CUSIP": "cusip", "SOURCE": "source", "RANK": "rank_v",
              "COLOR_DATE": "date_v", "PRICE": "price_v"}[field]
    if op == "missing":
        return f"{column} IS NULL"
    if op in ("eq", "ne", "in", "not_in"):
        wanted = [rule["value"]] if op in ("eq", "ne") else rule["values"]
        if field in ("RANK", "PRICE"):
            values = ", ".join(repr(float(v)) for v in wanted)
            hit = f"{column}::DOUBLE IN ({values})"
        elif field == "COLOR_DATE":
            hit = f"{column} IN ({', '.join(literal(v) + '::TIMESTAMPTZ' for v in wanted)})"
        else:
            values = ", ".join(literal(str(v).strip().lower()) for v in wanted)
            hit = f"lower({column}) IN ({values})"
        return f"{column} IS NOT NULL AND {'' if op in ('eq', 'in') else 'NOT '}({hit})"
    if op in ("lt", "le", "gt", "ge"):
        symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        value = literal(rule["value"]) + "::TIMESTAMPTZ" if field == "COLOR_DATE" else repr(rule["value"])
        return f"{column} {symbol} {value}"
    if op == "matches":
        return f"regexp_matches({column}, {literal(rule['value'])})"
    if op == "older_than_days":
        return f"{column} < $as_of::TIMESTAMPTZ - to_microseconds(CAST({float(rule['value'])} * 86400e6 AS BIGINT))"
    raise SystemExit(f"unknown op {op}")


def main(input_path, rules_path, as_of_text, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    document = open(rules_path, "rb").read()
    rules = json.loads(document)
    with open(input_path, newline="") as f:
        header = next(csv.reader(f))
    by_name = {name.strip().lstrip("\ufeff").upper(): name for name in header}
    passthrough = [name for name in header if name.strip().lstrip("\ufeff").upper() not in KNOWN]
    cell = lambda known: quote(by_name[known]) if known in by_name else "NULL"

    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    # Every cell as text, in file order (rowid), as the spec reads them.
    db.execute(
        "CREATE TABLE raw AS SELECT * FROM read_csv($path, header = true, all_varchar = true, "
        "auto_detect = false, columns = $columns, quote = '\"', escape = '\"', delim = ',')",
        {"path": input_path, "columns": {name: "VARCHAR" for name in header}},
    )
    rows = db.execute("SELECT count(*) FROM raw").fetchone()[0]
    pass_select = "".join(f", {quote(name)}" for name in passthrough)
    db.execute(f"""
        CREATE TABLE cells AS SELECT rowid AS input_row,
            {trimmed(cell('ID'))} AS id, upper({trimmed(cell('CUSIP'))}) AS cusip,
            nullif({trimmed(cell('SOURCE'))}, '') AS source, {trimmed(cell('RANK'))} AS rank_t,
            {trimmed(cell('COLOR_DATE'))} AS date_t, {trimmed(cell('PRICE'))} AS price_t{pass_select}
        FROM raw""")
    db.execute(f"""
        CREATE TABLE typed AS SELECT *,
            CASE WHEN regexp_full_match(rank_t, '{spec.RANK[1:-1]}')
                 THEN TRY_CAST(regexp_extract(rank_t, '{spec.RANK_INTEGER}') AS BIGINT) END AS rank_v,
            CASE WHEN regexp_full_match(date_t, '{spec.COLOR_DATE[1:-1]}')
                 THEN TRY_CAST(regexp_replace(date_t, '(\\.[0-9]{{6}})[0-9]+', '\\1') AS TIMESTAMPTZ) END AS date_v,
            CASE WHEN regexp_full_match(price_t, '{spec.PRICE[1:-1]}') AND isfinite(TRY_CAST(price_t AS DOUBLE))
                 THEN TRY_CAST(price_t AS DOUBLE) END AS price_v,
            id <> '' AND row_number() OVER (PARTITION BY id ORDER BY input_row) > 1 AS repeated
        FROM cells""")
    invalid = [
        ("ID", "id = '' OR repeated"),
        ("CUSIP", "cusip = ''"),
        ("RANK", "rank_t <> '' AND rank_v IS NULL"),
        ("COLOR_DATE", "date_t <> '' AND date_v IS NULL"),
        ("PRICE", "price_t <> '' AND price_v IS NULL"),
    ]
    invalid_sql = ", ".join(f"CASE WHEN {test} THEN 'invalid:{name}' END" for name, test in invalid)
    rule_reasons = ", ".join(f"CASE WHEN {rule_sql(r)} THEN {literal(r['id'])} END" for r in rules.get("rules", []))
    db.execute(f"""
        CREATE TABLE judged AS SELECT *,
            CASE WHEN concat_ws(';', {invalid_sql}) <> '' THEN concat_ws(';', {invalid_sql})
                 ELSE {f"concat_ws(';', {rule_reasons})" if rule_reasons else "''"} END AS reasons
        FROM typed""", {"as_of": as_of_text})

    price_order = "ASC" if rules.get("price_order", "desc").strip().lower() == "asc" else "DESC"
    db.execute(f"""
        CREATE TABLE ranked AS SELECT *,
            ROW_NUMBER() OVER (PARTITION BY cusip
                ORDER BY rank_v ASC NULLS LAST, date_v DESC NULLS LAST, price_v {price_order} NULLS LAST, id
            ) - 1 AS position
        FROM judged WHERE reasons = ''""")
    pass_out = "".join(f", {quote(name)}" for name in passthrough)
    columns = f"""position AS POSITION, CASE WHEN position = 0 THEN 'Y' ELSE 'N' END AS IS_PARENT,
        CASE WHEN position > 0 THEN first_value(id) OVER (PARTITION BY cusip ORDER BY position) END AS PARENT_ID,
        id AS ID, source AS SOURCE, rank_v AS RANK,
        strftime(date_v, '%Y-%m-%dT%H:%M:%S.%fZ') AS COLOR_DATE, ltrim(price_t, '+') AS PRICE{pass_out}"""
    db.execute(f"CREATE TABLE output AS SELECT cusip AS CUSIP, {columns}, price_v FROM ranked")
    csv_columns = ["CUSIP", "POSITION", "IS_PARENT", "PARENT_ID", "ID", "SOURCE", "RANK", "COLOR_DATE", "PRICE", *passthrough]
    # In the JSON a price is a number.
    row_values = {c: quote(c) for c in csv_columns[1:]} | {"PRICE": "price_v"}
    row = "struct_pack(" + ", ".join(f"{quote(c)} := {v}" for c, v in row_values.items()) + ")"
    csv_select = ", ".join(quote(c) for c in csv_columns)
    db.execute(f"COPY (SELECT {csv_select} FROM output ORDER BY CUSIP, POSITION) TO {literal(os.path.join(out_dir, 'colors.csv'))} (HEADER)")
    db.execute(f"""COPY (
        SELECT CUSIP AS cusip,
            first(row ORDER BY POSITION) AS parent,
            coalesce(list(row ORDER BY POSITION) FILTER (WHERE POSITION > 0), []) AS children
        FROM (SELECT CUSIP, POSITION, {row} AS row FROM output)
        GROUP BY CUSIP ORDER BY CUSIP
    ) TO {literal(os.path.join(out_dir, 'colors.json'))} (FORMAT JSON, ARRAY true)""")
    db.execute(f"""COPY (SELECT id AS ID, cusip AS CUSIP, reasons AS REASONS FROM judged
        WHERE reasons <> '' ORDER BY input_row) TO {literal(os.path.join(out_dir, 'excluded.csv'))} (HEADER)""")

    included, securities = db.execute("SELECT count(*), count(DISTINCT cusip) FROM ranked").fetchone()
    write_manifest(
        out_dir,
        as_of=as_of_text,
        input_path=input_path,
        rows={"input": rows, "included": included, "excluded": rows - included},
        securities=securities,
        rules=rules,
        document=document,
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
