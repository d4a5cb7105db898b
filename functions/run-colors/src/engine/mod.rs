//! The run's rows between reading and writing: an [`Engine`] takes each row as included (with
//! its values) or excluded (with why), then [`Engine::finish`] settles repeated IDs and groups
//! the included rows by security into a [`Ranked`] run, which the writers read security by
//! security, each security's colors in [ranking order](crate::order).
//!
//! Memory is what shapes it: a million-row run must stay under 100 MB. Each row is held once,
//! an included one in the [`arena`] (its CUSIP beside it, see [`cusips`]), an excluded one in
//! [`excluded`]; a repeated ID is found once the input is read ([`ledger`]), since any earlier
//! row, included or not, keeps its ID.

mod arena;
mod cusips;
mod excluded;
mod ledger;
#[cfg(test)]
mod tests;
mod texts;

use serde::{Deserialize, Serialize};

pub use arena::{Cells, RowRef, StoredRow};
pub use excluded::{ExcludedRow, Exclusion};

use crate::order;
use crate::row::{InvalidColumns, Row};
use crate::rules::{Field, PriceOrder};
use arena::RowArena;
use cusips::{Cusip, Cusips};
use excluded::ExcludedRows;
use ledger::IdLedger;
use texts::TextList;

/// The run holds more than its 32-bit indexes address: over 4 GiB of text, or 2^32 rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the input is too large: more than 4 GiB of included text or 2^32 rows")]
pub struct EngineFull;

/// Row counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RowCounts {
    /// Rows read from the source.
    pub input: u64,
    /// Rows ranked into `colors.csv`.
    pub included: u64,
    /// Rows in `excluded.csv` (invalid or matched by a rule).
    pub excluded: u64,
}

/// What became of an input row: its index among the included or the excluded rows.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Included(u32),
    Excluded(u32),
}

/// An included row: its security and where it is stored.
#[derive(Debug, Clone, Copy)]
struct Included {
    cusip: Cusip,
    row: RowRef,
}

/// Collects one run's rows, in input order.
pub struct Engine {
    rows: RowArena,
    cusips: Cusips,
    included: Vec<Included>,
    excluded: ExcludedRows,
    ids: IdLedger,
    outcomes: Vec<Outcome>,
}

impl Engine {
    /// An engine for rows with `passthrough` passthrough cells; `size_hint` is roughly how many
    /// rows and bytes are coming, when the source can tell, so the stores are reserved once.
    pub fn new(passthrough: usize, size_hint: Option<(usize, usize)>) -> Self {
        let (rows, bytes) = size_hint.unwrap_or((0, 0));
        Self {
            rows: RowArena::new(passthrough, bytes),
            cusips: Cusips::default(),
            included: Vec::with_capacity(rows),
            excluded: ExcludedRows::with_capacity(rows / 4),
            ids: IdLedger::with_capacity(rows),
            outcomes: Vec::with_capacity(rows),
        }
    }

    /// The number the next input row gets, and notes its ID (an empty ID repeats nothing).
    fn arrive(&mut self, id: &str) -> Result<u32, EngineFull> {
        let input = u32::try_from(self.outcomes.len()).map_err(|_| EngineFull)?;
        if !id.is_empty() {
            self.ids.note(self.ids.hash(id), input);
        }
        Ok(input)
    }

    /// Takes a row to rank.
    pub fn include(&mut self, row: &Row<'_>) -> Result<(), EngineFull> {
        self.arrive(row.id)?;
        let included = Included {
            cusip: self.cusips.keep(row.cusip)?,
            row: self.rows.push(row)?,
        };
        let index = u32::try_from(self.included.len()).map_err(|_| EngineFull)?;
        self.outcomes.push(Outcome::Included(index));
        self.included.push(included);
        Ok(())
    }

    /// Takes a row that is not ranked, and why.
    pub fn exclude(&mut self, id: &str, cusip: &str, why: Exclusion<'_>) -> Result<(), EngineFull> {
        self.arrive(id)?;
        let index = self.excluded.push(id.as_bytes(), cusip.as_bytes(), why)?;
        self.outcomes.push(Outcome::Excluded(index));
        Ok(())
    }

    /// The ID of input row `input`.
    fn id_of(&self, input: u32) -> &[u8] {
        match self.outcomes[input as usize] {
            Outcome::Included(index) => self.rows.get(self.included[index as usize].row).id,
            Outcome::Excluded(index) => self.excluded.id(index),
        }
    }

    /// Ends the input: every row whose ID an earlier row has becomes an `invalid:ID`
    /// exclusion (an included one leaves its security), and the included rows are grouped by
    /// security, in CUSIP order.
    pub fn finish(mut self, price_order: PriceOrder) -> Result<Ranked, EngineFull> {
        let repeats = self.ids.repeats(|a, b| self.id_of(a) == self.id_of(b));
        let mut late = LateExclusions::default();
        let mut removed = Vec::new();
        for &input in &repeats {
            match self.outcomes[input as usize] {
                Outcome::Excluded(index) => self.excluded.mark_repeated(index),
                Outcome::Included(index) => {
                    let Included { cusip, row } = self.included[index as usize];
                    // Before it came `index` included rows; the rest were excluded.
                    let cusip = self.cusips.text(&cusip);
                    late.push(input - index, self.rows.get(row).id, cusip)?;
                    removed.push(index);
                }
            }
        }
        let counts = RowCounts {
            input: self.outcomes.len() as u64,
            included: (self.included.len() - removed.len()) as u64,
            excluded: (self.excluded.len() + removed.len()) as u64,
        };
        let Engine {
            rows,
            cusips,
            mut included,
            excluded,
            ..
        } = self;
        remove_sorted(&mut included, &removed);
        included.sort_unstable_by(|a, b| cusips.compare(&a.cusip, &b.cusip));
        let ends = security_ends(&cusips, &included);
        Ok(Ranked {
            rows,
            cusips,
            included,
            ends,
            excluded,
            late,
            counts,
            price_order,
        })
    }
}

/// Included rows found to repeat an earlier ID, as excluded rows, each with how many of the
/// other excluded rows come before it.
#[derive(Default)]
struct LateExclusions {
    before: Vec<u32>,
    text: TextList,
}

impl LateExclusions {
    fn push(&mut self, before: u32, id: &[u8], cusip: &[u8]) -> Result<(), EngineFull> {
        self.before.push(before);
        self.text.push(id)?;
        self.text.push(cusip)?;
        Ok(())
    }

    fn get(&self, index: usize) -> ExcludedRow<'_> {
        ExcludedRow {
            id: self.text.get(index as u32 * 2),
            cusip: self.text.get(index as u32 * 2 + 1),
            why: Exclusion::Invalid(InvalidColumns::of(Field::Id)),
        }
    }
}

/// Removes the items at `indexes` (ascending) from `items`.
fn remove_sorted<T>(items: &mut Vec<T>, indexes: &[u32]) {
    let mut indexes = indexes.iter().peekable();
    let mut at = 0u32;
    items.retain(|_| {
        let keep = indexes.next_if_eq(&&at).is_none();
        at += 1;
        keep
    });
}

/// Where each security's rows end in `included`, sorted by CUSIP.
fn security_ends(cusips: &Cusips, included: &[Included]) -> Vec<u32> {
    let mut ends: Vec<u32> = included
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| cusips.compare(&pair[0].cusip, &pair[1].cusip).is_ne())
        .map(|(at, _)| at as u32 + 1)
        .collect();
    if !included.is_empty() {
        ends.push(included.len() as u32);
    }
    ends
}

/// A run whose input is read: the excluded rows and the included ones by security.
pub struct Ranked {
    rows: RowArena,
    cusips: Cusips,
    // The included rows, by CUSIP, and where each security's end.
    included: Vec<Included>,
    ends: Vec<u32>,
    excluded: ExcludedRows,
    late: LateExclusions,
    counts: RowCounts,
    price_order: PriceOrder,
}

impl Ranked {
    /// The row counts.
    pub fn counts(&self) -> RowCounts {
        self.counts
    }

    /// How many securities have rows.
    pub fn security_count(&self) -> usize {
        self.ends.len()
    }

    /// The excluded rows, in input order.
    pub fn excluded(&self) -> impl Iterator<Item = ExcludedRow<'_>> {
        let mut late = 0;
        let mut stored = 0u32;
        std::iter::from_fn(move || {
            if self.late.before.get(late) == Some(&stored) {
                late += 1;
                return Some(self.late.get(late - 1));
            }
            let row = (stored < self.excluded.len() as u32).then(|| self.excluded.get(stored));
            stored += 1;
            row
        })
    }

    /// The securities in CUSIP order, each with its rows ranked.
    pub fn securities(&self) -> Securities<'_> {
        Securities {
            ranked: self,
            next: 0,
            read_ahead: 0,
            rows: Vec::new(),
        }
    }
}

/// The securities of a [`Ranked`] run, one at a time (each borrows the cursor's room).
pub struct Securities<'a> {
    ranked: &'a Ranked,
    next: usize,
    // How far into `ranked.included` the rows have been read ahead.
    read_ahead: usize,
    rows: Vec<StoredRow<'a>>,
}

// How many rows ahead of the one being written the arena is read. Rows are written in CUSIP
// order but lie in the arena in input order: each is a cache miss. Reading a batch of them
// well ahead of their use lets the CPU wait for those misses together instead of for each row
// in turn: 6.3 % of a million-row run's CPU, measured.
const READ_AHEAD: usize = 64;

/// One security and its rows, parent first.
pub struct Security<'s> {
    /// The CUSIP.
    pub cusip: &'s [u8],
    /// The rows in ranking order.
    pub rows: &'s [StoredRow<'s>],
}

impl Securities<'_> {
    /// The next security, or `None` after the last.
    pub fn next_security(&mut self) -> Option<Security<'_>> {
        let ranked = self.ranked;
        let end = *ranked.ends.get(self.next)? as usize;
        let start = match self.next.checked_sub(1) {
            Some(before) => ranked.ends[before] as usize,
            None => 0,
        };
        self.next += 1;
        if self.read_ahead < end + READ_AHEAD / 2 {
            let ahead = ranked
                .included
                .get(self.read_ahead.max(end)..end + READ_AHEAD);
            let touched = ahead.unwrap_or_default().iter();
            let sum = touched.fold(0, |sum, row| sum ^ ranked.rows.touch(row.row));
            // Kept, so the reads are made.
            std::hint::black_box(sum);
            self.read_ahead = end + READ_AHEAD;
        }
        let rows = &ranked.included[start..end];
        self.rows.clear();
        self.rows
            .extend(rows.iter().map(|included| ranked.rows.get(included.row)));
        self.rows.sort_unstable_by(|a, b| {
            order::compare((&a.key, a.id), (&b.key, b.id), ranked.price_order)
        });
        Some(Security {
            cusip: ranked.cusips.text(&rows[0].cusip),
            rows: &self.rows,
        })
    }
}
