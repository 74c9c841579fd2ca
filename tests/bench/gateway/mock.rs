//! A fast mock LLM backend, inside the bench process.
//!
//! Plain std: a listener thread, one thread per connection, HTTP/1.1 keep-alive and just enough
//! parsing (request line, `Content-Length` or chunked body, `Connection: close`). It answers
//!
//! - `POST …/v1/chat/completions` (OpenAI chat) and `POST …/v1/messages` (Anthropic), non-streaming
//!   with a small canned answer, streaming (`"stream": true`) with `n_events` tokens (default 200)
//!   sent `interval_us` apart (default 2000), each in its own chunk, then the dialect's ending;
//! - anything else with a 404.
//!
//! Every token's text is `@@<ns> ` where `<ns>` is `clock::now_ns()` taken just before the event
//! is written. Putting the stamp in the token text (rather than only in a side field) lets it
//! survive a cross-dialect conversion in the gateway, which keeps the text and drops unknown
//! fields; the client finds the stamps with a byte scan (see `client.rs`).
//!
//! The request body is never parsed as JSON: `"stream"`, `"n_events"`, `"interval_us"` and
//! `"include_usage"` are found by a byte search, so the mock costs the same little CPU whether it
//! is hit directly or through the gateway.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::clock::now_ns;

/// Tokens in a stream when the request does not say.
pub const DEFAULT_EVENTS: u64 = 200;
/// Gap between two tokens when the request does not say.
const DEFAULT_INTERVAL_US: u64 = 2000;
/// Caps on what a request may ask for, so a typo cannot make the mock run for ever.
const MAX_EVENTS: u64 = 100_000;
const MAX_INTERVAL_US: u64 = 1_000_000;
/// The largest request head line and body the mock reads.
const MAX_LINE: usize = 16 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

const OPENAI_ANSWER: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"mock-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock backend."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"#;
const ANTHROPIC_ANSWER: &str = r#"{"id":"msg_bench","type":"message","role":"assistant","model":"mock-model","content":[{"type":"text","text":"Hello from the mock backend."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":6}}"#;
const NOT_FOUND: &str = r#"{"error":{"message":"the mock serves POST /v1/chat/completions and POST /v1/messages","type":"not_found","code":null}}"#;

/// Starts the mock on an ephemeral 127.0.0.1 port and returns the port. The mock lives as long
/// as the bench process.
pub fn start() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    thread::Builder::new()
        .name("mock-accept".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let spawned = thread::Builder::new()
                    .name("mock-conn".into())
                    .stack_size(256 * 1024)
                    .spawn(move || serve(stream));
                if let Err(e) = spawned {
                    eprintln!("mock: cannot start a connection thread: {e}");
                }
            }
        })?;
    Ok(port)
}

/// One parsed request: only what the mock needs.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

/// Serves one connection until the client closes it, asks to, or errs.
fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(16 * 1024, read_half);
    let mut out = stream;
    let mut line = Vec::with_capacity(256);
    while let Ok(Some(request)) = read_request(&mut reader, &mut line) {
        if answer(&mut out, &request).is_err() || request.close {
            break;
        }
    }
}

/// Reads the next request, or `None` at a clean end of the connection.
fn read_request(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<Request>> {
    if read_line(reader, line)? == 0 {
        return Ok(None);
    }
    let request_line = String::from_utf8_lossy(line).into_owned();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    let mut chunked = false;
    let mut close = parts.next() == Some("HTTP/1.0");
    loop {
        if read_line(reader, line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = trim_crlf(line);
        if header.is_empty() {
            break;
        }
        let Some(colon) = header.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&header[..colon], header[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            length = parse_decimal(value).unwrap_or(0) as usize;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = contains_ignore_case(value, b"chunked");
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = contains_ignore_case(value, b"close");
        }
    }
    let body = if chunked {
        read_chunked(reader, line)?
    } else {
        read_exact_body(reader, length)?
    };
    Ok(Some(Request {
        method,
        path,
        body,
        close,
    }))
}

fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<usize> {
    line.clear();
    let n = reader
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', line)?;
    if n == MAX_LINE && line.last() != Some(&b'\n') {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    Ok(n)
}

fn read_exact_body(reader: &mut impl Read, length: usize) -> io::Result<Vec<u8>> {
    if length > MAX_BODY {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        read_line(reader, line)?;
        let size_field = trim_crlf(line).split(|&b| b == b';').next().unwrap_or(b"");
        let size = std::str::from_utf8(size_field.trim_ascii())
            .ok()
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers, then the empty line.
            while read_line(reader, line)? > 0 && !trim_crlf(line).is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader, line)?; // The CRLF after the chunk data.
    }
}

/// Routes one request to its answer.
fn answer(out: &mut TcpStream, request: &Request) -> io::Result<()> {
    let path = request.path.split('?').next().unwrap_or_default();
    let dialect = if request.method != "POST" {
        None
    } else if path.ends_with("/v1/chat/completions") {
        Some(Dialect::OpenAi)
    } else if path.ends_with("/v1/messages") {
        Some(Dialect::Anthropic)
    } else {
        None
    };
    let Some(dialect) = dialect else {
        return write_json(out, 404, NOT_FOUND);
    };
    if !json_flag(&request.body, b"\"stream\"") {
        let canned = match dialect {
            Dialect::OpenAi => OPENAI_ANSWER,
            Dialect::Anthropic => ANTHROPIC_ANSWER,
        };
        return write_json(out, 200, canned);
    }
    let plan = StreamPlan {
        events: json_number(&request.body, b"\"n_events\"")
            .unwrap_or(DEFAULT_EVENTS)
            .min(MAX_EVENTS),
        interval: Duration::from_micros(
            json_number(&request.body, b"\"interval_us\"")
                .unwrap_or(DEFAULT_INTERVAL_US)
                .min(MAX_INTERVAL_US),
        ),
        usage: json_flag(&request.body, b"\"include_usage\""),
    };
    let mut sse = SseOut::start(out)?;
    match dialect {
        Dialect::OpenAi => stream_openai(&mut sse, &plan)?,
        Dialect::Anthropic => stream_anthropic(&mut sse, &plan)?,
    }
    sse.finish()
}

#[derive(Clone, Copy)]
enum Dialect {
    OpenAi,
    Anthropic,
}

fn write_json(out: &mut TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let mut response = Vec::with_capacity(body.len() + 128);
    write!(
        response,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    response.extend_from_slice(body.as_bytes());
    out.write_all(&response)
}

/// What a streaming request asked for.
struct StreamPlan {
    events: u64,
    interval: Duration,
    usage: bool,
}

impl StreamPlan {
    /// Sleeps until token `i` is due. Deadlines are absolute, so the cadence does not drift.
    fn pace(&self, started: Instant, i: u64) {
        let due = started + self.interval * i as u32;
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
    }
}

fn stream_openai(sse: &mut SseOut<'_>, plan: &StreamPlan) -> io::Result<()> {
    const HEAD: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"mock-model""#;
    sse.event(|f| {
        write!(
            f,
            r#"data: {HEAD},"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},"finish_reason":null}}]}}"#
        )
    })?;
    let started = Instant::now();
    for i in 0..plan.events {
        plan.pace(started, i);
        let ts = now_ns();
        sse.event(|f| {
            write!(
                f,
                r#"data: {HEAD},"choices":[{{"index":0,"delta":{{"content":"@@{ts} "}},"finish_reason":null}}],"ts":{ts}}}"#
            )
        })?;
    }
    sse.event(|f| {
        write!(
            f,
            r#"data: {HEAD},"choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}]}}"#
        )
    })?;
    if plan.usage {
        let n = plan.events;
        sse.event(|f| {
            write!(
                f,
                r#"data: {HEAD},"choices":[],"usage":{{"prompt_tokens":12,"completion_tokens":{n},"total_tokens":{}}}}}"#,
                n + 12
            )
        })?;
    }
    sse.event(|f| f.write_all(b"data: [DONE]"))
}

fn stream_anthropic(sse: &mut SseOut<'_>, plan: &StreamPlan) -> io::Result<()> {
    sse.event(|f| {
        f.write_all(
            br#"event: message_start
data: {"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"mock-model","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
        )
    })?;
    sse.event(|f| {
        f.write_all(
            br#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        )
    })?;
    sse.event(|f| f.write_all(b"event: ping\ndata: {\"type\":\"ping\"}"))?;
    let started = Instant::now();
    for i in 0..plan.events {
        plan.pace(started, i);
        let ts = now_ns();
        sse.event(|f| {
            write!(
                f,
                "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"@@{ts} \"}}}}"
            )
        })?;
    }
    sse.event(|f| {
        f.write_all(
            b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
        )
    })?;
    let n = plan.events;
    sse.event(|f| {
        write!(
            f,
            "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{n}}}}}"
        )
    })?;
    sse.event(|f| f.write_all(b"event: message_stop\ndata: {\"type\":\"message_stop\"}"))
}

/// A chunked `text/event-stream` response: one chunk, written with one `write`, per event.
struct SseOut<'a> {
    out: &'a mut TcpStream,
    event: Vec<u8>,
    frame: Vec<u8>,
}

impl<'a> SseOut<'a> {
    fn start(out: &'a mut TcpStream) -> io::Result<SseOut<'a>> {
        out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n",
        )?;
        Ok(SseOut {
            out,
            event: Vec::with_capacity(512),
            frame: Vec::with_capacity(512),
        })
    }

    /// Writes one event: `fill` writes its lines (without the blank line that ends it).
    fn event(&mut self, fill: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
        self.event.clear();
        fill(&mut self.event)?;
        self.event.extend_from_slice(b"\n\n");
        self.frame.clear();
        write!(self.frame, "{:x}\r\n", self.event.len())?;
        self.frame.extend_from_slice(&self.event);
        self.frame.extend_from_slice(b"\r\n");
        self.out.write_all(&self.frame)
    }

    fn finish(self) -> io::Result<()> {
        self.out.write_all(b"0\r\n\r\n")
    }
}

/// Whether `"key"` is followed by `: true` somewhere in the body.
fn json_flag(body: &[u8], key: &[u8]) -> bool {
    value_after(body, key).is_some_and(|v| v.starts_with(b"true"))
}

/// The unsigned number after `"key":`, if any.
fn json_number(body: &[u8], key: &[u8]) -> Option<u64> {
    let value = value_after(body, key)?;
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    parse_decimal(&value[..digits])
}

/// The bytes after the first `key` followed by optional spaces and a colon, spaces skipped.
fn value_after<'b>(body: &'b [u8], key: &[u8]) -> Option<&'b [u8]> {
    let mut from = 0;
    while let Some(at) = find(&body[from..], key) {
        let rest = body[from + at + key.len()..].trim_ascii_start();
        if let Some(value) = rest.strip_prefix(b":") {
            return Some(value.trim_ascii_start());
        }
        from += at + key.len();
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
