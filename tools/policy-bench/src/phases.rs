//! The evaluator path taken apart: how long a fresh instance takes to
//! create (instantiation and `wapc_init`), to answer its first `validate`,
//! and to drop, and how many page faults each step takes. A fresh instance
//! touches every page of its linear memory for the first time, and each
//! first touch is a page fault the kernel serves (about 2 µs on the 2-core
//! development machine): that cost does not show in a warm benchmark nor in
//! an instruction count.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Result;
use policy_runner::{CompiledPolicy, PolicyOptions};
use serde_json::Value;

use crate::stats::{median, nanos};

/// Medians (µs) and mean page faults of each step over many evaluations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    pub instantiate_us: f64,
    pub validate_us: f64,
    pub drop_us: f64,
    /// Minor page faults per evaluation: instantiate, validate, drop.
    pub faults: [f64; 3],
}

/// Times `calls` fresh evaluations of `request` step by step.
pub fn measure(
    compiled: &CompiledPolicy,
    options: &PolicyOptions,
    request: &Value,
    settings: &Value,
    calls: usize,
) -> Result<Phases> {
    let mut steps: [Vec<u64>; 3] = Default::default();
    let mut faults = [0u64; 3];
    for _ in 0..calls {
        let (f0, t0) = (minor_faults(), Instant::now());
        let runner = compiled.instantiate(options.clone())?;
        let (f1, t1) = (minor_faults(), Instant::now());
        black_box(runner.validate(request, settings)?);
        let (f2, t2) = (minor_faults(), Instant::now());
        drop(runner);
        let (f3, t3) = (minor_faults(), Instant::now());
        for (samples, (from, to)) in steps.iter_mut().zip([(t0, t1), (t1, t2), (t2, t3)]) {
            samples.push(nanos(to - from));
        }
        for (fault, (from, to)) in faults.iter_mut().zip([(f0, f1), (f1, f2), (f2, f3)]) {
            *fault += to.saturating_sub(from);
        }
    }
    let [instantiate, validate, drop_] = steps.map(|mut s| {
        s.sort_unstable();
        median(&s).unwrap_or_default() / 1e3
    });
    #[allow(clippy::cast_precision_loss)]
    let per_call = |n: u64| n as f64 / calls.max(1) as f64;
    Ok(Phases {
        instantiate_us: instantiate,
        validate_us: validate,
        drop_us: drop_,
        faults: faults.map(per_call),
    })
}

/// This thread's minor page faults so far (`/proc/thread-self/stat`, field
/// 10); 0 where that cannot be read.
pub fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses.
            let rest = stat.rsplit_once(')')?.1;
            rest.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}
