//! Timing loop: warm up, then time every call on its own.
//!
//! Each call is timed individually (`Instant` costs ~20-40 ns here, under 1%
//! of the cheapest call measured), so the p99 is a real per-call tail rather
//! than a tail of batch averages.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::stats::nanos;

/// How long to run a measurement.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Untimed calls first: caches, allocator, wasmtime's lazy init.
    pub warmup: Duration,
    /// Timed calls run until this much time has passed...
    pub measure: Duration,
    /// ...and at least this many calls were timed...
    pub min_calls: usize,
    /// ...but never more than this many.
    pub max_calls: usize,
}

impl Budget {
    /// The default: stable medians in well under a second per measurement.
    pub fn standard() -> Self {
        Self {
            warmup: Duration::from_millis(100),
            measure: Duration::from_millis(400),
            min_calls: 300,
            max_calls: 200_000,
        }
    }

    /// For a smoke run (`--quick`).
    pub fn quick() -> Self {
        Self {
            warmup: Duration::from_millis(20),
            measure: Duration::from_millis(60),
            min_calls: 50,
            max_calls: 20_000,
        }
    }
}

/// Runs `call` under `budget`, appending one duration in nanoseconds per
/// timed call to `samples`.
pub fn run<T>(budget: Budget, samples: &mut Vec<u64>, mut call: impl FnMut() -> T) {
    let start = Instant::now();
    while start.elapsed() < budget.warmup {
        black_box(call());
    }
    let start = Instant::now();
    let mut timed = 0usize;
    while timed < budget.max_calls && (timed < budget.min_calls || start.elapsed() < budget.measure)
    {
        let t = Instant::now();
        black_box(call());
        samples.push(nanos(t.elapsed()));
        timed += 1;
    }
}

/// The cost of an empty timed call (two `Instant::now`), in nanoseconds.
pub fn timer_overhead_ns() -> f64 {
    let mut samples = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let t = Instant::now();
        samples.push(nanos(t.elapsed()));
    }
    samples.sort_unstable();
    crate::stats::median(&samples).unwrap_or(0.0)
}
