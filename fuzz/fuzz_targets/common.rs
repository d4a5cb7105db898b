//! What every fuzz target shares: the memory bound, kept by counting what the target allocates.
//!
//! The proxy must handle any request within 64 MB of memory (the template gives it 128 MB).
//! libFuzzer's own `-rss_limit_mb` counts the fuzzer's corpus and coverage maps too, so the
//! targets count their own allocations instead: an input whose handling holds more than
//! [`LIMIT`] at once is a finding, like a panic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most one input's handling may hold at once.
pub const LIMIT: usize = 64 * 1024 * 1024;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counted.
pub struct Counting;

// SAFETY: every call is passed to the system allocator unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        moved
    }
}

/// Runs `work`, then fails (a finding) if it held more than [`LIMIT`] bytes beyond what was
/// held when it began.
pub fn within_memory_limit<T>(work: impl FnOnce() -> T) -> T {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = work();
    let held = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert!(
        held <= LIMIT,
        "held {held} bytes at once, over the {LIMIT}-byte limit"
    );
    result
}
