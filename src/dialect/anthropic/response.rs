//! Complete (non-streamed) answers: an Anthropic Message into `ir::Response` and back.
//!
//! Reference: <https://platform.claude.com/docs/en/api/messages> (the response body).

use serde_json::{json, Map, Value};

use super::{effective_stop_reason, message_id, parse_stop_reason, WireUsage, REDACTED_PREFIX};
use crate::error::{ErrorKind, GatewayError};
use crate::ir::{self, Block};

fn bad_response(what: &str) -> GatewayError {
    GatewayError::new(ErrorKind::BadGateway, format!("anthropic response: {what}"))
}

pub fn decode_response(body: &Value) -> Result<ir::Response, GatewayError> {
    let obj = body
        .as_object()
        .ok_or_else(|| bad_response("expected a JSON object"))?;
    if obj.get("type").and_then(Value::as_str) == Some("error") {
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("error");
        let kind = super::kind_of_error_type(
            body.pointer("/error/type")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        return Err(GatewayError::new(kind, message));
    }
    let blocks = obj
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_response("content: expected an array"))?;
    let mut content = Vec::with_capacity(blocks.len());
    for block in blocks {
        if let Some(block) = decode_block(block)? {
            content.push(block);
        }
    }
    let text = |key: &str| obj.get(key).and_then(Value::as_str);
    Ok(ir::Response {
        id: text("id").unwrap_or_default().to_owned(),
        model: text("model").unwrap_or_default().to_owned(),
        content,
        stop_reason: parse_stop_reason(text("stop_reason"), text("stop_sequence")),
        usage: WireUsage::from_json(obj.get("usage")).to_ir(),
    })
}

fn decode_block(block: &Value) -> Result<Option<Block>, GatewayError> {
    let field = |key: &str| block.get(key).and_then(Value::as_str);
    let decoded = match field("type") {
        Some("text") => Block::Text {
            text: field("text").unwrap_or_default().to_owned(),
        },
        Some("tool_use") => Block::ToolCall {
            id: field("id")
                .ok_or_else(|| bad_response("tool_use block without an id"))?
                .to_owned(),
            name: field("name")
                .ok_or_else(|| bad_response("tool_use block without a name"))?
                .to_owned(),
            arguments: block
                .get("input")
                .map_or_else(|| "{}".to_owned(), Value::to_string),
        },
        Some("thinking") => Block::Reasoning {
            text: field("thinking").unwrap_or_default().to_owned(),
            signature: field("signature")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            redacted: None,
        },
        Some("redacted_thinking") => Block::Reasoning {
            text: String::new(),
            signature: None,
            redacted: Some(field("data").unwrap_or_default().to_owned()),
        },
        other => {
            // server_tool_use, web_search_tool_result, ...: run on Anthropic's side, no ir form.
            log::debug!(
                "anthropic response: skipped a {} block",
                other.unwrap_or("untyped")
            );
            return Ok(None);
        }
    };
    Ok(Some(decoded))
}

/// The `input` object of a tool call. Arguments that are not a JSON object (a weak backend model)
/// become `{}`, as the SDKs type `input` as an object.
fn tool_input(id: &str, arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => {
            if !arguments.trim().is_empty() {
                log::debug!(
                    "anthropic response: tool call {id} has arguments that are not a JSON object"
                );
            }
            Value::Object(Map::new())
        }
    }
}

fn encode_block(block: &Block) -> Option<Value> {
    match block {
        Block::Text { text } if text.is_empty() => None,
        Block::Text { text } => Some(json!({"type": "text", "text": text})),
        Block::ToolCall {
            id,
            name,
            arguments,
        } => Some(
            json!({"type": "tool_use", "id": id, "name": name, "input": tool_input(id, arguments)}),
        ),
        Block::Reasoning {
            text,
            signature,
            redacted,
        } => {
            let redacted = redacted.as_deref().or_else(|| {
                signature
                    .as_deref()
                    .and_then(|s| s.strip_prefix(REDACTED_PREFIX))
            });
            Some(match redacted {
                Some(data) => json!({"type": "redacted_thinking", "data": data}),
                // The SDKs type `signature` as a string; reasoning from other backends has none.
                None => {
                    json!({"type": "thinking", "thinking": text, "signature": signature.as_deref().unwrap_or("")})
                }
            })
        }
        Block::Image { .. } | Block::ToolResult { .. } => None,
    }
}

pub fn encode_response(response: &ir::Response) -> Value {
    let content: Vec<Value> = response.content.iter().filter_map(encode_block).collect();
    let has_tool_use = response
        .content
        .iter()
        .any(|b| matches!(b, Block::ToolCall { .. }));
    let stop_sequence = match &response.stop_reason {
        ir::StopReason::StopSequence(Some(sequence)) => Value::String(sequence.clone()),
        _ => Value::Null,
    };
    json!({
        "id": message_id(&response.id),
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": content,
        "stop_reason": effective_stop_reason(&response.stop_reason, has_tool_use),
        "stop_sequence": stop_sequence,
        "usage": WireUsage::from_ir(&response.usage).to_json(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{StopReason, Usage};

    /// A response with thinking, text and a tool call, as the Messages API documents it
    /// (<https://platform.claude.com/docs/en/api/messages>, "Response").
    fn anthropic_response() -> Value {
        json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [
                {"type": "thinking", "thinking": "The user wants weather.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                 "input": {"location": "San Francisco, CA", "unit": "celsius"}},
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 2095, "output_tokens": 503,
                      "cache_creation_input_tokens": 100, "cache_read_input_tokens": 4000,
                      "service_tier": "standard"}
        })
    }

    #[test]
    fn decodes_every_block_stop_reason_and_usage() {
        let response = decode_response(&anthropic_response()).unwrap();
        assert_eq!(response.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
        assert_eq!(response.model, "claude-sonnet-4-5-20250929");
        assert_eq!(response.stop_reason, StopReason::ToolUse);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 2095 + 100 + 4000,
                output_tokens: 503,
                cache_read_tokens: 4000,
                cache_creation_tokens: 100,
                reasoning_tokens: 0
            }
        );
        assert_eq!(
            response.content.len(),
            4,
            "the server tool block has no ir form"
        );
        assert_eq!(
            response.content[3],
            Block::ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"San Francisco, CA","unit":"celsius"}"#.into()
            }
        );
        assert!(
            matches!(&response.content[1], Block::Reasoning { redacted: Some(d), .. } if d == "EmwKAhgBEgy3va3pzix")
        );
    }

    #[test]
    fn response_round_trips_through_ir() {
        let original = anthropic_response();
        let encoded = encode_response(&decode_response(&original).unwrap());
        let mut want = original.clone();
        want["content"].as_array_mut().unwrap().pop();
        want["usage"]
            .as_object_mut()
            .unwrap()
            .remove("service_tier");
        assert_eq!(encoded, want, "\n got: {encoded:#}\nwant: {want:#}");
    }

    #[test]
    fn encodes_ids_stop_sequences_and_tool_use_stop() {
        let response = ir::Response {
            id: "chatcmpl-9".into(),
            model: "gpt-4o".into(),
            content: vec![
                Block::Reasoning {
                    text: "hmm".into(),
                    signature: None,
                    redacted: None,
                },
                Block::ToolCall {
                    id: "call_1".into(),
                    name: "f".into(),
                    arguments: "{broken".into(),
                },
            ],
            stop_reason: StopReason::EndTurn,
            usage: Usage {
                input_tokens: 50,
                output_tokens: 7,
                cache_read_tokens: 20,
                ..Default::default()
            },
        };
        let body = encode_response(&response);
        assert_eq!(body["id"], "msg_chatcmpl-9");
        assert_eq!(body["stop_reason"], "tool_use");
        assert_eq!(
            body["content"][0],
            json!({"type": "thinking", "thinking": "hmm", "signature": ""})
        );
        assert_eq!(body["content"][1]["input"], json!({}));
        assert_eq!(
            body["content"][1]["id"], "call_1",
            "backend tool ids are kept as they are"
        );
        assert_eq!(
            body["usage"],
            json!({"input_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20, "output_tokens": 7})
        );

        let stopped = ir::Response {
            stop_reason: StopReason::StopSequence(Some("###".into())),
            content: vec![Block::Text { text: "a".into() }],
            ..response
        };
        let body = encode_response(&stopped);
        assert_eq!(
            (body["stop_reason"].as_str(), body["stop_sequence"].as_str()),
            (Some("stop_sequence"), Some("###"))
        );
    }

    #[test]
    fn malformed_and_error_bodies_are_errors() {
        assert_eq!(
            decode_response(&json!([])).unwrap_err().kind,
            ErrorKind::BadGateway
        );
        assert_eq!(
            decode_response(&json!({"id": "x"})).unwrap_err().kind,
            ErrorKind::BadGateway
        );
        let err = decode_response(&json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
            .unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::Overloaded, "Overloaded")
        );
    }
}
