//! The Anthropic Messages dialect (`POST /v1/messages`): what the anthropic SDKs and Claude Code
//! send and expect, and what api.anthropic.com accepts.
//!
//! This module owns the pieces every direction shares: the error shape, the stop-reason and usage
//! vocabularies, and message ids. The conversions live in submodules: `request` (bodies to and from
//! `ir::Request`), `response` (complete answers), `stream_decode` (an Anthropic backend's SSE to
//! `ir` events) and `stream_encode` (`ir` events to the SSE an Anthropic client reads).
//!
//! Usage convention: `ir::Usage::input_tokens` counts every input token, cached ones included (as
//! OpenAI's `prompt_tokens` and Responses' `input_tokens` do). Anthropic's `input_tokens` excludes
//! the tokens read from or written to the cache, so decoding adds them in and encoding takes them
//! out. Reference: <https://platform.claude.com/docs/en/api/messages>.

mod request_decode;
mod request_encode;
mod response;
mod stream_decode;
mod stream_encode;

pub use request_decode::decode_request;
pub use request_encode::encode_request;
pub use response::{decode_response, encode_response};
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;

use serde_json::{json, Map, Value};

use crate::dialect::upstream_error;
use crate::error::{ErrorKind, GatewayError};
use crate::ir::{StopReason, Usage};

/// Prefix that marks redacted-thinking data carried in a `Delta::ReasoningSignature`.
///
/// `ir::Delta` has no variant for Anthropic's `redacted_thinking` blocks (their opaque `data` comes
/// whole in `content_block_start`, never as deltas), so the stream decoder sends the data as a
/// signature with this prefix, and the stream encoder and request encoder turn a signature with the
/// prefix back into a `redacted_thinking` block. Real signatures are base64, which has no `:`, so
/// the prefix can never collide with one. Other dialects see an opaque signature, which is what
/// the data is to them.
pub(crate) const REDACTED_PREFIX: &str = "redacted_thinking:";

/// The `error.type` Anthropic uses for an error of this kind and status.
/// Reference: <https://platform.claude.com/docs/en/api/errors>.
fn error_type(kind: ErrorKind, status: u16) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::MethodNotAllowed => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::PayloadTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Overloaded => "overloaded_error",
        ErrorKind::BadGateway | ErrorKind::Timeout | ErrorKind::Internal => "api_error",
        ErrorKind::Upstream => match status {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            // "This error type may also be used for other 4XX status codes."
            400..=499 => "invalid_request_error",
            _ => "api_error",
        },
    }
}

/// The gateway kind of an Anthropic `error.type` (for errors that arrive inside a stream).
fn kind_of_error_type(error_type: &str) -> ErrorKind {
    match error_type {
        "invalid_request_error" => ErrorKind::InvalidRequest,
        "authentication_error" => ErrorKind::Authentication,
        "permission_error" => ErrorKind::Permission,
        "not_found_error" => ErrorKind::NotFound,
        "request_too_large" => ErrorKind::PayloadTooLarge,
        "rate_limit_error" => ErrorKind::RateLimited,
        "overloaded_error" => ErrorKind::Overloaded,
        "timeout_error" => ErrorKind::Timeout,
        _ => ErrorKind::Upstream,
    }
}

/// `{"type":"error","error":{"type","message"}}`, as api.anthropic.com answers errors.
pub fn error_body(err: &GatewayError) -> Value {
    json!({
        "type": "error",
        "error": {"type": error_type(err.kind, err.status), "message": err.message},
    })
}

/// Keeps the backend's status and pulls its message out of the error JSON (Anthropic's
/// `error.message`; OpenAI-shaped and bare `message` bodies are read too, since proxies in front
/// of Anthropic answer in those). A body that is not JSON gives its first 200 characters.
pub fn decode_error(status: u16, body: &[u8]) -> GatewayError {
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(value) => error_message(&value),
        Err(_) => plain_text_message(body),
    };
    upstream_error(status, message)
}

fn error_message(value: &Value) -> Option<String> {
    let message = value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .or_else(|| value.get("error").filter(|e| e.is_string()))?;
    message
        .as_str()
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
}

fn plain_text_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(200).collect())
}

/// The message id a client sees: the backend's id, with the `msg_` prefix Anthropic ids carry.
fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else if id.is_empty() {
        generated_id()
    } else {
        format!("msg_{id}")
    }
}

/// An id for a message whose backend gave none: unique within the process and across restarts.
fn generated_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("msg_gw{nanos:x}{n:x}")
}

/// The wire `stop_reason` of an ir stop reason. A content filter is Anthropic's `refusal`.
/// Reference: <https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons>.
fn stop_reason_str(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn => "end_turn",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence(_) => "stop_sequence",
        StopReason::ToolUse => "tool_use",
        StopReason::ContentFilter | StopReason::Refusal => "refusal",
    }
}

/// The stop reason to report: an answer that calls tools ends in `tool_use`, whatever the backend
/// said (some OpenAI-compatible servers finish tool calls with `stop`; Claude Code only runs the
/// tools when the reason is `tool_use`).
fn effective_stop_reason(reason: &StopReason, has_tool_use: bool) -> &'static str {
    if has_tool_use && *reason == StopReason::EndTurn {
        "tool_use"
    } else {
        stop_reason_str(reason)
    }
}

/// The ir stop reason of a wire `stop_reason` (and `stop_sequence`).
fn parse_stop_reason(reason: Option<&str>, sequence: Option<&str>) -> StopReason {
    match reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence(sequence.map(str::to_owned)),
        Some("tool_use") => StopReason::ToolUse,
        Some("refusal") => StopReason::Refusal,
        // `end_turn`, `pause_turn` (a server-tool loop paused; the turn is over for us), absent.
        _ => StopReason::EndTurn,
    }
}

/// Anthropic's usage counts as reported, before the cache counts are folded into the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WireUsage {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_creation: u64,
    /// `output_tokens_details.thinking_tokens` (anthropic-sdk-python
    /// `types/output_tokens_details.py`): the reasoning share of `output_tokens`.
    thinking: u64,
}

impl WireUsage {
    /// Takes every count `usage` carries, leaving the others as they were (a stream reports
    /// input at the start and output at the end).
    fn update(&mut self, usage: &Value) {
        let take = |key: &str, slot: &mut u64| {
            if let Some(n) = usage.get(key).and_then(Value::as_u64) {
                *slot = n;
            }
        };
        take("input_tokens", &mut self.input);
        take("output_tokens", &mut self.output);
        take("cache_read_input_tokens", &mut self.cache_read);
        take("cache_creation_input_tokens", &mut self.cache_creation);
        if let Some(n) = usage
            .get("output_tokens_details")
            .and_then(|d| d.get("thinking_tokens"))
            .and_then(Value::as_u64)
        {
            self.thinking = n;
        }
    }

    pub(crate) fn from_json(usage: Option<&Value>) -> WireUsage {
        let mut wire = WireUsage::default();
        if let Some(usage) = usage {
            wire.update(usage);
        }
        wire
    }

    pub(crate) fn to_ir(self) -> Usage {
        Usage {
            input_tokens: self
                .input
                .saturating_add(self.cache_read)
                .saturating_add(self.cache_creation),
            output_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_creation_tokens: self.cache_creation,
            reasoning_tokens: self.thinking,
        }
    }

    fn from_ir(usage: &Usage) -> WireUsage {
        let cached = usage
            .cache_read_tokens
            .saturating_add(usage.cache_creation_tokens);
        WireUsage {
            input: usage.input_tokens.saturating_sub(cached),
            output: usage.output_tokens,
            cache_read: usage.cache_read_tokens,
            cache_creation: usage.cache_creation_tokens,
            thinking: usage.reasoning_tokens,
        }
    }

    fn to_json(self) -> Value {
        let mut map = Map::new();
        map.insert("input_tokens".into(), self.input.into());
        map.insert(
            "cache_creation_input_tokens".into(),
            self.cache_creation.into(),
        );
        map.insert("cache_read_input_tokens".into(), self.cache_read.into());
        map.insert("output_tokens".into(), self.output.into());
        if self.thinking > 0 {
            map.insert(
                "output_tokens_details".into(),
                serde_json::json!({"thinking_tokens": self.thinking}),
            );
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_uses_anthropic_types_per_status() {
        // https://platform.claude.com/docs/en/api/errors
        let cases = [
            (GatewayError::invalid("bad"), "invalid_request_error"),
            (upstream_error(401, None), "authentication_error"),
            (upstream_error(403, None), "permission_error"),
            (upstream_error(404, None), "not_found_error"),
            (upstream_error(413, None), "request_too_large"),
            (upstream_error(429, None), "rate_limit_error"),
            (upstream_error(500, None), "api_error"),
            (upstream_error(502, None), "api_error"),
            (upstream_error(504, None), "api_error"),
            (upstream_error(503, None), "overloaded_error"),
            (upstream_error(529, None), "overloaded_error"),
            (upstream_error(418, None), "invalid_request_error"),
            (GatewayError::internal("bug"), "api_error"),
        ];
        for (err, want) in cases {
            let body = error_body(&err);
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], want, "status {}", err.status);
            assert_eq!(body["error"]["message"], err.message.as_str());
        }
    }

    #[test]
    fn decode_error_keeps_status_and_backend_message() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
        let err = decode_error(529, body);
        assert_eq!(err.status, 529);
        assert_eq!(err.kind, ErrorKind::Overloaded);
        assert_eq!(err.message, "Overloaded");

        let err = decode_error(400, br#"{"error":{"message":"openai style","type":"x"}}"#);
        assert_eq!((err.status, err.message.as_str()), (400, "openai style"));

        let err = decode_error(502, b"<html>Bad Gateway</html>\n");
        assert_eq!(err.message, "<html>Bad Gateway</html>");

        let long = "x".repeat(500);
        assert_eq!(decode_error(500, long.as_bytes()).message.len(), 200);

        let err = decode_error(500, b"");
        assert_eq!(err.message, "the backend answered with HTTP 500");
    }

    #[test]
    fn message_ids_keep_the_backend_id_inside_the_prefix() {
        assert_eq!(message_id("msg_01abc"), "msg_01abc");
        assert_eq!(message_id("chatcmpl-123"), "msg_chatcmpl-123");
        assert!(message_id("").starts_with("msg_gw"));
        assert_ne!(message_id(""), message_id(""));
    }

    #[test]
    fn usage_folds_cache_counts_into_the_input_and_back() {
        let wire = WireUsage::from_json(Some(&json!({
            "input_tokens": 10, "output_tokens": 5,
            "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200,
        })));
        let ir = wire.to_ir();
        assert_eq!(ir.input_tokens, 1210);
        assert_eq!(ir.cache_read_tokens, 1000);
        assert_eq!(WireUsage::from_ir(&ir), wire);
    }

    #[test]
    fn stop_reasons_map_both_ways() {
        for (wire, ir) in [
            ("end_turn", StopReason::EndTurn),
            ("max_tokens", StopReason::MaxTokens),
            ("tool_use", StopReason::ToolUse),
            ("refusal", StopReason::Refusal),
            (
                "stop_sequence",
                StopReason::StopSequence(Some("END".into())),
            ),
        ] {
            assert_eq!(parse_stop_reason(Some(wire), Some("END")), ir);
            assert_eq!(stop_reason_str(&ir), wire);
        }
        assert_eq!(
            parse_stop_reason(Some("pause_turn"), None),
            StopReason::EndTurn
        );
        assert_eq!(
            effective_stop_reason(&StopReason::EndTurn, true),
            "tool_use"
        );
        assert_eq!(
            effective_stop_reason(&StopReason::MaxTokens, true),
            "max_tokens"
        );
    }
}
