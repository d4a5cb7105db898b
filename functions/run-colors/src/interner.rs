//! A set of strings stored once, end to end in one arena, each known by its index: the
//! distinct CUSIPs of a run, so a row's lookup stays in a small, cache-friendly arena instead
//! of chasing into the big row arena.
//!
//! Two hundred thousand CUSIPs still make a table larger than the CPU's first caches, and each
//! row's lookup lands in a random place of it: the cost there is memory latency, not
//! instructions. So the table is one array of 8-byte slots, each holding a 32-bit tag of the
//! hash beside the string's index: a lookup reads one cache line and only goes to the text
//! when the tag matches (the same string, or one chance in four billion). [`Interner::peek`]
//! lets the caller start those reads for a batch of rows before it needs them, so their misses
//! overlap instead of queueing.

use std::hash::BuildHasher;

use crate::output::Text;

/// The arena's text or its entry count outgrew what its 32-bit offsets can address (4 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than 4 GiB of interned text")]
pub(crate) struct ArenaFull;

/// Strings end to end in one `String`, each known by its index.
#[derive(Default)]
pub(crate) struct StringList {
    text: String,
    ends: Vec<u32>,
}

impl StringList {
    /// Room for `count` strings of `bytes` bytes in all.
    pub(crate) fn with_capacity(count: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// How many strings it holds.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Appends `value`; its index is the length before.
    pub(crate) fn push(&mut self, value: &str) -> Result<(), ArenaFull> {
        if self.ends.len() >= u32::MAX as usize {
            return Err(ArenaFull);
        }
        self.text.push_str(value);
        self.ends
            .push(u32::try_from(self.text.len()).map_err(|_| ArenaFull)?);
        Ok(())
    }

    /// The strings at `order`'s indices, in that order (each index once: the text is the
    /// same size, so it fits).
    pub(crate) fn reordered(&self, order: &[u32]) -> StringList {
        let mut list = StringList::with_capacity(order.len(), self.text.len());
        for &index in order {
            list.text.push_str(self.get(index));
            list.ends.push(list.text.len() as u32);
        }
        list
    }

    /// Appends `value` upper-cased: in place when it is ASCII (a CUSIP always is), so the
    /// usual string allocates nothing.
    pub(crate) fn push_uppercase(&mut self, value: &str) -> Result<(), ArenaFull> {
        if value.is_ascii() {
            let start = self.text.len();
            self.push(value)?;
            self.text[start..].make_ascii_uppercase();
            Ok(())
        } else {
            self.push(&value.to_uppercase())
        }
    }

    /// Removes every string, keeping the room.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// String `index`.
    pub(crate) fn get(&self, index: u32) -> &str {
        &self.text[self.range(index as usize)]
    }

    /// String `index` for an output row, with the strings after it as its room.
    pub(crate) fn text(&self, index: u32) -> Text<'_> {
        let range = self.range(index as usize);
        Text::with_room(&self.text.as_bytes()[range.start..], range.len())
    }

    /// String `index`'s bytes.
    pub(crate) fn get_bytes(&self, index: u32) -> &[u8] {
        &self.text.as_bytes()[self.range(index as usize)]
    }

    fn range(&self, index: usize) -> std::ops::Range<usize> {
        let start = match index.checked_sub(1) {
            Some(before) => self.ends[before] as usize,
            None => 0,
        };
        start..self.ends[index] as usize
    }
}

/// Strings interned once each, by index (see the module docs).
#[derive(Default)]
pub(crate) struct Interner {
    strings: StringList,
    // 0 is empty; otherwise the hash's upper 32 bits above the string's index + 1.
    slots: Vec<u64>,
    hasher: foldhash::fast::RandomState,
}

impl Interner {
    /// Room for about `count` strings of `bytes` bytes in all.
    pub(crate) fn with_capacity(count: usize, bytes: usize) -> Self {
        Self {
            strings: StringList::with_capacity(count, bytes),
            slots: vec![0; slots_for(count)],
            hasher: Default::default(),
        }
    }

    /// How many strings it holds.
    pub(crate) fn len(&self) -> usize {
        self.strings.len()
    }

    /// String `index`.
    pub(crate) fn get(&self, index: u32) -> &str {
        self.strings.get(index)
    }

    /// The strings, by index.
    pub(crate) fn strings(&self) -> &StringList {
        &self.strings
    }

    /// The hash [`Interner::intern_hashed`] and [`Interner::peek`] take.
    pub(crate) fn hash(&self, value: &str) -> u64 {
        self.hasher.hash_one(value)
    }

    /// Reads the slot where the lookup of `hash` starts and returns it, so that a caller that
    /// peeks at several hashes before interning them has their cache misses in flight at once.
    /// The value means nothing; pass it to [`std::hint::black_box`] so the read stays.
    pub(crate) fn peek(&self, hash: u64) -> u64 {
        match self.slots.len() {
            0 => 0,
            len => self.slots[hash as usize & (len - 1)],
        }
    }

    /// For a `hash` already [peeked](Interner::peek): reads the text a lookup would compare
    /// first, the string in the first slot whose tag matches, if there is one. A second stage of
    /// look-ahead for sets where most lookups find their string (the CUSIPs of a run). Returns
    /// a meaningless byte, as [`Interner::peek`] does.
    pub(crate) fn peek_text(&self, hash: u64) -> u8 {
        let Some(mask) = self.slots.len().checked_sub(1) else {
            return 0;
        };
        let mut at = hash as usize & mask;
        // A few slots at most: the table is at most half full, runs are short.
        for _ in 0..4 {
            let slot = self.slots[at];
            if slot == 0 {
                break;
            }
            if slot >> 32 == hash >> 32 {
                let start = self
                    .strings
                    .range((slot as u32).wrapping_sub(1) as usize)
                    .start;
                return self
                    .strings
                    .text
                    .as_bytes()
                    .get(start)
                    .copied()
                    .unwrap_or(0);
            }
            at = (at + 1) & mask;
        }
        0
    }

    /// The index of `value`, added if new; `true` when it was added.
    #[cfg(test)]
    pub(crate) fn intern(&mut self, value: &str) -> Result<(u32, bool), ArenaFull> {
        self.intern_hashed(value, self.hash(value))
    }

    /// [`Interner::intern`] for a `hash` from [`Interner::hash`].
    pub(crate) fn intern_hashed(
        &mut self,
        value: &str,
        hash: u64,
    ) -> Result<(u32, bool), ArenaFull> {
        if self.slots.is_empty() {
            self.slots = vec![0; slots_for(0)];
        }
        let mask = self.slots.len() - 1;
        let tag = hash >> 32;
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                break;
            }
            if slot >> 32 == tag {
                let index = (slot as u32).wrapping_sub(1);
                if same_bytes(self.strings.get_bytes(index), value.as_bytes()) {
                    return Ok((index, false));
                }
            }
            at = (at + 1) & mask;
        }
        let index = self.strings.len() as u32;
        self.strings.push(value)?;
        if self.strings.len() * 2 > self.slots.len() {
            // Kept at most half full, so a probe rarely goes past its first cache line.
            self.rebuild(self.slots.len() * 2);
        } else {
            self.slots[at] = slot_of(tag, index);
        }
        Ok((index, true))
    }

    fn rebuild(&mut self, slots: usize) {
        self.slots = vec![0; slots];
        let mask = slots - 1;
        for index in 0..self.strings.len() as u32 {
            let hash = self.hash(self.get(index));
            let mut at = hash as usize & mask;
            while self.slots[at] != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot_of(hash >> 32, index);
        }
    }

    /// Every index, in the byte order of its string. Sorts on each string's first 16 bytes
    /// held in an integer (all of a CUSIP), so comparisons stay in one contiguous vector
    /// instead of chasing two arena lookups each; longer strings that tie there are compared
    /// in full.
    pub(crate) fn sorted(&self) -> Vec<u32> {
        let mut keys: Vec<(u128, u32)> = (0..self.len() as u32)
            .map(|index| {
                let bytes = self.strings.get_bytes(index);
                let mut prefix = [0u8; 16];
                let head = &bytes[..bytes.len().min(16)];
                prefix[..head.len()].copy_from_slice(head);
                (u128::from_be_bytes(prefix), index)
            })
            .collect();
        keys.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                let (x, y) = (self.strings.get_bytes(a.1), self.strings.get_bytes(b.1));
                if x.len() <= 16 && y.len() <= 16 {
                    // Equal once zero-padded: one is the other plus trailing NULs, so the
                    // shorter is its prefix and comes first.
                    x.len().cmp(&y.len())
                } else {
                    x.cmp(y)
                }
            })
        });
        keys.into_iter().map(|(_, index)| index).collect()
    }
}

/// `a == b`, for strings of 8 to 16 bytes (a CUSIP has 9) as two 8-byte comparisons, the
/// second overlapping the first, rather than a call to `memcmp`.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        (Some(a_head), Some(b_head)) if a.len() <= 16 => {
            a_head == b_head && a.last_chunk::<8>() == b.last_chunk::<8>()
        }
        _ => a == b,
    }
}

/// A power of two at least twice `count`.
fn slots_for(count: usize) -> usize {
    (count.max(8) * 2).next_power_of_two()
}

fn slot_of(tag: u64, index: u32) -> u64 {
    // `StringList::push` keeps `index` below u32::MAX.
    tag << 32 | u64::from(index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_strings_sort_in_byte_order_whatever_their_length() {
        let values = [
            "912828ZT0",
            "912828ZT",
            "037833100",
            "",
            "A\0",
            "A",
            "A\0\0",
            "ÄBC",
            "ABCDEFGHIJKLMNOPQ2",
            "ABCDEFGHIJKLMNOPQ1",
            "ABCDEFGHIJKLMNOP",
            "ABCDEFGHIJKLMNOP\0",
            "abc",
            "037833100",
        ];
        let mut interner = Interner::default();
        for value in values {
            interner.intern(value).unwrap();
        }
        let sorted: Vec<&str> = interner
            .sorted()
            .into_iter()
            .map(|index| interner.get(index))
            .collect();
        let mut expected: Vec<&str> = values.to_vec();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(sorted, expected);
    }

    #[test]
    fn short_strings_compare_as_slices_do() {
        let values: Vec<Vec<u8>> = (0..20)
            .flat_map(|len| {
                let base: Vec<u8> = (0..len).map(|i| b'A' + i as u8).collect();
                // The same, and one differing byte at each place.
                let mut variants = vec![base.clone()];
                for at in 0..len {
                    let mut changed = base.clone();
                    changed[at] ^= 1;
                    variants.push(changed);
                }
                variants
            })
            .collect();
        for a in &values {
            for b in &values {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn interning_finds_what_is_there_and_adds_what_is_not() {
        let mut interner = Interner::with_capacity(4, 16);
        assert_eq!(interner.intern("B1").unwrap(), (0, true));
        assert_eq!(interner.intern("A2").unwrap(), (1, true));
        assert_eq!(interner.intern("B1").unwrap(), (0, false));
        assert_eq!(interner.intern("B").unwrap(), (2, true));
        assert_eq!((interner.get(0), interner.get(2)), ("B1", "B"));
        assert_eq!(interner.len(), 3);
    }

    #[test]
    fn upper_casing_changes_letters_only_and_handles_any_script() {
        let mut list = StringList::default();
        for value in ["ab9p01x", "ÄbC", "straße", "", "12-3"] {
            list.push_uppercase(value).unwrap();
        }
        let got: Vec<&str> = (0..list.len() as u32).map(|i| list.get(i)).collect();
        assert_eq!(got, ["AB9P01X", "ÄBC", "STRASSE", "", "12-3"]);
        list.clear();
        assert_eq!(list.len(), 0);
        list.push_uppercase("x").unwrap();
        assert_eq!(list.get(0), "X");
    }

    #[test]
    fn growing_past_the_reserved_room_keeps_every_string_findable() {
        // Reserved for 2, given 5,000: the table is rebuilt several times on the way.
        let mut interner = Interner::with_capacity(2, 4);
        for n in 0..5_000u32 {
            assert_eq!(interner.intern(&format!("ID-{n}")).unwrap(), (n, true));
        }
        for n in (0..5_000u32).rev() {
            assert_eq!(interner.intern(&format!("ID-{n}")).unwrap(), (n, false));
            assert_eq!(interner.get(n), format!("ID-{n}"));
        }
        assert_eq!(interner.len(), 5_000);
    }

    #[test]
    fn strings_whose_tags_collide_are_still_told_apart() {
        // A hash with the same upper bits for every string: each lookup walks a chain of
        // matching tags and must compare the text to find its own.
        let mut interner = Interner::with_capacity(64, 256);
        let same = 0xdead_beef_0000_0005;
        for n in 0..40u32 {
            let value = format!("V{n}");
            assert_eq!(interner.intern_hashed(&value, same).unwrap(), (n, true));
        }
        for n in 0..40u32 {
            let value = format!("V{n}");
            assert_eq!(interner.intern_hashed(&value, same).unwrap(), (n, false));
        }
        assert_eq!(interner.intern_hashed("", same).unwrap(), (40, true));
    }

    #[test]
    fn peeking_is_harmless_on_an_empty_or_full_table() {
        let mut interner = Interner::default();
        assert_eq!(interner.peek(u64::MAX), 0);
        let hash = interner.hash("A");
        interner.intern_hashed("A", hash).unwrap();
        assert_ne!(interner.peek(hash), 0, "the slot of A holds A");
        assert_eq!(interner.intern_hashed("A", hash).unwrap(), (0, false));
    }
}
