//! Helpers shared by the control-plane tests (`tests/control*.rs`, issue 5): JSON calls to the
//! `/debug` endpoints, bounded waits for the health prober and the request log, chat bodies
//! carrying a given user text in each client dialect, and the text of an answer in each dialect,
//! streamed or not.
//!
//! Included by each test file with `#[path = "common/control.rs"] mod control;` next to
//! `mod common;`, so `tests/common/mod.rs` stays as it is.
#![allow(dead_code)]

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::client::Event;
use crate::common::{Dialect, Gateway, Req, Response};

/// The longest any wait in these tests lasts.
pub const WAIT: Duration = Duration::from_secs(10);

/// `GET path` with these headers; the response must be 200 JSON.
pub fn get_json(gw: &Gateway, path: &str, headers: &[(&str, &str)]) -> Value {
    let r = gw.send(Req::get(path).headers(headers));
    expect_json(gw, &r, 200, &format!("GET {path}"))
}

/// `POST path` with a body and headers; returns the response.
pub fn post(
    gw: &Gateway,
    path: &str,
    body: impl Into<Vec<u8>>,
    headers: &[(&str, &str)],
) -> Response {
    gw.send(Req::post(path, body).headers(headers))
}

/// Checks status and JSON content type, returns the JSON.
pub fn expect_json(gw: &Gateway, r: &Response, status: u16, what: &str) -> Value {
    if r.status != status {
        panic!(
            "{what}: expected status {status}, got {}\n{}\n{}",
            r.status,
            r.describe(),
            gw.diag()
        );
    }
    if !r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        panic!(
            "{what}: expected a JSON content type\n{}\n{}",
            r.describe(),
            gw.diag()
        );
    }
    match r.try_json() {
        Some(v) => v,
        None => panic!("{what}: body is not JSON\n{}\n{}", r.describe(), gw.diag()),
    }
}

/// Checks the control plane's error shape (`{"error":{"message","type"}}`) and status; returns
/// the message.
pub fn expect_control_error(gw: &Gateway, r: &Response, status: u16, what: &str) -> String {
    let v = expect_json(gw, r, status, what);
    let msg = v.pointer("/error/message").and_then(Value::as_str);
    if msg.is_none_or(str::is_empty) || v.pointer("/error/type").is_none() {
        panic!(
            "{what}: expected {{\"error\":{{\"message\",\"type\"}}}}, got {}\n{}",
            r.describe(),
            gw.diag()
        );
    }
    msg.unwrap().to_string()
}

/// Polls until `cond` holds on the value `fetch` returns (at most [`WAIT`]); panics with the last
/// value and the gateway's output otherwise.
pub fn wait_until(
    gw: &Gateway,
    what: &str,
    mut fetch: impl FnMut() -> Value,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = fetch();
        if cond(&v) {
            return v;
        }
        if Instant::now() >= deadline {
            panic!(
                "waited {WAIT:?} for {what}; last value:\n{}\n{}",
                serde_json::to_string_pretty(&v).unwrap(),
                gw.diag()
            );
        }
        thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until the health prober has checked every backend once; returns `/debug/health`.
/// The admin token (or a client key) is sent in case reads need one; health itself is open.
pub fn wait_probed(gw: &Gateway) -> Value {
    wait_until(
        gw,
        "every backend probed (status not \"unknown\")",
        || {
            let r = gw.get("/debug/health");
            r.try_json().unwrap_or(Value::Null)
        },
        |v| {
            v["backends"]
                .as_object()
                .is_some_and(|b| !b.is_empty() && b.values().all(|x| x["status"] != "unknown"))
        },
    )
}

/// Waits until the request log holds at least `n` entries; returns `/debug/logs?limit=1000`.
pub fn wait_logged(gw: &Gateway, n: usize, headers: &[(&str, &str)]) -> Value {
    wait_until(
        gw,
        &format!("{n} entries in /debug/logs"),
        || get_json(gw, "/debug/logs?limit=1000", headers),
        |v| v["count"].as_u64().unwrap_or(0) >= n as u64,
    )
}

/// A minimal chat request of dialect `d` whose last (only) user message is `text`.
pub fn chat_body(d: Dialect, model: &str, text: &str, stream: bool) -> Vec<u8> {
    let v = match d {
        Dialect::OpenAi => {
            json!({"model": model, "messages": [{"role": "user", "content": text}], "stream": stream})
        }
        Dialect::Anthropic => json!({"model": model, "max_tokens": 256,
            "messages": [{"role": "user", "content": text}], "stream": stream}),
        Dialect::Responses => json!({"model": model, "stream": stream,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]}),
    };
    serde_json::to_vec(&v).unwrap()
}

/// Sends a chat request of dialect `d` with this text and extra headers; returns the answer's
/// text (read from the stream when `stream`) and the response head.
pub fn chat(
    gw: &Gateway,
    d: Dialect,
    text: &str,
    stream: bool,
    headers: &[(&str, &str)],
) -> (Response, String) {
    let mut req = Req::post(d.path(), chat_body(d, d.model(), text, stream))
        .headers(&d.client_headers())
        .headers(headers);
    req.read_timeout = Duration::from_secs(10);
    if !stream {
        let r = gw.send(req);
        let text = if r.status == 200 {
            answer_text(gw, d, &r)
        } else {
            String::new()
        };
        return (r, text);
    }
    let mut s = gw.open(req);
    if s.status != 200 {
        let r = gw.finish(s);
        return (r, String::new());
    }
    let ct = s.header("content-type").unwrap_or("").to_string();
    assert!(
        ct.starts_with("text/event-stream"),
        "a streamed answer must be text/event-stream, got {ct:?}\n{}",
        gw.diag()
    );
    let events = gw.events(&mut s);
    let text = stream_text(gw, d, &events);
    let head = Response {
        status: s.status,
        reason: s.reason.clone(),
        version: s.version.clone(),
        headers: s.headers.clone(),
        body: s.raw.clone(),
        elapsed: Duration::ZERO,
    };
    (head, text)
}

/// The assistant text of a complete (non-streamed) answer in dialect `d`.
pub fn answer_text(gw: &Gateway, d: Dialect, r: &Response) -> String {
    let v = match r.try_json() {
        Some(v) => v,
        None => panic!("answer is not JSON: {}\n{}", r.describe(), gw.diag()),
    };
    let text = match d {
        Dialect::OpenAi => v
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Dialect::Anthropic => v["content"].as_array().map(|blocks| {
            blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect()
        }),
        Dialect::Responses => v["output"].as_array().map(|items| {
            items
                .iter()
                .filter(|i| i["type"] == "message")
                .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
                .filter(|c| c["type"] == "output_text")
                .filter_map(|c| c["text"].as_str().map(str::to_owned))
                .collect()
        }),
    };
    match text {
        Some(t) => t,
        None => panic!(
            "no assistant text in this {d:?} answer: {}\n{}",
            r.describe(),
            gw.diag()
        ),
    }
}

/// The assistant text of a streamed answer in dialect `d`; also checks the stream ends as the
/// dialect says a stream ends.
pub fn stream_text(gw: &Gateway, d: Dialect, events: &[Event]) -> String {
    let events: Vec<&Event> = events.iter().filter(|e| !e.is_comment_only()).collect();
    let dump = || {
        events
            .iter()
            .map(|e| e.raw_text())
            .collect::<Vec<_>>()
            .join("")
    };
    let mut text = String::new();
    match d {
        Dialect::OpenAi => {
            assert!(
                events.last().is_some_and(|e| e.data == "[DONE]"),
                "an OpenAI stream ends with data: [DONE]; got:\n{}\n{}",
                dump(),
                gw.diag()
            );
            for e in &events {
                if let Some(v) = e.json() {
                    if let Some(t) = v
                        .pointer("/choices/0/delta/content")
                        .and_then(Value::as_str)
                    {
                        text.push_str(t);
                    }
                }
            }
        }
        Dialect::Anthropic => {
            assert!(
                events.first().and_then(|e| e.event.as_deref()) == Some("message_start")
                    && events.last().and_then(|e| e.event.as_deref()) == Some("message_stop"),
                "an Anthropic stream runs from message_start to message_stop; got:\n{}\n{}",
                dump(),
                gw.diag()
            );
            for e in &events {
                if e.event.as_deref() == Some("content_block_delta") {
                    if let Some(t) = e.json().and_then(|v| {
                        v.pointer("/delta/text")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    }) {
                        text.push_str(&t);
                    }
                }
            }
        }
        Dialect::Responses => {
            assert!(
                events.last().and_then(|e| e.event.as_deref()) == Some("response.completed"),
                "a Responses stream ends with response.completed; got:\n{}\n{}",
                dump(),
                gw.diag()
            );
            for e in &events {
                if e.event.as_deref() == Some("response.output_text.delta") {
                    if let Some(t) = e
                        .json()
                        .and_then(|v| v["delta"].as_str().map(str::to_owned))
                    {
                        text.push_str(&t);
                    }
                }
            }
        }
    }
    text
}

/// A port on 127.0.0.1 that refuses connections for as long as this value lives: a socket bound
/// to it but not listening. Unlike a port that was merely free a moment ago, no gateway or mock
/// started meanwhile can take it.
pub struct DeadPort {
    fd: libc::c_int,
    pub port: u16,
}

impl DeadPort {
    pub fn new() -> DeadPort {
        // SAFETY: plain socket calls on a fresh descriptor with a valid, correctly sized address.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            addr.sin_port = 0;
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let rc = libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len);
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            let mut got: libc::sockaddr_in = std::mem::zeroed();
            let mut got_len = len;
            let rc = libc::getsockname(
                fd,
                (&mut got as *mut libc::sockaddr_in).cast(),
                &mut got_len,
            );
            assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
            DeadPort {
                fd,
                port: u16::from_be(got.sin_port),
            }
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for DeadPort {
    fn drop(&mut self) {
        // SAFETY: closing the descriptor this value owns, once.
        unsafe {
            libc::close(self.fd);
        }
    }
}
