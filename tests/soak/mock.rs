//! The soak's backend: a lean mock on 127.0.0.1 that answers every chat path in its own dialect
//! (complete or streamed, as the request's `stream` asks) and records nothing, so a long run
//! does not grow the test process. One stream in `BREAK_EVERY` is cut off mid-body on purpose,
//! so the gateway's error path is soaked too.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::common::{payloads, Dialect};

/// One stream in this many ends without its terminating chunk.
pub const BREAK_EVERY: u64 = 200;
/// Events in a stream, and the pause before each.
const PIECES: usize = 12;
const GAP: Duration = Duration::from_millis(4);

pub struct SoakMock {
    pub port: u16,
    stop: Arc<AtomicBool>,
    pub streams: Arc<AtomicU64>,
}

impl SoakMock {
    pub fn start() -> SoakMock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("soak mock: bind");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(AtomicU64::new(0));
        let (st, sc) = (stop.clone(), streams.clone());
        thread::Builder::new()
            .name("soak-mock".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let sc = sc.clone();
                    let _ = thread::Builder::new()
                        .stack_size(256 * 1024)
                        .spawn(move || serve(conn, &sc));
                }
            })
            .unwrap();
        SoakMock {
            port,
            stop,
            streams,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for SoakMock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(tcp: TcpStream, streams: &AtomicU64) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(60)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(read_half) = tcp.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut w = tcp;
    // Keep-alive: requests one after the other until the peer closes.
    for _ in 0..100_000 {
        let Some((path, body)) = read_request(&mut reader) else {
            return;
        };
        let dialect = if path.starts_with("/v1/messages") {
            Dialect::Anthropic
        } else if path.starts_with("/v1/responses") {
            Dialect::Responses
        } else {
            Dialect::OpenAi
        };
        let ok = if path.starts_with("/v1/models") {
            let body = payloads::openai_models(&["soak-model"]).to_string();
            write_full(&mut w, body.as_bytes())
        } else if serde_json::from_slice::<serde_json::Value>(&body)
            .is_ok_and(|v| v["stream"] == true)
        {
            let n = streams.fetch_add(1, Ordering::Relaxed) + 1;
            write_stream(&mut w, dialect, n % BREAK_EVERY == 0)
        } else {
            let body =
                serde_json::to_vec(&dialect.response("soak-model", "a soak answer")).unwrap();
            write_full(&mut w, &body)
        };
        if !ok {
            let _ = w.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Path and body of the next request; `None` when the peer closed or sent nonsense.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.by_ref().take(64 * 1024).read_line(&mut line).ok()? == 0 {
        return None;
    }
    let path = line.split(' ').nth(1)?.to_string();
    let mut len = 0usize;
    for _ in 0..200 {
        let mut h = String::new();
        if r.by_ref().take(64 * 1024).read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            let mut body = vec![0; len];
            r.read_exact(&mut body).ok()?;
            return Some((path, body));
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok().filter(|n| *n <= 16 << 20)?;
            }
        }
    }
    None
}

fn write_full(w: &mut TcpStream, body: &[u8]) -> bool {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    w.write_all(&out).and_then(|_| w.flush()).is_ok()
}

/// A chunked SSE answer; `broken` stops half-way without the terminating chunk. Returns whether
/// the connection may serve another request.
fn write_stream(w: &mut TcpStream, d: Dialect, broken: bool) -> bool {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    if w.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let pieces: Vec<String> = (0..PIECES).map(|i| format!("word{i} ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let frames = d.stream("soak-model", &pieces);
    let upto = if broken {
        frames.len() / 2
    } else {
        frames.len()
    };
    for frame in &frames[..upto] {
        thread::sleep(GAP);
        let mut chunk = format!("{:x}\r\n", frame.len()).into_bytes();
        chunk.extend_from_slice(frame);
        chunk.extend_from_slice(b"\r\n");
        if w.write_all(&chunk).and_then(|_| w.flush()).is_err() {
            return false;
        }
    }
    if broken {
        return false;
    }
    w.write_all(b"0\r\n\r\n").and_then(|_| w.flush()).is_ok()
}
