//! The run's rows between reading and writing: an [`Engine`] takes each row as included (with
//! its values) or excluded (with why), then [`Engine::finish`] settles repeated IDs and groups
//! the included rows by security into a [`Ranked`] run, which the writers read security by
//! security, each security's colors in [ranking order](crate::order).
//!
//! Memory is what shapes it: a million-row run must stay under 100 MB. Each row is held once,
//! an included one in the [`arena`] (its CUSIP as an index into the [`interner`]), an excluded
//! one in [`excluded`]; a repeated ID is found once the input is read ([`ledger`]), since any
//! earlier row, included or not, keeps its ID.

mod arena;
mod excluded;
mod interner;
mod ledger;
mod texts;

use serde::{Deserialize, Serialize};

pub use arena::{Cells, RowRef, StoredRow};
pub use excluded::{ExcludedRow, Exclusion};

use crate::order;
use crate::row::{InvalidColumns, Row};
use crate::rules::{Field, PriceOrder};
use arena::RowArena;
use excluded::ExcludedRows;
use interner::Interner;
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

/// An included row: its security (an index into the interned CUSIPs) and where it is stored.
#[derive(Debug, Clone, Copy)]
struct Included {
    cusip: u32,
    row: RowRef,
}

/// Collects one run's rows, in input order.
pub struct Engine {
    rows: RowArena,
    cusips: Interner,
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
            // Securities typically have several colors each.
            cusips: Interner::with_capacity(rows / 4, rows / 4 * 9),
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
            cusip: self.cusips.intern(row.cusip)?,
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
                    late.push(input - index, self.rows.get(row).id, self.cusips.get(cusip))?;
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
        let (securities, grouped) = group_by_security(&cusips, &included);
        Ok(Ranked {
            rows,
            cusips,
            securities,
            grouped,
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

/// A security: its CUSIP (interned index) and where its rows end in the grouped list.
#[derive(Debug, Clone, Copy)]
struct Group {
    cusip: u32,
    end: u32,
}

/// The securities in CUSIP order, and every row grouped by security: counted, not compared
/// (a row's place is its security's start plus the rows before it), so the only comparison
/// sorts are of the CUSIPs and, when each is written, of a security's few rows.
fn group_by_security(cusips: &Interner, included: &[Included]) -> (Vec<Group>, Vec<RowRef>) {
    let mut rows_per_cusip = vec![0u32; cusips.len()];
    for row in included {
        rows_per_cusip[row.cusip as usize] += 1;
    }
    // Where the next row of each security goes.
    let mut next = vec![0u32; cusips.len()];
    let mut groups = Vec::with_capacity(cusips.len());
    let mut end = 0;
    for cusip in cusips.sorted() {
        let rows = rows_per_cusip[cusip as usize];
        // A security whose rows all repeated earlier IDs has none left.
        if rows > 0 {
            next[cusip as usize] = end;
            end += rows;
            groups.push(Group { cusip, end });
        }
    }
    let mut grouped = vec![RowRef::default(); end as usize];
    for row in included {
        let slot = &mut next[row.cusip as usize];
        grouped[*slot as usize] = row.row;
        *slot += 1;
    }
    (groups, grouped)
}

/// A run whose input is read: the excluded rows and the included ones by security.
pub struct Ranked {
    rows: RowArena,
    cusips: Interner,
    securities: Vec<Group>,
    grouped: Vec<RowRef>,
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
        self.securities.len()
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
            rows: Vec::new(),
        }
    }
}

/// The securities of a [`Ranked`] run, one at a time (each borrows the cursor's room).
pub struct Securities<'a> {
    ranked: &'a Ranked,
    next: usize,
    rows: Vec<StoredRow<'a>>,
}

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
        let group = *ranked.securities.get(self.next)?;
        let start = match self.next.checked_sub(1) {
            Some(before) => ranked.securities[before].end,
            None => 0,
        };
        self.next += 1;
        self.rows.clear();
        let refs = &ranked.grouped[start as usize..group.end as usize];
        self.rows
            .extend(refs.iter().map(|&row| ranked.rows.get(row)));
        self.rows.sort_unstable_by(|a, b| {
            order::compare((&a.key, a.id), (&b.key, b.id), ranked.price_order)
        });
        Some(Security {
            cusip: ranked.cusips.get(group.cusip),
            rows: &self.rows,
        })
    }
}
