//! The streaming client: raw `TcpStream`, hand-written HTTP/1.1, chunked decoding, and a byte scan
//! for the mock's time stamps.
//!
//! Each run opens a fresh connection (like a client that does not pool), sends one request and
//! reads the answer to its end. The clock starts just before `connect`, so the time to first token
//! includes everything a client waits for: connection set-up, the gateway's accept and dispatch,
//! its upstream call, and the first event's trip back.
//!
//! A token is found by its stamp `@@<ns>` (see `mock.rs`), whatever the dialect or framing around
//! it, so the same scan reads OpenAI chunks, Anthropic `text_delta`s and converted streams. The
//! arrival time of a token is the moment the `read` that completed its stamp returned.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::clock::now_ns;

/// How long any one read may block before the run is declared failed.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an error body that is kept for a message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// One request to send.
pub struct Call<'a> {
    pub port: u16,
    pub path: &'a str,
    /// Extra header lines, each ending in `\r\n`.
    pub headers: &'a str,
    pub body: &'a str,
}

/// What one streamed answer looked like.
pub struct StreamRun {
    /// From just before `connect` to the arrival of the first token.
    pub ttft_ns: u64,
    /// For each token, its arrival time minus the mock's send stamp.
    pub delays_ns: Vec<u64>,
}

/// Sends `call` and reads the streamed answer to its end. A non-200 answer is an `Err` carrying
/// the status and the error message from the body.
pub fn stream(call: &Call<'_>) -> Result<StreamRun, String> {
    let started = now_ns();
    let mut conn = Conn::open(call.port).map_err(|e| format!("connect: {e}"))?;
    conn.send_post(call).map_err(|e| format!("send: {e}"))?;
    let head = conn
        .read_head()
        .map_err(|e| format!("reading the head: {e}"))?;
    if head.status != 200 {
        let body = conn.read_body_to_end(&head);
        return Err(format!("HTTP {}: {}", head.status, error_message(&body)));
    }
    let mut scan = StampScan::default();
    let mut run = StreamRun {
        ttft_ns: 0,
        delays_ns: Vec::with_capacity(256),
    };
    conn.read_body(&head, |bytes, arrived| {
        scan.feed(bytes, |stamp| {
            if run.delays_ns.is_empty() {
                run.ttft_ns = arrived.saturating_sub(started);
            }
            run.delays_ns.push(arrived.saturating_sub(stamp));
        })
    })
    .map_err(|e| format!("reading the stream: {e}"))?;
    Ok(run)
}

/// `GET path` on a fresh connection; returns the status.
pub fn get_status(port: u16, path: &str) -> io::Result<u16> {
    let mut conn = Conn::open(port)?;
    write!(
        conn.stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    Ok(conn.read_head()?.status)
}

/// The useful part of an error body: `error.message` in either dialect, else the start of it.
fn error_message(body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .and_then(serde_json::Value::as_str)
    });
    match message {
        Some(message) => message.to_owned(),
        None => String::from_utf8_lossy(&body[..body.len().min(200)])
            .trim()
            .to_owned(),
    }
}

/// How the response body is framed.
enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

struct Head {
    status: u16,
    framing: Framing,
}

/// A connection with a read buffer: bytes past the head wait in `pending`.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
    /// When the bytes in `pending` arrived.
    pending_at: u64,
}

impl Conn {
    fn open(port: u16) -> io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn {
            stream,
            pending: Vec::with_capacity(16 * 1024),
            pending_at: 0,
        })
    }

    fn send_post(&mut self, call: &Call<'_>) -> io::Result<()> {
        let mut request = Vec::with_capacity(call.body.len() + 256);
        write!(
            request,
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: {}\r\n{}\r\n",
            call.path,
            call.port,
            call.body.len(),
            call.headers
        )?;
        request.extend_from_slice(call.body.as_bytes());
        self.stream.write_all(&request)
    }

    /// Reads up to the end of the response head; what follows stays in `pending`.
    fn read_head(&mut self) -> io::Result<Head> {
        let mut buf = [0u8; 16 * 1024];
        let end = loop {
            if let Some(at) = find(&self.pending, b"\r\n\r\n") {
                break at + 4;
            }
            if self.pending.len() > 64 * 1024 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
            }
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.pending_at = now_ns();
            self.pending.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
        self.pending.drain(..end);
        parse_head(&head)
    }

    /// Reads the body, handing each decoded piece to `sink` with the time its bytes arrived.
    fn read_body(&mut self, head: &Head, mut sink: impl FnMut(&[u8], u64)) -> io::Result<()> {
        let mut chunks = ChunkDecoder::default();
        let mut decoded = Vec::with_capacity(16 * 1024);
        let mut left = match head.framing {
            Framing::Length(n) => n,
            _ => usize::MAX,
        };
        let mut buf = std::mem::take(&mut self.pending);
        let mut arrived = self.pending_at;
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let done = match head.framing {
                Framing::Chunked => {
                    decoded.clear();
                    let done = chunks.feed(&buf, &mut decoded)?;
                    sink(&decoded, arrived);
                    done
                }
                Framing::Length(_) | Framing::UntilClose => {
                    let take = buf.len().min(left);
                    sink(&buf[..take], arrived);
                    left -= take;
                    left == 0
                }
            };
            if done {
                return Ok(());
            }
            let n = self.stream.read(&mut scratch)?;
            arrived = now_ns();
            if n == 0 {
                return match head.framing {
                    Framing::UntilClose => Ok(()),
                    _ => Err(io::ErrorKind::UnexpectedEof.into()),
                };
            }
            buf.clear();
            buf.extend_from_slice(&scratch[..n]);
        }
    }

    /// The whole body, best effort and capped (for error messages).
    fn read_body_to_end(&mut self, head: &Head) -> Vec<u8> {
        let mut body = Vec::new();
        let _ = self.read_body(head, |bytes, _| {
            let room = MAX_ERROR_BODY.saturating_sub(body.len());
            body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        });
        body
    }
}

fn parse_head(head: &str) -> io::Result<Head> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut framing = Framing::UntilClose;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("content-length") {
            if let Framing::UntilClose = framing {
                framing = Framing::Length(value.parse().map_err(|_| bad("bad length"))?);
            }
        }
    }
    Ok(Head { status, framing })
}

/// Incremental `Transfer-Encoding: chunked` decoder.
#[derive(Default)]
struct ChunkDecoder {
    state: ChunkState,
    /// A size line split across reads.
    line: Vec<u8>,
}

#[derive(Default)]
enum ChunkState {
    #[default]
    Size,
    Data(usize),
    /// The CRLF after a chunk's data: bytes still to skip.
    DataEnd(usize),
    /// After the last chunk: trailers up to an empty line.
    Trailer,
    Done,
}

impl ChunkDecoder {
    /// Decodes `input` into `out`; true once the last chunk and trailers are through.
    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        while !input.is_empty() {
            match self.state {
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(nl) = input.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(input);
                        return Ok(false);
                    };
                    self.line.extend_from_slice(&input[..nl]);
                    input = &input[nl + 1..];
                    self.end_line()?;
                }
                ChunkState::Data(left) => {
                    let take = left.min(input.len());
                    out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    self.state = match left - take {
                        0 => ChunkState::DataEnd(2),
                        more => ChunkState::Data(more),
                    };
                }
                ChunkState::DataEnd(left) => {
                    let take = left.min(input.len());
                    input = &input[take..];
                    self.state = match left - take {
                        0 => ChunkState::Size,
                        more => ChunkState::DataEnd(more),
                    };
                }
                ChunkState::Done => break,
            }
        }
        Ok(matches!(self.state, ChunkState::Done))
    }

    /// A complete size or trailer line is in `line`.
    fn end_line(&mut self) -> io::Result<()> {
        let line = self.line.trim_ascii();
        self.state = match self.state {
            ChunkState::Size => {
                let field = line
                    .split(|&b| b == b';')
                    .next()
                    .unwrap_or(b"")
                    .trim_ascii();
                let size = std::str::from_utf8(field)
                    .ok()
                    .and_then(|s| usize::from_str_radix(s, 16).ok())
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
                if size == 0 {
                    ChunkState::Trailer
                } else {
                    ChunkState::Data(size)
                }
            }
            _ if line.is_empty() => ChunkState::Done,
            _ => ChunkState::Trailer,
        };
        self.line.clear();
        Ok(())
    }
}

/// Finds `@@<digits>` stamps in a byte stream fed piece by piece. A stamp whose digits reach the
/// end of what has arrived waits for the next piece, so a stamp split across reads is seen once,
/// when it is complete.
#[derive(Default)]
struct StampScan {
    /// Unscanned tail: at most a partial stamp.
    carry: Vec<u8>,
}

impl StampScan {
    fn feed(&mut self, bytes: &[u8], mut found: impl FnMut(u64)) {
        self.carry.extend_from_slice(bytes);
        let text = &self.carry[..];
        let mut pos = 0;
        let mut incomplete = None;
        while let Some(at) = find(&text[pos..], b"@@") {
            let start = pos + at + 2;
            let digits = text[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if start + digits == text.len() {
                incomplete = Some(pos + at);
                break;
            }
            let stamp = std::str::from_utf8(&text[start..start + digits]).map(str::parse);
            if let Ok(Ok(stamp)) = stamp {
                found(stamp);
            }
            pos = start + digits;
        }
        // Keep a partial stamp, or a trailing '@' that may begin one.
        let keep_from = incomplete.unwrap_or(if text.ends_with(b"@") {
            text.len() - 1
        } else {
            text.len()
        });
        self.carry.drain(..keep_from);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// These run where cargo builds this directory as a test target (`cargo test`); the bench itself
// has no harness.
#[cfg(test)]
mod tests {
    // `cargo clippy --benches` compiles this with cfg(test) but drops #[test] functions (no
    // harness): the imports must not be module-level, or they would be unused there.

    #[test]
    fn chunks_split_anywhere_decode_the_same() {
        use super::*;
        let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        for split in 0..=wire.len() {
            let mut decoder = ChunkDecoder::default();
            let mut out = Vec::new();
            decoder.feed(&wire[..split], &mut out).unwrap();
            assert!(decoder.feed(&wire[split..], &mut out).unwrap());
            assert_eq!(out, b"hello world", "split at {split}");
        }
    }

    #[test]
    fn stamps_split_anywhere_are_found_once() {
        use super::*;
        let text = b"data: {\"content\":\"@@123 \"}\n\ndata: {\"content\":\"@@4567 \"}\n\n";
        for split in 0..=text.len() {
            let mut scan = StampScan::default();
            let mut seen = Vec::new();
            scan.feed(&text[..split], |s| seen.push(s));
            scan.feed(&text[split..], |s| seen.push(s));
            assert_eq!(seen, vec![123, 4567], "split at {split}");
        }
    }

    #[test]
    fn error_messages_are_read_in_both_dialects() {
        use super::*;
        let openai = br#"{"error":{"message":"nope","type":"invalid_request_error"}}"#;
        let anthropic = br#"{"type":"error","error":{"type":"x","message":"nope"}}"#;
        assert_eq!(error_message(openai), "nope");
        assert_eq!(error_message(anthropic), "nope");
        assert_eq!(error_message(b"plain text"), "plain text");
    }
}
