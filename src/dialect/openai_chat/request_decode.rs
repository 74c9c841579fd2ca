//! Decoding a client's Chat Completions request body into an `ir::Request`.
//!
//! Lenient where real clients differ (explicit `null`s, legacy `functions`, LiteLLM's
//! `thinking_blocks`, OpenRouter's `reasoning` object) and strict about types: a wrong one is an
//! `invalid_request` error naming the field.
//! Reference: <https://platform.openai.com/docs/api-reference/chat/create>.

use std::fmt::Display;

use serde_json::{json, Map, Value};

use crate::error::GatewayError;
use crate::ir;

/// Request fields this decoder reads; anything else is logged once and ignored.
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "stream",
    "stream_options",
    "tools",
    "functions",
    "tool_choice",
    "function_call",
    "parallel_tool_calls",
    "response_format",
    "user",
    "safety_identifier",
    "reasoning_effort",
    "reasoning",
    "thinking",
];

fn invalid(path: impl Display, what: &str) -> GatewayError {
    GatewayError::invalid(format!("{path}: {what}"))
}

pub fn decode_request(body: &Value) -> Result<ir::Request, GatewayError> {
    let obj = body
        .as_object()
        .ok_or_else(|| GatewayError::invalid("request body: expected a JSON object"))?;
    log_unknown_fields(obj);
    let max_tokens = match opt_u64(obj, "max_completion_tokens")? {
        Some(n) => Some(n),
        None => opt_u64(obj, "max_tokens")?,
    };
    let user = match opt_str(obj, "user")? {
        Some(user) => Some(user),
        None => opt_str(obj, "safety_identifier")?,
    };
    Ok(ir::Request {
        model: opt_str(obj, "model")?.unwrap_or_default().to_owned(),
        messages: decode_messages(obj.get("messages"))?,
        max_tokens,
        temperature: opt_f64(obj, "temperature")?,
        top_p: opt_f64(obj, "top_p")?,
        stop: decode_stop(obj.get("stop"))?,
        stream: opt_bool(obj, "stream")?.unwrap_or(false),
        include_usage: decode_include_usage(obj.get("stream_options"))?,
        tools: decode_tools(obj)?,
        tool_choice: decode_tool_choice(obj)?,
        parallel_tool_calls: opt_bool(obj, "parallel_tool_calls")?,
        response_format: decode_response_format(obj.get("response_format"))?,
        user: user.map(str::to_owned),
        reasoning: decode_reasoning(obj)?,
    })
}

fn log_unknown_fields(obj: &Map<String, Value>) {
    if obj.keys().any(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        let unknown: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !KNOWN_FIELDS.contains(k))
            .collect();
        log::debug!(
            "openai chat request: ignoring fields {}",
            unknown.join(", ")
        );
    }
}

/// A field that is absent or `null` (clients send explicit nulls for unset options) is `None`.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, GatewayError> {
    match present(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| invalid(key, "expected a string")),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, GatewayError> {
    match present(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| invalid(key, "expected a boolean")),
    }
}

fn opt_f64(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>, GatewayError> {
    match present(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(key, "expected a number")),
    }
}

/// A non-negative integer; `1024.0` is accepted, as some clients serialize every number as a float.
fn opt_u64(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, GatewayError> {
    let Some(v) = present(obj, key) else {
        return Ok(None);
    };
    let whole_float = v
        .as_f64()
        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
        .map(|f| f as u64);
    v.as_u64()
        .or(whole_float)
        .map(Some)
        .ok_or_else(|| invalid(key, "expected a non-negative integer"))
}

fn decode_stop(value: Option<&Value>) -> Result<Vec<String>, GatewayError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format_args!("stop[{i}]"), "expected a string"))
            })
            .collect(),
        Some(_) => Err(invalid("stop", "expected a string or an array of strings")),
    }
}

fn decode_include_usage(value: Option<&Value>) -> Result<bool, GatewayError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(options)) => Ok(opt_bool(options, "include_usage")
            .map_err(|_| invalid("stream_options.include_usage", "expected a boolean"))?
            .unwrap_or(false)),
        Some(_) => Err(invalid("stream_options", "expected an object")),
    }
}

// --- messages ---

fn decode_messages(value: Option<&Value>) -> Result<Vec<ir::Message>, GatewayError> {
    let list = match value {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Err(invalid("messages", "missing; expected an array")),
        Some(_) => return Err(invalid("messages", "expected an array of messages")),
    };
    let mut messages: Vec<ir::Message> = Vec::with_capacity(list.len());
    // Legacy `function_call`s carry no id; `role: "function"` results name the function instead.
    let mut legacy_calls: Vec<(String, String)> = Vec::new();
    for (i, message) in list.iter().enumerate() {
        let obj = message
            .as_object()
            .ok_or_else(|| invalid(format_args!("messages[{i}]"), "expected an object"))?;
        let role = match obj.get("role") {
            Some(Value::String(role)) => role.as_str(),
            None | Some(Value::Null) => {
                return Err(invalid(format_args!("messages[{i}].role"), "missing"))
            }
            Some(_) => {
                return Err(invalid(
                    format_args!("messages[{i}].role"),
                    "expected a string",
                ))
            }
        };
        match role {
            "system" | "developer" => messages.push(ir::Message {
                role: ir::Role::System,
                content: decode_content(i, obj.get("content"))?,
            }),
            "user" => messages.push(ir::Message {
                role: ir::Role::User,
                content: decode_content(i, obj.get("content"))?,
            }),
            "assistant" => messages.push(decode_assistant(i, obj, &mut legacy_calls)?),
            "tool" => {
                let call_id = match obj.get("tool_call_id") {
                    Some(Value::String(id)) => id.clone(),
                    _ => {
                        return Err(invalid(
                            format_args!("messages[{i}].tool_call_id"),
                            "expected a string",
                        ))
                    }
                };
                push_tool_result(
                    &mut messages,
                    call_id,
                    decode_content(i, obj.get("content"))?,
                );
            }
            "function" => {
                let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
                let call_id = legacy_calls
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map_or_else(|| name.to_owned(), |(_, id)| id.clone());
                push_tool_result(
                    &mut messages,
                    call_id,
                    decode_content(i, obj.get("content"))?,
                );
            }
            other => {
                return Err(GatewayError::invalid(format!(
                    "messages[{i}].role: unknown role {other:?} (expected system, developer, \
                     user, assistant or tool)"
                )))
            }
        }
    }
    Ok(messages)
}

/// Adds a tool result as a user message, joining it to the previous one when that holds only
/// tool results: the `ir` (like Anthropic) keeps the results of one turn in one message.
fn push_tool_result(messages: &mut Vec<ir::Message>, call_id: String, content: Vec<ir::Block>) {
    let block = ir::Block::ToolResult {
        call_id,
        content,
        is_error: false,
    };
    if let Some(last) = messages.last_mut() {
        let only_results = !last.content.is_empty()
            && last
                .content
                .iter()
                .all(|b| matches!(b, ir::Block::ToolResult { .. }));
        if last.role == ir::Role::User && only_results {
            last.content.push(block);
            return;
        }
    }
    messages.push(ir::Message {
        role: ir::Role::User,
        content: vec![block],
    });
}

/// The content of a system, user or tool message: a string or an array of parts.
fn decode_content(i: usize, content: Option<&Value>) -> Result<Vec<ir::Block>, GatewayError> {
    match content {
        Some(Value::String(text)) => Ok(vec![ir::Block::Text { text: text.clone() }]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, part)| decode_part(i, j, part))
            .collect(),
        None | Some(Value::Null) => Err(invalid(format_args!("messages[{i}].content"), "missing")),
        Some(_) => Err(invalid(
            format_args!("messages[{i}].content"),
            "expected a string or an array of content parts",
        )),
    }
}

fn decode_part(i: usize, j: usize, part: &Value) -> Result<ir::Block, GatewayError> {
    let path = || format!("messages[{i}].content[{j}]");
    let obj = part
        .as_object()
        .ok_or_else(|| invalid(path(), "expected an object"))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format_args!("{}.type", path()), "expected a string"))?;
    let text_field = |key: &str| match obj.get(key) {
        Some(Value::String(text)) => Ok(ir::Block::Text { text: text.clone() }),
        _ => Err(invalid(
            format_args!("{}.{key}", path()),
            "expected a string",
        )),
    };
    match kind {
        "text" | "input_text" => text_field("text"),
        "refusal" => text_field("refusal"),
        "image_url" => {
            let url = match obj.get("image_url") {
                Some(Value::String(url)) => Some(url.as_str()),
                Some(Value::Object(image)) => image.get("url").and_then(Value::as_str),
                _ => None,
            };
            let url = url.ok_or_else(|| {
                invalid(
                    format_args!("{}.image_url.url", path()),
                    "expected a string",
                )
            })?;
            Ok(ir::Block::Image {
                source: image_source(url),
            })
        }
        "input_audio" | "file" => Err(GatewayError::invalid(format!(
            "{}: {kind:?} parts are not supported by this gateway",
            path()
        ))),
        other => Err(GatewayError::invalid(format!(
            "{}.type: unknown content part type {other:?}",
            path()
        ))),
    }
}

/// A `data:` URL with base64 data becomes inline image data; anything else stays a URL.
fn image_source(url: &str) -> ir::ImageSource {
    if let Some(rest) = url.strip_prefix("data:") {
        if let Some((header, data)) = rest.split_once(',') {
            if let Some(media_type) = header.strip_suffix(";base64") {
                return ir::ImageSource::Base64 {
                    media_type: media_type.to_owned(),
                    data: data.to_owned(),
                };
            }
        }
    }
    ir::ImageSource::Url {
        url: url.to_owned(),
    }
}

fn decode_assistant(
    i: usize,
    obj: &Map<String, Value>,
    legacy_calls: &mut Vec<(String, String)>,
) -> Result<ir::Message, GatewayError> {
    let mut content = decode_reasoning_history(i, obj)?;
    match obj.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => push_text(&mut content, text),
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                match decode_part(i, j, part)? {
                    ir::Block::Text { text } => push_text(&mut content, &text),
                    other => content.push(other),
                }
            }
        }
        Some(_) => {
            return Err(invalid(
                format_args!("messages[{i}].content"),
                "expected a string, null or an array of content parts",
            ))
        }
    }
    match obj.get("tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Array(calls)) => {
            for (j, call) in calls.iter().enumerate() {
                if let Some(block) = decode_tool_call(i, j, call)? {
                    content.push(block);
                }
            }
        }
        Some(_) => {
            return Err(invalid(
                format_args!("messages[{i}].tool_calls"),
                "expected an array",
            ))
        }
    }
    if let Some(call) = present(obj, "function_call") {
        let (name, arguments) = function_fields(call, &format!("messages[{i}].function_call"))?;
        let id = format!("call_legacy_{i}");
        legacy_calls.push((name.clone(), id.clone()));
        content.push(ir::Block::ToolCall {
            id,
            name,
            arguments,
        });
    }
    Ok(ir::Message {
        role: ir::Role::Assistant,
        content,
    })
}

/// Assistant text; empty strings (sent beside tool calls) carry nothing.
fn push_text(content: &mut Vec<ir::Block>, text: &str) {
    if !text.is_empty() {
        content.push(ir::Block::Text {
            text: text.to_owned(),
        });
    }
}

/// Reasoning an assistant message carries: LiteLLM's `thinking_blocks` (Anthropic blocks with
/// their signatures, preferred as they are complete), else `reasoning_content` (DeepSeek, vLLM,
/// llama.cpp) or `reasoning` (OpenRouter, Ollama).
fn decode_reasoning_history(
    i: usize,
    obj: &Map<String, Value>,
) -> Result<Vec<ir::Block>, GatewayError> {
    if let Some(blocks) = present(obj, "thinking_blocks") {
        let blocks = blocks.as_array().ok_or_else(|| {
            invalid(
                format_args!("messages[{i}].thinking_blocks"),
                "expected an array",
            )
        })?;
        let text_of = |b: &Value, key: &str| b.get(key).and_then(Value::as_str).map(str::to_owned);
        return Ok(blocks
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("thinking") => Some(ir::Block::Reasoning {
                    text: text_of(b, "thinking").unwrap_or_default(),
                    signature: text_of(b, "signature"),
                    redacted: None,
                }),
                Some("redacted_thinking") => Some(ir::Block::Reasoning {
                    text: String::new(),
                    signature: None,
                    redacted: text_of(b, "data"),
                }),
                _ => None,
            })
            .collect());
    }
    let text = ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|key| obj.get(*key).and_then(Value::as_str))
        .filter(|t| !t.is_empty());
    Ok(text
        .map(|text| ir::Block::Reasoning {
            text: text.to_owned(),
            signature: None,
            redacted: None,
        })
        .into_iter()
        .collect())
}

/// One entry of an assistant's `tool_calls`. Non-function calls (`custom` tools) have no place
/// in the `ir` and are dropped with a debug log.
fn decode_tool_call(i: usize, j: usize, call: &Value) -> Result<Option<ir::Block>, GatewayError> {
    let path = format!("messages[{i}].tool_calls[{j}]");
    let obj = call
        .as_object()
        .ok_or_else(|| invalid(&path, "expected an object"))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("function");
    if kind != "function" {
        log::debug!("openai chat request: dropping a {kind:?} tool call at {path}");
        return Ok(None);
    }
    let function = obj
        .get("function")
        .ok_or_else(|| invalid(format_args!("{path}.function"), "missing"))?;
    let (name, arguments) = function_fields(function, &format!("{path}.function"))?;
    // Some clients omit ids on replayed calls; a stable made-up id keeps the history valid.
    let id = match obj.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => format!("call_{i}_{j}"),
    };
    Ok(Some(ir::Block::ToolCall {
        id,
        name,
        arguments,
    }))
}

/// `{name, arguments}` of a call. `arguments` is JSON text; some clients send an object instead.
fn function_fields(function: &Value, path: &str) -> Result<(String, String), GatewayError> {
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format_args!("{path}.name"), "expected a string"))?;
    let arguments = match function.get("arguments") {
        Some(Value::String(text)) => text.clone(),
        None | Some(Value::Null) => "{}".to_owned(),
        Some(other) => other.to_string(),
    };
    Ok((name.to_owned(), arguments))
}

// --- tools and options ---

fn decode_tools(obj: &Map<String, Value>) -> Result<Vec<ir::Tool>, GatewayError> {
    let mut tools = Vec::new();
    if let Some(list) = present(obj, "tools") {
        let list = list
            .as_array()
            .ok_or_else(|| invalid("tools", "expected an array"))?;
        for (i, tool) in list.iter().enumerate() {
            let kind = tool
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("function");
            if kind != "function" {
                log::debug!("openai chat request: dropping a {kind:?} tool at tools[{i}]");
                continue;
            }
            let function = tool
                .get("function")
                .ok_or_else(|| invalid(format_args!("tools[{i}].function"), "missing"))?;
            tools.push(decode_function(function, &format!("tools[{i}].function"))?);
        }
    }
    // The legacy `functions` list, still sent by older clients.
    if let Some(list) = present(obj, "functions") {
        let list = list
            .as_array()
            .ok_or_else(|| invalid("functions", "expected an array"))?;
        for (i, function) in list.iter().enumerate() {
            tools.push(decode_function(function, &format!("functions[{i}]"))?);
        }
    }
    Ok(tools)
}

fn decode_function(function: &Value, path: &str) -> Result<ir::Tool, GatewayError> {
    let obj = function
        .as_object()
        .ok_or_else(|| invalid(path, "expected an object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format_args!("{path}.name"), "expected a string"))?;
    let description = match present(obj, "description") {
        None => None,
        Some(Value::String(d)) => Some(d.clone()),
        Some(_) => {
            return Err(invalid(
                format_args!("{path}.description"),
                "expected a string",
            ))
        }
    };
    let parameters = match present(obj, "parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => {
            return Err(invalid(
                format_args!("{path}.parameters"),
                "expected an object",
            ))
        }
    };
    Ok(ir::Tool {
        name: name.to_owned(),
        description,
        parameters,
    })
}

fn decode_tool_choice(obj: &Map<String, Value>) -> Result<Option<ir::ToolChoice>, GatewayError> {
    if let Some(choice) = present(obj, "tool_choice") {
        return decode_choice(choice, "tool_choice").map(Some);
    }
    match present(obj, "function_call") {
        None => Ok(None),
        Some(choice) => decode_choice(choice, "function_call").map(Some),
    }
}

/// `tool_choice` (or the legacy `function_call`, whose object form is `{name}`).
fn decode_choice(choice: &Value, field: &str) -> Result<ir::ToolChoice, GatewayError> {
    let named = |name: Option<&Value>| {
        name.and_then(Value::as_str)
            .map(|n| ir::ToolChoice::Tool(n.to_owned()))
            .ok_or_else(|| invalid(format_args!("{field}.function.name"), "expected a string"))
    };
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(ir::ToolChoice::Auto),
            "none" => Ok(ir::ToolChoice::None),
            "required" | "any" => Ok(ir::ToolChoice::Required),
            _ => Err(invalid(
                field,
                "expected \"auto\", \"none\", \"required\" or an object naming a function",
            )),
        },
        Value::Object(obj) if obj.contains_key("name") => named(obj.get("name")),
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some("function") => named(obj.get("function").and_then(|f| f.get("name"))),
            Some("allowed_tools") => {
                // The allowed subset has no place in the `ir`; keep its mode.
                log::debug!("openai chat request: allowed_tools narrowed to its mode");
                let mode = choice
                    .pointer("/allowed_tools/mode")
                    .and_then(Value::as_str);
                Ok(match mode {
                    Some("required") => ir::ToolChoice::Required,
                    _ => ir::ToolChoice::Auto,
                })
            }
            _ => Err(invalid(
                format_args!("{field}.type"),
                "expected \"function\"",
            )),
        },
        _ => Err(invalid(field, "expected a string or an object")),
    }
}

fn decode_response_format(
    value: Option<&Value>,
) -> Result<Option<ir::ResponseFormat>, GatewayError> {
    let Some(format) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let kind = format
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("response_format.type", "expected a string"))?;
    match kind {
        "text" => Ok(Some(ir::ResponseFormat::Text)),
        "json_object" => Ok(Some(ir::ResponseFormat::JsonObject)),
        "json_schema" => {
            let spec = format
                .get("json_schema")
                .and_then(Value::as_object)
                .ok_or_else(|| invalid("response_format.json_schema", "expected an object"))?;
            Ok(Some(ir::ResponseFormat::JsonSchema {
                name: opt_str(spec, "name")
                    .map_err(|_| invalid("response_format.json_schema.name", "expected a string"))?
                    .unwrap_or("response")
                    .to_owned(),
                schema: spec.get("schema").cloned().unwrap_or_else(|| json!({})),
                strict: spec.get("strict").and_then(Value::as_bool),
            }))
        }
        other => Err(GatewayError::invalid(format!(
            "response_format.type: unknown format {other:?} (expected text, json_object or \
             json_schema)"
        ))),
    }
}

/// `reasoning_effort`, OpenRouter's `reasoning: {effort, max_tokens}`, or the Anthropic-style
/// `thinking: {type: "enabled", budget_tokens}` that LiteLLM clients send.
fn decode_reasoning(obj: &Map<String, Value>) -> Result<Option<ir::ReasoningConfig>, GatewayError> {
    let mut config = ir::ReasoningConfig {
        effort: opt_str(obj, "reasoning_effort")?.map(str::to_owned),
        ..Default::default()
    };
    if let Some(reasoning) = present(obj, "reasoning") {
        let effort = reasoning.get("effort").and_then(Value::as_str);
        config.effort = config.effort.or(effort.map(str::to_owned));
        config.budget_tokens = reasoning.get("max_tokens").and_then(Value::as_u64);
        config.summary = reasoning
            .get("summary")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if let Some(thinking) = present(obj, "thinking") {
        if thinking.get("type").and_then(Value::as_str) == Some("enabled") {
            let budget = thinking.get("budget_tokens").and_then(Value::as_u64);
            config.budget_tokens = config.budget_tokens.or(budget);
        }
    }
    Ok((config != ir::ReasoningConfig::default()).then_some(config))
}
