//! Non-streamed Responses bodies: a backend's `response` object ⇒ `ir::Response`, and an
//! `ir::Response` ⇒ the `response` object the openai SDK's `Response` model parses
//! (openai-python `src/openai/types/responses/response.py`; `output_text` is computed by the SDK).

use serde_json::{json, Map, Value};

use super::{
    arguments_or_empty_object, decode_usage, encrypted_content, function_call_item, item_id,
    kind_for_code, message_item, now_secs, reasoning_item, response_id, split_encrypted_content,
    usage_json,
};
use crate::error::{ErrorKind, GatewayError};
use crate::ir::{self, Block, StopReason};

pub fn decode_response(body: &Value) -> Result<ir::Response, GatewayError> {
    let obj = body.as_object().ok_or_else(|| {
        GatewayError::new(ErrorKind::BadGateway, "response: expected a JSON object")
    })?;
    if let Some(error) = obj.get("error").filter(|e| !e.is_null()) {
        return Err(failed_response_error(error));
    }
    let output = match obj.get("output") {
        Some(Value::Array(output)) => output.as_slice(),
        None | Some(Value::Null) => &[],
        Some(_) => {
            return Err(GatewayError::new(
                ErrorKind::BadGateway,
                "response.output: expected an array",
            ))
        }
    };
    let mut content = Vec::new();
    let mut refused = false;
    for item in output {
        refused |= decode_output_item(item, &mut content);
    }
    let stop_reason = stop_reason(obj, &content, refused);
    Ok(ir::Response {
        id: str_field(obj, "id").to_owned(),
        model: str_field(obj, "model").to_owned(),
        content,
        stop_reason,
        usage: obj.get("usage").map(decode_usage).unwrap_or_default(),
    })
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A `failed` response's `error: {code, message}` as a gateway error.
fn failed_response_error(error: &Value) -> GatewayError {
    let code = error.get("code").and_then(Value::as_str).unwrap_or("");
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the backend's response failed");
    let kind = ErrorKind::from_name(kind_for_code(code));
    let kind = if kind == ErrorKind::Upstream {
        ErrorKind::BadGateway
    } else {
        kind
    };
    GatewayError::new(kind, message)
}

/// Appends the blocks of one output item; returns whether it held a refusal.
fn decode_output_item(item: &Value, content: &mut Vec<Block>) -> bool {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "message" => return decode_message_item(item, content),
        "function_call" => content.push(Block::ToolCall {
            id: item
                .get("call_id")
                .or_else(|| item.get("id"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            name: item
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            arguments: arguments_or_empty_object(
                item.get("arguments").and_then(Value::as_str).unwrap_or(""),
            )
            .to_owned(),
        }),
        "reasoning" => {
            let text = reasoning_text(item);
            let encrypted = item.get("encrypted_content").and_then(Value::as_str);
            let (signature, redacted) = split_encrypted_content(encrypted);
            if !text.is_empty() || signature.is_some() || redacted.is_some() {
                content.push(Block::Reasoning {
                    text,
                    signature,
                    redacted,
                });
            }
        }
        other => log::debug!("responses response: skipping output item of type {other:?}"),
    }
    false
}

/// One text block per `output_text` or `refusal` part; returns whether a refusal was seen.
fn decode_message_item(item: &Value, content: &mut Vec<Block>) -> bool {
    let mut refused = false;
    let parts = item
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for part in parts {
        let text = match part.get("type").and_then(Value::as_str) {
            Some("refusal") => {
                refused = true;
                part.get("refusal")
            }
            _ => part.get("text"),
        };
        if let Some(text) = text.and_then(Value::as_str).filter(|t| !t.is_empty()) {
            content.push(Block::Text {
                text: text.to_owned(),
            });
        }
    }
    refused
}

/// A reasoning item's summary parts (or raw reasoning text), joined by blank lines.
pub(super) fn reasoning_text(item: &Value) -> String {
    let texts = |key: &str| -> Vec<&str> {
        item.get(key)
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    };
    let summary = texts("summary");
    if summary.is_empty() {
        texts("content").join("\n\n")
    } else {
        summary.join("\n\n")
    }
}

fn stop_reason(obj: &Map<String, Value>, content: &[Block], refused: bool) -> StopReason {
    if str_field(obj, "status") == "incomplete" {
        let reason = obj
            .get("incomplete_details")
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str);
        return match reason {
            Some("content_filter") => StopReason::ContentFilter,
            _ => StopReason::MaxTokens,
        };
    }
    if content.iter().any(|b| matches!(b, Block::ToolCall { .. })) {
        StopReason::ToolUse
    } else if refused {
        StopReason::Refusal
    } else {
        StopReason::EndTurn
    }
}

/// The `status` and `incomplete_details` a stop reason has in a response object.
pub(super) fn status_for(stop_reason: &StopReason) -> (&'static str, Value) {
    match stop_reason {
        StopReason::MaxTokens => ("incomplete", json!({"reason": "max_output_tokens"})),
        // A refusal is the model's own content filter; chat clients see `content_filter` too.
        StopReason::ContentFilter | StopReason::Refusal => {
            ("incomplete", json!({"reason": "content_filter"}))
        }
        _ => ("completed", Value::Null),
    }
}

/// The fields of a response object that do not depend on its output, with the defaults of a
/// request that set none of them. The stream encoder overrides them from the request it serves.
pub(super) fn response_skeleton(
    id: &str,
    model: &str,
    created_at: u64,
    status: &str,
) -> Map<String, Value> {
    let value = json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "metadata": {},
        "model": model,
        "output": [],
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": null,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": null,
        "user": null,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub fn encode_response(response: &ir::Response) -> Value {
    let id = response_id(&response.id);
    let (status, incomplete_details) = status_for(&response.stop_reason);
    let mut body = response_skeleton(&id, &response.model, now_secs(), status);
    body.insert("incomplete_details".into(), incomplete_details);
    body.insert(
        "output".into(),
        Value::Array(output_items(&id, &response.content)),
    );
    body.insert("usage".into(), usage_json(&response.usage));
    Value::Object(body)
}

/// The output items of a response: consecutive text blocks share one message item.
fn output_items(id: &str, content: &[Block]) -> Vec<Value> {
    let mut items = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    for block in content {
        if let Block::Text { text } = block {
            texts.push(text);
            continue;
        }
        flush_texts(id, &mut texts, &mut items);
        let index = items.len();
        match block {
            Block::ToolCall {
                id: call_id,
                name,
                arguments,
            } => items.push(function_call_item(
                &item_id("fc", id, index),
                call_id,
                name,
                arguments_or_empty_object(arguments),
                "completed",
            )),
            Block::Reasoning {
                text,
                signature,
                redacted,
            } => items.push(reasoning_item(
                &item_id("rs", id, index),
                text,
                encrypted_content(signature.as_deref(), redacted.as_deref()),
            )),
            _ => log::debug!("responses response: dropping a block with no output item form"),
        }
    }
    flush_texts(id, &mut texts, &mut items);
    items
}

fn flush_texts(id: &str, texts: &mut Vec<&str>, items: &mut Vec<Value>) {
    if !texts.is_empty() {
        items.push(message_item(
            &item_id("msg", id, items.len()),
            texts,
            "completed",
        ));
        texts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Usage;

    /// A response as `POST /v1/responses` returns it for a reasoning model that calls a tool
    /// (fields per <https://platform.openai.com/docs/api-reference/responses/object>).
    fn openai_response() -> Value {
        json!({
            "id": "resp_68af",
            "object": "response",
            "created_at": 1756300000,
            "status": "completed",
            "error": null,
            "incomplete_details": null,
            "model": "gpt-5-2025-08-07",
            "output": [
                {"id": "rs_1", "type": "reasoning", "summary": [
                    {"type": "summary_text", "text": "Need weather."}], "encrypted_content": "gAAA"},
                {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
                {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_9",
                 "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
                {"id": "ws_1", "type": "web_search_call", "status": "completed"}
            ],
            "parallel_tool_calls": true,
            "tool_choice": "auto",
            "tools": [],
            "usage": {"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100},
                      "output_tokens": 40, "output_tokens_details": {"reasoning_tokens": 25},
                      "total_tokens": 160}
        })
    }

    #[test]
    fn decodes_an_openai_tool_call_response() {
        let response = decode_response(&openai_response()).unwrap();
        assert_eq!(response.id, "resp_68af");
        assert_eq!(response.model, "gpt-5-2025-08-07");
        assert_eq!(response.stop_reason, StopReason::ToolUse);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 120,
                output_tokens: 40,
                cache_read_tokens: 100,
                cache_creation_tokens: 0,
                reasoning_tokens: 25,
            }
        );
        assert_eq!(
            response.content,
            [
                Block::Reasoning {
                    text: "Need weather.".into(),
                    signature: Some("gAAA".into()),
                    redacted: None,
                },
                Block::Text {
                    text: "Checking.".into()
                },
                Block::ToolCall {
                    id: "call_9".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Oslo\"}".into(),
                },
            ]
        );
    }

    #[test]
    fn incomplete_refused_and_failed_responses() {
        let mut body = openai_response();
        body["status"] = json!("incomplete");
        body["incomplete_details"] = json!({"reason": "max_output_tokens"});
        assert_eq!(
            decode_response(&body).unwrap().stop_reason,
            StopReason::MaxTokens
        );
        body["incomplete_details"] = json!({"reason": "content_filter"});
        assert_eq!(
            decode_response(&body).unwrap().stop_reason,
            StopReason::ContentFilter
        );

        let refusal = json!({"id": "resp_r", "model": "m", "status": "completed", "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}]});
        let response = decode_response(&refusal).unwrap();
        assert_eq!(response.stop_reason, StopReason::Refusal);
        assert_eq!(response.content, [Block::Text { text: "No.".into() }]);

        let failed = json!({"id": "resp_f", "status": "failed", "output": [],
                            "error": {"code": "rate_limit_exceeded", "message": "Slow down"}});
        let err = decode_response(&failed).unwrap_err();
        assert_eq!(err.kind, ErrorKind::RateLimited);
        assert_eq!(err.message, "Slow down");
        assert!(decode_response(&json!("nope")).is_err());
    }

    /// The fields openai-python's `Response` model requires (`id`, `created_at`, `model`,
    /// `object`, `output`, `parallel_tool_calls`, `tool_choice`, `tools`) plus status and usage.
    #[test]
    fn encodes_what_the_sdk_response_model_needs() {
        let response = ir::Response {
            id: "msg_01Anthropic".into(),
            model: "claude-sonnet-4-5".into(),
            content: vec![
                Block::Reasoning {
                    text: "Hmm.".into(),
                    signature: Some("sig".into()),
                    redacted: None,
                },
                Block::Text {
                    text: "Hello ".into(),
                },
                Block::Text {
                    text: "world".into(),
                },
                Block::ToolCall {
                    id: "toolu_1".into(),
                    name: "ls".into(),
                    arguments: "{}".into(),
                },
            ],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
                cache_read_tokens: 4,
                ..Usage::default()
            },
        };
        let body = encode_response(&response);
        for field in [
            "id",
            "created_at",
            "model",
            "object",
            "output",
            "parallel_tool_calls",
            "tool_choice",
            "tools",
        ] {
            assert!(body.get(field).is_some(), "missing {field}");
        }
        assert_eq!(body["id"], "resp_msg_01Anthropic");
        assert_eq!(body["object"], "response");
        assert_eq!(body["status"], "completed");
        assert_eq!(body["incomplete_details"], Value::Null);
        assert_eq!(body["error"], Value::Null);
        assert_eq!(
            body["output"],
            json!([
                {"id": "rs_msg_01Anthropic_0", "type": "reasoning",
                 "summary": [{"type": "summary_text", "text": "Hmm."}], "encrypted_content": "sig"},
                {"id": "msg_msg_01Anthropic_1", "type": "message", "status": "completed", "role": "assistant",
                 "content": [
                    {"type": "output_text", "text": "Hello ", "annotations": [], "logprobs": []},
                    {"type": "output_text", "text": "world", "annotations": [], "logprobs": []}]},
                {"id": "fc_msg_01Anthropic_2", "type": "function_call", "status": "completed",
                 "call_id": "toolu_1", "name": "ls", "arguments": "{}"}
            ])
        );
        assert_eq!(
            body["usage"],
            json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
                   "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                   "total_tokens": 15})
        );
    }

    #[test]
    fn max_tokens_encodes_as_incomplete() {
        let response = ir::Response {
            id: "resp_x".into(),
            model: "m".into(),
            content: vec![Block::Text { text: "cut".into() }],
            stop_reason: StopReason::MaxTokens,
            usage: Usage::default(),
        };
        let body = encode_response(&response);
        assert_eq!(body["status"], "incomplete");
        assert_eq!(
            body["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
    }

    #[test]
    fn decode_encode_round_trip() {
        let first = decode_response(&openai_response()).unwrap();
        let again = decode_response(&encode_response(&first)).unwrap();
        assert_eq!(first, again);
    }
}
