//! A one-line progress indicator on stderr for long runs, only when stderr
//! is a terminal (never in CI logs or when piped).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Below this many objects a run is quick enough not to need one.
pub const THRESHOLD: usize = 20;

/// Draws `checking n/total objects` at most every 100 ms.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    enabled: bool,
    last: Option<Instant>,
}

impl Progress {
    /// A progress line for `total` objects, shown when useful.
    pub fn new(total: usize) -> Self {
        Self {
            total,
            enabled: total > THRESHOLD && std::io::stderr().is_terminal(),
            last: None,
        }
    }

    pub fn update(&mut self, done: usize) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if done < self.total
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let mut err = std::io::stderr().lock();
        // Best effort: a closed stderr must not stop the check.
        let _ = write!(err, "\rchecking {done}/{} objects", self.total);
        let _ = err.flush();
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
