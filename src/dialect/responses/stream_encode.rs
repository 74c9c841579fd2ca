//! `ir` stream events ⇒ the Responses SSE events that the openai SDK (`responses.stream()`,
//! `openai-python src/openai/lib/streaming/responses/_responses.py`) and Codex CLI consume.
//!
//! Event reference: <https://platform.openai.com/docs/api-reference/responses-streaming>. Every
//! event carries `type` and a `sequence_number` counting from 0 and is written with an `event:`
//! line. Per-token events (text, reasoning and argument deltas) are written by hand into a reused
//! buffer; the few per-item and per-response events are built as JSON values.

use serde_json::{json, Map, Value};

use super::request_encode::{text_format_json, tool_choice_json, tools_json};
use super::response::{response_skeleton, status_for};
use super::{
    arguments_or_empty_object, code_for_kind, encrypted_content, function_call_item, item_id,
    message_item, now_secs, output_text_part, reasoning_item, response_id, usage_json,
};
use crate::dialect::push_json_str;
use crate::dialect::StreamEncode;
use crate::ir::{self, BlockStart, Delta, Event, StopReason, Usage};
use crate::sse;

/// Turns `ir` events into Responses SSE frames.
///
/// State: the sequence counter; the response id, model and creation time (every response-level
/// event repeats them); the request fields a response object echoes, built once; usage seen so
/// far; and one [`Item`] per output item in output order, each keeping its accumulated text or
/// arguments, because the `*.done` events, `output_item.done` and the final `response.completed`
/// all repeat the whole item, and `ir` deltas carry only fragments.
pub struct StreamEncoder {
    frames: Frames,
    started: bool,
    finished: bool,
    response_id: String,
    model: String,
    created_at: u64,
    /// Request fields echoed in every response object (tools, tool_choice, sampling settings).
    echo: Map<String, Value>,
    /// Input tokens estimated from the request, reported when the backend gives no count.
    estimated_input_tokens: u64,
    usage: Usage,
    items: Vec<Item>,
}

/// One output item of the response being streamed.
struct Item {
    /// The `ir` block index it came from (blocks may interleave, so this is a key, not a position).
    block: usize,
    id: String,
    kind: ItemKind,
    /// The finished item as `output_item.done` sent it; kept for the final response.
    done: Option<Value>,
}

enum ItemKind {
    Message {
        text: String,
    },
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
    Reasoning {
        text: String,
        signature: Option<String>,
        /// Whether `reasoning_summary_part.added` went out (sent with the first text).
        part_open: bool,
    },
}

impl StreamEncoder {
    pub fn new(request: &ir::Request) -> StreamEncoder {
        StreamEncoder {
            frames: Frames::default(),
            started: false,
            finished: false,
            response_id: String::new(),
            model: request.model.clone(),
            created_at: now_secs(),
            echo: request_echo(request),
            estimated_input_tokens: request.estimate_input_tokens(),
            usage: Usage::default(),
            items: Vec::new(),
        }
    }

    /// `response.created` then `response.in_progress`, once, before anything else: the SDK
    /// refuses any other first event.
    fn start(&mut self, id: &str, model: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.response_id = response_id(id);
        if !model.is_empty() {
            self.model = model.to_owned();
        }
        let response = Value::Object(self.response_object("in_progress"));
        self.frames
            .value("response.created", json!({"response": response}), out);
        self.frames
            .value("response.in_progress", json!({"response": response}), out);
    }

    fn response_object(&self, status: &str) -> Map<String, Value> {
        let mut object = response_skeleton(&self.response_id, &self.model, self.created_at, status);
        for (key, value) in &self.echo {
            object.insert(key.clone(), value.clone());
        }
        object
    }

    fn position(&self, block: usize) -> Option<usize> {
        self.items
            .iter()
            .rposition(|item| item.block == block && item.done.is_none())
    }

    fn open_item(&mut self, block: usize, start: &BlockStart, out: &mut Vec<u8>) {
        let output_index = self.items.len();
        let (id, kind, added) = match start {
            BlockStart::Text => {
                let id = item_id("msg", &self.response_id, output_index);
                let added = json!({"id": id, "type": "message", "status": "in_progress",
                                   "role": "assistant", "content": []});
                (
                    id,
                    ItemKind::Message {
                        text: String::new(),
                    },
                    added,
                )
            }
            BlockStart::ToolCall { id: call_id, name } => {
                let id = item_id("fc", &self.response_id, output_index);
                let added = function_call_item(&id, call_id, name, "", "in_progress");
                let kind = ItemKind::FunctionCall {
                    call_id: call_id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                };
                (id, kind, added)
            }
            BlockStart::Reasoning => {
                let id = item_id("rs", &self.response_id, output_index);
                let added = json!({"id": id, "type": "reasoning", "summary": []});
                let kind = ItemKind::Reasoning {
                    text: String::new(),
                    signature: None,
                    part_open: false,
                };
                (id, kind, added)
            }
        };
        self.frames.value(
            "response.output_item.added",
            json!({"output_index": output_index, "item": added}),
            out,
        );
        if matches!(kind, ItemKind::Message { .. }) {
            self.frames.value(
                "response.content_part.added",
                json!({"item_id": id, "output_index": output_index, "content_index": 0,
                       "part": output_text_part("")}),
                out,
            );
        }
        self.items.push(Item {
            block,
            id,
            kind,
            done: None,
        });
    }

    /// The open item of `block`, opening one for a delta that came without its `BlockStart`
    /// (tool arguments cannot be placed without a call, so those are dropped).
    fn item_for_delta(&mut self, block: usize, delta: &Delta, out: &mut Vec<u8>) -> Option<usize> {
        if let Some(position) = self.position(block) {
            return Some(position);
        }
        let start = match delta {
            Delta::Text(_) => BlockStart::Text,
            Delta::Reasoning(_) | Delta::ReasoningSignature(_) => BlockStart::Reasoning,
            Delta::ToolArguments(_) => {
                log::debug!("responses stream: tool arguments for unknown block {block} dropped");
                return None;
            }
        };
        self.open_item(block, &start, out);
        Some(self.items.len() - 1)
    }

    fn delta(&mut self, block: usize, delta: &Delta, out: &mut Vec<u8>) {
        let Some(position) = self.item_for_delta(block, delta, out) else {
            return;
        };
        let item = &mut self.items[position];
        let frames = &mut self.frames;
        match (&mut item.kind, delta) {
            (ItemKind::Message { text }, Delta::Text(fragment)) => {
                text.push_str(fragment);
                frames.begin("response.output_text.delta");
                frames.str_field("item_id", &item.id);
                frames.num_field("output_index", position);
                frames.num_field("content_index", 0);
                frames.str_field("delta", fragment);
                frames.raw_field("logprobs", "[]");
                frames.end(out);
            }
            (ItemKind::FunctionCall { arguments, .. }, Delta::ToolArguments(fragment)) => {
                arguments.push_str(fragment);
                frames.begin("response.function_call_arguments.delta");
                frames.str_field("item_id", &item.id);
                frames.num_field("output_index", position);
                frames.str_field("delta", fragment);
                frames.end(out);
            }
            (
                ItemKind::Reasoning {
                    text, part_open, ..
                },
                Delta::Reasoning(fragment),
            ) => {
                if !*part_open {
                    *part_open = true;
                    frames.value(
                        "response.reasoning_summary_part.added",
                        json!({"item_id": item.id, "output_index": position, "summary_index": 0,
                               "part": {"type": "summary_text", "text": ""}}),
                        out,
                    );
                }
                text.push_str(fragment);
                frames.begin("response.reasoning_summary_text.delta");
                frames.str_field("item_id", &item.id);
                frames.num_field("output_index", position);
                frames.num_field("summary_index", 0);
                frames.str_field("delta", fragment);
                frames.end(out);
            }
            (ItemKind::Reasoning { signature, .. }, Delta::ReasoningSignature(sig)) => {
                signature.get_or_insert_with(String::new).push_str(sig);
            }
            _ => {
                log::debug!("responses stream: a delta of the wrong kind for block {block} dropped")
            }
        }
    }

    /// Sends the `*.done` events of an item and keeps the finished item for the final response.
    fn close_item(&mut self, position: usize, out: &mut Vec<u8>) {
        let item = &mut self.items[position];
        let frames = &mut self.frames;
        let id = item.id.as_str();
        let finished = match &item.kind {
            ItemKind::Message { text } => {
                frames.value(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": position, "content_index": 0,
                           "text": text, "logprobs": []}),
                    out,
                );
                frames.value(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": position, "content_index": 0,
                           "part": output_text_part(text)}),
                    out,
                );
                message_item(id, &[text], "completed")
            }
            ItemKind::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let arguments = arguments_or_empty_object(arguments);
                frames.value(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": position, "name": name,
                           "arguments": arguments}),
                    out,
                );
                function_call_item(id, call_id, name, arguments, "completed")
            }
            ItemKind::Reasoning {
                text,
                signature,
                part_open,
            } => {
                if *part_open {
                    frames.value(
                        "response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": position, "summary_index": 0,
                               "text": text}),
                        out,
                    );
                    frames.value(
                        "response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": position, "summary_index": 0,
                               "part": {"type": "summary_text", "text": text}}),
                        out,
                    );
                }
                reasoning_item(id, text, encrypted_content(signature.as_deref(), None))
            }
        };
        frames.value(
            "response.output_item.done",
            json!({"output_index": position, "item": finished}),
            out,
        );
        item.done = Some(finished);
    }

    fn close_open_items(&mut self, out: &mut Vec<u8>) {
        for position in 0..self.items.len() {
            if self.items[position].done.is_none() {
                self.close_item(position, out);
            }
        }
    }

    fn finished_output(&self) -> Value {
        Value::Array(self.items.iter().filter_map(|i| i.done.clone()).collect())
    }

    /// `response.completed`, or `response.incomplete` when the output was cut short.
    fn finish(&mut self, stop_reason: &StopReason, usage: &Usage, out: &mut Vec<u8>) {
        self.close_open_items(out);
        self.usage.merge(usage);
        if self.usage.input_tokens == 0 {
            self.usage.input_tokens = self.estimated_input_tokens;
        }
        let (status, incomplete_details) = status_for(stop_reason);
        let mut response = self.response_object(status);
        response.insert("incomplete_details".into(), incomplete_details);
        response.insert("output".into(), self.finished_output());
        response.insert("usage".into(), usage_json(&self.usage));
        let event = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.frames.value(event, json!({"response": response}), out);
        self.finished = true;
    }

    /// `response.failed` with `error: {code, message}` and whatever output was finished.
    fn fail(&mut self, kind: &str, message: &str, out: &mut Vec<u8>) {
        self.start("", "", out);
        let mut response = self.response_object("failed");
        response.insert(
            "error".into(),
            json!({"code": code_for_kind(kind), "message": message}),
        );
        response.insert("output".into(), self.finished_output());
        self.frames
            .value("response.failed", json!({"response": response}), out);
        self.finished = true;
    }
}

/// The request fields a response object repeats back.
fn request_echo(request: &ir::Request) -> Map<String, Value> {
    let mut echo = Map::new();
    echo.insert("tools".into(), tools_json(&request.tools));
    echo.insert(
        "tool_choice".into(),
        tool_choice_json(request.tool_choice.as_ref()),
    );
    echo.insert(
        "parallel_tool_calls".into(),
        json!(request.parallel_tool_calls.unwrap_or(true)),
    );
    echo.insert("max_output_tokens".into(), json!(request.max_tokens));
    echo.insert("temperature".into(), json!(request.temperature));
    echo.insert("top_p".into(), json!(request.top_p));
    echo.insert("user".into(), json!(request.user));
    echo.insert(
        "text".into(),
        json!({"format": text_format_json(request.response_format.as_ref())}),
    );
    if let Some(reasoning) = &request.reasoning {
        echo.insert(
            "reasoning".into(),
            json!({"effort": reasoning.effort, "summary": reasoning.summary}),
        );
    }
    echo
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        match event {
            Event::Start { id, model, usage } => {
                self.usage.merge(usage);
                self.start(id, model, out);
            }
            Event::BlockStart { index, block } => {
                self.start("", "", out);
                self.open_item(*index, block, out);
            }
            Event::Delta { index, delta } => {
                self.start("", "", out);
                self.delta(*index, delta, out);
            }
            Event::BlockStop { index } => {
                if let Some(position) = self.position(*index) {
                    self.close_item(position, out);
                }
            }
            Event::Finish { stop_reason, usage } => {
                self.start("", "", out);
                self.finish(stop_reason, usage, out);
            }
            // A stream that ends without `Finish` still owes the client its terminal event.
            Event::Done => {
                self.start("", "", out);
                self.finish(&StopReason::EndTurn, &Usage::default(), out);
            }
            Event::Error { kind, message } => self.fail(kind, message, out),
        }
    }
}

/// Writes frames and numbers them. Keeps one buffer for the JSON of the event being written.
#[derive(Default)]
struct Frames {
    sequence: u64,
    event: &'static str,
    buf: String,
}

impl Frames {
    /// Writes an event built as a JSON object, adding `type` and `sequence_number`.
    fn value(&mut self, event: &'static str, mut data: Value, out: &mut Vec<u8>) {
        if let Value::Object(map) = &mut data {
            map.insert("type".into(), json!(event));
            map.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        sse::write_frame(out, Some(event), &data.to_string());
    }

    /// Starts a hand-written event: `{"type":...,"sequence_number":...`.
    fn begin(&mut self, event: &'static str) {
        self.event = event;
        self.buf.clear();
        self.buf.push_str("{\"type\":\"");
        self.buf.push_str(event);
        self.buf.push_str("\",\"sequence_number\":");
        self.push_number(self.sequence);
        self.sequence += 1;
    }

    fn push_number(&mut self, n: u64) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(self.buf, "{n}");
    }

    fn key(&mut self, key: &str) {
        self.buf.push_str(",\"");
        self.buf.push_str(key);
        self.buf.push_str("\":");
    }

    fn str_field(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_str(&mut self.buf, value);
    }

    fn num_field(&mut self, key: &str, value: usize) {
        self.key(key);
        self.push_number(value as u64);
    }

    fn raw_field(&mut self, key: &str, json: &str) {
        self.key(key);
        self.buf.push_str(json);
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.buf.push('}');
        sse::write_frame(out, Some(self.event), &self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Block, Message, Role};
    use std::io::Cursor;

    fn request() -> ir::Request {
        ir::Request {
            model: "client-model".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![Block::Text {
                    text: "list files".into(),
                }],
            }],
            stream: true,
            tools: vec![ir::Tool {
                name: "ls".into(),
                description: None,
                parameters: json!({"type": "object"}),
            }],
            ..ir::Request::default()
        }
    }

    fn encode_all(events: &[Event]) -> Vec<u8> {
        let mut encoder = StreamEncoder::new(&request());
        let mut out = Vec::new();
        for event in events {
            encoder.encode(event, &mut out);
        }
        out
    }

    /// Parses frames back, checks the invariants every frame must keep (an `event:` line equal
    /// to the data's `type`, sequence numbers 0, 1, 2...), and returns (event, data) with the
    /// response objects cut down to the fields worth comparing.
    fn frames(bytes: &[u8]) -> Vec<(String, Value)> {
        let events = sse::EventReader::new(Cursor::new(bytes.to_vec()));
        let mut result = Vec::new();
        for (n, event) in events.enumerate() {
            let event = event.unwrap();
            let mut data: Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(data["type"], event.event.as_str(), "frame {n}");
            assert_eq!(data["sequence_number"], n as u64, "frame {n}");
            let map = data.as_object_mut().unwrap();
            map.remove("type");
            map.remove("sequence_number");
            if let Some(Value::Object(response)) = map.get_mut("response") {
                assert_eq!(response["object"], "response");
                for field in ["parallel_tool_calls", "tool_choice", "tools", "created_at"] {
                    assert!(response.contains_key(field), "response lacks {field}");
                }
                let keep = [
                    "id",
                    "status",
                    "model",
                    "output",
                    "usage",
                    "error",
                    "incomplete_details",
                ];
                response.retain(|k, _| keep.contains(&k.as_str()));
            }
            result.push((event.event, data));
        }
        result
    }

    fn ev(name: &str, data: Value) -> (String, Value) {
        (name.to_owned(), data)
    }

    fn usage(input: u64, output: u64) -> Value {
        json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
               "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": input + output})
    }

    fn in_progress(id: &str, model: &str) -> Value {
        json!({"response": {"id": id, "status": "in_progress", "model": model, "output": [],
                            "usage": null, "error": null, "incomplete_details": null}})
    }

    /// Text then a tool call with streamed arguments, as the openai SDK's stream accumulator
    /// and Codex consume it (event shapes: openai-python `types/responses/response_*_event.py`).
    #[test]
    fn text_and_tool_call_encode_to_the_documented_event_sequence() {
        let bytes = encode_all(&[
            Event::Start {
                id: "msg_01".into(),
                model: "claude-x".into(),
                usage: ir::Usage {
                    input_tokens: 25,
                    ..ir::Usage::default()
                },
            },
            Event::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("Hel".into()),
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("lo \"q\"\n".into()),
            },
            Event::BlockStop { index: 0 },
            Event::BlockStart {
                index: 1,
                block: BlockStart::ToolCall {
                    id: "toolu_1".into(),
                    name: "ls".into(),
                },
            },
            Event::Delta {
                index: 1,
                delta: Delta::ToolArguments("{\"path\":".into()),
            },
            Event::Delta {
                index: 1,
                delta: Delta::ToolArguments("\"/\"}".into()),
            },
            Event::BlockStop { index: 1 },
            Event::Finish {
                stop_reason: StopReason::ToolUse,
                usage: ir::Usage {
                    output_tokens: 12,
                    ..ir::Usage::default()
                },
            },
            Event::Done,
        ]);
        assert!(bytes.starts_with(b"event: response.created\ndata: {"));
        let message = json!({"id": "msg_msg_01_0", "type": "message", "status": "completed",
            "role": "assistant", "content": [{"type": "output_text", "text": "Hello \"q\"\n",
            "annotations": [], "logprobs": []}]});
        let call = json!({"id": "fc_msg_01_1", "type": "function_call", "status": "completed",
            "call_id": "toolu_1", "name": "ls", "arguments": "{\"path\":\"/\"}"});
        let expected = vec![
            ev("response.created", in_progress("resp_msg_01", "claude-x")),
            ev(
                "response.in_progress",
                in_progress("resp_msg_01", "claude-x"),
            ),
            ev(
                "response.output_item.added",
                json!({"output_index": 0, "item": {
                "id": "msg_msg_01_0", "type": "message", "status": "in_progress",
                "role": "assistant", "content": []}}),
            ),
            ev(
                "response.content_part.added",
                json!({"item_id": "msg_msg_01_0", "output_index": 0,
                "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": [],
                "logprobs": []}}),
            ),
            ev(
                "response.output_text.delta",
                json!({"item_id": "msg_msg_01_0", "output_index": 0,
                "content_index": 0, "delta": "Hel", "logprobs": []}),
            ),
            ev(
                "response.output_text.delta",
                json!({"item_id": "msg_msg_01_0", "output_index": 0,
                "content_index": 0, "delta": "lo \"q\"\n", "logprobs": []}),
            ),
            ev(
                "response.output_text.done",
                json!({"item_id": "msg_msg_01_0", "output_index": 0,
                "content_index": 0, "text": "Hello \"q\"\n", "logprobs": []}),
            ),
            ev(
                "response.content_part.done",
                json!({"item_id": "msg_msg_01_0", "output_index": 0,
                "content_index": 0, "part": {"type": "output_text", "text": "Hello \"q\"\n",
                "annotations": [], "logprobs": []}}),
            ),
            ev(
                "response.output_item.done",
                json!({"output_index": 0, "item": message}),
            ),
            ev(
                "response.output_item.added",
                json!({"output_index": 1, "item": {
                "id": "fc_msg_01_1", "type": "function_call", "status": "in_progress",
                "call_id": "toolu_1", "name": "ls", "arguments": ""}}),
            ),
            ev(
                "response.function_call_arguments.delta",
                json!({"item_id": "fc_msg_01_1",
                "output_index": 1, "delta": "{\"path\":"}),
            ),
            ev(
                "response.function_call_arguments.delta",
                json!({"item_id": "fc_msg_01_1",
                "output_index": 1, "delta": "\"/\"}"}),
            ),
            ev(
                "response.function_call_arguments.done",
                json!({"item_id": "fc_msg_01_1",
                "output_index": 1, "name": "ls", "arguments": "{\"path\":\"/\"}"}),
            ),
            ev(
                "response.output_item.done",
                json!({"output_index": 1, "item": call}),
            ),
            ev(
                "response.completed",
                json!({"response": {"id": "resp_msg_01", "status": "completed",
                "model": "claude-x", "output": [message, call], "usage": usage(25, 12),
                "error": null, "incomplete_details": null}}),
            ),
        ];
        assert_eq!(frames(&bytes), expected);
    }

    #[test]
    fn reasoning_encodes_summary_events_and_encrypted_content() {
        let bytes = encode_all(&[
            Event::Start {
                id: "r1".into(),
                model: "m".into(),
                usage: ir::Usage::default(),
            },
            Event::BlockStart {
                index: 0,
                block: BlockStart::Reasoning,
            },
            Event::Delta {
                index: 0,
                delta: Delta::Reasoning("Think".into()),
            },
            Event::Delta {
                index: 0,
                delta: Delta::Reasoning("ing.".into()),
            },
            Event::Delta {
                index: 0,
                delta: Delta::ReasoningSignature("SIG".into()),
            },
            Event::BlockStop { index: 0 },
            Event::Finish {
                stop_reason: StopReason::EndTurn,
                usage: ir::Usage::default(),
            },
            Event::Done,
        ]);
        let got = frames(&bytes);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(
            got[4].1,
            json!({"item_id": "rs_r1_0", "output_index": 0, "summary_index": 0, "delta": "Think"})
        );
        assert_eq!(got[6].1["text"], "Thinking.");
        let item = json!({"id": "rs_r1_0", "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Thinking."}], "encrypted_content": "SIG"});
        assert_eq!(got[8].1["item"], item);
        assert_eq!(got[9].1["response"]["output"], json!([item]));
        // No usage from the backend: the request's estimate stands in for input tokens.
        assert!(
            got[9].1["response"]["usage"]["input_tokens"]
                .as_u64()
                .unwrap()
                > 0
        );
    }

    #[test]
    fn an_error_first_still_opens_the_response() {
        let bytes = encode_all(&[Event::Error {
            kind: "rate_limited".into(),
            message: "slow".into(),
        }]);
        let got = frames(&bytes);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.failed"
            ]
        );
        assert_eq!(got[0].1["response"]["model"], "client-model");
        assert_eq!(got[2].1["response"]["status"], "failed");
        assert_eq!(
            got[2].1["response"]["error"],
            json!({"code": "rate_limit_exceeded", "message": "slow"})
        );
    }

    #[test]
    fn a_mid_stream_error_fails_the_response_and_ends_it() {
        let bytes = encode_all(&[
            Event::Start {
                id: "x".into(),
                model: "m".into(),
                usage: ir::Usage::default(),
            },
            Event::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("par".into()),
            },
            Event::Error {
                kind: "overloaded".into(),
                message: "backend overloaded".into(),
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("ignored".into()),
            },
            Event::Done,
        ]);
        let got = frames(&bytes);
        let (name, data) = got.last().unwrap();
        assert_eq!(name, "response.failed");
        assert_eq!(data["response"]["error"]["code"], "server_error");
        assert_eq!(data["response"]["error"]["message"], "backend overloaded");
        assert_eq!(
            got.iter()
                .filter(|(n, _)| n.starts_with("response.output_text"))
                .count(),
            1
        );
    }

    #[test]
    fn max_tokens_ends_with_response_incomplete() {
        let bytes = encode_all(&[
            Event::Start {
                id: "x".into(),
                model: "m".into(),
                usage: ir::Usage::default(),
            },
            Event::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("cut".into()),
            },
            Event::BlockStop { index: 0 },
            Event::Finish {
                stop_reason: StopReason::MaxTokens,
                usage: ir::Usage::default(),
            },
            Event::Done,
        ]);
        let got = frames(&bytes);
        let (name, data) = got.last().unwrap();
        assert_eq!(name, "response.incomplete");
        assert_eq!(data["response"]["status"], "incomplete");
        assert_eq!(
            data["response"]["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
    }

    /// Every item gets `output_item.done` (Codex ignores tool calls without it) and the stream
    /// gets `response.completed` (the SDK's `get_final_response()` needs it), even when the `ir`
    /// stream skipped `BlockStart`, `BlockStop` and `Finish`.
    #[test]
    fn a_sloppy_ir_stream_still_closes_every_item_and_completes() {
        let bytes = encode_all(&[
            Event::Delta {
                index: 3,
                delta: Delta::Text("hi".into()),
            },
            Event::BlockStart {
                index: 4,
                block: BlockStart::ToolCall {
                    id: "c1".into(),
                    name: "f".into(),
                },
            },
            Event::Delta {
                index: 9,
                delta: Delta::ToolArguments("{}".into()),
            },
            Event::Done,
        ]);
        let got = frames(&bytes);
        let done: Vec<&Value> = got
            .iter()
            .filter(|(n, _)| n == "response.output_item.done")
            .map(|(_, d)| &d["item"])
            .collect();
        assert_eq!(done.len(), 2);
        assert_eq!(done[0]["content"][0]["text"], "hi");
        assert_eq!(
            done[1]["arguments"], "{}",
            "a call with no arguments still gets an object"
        );
        let (name, data) = got.last().unwrap();
        assert_eq!(name, "response.completed");
        assert_eq!(data["response"]["output"].as_array().unwrap().len(), 2);
        assert!(data["response"]["id"]
            .as_str()
            .unwrap()
            .starts_with("resp_"));
    }

    #[test]
    fn hand_written_json_strings_match_serde() {
        for s in [
            "plain",
            "quote \" back \\ slash",
            "nl\n cr\r tab\t",
            "\u{1}\u{1f}\u{7f}",
            "é中🎉",
            "",
        ] {
            let mut buf = String::new();
            push_json_str(&mut buf, s);
            assert_eq!(buf, serde_json::to_string(s).unwrap());
            assert_eq!(serde_json::from_str::<String>(&buf).unwrap(), s);
        }
    }
}
