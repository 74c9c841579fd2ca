//! The end-to-end harness shared by every test file: a scriptable mock backend ([`mock`]), a raw
//! HTTP client ([`client`]), the gateway launcher ([`gateway`]), canned dialect payloads
//! ([`payloads`]) and a Prometheus text parser ([`metrics`]).
//!
//! Each test starts its own mock(s) and its own gateway on its own ports, so tests run in
//! parallel safely. Failure messages show expected vs got and the gateway's output.
#![allow(dead_code, unused_imports)]

pub mod client;
pub mod gateway;
pub mod metrics;
pub mod mock;
pub mod payloads;

use std::time::Duration;

use serde_json::{json, Value};

pub use client::{Event, Req, Response, Stream};
pub use gateway::{Gateway, GatewayBuilder};
pub use mock::{Mock, Reply, StreamEnd};

/// Asserts a condition; on failure prints the message and the gateway's output.
#[macro_export]
macro_rules! gw_assert {
    ($gw:expr, $cond:expr, $($fmt:tt)+) => {{
        let holds: bool = $cond;
        if !holds {
            panic!("assertion failed: {}\n{}\n{}", stringify!($cond), format!($($fmt)+), $gw.diag());
        }
    }};
}

/// Asserts equality; on failure prints expected, got, the message and the gateway's output.
#[macro_export]
macro_rules! gw_assert_eq {
    ($gw:expr, $expected:expr, $got:expr, $($fmt:tt)+) => {
        match (&$expected, &$got) {
            (expected, got) => {
                if expected != got {
                    panic!("{}\n  expected: {:?}\n       got: {:?}\n{}", format!($($fmt)+), expected, got, $gw.diag());
                }
            }
        }
    };
}

/// The three client dialects, so one test body can run over each of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
    Responses,
}

/// Anthropic last: a loop that fails on one dialect has still checked the others.
pub const ALL_DIALECTS: [Dialect; 3] = [Dialect::OpenAi, Dialect::Responses, Dialect::Anthropic];

impl Dialect {
    pub fn path(self) -> &'static str {
        match self {
            Dialect::OpenAi => "/v1/chat/completions",
            Dialect::Anthropic => "/v1/messages",
            Dialect::Responses => "/v1/responses",
        }
    }

    /// The config `api` value of a backend speaking this dialect.
    pub fn api(self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Responses => "responses",
        }
    }

    /// A model name that routes nowhere special.
    pub fn model(self) -> &'static str {
        match self {
            Dialect::OpenAi => "gpt-4o-mini",
            Dialect::Anthropic => "claude-sonnet-4-5",
            Dialect::Responses => "gpt-4.1",
        }
    }

    /// A hand-formatted request body of this dialect.
    pub fn request(self, model: &str, stream: bool) -> Vec<u8> {
        match self {
            Dialect::OpenAi => payloads::openai_request(model, stream),
            Dialect::Anthropic => payloads::anthropic_request(model, stream),
            Dialect::Responses => payloads::responses_request(model, stream),
        }
    }

    /// A non-streaming response body of this dialect.
    pub fn response(self, model: &str, text: &str) -> Value {
        match self {
            Dialect::OpenAi => payloads::openai_completion(model, text),
            Dialect::Anthropic => payloads::anthropic_message(model, text),
            Dialect::Responses => payloads::responses_response(model, text),
        }
    }

    /// The SSE frames a backend of this dialect sends for `pieces`.
    pub fn stream(self, model: &str, pieces: &[&str]) -> Vec<Vec<u8>> {
        match self {
            Dialect::OpenAi => payloads::openai_stream(model, pieces),
            Dialect::Anthropic => payloads::anthropic_stream(model, pieces),
            Dialect::Responses => payloads::responses_stream(model, pieces),
        }
    }

    /// Headers a real client of this dialect sends.
    pub fn client_headers(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Dialect::Anthropic => vec![("anthropic-version", "2023-06-01")],
            _ => vec![],
        }
    }

    /// Checks that `r` is an error of this dialect with this status; returns its message.
    pub fn expect_error(self, gw: &Gateway, r: &Response, status: u16) -> String {
        match self {
            Dialect::Anthropic => expect_anthropic_error(gw, r, status),
            _ => expect_openai_error(gw, r, status),
        }
    }
}

/// A config with these backends and default backend; `extra` is merged in at the top level.
pub fn config(backends: Value, default_backend: &str, extra: Value) -> Value {
    let mut c = json!({"backends": backends, "defaultBackend": default_backend});
    if let Value::Object(map) = extra {
        for (k, v) in map {
            c[k] = v;
        }
    }
    c
}

/// A backend object of this dialect pointing at a mock.
pub fn backend(mock: &Mock, dialect: Dialect) -> Value {
    json!({"url": mock.url(), "api": dialect.api()})
}

/// A gateway whose only (and default) backend `up` is this mock, speaking dialect `d`.
pub fn gateway_for(mock: &Mock, d: Dialect) -> Gateway {
    Gateway::start(config(json!({"up": backend(mock, d)}), "up", json!({})))
}

/// Checks the OpenAI error shape `{"error":{"message","type",...}}`; returns the message.
pub fn expect_openai_error(gw: &Gateway, r: &Response, status: u16) -> String {
    gw_assert_eq!(
        gw,
        status,
        r.status,
        "status of an OpenAI-dialect error; response: {}",
        r.describe()
    );
    let v = r.try_json();
    gw_assert!(
        gw,
        v.is_some(),
        "error body must be JSON; response: {}",
        r.describe()
    );
    let v = v.unwrap();
    let msg = v.pointer("/error/message").and_then(Value::as_str);
    let ty = v.pointer("/error/type").and_then(Value::as_str);
    gw_assert!(
        gw,
        msg.is_some_and(|m| !m.is_empty()) && ty.is_some_and(|t| !t.is_empty()),
        "expected {{\"error\":{{\"message\":…,\"type\":…}}}}, got {}",
        r.describe()
    );
    msg.unwrap().to_string()
}

/// Checks the Anthropic error shape `{"type":"error","error":{"type","message"}}`; returns the message.
pub fn expect_anthropic_error(gw: &Gateway, r: &Response, status: u16) -> String {
    gw_assert_eq!(
        gw,
        status,
        r.status,
        "status of an Anthropic-dialect error; response: {}",
        r.describe()
    );
    let v = r.try_json();
    gw_assert!(
        gw,
        v.is_some(),
        "error body must be JSON; response: {}",
        r.describe()
    );
    let v = v.unwrap();
    let msg = v.pointer("/error/message").and_then(Value::as_str);
    let ty = v.pointer("/error/type").and_then(Value::as_str);
    gw_assert!(
        gw,
        v["type"] == "error"
            && msg.is_some_and(|m| !m.is_empty())
            && ty.is_some_and(|t| !t.is_empty()),
        "expected {{\"type\":\"error\",\"error\":{{\"type\":…,\"message\":…}}}}, got {}",
        r.describe()
    );
    msg.unwrap().to_string()
}

/// Short sleeps used by tests to let a request reach a queue; never used to assert timing.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}
