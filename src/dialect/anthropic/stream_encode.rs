//! `ir` events into the SSE stream an Anthropic client reads (the SDKs' `messages.stream()`,
//! Claude Code).
//!
//! Every frame has an `event:` line naming its type (Claude Code falls back to non-streaming
//! without them), in the order `message_start`, per block `content_block_start` / deltas /
//! `content_block_stop`, then `message_delta` and `message_stop`. The SDKs index the message's
//! content array by each event's `index`, so blocks are numbered 0, 1, 2... in the order they open
//! and never overlap. Reference: <https://platform.claude.com/docs/en/build-with-claude/streaming>;
//! the client side: anthropic-sdk-python `src/anthropic/lib/streaming/_messages.py`
//! (`accumulate_event`).

use std::collections::VecDeque;
use std::fmt::Write as _;

use serde_json::json;

use super::{effective_stop_reason, error_type, message_id, WireUsage, REDACTED_PREFIX};
use crate::dialect::push_json_str;
use crate::dialect::StreamEncode;
use crate::error::ErrorKind;
use crate::ir::{self, BlockStart, Delta, Event, StopReason, Usage};
use crate::sse::write_frame;

/// Encodes a stream for an Anthropic client.
///
/// State, and why:
/// - the request's model and input-token estimate: `message_start` must carry a real
///   `input_tokens` (Claude Code's auto-compaction breaks on zero), and backends that report
///   usage only at the end (OpenAI) give none at the start;
/// - the block open on the wire, with its wire index: `ir` indices are the backend's (they may
///   skip numbers), Anthropic's must run 0, 1, 2...;
/// - blocks the backend opened while another was still open (OpenAI interleaves parallel tool
///   calls), with their fragments buffered until it is their turn, so the client sees strictly
///   sequential blocks;
/// - whether a thinking block has been announced yet: its `content_block_start` waits for the
///   first fragment, which tells a `thinking` block from a `redacted_thinking` one;
/// - whether any tool call went out (the stop reason must then be `tool_use`), and where the
///   stream is (started, message_delta sent, ended);
/// - a scratch buffer, reused for every frame's JSON so a token costs no allocation.
pub struct StreamEncoder {
    model: String,
    estimated_input: u64,
    start_usage: Usage,
    started: bool,
    finished: bool,
    ended: bool,
    has_tool_use: bool,
    next_index: usize,
    current: Option<Open>,
    waiting: VecDeque<Waiting>,
    scratch: String,
}

/// The block open on the wire.
struct Open {
    ir_index: usize,
    wire_index: usize,
    /// A thinking block whose `content_block_start` is not written yet.
    unannounced: bool,
    /// A `redacted_thinking` block: it has no deltas, so later fragments are dropped.
    redacted: bool,
}

/// A block opened while another was on the wire, with its fragments so far.
struct Waiting {
    ir_index: usize,
    block: BlockStart,
    text: String,
    signature: Option<String>,
    stopped: bool,
}

impl StreamEncoder {
    pub fn new(request: &ir::Request) -> StreamEncoder {
        StreamEncoder {
            model: request.model.clone(),
            estimated_input: request.estimate_input_tokens(),
            start_usage: Usage::default(),
            started: false,
            finished: false,
            ended: false,
            has_tool_use: false,
            next_index: 0,
            current: None,
            waiting: VecDeque::new(),
            scratch: String::with_capacity(256),
        }
    }

    fn start(&mut self, id: &str, model: &str, usage: &Usage, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let mut usage = *usage;
        if usage.input_tokens == 0 {
            usage.input_tokens = self.estimated_input;
        }
        self.start_usage = usage;
        let model = if model.is_empty() { &self.model } else { model };
        let data = json!({
            "type": "message_start",
            "message": {
                "id": message_id(id),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": WireUsage::from_ir(&usage).to_json(),
            },
        });
        write_frame(out, Some("message_start"), &data.to_string());
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.start("", "", &Usage::default(), out);
        }
    }

    fn block_start(&mut self, ir_index: usize, block: &BlockStart, out: &mut Vec<u8>) {
        let known = self
            .current
            .as_ref()
            .is_some_and(|o| o.ir_index == ir_index)
            || self.waiting.iter().any(|w| w.ir_index == ir_index);
        if known {
            return;
        }
        if self.current.is_some() {
            self.waiting.push_back(Waiting {
                ir_index,
                block: block.clone(),
                text: String::new(),
                signature: None,
                stopped: false,
            });
        } else {
            self.current = Some(self.open(ir_index, block, out));
        }
    }

    /// Writes the `content_block_start` of a block (deferred for thinking) and numbers it.
    fn open(&mut self, ir_index: usize, block: &BlockStart, out: &mut Vec<u8>) -> Open {
        let wire_index = self.next_index;
        self.next_index += 1;
        let buf = &mut self.scratch;
        match block {
            BlockStart::Text => block_start_frame(buf, out, wire_index, |b| {
                b.push_str(r#"{"type":"text","text":""}"#)
            }),
            BlockStart::ToolCall { id, name } => {
                self.has_tool_use = true;
                block_start_frame(buf, out, wire_index, |b| {
                    b.push_str(r#"{"type":"tool_use","id":"#);
                    push_json_str(b, id);
                    b.push_str(r#","name":"#);
                    push_json_str(b, name);
                    b.push_str(r#","input":{}}"#);
                });
            }
            BlockStart::Reasoning => {}
        }
        Open {
            ir_index,
            wire_index,
            unannounced: *block == BlockStart::Reasoning,
            redacted: false,
        }
    }

    fn delta(&mut self, ir_index: usize, delta: &Delta, out: &mut Vec<u8>) {
        if let Some(open) = self.current.as_mut().filter(|o| o.ir_index == ir_index) {
            emit_delta(&mut self.scratch, out, open, delta);
        } else if let Some(waiting) = self.waiting.iter_mut().find(|w| w.ir_index == ir_index) {
            match delta {
                Delta::Text(s) | Delta::Reasoning(s) | Delta::ToolArguments(s) => {
                    waiting.text.push_str(s)
                }
                Delta::ReasoningSignature(s) => waiting.signature = Some(s.clone()),
            }
        }
    }

    fn block_stop(&mut self, ir_index: usize, out: &mut Vec<u8>) {
        if self
            .current
            .as_ref()
            .is_some_and(|o| o.ir_index == ir_index)
        {
            self.close_current(out);
            self.promote_waiting(false, out);
        } else if let Some(waiting) = self.waiting.iter_mut().find(|w| w.ir_index == ir_index) {
            waiting.stopped = true;
        }
    }

    fn close_current(&mut self, out: &mut Vec<u8>) {
        if let Some(mut open) = self.current.take() {
            announce_thinking(&mut self.scratch, out, &mut open, None);
            let buf = &mut self.scratch;
            buf.clear();
            buf.push_str(r#"{"type":"content_block_stop","index":"#);
            let _ = write!(buf, "{}}}", open.wire_index);
            write_frame(out, Some("content_block_stop"), buf);
        }
    }

    /// Puts waiting blocks on the wire in the order they opened: each is started, its buffered
    /// fragments written as one delta, and closed if it already stopped (or `close_all`); the
    /// first still running becomes the open block.
    fn promote_waiting(&mut self, close_all: bool, out: &mut Vec<u8>) {
        while self.current.is_none() {
            let Some(waiting) = self.waiting.pop_front() else {
                return;
            };
            let mut open = self.open(waiting.ir_index, &waiting.block, out);
            let buffered = match waiting.block {
                BlockStart::Text => Delta::Text(waiting.text),
                BlockStart::ToolCall { .. } => Delta::ToolArguments(waiting.text),
                BlockStart::Reasoning => Delta::Reasoning(waiting.text),
            };
            emit_delta(&mut self.scratch, out, &mut open, &buffered);
            if let Some(signature) = waiting.signature {
                emit_delta(
                    &mut self.scratch,
                    out,
                    &mut open,
                    &Delta::ReasoningSignature(signature),
                );
            }
            self.current = Some(open);
            if waiting.stopped || close_all {
                self.close_current(out);
            }
        }
    }

    fn finish(&mut self, stop_reason: &StopReason, usage: &Usage, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.close_current(out);
        self.promote_waiting(true, out);
        let stop_sequence = match stop_reason {
            StopReason::StopSequence(Some(sequence)) => json!(sequence),
            _ => json!(null),
        };
        let output_tokens = if usage.output_tokens > 0 {
            usage.output_tokens
        } else {
            self.start_usage.output_tokens
        };
        // Input counts go in only when the backend reported them at the end (OpenAI does); the
        // SDK overwrites the start's counts with any present here.
        let usage_json = if usage.input_tokens > 0 {
            let mut wire = WireUsage::from_ir(usage);
            wire.output = output_tokens;
            wire.to_json()
        } else {
            json!({"output_tokens": output_tokens})
        };
        let data = json!({
            "type": "message_delta",
            "delta": {
                "stop_reason": effective_stop_reason(stop_reason, self.has_tool_use),
                "stop_sequence": stop_sequence,
            },
            "usage": usage_json,
        });
        write_frame(out, Some("message_delta"), &data.to_string());
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.finish(&StopReason::EndTurn, &Usage::default(), out);
        }
        write_frame(out, Some("message_stop"), r#"{"type":"message_stop"}"#);
        self.ended = true;
    }

    /// `event: error`, as the API sends mid-stream (e.g. `overloaded_error`); nothing follows.
    fn error(&mut self, kind: &str, message: &str, out: &mut Vec<u8>) {
        let data = json!({
            "type": "error",
            "error": {"type": error_type(ErrorKind::from_name(kind), 0), "message": message},
        });
        write_frame(out, Some("error"), &data.to_string());
        self.ended = true;
    }
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Error { kind, message } => return self.error(kind, message, out),
            Event::Start { id, model, usage } => return self.start(id, model, usage, out),
            Event::Done => {
                self.ensure_started(out);
                return self.done(out);
            }
            _ if self.finished => return,
            _ => self.ensure_started(out),
        }
        match event {
            Event::BlockStart { index, block } => self.block_start(*index, block, out),
            Event::Delta { index, delta } => self.delta(*index, delta, out),
            Event::BlockStop { index } => self.block_stop(*index, out),
            Event::Finish { stop_reason, usage } => self.finish(stop_reason, usage, out),
            Event::Start { .. } | Event::Done | Event::Error { .. } => {}
        }
    }
}

fn block_start_frame(
    buf: &mut String,
    out: &mut Vec<u8>,
    index: usize,
    block: impl FnOnce(&mut String),
) {
    buf.clear();
    buf.push_str(r#"{"type":"content_block_start","index":"#);
    let _ = write!(buf, "{index}");
    buf.push_str(r#","content_block":"#);
    block(buf);
    buf.push('}');
    write_frame(out, Some("content_block_start"), buf);
}

/// Writes the deferred start of a thinking block: `redacted_thinking` with its data, or an empty
/// `thinking` block. Does nothing for a block already announced.
fn announce_thinking(buf: &mut String, out: &mut Vec<u8>, open: &mut Open, redacted: Option<&str>) {
    if !open.unannounced {
        return;
    }
    open.unannounced = false;
    match redacted {
        Some(data) => {
            open.redacted = true;
            block_start_frame(buf, out, open.wire_index, |b| {
                b.push_str(r#"{"type":"redacted_thinking","data":"#);
                push_json_str(b, data);
                b.push('}');
            });
        }
        None => block_start_frame(buf, out, open.wire_index, |b| {
            b.push_str(r#"{"type":"thinking","thinking":"","signature":""}"#)
        }),
    }
}

/// Writes one `content_block_delta` for the open block (the hot path: one per token).
fn emit_delta(buf: &mut String, out: &mut Vec<u8>, open: &mut Open, delta: &Delta) {
    let (kind, field, value) = match delta {
        Delta::Text(text) => ("text_delta", "text", text),
        Delta::ToolArguments(json) => ("input_json_delta", "partial_json", json),
        Delta::Reasoning(text) => ("thinking_delta", "thinking", text),
        Delta::ReasoningSignature(signature) => {
            if let Some(data) = signature.strip_prefix(REDACTED_PREFIX) {
                announce_thinking(buf, out, open, Some(data));
                return;
            }
            ("signature_delta", "signature", signature)
        }
    };
    if value.is_empty() || open.redacted {
        return;
    }
    announce_thinking(buf, out, open, None);
    buf.clear();
    buf.push_str(r#"{"type":"content_block_delta","index":"#);
    let _ = write!(buf, "{}", open.wire_index);
    buf.push_str(r#","delta":{"type":""#);
    buf.push_str(kind);
    buf.push_str(r#"",""#);
    buf.push_str(field);
    buf.push_str(r#"":"#);
    push_json_str(buf, value);
    buf.push_str("}}");
    write_frame(out, Some("content_block_delta"), buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::anthropic::StreamDecoder;
    use crate::dialect::StreamDecode;
    use crate::ir::{Block, Message, Role};
    use crate::sse;
    use serde_json::Value;
    use std::io::Cursor;

    fn request() -> ir::Request {
        ir::Request {
            model: "claude-sonnet-4-5".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![Block::Text {
                    text: "What is the weather in San Francisco? ".repeat(10),
                }],
            }],
            stream: true,
            ..Default::default()
        }
    }

    fn encode(events: &[Event]) -> String {
        let mut encoder = StreamEncoder::new(&request());
        let mut out = Vec::new();
        for event in events {
            encoder.encode(event, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    /// The frames as (event name, parsed data).
    fn frames(text: &str) -> Vec<(String, Value)> {
        sse::EventReader::new(Cursor::new(text.as_bytes().to_vec()))
            .map(|e| {
                let e = e.unwrap();
                (e.event, serde_json::from_str(&e.data).unwrap())
            })
            .collect()
    }

    fn block_start(index: usize, block: BlockStart) -> Event {
        Event::BlockStart { index, block }
    }

    fn delta(index: usize, delta: Delta) -> Event {
        Event::Delta { index, delta }
    }

    fn tool(id: &str, name: &str) -> BlockStart {
        BlockStart::ToolCall {
            id: id.into(),
            name: name.into(),
        }
    }

    /// Golden frames for thinking, text and a streamed tool call, byte for byte as the
    /// streaming docs show them (<https://platform.claude.com/docs/en/build-with-claude/streaming>).
    #[test]
    fn ir_sequence_encodes_to_the_documented_frames() {
        let text = encode(&[
            Event::Start {
                id: "msg_1".into(),
                model: "claude-sonnet-4-5-20250929".into(),
                usage: Usage {
                    input_tokens: 472,
                    output_tokens: 2,
                    ..Default::default()
                },
            },
            block_start(0, BlockStart::Reasoning),
            delta(0, Delta::Reasoning("Let me \"think\"\n".into())),
            delta(0, Delta::ReasoningSignature("EqQB".into())),
            Event::BlockStop { index: 0 },
            block_start(1, BlockStart::Text),
            delta(1, Delta::Text("Hello".into())),
            Event::BlockStop { index: 1 },
            block_start(2, tool("toolu_01", "get_weather")),
            delta(2, Delta::ToolArguments("{\"location\":".into())),
            delta(2, Delta::ToolArguments(" \"SF\"}".into())),
            Event::BlockStop { index: 2 },
            Event::Finish {
                stop_reason: StopReason::ToolUse,
                usage: Usage {
                    output_tokens: 89,
                    ..Default::default()
                },
            },
            Event::Done,
        ]);
        let want = concat!(
            "event: message_start\n",
            r#"data: {"message":{"content":[],"id":"msg_1","model":"claude-sonnet-4-5-20250929","role":"assistant","stop_reason":null,"stop_sequence":null,"type":"message","usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":472,"output_tokens":2}},"type":"message_start"}"#,
            "\n\n",
            "event: content_block_start\n",
            r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
            "\n\n",
            "event: content_block_delta\n",
            r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me \"think\"\n"}}"#,
            "\n\n",
            "event: content_block_delta\n",
            r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}"#,
            "\n\n",
            "event: content_block_stop\n",
            r#"data: {"type":"content_block_stop","index":0}"#,
            "\n\n",
            "event: content_block_start\n",
            r#"data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
            "\n\n",
            "event: content_block_delta\n",
            r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello"}}"#,
            "\n\n",
            "event: content_block_stop\n",
            r#"data: {"type":"content_block_stop","index":1}"#,
            "\n\n",
            "event: content_block_start\n",
            r#"data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}"#,
            "\n\n",
            "event: content_block_delta\n",
            r#"data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}"#,
            "\n\n",
            "event: content_block_delta\n",
            r#"data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":" \"SF\"}"}}"#,
            "\n\n",
            "event: content_block_stop\n",
            r#"data: {"type":"content_block_stop","index":2}"#,
            "\n\n",
            "event: message_delta\n",
            r#"data: {"delta":{"stop_reason":"tool_use","stop_sequence":null},"type":"message_delta","usage":{"output_tokens":89}}"#,
            "\n\n",
            "event: message_stop\n",
            r#"data: {"type":"message_stop"}"#,
            "\n\n",
        );
        assert_eq!(text, want, "\n got:\n{text}\nwant:\n{want}");
    }

    /// Checks what the SDK's accumulator relies on: message_start first, block indices 0, 1, 2...
    /// in opening order, deltas only for the open block, no overlap, message_delta then
    /// message_stop last. Returns the accumulated content blocks.
    fn accumulate(frames: &[(String, Value)]) -> Vec<Value> {
        assert_eq!(frames[0].0, "message_start");
        let mut content: Vec<Value> = Vec::new();
        let mut open: Option<usize> = None;
        for (name, data) in &frames[1..] {
            assert_eq!(data["type"], name.as_str(), "event name and type agree");
            let index = data["index"].as_u64().map(|i| i as usize);
            match name.as_str() {
                "content_block_start" => {
                    assert_eq!(open, None, "blocks never overlap");
                    assert_eq!(index, Some(content.len()), "indices run in order");
                    open = index;
                    let mut block = data["content_block"].clone();
                    if block["type"] == "tool_use" {
                        block["partial"] = json!("");
                    }
                    content.push(block);
                }
                "content_block_delta" => {
                    assert_eq!(index, open, "deltas go to the open block");
                    let block = &mut content[index.unwrap()];
                    let d = &data["delta"];
                    let append = |block: &mut Value, key: &str, more: &Value| {
                        let joined =
                            format!("{}{}", block[key].as_str().unwrap(), more.as_str().unwrap());
                        block[key] = json!(joined);
                    };
                    match d["type"].as_str().unwrap() {
                        "text_delta" => append(block, "text", &d["text"]),
                        "thinking_delta" => append(block, "thinking", &d["thinking"]),
                        "signature_delta" => block["signature"] = d["signature"].clone(),
                        "input_json_delta" => append(block, "partial", &d["partial_json"]),
                        other => panic!("unexpected delta {other}"),
                    }
                }
                "content_block_stop" => {
                    assert_eq!(index, open);
                    open = None;
                }
                "message_delta" => assert_eq!(open, None),
                "message_stop" => {}
                other => panic!("unexpected event {other}"),
            }
        }
        assert_eq!(frames.last().unwrap().0, "message_stop");
        content
    }

    #[test]
    fn interleaved_parallel_tool_calls_come_out_sequential() {
        // An OpenAI backend streaming two calls at once, finishing with "stop".
        let text = encode(&[
            Event::Start {
                id: "chatcmpl-1".into(),
                model: "gpt-4o".into(),
                usage: Usage::default(),
            },
            block_start(0, BlockStart::Text),
            delta(0, Delta::Text("Checking both.".into())),
            block_start(1, tool("call_a", "get_weather")),
            delta(1, Delta::ToolArguments("{\"city\":".into())),
            block_start(2, tool("call_b", "get_weather")),
            delta(2, Delta::ToolArguments("{\"city\":\"Rome\"}".into())),
            delta(1, Delta::ToolArguments("\"Paris\"}".into())),
            delta(0, Delta::Text(" Done.".into())),
            Event::BlockStop { index: 2 },
            Event::BlockStop { index: 0 },
            Event::BlockStop { index: 1 },
            Event::Finish {
                stop_reason: StopReason::EndTurn,
                usage: Usage {
                    input_tokens: 120,
                    output_tokens: 30,
                    cache_read_tokens: 100,
                    ..Default::default()
                },
            },
            Event::Done,
        ]);
        let frames = frames(&text);
        let content = accumulate(&frames);
        assert_eq!(content.len(), 3);
        assert_eq!(content[0]["text"], "Checking both. Done.");
        assert_eq!(
            (content[1]["id"].as_str(), content[1]["partial"].as_str()),
            (Some("call_a"), Some("{\"city\":\"Paris\"}"))
        );
        assert_eq!(
            (content[2]["id"].as_str(), content[2]["partial"].as_str()),
            (Some("call_b"), Some("{\"city\":\"Rome\"}"))
        );

        let start = &frames[0].1["message"];
        assert_eq!(start["id"], "msg_chatcmpl-1");
        assert!(
            start["usage"]["input_tokens"].as_u64().unwrap() > 0,
            "the estimate stands in for a missing count"
        );
        let message_delta = &frames[frames.len() - 2].1;
        assert_eq!(message_delta["delta"]["stop_reason"], "tool_use");
        assert_eq!(
            message_delta["usage"],
            json!({"input_tokens": 20, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0, "output_tokens": 30})
        );
    }

    #[test]
    fn start_without_input_count_uses_the_request_estimate() {
        let frames = frames(&encode(&[Event::Start {
            id: String::new(),
            model: String::new(),
            usage: Usage::default(),
        }]));
        let message = &frames[0].1["message"];
        assert_eq!(
            message["usage"]["input_tokens"],
            request().estimate_input_tokens()
        );
        assert_eq!(
            message["model"], "claude-sonnet-4-5",
            "the request's model stands in"
        );
        assert!(message["id"].as_str().unwrap().starts_with("msg_"));
    }

    #[test]
    fn error_first_is_a_lone_error_frame() {
        let text = encode(&[
            Event::Error {
                kind: "overloaded".into(),
                message: "all backends are busy".into(),
            },
            Event::Done,
        ]);
        assert_eq!(
            text,
            "event: error\ndata: {\"error\":{\"message\":\"all backends are busy\",\"type\":\"overloaded_error\"},\"type\":\"error\"}\n\n"
        );
    }

    #[test]
    fn mid_stream_error_ends_the_stream() {
        let frames = frames(&encode(&[
            Event::Start {
                id: "msg_1".into(),
                model: "m".into(),
                usage: Usage::default(),
            },
            block_start(0, BlockStart::Text),
            delta(0, Delta::Text("par".into())),
            Event::Error {
                kind: "rate_limited".into(),
                message: "slow down".into(),
            },
            delta(0, Delta::Text("tial".into())),
            Event::Done,
        ]));
        let names: Vec<&str> = frames.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "error"
            ]
        );
        assert_eq!(frames[3].1["error"]["type"], "rate_limit_error");
    }

    #[test]
    fn early_end_without_finish_still_closes_the_message() {
        let frames = frames(&encode(&[
            block_start(0, tool("call_1", "f")),
            delta(0, Delta::ToolArguments("{}".into())),
            Event::Done,
        ]));
        let content = accumulate(&frames);
        assert_eq!(content.len(), 1);
        assert_eq!(
            frames[frames.len() - 2].1["delta"]["stop_reason"],
            "tool_use"
        );
    }

    #[test]
    fn redacted_thinking_becomes_a_redacted_block_even_while_waiting() {
        let marker = |data: &str| Delta::ReasoningSignature(format!("{REDACTED_PREFIX}{data}"));
        let frames = frames(&encode(&[
            block_start(0, BlockStart::Text),
            block_start(1, BlockStart::Reasoning),
            delta(1, marker("EmwK")),
            Event::BlockStop { index: 1 },
            block_start(2, BlockStart::Reasoning),
            Event::BlockStop { index: 2 },
            delta(0, Delta::Text("x".into())),
            Event::BlockStop { index: 0 },
            block_start(3, BlockStart::Reasoning),
            delta(3, marker("Abc")),
            Event::BlockStop { index: 3 },
            Event::Done,
        ]));
        let content = accumulate(&frames);
        assert_eq!(content[0], json!({"type": "text", "text": "x"}));
        assert_eq!(
            content[1],
            json!({"type": "redacted_thinking", "data": "EmwK"})
        );
        assert_eq!(
            content[2],
            json!({"type": "thinking", "thinking": "", "signature": ""})
        );
        assert_eq!(
            content[3],
            json!({"type": "redacted_thinking", "data": "Abc"})
        );
    }

    /// An Anthropic backend's stream decoded to ir and encoded again gives the client the same
    /// events (the decoder drops only pings and empty fragments).
    #[test]
    fn anthropic_stream_round_trips_through_ir() {
        let transcript = concat!(
            "event: message_start\n",
            r#"data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-opus-4-1","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#,
            "\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n",
            "event: content_block_start\n",
            r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            "\n\nevent: content_block_delta\n",
            r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \u00e9\u2028 there"}}"#,
            "\n\nevent: content_block_stop\n",
            r#"data: {"type":"content_block_stop","index":0}"#,
            "\n\nevent: message_delta\n",
            r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
            "\n\nevent: message_stop\n",
            r#"data: {"type":"message_stop"}"#,
            "\n\n"
        );
        let mut decoder = StreamDecoder::new();
        let mut events = Vec::new();
        for event in sse::EventReader::new(Cursor::new(transcript.as_bytes().to_vec())) {
            decoder.decode(&event.unwrap(), &mut events).unwrap();
        }
        decoder.finish(&mut events);
        let mut original = frames(transcript);
        original.retain(|(name, _)| name != "ping");
        let mut encoded = frames(&encode(&events));
        // The re-encoded message_delta also restates the input counts it knows.
        let usage = &mut encoded[4].1["usage"];
        assert_eq!(usage["input_tokens"], 25);
        *usage = json!({"output_tokens": usage["output_tokens"].clone()});
        assert_eq!(encoded, original);
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        let mut buf = String::new();
        let nasty = "a\"b\\c\nd\re\tf\u{1}g\u{1f}é🦀";
        push_json_str(&mut buf, nasty);
        assert_eq!(buf, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fé🦀\"");
        assert_eq!(serde_json::from_str::<String>(&buf).unwrap(), nasty);
    }
}
