//! The run itself: rows from a [`RecordSource`], validated and normalised, filtered by the
//! [`Rules`], ranked per CUSIP and written as the four output files of one run folder.
//!
//! Memory is the constraint that shapes this module. Rows stream in and each is held once: an
//! excluded row as its `excluded.csv` line (written when the input has been read, because a
//! repeated ID is only known then, see [`IdLedger`]), an included row as its ranking values and
//! text in one arena ([`RowArena`]), with its security and place in the arena in a list. After
//! the input the included rows are grouped by security by counting (no sort over all rows),
//! and each security's few rows are ranked as they are written. Peak memory is about the size
//! of the included text and the excluded lines, plus some 50 bytes per row of indexes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::interner::{Interner, StringList};
use crate::output::{
    BLOCK, FileEntry, HashingWriter, Manifest, RowCounts, RulesSummary, Text, is_plain,
    push_csv_field, push_json_string,
};
use crate::repeated_ids::IdLedger;
use crate::rules::{Field, PriceOrder, RowValues, Rules};
use crate::sources::{Record, RecordSource, SourceError};
use crate::values::{self, Micros};
use orabridge_shared::encoding::sha256_hex;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source failed (connection, query, unreadable file).
    #[error("reading the colors failed")]
    Source(#[from] SourceError),
    /// The input's columns cannot be processed.
    #[error("the input has no usable header: {0}")]
    Header(String),
    /// An output file could not be written.
    #[error("writing {} failed", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The included rows do not fit the 4 GiB text arena.
    #[error("the input is too large: more than 4 GiB of included text")]
    TooLarge,
}

impl From<crate::interner::ArenaFull> for RunError {
    fn from(_: crate::interner::ArenaFull) -> Self {
        RunError::TooLarge
    }
}

/// What a run needs besides its source.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings<'a> {
    /// The reference time (`older_than_days`, the run id and folder).
    pub as_of: Micros,
    /// The validated rules.
    pub rules: &'a Rules,
    /// The rules document as read, for its checksum in the manifest.
    pub rules_document: &'a [u8],
    /// The folder the four files are written to (created if needed).
    pub out_dir: &'a Path,
}

/// The data files of a run folder, in publication order (the manifest comes after them).
pub const DATA_FILES: [&str; 3] = ["colors.csv", "colors.json", "excluded.csv"];
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Where each known column sits in the source, and which columns pass through.
#[derive(Debug, Clone)]
struct Columns {
    known: [Option<usize>; 6],
    passthrough: Vec<usize>,
    passthrough_names: Vec<String>,
}

impl Columns {
    fn from_header(header: &[String]) -> Result<Columns, RunError> {
        let mut known = [None; 6];
        let mut passthrough = Vec::new();
        let mut passthrough_names = Vec::new();
        for (index, name) in header.iter().enumerate() {
            // A UTF-8 byte order mark from a spreadsheet export would hide the first column.
            let name = name.trim_start_matches('\u{feff}');
            match Field::from_name(name) {
                Some(field) => {
                    let slot = &mut known[field as usize];
                    if slot.is_some() {
                        return Err(RunError::Header(format!(
                            "column {} appears twice",
                            field.name()
                        )));
                    }
                    *slot = Some(index);
                }
                None => {
                    passthrough.push(index);
                    passthrough_names.push(name.to_owned());
                }
            }
        }
        for required in [Field::Id, Field::Cusip] {
            if known[required as usize].is_none() {
                return Err(RunError::Header(format!(
                    "column {} is missing (found: {})",
                    required.name(),
                    header.join(", ")
                )));
            }
        }
        Ok(Columns {
            known,
            passthrough,
            passthrough_names,
        })
    }

    /// The cell of `field`, trimmed; empty when the column is absent.
    fn cell<'r>(&self, record: &'r Record, field: Field) -> &'r str {
        values::trim(
            self.known[field as usize]
                .and_then(|index| record.get(index))
                .unwrap_or(""),
        )
    }
}

// The ranked files are handed to their writers in chunks of about this size.
const CHUNK: usize = 1 << 16;

// Flags in `Key::flags`.
const NO_RANK: u8 = 1;
const NO_DATE: u8 = 2;
const NO_PRICE: u8 = 4;
// ... and, not about a missing value: the row's text needs no quoting or escaping.
const PLAIN: u8 = 8;

/// The ranking values of one included row, kept at the head of its text in the
/// [`RowArena`], and `row`, where that starts.
#[derive(Debug, Clone, Copy)]
struct Key {
    rank: i64,
    date: Micros,
    price: f64,
    row: u32,
    flags: u8,
}

// A row's head in the arena: its flags, then RANK, COLOR_DATE and PRICE, 8 bytes each.
const HEAD: usize = 1 + 3 * 8;

// Text fields stored per included row, before the passthrough columns.
// (The CUSIP is not among them: it lives once per security in the CUSIP arena.)
const ID: usize = 0;
const SOURCE: usize = 1;
const PRICE: usize = 2;
const FIXED_TEXT_FIELDS: usize = 3;

/// The included rows' text: each row's fields end to end, each behind its length (one byte,
/// or 255 and four more), so a row is one contiguous run of bytes found by its start offset
/// alone. Writing the ranked files visits rows in sorted, not input, order: one cache miss
/// per row instead of one for an offsets table and another for the text.
#[derive(Default)]
struct RowArena {
    bytes: Vec<u8>,
}

impl RowArena {
    fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
        }
    }

    /// Where the next row starts.
    fn next_row(&self) -> Result<u32, RunError> {
        u32::try_from(self.bytes.len()).map_err(|_| RunError::TooLarge)
    }

    fn push_field(&mut self, field: &[u8]) -> Result<(), RunError> {
        match u8::try_from(field.len()) {
            Ok(short) if short < u8::MAX => self.bytes.push(short),
            _ => {
                let long = u32::try_from(field.len()).map_err(|_| RunError::TooLarge)?;
                self.bytes.push(u8::MAX);
                self.bytes.extend_from_slice(&long.to_le_bytes());
            }
        }
        self.bytes.extend_from_slice(field);
        Ok(())
    }

    /// Starts a row with its ranking values (`key.row` is not stored: it is where they are).
    fn push_head(&mut self, key: &Key) {
        self.bytes.push(key.flags);
        self.bytes.extend_from_slice(&key.rank.to_le_bytes());
        self.bytes.extend_from_slice(&key.date.to_le_bytes());
        self.bytes
            .extend_from_slice(&key.price.to_bits().to_le_bytes());
    }

    /// The ranking values of the row starting at `row`.
    fn key(&self, row: u32) -> Key {
        let head = self
            .bytes
            .get(row as usize..)
            .and_then(|rest| rest.first_chunk::<HEAD>())
            .unwrap_or(&[0; HEAD]);
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&head[at..at + 8]);
            u64::from_le_bytes(bytes)
        };
        Key {
            rank: word(1) as i64,
            date: word(9) as i64,
            price: f64::from_bits(word(17)),
            row,
            flags: head[0],
        }
    }

    /// The text fields of the row starting at `row` (the caller takes as many as a row has).
    fn fields(&self, row: u32) -> RowFields<'_> {
        RowFields {
            rest: self.bytes.get(row as usize + HEAD..).unwrap_or_default(),
        }
    }

    /// Reads a byte of each cache line of the first 64 bytes of each of `rows` (a row's head
    /// and most of its text, or all of it): independent loads the CPU overlaps, so the rows
    /// are in cache by the time they are formatted (a portable, safe prefetch).
    fn touch(&self, rows: impl Iterator<Item = u32>) {
        let mut sum = 0u8;
        for row in rows {
            let row = row as usize;
            let first = self.bytes.get(row).copied().unwrap_or(0);
            let last = self.bytes.get(row + 63).copied().unwrap_or(0);
            sum = sum.wrapping_add(first ^ last);
        }
        std::hint::black_box(sum);
    }
}

/// Iterates over the length-prefixed fields of a [`RowArena`].
struct RowFields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RowFields<'a> {
    type Item = Text<'a>;

    fn next(&mut self) -> Option<Text<'a>> {
        let (&short, rest) = self.rest.split_first()?;
        let (len, rest) = if short < u8::MAX {
            (short as usize, rest)
        } else {
            let (long, rest) = rest.split_first_chunk::<4>()?;
            (u32::from_le_bytes(*long) as usize, rest)
        };
        // The rest of the arena is the field's room (see `Text`).
        let field = Text::with_room(rest, len);
        self.rest = rest.get(len..)?;
        Some(field)
    }
}

// Rows whose text is touched ahead of formatting, per batch.
const TOUCH_AHEAD: usize = 32;

// Rows read and pushed together, so the lookups of their CUSIPs overlap in memory.
const BATCH: usize = 32;

// What became of each input row (`Collector::outcomes`): the kind in the top two bits, above
// the row's index among the included rows or the excluded.csv lines.
const INCLUDED: u32 = 0;
const EXCLUDED_INVALID: u32 = 1 << 30;
const EXCLUDED_BY_RULES: u32 = 2 << 30;
const OUTCOME_KIND: u32 = 3 << 30;
// An included row found to repeat an earlier row's ID, in `Collector::included`.
const REMOVED: u32 = u32::MAX;

/// Collects one run's rows.
struct Collector<'a, W: Write> {
    rules: &'a Rules,
    as_of: Micros,
    columns: Columns,
    fields_per_row: usize,
    rows: RowArena,
    // Each included row's CUSIP index (or REMOVED) and start in `rows`, in input order.
    included: Vec<(u32, u32)>,
    // After grouping: the securities' row counts in CUSIP order, and the rows (starts in
    // `rows`) security after security, each security's rows not yet ranked.
    group_sizes: Vec<u32>,
    ranked: Vec<u32>,
    cusips: Interner,
    // After grouping: the CUSIPs of the securities with rows, in CUSIP order, so writing reads
    // them front to back.
    sorted_cusips: StringList,
    // Every non-empty ID's hash, checked for repeats once the input is read.
    ids: IdLedger,
    // Per input row, what became of it (see OUTCOME_KIND).
    outcomes: Vec<u32>,
    // The CUSIPs of the batch being pushed.
    batch_cusips: StringList,
    timestamps: values::TimestampParser,
    excluded: W,
    // The excluded.csv lines, held until the repeated IDs are known, and where each ends.
    excluded_lines: Vec<u8>,
    excluded_ends: Vec<u32>,
    matched: Vec<usize>,
    reasons: String,
    counts: RowCounts,
}

impl<'a, W: Write> Collector<'a, W> {
    fn new(
        rules: &'a Rules,
        as_of: Micros,
        columns: Columns,
        excluded: W,
        size_hint: Option<(usize, usize)>,
    ) -> Self {
        let fields_per_row = FIXED_TEXT_FIELDS + columns.passthrough.len();
        let (rows, bytes) = size_hint.unwrap_or((0, 0));
        Self {
            rules,
            as_of,
            columns,
            fields_per_row,
            rows: RowArena::with_capacity(bytes),
            included: Vec::with_capacity(rows),
            group_sizes: Vec::new(),
            ranked: Vec::new(),
            // Securities typically have several colors each.
            cusips: Interner::with_capacity(rows / 4, rows / 4 * 9),
            sorted_cusips: StringList::default(),
            ids: IdLedger::with_capacity(rows),
            outcomes: Vec::with_capacity(rows),
            batch_cusips: StringList::with_capacity(BATCH, BATCH * 16),
            timestamps: values::TimestampParser::new(),
            excluded,
            excluded_lines: Vec::with_capacity(rows * 4),
            excluded_ends: Vec::with_capacity(rows / 4),
            matched: Vec::new(),
            reasons: String::new(),
            counts: RowCounts::default(),
        }
    }

    /// The ID of the row starting at `row`.
    fn id(&self, row: u32) -> &[u8] {
        self.rows.fields(row).next().map_or(b"", Text::bytes)
    }

    /// Pushes a batch of rows. Their CUSIPs are hashed and their table slots read first, so
    /// the cache misses of a batch overlap (see [`Interner::peek`]).
    fn push_batch(&mut self, records: &[Record]) -> Result<(), RunError> {
        // The batch's CUSIPs, upper-cased once here for both their hash and their row.
        let mut cusips = std::mem::take(&mut self.batch_cusips);
        cusips.clear();
        let mut hashes = [(0u64, 0u64); BATCH];
        for (index, (hash, record)) in hashes.iter_mut().zip(records).enumerate() {
            cusips.push_uppercase(self.columns.cell(record, Field::Cusip))?;
            *hash = (
                self.ids.hash(self.columns.cell(record, Field::Id)),
                self.cusips.hash(cusips.get(index as u32)),
            );
        }
        // The reads in a loop of their own: with nothing between them, the CPU keeps all of
        // them in flight at once (with the hashing between them, only two or three).
        let mut peeked = 0u64;
        for &(_, cusip_hash) in &hashes[..records.len()] {
            peeked = peeked.wrapping_add(self.cusips.peek(cusip_hash));
        }
        // Most rows find their CUSIP there already: start reading the text it is compared with.
        let mut peeked_text = 0u8;
        for &(_, cusip_hash) in &hashes[..records.len()] {
            peeked_text = peeked_text.wrapping_add(self.cusips.peek_text(cusip_hash));
        }
        std::hint::black_box((peeked, peeked_text));
        let pushed =
            records
                .iter()
                .zip(hashes)
                .enumerate()
                .try_for_each(|(index, (record, hashes))| {
                    self.push(record, cusips.get(index as u32), hashes)
                });
        self.batch_cusips = cusips;
        pushed
    }

    /// Pushes one row whose upper-cased `cusip` and `(ID, CUSIP)` hashes the batch worked out.
    fn push(
        &mut self,
        record: &Record,
        cusip: &str,
        (id_hash, cusip_hash): (u64, u64),
    ) -> Result<(), RunError> {
        self.counts.input += 1;
        // Row numbers and the outcomes' indices share 30 bits.
        let input_row = u32::try_from(self.outcomes.len())
            .ok()
            .filter(|&row| row < EXCLUDED_INVALID)
            .ok_or(RunError::TooLarge)?;
        let columns = &self.columns;
        let id = columns.cell(record, Field::Id);
        let source = Some(columns.cell(record, Field::Source)).filter(|s| !s.is_empty());
        let rank_text = columns.cell(record, Field::Rank);
        let date_text = columns.cell(record, Field::ColorDate);
        let price_text = columns.cell(record, Field::Price);

        let mut invalid: [Option<&str>; 5] = [None; 5];
        // A repeated ID is found once the input is read (`settle_repeated_ids`).
        if id.is_empty() {
            invalid[0] = Some("invalid:ID");
        } else {
            self.ids.note(id_hash, input_row);
        }
        if cusip.is_empty() {
            invalid[1] = Some("invalid:CUSIP");
        }
        let rank = if rank_text.is_empty() {
            None
        } else {
            let rank = values::parse_rank(rank_text);
            if rank.is_none() {
                invalid[2] = Some("invalid:RANK");
            }
            rank
        };
        let date = if date_text.is_empty() {
            None
        } else {
            let date = self.timestamps.parse(date_text);
            if date.is_none() {
                invalid[3] = Some("invalid:COLOR_DATE");
            }
            date
        };
        let price = if price_text.is_empty() {
            None
        } else {
            let price = values::parse_price(price_text);
            if price.is_none() {
                invalid[4] = Some("invalid:PRICE");
            }
            price
        };
        if invalid.iter().any(Option::is_some) {
            self.reasons.clear();
            for reason in invalid.iter().flatten() {
                self.push_reason(reason);
            }
            return self.exclude(id, cusip, EXCLUDED_INVALID);
        }

        let values = RowValues {
            id,
            cusip,
            source,
            rank,
            color_date: date,
            price: price.as_ref().map(|p| p.value),
        };
        self.matched.clear();
        self.rules.evaluate(&values, self.as_of, &mut self.matched);
        if !self.matched.is_empty() {
            self.reasons.clear();
            for index in 0..self.matched.len() {
                let rule = self.rules.id(self.matched[index]);
                if !self.reasons.is_empty() {
                    self.reasons.push(';');
                }
                self.reasons.push_str(rule);
            }
            return self.exclude(id, cusip, EXCLUDED_BY_RULES);
        }

        let row = self.rows.next_row()?;
        let (cusip_id, _) = self.cusips.intern_hashed(cusip, cusip_hash)?;
        let price_canonical = price.as_ref().map_or("", |p| p.text.as_ref());
        self.rows.push_head(&Key {
            rank: rank.unwrap_or(0),
            date: date.unwrap_or(0),
            price: price.as_ref().map_or(0.0, |p| p.value),
            row,
            flags: (if rank.is_none() { NO_RANK } else { 0 })
                | (if date.is_none() { NO_DATE } else { 0 })
                | (if price.is_none() { NO_PRICE } else { 0 })
                | (if record.is_plain() { PLAIN } else { 0 }),
        });
        for text in [id, source.unwrap_or(""), price_canonical] {
            self.rows.push_field(text.as_bytes())?;
        }
        for &index in &self.columns.passthrough {
            self.rows
                .push_field(record.get(index).unwrap_or("").as_bytes())?;
        }
        // The next row's offset must fit too.
        self.rows.next_row()?;
        self.outcomes.push(INCLUDED | self.included.len() as u32);
        self.included.push((cusip_id, row));
        self.counts.included += 1;
        Ok(())
    }

    /// The CUSIP of the security at `position` in the sorted output.
    fn cusip_at(&self, position: u32) -> Text<'_> {
        self.sorted_cusips.text(position)
    }

    fn push_reason(&mut self, reason: &str) {
        if !self.reasons.is_empty() {
            self.reasons.push(';');
        }
        self.reasons.push_str(reason);
    }

    /// Notes the excluded row's line, with the reasons gathered in `self.reasons`; `kind` is
    /// why ([`EXCLUDED_INVALID`] or [`EXCLUDED_BY_RULES`]).
    fn exclude(&mut self, id: &str, cusip: &str, kind: u32) -> Result<(), RunError> {
        self.counts.excluded += 1;
        self.outcomes.push(kind | self.excluded_ends.len() as u32);
        let lines = &mut self.excluded_lines;
        push_csv_field(lines, id);
        lines.push(b',');
        push_csv_field(lines, cusip);
        lines.push(b',');
        push_csv_field(lines, &self.reasons);
        lines.push(b'\n');
        let end = u32::try_from(lines.len()).map_err(|_| RunError::TooLarge)?;
        self.excluded_ends.push(end);
        Ok(())
    }

    /// Excluded line `index`, with its `\n`.
    fn excluded_line(&self, index: u32) -> &[u8] {
        self.excluded_span(index..index + 1)
    }

    /// Excluded lines `lines`, stored end to end.
    fn excluded_span(&self, lines: std::ops::Range<u32>) -> &[u8] {
        let end_of = |line: u32| match line.checked_sub(1) {
            Some(before) => self.excluded_ends[before as usize] as usize,
            None => 0,
        };
        &self.excluded_lines[end_of(lines.start)..end_of(lines.end)]
    }

    /// The ID of input row `row`, as read (unquoted).
    fn id_of(&self, row: u32) -> std::borrow::Cow<'_, [u8]> {
        let outcome = self.outcomes[row as usize];
        let index = outcome & !OUTCOME_KIND;
        match outcome & OUTCOME_KIND {
            INCLUDED => self.id(self.included[index as usize].1).into(),
            _ => unquote_csv(csv_field(self.excluded_line(index), 0)),
        }
    }

    /// Finds the rows whose ID an earlier row has and turns each into an `invalid:ID`
    /// exclusion, as if it had been caught on arrival: an included row leaves its security,
    /// an excluded one gets `invalid:ID` before its other invalid reasons (or instead of the
    /// rules it matched, which are not applied to invalid rows). Then writes `excluded.csv`
    /// in input order.
    fn settle_repeated_ids(&mut self) -> Result<(), RunError> {
        let repeats = self.ids.repeats(|a, b| self.id_of(a) == self.id_of(b));
        let lines = if repeats.is_empty() {
            std::mem::take(&mut self.excluded_lines)
        } else {
            self.excluded_with_repeats(&repeats)
        };
        self.excluded_lines = Vec::new();
        self.excluded
            .write_all(&lines)
            .map_err(|source| RunError::Write {
                path: PathBuf::from("excluded.csv"),
                source,
            })
    }

    /// The excluded.csv lines with the `repeats` (input rows, ascending) changed or added.
    fn excluded_with_repeats(&mut self, repeats: &[u32]) -> Vec<u8> {
        let mut lines = Vec::with_capacity(self.excluded_lines.len() + repeats.len() * 32);
        let mut next_line = 0u32;
        for &row in repeats {
            let outcome = self.outcomes[row as usize];
            let index = outcome & !OUTCOME_KIND;
            // The lines of the rows before this one, as they were. Before the `index`-th
            // included row, `row - index` rows were excluded.
            let upto = match outcome & OUTCOME_KIND {
                INCLUDED => row - index,
                _ => index,
            };
            lines.extend_from_slice(self.excluded_span(next_line..upto));
            next_line = upto;
            match outcome & OUTCOME_KIND {
                INCLUDED => {
                    let (cusip, start) = self.included[index as usize];
                    push_csv_field(&mut lines, self.id(start));
                    lines.push(b',');
                    push_csv_field(&mut lines, self.cusips.get(cusip));
                    lines.extend_from_slice(b",invalid:ID\n");
                    self.included[index as usize].0 = REMOVED;
                    self.counts.included -= 1;
                    self.counts.excluded += 1;
                }
                kind => {
                    let line = self.excluded_line(index);
                    let reasons = csv_field(line, 2);
                    let id_and_cusip = &line[..line.len() - reasons.len() - 1];
                    lines.extend_from_slice(id_and_cusip);
                    lines.extend_from_slice(b"invalid:ID");
                    // Other invalid reasons stay (they are plain text: no quoting).
                    if kind == EXCLUDED_INVALID {
                        lines.push(b';');
                        lines.extend_from_slice(reasons);
                    }
                    lines.push(b'\n');
                    next_line += 1;
                }
            }
        }
        lines.extend_from_slice(self.excluded_span(next_line..self.excluded_ends.len() as u32));
        lines
    }

    /// Groups the included rows by security, securities in CUSIP order: counted, not
    /// compared (a row's place is its security's start plus the rows before it), so the only
    /// comparison sorts are of the securities and, when each is written, of its few rows.
    fn group(&mut self) {
        // Counted here, in one tight pass, rather than row by row as they came: the CPU then
        // overlaps the cache misses of the counts.
        let mut rows_per_cusip = vec![0u32; self.cusips.len()];
        for &(cusip, _) in &self.included {
            if cusip != REMOVED {
                rows_per_cusip[cusip as usize] += 1;
            }
        }
        let mut order = self.cusips.sorted();
        // A security whose rows all repeated earlier IDs has none left.
        order.retain(|&cusip| rows_per_cusip[cusip as usize] > 0);
        // Where the next row of each security (by CUSIP index) goes in `ranked`.
        let mut next = vec![0u32; rows_per_cusip.len()];
        let mut start = 0u32;
        self.group_sizes = Vec::with_capacity(order.len());
        for &cusip in &order {
            next[cusip as usize] = start;
            let size = rows_per_cusip[cusip as usize];
            self.group_sizes.push(size);
            start += size;
        }
        let mut ranked = vec![0u32; start as usize];
        for &(cusip, row) in &self.included {
            if cusip == REMOVED {
                continue;
            }
            let slot = &mut next[cusip as usize];
            ranked[*slot as usize] = row;
            *slot += 1;
        }
        self.included = Vec::new();
        self.ranked = ranked;
        self.sorted_cusips = self.cusips.strings().reordered(&order);
    }

    /// The ranking within a security: RANK ascending, COLOR_DATE newest first, PRICE in the
    /// document's order (missing last at every level), then ID.
    fn ranking(&self, a: &Key, b: &Key, price_order: PriceOrder) -> std::cmp::Ordering {
        (a.flags & NO_RANK)
            .cmp(&(b.flags & NO_RANK))
            .then_with(|| a.rank.cmp(&b.rank))
            .then_with(|| (a.flags & NO_DATE).cmp(&(b.flags & NO_DATE)))
            .then_with(|| b.date.cmp(&a.date))
            .then_with(|| (a.flags & NO_PRICE).cmp(&(b.flags & NO_PRICE)))
            .then_with(|| {
                let by_price = a.price.total_cmp(&b.price);
                match price_order {
                    PriceOrder::Desc => by_price.reverse(),
                    PriceOrder::Asc => by_price,
                }
            })
            .then_with(|| self.id(a.row).cmp(self.id(b.row)))
    }

    /// Reads the rows `TOUCH_AHEAD` places after `at` in `ranked`, so their cache misses
    /// overlap instead of stalling the writer one at a time.
    fn touch_ahead(&self, at: usize) {
        let start = (at + TOUCH_AHEAD).min(self.ranked.len());
        let end = (start + TOUCH_AHEAD).min(self.ranked.len());
        self.rows.touch(self.ranked[start..end].iter().copied());
    }

    fn write_ranked(
        &self,
        price_order: PriceOrder,
        csv_out: &mut impl Write,
        json_out: &mut impl Write,
    ) -> std::io::Result<u64> {
        let mut csv = Vec::with_capacity(2 * CHUNK);
        let mut json = Vec::with_capacity(2 * CHUNK);
        csv.extend_from_slice(
            b"CUSIP,POSITION,IS_PARENT,PARENT_ID,ID,SOURCE,RANK,COLOR_DATE,PRICE",
        );
        for name in &self.columns.passthrough_names {
            csv.push(b',');
            push_csv_field(&mut csv, name);
        }
        csv.push(b'\n');
        json.push(b'[');
        // `,"NAME":` for each passthrough column, escaped once instead of once a row, with
        // room after it (see `Text`).
        let json_keys: Vec<(Vec<u8>, usize)> = self
            .columns
            .passthrough_names
            .iter()
            .map(|name| {
                let mut key = vec![b','];
                push_json_string(&mut key, name);
                key.push(b':');
                let len = key.len();
                key.resize(len + BLOCK, 0);
                (key, len)
            })
            .collect();
        let json_keys: Vec<Text<'_>> = json_keys
            .iter()
            .map(|(key, len)| Text::with_room(key, *len))
            .collect();
        let mut stamp = Vec::with_capacity(32);
        let mut stamps = values::TimestampWriter::new();
        let mut fields: Vec<Text<'_>> = Vec::with_capacity(self.fields_per_row);
        let mut group: Vec<Key> = Vec::new();
        let mut parent_id = Text::new(b"");
        let mut parent_plain = true;
        let mut written = 0usize;
        for (security, &size) in self.group_sizes.iter().enumerate() {
            group.clear();
            let rows = &self.ranked[written..written + size as usize];
            group.extend(rows.iter().map(|&row| self.rows.key(row)));
            group.sort_unstable_by(|a, b| self.ranking(a, b, price_order));
            if security > 0 {
                json.push(b',');
            }
            let cusip = self.cusip_at(security as u32);
            let cusip_plain = is_plain(cusip.bytes());
            json.extend_from_slice(b"\n{\"cusip\":");
            Cell::new(cusip, cusip_plain).json(&mut json);
            json.extend_from_slice(b",\"parent\":");
            for (position, key) in group.iter().enumerate() {
                if written.is_multiple_of(TOUCH_AHEAD) {
                    self.touch_ahead(written);
                }
                written += 1;
                if position == 1 {
                    json.extend_from_slice(b",\"children\":[");
                } else if position > 1 {
                    json.push(b',');
                }
                fields.clear();
                fields.extend(self.rows.fields(key.row).take(self.fields_per_row));
                let plain = key.flags & PLAIN != 0;
                if position == 0 {
                    parent_id = fields[ID];
                    parent_plain = plain;
                }
                // Formatted once for both files.
                stamp.clear();
                if key.flags & NO_DATE == 0 {
                    stamps.write(&mut stamp, key.date);
                }
                let stamp_len = stamp.len();
                stamp.resize(stamp_len + BLOCK, 0);
                let row = RankedRow {
                    key,
                    cusip: Cell::new(cusip, cusip_plain),
                    position,
                    parent_id: Cell::new(parent_id, parent_plain),
                    fields: &fields,
                    plain,
                    stamp: Text::with_room(&stamp, stamp_len),
                };
                write_csv_row(&mut csv, &row);
                write_json_row(&mut json, &row, &json_keys);
                // Hand the buffers to the writers in chunks: bounded memory, few syscalls.
                if csv.len() > CHUNK {
                    csv_out.write_all(&csv)?;
                    csv.clear();
                }
                if json.len() > CHUNK {
                    json_out.write_all(&json)?;
                    json.clear();
                }
            }
            close_security(&mut json, group.len());
        }
        let securities = self.group_sizes.len() as u64;
        if securities > 0 {
            json.extend_from_slice(b"\n]\n");
        } else {
            json.extend_from_slice(b"]\n");
        }
        csv_out.write_all(&csv)?;
        json_out.write_all(&json)?;
        Ok(securities)
    }
}

/// A cell of the ranked output and whether it is [plain](is_plain), so it can be copied.
#[derive(Clone, Copy)]
struct Cell<'a> {
    text: Text<'a>,
    plain: bool,
}

impl<'a> Cell<'a> {
    fn new(text: Text<'a>, plain: bool) -> Self {
        Self { text, plain }
    }

    #[inline]
    fn csv(self, out: &mut Vec<u8>) {
        if self.plain {
            self.text.push_to(out);
        } else {
            push_csv_field(out, self.text.bytes());
        }
    }

    #[inline]
    fn json(self, out: &mut Vec<u8>) {
        if self.plain {
            out.push(b'"');
            self.text.push_to(out);
            out.push(b'"');
        } else {
            push_json_string(out, self.text.bytes());
        }
    }
}

/// One row of the ranked output, as both writers need it.
struct RankedRow<'a> {
    key: &'a Key,
    cusip: Cell<'a>,
    position: usize,
    parent_id: Cell<'a>,
    fields: &'a [Text<'a>],
    // Whether all of `fields` are plain.
    plain: bool,
    stamp: Text<'a>,
}

impl RankedRow<'_> {
    fn field(&self, index: usize) -> Cell<'_> {
        Cell::new(self.fields[index], self.plain)
    }
}

fn write_csv_row(out: &mut Vec<u8>, row: &RankedRow<'_>) {
    row.cusip.csv(out);
    out.push(b',');
    push_int(out, row.position as i64);
    if row.position == 0 {
        out.extend_from_slice(b",Y,,");
    } else {
        out.extend_from_slice(b",N,");
        row.parent_id.csv(out);
        out.push(b',');
    }
    row.field(ID).csv(out);
    out.push(b',');
    row.field(SOURCE).csv(out);
    out.push(b',');
    if row.key.flags & NO_RANK == 0 {
        push_int(out, row.key.rank);
    }
    out.push(b',');
    row.stamp.push_to(out);
    out.push(b',');
    row.fields[PRICE].push_to(out);
    for index in FIXED_TEXT_FIELDS..row.fields.len() {
        out.push(b',');
        row.field(index).csv(out);
    }
    out.push(b'\n');
}

fn write_json_row(out: &mut Vec<u8>, row: &RankedRow<'_>, passthrough_keys: &[Text<'_>]) {
    out.extend_from_slice(b"{\"POSITION\":");
    push_int(out, row.position as i64);
    if row.position == 0 {
        out.extend_from_slice(b",\"IS_PARENT\":\"Y\",\"PARENT_ID\":null,\"ID\":");
    } else {
        out.extend_from_slice(b",\"IS_PARENT\":\"N\",\"PARENT_ID\":");
        row.parent_id.json(out);
        out.extend_from_slice(b",\"ID\":");
    }
    row.field(ID).json(out);
    out.extend_from_slice(b",\"SOURCE\":");
    match row.fields[SOURCE].bytes() {
        b"" => out.extend_from_slice(b"null"),
        _ => row.field(SOURCE).json(out),
    }
    out.extend_from_slice(b",\"RANK\":");
    if row.key.flags & NO_RANK == 0 {
        push_int(out, row.key.rank);
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b",\"COLOR_DATE\":");
    if !row.stamp.bytes().is_empty() {
        out.push(b'"');
        row.stamp.push_to(out);
        out.push(b'"');
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b",\"PRICE\":");
    match row.fields[PRICE].bytes() {
        b"" => out.extend_from_slice(b"null"),
        // The canonical price text is a valid JSON number.
        _ => row.fields[PRICE].push_to(out),
    }
    for (key, index) in passthrough_keys
        .iter()
        .zip(FIXED_TEXT_FIELDS..row.fields.len())
    {
        key.push_to(out);
        row.field(index).json(out);
    }
    out.push(b'}');
}

/// Ends a security's JSON object: its children list, empty when it has only a parent.
fn close_security(json: &mut Vec<u8>, rows: usize) {
    if rows == 1 {
        json.extend_from_slice(b",\"children\":[");
    }
    json.extend_from_slice(b"]}");
}

/// Field `index` of a line [`push_csv_field`] wrote, as written (quoted or not).
fn csv_field(line: &[u8], index: usize) -> &[u8] {
    let mut rest = line;
    for _ in 0..index {
        rest = rest.get(csv_field(rest, 0).len() + 1..).unwrap_or_default();
    }
    if rest.first() == Some(&b'"') {
        // The closing quote is the first not doubled.
        let mut at = 1;
        while let Some(quote) = rest.get(at..).and_then(|r| memchr::memchr(b'"', r)) {
            at += quote + 1;
            if rest.get(at) != Some(&b'"') {
                return &rest[..at];
            }
            at += 1;
        }
        rest
    } else {
        let end = memchr::memchr2(b',', b'\n', rest).unwrap_or(rest.len());
        &rest[..end]
    }
}

/// A field [`csv_field`] found, unquoted.
fn unquote_csv(field: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match field
        .strip_prefix(b"\"")
        .and_then(|f| f.strip_suffix(b"\""))
    {
        Some(quoted) if quoted.contains(&b'"') => {
            let mut text = Vec::with_capacity(quoted.len());
            let mut parts = quoted.split(|&b| b == b'"').peekable();
            while let Some(part) = parts.next() {
                text.extend_from_slice(part);
                // `""` inside quotes is one quote: skip the empty part between the pair.
                if parts.peek().is_some() {
                    text.push(b'"');
                    parts.next();
                }
            }
            text.into()
        }
        Some(quoted) => quoted.into(),
        None => field.into(),
    }
}

/// Appends `value` in decimal (a position or rank: nearly always one digit).
fn push_int(out: &mut Vec<u8>, value: i64) {
    match u8::try_from(value) {
        Ok(digit @ 0..=9) => out.push(b'0' + digit),
        _ => out.extend_from_slice(itoa(value, &mut [0; 20])),
    }
}

/// `value` in decimal, written at the end of `buf`.
fn itoa(value: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = value.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// A hashed, buffered output file. The ranked files are written in chunks larger than
/// `buffer`, which then go straight to the file instead of through another copy.
fn create(
    dir: &Path,
    name: &str,
    buffer: usize,
) -> Result<HashingWriter<BufWriter<File>>, RunError> {
    let path = dir.join(name);
    let file = File::create(&path).map_err(|source| RunError::Write { path, source })?;
    Ok(HashingWriter::new(BufWriter::with_capacity(buffer, file)))
}

fn finish(
    dir: &Path,
    name: &str,
    writer: HashingWriter<BufWriter<File>>,
) -> Result<FileEntry, RunError> {
    let (size, sha256) = writer.finish().map_err(|source| RunError::Write {
        path: dir.join(name),
        source,
    })?;
    Ok(FileEntry {
        name: name.to_owned(),
        size,
        sha256,
    })
}

/// Reads every row from `source`, applies the rules, ranks, and writes `colors.csv`,
/// `colors.json`, `excluded.csv` and then `manifest.json` into `settings.out_dir`.
pub fn run(
    source: &mut impl RecordSource,
    settings: &RunSettings<'_>,
) -> Result<Manifest, RunError> {
    let started = Instant::now();
    let dir = settings.out_dir;
    std::fs::create_dir_all(dir).map_err(|source| RunError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let columns = Columns::from_header(source.columns())?;
    let mut excluded = create(dir, "excluded.csv", 1 << 17)?;
    excluded
        .write_all(b"ID,CUSIP,REASONS\n")
        .map_err(|source| RunError::Write {
            path: dir.join("excluded.csv"),
            source,
        })?;
    let mut collector = Collector::new(
        settings.rules,
        settings.as_of,
        columns,
        excluded,
        source.size_hint(),
    );
    let mut batch = vec![Record::new(); BATCH];
    loop {
        let filled = source.next_records(&mut batch)?;
        collector
            .push_batch(&batch[..filled])
            .map_err(|err| with_dir(err, dir))?;
        if filled < BATCH {
            break;
        }
    }
    collector
        .settle_repeated_ids()
        .map_err(|err| with_dir(err, dir))?;
    collector.group();

    let mut colors_csv = create(dir, "colors.csv", CHUNK)?;
    let mut colors_json = create(dir, "colors.json", CHUNK)?;
    let securities = collector
        .write_ranked(
            settings.rules.price_order(),
            &mut colors_csv,
            &mut colors_json,
        )
        .map_err(|source| RunError::Write {
            path: dir.join("colors.csv"),
            source,
        })?;
    let Collector {
        counts, excluded, ..
    } = collector;
    let files = vec![
        finish(dir, "colors.csv", colors_csv)?,
        finish(dir, "colors.json", colors_json)?,
        finish(dir, "excluded.csv", excluded)?,
    ];

    let mut digest_input = String::new();
    for file in &files {
        digest_input.push_str(&file.sha256);
    }
    let run_id = format!(
        "{}-{}",
        compact_timestamp(settings.as_of),
        &sha256_hex(digest_input.as_bytes())[..8]
    );
    let manifest = Manifest {
        run_id,
        as_of: values::format_timestamp(settings.as_of),
        source: source.describe(),
        rows: counts,
        securities,
        rules: RulesSummary {
            count: settings.rules.len(),
            price_order: match settings.rules.price_order() {
                PriceOrder::Desc => "desc".into(),
                PriceOrder::Asc => "asc".into(),
            },
            sha256: sha256_hex(settings.rules_document),
        },
        duration_ms: started.elapsed().as_millis() as u64,
        files,
    };
    let path = dir.join(MANIFEST_FILE);
    let mut body = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    body.push(b'\n');
    std::fs::write(&path, body).map_err(|source| RunError::Write { path, source })?;
    Ok(manifest)
}

fn with_dir(err: RunError, dir: &Path) -> RunError {
    match err {
        RunError::Write { path, source } if path.is_relative() => RunError::Write {
            path: dir.join(path),
            source,
        },
        other => other,
    }
}

/// `2026-11-20T16:00:00Z` → `20261120T160000Z`.
fn compact_timestamp(micros: Micros) -> String {
    values::format_timestamp(micros - micros.rem_euclid(1_000_000)).replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_arena_gives_back_every_key_and_field_of_every_row() {
        let long = "x".repeat(300);
        let edge = "y".repeat(255);
        let rows: [(Key, &[&str]); 3] = [
            (
                Key {
                    rank: -3,
                    date: i64::MIN,
                    price: -0.0,
                    row: 0,
                    flags: PLAIN,
                },
                &["ID-1", "", "99.5", "a,b"],
            ),
            (
                Key {
                    rank: i64::MAX,
                    date: 1,
                    price: f64::MAX,
                    row: 0,
                    flags: NO_DATE,
                },
                &["ID-2", long.as_str(), "", edge.as_str()],
            ),
            (
                Key {
                    rank: 0,
                    date: -1,
                    price: 1e-300,
                    row: 0,
                    flags: NO_RANK | NO_PRICE,
                },
                &["", "ü", "1", ""],
            ),
        ];
        let mut arena = RowArena::default();
        let mut starts = Vec::new();
        for (key, fields) in rows {
            starts.push(arena.next_row().unwrap());
            arena.push_head(&key);
            for field in fields {
                arena.push_field(field.as_bytes()).unwrap();
            }
        }
        for (start, (key, fields)) in starts.into_iter().zip(rows) {
            let read = arena.key(start);
            assert_eq!(
                (
                    read.rank,
                    read.date,
                    read.price.to_bits(),
                    read.flags,
                    read.row
                ),
                (key.rank, key.date, key.price.to_bits(), key.flags, start)
            );
            let read: Vec<&[u8]> = arena
                .fields(start)
                .take(fields.len())
                .map(Text::bytes)
                .collect();
            let expected: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
            assert_eq!(read, expected);
        }
        // Past the last row there is nothing, not a panic.
        assert!(arena.fields(arena.next_row().unwrap()).next().is_none());
        assert_eq!(arena.key(arena.next_row().unwrap()).flags, 0);
    }

    #[test]
    fn fields_of_an_excluded_line_are_found_and_unquoted() {
        let cells = [
            "",
            "A1",
            "a,b",
            "say \"hi\"",
            "\"",
            "x\ny",
            "\"\"",
            ",",
            "é",
        ];
        for id in cells {
            for reasons in cells {
                let mut line = Vec::new();
                push_csv_field(&mut line, id);
                line.push(b',');
                push_csv_field(&mut line, "C1");
                line.push(b',');
                push_csv_field(&mut line, reasons);
                line.push(b'\n');
                assert_eq!(
                    &*unquote_csv(csv_field(&line, 0)),
                    id.as_bytes(),
                    "{line:?}"
                );
                assert_eq!(csv_field(&line, 1), b"C1", "{line:?}");
                assert_eq!(&*unquote_csv(csv_field(&line, 2)), reasons.as_bytes());
            }
        }
    }
}
