//! What a client of each dialect receives, checked against its API reference and folded into a
//! neutral [`Got`] for comparison. Each fold records every way the answer breaks its dialect's
//! spec (a missing field, an event out of order, a wrong index) instead of stopping at the first,
//! so one failing test shows the whole picture.
//!
//! References:
//! - Anthropic Messages: <https://docs.anthropic.com/en/api/messages> (body) and
//!   <https://docs.anthropic.com/en/docs/build-with-claude/streaming> (events); the SDK side is
//!   anthropic-sdk-python `src/anthropic/lib/streaming/_messages.py` (`accumulate_event`).
//! - Chat Completions: <https://platform.openai.com/docs/api-reference/chat/object> and
//!   <https://platform.openai.com/docs/api-reference/chat-streaming/streaming>.
//! - Responses: <https://platform.openai.com/docs/api-reference/responses/object> and
//!   <https://platform.openai.com/docs/api-reference/responses-streaming>; the SDK side is
//!   openai-python `src/openai/lib/streaming/responses/_responses.py`.

#![allow(dead_code)]

use serde_json::Value;

use crate::common::client::Event;
use crate::common::Dialect;
use crate::turns::Got;

/// Spec violations found while folding, each with where it was seen.
#[derive(Default, Debug)]
pub struct Faults(pub Vec<String>);

impl Faults {
    pub fn add(&mut self, what: impl Into<String>) {
        self.0.push(what.into());
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    /// A string field, or a fault.
    fn str(&mut self, v: &Value, pointer: &str, at: &str) -> String {
        match v.pointer(pointer).and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => {
                self.add(format!(
                    "{at}: {pointer} must be a string, got {:?}",
                    v.pointer(pointer)
                ));
                String::new()
            }
        }
    }

    /// An unsigned integer field, or a fault.
    fn u64(&mut self, v: &Value, pointer: &str, at: &str) -> u64 {
        match v.pointer(pointer).and_then(Value::as_u64) {
            Some(n) => n,
            None => {
                self.add(format!(
                    "{at}: {pointer} must be an integer, got {:?}",
                    v.pointer(pointer)
                ));
                0
            }
        }
    }

    /// An integer field that may be absent or null (0 then).
    fn opt_u64(&mut self, v: &Value, pointer: &str, at: &str) -> u64 {
        match v.pointer(pointer) {
            None | Some(Value::Null) => 0,
            Some(n) => n.as_u64().unwrap_or_else(|| {
                self.add(format!("{at}: {pointer} must be an integer, got {n}"));
                0
            }),
        }
    }

    fn eq(&mut self, v: &Value, pointer: &str, want: &Value, at: &str) {
        let got = v.pointer(pointer);
        if got != Some(want) {
            self.add(format!("{at}: {pointer} must be {want}, got {got:?}"));
        }
    }
}

/// Arguments text as JSON, or a fault (clients parse them).
fn args_json(faults: &mut Faults, text: &str, at: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| {
        faults.add(format!(
            "{at}: tool arguments {text:?} are not valid JSON: {e}"
        ));
        Value::String(text.to_string())
    })
}

/// Folds a complete (non-streamed) answer of dialect `d`.
pub fn fold_json(d: Dialect, body: &Value) -> (Got, Faults) {
    match d {
        Dialect::Anthropic => anthropic_json(body),
        Dialect::OpenAi => openai_json(body),
        Dialect::Responses => responses_json(body),
    }
}

/// Folds a streamed answer of dialect `d` (every SSE block the client read, comments included).
pub fn fold_stream(d: Dialect, events: &[Event]) -> (Got, Faults) {
    let events: Vec<&Event> = events.iter().filter(|e| !e.is_comment_only()).collect();
    let mut faults = Faults::default();
    for (i, e) in events.iter().enumerate() {
        faults.check(e.complete, || {
            format!(
                "event {i} was cut off before its blank line: {}",
                e.raw_text()
            )
        });
    }
    let got = match d {
        Dialect::Anthropic => anthropic_stream(&events, &mut faults),
        Dialect::OpenAi => openai_stream(&events, &mut faults),
        Dialect::Responses => responses_stream(&events, &mut faults),
    };
    (got, faults)
}

// ---------------------------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------------------------

const ANTHROPIC_STOPS: [&str; 6] = [
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
];

/// Anthropic usage into (input incl. cache, output, cache read) and (cache write, thinking).
fn anthropic_usage(f: &mut Faults, usage: &Value, at: &str) -> ((u64, u64, u64), (u64, u64)) {
    let input = f.u64(usage, "/input_tokens", at);
    let output = f.u64(usage, "/output_tokens", at);
    let read = f.opt_u64(usage, "/cache_read_input_tokens", at);
    let write = f.opt_u64(usage, "/cache_creation_input_tokens", at);
    let thinking = f.opt_u64(usage, "/output_tokens_details/thinking_tokens", at);
    ((input + read + write, output, read), (write, thinking))
}

fn anthropic_json(body: &Value) -> (Got, Faults) {
    let mut f = Faults::default();
    let at = "message";
    let mut got = Got {
        id: f.str(body, "/id", at),
        model: f.str(body, "/model", at),
        ..Got::default()
    };
    f.check(got.id.starts_with("msg_"), || {
        format!("message id {:?} must start with msg_", got.id)
    });
    f.eq(body, "/type", &"message".into(), at);
    f.eq(body, "/role", &"assistant".into(), at);
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| {
            f.add("message: content must be an array");
            Vec::new()
        });
    let mut seen_other = false;
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("content[{i}]");
        match b.get("type").and_then(Value::as_str) {
            Some("thinking") => {
                f.check(!seen_other, || {
                    format!("{at}: thinking must come before text and tool_use blocks")
                });
                let text = f.str(b, "/thinking", &at);
                // The SDKs type `signature` as a required string.
                let sig = f.str(b, "/signature", &at);
                got.reasoning
                    .get_or_insert_with(String::new)
                    .push_str(&text);
                if !sig.is_empty() {
                    got.signature = Some(sig);
                }
            }
            Some("text") => {
                seen_other = true;
                let text = f.str(b, "/text", &at);
                got.text.push_str(&text);
            }
            Some("tool_use") => {
                seen_other = true;
                let id = f.str(b, "/id", &at);
                let name = f.str(b, "/name", &at);
                let input = b.get("input").cloned().unwrap_or(Value::Null);
                f.check(input.is_object(), || {
                    format!("{at}: input must be an object, got {input}")
                });
                got.calls.push((id, name, input));
            }
            other => f.add(format!("{at}: unexpected block type {other:?}")),
        }
    }
    let stop = f.str(body, "/stop_reason", at);
    f.check(ANTHROPIC_STOPS.contains(&stop.as_str()), || {
        format!("stop_reason {stop:?} is not one of the API's")
    });
    let seq = match body.get("stop_sequence") {
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        other => {
            f.add(format!(
                "stop_sequence must be present, a string or null, got {other:?}"
            ));
            None
        }
    };
    if !got.calls.is_empty() {
        // Claude Code runs tools only when the turn ends for tool use (CLIENTS.md).
        f.check(stop == "tool_use", || {
            format!("a message with tool_use blocks must stop with tool_use, got {stop:?}")
        });
    }
    got.stop = (stop, seq);
    let usage = body.get("usage").cloned().unwrap_or(Value::Null);
    (got.usage, got.usage_details) = anthropic_usage(&mut f, &usage, "usage");
    (got, f)
}

/// Anthropic's event stream: names on `event:` lines matching the data's `type`, the order
/// message_start, blocks (start, deltas, stop; never overlapping; indices 0, 1, 2…),
/// message_delta, message_stop, and nothing after. The usage is accumulated as the SDK does: the
/// start's counts, overwritten by any count `message_delta` carries.
fn anthropic_stream(events: &[&Event], f: &mut Faults) -> Got {
    let mut got = Got::default();
    let mut state = "start";
    let mut open: Option<(u64, String)> = None;
    let mut next_index = 0u64;
    let mut tool_json = String::new();
    let mut usage = Value::Null;
    let mut stopped = false;
    for (i, e) in events.iter().enumerate() {
        let at = format!("event {i} ({:?})", e.event);
        let Some(data) = e.json() else {
            f.add(format!("{at}: data is not JSON: {:?}", e.data));
            continue;
        };
        let ty = data.get("type").and_then(Value::as_str).unwrap_or("");
        f.check(e.event.as_deref() == Some(ty), || {
            format!("{at}: the event line must name the data's type {ty:?}")
        });
        if stopped {
            f.add(format!("{at}: nothing may follow message_stop"));
        }
        match (state, ty) {
            (_, "ping") => {}
            ("start", "message_start") => {
                state = "blocks";
                let m = data.get("message").cloned().unwrap_or(Value::Null);
                got.id = f.str(&m, "/id", &at);
                got.model = f.str(&m, "/model", &at);
                f.check(got.id.starts_with("msg_"), || {
                    format!("{at}: message id {:?} must start with msg_", got.id)
                });
                f.eq(&m, "/type", &"message".into(), &at);
                f.eq(&m, "/role", &"assistant".into(), &at);
                f.eq(&m, "/content", &serde_json::json!([]), &at);
                f.eq(&m, "/stop_reason", &Value::Null, &at);
                usage = m.get("usage").cloned().unwrap_or(Value::Null);
                let input = f.u64(&usage, "/input_tokens", &at);
                // Claude Code's auto-compaction breaks on zero (CLIENTS.md).
                f.check(input > 0, || {
                    format!("{at}: message_start must carry real input_tokens, got 0")
                });
            }
            ("blocks", "content_block_start") => {
                let index = f.u64(&data, "/index", &at);
                if let Some((o, _)) = &open {
                    f.add(format!(
                        "{at}: block {index} starts while block {o} is still open"
                    ));
                }
                f.check(index == next_index, || {
                    format!("{at}: block index must be {next_index}, got {index}")
                });
                next_index = index + 1;
                let block = data.get("content_block").cloned().unwrap_or(Value::Null);
                let kind = f.str(&block, "/type", &at);
                match kind.as_str() {
                    "text" => f.eq(&block, "/text", &"".into(), &at),
                    "thinking" => {
                        f.eq(&block, "/thinking", &"".into(), &at);
                        got.reasoning.get_or_insert_with(String::new);
                    }
                    "tool_use" => {
                        let id = f.str(&block, "/id", &at);
                        let name = f.str(&block, "/name", &at);
                        f.eq(&block, "/input", &serde_json::json!({}), &at);
                        got.calls.push((id, name, Value::Null));
                        tool_json.clear();
                    }
                    other => f.add(format!("{at}: unexpected block type {other:?}")),
                }
                open = Some((index, kind));
            }
            ("blocks", "content_block_delta") => {
                let index = f.u64(&data, "/index", &at);
                let delta = data.get("delta").cloned().unwrap_or(Value::Null);
                let dt = delta.get("type").and_then(Value::as_str).unwrap_or("");
                let Some((o, kind)) = &open else {
                    f.add(format!("{at}: a delta outside any block"));
                    continue;
                };
                f.check(index == *o, || {
                    format!("{at}: delta for block {index} while block {o} is open")
                });
                match (kind.as_str(), dt) {
                    ("text", "text_delta") => got.text.push_str(&f.str(&delta, "/text", &at)),
                    ("thinking", "thinking_delta") => got
                        .reasoning
                        .get_or_insert_with(String::new)
                        .push_str(&f.str(&delta, "/thinking", &at)),
                    ("thinking", "signature_delta") => {
                        let s = f.str(&delta, "/signature", &at);
                        if !s.is_empty() {
                            got.signature = Some(s);
                        }
                    }
                    ("tool_use", "input_json_delta") => {
                        tool_json.push_str(&f.str(&delta, "/partial_json", &at))
                    }
                    (k, t) => f.add(format!("{at}: a {t:?} delta in a {k:?} block")),
                }
            }
            ("blocks", "content_block_stop") => {
                let index = f.u64(&data, "/index", &at);
                match open.take() {
                    Some((o, kind)) => {
                        f.check(index == o, || {
                            format!("{at}: stop for block {index} while block {o} is open")
                        });
                        if kind == "tool_use" {
                            let json = if tool_json.is_empty() {
                                "{}"
                            } else {
                                tool_json.as_str()
                            };
                            let input = args_json(f, json, &at);
                            if let Some(call) = got.calls.last_mut() {
                                call.2 = input;
                            }
                        }
                    }
                    None => f.add(format!("{at}: stop of block {index}, which is not open")),
                }
            }
            ("blocks", "message_delta") => {
                if let Some((o, _)) = &open {
                    f.add(format!("{at}: message_delta while block {o} is open"));
                }
                state = "delta";
                let stop = f.str(&data, "/delta/stop_reason", &at);
                f.check(ANTHROPIC_STOPS.contains(&stop.as_str()), || {
                    format!("{at}: stop_reason {stop:?} is not one of the API's")
                });
                let seq = data
                    .pointer("/delta/stop_sequence")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                got.stop = (stop, seq);
                let delta_usage = data.get("usage").cloned().unwrap_or(Value::Null);
                f.u64(&delta_usage, "/output_tokens", &at);
                if let (Some(u), Some(d)) = (usage.as_object_mut(), delta_usage.as_object()) {
                    for (k, v) in d {
                        if !v.is_null() {
                            u.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            ("delta", "message_stop") => {
                state = "end";
                stopped = true;
            }
            (_, "error") => {
                f.add(format!("{at}: the stream ended in an error: {}", e.data));
                stopped = true;
            }
            (s, t) => f.add(format!("{at}: {t:?} is not allowed here (state {s})")),
        }
    }
    f.check(state == "end", || {
        format!("the stream must end with message_stop (ended in state {state})")
    });
    if !got.calls.is_empty() {
        f.check(got.stop.0 == "tool_use", || {
            format!(
                "a stream with tool_use blocks must stop with tool_use, got {:?}",
                got.stop.0
            )
        });
    }
    (got.usage, got.usage_details) = anthropic_usage(f, &usage, "accumulated usage");
    got
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions
// ---------------------------------------------------------------------------------------------

const FINISH_REASONS: [&str; 5] = [
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function_call",
];

fn openai_usage(f: &mut Faults, usage: &Value, at: &str) -> ((u64, u64, u64), (u64, u64)) {
    let input = f.u64(usage, "/prompt_tokens", at);
    let output = f.u64(usage, "/completion_tokens", at);
    let total = f.u64(usage, "/total_tokens", at);
    f.check(total == input + output, || {
        format!("{at}: total_tokens {total} must be prompt + completion ({input} + {output})")
    });
    let read = f.opt_u64(usage, "/prompt_tokens_details/cached_tokens", at);
    let write = f.opt_u64(usage, "/prompt_tokens_details/cache_write_tokens", at);
    let reasoning = f.opt_u64(usage, "/completion_tokens_details/reasoning_tokens", at);
    ((input, output, read), (write, reasoning))
}

fn openai_json(body: &Value) -> (Got, Faults) {
    let mut f = Faults::default();
    let at = "chat.completion";
    let mut got = Got {
        id: f.str(body, "/id", at),
        model: f.str(body, "/model", at),
        ..Got::default()
    };
    f.check(got.id.starts_with("chatcmpl-"), || {
        format!("id {:?} must start with chatcmpl-", got.id)
    });
    f.eq(body, "/object", &"chat.completion".into(), at);
    f.u64(body, "/created", at);
    let choices = body.get("choices").and_then(Value::as_array);
    f.check(choices.is_some_and(|c| c.len() == 1), || {
        format!(
            "choices must hold exactly one choice: {:?}",
            body.get("choices")
        )
    });
    let choice = body.pointer("/choices/0").cloned().unwrap_or(Value::Null);
    f.eq(&choice, "/index", &0.into(), "choices[0]");
    f.eq(&choice, "/message/role", &"assistant".into(), "choices[0]");
    match choice.pointer("/message/content") {
        Some(Value::String(s)) => got.text = s.clone(),
        Some(Value::Null) => {}
        other => f.add(format!(
            "choices[0].message.content must be a string or null, got {other:?}"
        )),
    }
    if let Some(r) = choice
        .pointer("/message/reasoning_content")
        .and_then(Value::as_str)
    {
        got.reasoning = Some(r.to_string());
    }
    if let Some(calls) = choice.pointer("/message/tool_calls") {
        for (i, c) in calls
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let at = format!("tool_calls[{i}]");
            f.eq(c, "/type", &"function".into(), &at);
            let args = f.str(c, "/function/arguments", &at);
            got.calls.push((
                f.str(c, "/id", &at),
                f.str(c, "/function/name", &at),
                args_json(&mut f, &args, &at),
            ));
        }
    }
    let finish = f.str(&choice, "/finish_reason", "choices[0]");
    f.check(FINISH_REASONS.contains(&finish.as_str()), || {
        format!("finish_reason {finish:?} is not one of the API's")
    });
    if !got.calls.is_empty() {
        f.check(finish == "tool_calls", || {
            format!("a message with tool_calls must finish with tool_calls, got {finish:?}")
        });
    }
    got.stop = (finish, None);
    let usage = body.get("usage").cloned().unwrap_or(Value::Null);
    (got.usage, got.usage_details) = openai_usage(&mut f, &usage, "usage");
    (got, f)
}

/// The chunk stream: data-only frames (no `event:` lines), one id, object, `created` and model in
/// every chunk, the role in the first delta, tool calls numbered from 0 with id, type and name in
/// their first delta, exactly one finish reason, then the usage chunk (`choices: []`) when the
/// request asked for it, then `data: [DONE]` and nothing after.
fn openai_stream(events: &[&Event], f: &mut Faults) -> Got {
    let mut got = Got::default();
    let mut created = None;
    let mut calls: Vec<(String, String, String)> = Vec::new();
    let mut finish: Option<String> = None;
    let mut usage: Option<Value> = None;
    let mut done = false;
    for (i, e) in events.iter().enumerate() {
        let at = format!("chunk {i}");
        f.check(e.event.is_none(), || {
            format!("{at}: chat streams have no event lines, got {:?}", e.event)
        });
        if done {
            f.add(format!("{at}: nothing may follow [DONE]: {}", e.data));
            continue;
        }
        if e.data == "[DONE]" {
            done = true;
            continue;
        }
        let Some(chunk) = e.json() else {
            f.add(format!("{at}: data is not JSON: {:?}", e.data));
            continue;
        };
        if chunk.get("error").is_some_and(|e| !e.is_null()) {
            f.add(format!("{at}: the stream ended in an error: {}", e.data));
            continue;
        }
        if usage.is_some() {
            f.add(format!(
                "{at}: nothing but [DONE] may follow the usage chunk"
            ));
        }
        let id = f.str(&chunk, "/id", &at);
        let model = f.str(&chunk, "/model", &at);
        f.eq(&chunk, "/object", &"chat.completion.chunk".into(), &at);
        let c = f.u64(&chunk, "/created", &at);
        if i == 0 {
            got.id = id;
            got.model = model;
            created = Some(c);
            f.check(got.id.starts_with("chatcmpl-"), || {
                format!("{at}: id {:?} must start with chatcmpl-", got.id)
            });
            f.eq(&chunk, "/choices/0/delta/role", &"assistant".into(), &at);
        } else {
            f.check(
                id == got.id && model == got.model && Some(c) == created,
                || format!("{at}: id, model and created must repeat the first chunk's"),
            );
        }
        let choices = chunk
            .get("choices")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        match chunk.get("usage") {
            Some(u) if !u.is_null() => {
                f.check(choices.is_empty(), || {
                    format!("{at}: the usage chunk must have choices: []")
                });
                f.check(finish.is_some(), || {
                    format!("{at}: the usage chunk must come after the finish reason")
                });
                usage = Some(u.clone());
                continue;
            }
            // Absent and null are the same to every client (all type it Optional); the spec
            // shows null on each chunk before the usage chunk.
            _ => {}
        }
        f.check(choices.len() == 1, || {
            format!("{at}: a content chunk holds exactly one choice: {}", e.data)
        });
        let Some(choice) = choices.first() else {
            continue;
        };
        f.eq(choice, "/index", &0.into(), &at);
        if finish.is_some() {
            f.add(format!("{at}: a chunk after the finish reason: {}", e.data));
        }
        let delta = choice.get("delta").cloned().unwrap_or(Value::Null);
        f.check(delta.is_object(), || {
            format!("{at}: delta must be an object")
        });
        if let Some(t) = delta.get("content").and_then(Value::as_str) {
            got.text.push_str(t);
        }
        if let Some(r) = delta.get("reasoning_content").and_then(Value::as_str) {
            got.reasoning.get_or_insert_with(String::new).push_str(r);
        }
        if let Some(tcs) = delta.get("tool_calls").and_then(Value::as_array) {
            for tc in tcs {
                let index = f.u64(tc, "/index", &at) as usize;
                if index == calls.len() {
                    f.eq(tc, "/type", &"function".into(), &at);
                    let id = f.str(tc, "/id", &at);
                    let name = f.str(tc, "/function/name", &at);
                    calls.push((id, name, String::new()));
                } else if index > calls.len() {
                    f.add(format!(
                        "{at}: tool call index {index} skips {}",
                        calls.len()
                    ));
                    continue;
                } else if tc.get("id").is_some_and(|v| !v.is_null()) {
                    f.add(format!(
                        "{at}: a later delta of tool call {index} repeats its id"
                    ));
                }
                if let Some(a) = tc.pointer("/function/arguments").and_then(Value::as_str) {
                    calls[index].2.push_str(a);
                }
            }
        }
        if let Some(r) = choice.get("finish_reason").filter(|r| !r.is_null()) {
            let r = r.as_str().unwrap_or_default().to_string();
            f.check(FINISH_REASONS.contains(&r.as_str()), || {
                format!("{at}: finish_reason {r:?} is not one of the API's")
            });
            finish = Some(r);
        }
    }
    f.check(done, || "the stream must end with data: [DONE]".to_string());
    let finish = finish.unwrap_or_else(|| {
        f.add("no chunk carried a finish_reason");
        String::new()
    });
    if !calls.is_empty() {
        f.check(finish == "tool_calls", || {
            format!("a stream with tool calls must finish with tool_calls, got {finish:?}")
        });
    }
    got.stop = (finish, None);
    for (n, (id, name, args)) in calls.into_iter().enumerate() {
        let json = args_json(f, &args, &format!("tool call {n}"));
        got.calls.push((id, name, json));
    }
    match usage {
        Some(u) => (got.usage, got.usage_details) = openai_usage(f, &u, "usage chunk"),
        None => f.add("no usage chunk, though the request asked for include_usage"),
    }
    got
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn responses_usage(f: &mut Faults, usage: &Value, at: &str) -> ((u64, u64, u64), (u64, u64)) {
    let input = f.u64(usage, "/input_tokens", at);
    let output = f.u64(usage, "/output_tokens", at);
    let total = f.u64(usage, "/total_tokens", at);
    f.check(total == input + output, || {
        format!("{at}: total_tokens {total} must be input + output ({input} + {output})")
    });
    // Both details objects are required by openai-python's ResponseUsage.
    let read = f.u64(usage, "/input_tokens_details/cached_tokens", at);
    let write = f.u64(usage, "/input_tokens_details/cache_write_tokens", at);
    let reasoning = f.u64(usage, "/output_tokens_details/reasoning_tokens", at);
    ((input, output, read), (write, reasoning))
}

/// One output item into `got`, checking its shape; `prefix_ok` tells whether ids may be checked.
fn responses_item(f: &mut Faults, item: &Value, at: &str, got: &mut Got) {
    let id = f.str(item, "/id", at);
    f.check(!id.is_empty(), || format!("{at}: an item needs an id"));
    match item.get("type").and_then(Value::as_str) {
        Some("message") => {
            f.eq(item, "/role", &"assistant".into(), at);
            f.eq(item, "/status", &"completed".into(), at);
            for (j, part) in item
                .get("content")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let at = format!("{at}.content[{j}]");
                f.eq(part, "/type", &"output_text".into(), &at);
                f.check(part.get("annotations").is_some_and(Value::is_array), || {
                    format!("{at}: annotations must be an array")
                });
                got.text.push_str(&f.str(part, "/text", &at));
            }
        }
        Some("function_call") => {
            f.eq(item, "/status", &"completed".into(), at);
            let args = f.str(item, "/arguments", at);
            let call = (
                f.str(item, "/call_id", at),
                f.str(item, "/name", at),
                args_json(f, &args, at),
            );
            got.calls.push(call);
        }
        Some("reasoning") => {
            let parts = item
                .get("summary")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_else(|| {
                    f.add(format!("{at}: a reasoning item needs a summary array"));
                    Vec::new()
                });
            let mut text = String::new();
            for (j, p) in parts.iter().enumerate() {
                let at = format!("{at}.summary[{j}]");
                f.eq(p, "/type", &"summary_text".into(), &at);
                text.push_str(&f.str(p, "/text", &at));
            }
            got.reasoning
                .get_or_insert_with(String::new)
                .push_str(&text);
            if let Some(s) = item.get("encrypted_content").and_then(Value::as_str) {
                if !s.is_empty() {
                    got.signature = Some(s.to_string());
                }
            }
        }
        other => f.add(format!("{at}: unexpected item type {other:?}")),
    }
}

/// The response object's status, details and usage into `got`.
fn responses_terminal(f: &mut Faults, r: &Value, at: &str, got: &mut Got) {
    let status = f.str(r, "/status", at);
    let reason = r
        .pointer("/incomplete_details/reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    match status.as_str() {
        "completed" => f.eq(r, "/incomplete_details", &Value::Null, at),
        "incomplete" => f.check(reason.is_some(), || {
            format!("{at}: an incomplete response needs incomplete_details.reason")
        }),
        other => f.add(format!("{at}: unexpected status {other:?}")),
    }
    f.eq(r, "/error", &Value::Null, at);
    got.stop = (status, reason);
    let usage = r.get("usage").cloned().unwrap_or(Value::Null);
    (got.usage, got.usage_details) = responses_usage(f, &usage, &format!("{at}.usage"));
}

fn responses_json(body: &Value) -> (Got, Faults) {
    let mut f = Faults::default();
    let at = "response";
    let mut got = Got {
        id: f.str(body, "/id", at),
        model: f.str(body, "/model", at),
        ..Got::default()
    };
    f.check(got.id.starts_with("resp_"), || {
        format!("id {:?} must start with resp_", got.id)
    });
    f.eq(body, "/object", &"response".into(), at);
    f.u64(body, "/created_at", at);
    let output = body
        .get("output")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| {
            f.add("response.output must be an array");
            Vec::new()
        });
    let mut ids = Vec::new();
    for (i, item) in output.iter().enumerate() {
        responses_item(&mut f, item, &format!("output[{i}]"), &mut got);
        ids.push(item.get("id").cloned());
    }
    check_unique(&mut f, &ids);
    responses_terminal(&mut f, body, at, &mut got);
    (got, f)
}

fn check_unique(f: &mut Faults, ids: &[Option<Value>]) {
    for (i, a) in ids.iter().enumerate() {
        if ids[..i].contains(a) {
            f.add(format!("output item ids must be unique: {a:?} repeats"));
        }
    }
}

/// Event types of the Responses stream this fold knows (openai-python
/// `types/responses/response_stream_event.py`).
const RESPONSES_EVENTS: [&str; 17] = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// An item being streamed: its id, type and what its deltas added up to.
struct Streaming {
    id: String,
    kind: String,
    text: String,
    parts_open: i32,
    done: bool,
}

/// The Responses stream: `event:` lines equal to the data's `type`, `sequence_number` 0, 1, 2…,
/// `response.created` then `response.in_progress` first, each item added with the next
/// `output_index` (items may overlap), its deltas adding up to what its `*.done` events and `output_item.done` say,
/// every item done before the terminal event, and the terminal event's output equal to the done
/// items. Fills `got` from the terminal response.
fn responses_stream(events: &[&Event], f: &mut Faults) -> Got {
    let mut got = Got::default();
    let mut items: Vec<Streaming> = Vec::new();
    let mut done_items: Vec<Value> = Vec::new();
    let mut terminal: Option<Value> = None;
    for (i, e) in events.iter().enumerate() {
        let at = format!("event {i} ({:?})", e.event);
        let Some(data) = e.json() else {
            f.add(format!("{at}: data is not JSON: {:?}", e.data));
            continue;
        };
        let ty = data.get("type").and_then(Value::as_str).unwrap_or("");
        f.check(e.event.as_deref() == Some(ty), || {
            format!("{at}: the event line must name the data's type {ty:?}")
        });
        let seq = data.get("sequence_number").and_then(Value::as_u64);
        f.check(seq == Some(i as u64), || {
            format!("{at}: sequence_number must be {i}, got {seq:?}")
        });
        f.check(RESPONSES_EVENTS.contains(&ty), || {
            format!("{at}: unknown event type {ty:?}")
        });
        if terminal.is_some() {
            f.add(format!("{at}: nothing may follow the terminal event"));
        }
        match (i, ty) {
            (0, "response.created") | (1, "response.in_progress") => {
                let r = data.get("response").cloned().unwrap_or(Value::Null);
                f.eq(&r, "/status", &"in_progress".into(), &at);
                f.eq(&r, "/object", &"response".into(), &at);
                if i == 0 {
                    got.id = f.str(&r, "/id", &at);
                    got.model = f.str(&r, "/model", &at);
                    f.check(got.id.starts_with("resp_"), || {
                        format!("{at}: id {:?} must start with resp_", got.id)
                    });
                }
                continue;
            }
            (0, _) | (1, _) => {
                f.add(format!(
                    "{at}: the stream must open with response.created, response.in_progress"
                ));
            }
            _ => {}
        }
        let out_index = data
            .get("output_index")
            .and_then(Value::as_u64)
            .map(|n| n as usize);
        let item_at = |f: &mut Faults, items: &mut Vec<Streaming>| -> Option<usize> {
            let idx = out_index?;
            if idx >= items.len() {
                f.add(format!("{at}: output_index {idx} was never added"));
                return None;
            }
            if let Some(item_id) = data.get("item_id").and_then(Value::as_str) {
                if item_id != items[idx].id {
                    f.add(format!(
                        "{at}: item_id {item_id:?} is not the id of output {idx}"
                    ));
                }
            }
            if items[idx].done {
                f.add(format!("{at}: output {idx} is already done"));
            }
            Some(idx)
        };
        match ty {
            "response.output_item.added" => {
                f.check(out_index == Some(items.len()), || {
                    format!(
                        "{at}: output_index must be {}, got {out_index:?}",
                        items.len()
                    )
                });
                // Items may overlap: the spec ties every event to its item by `output_index`, and
                // the SDK's accumulator (`_responses.py`) indexes the snapshot by it.
                let item = data.get("item").cloned().unwrap_or(Value::Null);
                items.push(Streaming {
                    id: f.str(&item, "/id", &at),
                    kind: f.str(&item, "/type", &at),
                    text: String::new(),
                    parts_open: 0,
                    done: false,
                });
            }
            "response.content_part.added" | "response.reasoning_summary_part.added" => {
                if let Some(idx) = item_at(f, &mut items) {
                    items[idx].parts_open += 1;
                    let text = data.pointer("/part/text").and_then(Value::as_str);
                    f.check(text == Some(""), || {
                        format!("{at}: a new part starts empty")
                    });
                }
            }
            "response.output_text.delta"
            | "response.function_call_arguments.delta"
            | "response.reasoning_summary_text.delta" => {
                if let Some(idx) = item_at(f, &mut items) {
                    let want = match ty {
                        "response.output_text.delta" => "message",
                        "response.function_call_arguments.delta" => "function_call",
                        _ => "reasoning",
                    };
                    f.check(items[idx].kind == want, || {
                        format!("{at}: a {ty} for a {:?} item", items[idx].kind)
                    });
                    f.check(
                        ty.contains("arguments") || items[idx].parts_open == 1,
                        || format!("{at}: a delta outside an open part"),
                    );
                    let d = f.str(&data, "/delta", &at);
                    items[idx].text.push_str(&d);
                }
            }
            "response.output_text.done"
            | "response.reasoning_summary_text.done"
            | "response.function_call_arguments.done" => {
                if let Some(idx) = item_at(f, &mut items) {
                    let key = if ty.contains("arguments") {
                        "/arguments"
                    } else {
                        "/text"
                    };
                    let full = f.str(&data, key, &at);
                    f.check(full == items[idx].text, || {
                        format!(
                            "{at}: {key} {full:?} must equal the deltas {:?}",
                            items[idx].text
                        )
                    });
                }
            }
            "response.content_part.done" | "response.reasoning_summary_part.done" => {
                if let Some(idx) = item_at(f, &mut items) {
                    items[idx].parts_open -= 1;
                    let full = f.str(&data, "/part/text", &at);
                    f.check(full == items[idx].text, || {
                        format!("{at}: part text {full:?} must equal the deltas")
                    });
                }
            }
            "response.output_item.done" => {
                if let Some(idx) = item_at(f, &mut items) {
                    f.check(items[idx].parts_open == 0, || {
                        format!("{at}: output {idx} is done with a part still open")
                    });
                    let item = data.get("item").cloned().unwrap_or(Value::Null);
                    f.eq(&item, "/id", &items[idx].id.clone().into(), &at);
                    let mut one = Got::default();
                    responses_item(f, &item, &at, &mut one);
                    let from_item = match items[idx].kind.as_str() {
                        "message" => one.text,
                        "reasoning" => one.reasoning.unwrap_or_default(),
                        _ => item
                            .get("arguments")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    };
                    // Codex and the SDK read the finished item, not the deltas.
                    f.check(from_item == items[idx].text, || {
                        format!(
                            "{at}: the done item says {from_item:?}, the deltas {:?}",
                            items[idx].text
                        )
                    });
                    items[idx].done = true;
                    done_items.push(item);
                }
            }
            "response.completed" | "response.incomplete" => {
                let r = data.get("response").cloned().unwrap_or(Value::Null);
                for (idx, s) in items.iter().enumerate() {
                    f.check(s.done, || {
                        format!("{at}: output {idx} never got output_item.done")
                    });
                }
                let output = r.get("output").cloned().unwrap_or(Value::Null);
                f.check(output == Value::Array(done_items.clone()), || {
                    format!(
                        "{at}: response.output must be the done items\n  output: {output}\n  done items: {}",
                        Value::Array(done_items.clone())
                    )
                });
                f.eq(&r, "/id", &got.id.clone().into(), &at);
                let status = r.get("status").and_then(Value::as_str).unwrap_or("");
                let want = ty.trim_start_matches("response.");
                f.check(status == want, || {
                    format!("{at}: a {ty} event needs status {want:?}, got {status:?}")
                });
                terminal = Some(r);
            }
            "response.failed" => {
                f.add(format!("{at}: the stream ended in failure: {}", e.data));
                terminal = Some(Value::Null);
            }
            _ => {}
        }
    }
    match terminal {
        Some(r) if !r.is_null() => {
            let model = got.model.clone();
            let id = got.id.clone();
            let mut ids = Vec::new();
            for (i, item) in r
                .get("output")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                responses_item(f, item, &format!("final output[{i}]"), &mut got);
                ids.push(item.get("id").cloned());
            }
            check_unique(f, &ids);
            responses_terminal(f, &r, "terminal response", &mut got);
            got.id = id;
            got.model = model;
        }
        Some(_) => {}
        None => f.add("the stream never sent response.completed or response.incomplete"),
    }
    got
}
