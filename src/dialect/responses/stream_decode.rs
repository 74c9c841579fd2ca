//! A native Responses backend's SSE events ⇒ `ir` events.
//!
//! Each output item becomes one `ir` block: a message ⇒ text, a function call ⇒ tool call, a
//! reasoning item ⇒ reasoning (its `encrypted_content` ⇒ the signature). Events are told apart by
//! the `type` in their data (the `event:` line is a fallback). Event reference:
//! <https://platform.openai.com/docs/api-reference/responses-streaming>.

use serde_json::Value;

use super::response::reasoning_text;
use super::{decode_usage, kind_for_code};
use crate::dialect::StreamDecode;
use crate::error::{ErrorKind, GatewayError};
use crate::ir::{self, BlockStart, Delta, Event, StopReason, Usage};
use crate::sse;

/// Decodes a Responses stream.
///
/// State: whether `Start` went out and whether the stream ended (so `finish` adds nothing to a
/// well-formed stream); the open items, keyed by `output_index` (and item id), with the `ir`
/// block index each was given and whether any delta arrived for it — an item whose content came
/// only in its `output_item.done` is filled in from there; whether a function call or a refusal
/// was seen, which decides the stop reason of a `completed` response.
pub struct StreamDecoder {
    started: bool,
    ended: bool,
    next_block: usize,
    open: Vec<OpenItem>,
    saw_tool_call: bool,
    refused: bool,
}

struct OpenItem {
    output_index: Option<u64>,
    item_id: String,
    block: usize,
    kind: Kind,
    /// Some content arrived as deltas.
    streamed: bool,
    /// Reasoning summary parts seen, to separate them with a blank line.
    summary_parts: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Message,
    FunctionCall,
    Reasoning,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        StreamDecoder::new()
    }
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder {
            started: false,
            ended: false,
            next_block: 0,
            open: Vec::new(),
            saw_tool_call: false,
            refused: false,
        }
    }

    fn start(&mut self, response: Option<&Value>, out: &mut Vec<Event>) {
        if self.started {
            return;
        }
        self.started = true;
        let field = |key: &str| {
            response
                .and_then(|r| r.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        out.push(Event::Start {
            id: field("id"),
            model: field("model"),
            usage: Usage::default(),
        });
    }

    /// The open item an event refers to, by `output_index`, else by `item_id`.
    fn find(&self, data: &Value) -> Option<usize> {
        if let Some(index) = data.get("output_index").and_then(Value::as_u64) {
            return self.open.iter().position(|i| i.output_index == Some(index));
        }
        let item_id = data.get("item_id").and_then(Value::as_str)?;
        self.open.iter().position(|i| i.item_id == item_id)
    }

    /// Opens the `ir` block for an output item; returns its position in `open`, or `None` for
    /// item types with no `ir` form (hosted tool calls and the like).
    fn open_item(
        &mut self,
        output_index: Option<u64>,
        item: &Value,
        out: &mut Vec<Event>,
    ) -> Option<usize> {
        let str_field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("");
        let (kind, block) = match str_field("type") {
            "message" => (Kind::Message, BlockStart::Text),
            "function_call" => {
                self.saw_tool_call = true;
                let call_id = match str_field("call_id") {
                    "" => str_field("id"),
                    call_id => call_id,
                };
                let block = BlockStart::ToolCall {
                    id: call_id.to_owned(),
                    name: str_field("name").to_owned(),
                };
                (Kind::FunctionCall, block)
            }
            "reasoning" => (Kind::Reasoning, BlockStart::Reasoning),
            other => {
                log::debug!("responses stream: skipping output item of type {other:?}");
                return None;
            }
        };
        let index = self.next_block;
        self.next_block += 1;
        out.push(Event::BlockStart { index, block });
        self.open.push(OpenItem {
            output_index,
            item_id: str_field("id").to_owned(),
            block: index,
            kind,
            streamed: false,
            summary_parts: 0,
        });
        Some(self.open.len() - 1)
    }

    /// The open item for a content event, opening a block of `kind` if the backend skipped
    /// `output_item.added`.
    fn item_for(&mut self, data: &Value, kind: Kind, out: &mut Vec<Event>) -> Option<usize> {
        if let Some(position) = self.find(data) {
            return Some(position);
        }
        let item_type = match kind {
            Kind::Message => "message",
            Kind::Reasoning => "reasoning",
            // A call cannot be opened without its id and name.
            Kind::FunctionCall => return None,
        };
        let item = serde_json::json!({"type": item_type, "id": data.get("item_id")});
        let output_index = data.get("output_index").and_then(Value::as_u64);
        self.open_item(output_index, &item, out)
    }

    fn delta(&mut self, data: &Value, kind: Kind, out: &mut Vec<Event>) {
        let Some(fragment) = data.get("delta").and_then(Value::as_str) else {
            return;
        };
        let Some(position) = self.item_for(data, kind, out) else {
            return;
        };
        let item = &mut self.open[position];
        item.streamed = true;
        let delta = match kind {
            Kind::Message => Delta::Text(fragment.to_owned()),
            Kind::FunctionCall => Delta::ToolArguments(fragment.to_owned()),
            Kind::Reasoning => Delta::Reasoning(fragment.to_owned()),
        };
        out.push(Event::Delta {
            index: item.block,
            delta,
        });
    }

    /// A new reasoning summary part: separated from the previous one by a blank line.
    fn summary_part(&mut self, data: &Value, out: &mut Vec<Event>) {
        let Some(position) = self.item_for(data, Kind::Reasoning, out) else {
            return;
        };
        let item = &mut self.open[position];
        if item.summary_parts > 0 {
            out.push(Event::Delta {
                index: item.block,
                delta: Delta::Reasoning("\n\n".to_owned()),
            });
        }
        item.summary_parts += 1;
    }

    /// `function_call_arguments.done`: the arguments, if no delta carried them.
    fn arguments_done(&mut self, data: &Value, out: &mut Vec<Event>) {
        let Some(position) = self.find(data) else {
            return;
        };
        let item = &mut self.open[position];
        let arguments = data.get("arguments").and_then(Value::as_str).unwrap_or("");
        if !item.streamed && !arguments.is_empty() {
            item.streamed = true;
            out.push(Event::Delta {
                index: item.block,
                delta: Delta::ToolArguments(arguments.to_owned()),
            });
        }
    }

    /// `output_item.done`: fills in content that never came as deltas, adds the reasoning
    /// signature, and closes the block.
    fn item_done(&mut self, data: &Value, out: &mut Vec<Event>) {
        let Some(item) = data.get("item") else {
            return;
        };
        let position = match self.find(data) {
            Some(position) => position,
            None => {
                let output_index = data.get("output_index").and_then(Value::as_u64);
                match self.open_item(output_index, item, out) {
                    Some(position) => position,
                    None => return,
                }
            }
        };
        let open = self.open.remove(position);
        let index = open.block;
        if !open.streamed {
            if let Some(delta) = item_content(open.kind, item) {
                out.push(Event::Delta { index, delta });
            }
        }
        if open.kind == Kind::Message && has_refusal(item) {
            self.refused = true;
        }
        if open.kind == Kind::Reasoning {
            if let Some(signature) = item.get("encrypted_content").and_then(Value::as_str) {
                out.push(Event::Delta {
                    index,
                    delta: Delta::ReasoningSignature(signature.to_owned()),
                });
            }
        }
        out.push(Event::BlockStop { index });
    }

    fn close_open(&mut self, out: &mut Vec<Event>) {
        for item in self.open.drain(..) {
            out.push(Event::BlockStop { index: item.block });
        }
    }

    /// `response.completed` / `response.incomplete`: the end of a well-formed stream.
    fn end(&mut self, response: Option<&Value>, out: &mut Vec<Event>) {
        self.start(response, out);
        self.close_open(out);
        let usage = response
            .and_then(|r| r.get("usage"))
            .map(decode_usage)
            .unwrap_or_default();
        let status = response
            .and_then(|r| r.get("status"))
            .and_then(Value::as_str);
        let stop_reason = if status == Some("incomplete") {
            let reason = response
                .and_then(|r| r.pointer("/incomplete_details/reason"))
                .and_then(Value::as_str);
            match reason {
                Some("content_filter") => StopReason::ContentFilter,
                _ => StopReason::MaxTokens,
            }
        } else {
            self.default_stop_reason()
        };
        out.push(Event::Finish { stop_reason, usage });
        out.push(Event::Done);
        self.ended = true;
    }

    fn default_stop_reason(&self) -> StopReason {
        if self.saw_tool_call {
            StopReason::ToolUse
        } else if self.refused {
            StopReason::Refusal
        } else {
            StopReason::EndTurn
        }
    }

    /// `response.failed` (error in `response.error`) or an `error` event (error at top level).
    fn error(&mut self, error: Option<&Value>, out: &mut Vec<Event>) {
        let code = error
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let message = error
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("the backend's response failed");
        out.push(Event::Error {
            kind: kind_for_code(code).to_owned(),
            message: message.to_owned(),
        });
        self.ended = true;
    }
}

/// The content of a finished item, for items whose content was not streamed.
fn item_content(kind: Kind, item: &Value) -> Option<Delta> {
    match kind {
        Kind::Message => {
            let parts = item.get("content").and_then(Value::as_array)?;
            let text: String = parts
                .iter()
                .filter_map(|p| p.get("text").or_else(|| p.get("refusal")))
                .filter_map(Value::as_str)
                .collect();
            (!text.is_empty()).then_some(Delta::Text(text))
        }
        Kind::FunctionCall => {
            let arguments = item.get("arguments").and_then(Value::as_str)?;
            (!arguments.is_empty()).then(|| Delta::ToolArguments(arguments.to_owned()))
        }
        Kind::Reasoning => {
            let text = reasoning_text(item);
            (!text.is_empty()).then_some(Delta::Reasoning(text))
        }
    }
}

fn has_refusal(item: &Value) -> bool {
    item.get("content")
        .and_then(Value::as_array)
        .is_some_and(|parts| {
            parts
                .iter()
                .any(|p| p.get("type").and_then(Value::as_str) == Some("refusal"))
        })
}

impl StreamDecode for StreamDecoder {
    fn decode(&mut self, event: &sse::Event, out: &mut Vec<ir::Event>) -> Result<(), GatewayError> {
        if event.is_empty() || self.ended || event.data.is_empty() || event.data == "[DONE]" {
            return Ok(());
        }
        let data: Value = serde_json::from_str(&event.data).map_err(|e| {
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("the backend sent a malformed Responses stream event: {e}"),
            )
        })?;
        let kind = match data.get("type").and_then(Value::as_str) {
            Some(kind) => kind,
            None => event.event.as_str(),
        };
        let response = data.get("response");
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                self.start(response, out)
            }
            "response.output_item.added" => {
                self.start(None, out);
                if let Some(item) = data.get("item") {
                    let output_index = data.get("output_index").and_then(Value::as_u64);
                    self.open_item(output_index, item, out);
                }
            }
            "response.output_text.delta" => {
                self.start(None, out);
                self.delta(&data, Kind::Message, out);
            }
            "response.refusal.delta" => {
                self.start(None, out);
                self.refused = true;
                self.delta(&data, Kind::Message, out);
            }
            "response.function_call_arguments.delta" => self.delta(&data, Kind::FunctionCall, out),
            "response.function_call_arguments.done" => self.arguments_done(&data, out),
            "response.reasoning_summary_part.added" => {
                self.start(None, out);
                self.summary_part(&data, out);
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.start(None, out);
                self.delta(&data, Kind::Reasoning, out);
            }
            "response.output_item.done" => {
                self.start(None, out);
                self.item_done(&data, out);
            }
            "response.completed" | "response.incomplete" => self.end(response, out),
            "response.failed" => self.error(response.and_then(|r| r.get("error")), out),
            "error" => self.error(Some(&data), out),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<ir::Event>) {
        if self.ended {
            return;
        }
        self.start(None, out);
        self.close_open(out);
        out.push(Event::Finish {
            stop_reason: self.default_stop_reason(),
            usage: Usage::default(),
        });
        out.push(Event::Done);
        self.ended = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A recorded-style OpenAI transcript: reasoning with two summary parts, text, a tool call
    /// with streamed arguments, and usage in `response.completed`. Shapes per
    /// <https://platform.openai.com/docs/api-reference/responses-streaming>.
    const TRANSCRIPT: &str = r#"event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_abc","object":"response","created_at":1756300000,"status":"in_progress","model":"gpt-5-2025-08-07","output":[],"usage":null}}

event: response.in_progress
data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_abc","object":"response","status":"in_progress","model":"gpt-5-2025-08-07","output":[]}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}

event: response.reasoning_summary_part.added
data: {"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}

event: response.reasoning_summary_text.delta
data: {"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"**Plan**"}

event: response.reasoning_summary_part.added
data: {"type":"response.reasoning_summary_part.added","sequence_number":5,"item_id":"rs_1","output_index":0,"summary_index":1,"part":{"type":"summary_text","text":""}}

event: response.reasoning_summary_text.delta
data: {"type":"response.reasoning_summary_text.delta","sequence_number":6,"item_id":"rs_1","output_index":0,"summary_index":1,"delta":"Call ls."}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":7,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"**Plan**"},{"type":"summary_text","text":"Call ls."}],"encrypted_content":"gAAAAB"}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}

event: response.content_part.added
data: {"type":"response.content_part.added","sequence_number":9,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Let me ","logprobs":[]}

: keep-alive

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":11,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"look.","logprobs":[]}

event: response.output_text.done
data: {"type":"response.output_text.done","sequence_number":12,"item_id":"msg_1","output_index":1,"content_index":0,"text":"Let me look.","logprobs":[]}

event: response.content_part.done
data: {"type":"response.content_part.done","sequence_number":13,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","text":"Let me look.","annotations":[]}}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":14,"output_index":1,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Let me look.","annotations":[]}]}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":15,"output_index":2,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_xyz","name":"shell"}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":16,"item_id":"fc_1","output_index":2,"delta":"{\"command\":"}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":17,"item_id":"fc_1","output_index":2,"delta":"[\"ls\"]}"}

event: response.function_call_arguments.done
data: {"type":"response.function_call_arguments.done","sequence_number":18,"item_id":"fc_1","output_index":2,"arguments":"{\"command\":[\"ls\"]}"}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":19,"output_index":2,"item":{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"command\":[\"ls\"]}","call_id":"call_xyz","name":"shell"}}

event: response.completed
data: {"type":"response.completed","sequence_number":20,"response":{"id":"resp_abc","object":"response","status":"completed","model":"gpt-5-2025-08-07","output":[],"usage":{"input_tokens":900,"input_tokens_details":{"cached_tokens":512},"output_tokens":80,"output_tokens_details":{"reasoning_tokens":48},"total_tokens":980}}}

"#;

    fn decode_all(transcript: &[u8]) -> (StreamDecoder, Vec<Event>) {
        let mut decoder = StreamDecoder::new();
        let mut out = Vec::new();
        for event in sse::EventReader::new(Cursor::new(transcript.to_vec())) {
            decoder.decode(&event.unwrap(), &mut out).unwrap();
        }
        (decoder, out)
    }

    fn text(index: usize, t: &str) -> Event {
        Event::Delta {
            index,
            delta: Delta::Text(t.into()),
        }
    }

    #[test]
    fn recorded_transcript_decodes_to_ir_in_order() {
        let (mut decoder, mut events) = decode_all(TRANSCRIPT.as_bytes());
        let expected = vec![
            Event::Start {
                id: "resp_abc".into(),
                model: "gpt-5-2025-08-07".into(),
                usage: Usage::default(),
            },
            Event::BlockStart {
                index: 0,
                block: BlockStart::Reasoning,
            },
            Event::Delta {
                index: 0,
                delta: Delta::Reasoning("**Plan**".into()),
            },
            Event::Delta {
                index: 0,
                delta: Delta::Reasoning("\n\n".into()),
            },
            Event::Delta {
                index: 0,
                delta: Delta::Reasoning("Call ls.".into()),
            },
            Event::Delta {
                index: 0,
                delta: Delta::ReasoningSignature("gAAAAB".into()),
            },
            Event::BlockStop { index: 0 },
            Event::BlockStart {
                index: 1,
                block: BlockStart::Text,
            },
            text(1, "Let me "),
            text(1, "look."),
            Event::BlockStop { index: 1 },
            Event::BlockStart {
                index: 2,
                block: BlockStart::ToolCall {
                    id: "call_xyz".into(),
                    name: "shell".into(),
                },
            },
            Event::Delta {
                index: 2,
                delta: Delta::ToolArguments("{\"command\":".into()),
            },
            Event::Delta {
                index: 2,
                delta: Delta::ToolArguments("[\"ls\"]}".into()),
            },
            Event::BlockStop { index: 2 },
            Event::Finish {
                stop_reason: StopReason::ToolUse,
                usage: Usage {
                    input_tokens: 900,
                    output_tokens: 80,
                    cache_read_tokens: 512,
                    cache_creation_tokens: 0,
                    reasoning_tokens: 48,
                },
            },
            Event::Done,
        ];
        assert_eq!(events, expected);
        decoder.finish(&mut events);
        assert_eq!(
            events.len(),
            expected.len(),
            "a finished stream gets nothing extra"
        );
    }

    #[test]
    fn early_ended_stream_is_closed_by_finish() {
        let cut = TRANSCRIPT.find("event: response.output_text.done").unwrap();
        let (mut decoder, mut events) = decode_all(&TRANSCRIPT.as_bytes()[..cut]);
        decoder.finish(&mut events);
        let tail = &events[events.len() - 3..];
        assert_eq!(
            tail,
            [
                Event::BlockStop { index: 1 },
                Event::Finish {
                    stop_reason: StopReason::EndTurn,
                    usage: Usage::default()
                },
                Event::Done,
            ]
        );
        let (mut decoder, mut events) = decode_all(b"");
        decoder.finish(&mut events);
        assert!(matches!(events[0], Event::Start { .. }));
        assert_eq!(events.last(), Some(&Event::Done));
    }

    #[test]
    fn failed_and_error_events_become_ir_errors() {
        let failed = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"m\"}}\n\n\
            event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_1\",\"status\":\"failed\",\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"Rate limit reached\"}}}\n\n\
            event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{}}\n\n";
        let (mut decoder, mut events) = decode_all(failed.as_bytes());
        decoder.finish(&mut events);
        assert_eq!(
            events[1..],
            [Event::Error {
                kind: "rate_limited".into(),
                message: "Rate limit reached".into()
            }]
        );

        let error = "data: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"boom\",\"param\":null,\"sequence_number\":3}\n\n";
        let (_, events) = decode_all(error.as_bytes());
        assert_eq!(
            events,
            [Event::Error {
                kind: "upstream".into(),
                message: "boom".into()
            }]
        );
    }

    #[test]
    fn incomplete_response_finishes_with_max_tokens() {
        let body = "data: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"resp_2\",\"model\":\"m\",\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"usage\":{\"input_tokens\":5,\"output_tokens\":9}}}\n\n";
        let (_, events) = decode_all(body.as_bytes());
        assert_eq!(
            events[1],
            Event::Finish {
                stop_reason: StopReason::MaxTokens,
                usage: Usage {
                    input_tokens: 5,
                    output_tokens: 9,
                    ..Usage::default()
                },
            }
        );
    }

    /// Some Responses-compatible servers send whole items in `output_item.done` only.
    #[test]
    fn items_without_deltas_are_filled_from_output_item_done() {
        let body = r#"data: {"type":"response.created","response":{"id":"resp_3","model":"m"}}

data: {"type":"response.output_item.done","output_index":0,"item":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"whole"}]}}

data: {"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","call_id":"c9","name":"f","arguments":"{\"a\":1}"}}

data: {"type":"response.output_item.done","output_index":2,"item":{"type":"web_search_call","id":"ws"}}

data: {"type":"response.completed","response":{"status":"completed"}}

"#;
        let (_, events) = decode_all(body.as_bytes());
        assert_eq!(
            events[1..9],
            [
                Event::BlockStart {
                    index: 0,
                    block: BlockStart::Text
                },
                text(0, "whole"),
                Event::BlockStop { index: 0 },
                Event::BlockStart {
                    index: 1,
                    block: BlockStart::ToolCall {
                        id: "c9".into(),
                        name: "f".into()
                    },
                },
                Event::Delta {
                    index: 1,
                    delta: Delta::ToolArguments("{\"a\":1}".into())
                },
                Event::BlockStop { index: 1 },
                Event::Finish {
                    stop_reason: StopReason::ToolUse,
                    usage: Usage::default()
                },
                Event::Done,
            ]
        );
    }

    #[test]
    fn malformed_event_data_is_a_bad_gateway_error() {
        let mut decoder = StreamDecoder::new();
        let event = sse::Event {
            event: String::new(),
            data: "{not json".into(),
            raw: Vec::new(),
        };
        let err = decoder.decode(&event, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway);
    }

    /// What our encoder writes, our decoder reads back to the same `ir` events.
    #[test]
    fn encoder_output_decodes_back_to_the_same_events() {
        use crate::dialect::StreamEncode;
        let (_, original) = decode_all(TRANSCRIPT.as_bytes());
        let mut encoder = super::super::StreamEncoder::new(&ir::Request::default());
        let mut bytes = Vec::new();
        for event in &original {
            encoder.encode(event, &mut bytes);
        }
        let (_, again) = decode_all(&bytes);
        assert_eq!(again[1..], original[1..]);
        assert!(matches!(&again[0], Event::Start { id, model, .. }
            if id == "resp_abc" && model == "gpt-5-2025-08-07"));
    }
}
