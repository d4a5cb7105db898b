//! Texts end to end in one byte vector, each known by its index: a million short texts cost
//! their bytes and four more each, not an allocation each.

use super::EngineFull;

/// Texts stored end to end, by index.
#[derive(Debug, Default)]
pub(super) struct TextList {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl TextList {
    /// Room for `count` texts of `bytes` bytes in all.
    pub(super) fn with_capacity(count: usize, bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// Appends `value`; its index is the length before.
    pub(super) fn push(&mut self, value: &[u8]) -> Result<u32, EngineFull> {
        let index = u32::try_from(self.ends.len()).map_err(|_| EngineFull)?;
        self.bytes.extend_from_slice(value);
        let end = u32::try_from(self.bytes.len()).map_err(|_| EngineFull)?;
        self.ends.push(end);
        Ok(index)
    }

    /// Text `index`.
    pub(super) fn get(&self, index: u32) -> &[u8] {
        let index = index as usize;
        let start = match index.checked_sub(1) {
            Some(before) => self.ends[before] as usize,
            None => 0,
        };
        &self.bytes[start..self.ends[index] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_comes_back_by_its_index() {
        let mut list = TextList::with_capacity(1, 1);
        let values = ["", "037833100", "ü€", "", "a,b"];
        for (index, value) in values.iter().enumerate() {
            assert_eq!(list.push(value.as_bytes()), Ok(index as u32));
        }
        for (index, value) in values.iter().enumerate() {
            assert_eq!(list.get(index as u32), value.as_bytes());
        }
    }
}
