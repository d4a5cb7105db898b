//! `excluded.csv`: `ID,CUSIP,REASONS`, one line per excluded row in input order, the reasons
//! joined by `;` (the invalid columns, or the ids of the rules matched in document order).

use std::io;

use super::output::{CHUNK, OutputFile};
use crate::encode::push_csv_field;
use crate::engine::{Exclusion, Ranked};
use crate::rules::Rules;

/// Writes `ranked`'s excluded rows as `excluded.csv` to `out`, naming rules from `rules`.
pub(super) fn write(ranked: &Ranked, rules: &Rules, out: &mut OutputFile) -> io::Result<()> {
    let mut text = Vec::with_capacity(2 * CHUNK);
    let mut reasons = Vec::new();
    text.extend_from_slice(b"ID,CUSIP,REASONS\n");
    for row in ranked.excluded() {
        reasons.clear();
        match row.why {
            Exclusion::Invalid(columns) => join(&mut reasons, columns.reasons()),
            Exclusion::Rules(matched) => join(&mut reasons, matched.iter().map(|&i| rules.id(i))),
        }
        push_csv_field(&mut text, row.id);
        text.push(b',');
        push_csv_field(&mut text, row.cusip);
        text.push(b',');
        push_csv_field(&mut text, &reasons);
        text.push(b'\n');
        out.put_when_full(&mut text)?;
    }
    out.put(&mut text)
}

/// `parts` joined by `;`, appended to `out`.
fn join<'a>(out: &mut Vec<u8>, parts: impl Iterator<Item = &'a str>) {
    for (index, part) in parts.enumerate() {
        if index > 0 {
            out.push(b';');
        }
        out.extend_from_slice(part.as_bytes());
    }
}
