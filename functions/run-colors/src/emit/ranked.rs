//! `colors.csv` and `colors.json`, written together in one pass over the ranked securities:
//! each cell is taken once from the [column table](super::columns) and spelled for both files.

use std::io;

use super::columns::{COLUMNS, Cell, RankedRow, Text as CellText};
use super::output::{CHUNK, OutputFile};
use crate::encode::{push_csv_field, push_int, push_json_string};
use crate::engine::Ranked;
use crate::values::write_timestamp;

/// The two files' text being built, and the JSON keys, escaped once instead of once a row.
struct RankedFiles {
    text: Text,
    // `"NAME":` for each column (`None` for a column not in the JSON rows).
    fixed_keys: Vec<Option<Vec<u8>>>,
    passthrough_keys: Vec<Vec<u8>>,
}

/// The text of both files, the cells of a row spelled into both.
struct Text {
    csv: Vec<u8>,
    json: Vec<u8>,
    // Whether the JSON object being written has no key yet.
    first_key: bool,
}

/// Writes `ranked`'s securities as `colors.csv` to `csv_out` and `colors.json` to `json_out`.
pub(super) fn write(
    ranked: &Ranked,
    passthrough_names: &[String],
    csv_out: &mut OutputFile,
    json_out: &mut OutputFile,
) -> io::Result<()> {
    let key = |name: &str| {
        let mut key = Vec::new();
        push_json_string(&mut key, name);
        key.push(b':');
        key
    };
    let mut files = RankedFiles {
        text: Text {
            csv: Vec::with_capacity(2 * CHUNK),
            json: Vec::with_capacity(2 * CHUNK),
            first_key: true,
        },
        fixed_keys: COLUMNS
            .iter()
            .map(|column| column.in_json_rows.then(|| key(column.name)))
            .collect(),
        passthrough_keys: passthrough_names.iter().map(|name| key(name)).collect(),
    };
    files.text.header(passthrough_names);
    let json = |files: &mut RankedFiles, text: &[u8]| files.text.json.extend_from_slice(text);
    let mut securities = ranked.securities();
    let mut written = 0;
    while let Some(security) = securities.next_security() {
        json(&mut files, if written == 0 { b"\n" } else { b",\n" });
        json(&mut files, b"{\"cusip\":");
        push_json_string(&mut files.text.json, security.cusip);
        json(&mut files, b",\"parent\":");
        let parent_id = security
            .rows
            .first()
            .map_or(CellText::default(), |row| CellText {
                bytes: row.id,
                plain: row.plain,
            });
        for (position, row) in security.rows.iter().enumerate() {
            if position == 1 {
                json(&mut files, b",\"children\":[");
            } else if position > 1 {
                json(&mut files, b",");
            }
            files.row(&RankedRow {
                cusip: security.cusip,
                position,
                parent_id,
                row,
            });
            files.text.flush_full(csv_out, json_out)?;
        }
        if security.rows.len() == 1 {
            json(&mut files, b",\"children\":[");
        }
        json(&mut files, b"]}");
        written += 1;
    }
    json(&mut files, if written == 0 { b"]\n" } else { b"\n]\n" });
    csv_out.put(&mut files.text.csv)?;
    json_out.put(&mut files.text.json)
}

impl RankedFiles {
    /// One row: a line of the CSV, an object of the JSON.
    fn row(&mut self, row: &RankedRow<'_>) {
        let text = &mut self.text;
        text.json.push(b'{');
        text.first_key = true;
        for (index, (column, key)) in COLUMNS.iter().zip(&self.fixed_keys).enumerate() {
            if index > 0 {
                text.csv.push(b',');
            }
            text.cell((column.cell)(row), key.as_deref());
        }
        for (cell, key) in row.row.passthrough.clone().zip(&self.passthrough_keys) {
            text.csv.push(b',');
            text.cell(Cell::Text(row.text(cell)), Some(key));
        }
        text.csv.push(b'\n');
        text.json.push(b'}');
    }
}

impl Text {
    fn header(&mut self, passthrough_names: &[String]) {
        let names = COLUMNS.iter().map(|column| column.name);
        for (index, name) in names
            .chain(passthrough_names.iter().map(String::as_str))
            .enumerate()
        {
            if index > 0 {
                self.csv.push(b',');
            }
            push_csv_field(&mut self.csv, name);
        }
        self.csv.push(b'\n');
        self.json.push(b'[');
    }

    /// Spells `cell` in the CSV line, and in the JSON object under `key` when it has one.
    #[inline(always)]
    fn cell(&mut self, cell: Cell<'_>, key: Option<&[u8]>) {
        let json = key.map(|key| {
            if !std::mem::take(&mut self.first_key) {
                self.json.push(b',');
            }
            self.json.extend_from_slice(key);
            &mut self.json
        });
        spell(cell, &mut self.csv, json);
    }

    /// Hands each file's text to its writer once it is a chunk long.
    fn flush_full(
        &mut self,
        csv_out: &mut OutputFile,
        json_out: &mut OutputFile,
    ) -> io::Result<()> {
        csv_out.put_when_full(&mut self.csv)?;
        json_out.put_when_full(&mut self.json)
    }
}

/// Appends `cell` to a CSV line and, given one, to a JSON text as a value.
#[inline(always)]
fn spell(cell: Cell<'_>, csv: &mut Vec<u8>, json: Option<&mut Vec<u8>>) {
    let csv_start = csv.len();
    match cell {
        Cell::Missing => {}
        Cell::Text(CellText { bytes, plain: true }) => csv.extend_from_slice(bytes),
        Cell::Text(CellText {
            bytes,
            plain: false,
        }) => push_csv_field(csv, bytes),
        Cell::Integer(value) => push_int(csv, value),
        Cell::Decimal(text) => csv.extend_from_slice(text),
        Cell::Timestamp(micros) => write_timestamp(csv, micros),
    }
    let Some(json) = json else {
        return;
    };
    match cell {
        Cell::Missing => json.extend_from_slice(b"null"),
        Cell::Text(CellText { bytes, plain: true }) => {
            json.push(b'"');
            json.extend_from_slice(bytes);
            json.push(b'"');
        }
        Cell::Text(CellText {
            bytes,
            plain: false,
        }) => push_json_string(json, bytes),
        Cell::Integer(value) => push_int(json, value),
        Cell::Decimal(text) => json.extend_from_slice(text),
        // Formatted once, into the CSV just above.
        Cell::Timestamp(_) => {
            json.push(b'"');
            json.extend_from_slice(&csv[csv_start..]);
            json.push(b'"');
        }
    }
}
