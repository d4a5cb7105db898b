//! The CSV source for local runs and the demo (the shape the extraction writes). It streams:
//! one record is refilled for every row.
//!
//! The reader reads RFC 4180 as the `csv` crate does with its defaults (comma, double quote,
//! doubled quotes inside quotes, `\n`, `\r` or `\r\n` ending a record, blank lines skipped,
//! every record as wide as the header), in two gears. A record that is one whole line, its
//! cells unquoted or quoted and closed on it (nearly every line of a color file), is found with
//! `memchr`, split at its commas and copied once. Any other record goes through `csv_core`'s
//! state machine, a byte at a time. The tests hold the gears against the `csv` crate on random
//! input.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

mod lines;

use super::{Record, RecordSource, SourceError};
use lines::{QuotedReader, split_line};

// The read buffer's starting size; it grows only for a record longer than this.
const BUFFER: usize = 1 << 17;

/// Rows from a CSV file with a header row.
pub struct CsvSource<R: Read> {
    input: R,
    buf: Vec<u8>,
    // The unread bytes are buf[start..end].
    start: usize,
    end: usize,
    eof: bool,
    // The line number of buf[start], from 1, and of the first line of the last record read.
    line: u64,
    record_line: u64,
    quoted: QuotedReader,
    // How many cells every record must have: the header's, once it is read.
    width: Option<usize>,
    // Room for unquoting a quoted cell on the fast path.
    cell: String,
    columns: Vec<String>,
    description: String,
    size: Option<u64>,
}

/// Why the reader stopped.
#[derive(Debug, thiserror::Error)]
enum CsvError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{problem}")]
    Malformed { line: u64, problem: String },
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
        Self::with_buffer(input, description, BUFFER)
    }

    fn with_buffer(input: R, description: String, buffer: usize) -> Result<Self, SourceError> {
        let mut source = Self::unread(input, description, buffer);
        let mut header = Record::new();
        match source.read(&mut header) {
            // An empty file has no columns, which the run reports as a missing ID column.
            Ok(_) => {
                source.columns = header.iter().map(str::to_owned).collect();
                source.width = Some(source.columns.len());
            }
            Err(err) => {
                return Err(SourceError::new(
                    format!("cannot read the header of {}", source.description),
                    err,
                ));
            }
        }
        Ok(source)
    }

    /// A reader that has read nothing yet, not even the header.
    fn unread(input: R, description: String, buffer: usize) -> Self {
        Self {
            input,
            buf: vec![0; buffer.max(1)],
            start: 0,
            end: 0,
            eof: false,
            line: 1,
            record_line: 1,
            quoted: QuotedReader::default(),
            width: None,
            cell: String::new(),
            columns: Vec::new(),
            description,
            size: None,
        }
    }

    /// Reads the next record into `record`; `false` at the end of the input.
    fn read(&mut self, record: &mut Record) -> Result<bool, CsvError> {
        loop {
            // Blank lines are skipped, as is the `\n` of a `\r\n` the quoted path stopped at.
            while self.start < self.end {
                match self.buf[self.start] {
                    b'\n' => self.line += 1,
                    b'\r' => {}
                    _ => break,
                }
                self.start += 1;
            }
            if self.start == self.end {
                if self.eof || !self.fill()? {
                    return Ok(false);
                }
                continue;
            }
            self.record_line = self.line;
            let rest = &self.buf[self.start..self.end];
            let (line, ended) = match memchr::memchr(b'\n', rest) {
                Some(at) => (&rest[..at], true),
                // The line goes on past what is in the buffer.
                None if !self.eof => {
                    self.fill()?;
                    continue;
                }
                None => (rest, false),
            };
            // A quoted cell may go on past this line: csv_core reads such a record whole (and
            // reports bytes that are not UTF-8 in it).
            match std::str::from_utf8(line) {
                Ok(text) if split_line(text, record, &mut self.cell) => {}
                Ok(_) => return self.read_quoted(record),
                Err(_) if memchr::memchr2(b'"', b'\r', line).is_some() => {
                    return self.read_quoted(record);
                }
                Err(_) => return Err(self.malformed(self.line, "the line is not valid UTF-8")),
            }
            self.start += line.len() + usize::from(ended);
            self.line += u64::from(ended);
            return Ok(true);
        }
    }

    /// A record as wide as the header, or the error that says it is not, at `line`.
    fn check_width(&self, record: &Record, line: u64) -> Result<(), CsvError> {
        match self.width {
            Some(width) if width != record.len() => Err(CsvError::Malformed {
                line,
                problem: format!("the record has {} cells, the header {width}", record.len()),
            }),
            _ => Ok(()),
        }
    }

    /// Reads one record that starts at `start` with `csv_core`, refilling as it goes.
    fn read_quoted(&mut self, record: &mut Record) -> Result<bool, CsvError> {
        self.quoted.start();
        loop {
            let input = &self.buf[self.start..self.end];
            let (result, consumed) = self.quoted.feed(input);
            self.line += memchr::memchr_iter(b'\n', &input[..consumed]).count() as u64;
            self.start += consumed;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {
                    // At the end of the input, an empty feed tells csv_core to finish.
                    if !self.eof {
                        self.fill()?;
                    }
                }
                csv_core::ReadRecordResult::OutputFull => self.quoted.grow_output(),
                csv_core::ReadRecordResult::OutputEndsFull => self.quoted.grow_ends(),
                csv_core::ReadRecordResult::Record => {
                    return if self.quoted.fill(record) {
                        Ok(true)
                    } else {
                        Err(self.malformed(self.record_line, "the record is not valid UTF-8"))
                    };
                }
                csv_core::ReadRecordResult::End => return Ok(false),
            }
        }
    }

    /// Moves the unread bytes to the front of the buffer and reads more after them, growing
    /// the buffer when one record fills it; `false` at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(read) => {
                    self.end += read;
                    return Ok(true);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    fn malformed(&self, line: u64, problem: impl Into<String>) -> CsvError {
        CsvError::Malformed {
            line,
            problem: problem.into(),
        }
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

    fn next_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        // A row with a different number of cells (or bytes that are not UTF-8) is a broken
        // file, not a bad color: the run stops and says where.
        let result = self.read(record).and_then(|more| {
            if more {
                self.check_width(record, self.record_line)?;
            }
            Ok(more)
        });
        result.map_err(|err| self.source_error(err))
    }
}

impl<R: Read> CsvSource<R> {
    fn source_error(&self, err: CsvError) -> SourceError {
        match err {
            CsvError::Malformed { line, .. } => SourceError::new(
                format!("{} is malformed at line {line}", self.description),
                err,
            ),
            CsvError::Io(_) => SourceError::new(format!("cannot read {}", self.description), err),
        }
    }
}

#[cfg(test)]
mod tests;
