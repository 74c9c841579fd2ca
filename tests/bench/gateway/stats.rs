//! Percentiles and the number formats the tables use.

/// The `p`-th percentile (0–100) of `values` by nearest rank, in the values' unit; `None` when
/// there are no values.
pub fn percentile(values: &[u64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    percentile_sorted(&sorted, p)
}

fn percentile_sorted(sorted: &[u64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1] as f64)
}

/// Microseconds, with a precision that suits the size: `7.4 µs`, `312 µs`, `2.41 ms`.
pub fn us(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{:.2} ms", value / 1000.0)
    } else if value.abs() >= 100.0 {
        format!("{value:.0} µs")
    } else {
        format!("{value:.1} µs")
    }
}

/// A difference in microseconds, always signed.
pub fn added_us(value: f64) -> String {
    let sign = if value < 0.0 { "−" } else { "+" };
    format!("{sign}{}", us(value.abs()))
}

/// Kibibytes as mebibytes.
pub fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    // `cargo clippy --benches` compiles this with cfg(test) but drops #[test] functions (no
    // harness): the imports must not be module-level, or they would be unused there.

    #[test]
    fn nearest_rank_percentiles() {
        use super::*;
        let values: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&[7], 1.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
