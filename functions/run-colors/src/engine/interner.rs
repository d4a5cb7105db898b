//! The distinct CUSIPs of a run, each stored once and known by a small index, so an included
//! row holds four bytes for its security instead of its text.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::EngineFull;
use super::texts::TextList;

/// Strings interned once each, by index.
#[derive(Default)]
pub(super) struct Interner {
    strings: TextList,
    // The index of each string, found by the string's hash.
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl Interner {
    /// Room for about `count` strings of `bytes` bytes in all.
    pub(super) fn with_capacity(count: usize, bytes: usize) -> Self {
        Self {
            strings: TextList::with_capacity(count, bytes),
            table: HashTable::with_capacity(count),
            hasher: Default::default(),
        }
    }

    /// How many strings it holds.
    pub(super) fn len(&self) -> usize {
        self.strings.len()
    }

    /// String `index`.
    pub(super) fn get(&self, index: u32) -> &[u8] {
        self.strings.get(index)
    }

    /// The index of `value`, added if new.
    pub(super) fn intern(&mut self, value: &str) -> Result<u32, EngineFull> {
        let value = value.as_bytes();
        let hash = self.hasher.hash_one(value);
        let strings = &self.strings;
        if let Some(&index) = self.table.find(hash, |&index| strings.get(index) == value) {
            return Ok(index);
        }
        let index = self.strings.push(value)?;
        let (strings, hasher) = (&self.strings, &self.hasher);
        self.table
            .insert_unique(hash, index, |&index| hasher.hash_one(strings.get(index)));
        Ok(index)
    }

    /// Every index, in the byte order of its string.
    pub(super) fn sorted(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.get(a).cmp(self.get(b)));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_finds_what_is_there_and_adds_what_is_not() {
        let mut interner = Interner::with_capacity(1, 4);
        assert_eq!(interner.intern("B1"), Ok(0));
        assert_eq!(interner.intern("A2"), Ok(1));
        assert_eq!(interner.intern("B1"), Ok(0));
        assert_eq!(interner.intern("B"), Ok(2));
        assert_eq!((interner.get(0), interner.get(2)), (&b"B1"[..], &b"B"[..]));
        // Far past the reserved room: the table grows and still finds each.
        for n in 0..5_000u32 {
            assert_eq!(interner.intern(&format!("ID-{n}")), Ok(n + 3));
        }
        for n in (0..5_000u32).rev() {
            assert_eq!(interner.intern(&format!("ID-{n}")), Ok(n + 3));
        }
        assert_eq!(interner.len(), 5_003);
    }

    #[test]
    fn interned_strings_sort_in_byte_order() {
        let values = [
            "912828ZT0",
            "912828ZT",
            "037833100",
            "",
            "A\0",
            "A",
            "ÄBC",
            "abc",
        ];
        let mut interner = Interner::default();
        for value in values {
            interner.intern(value).unwrap();
        }
        let sorted: Vec<&[u8]> = interner
            .sorted()
            .into_iter()
            .map(|index| interner.get(index))
            .collect();
        let mut expected: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
    }
}
