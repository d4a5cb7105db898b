//! A table held in memory, as a source: for tests and for the `extract` writers.

use std::collections::VecDeque;

use super::{Record, RecordSource, SourceError};

/// A table held in memory: for tests and for the `extract` writers.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    columns: Vec<String>,
    rows: VecDeque<Vec<Option<String>>>,
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

    fn next_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        let Some(row) = self.rows.pop_front() else {
            return Ok(false);
        };
        record.set_cells(&row);
        Ok(true)
    }
}
