//! Any CSV input to run-colors: the reader gives records or an error naming the line, and
//! every record is validated into a row or an invalid row naming its columns; never a panic,
//! within the memory bound.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use run_colors::row::RowReader;
use run_colors::sources::{CsvSource, Record, RecordSource};

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

fuzz_target!(|input: &[u8]| {
    common::within_memory_limit(|| {
        let Ok(mut source) = CsvSource::new(input, "csv:fuzz".into()) else {
            return;
        };
        let Ok(mut rows) = RowReader::new(source.columns()) else {
            return;
        };
        let mut record = Record::new();
        let mut records = 0usize;
        while let Ok(true) = source.next_record(&mut record) {
            records += 1;
            assert!(
                records <= input.len() + 1,
                "more records than the input has bytes"
            );
            match rows.read(&record) {
                Ok(row) => {
                    let values = row.values();
                    assert!(!values.id.is_empty() && !values.cusip.is_empty());
                    assert_eq!(values.cusip, values.cusip.trim(), "CUSIPs are trimmed");
                    let _ = row.passthrough().count();
                }
                Err(invalid) => {
                    assert!(!invalid.columns.is_empty(), "an invalid row names a column");
                }
            }
        }
    });
});
