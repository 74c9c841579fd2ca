//! A scriptable mock backend on 127.0.0.1, written on a raw `TcpListener` so that it can misbehave
//! on purpose (hang, go silent after the headers, close mid-stream, answer garbage).
//!
//! Replies are scripted per path (the path without its query string): a path holds a queue of
//! replies, each request takes the front one, and the last one sticks. Every request the mock got is
//! recorded (method, path with query, headers, body bytes) for assertions, and so are the moments
//! it wrote each stream event and the moments a peer closed a connection the mock was holding open.
//!
//! Every loop here is bounded in count and in time: a test that forgets to release a hang still ends.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest any connection is held open waiting for the peer or for a release.
const HOLD_MAX: Duration = Duration::from_secs(30);
/// How long an idle keep-alive connection waits for its next request.
const IDLE_MAX: Duration = Duration::from_secs(30);
/// The polling step of every wait.
const STEP: Duration = Duration::from_millis(20);
/// Caps on what a request may contain, so a broken client cannot make the mock allocate forever.
const MAX_HEADERS: usize = 200;
const MAX_BODY: usize = 64 * 1024 * 1024;
const MAX_REQUESTS_PER_CONN: usize = 10_000;

/// How an SSE reply ends after its scripted events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The terminating zero-length chunk; the connection stays usable.
    Finish,
    /// Nothing more: keep the connection open, write nothing, until released or the peer leaves.
    Silence,
    /// Close the socket without the terminating chunk.
    Close,
}

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response with `Content-Length`.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A chunked `text/event-stream` response: each event is one chunk, written after its delay.
    Sse {
        status: u16,
        headers: Vec<(String, String)>,
        events: Vec<(Duration, Vec<u8>)>,
        end: StreamEnd,
    },
    /// Read the request, never answer; hold the connection until released or the peer leaves.
    Hang,
    /// Write these bytes verbatim, then close.
    Raw(Vec<u8>),
}

impl Reply {
    /// A JSON reply with this status.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::json_bytes(status, serde_json::to_vec(body).unwrap())
    }

    /// A JSON reply with exactly these body bytes.
    pub fn json_bytes(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// An SSE stream whose events all follow each other after `gap`.
    pub fn sse(events: Vec<Vec<u8>>, gap: Duration) -> Reply {
        Reply::sse_timed(events.into_iter().map(|e| (gap, e)).collect())
    }

    /// An SSE stream of (delay before the event, raw event bytes).
    pub fn sse_timed(events: Vec<(Duration, Vec<u8>)>) -> Reply {
        Reply::Sse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/event-stream".into()),
                ("Cache-Control".into(), "no-cache".into()),
            ],
            events,
            end: StreamEnd::Finish,
        }
    }

    /// Status and SSE headers, then nothing at all until released.
    pub fn headers_then_silence() -> Reply {
        Reply::sse(Vec::new(), Duration::ZERO).ending(StreamEnd::Silence)
    }

    /// Sends these events, then goes silent until released.
    pub fn events_then_silence(events: Vec<Vec<u8>>, gap: Duration) -> Reply {
        Reply::sse(events, gap).ending(StreamEnd::Silence)
    }

    /// Sends these events, then closes the socket without ending the chunked body.
    pub fn close_mid_stream(events: Vec<Vec<u8>>, gap: Duration) -> Reply {
        Reply::sse(events, gap).ending(StreamEnd::Close)
    }

    /// Bytes that are not HTTP at all, then close.
    pub fn garbage() -> Reply {
        Reply::Raw(b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n".to_vec())
    }

    /// Changes how an SSE reply ends (no effect on other replies).
    pub fn ending(mut self, new_end: StreamEnd) -> Reply {
        if let Reply::Sse { end, .. } = &mut self {
            *end = new_end;
        }
        self
    }

    /// Adds a response header (no effect on `Hang` and `Raw`).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        match &mut self {
            Reply::Full { headers, .. } | Reply::Sse { headers, .. } => {
                headers.push((name.to_string(), value.to_string()))
            }
            _ => {}
        }
        self
    }

    /// Changes the status (no effect on `Hang` and `Raw`).
    pub fn status(mut self, new_status: u16) -> Reply {
        match &mut self {
            Reply::Full { status, .. } | Reply::Sse { status, .. } => *status = new_status,
            _ => {}
        }
        self
    }
}

/// A request as the mock received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request target, query string included.
    pub path: String,
    /// Headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it came chunked.
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Recorded {
    /// The first value of this header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of this header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body parsed as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "mock got a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A health probe of the gateway: `GET <prefix>/v1/models`.
    /// A request that is not proxied traffic: the gateway's health probe (`GET …/v1/models`),
    /// or a test launcher's readiness check (`GET /`) that reached this mock because it took a
    /// port another gateway had just been given.
    pub fn is_probe(&self) -> bool {
        self.method == "GET"
            && (self.path_only().ends_with("/v1/models") || self.path_only() == "/")
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
}

/// The moment the mock wrote one stream event.
#[derive(Clone, Debug)]
pub struct Sent {
    pub path: String,
    pub index: usize,
    pub at: Instant,
}

#[derive(Default)]
struct Book {
    requests: Vec<Recorded>,
    sent: Vec<Sent>,
    /// (path of the request being held, moment the peer closed).
    peer_closed: Vec<(String, Instant)>,
}

struct Shared {
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    book: Mutex<Book>,
    changed: Condvar,
    released: AtomicBool,
    stop: AtomicBool,
}

impl Shared {
    fn note<F: FnOnce(&mut Book)>(&self, f: F) {
        let mut book = self.book.lock().unwrap();
        f(&mut book);
        self.changed.notify_all();
    }

    fn reply_for(&self, path: &str) -> Reply {
        let mut routes = self.routes.lock().unwrap();
        let path_only = path.split('?').next().unwrap_or(path);
        let queue = match routes.get_mut(path) {
            Some(q) => Some(q),
            None => routes.get_mut(path_only),
        };
        match queue {
            Some(q) if q.len() > 1 => q.pop_front().unwrap(),
            Some(q) if q.len() == 1 => q[0].clone(),
            _ => Reply::json(
                404,
                &serde_json::json!({"error": {"message": format!("mock: no route for {path}"), "type": "not_found"}}),
            ),
        }
    }

    fn done(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A running mock backend. Dropping it stops it and ends every held connection.
pub struct Mock {
    port: u16,
    shared: Arc<Shared>,
}

impl Mock {
    /// Starts an empty mock on a free port of 127.0.0.1 (unscripted paths answer 404 JSON).
    pub fn start() -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("mock: bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            routes: Mutex::new(HashMap::new()),
            book: Mutex::new(Book::default()),
            changed: Condvar::new(),
            released: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let sh = shared.clone();
        thread::Builder::new()
            .name(format!("mock-accept-{port}"))
            .spawn(move || {
                for conn in listener.incoming() {
                    if sh.done() {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let sh = sh.clone();
                    let _ = thread::Builder::new()
                        .name(format!("mock-conn-{port}"))
                        .spawn(move || serve(conn, &sh));
                }
            })
            .expect("mock: spawn accept thread");
        Mock { port, shared }
    }

    /// A mock that answers `path` with `reply` forever.
    pub fn with(path: &str, reply: Reply) -> Mock {
        let m = Mock::start();
        m.on(path, reply);
        m
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers `path` (exact target, or the path without query) with `reply` from now on.
    pub fn on(&self, path: &str, reply: Reply) {
        self.on_seq(path, vec![reply]);
    }

    /// Answers `path` with these replies in order; the last one then answers every later request.
    pub fn on_seq(&self, path: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty(), "mock: on_seq needs at least one reply");
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), replies.into());
    }

    /// Every request received so far, in arrival order, except the gateway's background health
    /// probes (`GET …/v1/models`): tests count and inspect what the gateway proxied.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared
            .book
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| !r.is_probe())
            .cloned()
            .collect()
    }

    /// Every request received so far, health probes included.
    pub fn all_requests(&self) -> Vec<Recorded> {
        self.shared.book.lock().unwrap().requests.clone()
    }

    /// The only request received; panics with what was received otherwise.
    pub fn single_request(&self) -> Recorded {
        let reqs = self.requests();
        assert_eq!(
            reqs.len(),
            1,
            "mock: expected exactly 1 request, got {}: {:?}",
            reqs.len(),
            reqs.iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        );
        reqs.into_iter().next().unwrap()
    }

    /// Waits (at most `timeout`) until at least `n` requests (health probes not counted)
    /// arrived; returns what arrived.
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let book = self.wait_for(timeout, |b| {
            b.requests.iter().filter(|r| !r.is_probe()).count() >= n
        });
        book.requests
            .into_iter()
            .filter(|r| !r.is_probe())
            .collect()
    }

    /// Moments the mock wrote each stream event (all streams, in order).
    pub fn sent_events(&self) -> Vec<Sent> {
        self.shared.book.lock().unwrap().sent.clone()
    }

    /// Waits (at most `timeout`) until a peer closed `n` held connections; returns the moments.
    pub fn wait_peer_closed(&self, n: usize, timeout: Duration) -> Vec<(String, Instant)> {
        self.wait_for(timeout, |b| b.peer_closed.len() >= n)
            .peer_closed
    }

    /// Ends every hang and silence (now and later): the held connections are closed.
    pub fn release(&self) {
        self.shared.released.store(true, Ordering::SeqCst);
    }

    fn wait_for(&self, timeout: Duration, cond: impl Fn(&Book) -> bool) -> BookSnapshot {
        let deadline = Instant::now() + timeout;
        let mut book = self.shared.book.lock().unwrap();
        while !cond(&book) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            book = self
                .shared
                .changed
                .wait_timeout(book, deadline - now)
                .unwrap()
                .0;
        }
        BookSnapshot {
            requests: book.requests.clone(),
            peer_closed: book.peer_closed.clone(),
        }
    }
}

struct BookSnapshot {
    requests: Vec<Recorded>,
    peer_closed: Vec<(String, Instant)>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.released.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_millis(200),
        );
    }
}

/// Serves one connection: requests one after the other (keep-alive) until a reply closes it.
fn serve(stream: TcpStream, sh: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(STEP));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    for _ in 0..MAX_REQUESTS_PER_CONN {
        let req = match read_request(&mut reader, sh) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let wants_close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let path = req.path.clone();
        sh.note(|b| b.requests.push(req));
        let reply = sh.reply_for(&path);
        let keep = perform(reply, &path, &mut writer, &mut reader, sh);
        if !keep || wants_close || sh.done() {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Reads one line, waiting patiently through read timeouts until `deadline`. `Ok(None)` on EOF
/// before any byte of the line.
fn read_line(
    reader: &mut BufReader<TcpStream>,
    sh: &Shared,
    deadline: Instant,
) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    loop {
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) if buf.ends_with(b"\n") => break,
            Ok(_) => continue,
            Err(e) if is_timeout(&e) => {
                if sh.done() || Instant::now() >= deadline {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
        if buf.len() > 64 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn read_exact_patient(
    reader: &mut BufReader<TcpStream>,
    out: &mut Vec<u8>,
    n: usize,
    sh: &Shared,
) -> io::Result<()> {
    let start = out.len();
    out.resize(start + n, 0);
    let mut filled = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while filled < n {
        match reader.read(&mut out[start + filled..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => filled += k,
            Err(e) if is_timeout(&e) => {
                if sh.done() || Instant::now() >= deadline {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn read_request(reader: &mut BufReader<TcpStream>, sh: &Shared) -> io::Result<Option<Recorded>> {
    let Some(line) = read_line(reader, sh, Instant::now() + IDLE_MAX)? else {
        return Ok(None);
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut parts = line.splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let Some(h) = read_line(reader, sh, deadline)? else {
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        if h.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "too many headers",
            ));
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut req = Recorded {
        method,
        path,
        headers,
        body: Vec::new(),
        at: Instant::now(),
    };
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let Some(size_line) = read_line(reader, sh, deadline)? else {
                return Err(io::ErrorKind::UnexpectedEof.into());
            };
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers until the empty line.
                while let Some(t) = read_line(reader, sh, deadline)? {
                    if t.is_empty() {
                        break;
                    }
                }
                break;
            }
            if req.body.len() + size > MAX_BODY {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
            }
            read_exact_patient(reader, &mut req.body, size, sh)?;
            read_line(reader, sh, deadline)?;
        }
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
        if len > MAX_BODY {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
        }
        read_exact_patient(reader, &mut req.body, len, sh)?;
    }
    req.at = Instant::now();
    Ok(Some(req))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Whatever",
    }
}

fn head(status: u16, headers: &[(String, String)], framing: &str) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str(framing);
    h.push_str("\r\n");
    h.into_bytes()
}

/// Writes one reply. Returns whether the connection may serve another request.
fn perform(
    reply: Reply,
    path: &str,
    w: &mut TcpStream,
    r: &mut BufReader<TcpStream>,
    sh: &Shared,
) -> bool {
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = head(
                status,
                &headers,
                &format!("Content-Length: {}\r\n", body.len()),
            );
            out.extend_from_slice(&body);
            w.write_all(&out).and_then(|_| w.flush()).is_ok()
        }
        Reply::Sse {
            status,
            headers,
            events,
            end,
        } => {
            if w.write_all(&head(status, &headers, "Transfer-Encoding: chunked\r\n"))
                .and_then(|_| w.flush())
                .is_err()
            {
                sh.note(|b| b.peer_closed.push((path.to_string(), Instant::now())));
                return false;
            }
            for (index, (delay, event)) in events.into_iter().enumerate() {
                if !sleep_unless_stopped(delay, sh) {
                    return false;
                }
                let mut chunk = format!("{:x}\r\n", event.len()).into_bytes();
                chunk.extend_from_slice(&event);
                chunk.extend_from_slice(b"\r\n");
                if w.write_all(&chunk).and_then(|_| w.flush()).is_err() {
                    sh.note(|b| b.peer_closed.push((path.to_string(), Instant::now())));
                    return false;
                }
                sh.note(|b| {
                    b.sent.push(Sent {
                        path: path.to_string(),
                        index,
                        at: Instant::now(),
                    })
                });
            }
            match end {
                StreamEnd::Finish => w.write_all(b"0\r\n\r\n").and_then(|_| w.flush()).is_ok(),
                StreamEnd::Silence => {
                    hold(path, r, sh);
                    false
                }
                StreamEnd::Close => false,
            }
        }
        Reply::Hang => {
            hold(path, r, sh);
            false
        }
        Reply::Raw(bytes) => {
            let _ = w.write_all(&bytes);
            let _ = w.flush();
            false
        }
    }
}

/// Sleeps `d` in small steps; false if the mock is stopping.
fn sleep_unless_stopped(d: Duration, sh: &Shared) -> bool {
    let end = Instant::now() + d;
    loop {
        if sh.done() {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        thread::sleep((end - now).min(STEP));
    }
}

/// Holds a connection open, writing nothing, until released, stopped, the peer closes it
/// (recorded), or `HOLD_MAX` passes.
fn hold(path: &str, r: &mut BufReader<TcpStream>, sh: &Shared) {
    let end = Instant::now() + HOLD_MAX;
    let mut scratch = [0u8; 4096];
    while Instant::now() < end && !sh.done() && !sh.released.load(Ordering::SeqCst) {
        match r.read(&mut scratch) {
            Ok(0) => {
                sh.note(|b| b.peer_closed.push((path.to_string(), Instant::now())));
                return;
            }
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => {
                sh.note(|b| b.peer_closed.push((path.to_string(), Instant::now())));
                return;
            }
        }
    }
}
