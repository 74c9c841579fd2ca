//! Encoding an `ir::Request` as the body for a native Responses backend (OpenAI).
//!
//! The gateway is stateless, so `store` is false, items carry no ids, and reasoning is asked for
//! as `encrypted_content` (`include`) to be resent with the history. Leading system messages
//! become `instructions`; later ones stay in place as `system` messages. Spec:
//! <https://platform.openai.com/docs/api-reference/responses/create>.

use serde_json::{json, Map, Value};

use super::{arguments_or_empty_object, encrypted_content};
use crate::ir::{self, Block, ImageSource, Message, Role};

/// The body for a native Responses backend. The gateway is stateless, so `store` is false and
/// reasoning comes back as `encrypted_content` (`include`) to be resent with the history.
pub fn encode_request(request: &ir::Request) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    let leading = request
        .messages
        .iter()
        .take_while(|m| m.role == Role::System)
        .count();
    let instructions = system_text(&request.messages[..leading]);
    if !instructions.is_empty() {
        body.insert("instructions".into(), json!(instructions));
    }
    body.insert("input".into(), encode_input(&request.messages[leading..]));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request.tools.iter().map(encode_tool).collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        body.insert("tool_choice".into(), encode_tool_choice(choice));
    }
    if let Some(parallel) = request.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), json!(parallel));
    }
    insert_opt(
        &mut body,
        "max_output_tokens",
        request.max_tokens.map(Value::from),
    );
    insert_opt(
        &mut body,
        "temperature",
        request.temperature.map(Value::from),
    );
    insert_opt(&mut body, "top_p", request.top_p.map(Value::from));
    if !request.stop.is_empty() {
        log::debug!("responses request: the Responses API has no stop sequences; dropping them");
    }
    if let Some(format) = &request.response_format {
        body.insert("text".into(), json!({"format": encode_text_format(format)}));
    }
    if let Some(reasoning) = &request.reasoning {
        body.insert("reasoning".into(), encode_reasoning(reasoning));
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    insert_opt(&mut body, "user", request.user.as_deref().map(Value::from));
    body.insert("store".into(), json!(false));
    body.insert("stream".into(), json!(request.stream));
    Value::Object(body)
}

fn insert_opt(body: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        body.insert(key.into(), value);
    }
}

/// The text of system messages, joined by blank lines.
fn system_text(messages: &[Message]) -> String {
    blocks_text(messages.iter().flat_map(|m| &m.content))
}

/// The text blocks among `blocks`, joined by blank lines.
fn blocks_text<'a>(blocks: impl Iterator<Item = &'a Block>) -> String {
    let texts: Vec<&str> = blocks
        .filter_map(|b| match b {
            Block::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join("\n\n")
}

fn encode_input(messages: &[Message]) -> Value {
    let mut items = Vec::new();
    for message in messages {
        match message.role {
            Role::System => {
                let text = blocks_text(message.content.iter());
                items.push(json!({"type": "message", "role": "system", "content": text}));
            }
            Role::User => encode_user(&message.content, &mut items),
            Role::Assistant => encode_assistant(&message.content, &mut items),
        }
    }
    Value::Array(items)
}

/// A user message: its text and images as one message item, tool results as
/// `function_call_output` items, in their original order.
fn encode_user(blocks: &[Block], items: &mut Vec<Value>) {
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            Block::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                flush_user_parts(&mut parts, items);
                items.push(json!({
                    "type": "function_call_output",
                    "call_id": call_id,
                    "output": encode_tool_output(content, *is_error),
                }));
            }
            block => parts.extend(encode_input_part(block)),
        }
    }
    flush_user_parts(&mut parts, items);
}

fn flush_user_parts(parts: &mut Vec<Value>, items: &mut Vec<Value>) {
    if !parts.is_empty() {
        let content = std::mem::take(parts);
        items.push(json!({"type": "message", "role": "user", "content": content}));
    }
}

fn encode_input_part(block: &Block) -> Option<Value> {
    match block {
        Block::Text { text } => Some(json!({"type": "input_text", "text": text})),
        Block::Image { source } => {
            let url = match source {
                ImageSource::Base64 { media_type, data } => {
                    format!("data:{media_type};base64,{data}")
                }
                ImageSource::Url { url } => url.clone(),
            };
            Some(json!({"type": "input_image", "image_url": url, "detail": "auto"}))
        }
        _ => None,
    }
}

/// A tool result's output: a plain string when it is all text, else a list of parts.
/// A tool result's `output`: a string when it is all text, else input parts. The Responses API
/// has no error flag on a call's output; a failure is marked in its text (as the chat encoder
/// does), or the model would take the failure's text for a result.
fn encode_tool_output(content: &[Block], is_error: bool) -> Value {
    let prefix = if is_error { "Error: " } else { "" };
    if content.iter().all(|b| matches!(b, Block::Text { .. })) {
        return json!(format!("{prefix}{}", blocks_text(content.iter())));
    }
    let mut parts: Vec<Value> = content.iter().filter_map(encode_input_part).collect();
    if is_error {
        parts.insert(0, json!({"type": "input_text", "text": prefix}));
    }
    Value::Array(parts)
}

/// An assistant turn: text as assistant message items, calls as `function_call` items, and
/// reasoning as `reasoning` items when it carries `encrypted_content` (without it a backend can
/// do nothing with the item).
fn encode_assistant(blocks: &[Block], items: &mut Vec<Value>) {
    let mut parts: Vec<Value> = Vec::new();
    for block in blocks {
        match block {
            Block::Text { text } => parts.push(json!({"type": "output_text", "text": text})),
            Block::ToolCall {
                id,
                name,
                arguments,
            } => {
                flush_assistant_parts(&mut parts, items);
                items.push(json!({
                    "type": "function_call",
                    "call_id": id,
                    "name": name,
                    "arguments": arguments_or_empty_object(arguments),
                }));
            }
            Block::Reasoning {
                text,
                signature,
                redacted,
            } => {
                flush_assistant_parts(&mut parts, items);
                match encrypted_content(signature.as_deref(), redacted.as_deref()) {
                    Some(encrypted) => items.push(encode_reasoning_input(text, encrypted)),
                    None => log::debug!(
                        "responses request: dropping reasoning without encrypted_content"
                    ),
                }
            }
            Block::Image { .. } | Block::ToolResult { .. } => {
                log::debug!("responses request: dropping a non-text block of an assistant message");
            }
        }
    }
    flush_assistant_parts(&mut parts, items);
}

fn flush_assistant_parts(parts: &mut Vec<Value>, items: &mut Vec<Value>) {
    if !parts.is_empty() {
        let content = std::mem::take(parts);
        items.push(json!({"type": "message", "role": "assistant", "content": content}));
    }
}

fn encode_reasoning_input(text: &str, encrypted: String) -> Value {
    let summary = if text.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": text}])
    };
    json!({"type": "reasoning", "summary": summary, "encrypted_content": encrypted})
}

fn encode_tool(tool: &ir::Tool) -> Value {
    let mut value = json!({
        "type": "function",
        "name": tool.name,
        "parameters": tool.parameters,
        // Responses function tools default to strict, which rejects most real-world schemas
        // (every property required, no additionalProperties); ask for the lenient mode.
        "strict": false,
    });
    if let Some(description) = &tool.description {
        value["description"] = json!(description);
    }
    value
}

fn encode_tool_choice(choice: &ir::ToolChoice) -> Value {
    match choice {
        ir::ToolChoice::Auto => json!("auto"),
        ir::ToolChoice::None => json!("none"),
        ir::ToolChoice::Required => json!("required"),
        ir::ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
    }
}

fn encode_text_format(format: &ir::ResponseFormat) -> Value {
    match format {
        ir::ResponseFormat::Text => json!({"type": "text"}),
        ir::ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ir::ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            let mut value = json!({"type": "json_schema", "name": name, "schema": schema});
            if let Some(strict) = strict {
                value["strict"] = json!(strict);
            }
            value
        }
    }
}

/// `reasoning`: the client's effort, or one derived from an Anthropic thinking budget; a
/// summary is asked for by default so the reasoning can be shown to non-Responses clients.
fn encode_reasoning(reasoning: &ir::ReasoningConfig) -> Value {
    let effort = reasoning.effort.clone().or_else(|| {
        reasoning
            .budget_tokens
            .map(|b| effort_for_budget(b).to_owned())
    });
    let mut value = json!({"summary": reasoning.summary.as_deref().unwrap_or("auto")});
    if let Some(effort) = effort {
        value["effort"] = json!(effort);
    }
    value
}

fn effort_for_budget(budget_tokens: u64) -> &'static str {
    match budget_tokens {
        0..=4095 => "low",
        4096..=16383 => "medium",
        _ => "high",
    }
}

pub(super) fn tool_choice_json(choice: Option<&ir::ToolChoice>) -> Value {
    choice.map_or_else(|| json!("auto"), encode_tool_choice)
}

pub(super) fn tools_json(tools: &[ir::Tool]) -> Value {
    Value::Array(tools.iter().map(encode_tool).collect())
}

pub(super) fn text_format_json(format: Option<&ir::ResponseFormat>) -> Value {
    format.map_or_else(|| json!({"type": "text"}), encode_text_format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::ToolChoice;

    fn text(t: &str) -> Block {
        Block::Text { text: t.into() }
    }

    #[test]
    fn encode_request_builds_a_stateless_responses_body() {
        let request = ir::Request {
            model: "gpt-5".into(),
            messages: vec![
                Message {
                    role: Role::System,
                    content: vec![text("Rule one.")],
                },
                Message {
                    role: Role::System,
                    content: vec![text("Rule two.")],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        text("Look"),
                        Block::Image {
                            source: ImageSource::Base64 {
                                media_type: "image/jpeg".into(),
                                data: "AAA".into(),
                            },
                        },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Block::Reasoning {
                            text: "think".into(),
                            signature: Some("enc".into()),
                            redacted: None,
                        },
                        Block::Reasoning {
                            text: "no sig".into(),
                            signature: None,
                            redacted: None,
                        },
                        text("Calling."),
                        Block::ToolCall {
                            id: "toolu_1".into(),
                            name: "read".into(),
                            arguments: "".into(),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        Block::ToolResult {
                            call_id: "toolu_1".into(),
                            content: vec![text("data")],
                            is_error: false,
                        },
                        text("continue"),
                    ],
                },
                Message {
                    role: Role::System,
                    content: vec![text("Late rule.")],
                },
            ],
            max_tokens: Some(1000),
            temperature: Some(0.5),
            top_p: None,
            stop: vec!["END".into()],
            stream: true,
            include_usage: true,
            tools: vec![ir::Tool {
                name: "read".into(),
                description: Some("Reads".into()),
                parameters: json!({"type": "object"}),
            }],
            tool_choice: Some(ToolChoice::Required),
            parallel_tool_calls: Some(false),
            response_format: Some(ir::ResponseFormat::JsonObject),
            user: Some("u1".into()),
            reasoning: Some(ir::ReasoningConfig {
                effort: None,
                budget_tokens: Some(10000),
                summary: None,
            }),
        };
        let expected = json!({
            "model": "gpt-5",
            "instructions": "Rule one.\n\nRule two.",
            "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Look"},
                    {"type": "input_image", "image_url": "data:image/jpeg;base64,AAA", "detail": "auto"}]},
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}],
                 "encrypted_content": "enc"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Calling."}]},
                {"type": "function_call", "call_id": "toolu_1", "name": "read", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "toolu_1", "output": "data"},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "continue"}]},
                {"type": "message", "role": "system", "content": "Late rule."}
            ],
            "tools": [{"type": "function", "name": "read", "description": "Reads",
                       "parameters": {"type": "object"}, "strict": false}],
            "tool_choice": "required",
            "parallel_tool_calls": false,
            "max_output_tokens": 1000,
            "temperature": 0.5,
            "text": {"format": {"type": "json_object"}},
            "reasoning": {"effort": "medium", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
            "user": "u1",
            "store": false,
            "stream": true
        });
        assert_eq!(encode_request(&request), expected);
    }
}
