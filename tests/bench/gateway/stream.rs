//! Streaming lanes: the same stream requested directly from the mock and through the gateway,
//! run after run, and the delays compared.
//!
//! Method. In every run the client records, for each of the 200 tokens, its delivery delay: the
//! arrival time minus the mock's send stamp (one clock, `clock.rs`). All delays of all direct runs
//! form one distribution, all delays of all gateway runs another. Tokens of two runs cannot be
//! paired one to one (they are separate streams, scheduled by the OS independently), so the added
//! per-event latency is the difference of the two distributions' quantiles: added p50 = gateway
//! p50 − direct p50, added p99 = gateway p99 − direct p99. The direct delay is what the loopback
//! and the client's own wake-up cost; what is left is the gateway's relay (read the event, frame
//! it, write it).
//!
//! Time to first token is measured per run from just before `connect` to the first token, and
//! compared the same way (p50 against p50). Direct and gateway runs alternate so that any drift of
//! the machine (another process, CPU frequency) hits both sides alike, and one warm-up run of each
//! goes first and is not counted.

use crate::client::{self, Call, StreamRun};
use crate::stats::percentile;

/// One lane: a client dialect hitting a backend directly, and the gateway in front of it.
pub struct Lane<'a> {
    pub direct: Call<'a>,
    pub gateway: Call<'a>,
    pub runs: usize,
    pub tokens: usize,
}

/// One side's distributions, in microseconds.
#[derive(Clone, Copy)]
pub struct Side {
    pub ttft_p50: f64,
    pub delay_p50: f64,
    pub delay_p99: f64,
}

/// A measured lane.
#[derive(Clone, Copy)]
pub struct Measured {
    pub runs: usize,
    pub tokens: usize,
    pub direct: Side,
    pub gateway: Side,
}

impl Measured {
    pub fn added_ttft(&self) -> f64 {
        self.gateway.ttft_p50 - self.direct.ttft_p50
    }
    pub fn added_event_p50(&self) -> f64 {
        self.gateway.delay_p50 - self.direct.delay_p50
    }
    pub fn added_event_p99(&self) -> f64 {
        self.gateway.delay_p99 - self.direct.delay_p99
    }
}

/// Runs the lane. The first failure ends it, with a message saying which side failed and how.
pub fn measure(lane: &Lane<'_>) -> Result<Measured, String> {
    one_run(&lane.direct, lane.tokens).map_err(|e| format!("direct: {e}"))?;
    one_run(&lane.gateway, lane.tokens)?;
    let mut direct = Vec::with_capacity(lane.runs);
    let mut gateway = Vec::with_capacity(lane.runs);
    for i in 0..lane.runs {
        direct
            .push(one_run(&lane.direct, lane.tokens).map_err(|e| format!("direct run {i}: {e}"))?);
        gateway.push(one_run(&lane.gateway, lane.tokens).map_err(|e| format!("run {i}: {e}"))?);
    }
    Ok(Measured {
        runs: lane.runs,
        tokens: lane.tokens,
        direct: side(&direct),
        gateway: side(&gateway),
    })
}

/// One stream, checked to carry every token.
fn one_run(call: &Call<'_>, tokens: usize) -> Result<StreamRun, String> {
    let run = client::stream(call)?;
    if run.delays_ns.len() != tokens {
        return Err(format!(
            "the stream carried {} tokens, expected {tokens}",
            run.delays_ns.len()
        ));
    }
    Ok(run)
}

fn side(runs: &[StreamRun]) -> Side {
    let ttfts: Vec<u64> = runs.iter().map(|r| r.ttft_ns).collect();
    let delays: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.delays_ns.iter().copied())
        .collect();
    let us = |ns: Option<f64>| ns.unwrap_or(f64::NAN) / 1000.0;
    Side {
        ttft_p50: us(percentile(&ttfts, 50.0)),
        delay_p50: us(percentile(&delays, 50.0)),
        delay_p99: us(percentile(&delays, 99.0)),
    }
}
