//! The OpenAI Responses dialect (`POST /v1/responses`): what the openai SDK's `client.responses`
//! and Codex CLI send, and what a native Responses backend (OpenAI) answers.
//!
//! This module owns the error shape and the pieces the request, response and stream halves
//! share: id prefixes (`resp_`, `msg_`, `fc_`, `rs_`), the output-item and usage JSON, and the
//! mapping of error codes to gateway error kinds. The halves live in submodules:
//! `request_decode` and `request_encode` (the request body), `response` (non-streamed response
//! bodies), `stream_decode` (a Responses backend's SSE events ⇒ `ir` events) and `stream_encode`
//! (`ir` events ⇒ the SSE events the openai SDK and Codex expect). The gateway is stateless, so
//! anything that refers to stored server state (`previous_response_id`, `conversation`,
//! `item_reference`) is refused with a clear 400.
//!
//! API reference: <https://platform.openai.com/docs/api-reference/responses>; the field sets were
//! checked against openai-python `src/openai/types/responses/`.

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

use serde_json::{json, Value};

use crate::error::ErrorKind;
use crate::ir;

/// Errors have the OpenAI shape, `{"error":{"message","type","param":null,"code"}}`: the
/// Responses API shares it with Chat Completions, and so does this dialect's code.
pub use crate::dialect::openai_chat::{decode_error, error_body};

/// The gateway error kind (`ErrorKind::as_str`) for an error code in a Responses stream
/// (`response.failed` `error.code`, or an `error` event's `code`).
fn kind_for_code(code: &str) -> &'static str {
    match code {
        "rate_limit_exceeded" | "insufficient_quota" => "rate_limited",
        "server_is_overloaded" | "overloaded" | "slow_down" => "overloaded",
        "context_length_exceeded" | "invalid_prompt" => "invalid_request",
        code if code.starts_with("invalid_") || code.starts_with("image_") => "invalid_request",
        _ => "upstream",
    }
}

/// The `response.error.code` for a gateway error kind. openai-python types it as a closed set
/// (`types/responses/response_error.py`), so only codes from that set are used.
fn code_for_kind(kind: &str) -> &'static str {
    match ErrorKind::from_name(kind) {
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::InvalidRequest => "invalid_prompt",
        _ => "server_error",
    }
}

/// A response id as Responses clients expect it: `resp_` plus the backend's id.
fn response_id(id: &str) -> String {
    if id.starts_with("resp_") {
        id.to_owned()
    } else if id.is_empty() {
        format!("resp_{:x}", now_nanos())
    } else {
        format!("resp_{id}")
    }
}

/// An output item id: `prefix_` plus the response id's body and the item's output index, so ids
/// are unique within and across responses and still show the backend's id.
fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{base}_{index}")
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Usage as the Responses API reports it. `input_tokens` counts cached tokens too (they are
/// broken out in `input_tokens_details`), as OpenAI's own counts do. `cache_write_tokens` is
/// required by openai-python 3.5x's `ResponseUsage`.
fn usage_json(usage: &ir::Usage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_creation_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens.saturating_add(usage.output_tokens),
    })
}

pub(crate) fn decode_usage(usage: &Value) -> ir::Usage {
    let count = |path: &[&str]| super::count_at(usage, path);
    ir::Usage {
        input_tokens: count(&["input_tokens"]),
        output_tokens: count(&["output_tokens"]),
        cache_read_tokens: count(&["input_tokens_details", "cached_tokens"]),
        cache_creation_tokens: count(&["input_tokens_details", "cache_write_tokens"]),
        reasoning_tokens: count(&["output_tokens_details", "reasoning_tokens"]),
    }
}

/// Anthropic's redacted thinking has no place in a Responses reasoning item, so it travels in
/// `encrypted_content` behind this marker and is told apart from a signature when it comes back.
const REDACTED_MARKER: &str = "gateway-redacted:";

/// The `encrypted_content` of a reasoning block, if it has one.
fn encrypted_content(signature: Option<&str>, redacted: Option<&str>) -> Option<String> {
    match (redacted, signature) {
        (Some(data), _) => Some(format!("{REDACTED_MARKER}{data}")),
        (None, Some(signature)) => Some(signature.to_owned()),
        (None, None) => None,
    }
}

/// Splits `encrypted_content` back into (signature, redacted).
fn split_encrypted_content(content: Option<&str>) -> (Option<String>, Option<String>) {
    match content {
        Some(c) => match c.strip_prefix(REDACTED_MARKER) {
            Some(data) => (None, Some(data.to_owned())),
            None => (Some(c.to_owned()), None),
        },
        None => (None, None),
    }
}

/// An `output_text` content part (no annotations or logprobs: backends' are not carried over).
fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A completed assistant message item with one `output_text` part per text.
fn message_item(id: &str, texts: &[&str], status: &str) -> Value {
    let content: Vec<Value> = texts.iter().map(|text| output_text_part(text)).collect();
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

fn function_call_item(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({
        "id": id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    })
}

fn reasoning_item(id: &str, text: &str, encrypted: Option<String>) -> Value {
    let summary = if text.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": text}])
    };
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let Some(encrypted) = encrypted {
        item["encrypted_content"] = Value::String(encrypted);
    }
    item
}

/// Function calls need a JSON object for arguments; a tool without parameters may stream none.
fn arguments_or_empty_object(arguments: &str) -> &str {
    if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::upstream_error;
    use crate::error::GatewayError;

    #[test]
    fn error_body_has_the_openai_shape_and_types() {
        let err = GatewayError::invalid("input: required");
        assert_eq!(
            error_body(&err),
            json!({"error": {"message": "input: required", "type": "invalid_request_error",
                             "param": null, "code": "invalid_request"}})
        );
        let limited = GatewayError::new(ErrorKind::RateLimited, "slow down");
        assert_eq!(error_body(&limited)["error"]["type"], "rate_limit_error");
        assert_eq!(error_body(&limited)["error"]["code"], "rate_limit_exceeded");
        let relayed = upstream_error(400, Some("bad".into()));
        assert_eq!(
            error_body(&relayed)["error"]["type"],
            "invalid_request_error"
        );
        let server = upstream_error(500, None);
        assert_eq!(error_body(&server)["error"]["type"], "server_error");
    }

    #[test]
    fn decode_error_keeps_status_and_backend_message() {
        let body = br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let err = decode_error(401, body);
        assert_eq!(err.status, 401);
        assert_eq!(err.kind, ErrorKind::Authentication);
        assert_eq!(err.message, "Incorrect API key provided");

        assert_eq!(decode_error(500, br#"{"error":"boom"}"#).message, "boom");
        let long = "x".repeat(500);
        let err = decode_error(502, long.as_bytes());
        assert_eq!(err.message.len(), 200);
        assert_eq!(err.status, 502);
        let err = decode_error(503, b"");
        assert_eq!(err.message, "the backend answered with HTTP 503");
        assert_eq!(err.kind, ErrorKind::Overloaded);
    }

    #[test]
    fn ids_get_the_prefixes_clients_expect() {
        assert_eq!(response_id("resp_abc"), "resp_abc");
        assert_eq!(response_id("msg_01XY"), "resp_msg_01XY");
        assert!(response_id("").starts_with("resp_"));
        assert_eq!(item_id("msg", "resp_abc", 2), "msg_abc_2");
    }

    #[test]
    fn redacted_reasoning_survives_encrypted_content() {
        let enc = encrypted_content(None, Some("opaque"));
        assert_eq!(
            split_encrypted_content(enc.as_deref()),
            (None, Some("opaque".into()))
        );
        let enc = encrypted_content(Some("sig"), None);
        assert_eq!(
            split_encrypted_content(enc.as_deref()),
            (Some("sig".into()), None)
        );
    }
}
