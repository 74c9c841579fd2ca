//! The converter alone, in-process on one core: an OpenAI-compatible chunk stream parsed from
//! bytes, decoded into `ir` and encoded as Anthropic events — the work the gateway does per
//! event for an Anthropic client on a llama.cpp backend — with no sockets and no threads.
//! Issue target: at least 300,000 events/s.

use std::io::Cursor;
use std::time::Instant;

use llm_gateway::dialect::Dialect;
use llm_gateway::ir;
use llm_gateway::sse::EventReader;

/// Events in the measured stream.
const EVENTS: usize = 200_000;

pub struct ConvertResult {
    pub events: usize,
    pub seconds: f64,
}

impl ConvertResult {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

/// A realistic chunk stream: a role chunk, `EVENTS` one-token content chunks, the finish and
/// usage chunks, and `[DONE]`.
fn openai_stream() -> Vec<u8> {
    let mut out = Vec::with_capacity(EVENTS * 200);
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    out.extend_from_slice(chunk(r#"{"role":"assistant","content":""}"#, "null").as_bytes());
    for i in 0..EVENTS {
        out.extend_from_slice(chunk(&format!(r#"{{"content":" tok{i}"}}"#), "null").as_bytes());
    }
    out.extend_from_slice(chunk("{}", "\"stop\"").as_bytes());
    out.extend_from_slice(b"data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":200000,\"total_tokens\":200012}}\n\ndata: [DONE]\n\n");
    out
}

/// Parses, decodes and re-encodes the whole stream once; best of three runs.
pub fn run() -> ConvertResult {
    let input = openai_stream();
    let request = ir::Request {
        model: "m".into(),
        stream: true,
        ..ir::Request::default()
    };
    let mut best = f64::INFINITY;
    let mut frames_len = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let mut decoder = Dialect::OpenAiChat.stream_decoder();
        let mut encoder = Dialect::Anthropic.stream_encoder(&request);
        let mut events = Vec::with_capacity(4);
        let mut frames = Vec::with_capacity(4096);
        for event in EventReader::new(Cursor::new(&input[..])) {
            let event = event.expect("in-memory stream parses");
            if decoder.decode(&event, &mut events).is_err() {
                continue;
            }
            for e in events.drain(..) {
                encoder.encode(&e, &mut frames);
            }
            frames_len += frames.len();
            frames.clear();
        }
        decoder.finish(&mut events);
        best = best.min(started.elapsed().as_secs_f64());
    }
    assert!(frames_len > 0, "the converter produced frames");
    ConvertResult {
        events: EVENTS,
        seconds: best,
    }
}
