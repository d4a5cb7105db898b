//! The excluded rows, in input order, kept as what `excluded.csv` will say of each: its `ID`,
//! its `CUSIP` and why, as the invalid columns or the indexes of the rules it matched. They
//! stay structured until the file is written, so a row found later to repeat an earlier ID
//! has its reasons changed in place.

use super::EngineFull;
use super::texts::TextList;
use crate::row::InvalidColumns;
use crate::rules::Field;

/// Why a row was excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion<'a> {
    /// Cells that failed validation (the rules are not applied to such a row).
    Invalid(InvalidColumns),
    /// The rules it matched, by index in the document, in document order.
    Rules(&'a [usize]),
}

/// An excluded row as `excluded.csv` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExcludedRow<'a> {
    /// `ID`.
    pub id: &'a [u8],
    /// `CUSIP`.
    pub cusip: &'a [u8],
    /// Why.
    pub why: Exclusion<'a>,
}

/// [`Exclusion`] as stored: the rule indexes are a range of [`ExcludedRows::rules`].
#[derive(Debug, Clone, Copy)]
enum Stored {
    Invalid(InvalidColumns),
    Rules { start: u32, end: u32 },
}

/// The excluded rows of a run, in input order.
#[derive(Debug, Default)]
pub(super) struct ExcludedRows {
    // Each row's ID then its CUSIP.
    text: TextList,
    why: Vec<Stored>,
    rules: Vec<usize>,
}

impl ExcludedRows {
    /// Room for about `rows` rows.
    pub(super) fn with_capacity(rows: usize) -> Self {
        Self {
            text: TextList::with_capacity(rows * 2, rows * 20),
            why: Vec::with_capacity(rows),
            rules: Vec::new(),
        }
    }

    /// How many rows it holds.
    pub(super) fn len(&self) -> usize {
        self.why.len()
    }

    /// Appends a row; its index is the length before.
    pub(super) fn push(
        &mut self,
        id: &[u8],
        cusip: &[u8],
        why: Exclusion<'_>,
    ) -> Result<u32, EngineFull> {
        let index = u32::try_from(self.why.len()).map_err(|_| EngineFull)?;
        self.text.push(id)?;
        self.text.push(cusip)?;
        self.why.push(match why {
            Exclusion::Invalid(columns) => Stored::Invalid(columns),
            Exclusion::Rules(rules) => {
                let start = u32::try_from(self.rules.len()).map_err(|_| EngineFull)?;
                self.rules.extend_from_slice(rules);
                let end = u32::try_from(self.rules.len()).map_err(|_| EngineFull)?;
                Stored::Rules { start, end }
            }
        });
        Ok(index)
    }

    /// The ID of row `index`.
    pub(super) fn id(&self, index: u32) -> &[u8] {
        self.text.get(index * 2)
    }

    /// Row `index`.
    pub(super) fn get(&self, index: u32) -> ExcludedRow<'_> {
        ExcludedRow {
            id: self.text.get(index * 2),
            cusip: self.text.get(index * 2 + 1),
            why: match self.why[index as usize] {
                Stored::Invalid(columns) => Exclusion::Invalid(columns),
                Stored::Rules { start, end } => {
                    Exclusion::Rules(&self.rules[start as usize..end as usize])
                }
            },
        }
    }

    /// Marks row `index` as repeating an earlier row's ID: an invalid row gets `invalid:ID`
    /// besides its other invalid columns; a row excluded by rules becomes invalid instead, as
    /// it would have been had the repeat been known on arrival (the rules do not apply to an
    /// invalid row).
    pub(super) fn mark_repeated(&mut self, index: u32) {
        let why = &mut self.why[index as usize];
        *why = match *why {
            Stored::Invalid(mut columns) => {
                columns.insert(Field::Id);
                Stored::Invalid(columns)
            }
            Stored::Rules { .. } => Stored::Invalid(InvalidColumns::of(Field::Id)),
        };
    }
}
