//! Decoding a backend's `chat.completion.chunk` stream into `ir` events.
//!
//! The servers of this dialect vary: reasoning arrives as `delta.reasoning_content` (llama.cpp,
//! vLLM, DeepSeek) or `delta.reasoning` (Ollama, OpenRouter); usage comes in the finish chunk
//! (llama.cpp) or in a chunk of its own with `choices: []` after it (OpenAI, vLLM); a tool call's
//! id and name come in its first delta only, or the whole call comes in one delta.
//! Reference: <https://platform.openai.com/docs/api-reference/chat-streaming/streaming>.

use serde_json::Value;

use super::{stop_reason_from, usage_from};
use crate::dialect::StreamDecode;
use crate::error::{ErrorKind, GatewayError};
use crate::ir;
use crate::sse;

/// One tool call of the stream: the backend's `index` and the `ir` block it became.
struct ToolSlot {
    key: u64,
    id: String,
    block: usize,
    open: bool,
}

/// Turns chunks into `ir` events.
///
/// State, and why: `ir` blocks need indices unique in the stream, while a chunk only says
/// "more content" or "more of tool call #n", so the decoder numbers blocks itself
/// (`next_block`) and remembers which block is open for text, for reasoning and for each tool
/// call. The finish reason and the usage arrive in different chunks, in either order, so both
/// are kept until `Finish` can be emitted whole.
pub struct StreamDecoder {
    started: bool,
    next_block: usize,
    text_block: Option<usize>,
    reasoning_block: Option<usize>,
    tools: Vec<ToolSlot>,
    /// The `finish_reason`, once seen (with vLLM's matched stop string).
    finish_reason: Option<(String, Option<String>)>,
    usage: ir::Usage,
    finished: bool,
    /// `Done` or `Error` has been emitted: nothing more may follow.
    over: bool,
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
            next_block: 0,
            text_block: None,
            reasoning_block: None,
            tools: Vec::new(),
            finish_reason: None,
            usage: ir::Usage::default(),
            finished: false,
            over: false,
        }
    }

    fn start(&mut self, chunk: &Value, out: &mut Vec<ir::Event>) {
        if self.started {
            return;
        }
        self.started = true;
        let field = |key: &str| chunk.get(key).and_then(Value::as_str).unwrap_or_default();
        out.push(ir::Event::Start {
            id: field("id").to_owned(),
            model: field("model").to_owned(),
            usage: ir::Usage::default(),
        });
    }

    fn decode_chunk(&mut self, chunk: &Value, out: &mut Vec<ir::Event>) {
        self.start(chunk, out);
        if self.finished {
            return; // Anything after the final usage (a repeated usage chunk) adds nothing.
        }
        // Only the first choice is followed: the gateway asks for one.
        let choice = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|choices| {
                choices
                    .iter()
                    .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            });
        if let Some(choice) = choice {
            if let Some(delta) = choice.get("delta") {
                self.decode_delta(delta, out);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                let matched = choice.get("stop_reason").and_then(Value::as_str);
                self.finish_reason = Some((reason.to_owned(), matched.map(str::to_owned)));
                self.close_blocks(out);
            }
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage.merge(&usage_from(usage));
            // Usage in or after the finish chunk is the final count (vLLM may also send running
            // counts in every chunk, before the finish reason).
            if self.finish_reason.is_some() {
                self.emit_finish(out);
            }
        }
    }

    fn decode_delta(&mut self, delta: &Value, out: &mut Vec<ir::Event>) {
        let reasoning = delta
            .get("reasoning_content")
            .and_then(Value::as_str)
            .or_else(|| delta.get("reasoning").and_then(Value::as_str));
        if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
            let index = self.open_reasoning(out);
            out.push(ir::Event::Delta {
                index,
                delta: ir::Delta::Reasoning(text.to_owned()),
            });
        }
        for key in ["content", "refusal"] {
            if let Some(text) = delta
                .get(key)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                let index = self.open_text(out);
                out.push(ir::Event::Delta {
                    index,
                    delta: ir::Delta::Text(text.to_owned()),
                });
            }
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for (position, call) in calls.iter().enumerate() {
                self.decode_tool_delta(call, position, out);
            }
        }
        if let Some(call) = delta.get("function_call").filter(|c| c.is_object()) {
            // The legacy single function call: one call, which the first delta names.
            let call = serde_json::json!({"index": 0, "function": call});
            self.decode_tool_delta(&call, 0, out);
        }
    }

    fn decode_tool_delta(&mut self, call: &Value, position: usize, out: &mut Vec<ir::Event>) {
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let function = call.get("function");
        let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
        let arguments = match function.and_then(|f| f.get("arguments")) {
            Some(Value::String(text)) => text.clone(),
            // Some servers send the whole call with the arguments as an object.
            Some(other @ Value::Object(_)) => other.to_string(),
            _ => String::new(),
        };
        // Servers that omit `index` send one call per delta array, told apart by new ids.
        let key = match call.get("index").and_then(Value::as_u64) {
            Some(key) => key,
            None if id.is_some() || self.tools.is_empty() => self.tools.len() as u64,
            None => self.tools.last().map_or(position as u64, |slot| slot.key),
        };
        let existing = self.tools.iter().rposition(|slot| {
            // A known index with a different id is a new call (a server reusing index 0).
            slot.key == key && slot.open && !matches!(id, Some(id) if id != slot.id)
        });
        let block = match existing {
            Some(slot) => self.tools[slot].block,
            None => self.open_tool(key, id, name.unwrap_or_default(), out),
        };
        if !arguments.is_empty() {
            out.push(ir::Event::Delta {
                index: block,
                delta: ir::Delta::ToolArguments(arguments),
            });
        }
    }

    fn open_tool(
        &mut self,
        key: u64,
        id: Option<&str>,
        name: &str,
        out: &mut Vec<ir::Event>,
    ) -> usize {
        self.close_text_and_reasoning(out);
        let block = self.take_block();
        let id = id.map_or_else(|| format!("call_{block}"), str::to_owned);
        self.tools.push(ToolSlot {
            key,
            id: id.clone(),
            block,
            open: true,
        });
        out.push(ir::Event::BlockStart {
            index: block,
            block: ir::BlockStart::ToolCall {
                id,
                name: name.to_owned(),
            },
        });
        block
    }

    fn open_text(&mut self, out: &mut Vec<ir::Event>) -> usize {
        if let Some(index) = self.text_block {
            return index;
        }
        self.close_blocks(out);
        let index = self.take_block();
        self.text_block = Some(index);
        out.push(ir::Event::BlockStart {
            index,
            block: ir::BlockStart::Text,
        });
        index
    }

    fn open_reasoning(&mut self, out: &mut Vec<ir::Event>) -> usize {
        if let Some(index) = self.reasoning_block {
            return index;
        }
        self.close_blocks(out);
        let index = self.take_block();
        self.reasoning_block = Some(index);
        out.push(ir::Event::BlockStart {
            index,
            block: ir::BlockStart::Reasoning,
        });
        index
    }

    fn take_block(&mut self) -> usize {
        let index = self.next_block;
        self.next_block += 1;
        index
    }

    fn close_text_and_reasoning(&mut self, out: &mut Vec<ir::Event>) {
        for index in [self.reasoning_block.take(), self.text_block.take()]
            .into_iter()
            .flatten()
        {
            out.push(ir::Event::BlockStop { index });
        }
    }

    /// Closes every open block, so the next content starts a new one (blocks other than tool
    /// calls must not interleave).
    fn close_blocks(&mut self, out: &mut Vec<ir::Event>) {
        self.close_text_and_reasoning(out);
        for slot in self.tools.iter_mut().filter(|slot| slot.open) {
            slot.open = false;
            out.push(ir::Event::BlockStop { index: slot.block });
        }
    }

    fn emit_finish(&mut self, out: &mut Vec<ir::Event>) {
        if self.finished {
            return;
        }
        self.finished = true;
        // A stream cut before its finish reason ends the turn: calling a tool whose arguments
        // may be cut short would do more harm than stopping.
        let stop_reason = match &self.finish_reason {
            Some((reason, matched)) => {
                stop_reason_from(Some(reason), !self.tools.is_empty(), matched.as_deref())
            }
            None => ir::StopReason::EndTurn,
        };
        out.push(ir::Event::Finish {
            stop_reason,
            usage: self.usage,
        });
    }

    /// Ends the stream well-formed: whatever the backend left out, in `ir` order.
    fn end(&mut self, out: &mut Vec<ir::Event>) {
        if self.over {
            return;
        }
        if !self.started {
            self.start(&Value::Null, out);
        }
        self.close_blocks(out);
        self.emit_finish(out);
        out.push(ir::Event::Done);
        self.over = true;
    }

    fn fail(&mut self, kind: &str, message: String, out: &mut Vec<ir::Event>) {
        self.over = true;
        out.push(ir::Event::Error {
            kind: kind.to_owned(),
            message,
        });
    }
}

/// The error a chunk carries, if it is one: `{"error":{...}}` (OpenAI, llama.cpp, vLLM),
/// `{"error":"text"}` (Ollama) or `{"object":"error","message"}` (older vLLM).
fn stream_error(chunk: &Value) -> Option<(&'static str, String)> {
    let error = match chunk.get("error") {
        Some(error) if !error.is_null() => error,
        _ if chunk.get("object").and_then(Value::as_str) == Some("error") => chunk,
        _ => return None,
    };
    Some(stream_error_fields(error))
}

/// The kind and message of an error object (or of a bare error string).
fn stream_error_fields(error: &Value) -> (&'static str, String) {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .unwrap_or("the backend reported an error mid-stream")
        .to_owned();
    (error_kind(error).as_str(), message)
}

/// The kind of an in-stream error, from its numeric `code` (an HTTP status, as llama.cpp and
/// vLLM send) or its `type`.
fn error_kind(error: &Value) -> ErrorKind {
    if let Some(status) = error.get("code").and_then(Value::as_u64) {
        return ErrorKind::from_status(u16::try_from(status).unwrap_or(500));
    }
    let kind = error
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "invalid_request_error" | "BadRequestError" => ErrorKind::InvalidRequest,
        "authentication_error" => ErrorKind::Authentication,
        "rate_limit_error" | "rate_limit_exceeded" | "tokens" | "requests" => {
            ErrorKind::RateLimited
        }
        "overloaded_error" | "unavailable_error" => ErrorKind::Overloaded,
        _ => ErrorKind::Upstream,
    }
}

impl StreamDecode for StreamDecoder {
    fn decode(&mut self, event: &sse::Event, out: &mut Vec<ir::Event>) -> Result<(), GatewayError> {
        if self.over || event.is_empty() {
            return Ok(());
        }
        let data = event.data.trim();
        if data == "[DONE]" {
            self.end(out);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Value = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(_) if event.event == "error" => {
                self.fail(
                    ErrorKind::Upstream.as_str(),
                    data.chars().take(200).collect(),
                    out,
                );
                return Ok(());
            }
            Err(e) => {
                return Err(GatewayError::new(
                    ErrorKind::BadGateway,
                    format!("the backend sent a chunk that is not JSON: {e}"),
                ))
            }
        };
        let error = match stream_error(&chunk) {
            None if event.event == "error" => Some(stream_error_fields(&chunk)),
            error => error,
        };
        if let Some((kind, message)) = error {
            self.fail(kind, message, out);
            return Ok(());
        }
        self.decode_chunk(&chunk, out);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<ir::Event>) {
        self.end(out);
    }
}

#[cfg(test)]
mod tests;
