//! The reader's two gears: a line that is a whole record by itself, split where its commas
//! are ([`split_line`]), and any other record, read by `csv_core`'s state machine
//! ([`QuotedReader`]).

use super::Record;

/// Splits one line (no `\n`) into `record` when it is a whole record by itself: cells
/// without quotes, or quoted cells that close on the line and are followed by a comma or its
/// end. `false` for anything else (a bare CR, a quoted cell going on past the line, a quote
/// inside a cell), which is csv_core's to read. A CR ending the line is part of its `\r\n`.
pub(super) fn split_line(line: &str, record: &mut Record, cell: &mut String) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    match memchr::memchr2(b'"', b'\r', line.as_bytes()) {
        None => {
            record.set_split(line, b',');
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

/// The slow gear: `csv_core` and the buffers it unquotes into.
pub(super) struct QuotedReader {
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
    pub(super) fn start(&mut self) {
        // The fast gear read the lines in between: csv_core must not carry its state (a
        // pending `\r\n`, say) over them.
        self.core.reset();
        self.output_len = 0;
        self.ends_len = 0;
    }

    /// Feeds `input`; returns what csv_core says and how many bytes it took.
    pub(super) fn feed(&mut self, input: &[u8]) -> (csv_core::ReadRecordResult, usize) {
        let (result, consumed, written, ended) = self.core.read_record(
            input,
            &mut self.output[self.output_len..],
            &mut self.ends[self.ends_len..],
        );
        self.output_len += written;
        self.ends_len += ended;
        (result, consumed)
    }

    pub(super) fn grow_output(&mut self) {
        self.output.resize(self.output.len() * 2, 0);
    }

    pub(super) fn grow_ends(&mut self) {
        self.ends.resize(self.ends.len() * 2, 0);
    }

    /// Puts the record read into `record`; `false` if its text is not UTF-8.
    pub(super) fn fill(&self, record: &mut Record) -> bool {
        let Ok(text) = std::str::from_utf8(&self.output[..self.output_len]) else {
            return false;
        };
        record.clear();
        let mut start = 0;
        for &end in &self.ends[..self.ends_len] {
            // The fields are stored without their delimiters, so two halves of a character on
            // either side of a comma (`"\xd3",\xb4`) join into valid text: each field must be.
            let Some(field) = text.get(start..end) else {
                return false;
            };
            record.push_field(field);
            start = end;
        }
        true
    }
}
