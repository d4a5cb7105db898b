//! The CSV source for local runs and the demo (the shape the extraction writes). It streams:
//! one record is refilled for every row.
//!
//! The reader reads RFC 4180 as the `csv` crate does with its defaults (comma, double quote,
//! doubled quotes inside quotes, `\n`, `\r` or `\r\n` ending a record, blank lines skipped,
//! every record as wide as the header), in two gears. A record that is one whole line, its
//! cells unquoted or quoted and closed on it (nearly every line of a color file), is read in
//! batches: the batch's lines are found with `memchr`, validated as UTF-8 in one call, split
//! at the commas `memchr` finds and copied once. Any other record goes through `csv_core`'s
//! state machine, a byte at a time. The tests hold the gears against the `csv` crate on random
//! input.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::{Record, RecordSource, SourceError};

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

    /// Reads up to `records.len()` records, checking each one's width; how many it read,
    /// fewer only at the end of the input.
    fn read_many(&mut self, records: &mut [Record]) -> Result<usize, CsvError> {
        let mut filled = 0;
        while filled < records.len() {
            filled += self.read_whole_lines(&mut records[filled..])?;
            if filled == records.len() {
                break;
            }
            // The next record is not whole in the buffer, needs csv_core, or is broken.
            if !self.read(&mut records[filled])? {
                break;
            }
            self.check_width(&records[filled], self.record_line)?;
            filled += 1;
        }
        Ok(filled)
    }

    /// The fast gear for many records at once: the lines whole in the buffer are found first,
    /// their text is validated as UTF-8 in one call, and each is split. Stops early (without
    /// consuming it) at a line that needs [`CsvSource::read`].
    fn read_whole_lines(&mut self, records: &mut [Record]) -> Result<usize, CsvError> {
        const MAX_LINES: usize = 64;
        let rest = &self.buf[self.start..self.end];
        let mut ends = [0usize; MAX_LINES];
        let mut lines = 0;
        for (slot, end) in ends
            .iter_mut()
            .zip(memchr::memchr_iter(b'\n', rest).take(records.len()))
        {
            *slot = end;
            lines += 1;
        }
        let Some(&last) = ends[..lines].last() else {
            return Ok(0);
        };
        let text = match std::str::from_utf8(&rest[..last]) {
            Ok(text) => text,
            // Up to the line with the bad byte, which `read` then reports (or csv_core reads).
            Err(err) => {
                lines = ends[..lines].partition_point(|&end| end <= err.valid_up_to());
                std::str::from_utf8(&rest[..err.valid_up_to()]).unwrap_or_default()
            }
        };
        let mut start = 0;
        let mut filled = 0;
        for &end in &ends[..lines] {
            let Some(record) = records.get_mut(filled) else {
                break;
            };
            let line = text.get(start..end).unwrap_or_default();
            // Blank lines are skipped, as `read` does.
            if !line.bytes().all(|b| b == b'\r') {
                if !split_line(line, record, &mut self.cell) {
                    break;
                }
                self.check_width(record, self.line)?;
                filled += 1;
            }
            start = end + 1;
            self.line += 1;
        }
        self.start += start;
        Ok(filled)
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

/// The slow gear: `csv_core` and the buffers it unquotes into.
struct QuotedReader {
    core: csv_core::Reader,
    output: Vec<u8>,
    output_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
}

impl Default for QuotedReader {
    fn default() -> Self {
        Self {
            core: csv_core::Reader::new(),
            output: vec![0; 256],
            output_len: 0,
            ends: vec![0; 16],
            ends_len: 0,
        }
    }
}

impl QuotedReader {
    /// Readies it for a record that starts at the next byte fed.
    fn start(&mut self) {
        // The fast gear read the lines in between: csv_core must not carry its state (a
        // pending `\r\n`, say) over them.
        self.core.reset();
        self.output_len = 0;
        self.ends_len = 0;
    }

    /// Feeds `input`; returns what csv_core says and how many bytes it took.
    fn feed(&mut self, input: &[u8]) -> (csv_core::ReadRecordResult, usize) {
        let (result, consumed, written, ended) = self.core.read_record(
            input,
            &mut self.output[self.output_len..],
            &mut self.ends[self.ends_len..],
        );
        self.output_len += written;
        self.ends_len += ended;
        (result, consumed)
    }

    fn grow_output(&mut self) {
        self.output.resize(self.output.len() * 2, 0);
    }

    fn grow_ends(&mut self) {
        self.ends.resize(self.ends.len() * 2, 0);
    }

    /// Puts the record read into `record`; `false` if its text is not UTF-8.
    fn fill(&self, record: &mut Record) -> bool {
        let Ok(text) = std::str::from_utf8(&self.output[..self.output_len]) else {
            return false;
        };
        record.clear();
        let mut start = 0;
        for &end in &self.ends[..self.ends_len] {
            record.push_field(&text[start..end]);
            start = end;
        }
        true
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

    fn next_records(&mut self, records: &mut [Record]) -> Result<usize, SourceError> {
        self.read_many(records)
            .map_err(|err| self.source_error(err))
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

/// Splits one line (no `\n`) into `record` when it is a whole record by itself: cells
/// without quotes, or quoted cells that close on the line and are followed by a comma or its
/// end. `false` for anything else (a bare CR, a quoted cell going on past the line, a quote
/// inside a cell), which is csv_core's to read. A CR ending the line is part of its `\r\n`.
fn split_line(line: &str, record: &mut Record, cell: &mut String) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    match memchr::memchr2(b'"', b'\r', line.as_bytes()) {
        None => {
            // A plain loop, not `memchr_iter`: a color line's cells are a few bytes apart, and a
            // vector search's set-up for each costs more than the loop.
            let commas = line.bytes().enumerate().filter(|&(_, b)| b == b',');
            record.set_split(line, commas.map(|(at, _)| at));
            true
        }
        Some(at) if line.as_bytes()[at] == b'"' && !line.contains('\r') => {
            split_quoted(line, record, cell)
        }
        Some(_) => false,
    }
}

/// [`split_line`] for a line with quotes; `cell` is room for unquoting.
fn split_quoted(line: &str, record: &mut Record, cell: &mut String) -> bool {
    record.clear();
    let bytes = line.as_bytes();
    let mut at = 0;
    loop {
        if bytes.get(at) == Some(&b'"') {
            cell.clear();
            let mut from = at + 1;
            loop {
                // No closing quote on this line: the cell goes on past it.
                let Some(quote) = memchr::memchr(b'"', &bytes[from..]).map(|q| from + q) else {
                    return false;
                };
                cell.push_str(&line[from..quote]);
                if bytes.get(quote + 1) == Some(&b'"') {
                    cell.push('"');
                    from = quote + 2;
                } else {
                    at = quote + 1;
                    break;
                }
            }
            record.push_field(cell);
            match bytes.get(at) {
                None => return true,
                Some(b',') => at += 1,
                // Text after the closing quote.
                Some(_) => return false,
            }
        } else {
            let end = memchr::memchr(b',', &bytes[at..]).map_or(bytes.len(), |e| at + e);
            let text = &line[at..end];
            if text.contains('"') {
                return false;
            }
            record.push_field(text);
            if end == bytes.len() {
                return true;
            }
            at = end + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `input` as the `csv` crate reads it with the defaults this reader
    /// follows (any width allowed here: the widths are checked by `next_record`).
    fn expected(input: &[u8]) -> Result<Vec<Vec<String>>, ()> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|_| ())?;
            rows.push(record.iter().map(str::to_owned).collect());
        }
        Ok(rows)
    }

    /// Every record of `input` as this reader reads it, with a `buffer`-byte starting buffer,
    /// one at a time (`batch` 0) or `batch` at a time.
    fn actual(input: &[u8], buffer: usize, batch: usize) -> Result<Vec<Vec<String>>, ()> {
        let mut source = CsvSource::unread(input, "test".into(), buffer);
        let mut rows = Vec::new();
        let mut records = vec![Record::new(); batch.max(1)];
        loop {
            let read = if batch == 0 {
                usize::from(source.read(&mut records[0]).map_err(|_| ())?)
            } else {
                source.read_many(&mut records).map_err(|_| ())?
            };
            for record in &records[..read] {
                rows.push(record.iter().map(str::to_owned).collect());
            }
            if read < records.len() {
                return Ok(rows);
            }
        }
    }

    #[test]
    fn reads_what_the_csv_crate_reads_on_random_input() {
        // Short random texts over the bytes that matter to CSV, plus a two-byte character
        // and a bare `\r`; every buffer size from tiny (a refill inside every record) up.
        const ALPHABET: [&str; 12] = [
            "a", "b", ",", ",", "\"", "\n", "\r", "\r\n", " ", "é", "\\", "\t",
        ];
        let mut rng = crate::test_rng::TestRng::new(0x2545_f491_4f6c_dd1d);
        for case in 0..4_000 {
            let len = rng.below(40) as usize;
            let input: String = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
                .collect();
            let want = expected(input.as_bytes()).expect("valid UTF-8 by construction");
            for buffer in [1, 3, 7, BUFFER] {
                // One at a time, a few at a time, and more than one pass of whole lines takes.
                for batch in [0, 3, 100] {
                    let got = actual(input.as_bytes(), buffer, batch);
                    assert_eq!(
                        got,
                        Ok(want.clone()),
                        "case {case}, buffer {buffer}, batch {batch}: {input:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn quoted_cells_unquote_and_plain_lines_split() {
        let input = "ID,CUSIP,COMMENT\r\nA,C1,\"say \"\"hi\"\", then\nbye\"\nB,C2,\n\n\nC,C3,x";
        let rows = actual(input.as_bytes(), BUFFER, 32).expect("valid");
        assert_eq!(
            rows,
            vec![
                vec!["ID", "CUSIP", "COMMENT"],
                vec!["A", "C1", "say \"hi\", then\nbye"],
                vec!["B", "C2", ""],
                vec!["C", "C3", "x"],
            ]
        );
    }

    /// The error that stops reading `source`, one record at a time (`batch` 0) or `batch`
    /// at a time; panics if there is none.
    fn first_error(source: &mut CsvSource<&[u8]>, batch: usize) -> SourceError {
        let mut records = vec![Record::new(); batch.max(1)];
        loop {
            let read = if batch == 0 {
                source.next_record(&mut records[0]).map(usize::from)
            } else {
                source.next_records(&mut records)
            };
            match read {
                Ok(0) => panic!("no error"),
                Ok(_) => continue,
                Err(err) => return err,
            }
        }
    }

    #[test]
    fn a_record_of_the_wrong_width_is_reported_at_its_line() {
        let input = "ID,CUSIP\nA,\"C\n1\"\n\nB,C1,extra\n";
        let mut source = CsvSource::new(input.as_bytes(), "csv:t".into()).expect("header");
        let mut record = Record::new();
        assert!(source.next_record(&mut record).expect("row 1"));
        assert_eq!(record.get(1), Some("C\n1"));
        for batch in [0, 1, 32] {
            let mut source = CsvSource::new(input.as_bytes(), "csv:t".into()).expect("header");
            let err = first_error(&mut source, batch);
            let cause = std::error::Error::source(&err).expect("cause").to_string();
            assert_eq!(
                err.to_string(),
                "csv:t is malformed at line 5",
                "batch {batch}"
            );
            assert_eq!(cause, "the record has 3 cells, the header 2");
        }
        // A narrow record on a whole line of the fast gear, after a wide one's line number.
        let input = "ID,CUSIP\nA,C1\nB\n";
        for batch in [0, 32] {
            let mut source = CsvSource::new(input.as_bytes(), "csv:t".into()).expect("header");
            let err = first_error(&mut source, batch);
            assert_eq!(
                err.to_string(),
                "csv:t is malformed at line 3",
                "batch {batch}"
            );
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_reported_on_either_path() {
        for (input, line) in [
            (&b"ID,CUSIP\nA,C\xff\n"[..], 2),
            (&b"ID,CUSIP\nA,C1\n\"B\xff\",C2\n"[..], 3),
            (&b"ID,CUSIP\nA,C1\nB,C2\nC,\xe9\nD,C4\n"[..], 4),
        ] {
            for batch in [0, 1, 32] {
                let mut source = CsvSource::new(input, "csv:t".into()).expect("header");
                let err = first_error(&mut source, batch);
                assert_eq!(
                    err.to_string(),
                    format!("csv:t is malformed at line {line}"),
                    "batch {batch}: {input:?}"
                );
            }
        }
    }

    #[test]
    fn an_empty_file_has_no_columns_and_no_rows() {
        let mut source = CsvSource::new(&b""[..], "csv:t".into()).expect("empty is readable");
        assert!(source.columns().is_empty());
        assert!(!source.next_record(&mut Record::new()).expect("end"));
    }

    #[test]
    fn a_read_error_is_reported_as_such() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        let err = CsvSource::new(Failing, "csv:t".into())
            .err()
            .expect("no header");
        assert_eq!(err.to_string(), "cannot read the header of csv:t");
        let cause = std::error::Error::source(&err).expect("cause").to_string();
        assert_eq!(cause, "disk gone");
    }
}
