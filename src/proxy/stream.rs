//! Relaying a streamed answer: the thread serving the request reads the backend's events and
//! writes each one to the client as soon as it arrives, converted or untouched.
//!
//! While the backend is silent the [`watchdog`](super::watchdog) writes heartbeat comments,
//! which is also how a client that left is noticed: the write fails, the watchdog aborts the
//! upstream (its socket is shut down, so the blocked read here returns) and the turn is free.

use std::io::BufReader;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::watchdog::{self, Verdict, Watched};
use crate::dialect::{Dialect, StreamDecode, StreamEncode};
use crate::error::{ErrorKind, GatewayError};
use crate::ir::{self, Usage};
use crate::server::sse_writer::SseWriter;
use crate::sse::{self, EventReader};
use crate::upstream;

/// How the events are turned into client frames.
pub enum Mode {
    /// Same dialect: forward each event's bytes; `tap` decodes them for the books.
    Passthrough {
        tap: Box<dyn StreamDecode>,
        client: Dialect,
    },
    /// Different dialects: backend decoder into the client's encoder.
    Convert {
        decoder: Box<dyn StreamDecode>,
        encoder: Box<dyn StreamEncode>,
    },
}

pub struct Settings {
    /// When the client's request arrived: time to first token counts from here.
    pub request_started: Instant,
    pub heartbeat: Duration,
    pub idle_timeout: Duration,
    pub backend: String,
}

/// How a relayed stream went.
#[derive(Debug, Default)]
pub struct Outcome {
    pub usage: Usage,
    /// Time from the arrival of the client's request to the first event with content.
    pub first_event: Option<Duration>,
    /// The stream ended in an error (the client was told in its dialect).
    pub error: Option<GatewayError>,
    /// The client went away before the end.
    pub client_gone: bool,
    /// Bytes of text, reasoning and tool arguments streamed: the base of an output-token
    /// estimate when the backend reports no usage.
    pub content_bytes: usize,
}

pub fn relay(
    writer: SseWriter,
    response: upstream::Response,
    mut mode: Mode,
    settings: &Settings,
) -> Outcome {
    let watched = watchdog::watch(
        writer,
        response.abort.clone(),
        settings.heartbeat,
        settings.idle_timeout,
    );
    let mut outcome = Outcome::default();
    let mut relay = Relay {
        out: &watched,
        mode: &mut mode,
        ir: Vec::with_capacity(8),
        frames: Vec::with_capacity(1024),
        outcome: &mut outcome,
        started: settings.request_started,
    };
    let mut events = EventReader::new(BufReader::with_capacity(8 * 1024, response.body));
    let result = loop {
        match events.next() {
            Some(Ok(event)) => {
                watched.event_arrived();
                if let Err(e) = relay.event(&event) {
                    break Err(e);
                }
            }
            None => break relay.end(),
            Some(Err(e)) => match watched.verdict() {
                Verdict::ClientGone => break Err(e),
                Verdict::TimedOut => {
                    let err = GatewayError::new(
                        ErrorKind::Timeout,
                        format!(
                            "backend {} sent nothing for {} s",
                            settings.backend,
                            settings.idle_timeout.as_secs_f64()
                        ),
                    );
                    break relay.fail(err);
                }
                Verdict::Running => {
                    let err = GatewayError::new(
                        ErrorKind::BadGateway,
                        format!(
                            "the stream from backend {} broke off: {e}",
                            settings.backend
                        ),
                    );
                    break relay.fail(err);
                }
            },
        }
    };
    drop(events);
    if let Err(e) = result {
        log::debug!("client left mid-stream: {e}");
        response.abort.abort();
        watched.abandon();
        relay.outcome.client_gone = true;
    } else if let Err(e) = watched.finish() {
        log::debug!("client left at the end of the stream: {e}");
        relay.outcome.client_gone = true;
    }
    outcome
}

/// Turns events into frames and keeps the books.
struct Relay<'a> {
    out: &'a Arc<Watched>,
    mode: &'a mut Mode,
    ir: Vec<ir::Event>,
    frames: Vec<u8>,
    outcome: &'a mut Outcome,
    started: Instant,
}

impl Relay<'_> {
    fn event(&mut self, event: &sse::Event) -> std::io::Result<()> {
        if !event.is_empty() && self.outcome.first_event.is_none() {
            self.outcome.first_event = Some(self.started.elapsed());
        }
        match self.mode {
            Mode::Passthrough { tap, .. } => {
                self.out.send(&event.raw)?;
                if let Err(e) = tap.decode(event, &mut self.ir) {
                    log::debug!("passthrough tap could not read an event: {e}");
                }
                self.book_ir();
                self.ir.clear();
                Ok(())
            }
            Mode::Convert { decoder, .. } => {
                if let Err(e) = decoder.decode(event, &mut self.ir) {
                    self.ir.push(ir::Event::Error {
                        kind: e.kind.as_str().into(),
                        message: e.message,
                    });
                }
                self.flush_ir()
            }
        }
    }

    /// The backend ended its stream.
    fn end(&mut self) -> std::io::Result<()> {
        match self.mode {
            Mode::Passthrough { tap, .. } => {
                tap.finish(&mut self.ir);
                self.book_ir();
                self.ir.clear();
                Ok(())
            }
            Mode::Convert { decoder, .. } => {
                decoder.finish(&mut self.ir);
                self.flush_ir()
            }
        }
    }

    /// The stream cannot go on: tell the client in its dialect.
    fn fail(&mut self, err: GatewayError) -> std::io::Result<()> {
        let event = ir::Event::Error {
            kind: err.kind.as_str().into(),
            message: err.message.clone(),
        };
        self.outcome.error = Some(err);
        self.frames.clear();
        match self.mode {
            Mode::Passthrough { client, .. } => {
                // A fresh encoder renders the error frame in the client's dialect.
                let mut encoder = client.stream_encoder(&ir::Request::default());
                encoder.encode(&event, &mut self.frames);
            }
            Mode::Convert { encoder, .. } => encoder.encode(&event, &mut self.frames),
        }
        self.out.send(&self.frames)
    }

    /// Encodes the pending `ir` events and sends the frames.
    fn flush_ir(&mut self) -> std::io::Result<()> {
        self.book_ir();
        if let Mode::Convert { encoder, .. } = self.mode {
            self.frames.clear();
            for event in self.ir.drain(..) {
                encoder.encode(&event, &mut self.frames);
            }
        }
        self.ir.clear();
        self.out.send(&self.frames)
    }

    /// Notes usage and errors from the pending `ir` events.
    fn book_ir(&mut self) {
        for event in &self.ir {
            match event {
                ir::Event::Start { usage, .. } | ir::Event::Finish { usage, .. } => {
                    self.outcome.usage.merge(usage)
                }
                ir::Event::Delta { delta, .. } => {
                    self.outcome.content_bytes += match delta {
                        ir::Delta::Text(t)
                        | ir::Delta::Reasoning(t)
                        | ir::Delta::ToolArguments(t) => t.len(),
                        ir::Delta::ReasoningSignature(_) => 0,
                    }
                }
                ir::Event::Error { kind, message } => {
                    self.outcome.error = Some(GatewayError::new(
                        ErrorKind::from_name(kind),
                        message.clone(),
                    ))
                }
                _ => {}
            }
        }
    }
}
