//! Any request body to `POST /ingest/sensor-data`: counted, cut off, parsed and validated
//! reading by reading, within the memory bound, never a panic.
//!
//! An input is a body as it is, or, when it starts with `0xFF`, a description of a large one
//! (a prefix, an item repeated up to `MAX_BODY_BYTES`, a suffix), so inputs of a few bytes reach
//! the 4.4 MB bodies where a parser that builds a tree per item shows (the one this target
//! guards against took 383 MB for `[{"a":0},...]`).

#![no_main]

#[path = "common.rs"]
mod common;

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::sensor::ValidationRules;

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

/// The proxy's default `MAX_BODY_BYTES`.
const MAX_BODY_BYTES: usize = 4_400_000;

/// The body `input` stands for: itself, or `[0xFF, n_hi, n_lo, prefix, 0, item, 0, suffix]`:
/// the prefix, the item `64 × n` times (as many as fit), the suffix.
fn body_of(input: &[u8]) -> Cow<'_, [u8]> {
    let Some((&0xFF, rest)) = input.split_first() else {
        return Cow::Borrowed(input);
    };
    let Some((count, parts)) = rest.split_first_chunk::<2>() else {
        return Cow::Borrowed(input);
    };
    let mut parts = parts.splitn(3, |&byte| byte == 0);
    let (prefix, item, suffix) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let room = MAX_BODY_BYTES.saturating_sub(prefix.len() + suffix.len());
    let times = match item.len() {
        0 => 0,
        len => (usize::from(u16::from_be_bytes(*count)) * 64).min(room / len),
    };
    let mut body = Vec::with_capacity(prefix.len() + item.len() * times + suffix.len());
    body.extend_from_slice(prefix);
    for _ in 0..times {
        body.extend_from_slice(item);
    }
    body.extend_from_slice(suffix);
    Cow::Owned(body)
}

fuzz_target!(|input: &[u8]| {
    let body = body_of(input);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:20:00Z")
        .expect("time")
        .to_utc();
    common::within_memory_limit(|| {
        let queue = MemoryQueue::new();
        let _ = runtime.block_on(proxy::ingest::ingest(
            &queue,
            "memory://readings",
            &body,
            now,
            &ValidationRules::default(),
            None,
        ));
    });
});
