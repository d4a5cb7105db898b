//! The ranked output's columns, in one table that drives both writers: `colors.csv` has them in
//! this order, then the passthrough columns; each row object of `colors.json` has the same keys
//! but the CUSIP, which is its security's. A new output column is one entry here.

use crate::engine::StoredRow;
use crate::values::Micros;

/// One ranked row, as the columns see it.
pub struct RankedRow<'a> {
    /// Its security's CUSIP.
    pub cusip: &'a [u8],
    /// Its place in the security: 0 for the parent.
    pub position: usize,
    /// The security's parent's `ID`.
    pub parent_id: Text<'a>,
    /// The row itself.
    pub row: &'a StoredRow<'a>,
}

impl<'a> RankedRow<'a> {
    /// `bytes`, a cell of this row's.
    pub fn text(&self, bytes: &'a [u8]) -> Text<'a> {
        Text {
            bytes,
            plain: self.row.plain,
        }
    }
}

/// Text of a cell, and whether it is [plain](crate::encode::is_plain): the writers copy a plain
/// text as it is instead of scanning it for bytes to quote or escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Text<'a> {
    /// The text.
    pub bytes: &'a [u8],
    /// Whether it is plain.
    pub plain: bool,
}

/// A value of one cell, whose kind says how each file spells it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// An empty CSV cell; JSON `null`.
    Missing,
    /// Text: a CSV cell quoted when it must be; a JSON string.
    Text(Text<'a>),
    /// A whole number, bare in both.
    Integer(i64),
    /// A decimal's canonical text, which is a valid JSON number: bare in both.
    Decimal(&'a [u8]),
    /// An instant: RFC 3339 UTC, as a JSON string.
    Timestamp(Micros),
}

/// One output column.
pub struct Column {
    /// The CSV header and the JSON key.
    pub name: &'static str,
    /// Whether each row object of `colors.json` has it.
    pub in_json_rows: bool,
    /// The cell of a row.
    pub cell: for<'a> fn(&RankedRow<'a>) -> Cell<'a>,
}

/// Text, or missing when empty.
fn optional(text: Text<'_>) -> Cell<'_> {
    if text.bytes.is_empty() {
        Cell::Missing
    } else {
        Cell::Text(text)
    }
}

/// Text that is the same in every row.
const fn fixed(bytes: &'static [u8]) -> Cell<'static> {
    Cell::Text(Text { bytes, plain: true })
}

/// The columns before the passthrough ones, in output order.
pub const COLUMNS: [Column; 9] = [
    Column {
        name: "CUSIP",
        in_json_rows: false,
        cell: |row| Cell::Text(row.text(row.cusip)),
    },
    Column {
        name: "POSITION",
        in_json_rows: true,
        cell: |row| Cell::Integer(row.position as i64),
    },
    Column {
        name: "IS_PARENT",
        in_json_rows: true,
        cell: |row| fixed(if row.position == 0 { b"Y" } else { b"N" }),
    },
    Column {
        name: "PARENT_ID",
        in_json_rows: true,
        cell: |row| match row.position {
            0 => Cell::Missing,
            _ => Cell::Text(row.parent_id),
        },
    },
    Column {
        name: "ID",
        in_json_rows: true,
        cell: |row| Cell::Text(row.text(row.row.id)),
    },
    Column {
        name: "SOURCE",
        in_json_rows: true,
        cell: |row| optional(row.text(row.row.source)),
    },
    Column {
        name: "RANK",
        in_json_rows: true,
        cell: |row| row.row.key.rank.map_or(Cell::Missing, Cell::Integer),
    },
    Column {
        name: "COLOR_DATE",
        in_json_rows: true,
        cell: |row| {
            row.row
                .key
                .color_date
                .map_or(Cell::Missing, Cell::Timestamp)
        },
    },
    Column {
        name: "PRICE",
        in_json_rows: true,
        cell: |row| match row.row.price {
            b"" => Cell::Missing,
            text => Cell::Decimal(text),
        },
    },
];
