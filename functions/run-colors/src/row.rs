//! A source row validated into a typed color (the spec's "Input record"): the header's known
//! columns found by name, each cell trimmed, the CUSIP upper-cased, `RANK`, `COLOR_DATE` and
//! `PRICE` parsed. A row whose `ID` or `CUSIP` is missing, or whose typed cell does not parse,
//! is an [`InvalidRow`] naming every such column; the run excludes it and goes on.

use std::borrow::Cow;

use crate::order::RankKey;
use crate::rules::{Field, RowValues};
use crate::sources::Record;
use crate::values;

/// The input's header cannot be ranked.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// A known column is there twice (perhaps in another case).
    #[error("column {0} appears twice")]
    Repeated(&'static str),
    /// `ID` or `CUSIP` is not there.
    #[error("column {column} is missing (found: {found})")]
    Missing {
        /// The missing column.
        column: &'static str,
        /// The header as read.
        found: String,
    },
}

/// Where each known column sits in the source, and the columns that pass through.
#[derive(Debug, Clone)]
struct Columns {
    known: [Option<usize>; Field::ALL.len()],
    passthrough: Vec<usize>,
    passthrough_names: Vec<String>,
}

impl Columns {
    fn from_header(header: &[String]) -> Result<Columns, HeaderError> {
        let mut columns = Columns {
            known: [None; Field::ALL.len()],
            passthrough: Vec::new(),
            passthrough_names: Vec::new(),
        };
        for (index, name) in header.iter().enumerate() {
            // A UTF-8 byte order mark from a spreadsheet export would hide the first column.
            let name = name.trim_start_matches('\u{feff}');
            match Field::from_name(name) {
                Some(field) => {
                    let slot = &mut columns.known[field as usize];
                    if slot.replace(index).is_some() {
                        return Err(HeaderError::Repeated(field.name()));
                    }
                }
                None => {
                    columns.passthrough.push(index);
                    columns.passthrough_names.push(name.to_owned());
                }
            }
        }
        for required in [Field::Id, Field::Cusip] {
            if columns.known[required as usize].is_none() {
                return Err(HeaderError::Missing {
                    column: required.name(),
                    found: header.join(", "),
                });
            }
        }
        Ok(columns)
    }

    /// The cell of `field`, trimmed; empty when the column is absent.
    fn cell<'r>(&self, record: &'r Record, field: Field) -> &'r str {
        let cell = self.known[field as usize].and_then(|index| record.get(index));
        values::trim(cell.unwrap_or(""))
    }
}

/// The columns that made a row invalid, reported as `invalid:<COLUMN>` in column order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvalidColumns(u8);

impl InvalidColumns {
    /// Only `field`.
    pub fn of(field: Field) -> Self {
        let mut set = Self::default();
        set.insert(field);
        set
    }

    /// Adds `field`.
    pub fn insert(&mut self, field: Field) {
        self.0 |= 1 << field as u8;
    }

    /// Whether no column is invalid.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `invalid:ID`, `invalid:CUSIP`, ... for each column, in column order.
    pub fn reasons(self) -> impl Iterator<Item = &'static str> {
        Field::ALL
            .into_iter()
            .filter(move |field| self.0 & (1 << *field as u8) != 0)
            .map(|field| match field {
                Field::Id => "invalid:ID",
                Field::Cusip => "invalid:CUSIP",
                Field::Source => "invalid:SOURCE",
                Field::Rank => "invalid:RANK",
                Field::ColorDate => "invalid:COLOR_DATE",
                Field::Price => "invalid:PRICE",
            })
    }
}

/// A valid row: its typed values and its passthrough cells.
#[derive(Debug)]
pub struct Row<'r> {
    /// `ID`, trimmed.
    pub id: &'r str,
    /// `CUSIP`, trimmed and upper-cased.
    pub cusip: &'r str,
    /// `SOURCE`, trimmed; `None` when empty.
    pub source: Option<&'r str>,
    /// The ranking values.
    pub key: RankKey,
    /// `PRICE` as the outputs write it (see [`values::Price`]).
    pub price_text: Option<Cow<'r, str>>,
    /// Whether no cell holds a byte the writers change ([`Record::is_plain`]).
    pub plain: bool,
    record: &'r Record,
    passthrough: &'r [usize],
}

impl<'r> Row<'r> {
    /// The values the rules test.
    pub fn values(&self) -> RowValues<'_> {
        RowValues {
            id: self.id,
            cusip: self.cusip,
            source: self.source,
            rank: self.key.rank,
            color_date: self.key.color_date,
            price: self.key.price,
        }
    }

    /// The passthrough cells, as read (not trimmed), in input order.
    pub fn passthrough(&self) -> impl Iterator<Item = &'r str> + use<'r> {
        let record = self.record;
        self.passthrough
            .iter()
            .map(move |&index| record.get(index).unwrap_or(""))
    }
}

/// A row that failed validation: what `excluded.csv` says of it.
#[derive(Debug)]
pub struct InvalidRow<'r> {
    /// `ID`, trimmed (perhaps empty).
    pub id: &'r str,
    /// `CUSIP`, trimmed and upper-cased (perhaps empty).
    pub cusip: &'r str,
    /// Why.
    pub columns: InvalidColumns,
}

/// Validates the rows of one source, whose header it was made from.
pub struct RowReader {
    columns: Columns,
    // Room for the CUSIP of the row being read, when it has to be upper-cased.
    cusip: String,
}

impl RowReader {
    /// A reader of rows under `header`.
    pub fn new(header: &[String]) -> Result<Self, HeaderError> {
        Ok(Self {
            columns: Columns::from_header(header)?,
            cusip: String::new(),
        })
    }

    /// The passthrough columns' names, in input order.
    pub fn passthrough_names(&self) -> &[String] {
        &self.columns.passthrough_names
    }

    /// Validates `record`.
    pub fn read<'r>(&'r mut self, record: &'r Record) -> Result<Row<'r>, InvalidRow<'r>> {
        let columns = &self.columns;
        let cell = |field| columns.cell(record, field);
        let id = cell(Field::Id);
        let cusip = upper_case(cell(Field::Cusip), &mut self.cusip);
        let mut invalid = InvalidColumns::default();
        for (field, text) in [(Field::Id, id), (Field::Cusip, cusip)] {
            if text.is_empty() {
                invalid.insert(field);
            }
        }
        let rank = parse_cell(
            cell(Field::Rank),
            Field::Rank,
            &mut invalid,
            values::parse_rank,
        );
        let color_date = parse_cell(
            cell(Field::ColorDate),
            Field::ColorDate,
            &mut invalid,
            values::parse_timestamp,
        );
        let price = parse_cell(
            cell(Field::Price),
            Field::Price,
            &mut invalid,
            values::parse_price,
        );
        if !invalid.is_empty() {
            return Err(InvalidRow {
                id,
                cusip,
                columns: invalid,
            });
        }
        Ok(Row {
            id,
            cusip,
            source: Some(cell(Field::Source)).filter(|source| !source.is_empty()),
            key: RankKey {
                rank,
                color_date,
                price: price.as_ref().map(|price| price.value),
            },
            price_text: price.map(|price| price.text),
            plain: record.is_plain(),
            record,
            passthrough: &columns.passthrough,
        })
    }
}

/// A typed cell's value: `None` when the cell is empty, and also when `parse` refuses it, which
/// marks `field` invalid.
fn parse_cell<'r, T>(
    text: &'r str,
    field: Field,
    invalid: &mut InvalidColumns,
    parse: impl FnOnce(&'r str) -> Option<T>,
) -> Option<T> {
    if text.is_empty() {
        return None;
    }
    let value = parse(text);
    if value.is_none() {
        invalid.insert(field);
    }
    value
}

/// `text` upper-cased: itself when it has no lower-case letter (a CUSIP nearly always), else
/// written into `room`.
fn upper_case<'a>(text: &'a str, room: &'a mut String) -> &'a str {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_lowercase())
    {
        return text;
    }
    room.clear();
    room.push_str(&text.to_uppercase());
    room
}
