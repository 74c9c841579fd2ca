//! Encoding `ir` events as the `chat.completion.chunk` SSE stream that the openai SDKs, chat UIs
//! and the `llm` CLI read.
//!
//! The stream is: a first chunk with `delta.role`, content / `reasoning_content` / tool-call
//! chunks, a chunk with the `finish_reason` and an empty delta, a usage chunk with `choices: []`
//! when the client asked for `stream_options.include_usage`, and `data: [DONE]`. An error is one
//! `data: {"error":{...}}` frame (what the openai SDK raises as `APIError`) and no `[DONE]`.
//! Reference: <https://platform.openai.com/docs/api-reference/chat-streaming/streaming>;
//! SDK side: openai-python `src/openai/_streaming.py`.

use std::fmt::Write;

use super::{chat_id, error_code, error_type, finish_reason_of, unix_now, usage_to};
use crate::dialect::push_json_str;
use crate::dialect::StreamEncode;
use crate::error::ErrorKind;
use crate::ir;
use crate::sse;

/// Turns `ir` events into chunk frames.
///
/// State, and why: every chunk repeats the id, `created` and model, so their JSON is rendered
/// once into `head` at `Start` and each delta only appends its own escaped text (this runs per
/// token). OpenAI numbers tool calls 0, 1, 2… within the response and clients index their
/// accumulators by it, so `tools` maps `ir` block indices to those positions. The usage of
/// `Start` is kept because some backends (Anthropic) report input tokens only there.
pub struct StreamEncoder {
    include_usage: bool,
    model: String,
    created: u64,
    /// `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[`
    head: String,
    /// The chunk being written; reused so a delta costs no allocation.
    buf: String,
    /// (`ir` block index, OpenAI tool-call index) of each tool call so far.
    tools: Vec<(usize, usize)>,
    start_usage: ir::Usage,
    /// The request's own input estimate, for a backend that reports no input count.
    estimated_input_tokens: u64,
    finished: bool,
    /// `[DONE]` or an error has been written: nothing more may follow.
    over: bool,
}

impl StreamEncoder {
    pub fn new(request: &ir::Request) -> StreamEncoder {
        StreamEncoder {
            include_usage: request.include_usage,
            model: request.model.clone(),
            created: unix_now(),
            head: String::new(),
            buf: String::with_capacity(256),
            tools: Vec::new(),
            start_usage: ir::Usage::default(),
            estimated_input_tokens: request.estimate_input_tokens(),
            finished: false,
            over: false,
        }
    }

    fn start(&mut self, id: &str, model: &str, out: &mut Vec<u8>) {
        let model = if model.is_empty() { &self.model } else { model };
        self.head.clear();
        self.head.push_str("{\"id\":");
        push_json_str(&mut self.head, &chat_id(id));
        let _ = write!(
            self.head,
            ",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":",
            self.created
        );
        push_json_str(&mut self.head, model);
        self.head.push_str(",\"choices\":[");
        self.chunk(out, "null", |buf| {
            buf.push_str("{\"role\":\"assistant\",\"content\":\"\"}")
        });
    }

    /// Writes one chunk with a single choice: `delta` writes the delta object.
    fn chunk(&mut self, out: &mut Vec<u8>, finish_reason: &str, delta: impl FnOnce(&mut String)) {
        if self.head.is_empty() {
            // An event before `Start` (not in `ir` order, but a client must still get chunks).
            self.start("", "", out);
        }
        self.buf.clear();
        self.buf.push_str(&self.head);
        self.buf.push_str("{\"index\":0,\"delta\":");
        delta(&mut self.buf);
        self.buf.push_str(",\"logprobs\":null,\"finish_reason\":");
        self.buf.push_str(finish_reason);
        self.buf.push_str("}]}");
        sse::write_frame(out, None, &self.buf);
    }

    fn text(&mut self, field: &str, text: &str, out: &mut Vec<u8>) {
        if text.is_empty() {
            return;
        }
        self.chunk(out, "null", |buf| {
            buf.push_str("{\"");
            buf.push_str(field);
            buf.push_str("\":");
            push_json_str(buf, text);
            buf.push('}');
        });
    }

    fn tool_start(&mut self, block: usize, id: &str, name: &str, out: &mut Vec<u8>) {
        let position = self.tools.len();
        self.tools.push((block, position));
        self.chunk(out, "null", |buf| {
            let _ = write!(buf, "{{\"tool_calls\":[{{\"index\":{position},\"id\":");
            push_json_str(buf, id);
            buf.push_str(",\"type\":\"function\",\"function\":{\"name\":");
            push_json_str(buf, name);
            buf.push_str(",\"arguments\":\"\"}}]}");
        });
    }

    fn tool_arguments(&mut self, block: usize, arguments: &str, out: &mut Vec<u8>) {
        let position = self.tools.iter().rev().find(|(b, _)| *b == block);
        let Some(&(_, position)) = position else {
            return; // Arguments of a call that never started: nowhere to put them.
        };
        if arguments.is_empty() {
            return;
        }
        self.chunk(out, "null", |buf| {
            let _ = write!(
                buf,
                "{{\"tool_calls\":[{{\"index\":{position},\"function\":{{\"arguments\":"
            );
            push_json_str(buf, arguments);
            buf.push_str("}}]}");
        });
    }

    fn finish(&mut self, stop_reason: &ir::StopReason, usage: &ir::Usage, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let reason = format!("\"{}\"", finish_reason_of(stop_reason));
        self.chunk(out, &reason, |buf| buf.push_str("{}"));
        if self.include_usage {
            let mut total = self.start_usage;
            total.merge(usage);
            if total.input_tokens == 0 {
                total.input_tokens = self.estimated_input_tokens;
            }
            self.buf.clear();
            self.buf.push_str(&self.head);
            self.buf.push_str("],\"usage\":");
            self.buf.push_str(&usage_to(&total).to_string());
            self.buf.push('}');
            sse::write_frame(out, None, &self.buf);
        }
    }

    fn error(&mut self, kind: &str, message: &str, out: &mut Vec<u8>) {
        let kind = ErrorKind::from_name(kind);
        let body = serde_json::json!({"error": {
            "message": message,
            "type": error_type(kind, 0),
            "param": null,
            "code": error_code(kind),
        }});
        sse::write_frame(out, None, &body.to_string());
    }
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, event: &ir::Event, out: &mut Vec<u8>) {
        if self.over {
            return;
        }
        match event {
            ir::Event::Start { id, model, usage } => {
                self.start_usage = *usage;
                self.start(id, model, out);
            }
            ir::Event::BlockStart {
                index,
                block: ir::BlockStart::ToolCall { id, name },
            } => self.tool_start(*index, id, name, out),
            ir::Event::BlockStart { .. } | ir::Event::BlockStop { .. } => {}
            ir::Event::Delta { index, delta } => match delta {
                ir::Delta::Text(text) => self.text("content", text, out),
                ir::Delta::Reasoning(text) => self.text("reasoning_content", text, out),
                ir::Delta::ToolArguments(arguments) => self.tool_arguments(*index, arguments, out),
                // Chat Completions has no place for Anthropic's thinking signature.
                ir::Delta::ReasoningSignature(_) => {}
            },
            ir::Event::Finish { stop_reason, usage } => self.finish(stop_reason, usage, out),
            ir::Event::Done => {
                self.finish(&ir::StopReason::EndTurn, &ir::Usage::default(), out);
                sse::write_frame(out, None, "[DONE]");
                self.over = true;
            }
            ir::Event::Error { kind, message } => {
                self.error(kind, message, out);
                self.over = true;
            }
        }
    }
}

#[cfg(test)]
mod tests;
