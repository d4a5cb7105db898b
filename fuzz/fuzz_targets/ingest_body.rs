//! Any request body to `POST /ingest/sensor-data`: counted, cut off, parsed and validated
//! reading by reading, within the memory bound, never a panic.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::sensor::ValidationRules;

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

fuzz_target!(|body: &[u8]| {
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
            body,
            now,
            &ValidationRules::default(),
            None,
        ));
    });
});
