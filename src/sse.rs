//! Server-sent events: parsing from any `BufRead`, and writing frames.
//!
//! The parser follows the WHATWG event-stream rules (lines end in CRLF, LF or a lone CR; `:`
//! starts a comment; `data:` lines of one event join with `\n`; a blank line ends the event) and
//! caps the length of a line, so a backend that never sends a newline cannot grow our memory
//! without bound. Each event keeps the raw bytes it was made of, so a same-dialect stream can be
//! forwarded byte for byte while its parsed form feeds the books.
//! Spec: <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>

use std::io::{self, BufRead};

/// The default cap on one SSE line: far above any real event (a large tool call's arguments
/// arrive in many small deltas) and small enough to bound memory per connection.
pub const DEFAULT_MAX_LINE: usize = 4 * 1024 * 1024;

/// One event of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; empty when the stream did not name the event.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The bytes this event was made of, comments and the closing blank line included.
    pub raw: Vec<u8>,
}

impl Event {
    /// True for a block with no data (only comments or unknown fields), such as a heartbeat.
    /// Decoders skip these; passthrough still forwards them.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.event.is_empty()
    }
}

/// Reads events from a byte stream. An iterator of `io::Result<Event>`: an error (I/O, or a line
/// over the cap) ends the stream.
pub struct EventReader<R> {
    reader: R,
    max_line: usize,
    /// The line being assembled (without its terminator).
    line: Vec<u8>,
    /// The previous line ended in a CR, so a LF that follows belongs to it.
    skip_lf: bool,
    current: Event,
    /// Whether the current event has seen any data line.
    has_data: bool,
    done: bool,
}

impl<R: BufRead> EventReader<R> {
    pub fn new(reader: R) -> EventReader<R> {
        EventReader::with_max_line(reader, DEFAULT_MAX_LINE)
    }

    pub fn with_max_line(reader: R, max_line: usize) -> EventReader<R> {
        EventReader {
            reader,
            max_line,
            line: Vec::new(),
            skip_lf: false,
            current: Event::default(),
            has_data: false,
            done: false,
        }
    }

    /// Reads one line into `self.line` and appends its raw bytes to the current event.
    /// Returns `Ok(false)` at the end of the input with nothing read.
    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if !self.line.is_empty() {
                    // The stream ended mid-line: take what came as the last line.
                    self.current.raw.push(b'\n');
                    return Ok(true);
                }
                return Ok(false);
            }
            let mut start = 0;
            if self.skip_lf {
                self.skip_lf = false;
                if buf[0] == b'\n' {
                    self.current.raw.push(b'\n');
                    start = 1;
                }
            }
            let rest = &buf[start..];
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(pos) => {
                    if self.line.len() + pos > self.max_line {
                        return Err(line_too_long(self.max_line));
                    }
                    self.line.extend_from_slice(&rest[..pos]);
                    self.current.raw.extend_from_slice(&rest[..=pos]);
                    self.skip_lf = rest[pos] == b'\r';
                    self.reader.consume(start + pos + 1);
                    return Ok(true);
                }
                None => {
                    if self.line.len() + rest.len() > self.max_line {
                        return Err(line_too_long(self.max_line));
                    }
                    self.line.extend_from_slice(rest);
                    self.current.raw.extend_from_slice(rest);
                    let n = buf.len();
                    self.reader.consume(n);
                }
            }
        }
    }

    /// Applies one non-blank line to the current event.
    fn apply_line(&mut self) {
        let line = &self.line[..];
        if line.first() == Some(&b':') {
            return; // A comment.
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => self.current.event = value.into_owned(),
            _ => {} // `id`, `retry` and unknown fields carry nothing the gateway uses.
        }
    }

    fn take_event(&mut self) -> Event {
        self.has_data = false;
        std::mem::take(&mut self.current)
    }
}

fn line_too_long(max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("an SSE line is longer than {max} bytes"),
    )
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<io::Result<Event>> {
        if self.done {
            return None;
        }
        loop {
            match self.read_line() {
                Ok(true) if self.line.is_empty() => {
                    if self.current.raw.len() > 1 || self.has_data {
                        return Some(Ok(self.take_event()));
                    }
                    // A blank line with nothing before it separates nothing.
                    self.current.raw.clear();
                }
                Ok(true) => self.apply_line(),
                Ok(false) => {
                    self.done = true;
                    // Lenient: an event the stream did not close with a blank line still counts.
                    if self.has_data || !self.current.event.is_empty() {
                        self.current.raw.push(b'\n');
                        return Some(Ok(self.take_event()));
                    }
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Appends one SSE frame: an optional `event:` line, the data (one `data:` line per line of
/// text) and the closing blank line.
pub fn write_frame(out: &mut Vec<u8>, event: Option<&str>, data: &str) {
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.push(b'\n');
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// A comment frame, used as a heartbeat while the backend is silent.
pub const HEARTBEAT: &[u8] = b": keep-alive\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor, Read};

    fn parse(input: &[u8]) -> Vec<Event> {
        EventReader::new(Cursor::new(input.to_vec()))
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    /// Parses with a one-byte buffer, so every line is split at every byte boundary.
    fn parse_bytewise(input: &[u8]) -> Vec<Event> {
        EventReader::new(BufReader::with_capacity(1, Cursor::new(input.to_vec())))
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    fn data_of(events: &[Event]) -> Vec<(&str, &str)> {
        events
            .iter()
            .map(|e| (e.event.as_str(), e.data.as_str()))
            .collect()
    }

    #[test]
    fn parses_named_events_and_data() {
        let input = b"event: message_start\ndata: {\"a\":1}\n\nevent: ping\ndata: {}\n\n";
        let events = parse(input);
        assert_eq!(
            data_of(&events),
            vec![("message_start", "{\"a\":1}"), ("ping", "{}")]
        );
        assert_eq!(events[0].raw, b"event: message_start\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn line_endings_crlf_lf_and_cr_are_equal() {
        let lf = b"data: one\n\ndata: two\ndata: three\n\n".to_vec();
        let crlf = b"data: one\r\n\r\ndata: two\r\ndata: three\r\n\r\n".to_vec();
        let cr = b"data: one\r\rdata: two\rdata: three\r\r".to_vec();
        let want = vec![("", "one"), ("", "two\nthree")];
        for input in [lf, crlf, cr] {
            assert_eq!(data_of(&parse(&input)), want);
            assert_eq!(data_of(&parse_bytewise(&input)), want);
        }
    }

    #[test]
    fn raw_bytes_survive_every_split() {
        let input: &[u8] =
            b": hello\r\nevent: x\r\ndata:no-space\r\n\r\ndata: [DONE]\n\n: trailing comment\n\n";
        let whole = parse(input);
        let bytewise = parse_bytewise(input);
        assert_eq!(whole, bytewise);
        let joined: Vec<u8> = whole.iter().flat_map(|e| e.raw.clone()).collect();
        assert_eq!(joined, input);
        assert_eq!(whole[0].data, "no-space");
        assert!(
            whole[2].is_empty(),
            "a comment-only block is an empty event"
        );
    }

    #[test]
    fn splitting_input_anywhere_gives_the_same_events() {
        let input: &[u8] = b"event: a\r\ndata: 1\r\n\r\ndata: 2\n: c\ndata: 3\n\ndata: 4\r\r";
        let want = parse(input);
        for cut in 0..input.len() {
            let reader =
                Cursor::new(input[..cut].to_vec()).chain(Cursor::new(input[cut..].to_vec()));
            let got: Vec<Event> = EventReader::new(BufReader::with_capacity(3, reader))
                .collect::<io::Result<_>>()
                .unwrap();
            assert_eq!(got, want, "cut at {cut}");
        }
    }

    #[test]
    fn unterminated_last_event_is_kept() {
        assert_eq!(
            data_of(&parse(b"data: a\n\ndata: b")),
            vec![("", "a"), ("", "b")]
        );
    }

    #[test]
    fn over_long_line_is_an_error() {
        let mut input = b"data: ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\n\n");
        let mut reader = EventReader::with_max_line(Cursor::new(input), 50);
        let err = reader.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(reader.next().is_none());
    }

    #[test]
    fn frames_are_written_per_spec() {
        let mut out = Vec::new();
        write_frame(
            &mut out,
            Some("message_stop"),
            "{\"type\":\"message_stop\"}",
        );
        write_frame(&mut out, None, "a\nb");
        assert_eq!(
            out,
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\ndata: a\ndata: b\n\n"
        );
        assert_eq!(
            data_of(&parse(&out)),
            vec![
                ("message_stop", "{\"type\":\"message_stop\"}"),
                ("", "a\nb")
            ]
        );
    }
}
