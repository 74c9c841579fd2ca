//! Non-streamed Chat Completions answers: a backend's `chat.completion` object decoded into an
//! `ir::Response`, and an `ir::Response` encoded for an OpenAI client.
//! Reference: <https://platform.openai.com/docs/api-reference/chat/object>.

use serde_json::{json, Map, Value};

use super::{chat_id, finish_reason_of, stop_reason_from, unix_now, usage_from, usage_to};
use crate::error::{ErrorKind, GatewayError};
use crate::ir;

fn bad_answer(what: &str) -> GatewayError {
    GatewayError::new(
        ErrorKind::BadGateway,
        format!("the backend's chat completion is malformed: {what}"),
    )
}

pub fn decode_response(body: &Value) -> Result<ir::Response, GatewayError> {
    let choice = body
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .ok_or_else(|| bad_answer("choices: expected a non-empty array"))?;
    let message = choice
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| bad_answer("choices[0].message: expected an object"))?;
    let mut content = Vec::new();
    // Reasoning first, as the model produced it: `reasoning_content` (llama.cpp, vLLM, DeepSeek)
    // or `reasoning` (Ollama, OpenRouter, newer vLLM).
    let reasoning = ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|key| message.get(*key).and_then(Value::as_str))
        .filter(|t| !t.is_empty());
    if let Some(text) = reasoning {
        content.push(ir::Block::Reasoning {
            text: text.to_owned(),
            signature: None,
            redacted: None,
        });
    }
    push_message_text(message.get("content"), &mut content);
    let refusal = message
        .get("refusal")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    if let Some(refusal) = refusal {
        content.push(ir::Block::Text {
            text: refusal.to_owned(),
        });
    }
    let had_tool_calls = push_tool_calls(message, &mut content)?;
    let finish_reason = choice.get("finish_reason").and_then(Value::as_str);
    let matched = choice.get("stop_reason").and_then(Value::as_str);
    let stop_reason = match refusal {
        Some(_) => ir::StopReason::Refusal,
        None => stop_reason_from(finish_reason, had_tool_calls, matched),
    };
    Ok(ir::Response {
        id: str_field(body, "id"),
        model: str_field(body, "model"),
        content,
        stop_reason,
        usage: body.get("usage").map(usage_from).unwrap_or_default(),
    })
}

fn str_field(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `message.content`: a string, or (some servers) an array of text parts.
fn push_message_text(value: Option<&Value>, content: &mut Vec<ir::Block>) {
    match value {
        Some(Value::String(text)) if !text.is_empty() => {
            content.push(ir::Block::Text { text: text.clone() })
        }
        Some(Value::Array(parts)) => {
            let texts = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .filter(|t| !t.is_empty());
            content.extend(texts.map(|t| ir::Block::Text { text: t.to_owned() }));
        }
        _ => {}
    }
}

/// `message.tool_calls` (and the legacy `function_call`). Returns whether there were any.
fn push_tool_calls(
    message: &Map<String, Value>,
    content: &mut Vec<ir::Block>,
) -> Result<bool, GatewayError> {
    let calls = message.get("tool_calls").and_then(Value::as_array);
    let legacy = message.get("function_call").filter(|v| v.is_object());
    let functions = calls
        .into_iter()
        .flatten()
        .map(|call| (call.get("id"), call.get("function")))
        .chain(legacy.map(|f| (None, Some(f))));
    let mut any = false;
    for (n, (id, function)) in functions.enumerate() {
        let function = function.ok_or_else(|| bad_answer("a tool call has no function"))?;
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_answer("a tool call has no function name"))?;
        let arguments = match function.get("arguments") {
            Some(Value::String(text)) => text.clone(),
            None | Some(Value::Null) => "{}".to_owned(),
            // Some servers send the arguments as an object.
            Some(other) => other.to_string(),
        };
        // Ollama has sent calls without ids; a client needs one to answer the call.
        let id = match id.and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("call_{n}"),
        };
        content.push(ir::Block::ToolCall {
            id,
            name: name.to_owned(),
            arguments,
        });
        any = true;
    }
    Ok(any)
}

pub fn encode_response(response: &ir::Response) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for block in &response.content {
        match block {
            ir::Block::Text { text: t } => text.push_str(t),
            ir::Block::Reasoning { text: t, .. } => reasoning.push_str(t),
            ir::Block::ToolCall {
                id,
                name,
                arguments,
            } => tool_calls.push(json!({
                "id": id,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            })),
            ir::Block::Image { .. } | ir::Block::ToolResult { .. } => {}
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    let content = if text.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    message.insert("content".into(), content);
    message.insert("refusal".into(), Value::Null);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), reasoning.into());
    }
    json!({
        "id": chat_id(&response.id),
        "object": "chat.completion",
        "created": unix_now(),
        "model": response.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason_of(&response.stop_reason),
        }],
        "usage": usage_to(&response.usage),
    })
}

#[cfg(test)]
mod tests {
    //! Shapes from <https://platform.openai.com/docs/api-reference/chat/object> and recorded
    //! llama.cpp / Ollama answers.
    use super::*;

    fn usage(input: u64, output: u64) -> ir::Usage {
        ir::Usage {
            input_tokens: input,
            output_tokens: output,
            ..Default::default()
        }
    }

    #[test]
    fn decodes_openai_tool_call_answer() {
        let body = json!({
            "id": "chatcmpl-BcQ8ko2nz9B7CRvV0uVbcowidHpQU",
            "object": "chat.completion",
            "created": 1748496646,
            "model": "gpt-4o-2024-08-06",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "refusal": null,
                    "annotations": [],
                    "tool_calls": [{
                        "id": "call_qOfTGgDrItLORNfC6VwUbyLL",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"location\":\"Shanghai\"}"}
                    }]
                },
                "logprobs": null,
                "finish_reason": "tool_calls"
            }],
            "usage": {
                "prompt_tokens": 91, "completion_tokens": 14, "total_tokens": 105,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}
            },
            "service_tier": "default",
            "system_fingerprint": "fp_76544d79cb"
        });
        let response = decode_response(&body).unwrap();
        assert_eq!(
            response,
            ir::Response {
                id: "chatcmpl-BcQ8ko2nz9B7CRvV0uVbcowidHpQU".into(),
                model: "gpt-4o-2024-08-06".into(),
                content: vec![ir::Block::ToolCall {
                    id: "call_qOfTGgDrItLORNfC6VwUbyLL".into(),
                    name: "get_weather".into(),
                    arguments: "{\"location\":\"Shanghai\"}".into(),
                }],
                stop_reason: ir::StopReason::ToolUse,
                usage: usage(91, 14),
            }
        );
    }

    #[test]
    fn decodes_llama_cpp_reasoning_answer() {
        let body = json!({
            "choices": [{
                "finish_reason": "length",
                "index": 0,
                "message": {"role": "assistant", "content": "The answer is", "reasoning_content": "2+2=4"}
            }],
            "created": 1748000000,
            "model": "qwen3-8b",
            "object": "chat.completion",
            "usage": {"completion_tokens": 20, "prompt_tokens": 12, "total_tokens": 32},
            "id": "chatcmpl-xyz",
            "timings": {"prompt_n": 12}
        });
        let response = decode_response(&body).unwrap();
        assert_eq!(
            response.content,
            vec![
                ir::Block::Reasoning {
                    text: "2+2=4".into(),
                    signature: None,
                    redacted: None
                },
                ir::Block::Text {
                    text: "The answer is".into()
                },
            ]
        );
        assert_eq!(response.stop_reason, ir::StopReason::MaxTokens);
        assert_eq!(response.usage, usage(12, 20));
    }

    #[test]
    fn tool_calls_with_stop_reason_stop_still_end_for_tool_use() {
        // Ollama: finish_reason "stop", no ids, object arguments.
        let body = json!({
            "id": "chatcmpl-42", "model": "llama3.1",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": "",
                "tool_calls": [{"function": {"name": "ls", "arguments": {"path": "."}}}]
            }}]
        });
        let response = decode_response(&body).unwrap();
        assert_eq!(response.stop_reason, ir::StopReason::ToolUse);
        assert_eq!(
            response.content,
            vec![ir::Block::ToolCall {
                id: "call_0".into(),
                name: "ls".into(),
                arguments: "{\"path\":\".\"}".into()
            }]
        );
        assert_eq!(response.usage, ir::Usage::default());
    }

    #[test]
    fn refusal_and_matched_stop_sequence_are_kept() {
        let refusal = json!({"id": "a", "model": "m", "choices": [{"finish_reason": "stop",
            "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]});
        let response = decode_response(&refusal).unwrap();
        assert_eq!(response.stop_reason, ir::StopReason::Refusal);
        assert_eq!(
            response.content,
            vec![ir::Block::Text {
                text: "I can't help with that.".into()
            }]
        );
        let vllm = json!({"id": "b", "model": "m", "choices": [{"finish_reason": "stop", "stop_reason": "END",
            "message": {"role": "assistant", "content": "done"}}]});
        assert_eq!(
            decode_response(&vllm).unwrap().stop_reason,
            ir::StopReason::StopSequence(Some("END".into()))
        );
    }

    #[test]
    fn malformed_answers_are_bad_gateway() {
        for body in [
            json!({}),
            json!({"choices": []}),
            json!({"choices": [{"message": "hi"}]}),
            json!({"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]}),
        ] {
            let err = decode_response(&body).unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadGateway, "for {body}");
            assert!(err
                .message
                .starts_with("the backend's chat completion is malformed"));
        }
    }

    #[test]
    fn encodes_answer_in_openai_shape() {
        let response = ir::Response {
            id: "msg_01AbC".into(),
            model: "claude-sonnet-4".into(),
            content: vec![
                ir::Block::Reasoning {
                    text: "Need the weather.".into(),
                    signature: Some("sig".into()),
                    redacted: None,
                },
                ir::Block::ToolCall {
                    id: "toolu_01".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Paris\"}".into(),
                },
            ],
            stop_reason: ir::StopReason::ToolUse,
            usage: ir::Usage {
                input_tokens: 2100,
                output_tokens: 60,
                cache_read_tokens: 2000,
                cache_creation_tokens: 0,
                reasoning_tokens: 0,
            },
        };
        let mut body = encode_response(&response);
        assert!(body["created"].as_u64().unwrap() > 1_700_000_000);
        body["created"] = json!(0);
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-msg_01AbC",
                "object": "chat.completion",
                "created": 0,
                "model": "claude-sonnet-4",
                "choices": [{
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": null,
                        "refusal": null,
                        "tool_calls": [{"id": "toolu_01", "type": "function",
                                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
                        "reasoning_content": "Need the weather."
                    },
                    "logprobs": null,
                    "finish_reason": "tool_calls"
                }],
                "usage": {
                    "prompt_tokens": 2100, "completion_tokens": 60, "total_tokens": 2160,
                    "prompt_tokens_details": {"cached_tokens": 2000},
                    "completion_tokens_details": {"reasoning_tokens": 0}
                }
            })
        );
    }

    #[test]
    fn response_round_trips() {
        let response = ir::Response {
            id: "chatcmpl-1".into(),
            model: "gpt-4o".into(),
            content: vec![
                ir::Block::Reasoning {
                    text: "hmm".into(),
                    signature: None,
                    redacted: None,
                },
                ir::Block::Text {
                    text: "Hello".into(),
                },
            ],
            stop_reason: ir::StopReason::EndTurn,
            usage: ir::Usage {
                input_tokens: 5,
                output_tokens: 7,
                cache_read_tokens: 2,
                cache_creation_tokens: 0,
                reasoning_tokens: 3,
            },
        };
        assert_eq!(
            decode_response(&encode_response(&response)).unwrap(),
            response
        );
    }
}
