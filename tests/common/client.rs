//! A small raw HTTP/1.x client on `std::net::TcpStream`: it sends exactly the bytes a test asks for,
//! reads a response (Content-Length, chunked or close-delimited), and reads an SSE stream event by
//! event, recording when each event arrived. Dropping a [`Stream`] drops the connection mid-stream.
//!
//! Every read has a timeout, so a gateway that hangs fails a test instead of stalling the suite.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Default read timeout of a client socket.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most events a stream is read for before a test gives up.
pub const MAX_EVENTS: usize = 10_000;

/// A request to send, built up step by step.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: &'static str,
    /// Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`.
    pub chunked: bool,
    /// Add `Connection: close` (HTTP/1.1 only).
    pub close: bool,
    pub read_timeout: Duration,
}

impl Req {
    pub fn new(method: &str, path: &str) -> Req {
        Req {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            version: "HTTP/1.1",
            chunked: false,
            close: true,
            read_timeout: READ_TIMEOUT,
        }
    }

    pub fn get(path: &str) -> Req {
        Req::new("GET", path)
    }

    /// A POST with a JSON body (`Content-Type: application/json`).
    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Req {
        Req::new("POST", path)
            .header("Content-Type", "application/json")
            .body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn headers(mut self, hs: &[(&str, &str)]) -> Req {
        for (k, v) in hs {
            self.headers.push((k.to_string(), v.to_string()));
        }
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = body.into();
        self
    }

    pub fn http10(mut self) -> Req {
        self.version = "HTTP/1.0";
        self.close = false;
        self
    }

    pub fn chunked(mut self) -> Req {
        self.chunked = true;
        self
    }

    pub fn timeout(mut self, t: Duration) -> Req {
        self.read_timeout = t;
        self
    }

    /// The exact bytes this request puts on the wire.
    pub fn to_bytes(&self, port: u16) -> Vec<u8> {
        let mut h = format!(
            "{} {} {}\r\nHost: 127.0.0.1:{port}\r\n",
            self.method, self.path, self.version
        );
        for (k, v) in &self.headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        if self.close && self.version == "HTTP/1.1" {
            h.push_str("Connection: close\r\n");
        }
        let has_body =
            !self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH");
        if self.chunked {
            h.push_str("Transfer-Encoding: chunked\r\n");
        } else if has_body {
            h.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        h.push_str("\r\n");
        let mut out = h.into_bytes();
        if self.chunked {
            for piece in self.body.chunks(1000) {
                out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                out.extend_from_slice(piece);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(&self.body);
        }
        out
    }

    /// Sends the request and reads the whole response.
    pub fn send(&self, port: u16) -> io::Result<Response> {
        self.open(port)?.into_response()
    }

    /// Sends the request and reads the response head; the body is read from the returned stream.
    pub fn open(&self, port: u16) -> io::Result<Stream> {
        let tcp = connect(port, self.read_timeout)?;
        let bytes = self.to_bytes(port);
        let sent_at = Instant::now();
        // A server may answer (413) and close before it read the whole body; a write error here is
        // then expected, and the response is still to be read.
        let write_result = (&tcp).write_all(&bytes).and_then(|_| (&tcp).flush());
        match read_head(tcp, sent_at, self.method == "HEAD") {
            Ok(s) => Ok(s),
            Err(e) => Err(match write_result {
                Err(we) => io::Error::new(
                    we.kind(),
                    format!("write failed ({we}), then reading the head failed ({e})"),
                ),
                Ok(()) => e,
            }),
        }
    }
}

/// Connects to 127.0.0.1:`port` with TCP_NODELAY and timeouts.
pub fn connect(port: u16, read_timeout: Duration) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(3))?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(read_timeout))?;
    tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(tcp)
}

/// Sends raw bytes on a fresh connection and reads one response.
pub fn send_raw(port: u16, bytes: &[u8]) -> io::Result<Response> {
    let tcp = connect(port, READ_TIMEOUT)?;
    let sent_at = Instant::now();
    let write_result = (&tcp).write_all(bytes);
    let mut s = read_head(tcp, sent_at, false).map_err(|e| match &write_result {
        Err(we) => io::Error::new(
            we.kind(),
            format!("write failed ({we}), then reading the head failed ({e})"),
        ),
        Ok(()) => e,
    })?;
    let body = s.read_body()?;
    Ok(Response {
        status: s.status,
        reason: s.reason.clone(),
        version: s.version.clone(),
        headers: s.headers.clone(),
        body,
        elapsed: sent_at.elapsed(),
    })
}

/// Reads one complete response from a connection on which a request was already written.
pub fn read_response(tcp: TcpStream) -> io::Result<Response> {
    let sent_at = Instant::now();
    let mut s = read_head(tcp, sent_at, false)?;
    let body = s.read_body()?;
    Ok(Response {
        status: s.status,
        reason: s.reason.clone(),
        version: s.version.clone(),
        headers: s.headers.clone(),
        body,
        elapsed: sent_at.elapsed(),
    })
}

/// A complete response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, or `None` if it is not JSON.
    pub fn try_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        self.try_json().unwrap_or_else(|| {
            panic!(
                "response body is not JSON (status {}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// One line for assertion messages.
    pub fn describe(&self) -> String {
        let mut body = self.text();
        if body.len() > 2000 {
            let mut cut = 2000;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push('…');
        }
        format!(
            "{} {} headers={:?} body={}",
            self.status, self.reason, self.headers, body
        )
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Length(u64),
    Chunked,
    Close,
    None,
}

/// Reads a body as its framing says, exposing only the payload bytes.
pub struct BodyReader {
    inner: BufReader<TcpStream>,
    framing: Framing,
    /// Bytes left in the current chunk, or in the whole body for `Length`.
    left: u64,
    done: bool,
}

impl BodyReader {
    fn read_crlf_line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        let n = (&mut self.inner).take(4096).read_until(b'\n', &mut line)?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside chunk framing",
            ));
        }
        Ok(String::from_utf8_lossy(&line).trim_end().to_string())
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        match self.framing {
            Framing::None => Ok(0),
            Framing::Close => {
                let n = self.inner.read(buf)?;
                if n == 0 {
                    self.done = true;
                }
                Ok(n)
            }
            Framing::Length(_) => {
                if self.left == 0 {
                    self.done = true;
                    return Ok(0);
                }
                let max = buf.len().min(self.left as usize);
                let n = self.inner.read(&mut buf[..max])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed before Content-Length bytes",
                    ));
                }
                self.left -= n as u64;
                Ok(n)
            }
            Framing::Chunked => {
                if self.left == 0 {
                    let line = self.read_crlf_line()?;
                    let size = u64::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| {
                            io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("bad chunk size line {line:?}"),
                            )
                        })?;
                    if size == 0 {
                        // Trailers, then the empty line.
                        for _ in 0..100 {
                            if self.read_crlf_line()?.is_empty() {
                                break;
                            }
                        }
                        self.done = true;
                        return Ok(0);
                    }
                    self.left = size;
                }
                let max = buf.len().min(self.left as usize);
                let n = self.inner.read(&mut buf[..max])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a chunk",
                    ));
                }
                self.left -= n as u64;
                if self.left == 0 {
                    let crlf = self.read_crlf_line()?;
                    if !crlf.is_empty() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "chunk not followed by CRLF",
                        ));
                    }
                }
                Ok(n)
            }
        }
    }
}

/// An open response: the head has been read, the body is read from here (whole, or SSE event by
/// SSE event). Dropping it closes the connection.
pub struct Stream {
    pub status: u16,
    pub reason: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    /// When the request had been written.
    pub sent_at: Instant,
    /// When the response head had been read.
    pub head_at: Instant,
    head_only: bool,
    tcp: TcpStream,
    body: BufReader<BodyReader>,
    /// Every payload byte read so far through `next_event`.
    pub raw: Vec<u8>,
}

fn read_head(tcp: TcpStream, sent_at: Instant, head_only: bool) -> io::Result<Stream> {
    let read_half = tcp.try_clone()?;
    let mut inner = BufReader::new(read_half);
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = (&mut inner).take(64 * 1024).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed before the response head was complete (got {:?})",
                    lines
                ),
            ));
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        if line.is_empty() {
            // Skip interim 1xx responses.
            if lines
                .first()
                .is_some_and(|l: &String| l.split(' ').nth(1).is_some_and(|s| s.starts_with('1')))
            {
                lines.clear();
                continue;
            }
            break;
        }
        lines.push(line);
        if lines.len() > 500 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response head too long",
            ));
        }
    }
    let status_line = lines.first().cloned().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("").to_string();
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad status line {status_line:?}"),
        )
    })?;
    let reason = parts.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines[1..]
        .iter()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let framing = if head_only || status == 204 || status == 304 {
        Framing::None
    } else if find_header(&headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        Framing::Chunked
    } else if let Some(len) = find_header(&headers, "content-length") {
        Framing::Length(
            len.parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?,
        )
    } else {
        Framing::Close
    };
    let left = match framing {
        Framing::Length(n) => n,
        _ => 0,
    };
    let body = BufReader::new(BodyReader {
        inner,
        framing,
        left,
        done: false,
    });
    Ok(Stream {
        status,
        reason,
        version,
        headers,
        framing,
        sent_at,
        head_at: Instant::now(),
        head_only,
        tcp,
        body,
        raw: Vec::new(),
    })
}

impl Stream {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Reads the rest of the body.
    pub fn read_body(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        if self.head_only {
            return Ok(out);
        }
        (&mut self.body)
            .take(256 * 1024 * 1024)
            .read_to_end(&mut out)?;
        Ok(out)
    }

    /// Reads the rest of the body as a complete response (for a stream request that got a JSON error).
    pub fn into_response(mut self) -> io::Result<Response> {
        let body = self.read_body()?;
        Ok(Response {
            status: self.status,
            reason: self.reason.clone(),
            version: self.version.clone(),
            headers: self.headers.clone(),
            body,
            elapsed: self.sent_at.elapsed(),
        })
    }

    /// Changes the read timeout of the socket.
    pub fn set_timeout(&self, t: Duration) {
        let _ = self.tcp.set_read_timeout(Some(t));
    }

    /// Reads the next SSE block (an event, or a comment-only block such as a heartbeat).
    /// `Ok(None)` at the end of the body.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        let mut ev = Event::default();
        loop {
            let mut line = Vec::new();
            let n = (&mut self.body)
                .take(1024 * 1024)
                .read_until(b'\n', &mut line)?;
            self.raw.extend_from_slice(&line);
            if n == 0 {
                if ev.raw.is_empty() {
                    return Ok(None);
                }
                ev.at = Instant::now();
                ev.complete = false;
                return Ok(Some(ev));
            }
            ev.raw.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches('\n').trim_end_matches('\r');
            if text.is_empty() {
                if ev.raw.len() == line.len() {
                    // A stray blank line between events: not an event.
                    ev.raw.clear();
                    continue;
                }
                ev.at = Instant::now();
                ev.complete = true;
                return Ok(Some(ev));
            }
            if let Some(c) = text.strip_prefix(':') {
                ev.comments.push(c.trim_start().to_string());
                continue;
            }
            let (field, value) = match text.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (text, ""),
            };
            match field {
                "event" => ev.event = Some(value.to_string()),
                "data" => {
                    if ev.has_data {
                        ev.data.push('\n');
                    }
                    ev.data.push_str(value);
                    ev.has_data = true;
                }
                "id" => ev.id = Some(value.to_string()),
                _ => {}
            }
        }
    }

    /// Reads every remaining block (bounded by `MAX_EVENTS` and the socket's read timeout).
    pub fn all_events(&mut self) -> io::Result<Vec<Event>> {
        let mut out = Vec::new();
        while let Some(ev) = self.next_event()? {
            out.push(ev);
            if out.len() >= MAX_EVENTS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "too many events",
                ));
            }
        }
        Ok(out)
    }

    /// Drops the connection at once (both directions), as a client that goes away would.
    pub fn disconnect(self) {
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

/// One SSE block as the client saw it.
#[derive(Clone, Debug)]
pub struct Event {
    /// The exact bytes of the block, its terminating blank line included.
    pub raw: Vec<u8>,
    pub event: Option<String>,
    pub data: String,
    pub has_data: bool,
    pub id: Option<String>,
    pub comments: Vec<String>,
    /// When its last line arrived.
    pub at: Instant,
    /// False if the body ended before the block's blank line.
    pub complete: bool,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            raw: Vec::new(),
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
            comments: Vec::new(),
            at: Instant::now(),
            complete: false,
        }
    }
}

impl Event {
    /// A block with only comment lines (a heartbeat such as `: keep-alive`).
    pub fn is_comment_only(&self) -> bool {
        !self.comments.is_empty() && self.event.is_none() && !self.has_data && self.id.is_none()
    }

    /// The data parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }

    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// The events of a list that are not comment-only blocks.
pub fn without_comments(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| !e.is_comment_only())
        .cloned()
        .collect()
}
