//! One clock for the whole bench process.
//!
//! The mock backend stamps every streamed event with `now_ns()` just before writing it, and the
//! streaming client reads `now_ns()` when the bytes arrive. Both run in this process, so they
//! share one monotonic epoch and the difference is the event's delivery delay.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the bench's epoch (the first call).
pub fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
