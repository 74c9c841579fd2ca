//! Circuit breaking: a backend that keeps failing is skipped for a cool-down, then gets exactly
//! one trial request (half-open); success closes the circuit, failure opens it again.
//!
//! Failures are counted from real requests (connect errors, timeouts, 5xx, 429/529) and from
//! health probes. A backend's `Retry-After` opens the circuit for that long at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::config::Breaker as Settings;

/// The longest `Retry-After` honoured; a backend asking for more is retried after this.
const MAX_HOLD: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
struct Circuit {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    /// A half-open trial is under way: other requests still skip the backend.
    trial: bool,
}

/// Whether a request may go to a backend now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Closed,
    /// The cool-down is over: this request is the one trial.
    Trial,
    /// Skip the backend for now.
    Open,
}

#[derive(Default)]
pub struct Breakers {
    circuits: Mutex<HashMap<String, Circuit>>,
}

impl Breakers {
    pub fn admit(&self, backend: &str) -> Admission {
        let mut circuits = self.circuits.lock();
        let Some(circuit) = circuits.get_mut(backend) else {
            return Admission::Closed;
        };
        match circuit.open_until {
            None => Admission::Closed,
            Some(until) if Instant::now() < until || circuit.trial => Admission::Open,
            Some(_) => {
                circuit.trial = true;
                Admission::Trial
            }
        }
    }

    /// Whether the backend is to be skipped now (no side effect, unlike `admit`).
    pub fn is_open(&self, backend: &str) -> bool {
        let circuits = self.circuits.lock();
        circuits.get(backend).is_some_and(|c| match c.open_until {
            None => false,
            Some(until) => Instant::now() < until || c.trial,
        })
    }

    pub fn success(&self, backend: &str) {
        if let Some(circuit) = self.circuits.lock().get_mut(backend) {
            *circuit = Circuit::default();
        }
    }

    pub fn failure(&self, backend: &str, settings: &Settings) {
        let mut circuits = self.circuits.lock();
        let circuit = circuits.entry(backend.to_owned()).or_default();
        circuit.consecutive_failures += 1;
        if circuit.trial || circuit.consecutive_failures >= settings.failure_threshold {
            if circuit.open_until.is_none() || circuit.trial {
                log::warn!(
                    "backend {backend}: circuit open for {} s after {} consecutive failures",
                    settings.cooldown.as_secs_f64(),
                    circuit.consecutive_failures
                );
            }
            circuit.open_until = Some(Instant::now() + settings.cooldown);
        }
        circuit.trial = false;
    }

    /// A backend asked us to wait (`Retry-After`): skip it that long.
    pub fn hold(&self, backend: &str, wait: Duration) {
        let mut circuits = self.circuits.lock();
        let circuit = circuits.entry(backend.to_owned()).or_default();
        let until = Instant::now() + wait.min(MAX_HOLD);
        circuit.open_until = Some(circuit.open_until.map_or(until, |u| u.max(until)));
        circuit.trial = false;
    }

    /// A health probe reached the backend. It resets the failure count of a closed circuit but
    /// does not close an open one: only a real request may do that.
    pub fn probe_ok(&self, backend: &str) {
        if let Some(circuit) = self.circuits.lock().get_mut(backend) {
            if circuit.open_until.is_none() {
                circuit.consecutive_failures = 0;
            }
        }
    }

    /// The state of one backend's circuit, for `/debug/health`.
    pub fn describe(&self, backend: &str) -> Value {
        let circuits = self.circuits.lock();
        let Some(c) = circuits.get(backend) else {
            return json!({"state": "closed", "consecutiveFailures": 0});
        };
        let now = Instant::now();
        let state = match c.open_until {
            None => "closed",
            Some(_) if c.trial => "half-open",
            Some(until) if now < until => "open",
            Some(_) => "half-open",
        };
        let retry_in = c
            .open_until
            .map(|u| u.saturating_duration_since(now).as_secs_f64());
        json!({"state": state, "consecutiveFailures": c.consecutive_failures, "retryInSecs": retry_in})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            failure_threshold: 2,
            cooldown: Duration::from_millis(30),
        }
    }

    #[test]
    fn opens_after_threshold_then_allows_one_trial() {
        let b = Breakers::default();
        assert_eq!(b.admit("x"), Admission::Closed);
        b.failure("x", &settings());
        assert_eq!(
            b.admit("x"),
            Admission::Closed,
            "one failure is under the threshold"
        );
        b.failure("x", &settings());
        assert!(b.is_open("x"));
        assert_eq!(b.admit("x"), Admission::Open);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit("x"), Admission::Trial);
        assert_eq!(b.admit("x"), Admission::Open, "only one trial at a time");
        b.failure("x", &settings());
        assert_eq!(
            b.admit("x"),
            Admission::Open,
            "a failed trial opens the circuit again"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit("x"), Admission::Trial);
        b.success("x");
        assert_eq!(b.admit("x"), Admission::Closed);
        assert_eq!(b.describe("x")["state"], "closed");
    }

    #[test]
    fn retry_after_holds_and_probes_do_not_close() {
        let b = Breakers::default();
        b.hold("y", Duration::from_millis(30));
        assert_eq!(b.admit("y"), Admission::Open);
        b.probe_ok("y");
        assert_eq!(b.admit("y"), Admission::Open);
        assert_eq!(b.describe("y")["state"], "open");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit("y"), Admission::Trial);
    }
}
