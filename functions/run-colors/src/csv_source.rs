//! The CSV source for local runs (the shape the extraction writes) and an in-memory table
//! source for tests. Both stream: one record buffer is reused for every row.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::pipeline::{RecordSource, SourceError};

/// Rows from a CSV file with a header row.
pub struct CsvSource<R: Read> {
    reader: csv::Reader<R>,
    columns: Vec<String>,
    description: String,
    size: Option<u64>,
}

impl CsvSource<File> {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let file = File::open(path).map_err(|err| {
            SourceError::new(format!("cannot open the input {}", path.display()), err)
        })?;
        let size = file.metadata().ok().map(|m| m.len());
        let mut source = Self::new(file, format!("csv:{}", path.display()))?;
        source.size = size;
        Ok(source)
    }
}

impl<R: Read> CsvSource<R> {
    /// Reads CSV from `input`; `description` goes to the manifest.
    pub fn new(input: R, description: String) -> Result<Self, SourceError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .buffer_capacity(1 << 17)
            .from_reader(input);
        let columns = reader
            .headers()
            .map_err(|err| {
                SourceError::new(format!("cannot read the header of {description}"), err)
            })?
            .iter()
            .map(str::to_owned)
            .collect();
        Ok(Self {
            reader,
            columns,
            description,
            size: None,
        })
    }
}

impl<R: Read> RecordSource for CsvSource<R> {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn size_hint(&self) -> Option<(usize, usize)> {
        // About 8 bytes per cell is a low guess for color files, so the guess errs on
        // reserving more: untouched capacity costs address space, not memory.
        let bytes = usize::try_from(self.size?).ok()?;
        Some((bytes / (8 * self.columns.len().max(1)), bytes))
    }

    fn next_record(&mut self, record: &mut csv::StringRecord) -> Result<bool, SourceError> {
        // A row with a different number of cells (or bytes that are not UTF-8) is a broken
        // file, not a bad color: the run stops and says where.
        self.reader.read_record(record).map_err(|err| {
            let line = err.position().map_or(0, |p| p.line());
            SourceError::new(
                format!("{} is malformed at line {line}", self.description),
                err,
            )
        })
    }
}

/// A table held in memory: for tests and for the `extract` writers.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    columns: Vec<String>,
    rows: std::collections::VecDeque<Vec<Option<String>>>,
}

impl MemorySource {
    /// A table with `columns` and `rows` (`None` is NULL).
    pub fn new(columns: &[&str], rows: Vec<Vec<Option<String>>>) -> Self {
        Self {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows.into(),
        }
    }
}

impl RecordSource for MemorySource {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn next_record(&mut self, record: &mut csv::StringRecord) -> Result<bool, SourceError> {
        let Some(row) = self.rows.pop_front() else {
            return Ok(false);
        };
        fill_record(record, &row);
        Ok(true)
    }
}

/// Replaces `record`'s cells with `cells`, NULL as an empty cell (what the run reads as missing).
pub(crate) fn fill_record(record: &mut csv::StringRecord, cells: &[Option<String>]) {
    record.clear();
    for cell in cells {
        record.push_field(cell.as_deref().unwrap_or(""));
    }
}
