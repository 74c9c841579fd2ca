//! OpenAI Chat Completions (`/v1/chat/completions`): the dialect of the openai SDK's
//! `chat.completions`, chat UIs, the `llm` CLI, aider, and of the backends llama.cpp, vLLM, Ollama
//! and OpenAI itself.
//!
//! This module owns what the stages share: stop-reason and usage mapping, chat ids and the
//! error shape. The stages are submodules: `request_decode` / `request_encode` (request bodies),
//! `response` (non-streamed answers) and `stream_decode` / `stream_encode`
//! (`chat.completion.chunk` SSE).
//! API reference: <https://platform.openai.com/docs/api-reference/chat>.

mod request_decode;
mod request_encode;
#[cfg(test)]
mod request_tests;
mod response;
mod stream_decode;
mod stream_encode;

pub use request_decode::decode_request;
pub use request_encode::encode_request;
pub use response::{decode_response, encode_response};
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::dialect::upstream_error;
use crate::error::{ErrorKind, GatewayError};
use crate::ir;

/// The prefix OpenAI puts on every chat completion id; some clients display or log it.
const ID_PREFIX: &str = "chatcmpl-";

/// The body of an error reply: `{"error":{"message","type","param","code"}}`, typed and coded as
/// the Responses dialect does, so both OpenAI dialects report a failure alike.
pub fn error_body(err: &GatewayError) -> Value {
    json!({
        "error": {
            "message": err.message,
            "type": error_type(err.kind, err.status),
            "param": null,
            "code": error_code(err.kind),
        }
    })
}

/// OpenAI's error `type`. A backend error that kept its status is typed by that status, so a
/// relayed 400 still reads as `invalid_request_error`.
fn error_type(kind: ErrorKind, status: u16) -> &'static str {
    let kind = match kind {
        ErrorKind::Upstream => ErrorKind::from_status(status),
        kind => kind,
    };
    match kind {
        ErrorKind::InvalidRequest
        | ErrorKind::NotFound
        | ErrorKind::MethodNotAllowed
        | ErrorKind::PayloadTooLarge => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Overloaded
        | ErrorKind::BadGateway
        | ErrorKind::Timeout
        | ErrorKind::Internal
        | ErrorKind::Upstream => "server_error",
    }
}

/// OpenAI's error `code`: its own code where one exists, else the gateway's kind name (stable,
/// so scripts can tell a rate limit from an overload).
fn error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::Authentication => "invalid_api_key",
        kind => kind.as_str(),
    }
}

/// Re-expresses a backend's error reply. The servers of this dialect disagree on the shape:
/// OpenAI and llama.cpp send `{"error":{"message"}}`, Ollama `{"error":"text"}`, older vLLM
/// `{"object":"error","message"}`, FastAPI-based servers `{"detail"}`.
pub fn decode_error(status: u16, body: &[u8]) -> GatewayError {
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(value) => error_message(&value),
        Err(_) => text_excerpt(body),
    };
    upstream_error(status, message)
}

/// The message of an error JSON body in any of the shapes `decode_error` lists.
fn error_message(value: &Value) -> Option<String> {
    let candidates = [
        value.pointer("/error/message"),
        value.get("error"),
        value.get("message"),
        value.get("detail"),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
}

/// The first 200 characters of a non-JSON error body (an HTML page from a proxy, plain text).
fn text_excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(text.chars().take(200).collect())
}

/// A chat id that keeps the backend's id and carries the `chatcmpl-` prefix; a fresh one when
/// the backend gave none.
fn chat_id(id: &str) -> String {
    if id.is_empty() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        format!("{ID_PREFIX}{nanos:x}{n:x}")
    } else if id.starts_with(ID_PREFIX) {
        id.to_owned()
    } else {
        format!("{ID_PREFIX}{id}")
    }
}

/// Seconds since the Unix epoch, for `created`.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The stop reason of a `finish_reason`. `had_tool_calls` fixes servers (some Ollama and
/// llama.cpp versions) that answer `stop` after emitting tool calls: clients such as Claude Code
/// only run tools when the turn ends for tool use. `matched` is vLLM's `stop_reason`, the stop
/// string that ended the text.
fn stop_reason_from(
    finish_reason: Option<&str>,
    had_tool_calls: bool,
    matched: Option<&str>,
) -> ir::StopReason {
    match finish_reason {
        Some("length") => ir::StopReason::MaxTokens,
        Some("content_filter") => ir::StopReason::ContentFilter,
        Some("tool_calls" | "function_call") => ir::StopReason::ToolUse,
        _ if had_tool_calls => ir::StopReason::ToolUse,
        Some("stop") if matched.is_some() => {
            ir::StopReason::StopSequence(matched.map(str::to_owned))
        }
        _ => ir::StopReason::EndTurn,
    }
}

/// The `finish_reason` of a stop reason. Chat Completions has no refusal reason; Anthropic's
/// `refusal` means its safety classifiers stopped the answer, which is what `content_filter`
/// tells an OpenAI client.
fn finish_reason_of(reason: &ir::StopReason) -> &'static str {
    match reason {
        ir::StopReason::EndTurn | ir::StopReason::StopSequence(_) => "stop",
        ir::StopReason::MaxTokens => "length",
        ir::StopReason::ToolUse => "tool_calls",
        ir::StopReason::ContentFilter | ir::StopReason::Refusal => "content_filter",
    }
}

/// Reads a `usage` object. `prompt_tokens` counts every input token, cached ones included
/// (the `ir` convention); DeepSeek reports cache hits as `prompt_cache_hit_tokens`.
pub(crate) fn usage_from(usage: &Value) -> ir::Usage {
    let count = |path: &[&str]| super::count_at(usage, path);
    let cached = match count(&["prompt_tokens_details", "cached_tokens"]) {
        0 => count(&["prompt_cache_hit_tokens"]),
        n => n,
    };
    ir::Usage {
        input_tokens: count(&["prompt_tokens"]),
        output_tokens: count(&["completion_tokens"]),
        cache_read_tokens: cached,
        // openai-python `types/completion_usage.py`: `prompt_tokens_details.cache_write_tokens`.
        cache_creation_tokens: count(&["prompt_tokens_details", "cache_write_tokens"]),
        reasoning_tokens: count(&["completion_tokens_details", "reasoning_tokens"]),
    }
}

/// Writes a `usage` object in OpenAI's shape, details included as OpenAI always sends them.
fn usage_to(usage: &ir::Usage) -> Value {
    let mut out = Map::new();
    out.insert("prompt_tokens".into(), usage.input_tokens.into());
    out.insert("completion_tokens".into(), usage.output_tokens.into());
    out.insert(
        "total_tokens".into(),
        usage
            .input_tokens
            .saturating_add(usage.output_tokens)
            .into(),
    );
    let mut prompt_details = json!({"cached_tokens": usage.cache_read_tokens});
    if usage.cache_creation_tokens > 0 {
        // Only providers with explicit caching report writes; OpenAI itself leaves it out.
        prompt_details["cache_write_tokens"] = usage.cache_creation_tokens.into();
    }
    out.insert("prompt_tokens_details".into(), prompt_details);

    out.insert(
        "completion_tokens_details".into(),
        json!({"reasoning_tokens": usage.reasoning_tokens}),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_openai_shape_and_types() {
        let err = GatewayError::invalid("messages: expected an array");
        assert_eq!(
            error_body(&err),
            json!({"error": {
                "message": "messages: expected an array",
                "type": "invalid_request_error",
                "param": null,
                "code": "invalid_request",
            }})
        );
        let limited = GatewayError::new(ErrorKind::RateLimited, "slow down");
        assert_eq!(error_body(&limited)["error"]["type"], "rate_limit_error");
        assert_eq!(error_body(&limited)["error"]["code"], "rate_limit_exceeded");
        let auth = GatewayError::new(ErrorKind::Authentication, "bad key");
        assert_eq!(error_body(&auth)["error"]["type"], "authentication_error");
        let busy = GatewayError::new(ErrorKind::Overloaded, "busy");
        assert_eq!(error_body(&busy)["error"]["type"], "server_error");
        let relayed = GatewayError::new(ErrorKind::Upstream, "bad").with_status(422);
        assert_eq!(
            error_body(&relayed)["error"]["type"],
            "invalid_request_error"
        );
        let crashed = GatewayError::new(ErrorKind::Upstream, "boom").with_status(500);
        assert_eq!(error_body(&crashed)["error"]["type"], "server_error");
    }

    #[test]
    fn decode_error_reads_every_server_shape() {
        let openai = br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
        let err = decode_error(429, openai);
        assert_eq!((err.status, err.kind), (429, ErrorKind::RateLimited));
        assert_eq!(err.message, "Rate limit reached");

        let ollama = br#"{"error":"model \"llama9\" not found, try pulling it first"}"#;
        let err = decode_error(404, ollama);
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(
            err.message,
            "model \"llama9\" not found, try pulling it first"
        );

        let vllm = br#"{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}"#;
        assert_eq!(decode_error(400, vllm).message, "max_tokens is too large");

        let fastapi = br#"{"detail":"Not Found"}"#;
        assert_eq!(decode_error(404, fastapi).message, "Not Found");
    }

    #[test]
    fn decode_error_falls_back_to_text_or_status() {
        let html = format!("<html>{}</html>", "x".repeat(500));
        let err = decode_error(502, html.as_bytes());
        assert_eq!(err.status, 502);
        assert_eq!(err.message.chars().count(), 200);
        assert!(err.message.starts_with("<html>"));

        let err = decode_error(500, b"");
        assert_eq!(err.status, 500);
        assert_eq!(err.message, "the backend answered with HTTP 500");
        assert_eq!(
            decode_error(500, b"{}").message,
            "the backend answered with HTTP 500"
        );
    }

    #[test]
    fn chat_ids_keep_the_backend_id_behind_the_prefix() {
        assert_eq!(chat_id("chatcmpl-abc"), "chatcmpl-abc");
        assert_eq!(chat_id("msg_01XYZ"), "chatcmpl-msg_01XYZ");
        let fresh = chat_id("");
        assert!(fresh.starts_with("chatcmpl-") && fresh.len() > 12);
        assert_ne!(fresh, chat_id(""));
    }

    #[test]
    fn finish_reasons_map_both_ways() {
        use ir::StopReason::*;
        assert_eq!(stop_reason_from(Some("stop"), false, None), EndTurn);
        assert_eq!(stop_reason_from(Some("length"), false, None), MaxTokens);
        assert_eq!(stop_reason_from(Some("tool_calls"), true, None), ToolUse);
        assert_eq!(
            stop_reason_from(Some("function_call"), false, None),
            ToolUse
        );
        assert_eq!(
            stop_reason_from(Some("content_filter"), false, None),
            ContentFilter
        );
        assert_eq!(stop_reason_from(Some("stop"), true, None), ToolUse);
        assert_eq!(
            stop_reason_from(Some("stop"), false, Some("</answer>")),
            StopSequence(Some("</answer>".into()))
        );
        assert_eq!(stop_reason_from(None, false, None), EndTurn);
        assert_eq!(finish_reason_of(&EndTurn), "stop");
        assert_eq!(finish_reason_of(&StopSequence(None)), "stop");
        assert_eq!(finish_reason_of(&MaxTokens), "length");
        assert_eq!(finish_reason_of(&ToolUse), "tool_calls");
        assert_eq!(finish_reason_of(&Refusal), "content_filter");
    }

    #[test]
    fn usage_round_trips_with_details() {
        let wire = json!({
            "prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 1024},
            "completion_tokens_details": {"reasoning_tokens": 128},
        });
        let usage = usage_from(&wire);
        assert_eq!(
            usage,
            ir::Usage {
                input_tokens: 1200,
                output_tokens: 300,
                cache_read_tokens: 1024,
                cache_creation_tokens: 0,
                reasoning_tokens: 128,
            }
        );
        assert_eq!(usage_to(&usage), wire);
        let deepseek =
            json!({"prompt_tokens": 10, "completion_tokens": 2, "prompt_cache_hit_tokens": 8});
        assert_eq!(usage_from(&deepseek).cache_read_tokens, 8);
    }
}
