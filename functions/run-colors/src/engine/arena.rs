//! The included rows, each stored once, end to end in one byte vector: its ranking values, then
//! its text fields (`ID`, `SOURCE`, `PRICE` as written, the passthrough cells), each behind its
//! length. A million rows cost their bytes and a few more each, where a struct of `String`s
//! would cost four allocations a row; the 100 MB memory target of a million-row run rests on it.

use super::EngineFull;
use crate::order::RankKey;
use crate::row::Row;

/// Where an included row starts in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef(u32);

/// An included row as stored: what the outputs need of it.
#[derive(Debug, Clone)]
pub struct StoredRow<'a> {
    /// The ranking values.
    pub key: RankKey,
    /// `ID`.
    pub id: &'a [u8],
    /// `SOURCE` (empty when missing).
    pub source: &'a [u8],
    /// `PRICE` as the outputs write it (empty when missing).
    pub price: &'a [u8],
    /// The passthrough cells, in input order.
    pub passthrough: Cells<'a>,
    /// Whether no cell holds a byte the writers change ([`Row::plain`]).
    pub plain: bool,
}

/// The rest of a row's fields.
#[derive(Debug, Clone)]
pub struct Cells<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Cells<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.left = self.left.checked_sub(1)?;
        let (&short, rest) = self.rest.split_first()?;
        let (len, rest) = match short {
            LONG => {
                let (long, rest) = rest.split_first_chunk::<4>()?;
                (u32::from_le_bytes(*long) as usize, rest)
            }
            short => (usize::from(short), rest),
        };
        let (field, rest) = rest.split_at_checked(len)?;
        self.rest = rest;
        Some(field)
    }
}

// A field's length is one byte, or this byte and four more.
const LONG: u8 = u8::MAX;
// Which ranking values a row has, in its first byte.
const HAS_RANK: u8 = 1;
const HAS_DATE: u8 = 2;
const HAS_PRICE: u8 = 4;
// ... and whether the row is plain.
const PLAIN: u8 = 8;
// That byte, then RANK, COLOR_DATE and PRICE, eight bytes each (zero when missing).
const HEAD: usize = 1 + 3 * 8;
// ID, SOURCE and PRICE come before the passthrough cells.
const FIXED_FIELDS: usize = 3;

/// The included rows of a run, each with `passthrough` passthrough cells.
pub(super) struct RowArena {
    bytes: Vec<u8>,
    passthrough: usize,
}

impl RowArena {
    /// Room for `bytes` bytes of rows with `passthrough` passthrough cells each.
    pub(super) fn new(passthrough: usize, bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            passthrough,
        }
    }

    /// Stores `row`.
    pub(super) fn push(&mut self, row: &Row<'_>) -> Result<RowRef, EngineFull> {
        let at = RowRef(u32::try_from(self.bytes.len()).map_err(|_| EngineFull)?);
        let key = &row.key;
        let has = |present: bool, flag: u8| if present { flag } else { 0 };
        self.bytes.push(
            has(key.rank.is_some(), HAS_RANK)
                | has(key.color_date.is_some(), HAS_DATE)
                | has(key.price.is_some(), HAS_PRICE)
                | has(row.plain, PLAIN),
        );
        self.bytes
            .extend_from_slice(&key.rank.unwrap_or(0).to_le_bytes());
        self.bytes
            .extend_from_slice(&key.color_date.unwrap_or(0).to_le_bytes());
        self.bytes
            .extend_from_slice(&key.price.unwrap_or(0.0).to_bits().to_le_bytes());
        self.push_field(row.id)?;
        self.push_field(row.source.unwrap_or(""))?;
        self.push_field(row.price_text.as_deref().unwrap_or(""))?;
        for cell in row.passthrough() {
            self.push_field(cell)?;
        }
        Ok(at)
    }

    fn push_field(&mut self, field: &str) -> Result<(), EngineFull> {
        match u8::try_from(field.len()) {
            Ok(short) if short != LONG => self.bytes.push(short),
            _ => {
                let long = u32::try_from(field.len()).map_err(|_| EngineFull)?;
                self.bytes.push(LONG);
                self.bytes.extend_from_slice(&long.to_le_bytes());
            }
        }
        self.bytes.extend_from_slice(field.as_bytes());
        Ok(())
    }

    /// Reads the two cache lines a row at `at` mostly lies in, and returns a byte that means
    /// nothing: see [`Securities`](super::Securities), which reads rows ahead of their use.
    pub(super) fn touch(&self, at: RowRef) -> u8 {
        let at = at.0 as usize;
        let byte = |at: usize| self.bytes.get(at).copied().unwrap_or(0);
        byte(at) ^ byte(at + 63)
    }

    /// The row stored at `at`.
    pub(super) fn get(&self, at: RowRef) -> StoredRow<'_> {
        let row = self.bytes.get(at.0 as usize..).unwrap_or_default();
        let (head, rest) = row.split_first_chunk::<HEAD>().unwrap_or((&[0; HEAD], &[]));
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&head[at..at + 8]);
            u64::from_le_bytes(bytes)
        };
        let flags = head[0];
        let key = RankKey {
            rank: (flags & HAS_RANK != 0).then(|| word(1) as i64),
            color_date: (flags & HAS_DATE != 0).then(|| word(9) as i64),
            price: (flags & HAS_PRICE != 0).then(|| f64::from_bits(word(17))),
        };
        let mut fields = Cells {
            rest,
            left: FIXED_FIELDS + self.passthrough,
        };
        let mut next = || fields.next().unwrap_or_default();
        let (id, source, price) = (next(), next(), next());
        StoredRow {
            key,
            id,
            source,
            price,
            passthrough: fields,
            plain: flags & PLAIN != 0,
        }
    }
}
