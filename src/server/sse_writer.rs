//! The SSE writer: our own response head and chunked frames on the raw connection, one flush per
//! event, so each event reaches the client the moment it exists.
//!
//! tiny_http's `respond()` buffers (8 KiB) and would hold events back; `Request::into_writer`
//! hands us the connection instead. HTTP/1.0 clients get a close-delimited body.
//!
//! The head goes out with the first event (or heartbeat, or the end): one write and one wake-up
//! of the client fewer before the first token. A silent backend delays it by at most one
//! heartbeat interval.

use std::io::{self, Write};

use tiny_http::Request;

use super::head;

pub struct SseWriter {
    out: Box<dyn Write + Send>,
    chunked: bool,
    /// Reused for framing, so a chunk goes out in one write; holds the head until then.
    frame: Vec<u8>,
}

impl SseWriter {
    /// Prepares the response head for an event stream and returns the writer for its events.
    pub fn start(
        request: Request,
        status: u16,
        headers: &[(String, String)],
    ) -> io::Result<SseWriter> {
        let http10 = request.http_version() == &tiny_http::HTTPVersion(1, 0);
        let out = request.into_writer();
        let mut head = Vec::with_capacity(1024);
        head::start(&mut head, http10, status);
        head.extend_from_slice(
            b"Content-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n",
        );
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("content-type")
                || name.eq_ignore_ascii_case("content-length")
            {
                continue;
            }
            head::header(&mut head, name, value);
        }
        if http10 {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
        } else {
            head.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        }
        Ok(SseWriter {
            out,
            chunked: !http10,
            frame: head,
        })
    }

    /// Sends bytes (one or more whole SSE frames) and flushes them.
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.chunked {
            let _ = write!(self.frame, "{:x}\r\n", data.len());
            self.frame.extend_from_slice(data);
            self.frame.extend_from_slice(b"\r\n");
        } else {
            self.frame.extend_from_slice(data);
        }
        let written = self.out.write_all(&self.frame);
        self.frame.clear();
        written?;
        self.out.flush()
    }

    /// Ends the body (the last chunk; for HTTP/1.0 the connection closes when the writer drops).
    pub fn finish(mut self) -> io::Result<()> {
        if self.chunked {
            self.frame.extend_from_slice(b"0\r\n\r\n");
        }
        self.out.write_all(&self.frame)?;
        self.out.flush()
    }
}
