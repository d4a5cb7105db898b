//! Any exclusion-rules document: parsed (an invalid one is an error naming the rule, never a
//! panic), and a valid one applied to rows at the edges of every type, within the memory bound.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use run_colors::rules::{RowValues, Rules};

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

/// Rows a rule can meet: empty, typical, and the extremes of each typed column.
const ROWS: [RowValues<'static>; 4] = [
    RowValues {
        id: "",
        cusip: "",
        source: None,
        rank: None,
        color_date: None,
        price: None,
    },
    RowValues {
        id: "1",
        cusip: "912828ZT6",
        source: Some("DEALER A"),
        rank: Some(1),
        color_date: Some(1_795_190_400_000_000),
        price: Some(99.5),
    },
    RowValues {
        id: "\u{0}",
        cusip: "TESTÉ",
        source: Some(" test "),
        rank: Some(i64::MIN),
        color_date: Some(i64::MIN),
        price: Some(f64::NEG_INFINITY),
    },
    RowValues {
        id: "z",
        cusip: "Z",
        source: Some(""),
        rank: Some(i64::MAX),
        color_date: Some(i64::MAX),
        price: Some(f64::MAX),
    },
];

fuzz_target!(|input: &[u8]| {
    common::within_memory_limit(|| {
        let Ok(rules) = Rules::parse(input) else {
            return;
        };
        let mut matched = Vec::new();
        for as_of in [0, 1_795_190_400_000_000, i64::MIN, i64::MAX] {
            for row in &ROWS {
                matched.clear();
                rules.evaluate(row, as_of, &mut matched);
                assert!(
                    matched.windows(2).all(|w| w[0] < w[1]),
                    "rule ids in document order"
                );
                assert!(matched.iter().all(|&index| index < rules.len()));
            }
        }
    });
});
