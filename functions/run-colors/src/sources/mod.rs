//! Where color rows come from: the [`RecordSource`] port, the [`Record`] a source fills row
//! after row, and the sources: [`csv`] (local runs and the demo), [`oracle`] (the Lambda's) and
//! [`MemorySource`] (tests and the `extract` writers).

pub mod csv;
mod memory;
pub mod oracle;

pub use csv::CsvSource;
pub use memory::MemorySource;

use crate::encode::{is_plain, needs_escape};

/// Why a source could not deliver rows.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    /// An error with a message and its cause.
    pub fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An error with a message only.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

/// One row from a source: its cells as text, in source order. A source refills the same
/// record row after row, so reading allocates nothing once it has grown to the widest row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    text: String,
    // Each cell's start and end in `text` (a record's text is far below 4 GiB).
    bounds: Vec<(u32, u32)>,
    // Whether `text` is a whole line, its commas the separators between the cells.
    split: bool,
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every cell.
    pub fn clear(&mut self) {
        self.text.clear();
        self.bounds.clear();
        self.split = false;
    }

    /// Appends a cell.
    pub fn push_field(&mut self, cell: &str) {
        let start = self.text.len();
        self.text.push_str(cell);
        self.bounds.push((offset(start), offset(self.text.len())));
    }

    /// Replaces the cells with `cells`, NULL as an empty cell (what the run reads as missing).
    pub fn set_cells(&mut self, cells: &[Option<String>]) {
        self.clear();
        for cell in cells {
            self.push_field(cell.as_deref().unwrap_or(""));
        }
    }

    /// Replaces the cells with the parts of `line` between its `separator`s (an ASCII byte):
    /// a whole CSV line without quotes, in one copy.
    pub(crate) fn set_split(&mut self, line: &str, separator: u8) {
        self.clear();
        self.text.push_str(line);
        let mut start = 0;
        for (at, &byte) in line.as_bytes().iter().enumerate() {
            if byte == separator {
                self.bounds.push((offset(start), offset(at)));
                start = at + 1;
            }
        }
        self.bounds.push((offset(start), offset(line.len())));
        self.split = true;
    }

    /// Whether no cell holds a byte either writer changes (see [`is_plain`]), so the writers
    /// can copy the row's cells as they are instead of scanning each for bytes to quote or
    /// escape (measured on a million rows: 5 % of the run's CPU, 7 % of its instructions).
    pub fn is_plain(&self) -> bool {
        let text = self.text.as_bytes();
        if self.split {
            // A fold without an early exit, which the compiler turns into a vector loop.
            !text
                .iter()
                .fold(false, |special, &b| special | needs_escape(b))
        } else {
            is_plain(text)
        }
    }

    /// How many cells it has.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Whether it has no cells.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Cell `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&str> {
        let &(start, end) = self.bounds.get(index)?;
        self.text.get(start as usize..end as usize)
    }

    /// The cells in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|index| self.get(index).unwrap_or_default())
    }
}

/// `at` as a cell bound. A record's text longer than 4 GiB cannot be read (the CSV reader
/// would first have to hold it whole): its cells past that point read as missing.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Where color rows come from: the CSV file for local runs or the Oracle table. Cells are
/// text; an empty cell (or SQL NULL) is a missing value.
pub trait RecordSource {
    /// A short description for the manifest (`csv:<path>`, `oracle:<SCHEMA>.<TABLE>`).
    fn describe(&self) -> String;
    /// The column names in source order.
    fn columns(&self) -> &[String];
    /// Reads the next row into `record`; `false` at the end.
    fn next_record(&mut self, record: &mut Record) -> Result<bool, SourceError>;

    /// Roughly how many rows and bytes of text are coming, when the source can tell: the run
    /// reserves its arenas and hash tables once instead of growing them row by row.
    fn size_hint(&self) -> Option<(usize, usize)> {
        None
    }
}
