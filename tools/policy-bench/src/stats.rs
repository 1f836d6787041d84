//! Summary statistics over per-call timings.

use std::time::Duration;

/// Median, tail and throughput of a set of per-call timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub calls: usize,
    pub median_us: f64,
    /// 99th percentile per-call time (nearest rank), µs.
    pub p99_us: f64,
    pub mean_us: f64,
    pub min_us: f64,
}

impl Summary {
    /// Summarises per-call timings given in nanoseconds; `None` when empty.
    pub fn from_nanos(samples: &[u64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let total: u128 = sorted.iter().map(|&n| u128::from(n)).sum();
        #[allow(clippy::cast_precision_loss)] // nanosecond sums stay far below 2^52
        let mean = total as f64 / sorted.len() as f64;
        Some(Self {
            calls: sorted.len(),
            median_us: median(&sorted)? / 1000.0,
            p99_us: percentile(&sorted, 99.0)? / 1000.0,
            mean_us: mean / 1000.0,
            min_us: to_f64(*sorted.first()?) / 1000.0,
        })
    }

    /// Calls per second on one core (1 / mean).
    pub fn per_second(&self) -> f64 {
        if self.mean_us > 0.0 {
            1_000_000.0 / self.mean_us
        } else {
            0.0
        }
    }
}

#[allow(clippy::cast_precision_loss)] // per-call nanoseconds are far below 2^52
fn to_f64(n: u64) -> f64 {
    n as f64
}

/// The median of sorted values: the middle one, or the mean of the two
/// middle ones for an even count. `None` when empty.
pub fn median(sorted: &[u64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        sorted.get(n / 2).copied().map(to_f64)
    } else {
        let low = to_f64(*sorted.get(n / 2 - 1)?);
        let high = to_f64(*sorted.get(n / 2)?);
        Some(f64::midpoint(low, high))
    }
}

/// The `pct` percentile of sorted values by the nearest-rank method: the
/// smallest value with at least `pct`% of the values at or below it. `None`
/// when empty.
pub fn percentile(sorted: &[u64], pct: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((pct / 100.0) * n as f64).ceil() as usize;
    let index = rank.clamp(1, n) - 1;
    sorted.get(index).copied().map(to_f64)
}

/// Nanoseconds of a duration, saturating.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7.0));
        assert_eq!(median(&[1, 2, 9]), Some(2.0));
        assert_eq!(median(&[1, 2, 4, 9]), Some(3.0));
    }

    #[test]
    fn p99_is_nearest_rank() {
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 99.0), Some(99.0));
        assert_eq!(percentile(&hundred, 100.0), Some(100.0));
        assert_eq!(percentile(&hundred, 50.0), Some(50.0));
        // 1000 values: the 990th.
        let thousand: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&thousand, 99.0), Some(990.0));
        // Few samples: the tail is the maximum.
        assert_eq!(percentile(&[3, 5, 8], 99.0), Some(8.0));
        assert_eq!(percentile(&[4], 99.0), Some(4.0));
        assert_eq!(percentile(&[], 99.0), None);
    }

    #[test]
    fn summary_in_microseconds_from_unsorted_nanos() {
        let s = Summary::from_nanos(&[4_000, 1_000, 3_000, 2_000]).unwrap();
        assert_eq!(s.calls, 4);
        assert_eq!(s.median_us, 2.5);
        assert_eq!(s.p99_us, 4.0);
        assert_eq!(s.mean_us, 2.5);
        assert_eq!(s.min_us, 1.0);
        assert_eq!(s.per_second(), 400_000.0);
        assert_eq!(Summary::from_nanos(&[]), None);
    }
}
