//! Decoding a request: an Anthropic Messages body, as the anthropic SDKs and Claude Code send
//! it, into `ir::Request`. Unknown fields are logged and dropped; malformed input is an
//! `invalid_request_error` whose message names the field.
//!
//! Reference: <https://platform.claude.com/docs/en/api/messages>.

use serde_json::{json, Map, Value};

use crate::error::GatewayError;
use crate::ir::{
    self, Block, ImageSource, Message, ReasoningConfig, ResponseFormat, Role, ToolChoice,
};

/// Top-level fields this decoder reads. Anything else (`top_k`, `context_management`,
/// `service_tier`, `container`, `mcp_servers`...) has no place in `ir` and is logged and dropped.
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "system",
    "max_tokens",
    "temperature",
    "top_p",
    "stop_sequences",
    "stream",
    "tools",
    "tool_choice",
    "metadata",
    "thinking",
    "output_config",
    "output_format",
];

/// What the decoder skipped, logged once per request at debug level.
#[derive(Default)]
struct Ignored(Vec<String>);

impl Ignored {
    fn note(&mut self, what: impl Into<String>) {
        let what = what.into();
        if self.0.len() < 16 && !self.0.contains(&what) {
            self.0.push(what);
        }
    }

    fn log(&self) {
        if !self.0.is_empty() {
            log::debug!("anthropic request: ignored {}", self.0.join(", "));
        }
    }
}

fn invalid(path: impl std::fmt::Display, what: &str) -> GatewayError {
    GatewayError::invalid(format!("{path}: {what}"))
}

pub fn decode_request(body: &Value) -> Result<ir::Request, GatewayError> {
    let obj = body
        .as_object()
        .ok_or_else(|| GatewayError::invalid("request body: expected a JSON object"))?;
    let mut ignored = Ignored::default();
    for key in obj.keys().filter(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        ignored.note(format!("field {key}"));
    }

    let mut messages = decode_system(obj.get("system"), &mut ignored)?;
    let raw_messages = match obj.get("messages") {
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("messages", "expected an array of messages")),
        None => return Err(invalid("messages", "required field is missing")),
    };
    for (i, raw) in raw_messages.iter().enumerate() {
        messages.push(decode_message(i, raw, &mut ignored)?);
    }

    let (tool_choice, parallel_tool_calls) = decode_tool_choice(obj.get("tool_choice"))?;
    let stream = opt_bool(obj, "stream")?.unwrap_or(false);
    let request = ir::Request {
        model: opt_str(obj, "model")?.unwrap_or_default().to_owned(),
        messages,
        max_tokens: opt_u64(obj, "max_tokens")?,
        temperature: opt_f64(obj, "temperature")?,
        top_p: opt_f64(obj, "top_p")?,
        stop: decode_stop_sequences(obj.get("stop_sequences"))?,
        stream,
        // Anthropic streams always carry usage, so a client of this dialect always gets it.
        include_usage: stream,
        tools: decode_tools(obj.get("tools"), &mut ignored)?,
        tool_choice,
        parallel_tool_calls,
        response_format: decode_output_format(obj)?,
        user: decode_user(obj.get("metadata"))?,
        reasoning: decode_thinking(obj, &mut ignored)?,
    };
    ignored.log();
    Ok(request)
}

fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(key, "expected a string")),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(key, "expected true or false")),
    }
}

fn opt_f64(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(key, "expected a number")),
    }
}

fn opt_u64(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_count(v)
            .map(Some)
            .ok_or_else(|| invalid(key, "expected a non-negative integer")),
    }
}

/// A token count: an unsigned integer, also when a client wrote it as `64000.0`.
fn as_count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// `system`: a string or a list of text blocks (with `cache_control`, which `ir` has no place
/// for). Becomes one leading `System` message.
fn decode_system(
    system: Option<&Value>,
    ignored: &mut Ignored,
) -> Result<Vec<Message>, GatewayError> {
    let content = match system {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => return Ok(Vec::new()),
        Some(Value::String(text)) => vec![Block::Text { text: text.clone() }],
        Some(Value::Array(blocks)) => {
            let mut content = Vec::with_capacity(blocks.len());
            for (j, block) in blocks.iter().enumerate() {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        let text = block.get("text").and_then(Value::as_str);
                        let text = text.ok_or_else(|| {
                            invalid(format_args!("system[{j}].text"), "expected a string")
                        })?;
                        content.push(Block::Text {
                            text: text.to_owned(),
                        });
                    }
                    Some(other) => ignored.note(format!("system block type {other}")),
                    None => {
                        return Err(invalid(
                            format_args!("system[{j}]"),
                            "expected a text block object",
                        ))
                    }
                }
            }
            content
        }
        Some(_) => {
            return Err(invalid(
                "system",
                "expected a string or an array of text blocks",
            ))
        }
    };
    Ok(vec![Message {
        role: Role::System,
        content,
    }])
}

fn decode_message(i: usize, raw: &Value, ignored: &mut Ignored) -> Result<Message, GatewayError> {
    let obj = raw
        .as_object()
        .ok_or_else(|| invalid(format_args!("messages[{i}]"), "expected a message object"))?;
    let role = match obj.get("role") {
        Some(Value::String(role)) => match role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            // Claude Code sends `system` messages mid-conversation; OpenAI habits bring `developer`.
            "system" | "developer" => Role::System,
            _ => {
                return Err(invalid(
                    format_args!("messages[{i}].role"),
                    "expected \"user\", \"assistant\" or \"system\"",
                ))
            }
        },
        Some(_) => {
            return Err(invalid(
                format_args!("messages[{i}].role"),
                "expected a string",
            ))
        }
        None => {
            return Err(invalid(
                format_args!("messages[{i}].role"),
                "required field is missing",
            ))
        }
    };
    let content = match obj.get("content") {
        Some(Value::String(text)) => vec![Block::Text { text: text.clone() }],
        Some(Value::Array(blocks)) => {
            let mut content = Vec::with_capacity(blocks.len());
            for (j, block) in blocks.iter().enumerate() {
                let at = || format!("messages[{i}].content[{j}]");
                if let Some(block) = decode_block(block, &at, ignored)? {
                    content.push(block);
                }
            }
            content
        }
        None => {
            return Err(invalid(
                format_args!("messages[{i}].content"),
                "required field is missing",
            ))
        }
        Some(_) => {
            return Err(invalid(
                format_args!("messages[{i}].content"),
                "expected a string or an array of content blocks",
            ))
        }
    };
    Ok(Message { role, content })
}

fn block_str<'a>(
    block: &'a Value,
    key: &str,
    at: &dyn Fn() -> String,
) -> Result<&'a str, GatewayError> {
    block
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format_args!("{}.{key}", at()), "expected a string"))
}

/// One content block of a message. `Ok(None)` for block types `ir` cannot carry (PDF documents,
/// server-tool results, search results), which are noted and skipped.
fn decode_block(
    block: &Value,
    at: &dyn Fn() -> String,
    ignored: &mut Ignored,
) -> Result<Option<Block>, GatewayError> {
    let kind = match block.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        _ if !block.is_object() => return Err(invalid(at(), "expected a content block object")),
        _ => return Err(invalid(format_args!("{}.type", at()), "expected a string")),
    };
    let decoded = match kind {
        "text" => Block::Text {
            text: block_str(block, "text", at)?.to_owned(),
        },
        "image" => match decode_image_source(block.get("source"), at, ignored)? {
            Some(source) => Block::Image { source },
            None => return Ok(None),
        },
        "tool_use" => Block::ToolCall {
            id: block_str(block, "id", at)?.to_owned(),
            name: block_str(block, "name", at)?.to_owned(),
            arguments: match block.get("input") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(input) => input.to_string(),
            },
        },
        "tool_result" => decode_tool_result(block, at, ignored)?,
        "thinking" => Block::Reasoning {
            text: block_str(block, "thinking", at)?.to_owned(),
            signature: block
                .get("signature")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            redacted: None,
        },
        "redacted_thinking" => Block::Reasoning {
            text: String::new(),
            signature: None,
            redacted: Some(block_str(block, "data", at)?.to_owned()),
        },
        // A plain-text document is text to every model; PDFs and files have no ir form.
        "document" if block.pointer("/source/type").and_then(Value::as_str) == Some("text") => {
            match block.pointer("/source/data").and_then(Value::as_str) {
                Some(data) => Block::Text {
                    text: data.to_owned(),
                },
                None => {
                    return Err(invalid(
                        format_args!("{}.source.data", at()),
                        "expected a string",
                    ))
                }
            }
        }
        other => {
            ignored.note(format!("content block type {other}"));
            return Ok(None);
        }
    };
    Ok(Some(decoded))
}

fn decode_image_source(
    source: Option<&Value>,
    at: &dyn Fn() -> String,
    ignored: &mut Ignored,
) -> Result<Option<ImageSource>, GatewayError> {
    let source = source.filter(|s| s.is_object()).ok_or_else(|| {
        invalid(
            format_args!("{}.source", at()),
            "expected an image source object",
        )
    })?;
    let source_at = || format!("{}.source", at());
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => Ok(Some(ImageSource::Base64 {
            media_type: block_str(source, "media_type", &source_at)?.to_owned(),
            data: block_str(source, "data", &source_at)?.to_owned(),
        })),
        Some("url") => Ok(Some(ImageSource::Url {
            url: block_str(source, "url", &source_at)?.to_owned(),
        })),
        Some(other) => {
            ignored.note(format!("image source type {other}"));
            Ok(None)
        }
        None => Err(invalid(
            format_args!("{}.type", source_at()),
            "expected \"base64\" or \"url\"",
        )),
    }
}

/// `tool_result`: content is a string, a list of text and image blocks, or absent.
fn decode_tool_result(
    block: &Value,
    at: &dyn Fn() -> String,
    ignored: &mut Ignored,
) -> Result<Block, GatewayError> {
    let call_id = block_str(block, "tool_use_id", at)?.to_owned();
    let content = match block.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![Block::Text { text: text.clone() }],
        Some(Value::Array(parts)) => {
            let mut content = Vec::with_capacity(parts.len());
            for (k, part) in parts.iter().enumerate() {
                let part_at = || format!("{}.content[{k}]", at());
                match decode_block(part, &part_at, ignored)? {
                    Some(b @ (Block::Text { .. } | Block::Image { .. })) => content.push(b),
                    Some(_) => ignored.note("non-text block inside tool_result"),
                    None => {}
                }
            }
            content
        }
        Some(_) => {
            return Err(invalid(
                format_args!("{}.content", at()),
                "expected a string or an array of content blocks",
            ))
        }
    };
    let is_error = match block.get("is_error") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid(
                format_args!("{}.is_error", at()),
                "expected true or false",
            ))
        }
    };
    Ok(Block::ToolResult {
        call_id,
        content,
        is_error,
    })
}

/// Custom tools (`{name, description, input_schema}`, `type` absent or `"custom"`). Anthropic's
/// own typed tools (`web_search_20250305`, `bash_20250124`...) run on Anthropic's side or need
/// a fixed schema no other backend knows, so they are skipped.
fn decode_tools(
    tools: Option<&Value>,
    ignored: &mut Ignored,
) -> Result<Vec<ir::Tool>, GatewayError> {
    let list = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("tools", "expected an array of tool definitions")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (k, tool) in list.iter().enumerate() {
        let at = || format!("tools[{k}]");
        if !tool.is_object() {
            return Err(invalid(at(), "expected a tool definition object"));
        }
        match tool.get("type").and_then(Value::as_str) {
            None | Some("custom") => {}
            Some(other) => {
                ignored.note(format!("tool type {other}"));
                continue;
            }
        }
        let parameters = match tool.get("input_schema") {
            None | Some(Value::Null) => json!({"type": "object"}),
            Some(schema @ Value::Object(_)) => schema.clone(),
            Some(_) => {
                return Err(invalid(
                    format_args!("tools[{k}].input_schema"),
                    "expected a JSON Schema object",
                ))
            }
        };
        let description = match tool.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => {
                return Err(invalid(
                    format_args!("tools[{k}].description"),
                    "expected a string",
                ))
            }
        };
        out.push(ir::Tool {
            name: block_str(tool, "name", &at)?.to_owned(),
            description,
            parameters,
        });
    }
    Ok(out)
}

/// `tool_choice: {type: auto|any|tool|none, name?, disable_parallel_tool_use?}`. Returns the choice
/// and `parallel_tool_calls` (false when the client disabled parallel use).
fn decode_tool_choice(
    choice: Option<&Value>,
) -> Result<(Option<ToolChoice>, Option<bool>), GatewayError> {
    let choice = match choice {
        None | Some(Value::Null) => return Ok((None, None)),
        // Lenient: a bare string, as OpenAI habits write it.
        Some(Value::String(kind)) => return Ok((Some(tool_choice_of(kind, None)?), None)),
        Some(choice @ Value::Object(_)) => choice,
        Some(_) => return Err(invalid("tool_choice", "expected an object with a type")),
    };
    let kind = choice
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("tool_choice.type", "expected a string"))?;
    let name = choice.get("name").and_then(Value::as_str);
    let parallel = match choice.get("disable_parallel_tool_use") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(disable)) => Some(!disable),
        Some(_) => {
            return Err(invalid(
                "tool_choice.disable_parallel_tool_use",
                "expected true or false",
            ))
        }
    };
    Ok((Some(tool_choice_of(kind, name)?), parallel))
}

fn tool_choice_of(kind: &str, name: Option<&str>) -> Result<ToolChoice, GatewayError> {
    match kind {
        "auto" => Ok(ToolChoice::Auto),
        "any" | "required" => Ok(ToolChoice::Required),
        "none" => Ok(ToolChoice::None),
        "tool" => name.map(|n| ToolChoice::Tool(n.to_owned())).ok_or_else(|| {
            invalid(
                "tool_choice.name",
                "expected a string when type is \"tool\"",
            )
        }),
        _ => Err(invalid(
            "tool_choice.type",
            "expected \"auto\", \"any\", \"tool\" or \"none\"",
        )),
    }
}

fn decode_stop_sequences(stop: Option<&Value>) -> Result<Vec<String>, GatewayError> {
    match stop {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(k, s)| {
                s.as_str().map(str::to_owned).ok_or_else(|| {
                    invalid(format_args!("stop_sequences[{k}]"), "expected a string")
                })
            })
            .collect(),
        Some(_) => Err(invalid("stop_sequences", "expected an array of strings")),
    }
}

fn decode_user(metadata: Option<&Value>) -> Result<Option<String>, GatewayError> {
    match metadata {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(meta)) => Ok(opt_str(meta, "user_id")
            .map_err(|_| invalid("metadata.user_id", "expected a string"))?
            .map(str::to_owned)),
        Some(_) => Err(invalid("metadata", "expected an object")),
    }
}

/// `thinking: {type:"enabled", budget_tokens}` or `{type:"adaptive"}` (then `output_config.effort`
/// says how hard to think); `disabled` or absent means no reasoning.
fn decode_thinking(
    obj: &Map<String, Value>,
    ignored: &mut Ignored,
) -> Result<Option<ReasoningConfig>, GatewayError> {
    let effort = match obj.get("output_config") {
        None | Some(Value::Null) => None,
        Some(Value::Object(config)) => opt_str(config, "effort")
            .map_err(|_| invalid("output_config.effort", "expected a string"))?
            .map(str::to_owned),
        Some(_) => return Err(invalid("output_config", "expected an object")),
    };
    let thinking = match obj.get("thinking") {
        None | Some(Value::Null) => {
            if effort.is_some() {
                ignored.note("output_config.effort without thinking");
            }
            return Ok(None);
        }
        Some(thinking @ Value::Object(_)) => thinking,
        Some(_) => return Err(invalid("thinking", "expected an object")),
    };
    match thinking.get("type").and_then(Value::as_str) {
        Some("enabled") => {
            let budget = thinking.get("budget_tokens").and_then(as_count);
            let budget = budget.ok_or_else(|| {
                invalid("thinking.budget_tokens", "expected a non-negative integer")
            })?;
            Ok(Some(ReasoningConfig {
                effort,
                budget_tokens: Some(budget),
                summary: None,
            }))
        }
        Some("adaptive") => Ok(Some(ReasoningConfig {
            effort,
            budget_tokens: None,
            summary: None,
        })),
        Some("disabled") => Ok(None),
        _ => Err(invalid(
            "thinking.type",
            "expected \"enabled\", \"adaptive\" or \"disabled\"",
        )),
    }
}

/// Structured outputs: `output_config.format` (or the older beta `output_format`), each
/// `{type:"json_schema", schema}`.
fn decode_output_format(obj: &Map<String, Value>) -> Result<Option<ResponseFormat>, GatewayError> {
    let (format, at) = match obj.get("output_config").and_then(|c| c.get("format")) {
        Some(format) => (format, "output_config.format"),
        None => match obj.get("output_format") {
            Some(format) => (format, "output_format"),
            None => return Ok(None),
        },
    };
    if format.is_null() {
        return Ok(None);
    }
    match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => match format.get("schema") {
            Some(schema @ Value::Object(_)) => Ok(Some(ResponseFormat::JsonSchema {
                name: "output".to_owned(),
                schema: schema.clone(),
                strict: Some(true),
            })),
            _ => Err(invalid(
                format_args!("{at}.schema"),
                "expected a JSON Schema object",
            )),
        },
        _ => Err(invalid(
            format_args!("{at}.type"),
            "expected \"json_schema\"",
        )),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A Claude Code style request (trimmed from a real ~76 KB body): system blocks with
    /// cache_control, tools with 2020-12 schemas, adaptive thinking, output_config,
    /// context_management, metadata, a mid-conversation system message, a tool round trip with
    /// image and error results, and signed thinking in history.
    /// Shape per <https://platform.claude.com/docs/en/api/messages>.
    pub(in crate::dialect::anthropic) fn claude_code_request() -> Value {
        json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 64000,
            "stream": true,
            "system": [
                {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                 "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Working directory: /repo", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
            ],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                    {"type": "text", "text": "List the files", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "I should run ls.", "signature": "EqQBCkYIBRgCKkBsig=="},
                    {"type": "text", "text": "Listing."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "a.rs\nb.rs"}
                ]},
                {"role": "system", "content": "The user switched to plan mode."},
                {"role": "assistant", "content": [
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                    {"type": "tool_use", "id": "toolu_01B", "name": "Screenshot", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01B", "is_error": true, "content": [
                        {"type": "text", "text": "partial"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                    ]}
                ]}
            ],
            "tools": [
                {"name": "Bash", "description": "Run a command",
                 "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                  "properties": {"command": {"type": "string"}}, "required": ["command"],
                                  "additionalProperties": false}},
                {"name": "Screenshot", "input_schema": {"type": "object", "properties": {}}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
            ],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": false},
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "high"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            "metadata": {"user_id": "user_abc_account_x_session_y"},
            "temperature": 1
        })
    }

    #[test]
    fn claude_code_request_decodes_every_part() {
        let request = decode_request(&claude_code_request()).unwrap();
        assert_eq!(request.model, "claude-sonnet-4-5-20250929");
        assert_eq!(request.max_tokens, Some(64000));
        assert!(request.stream && request.include_usage);
        assert_eq!(
            request.user.as_deref(),
            Some("user_abc_account_x_session_y")
        );
        assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(request.parallel_tool_calls, Some(true));
        assert_eq!(
            request.reasoning,
            Some(ReasoningConfig {
                effort: Some("high".into()),
                budget_tokens: None,
                summary: None
            })
        );
        // The server tool is dropped; the two custom tools keep their schemas.
        assert_eq!(request.tools.len(), 2);
        assert_eq!(
            request.tools[0].parameters["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );

        let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
        use Role::*;
        assert_eq!(
            roles,
            [System, User, Assistant, User, System, Assistant, User]
        );
        assert_eq!(request.messages[0].content.len(), 2);
        assert_eq!(
            request.messages[2].content[0],
            Block::Reasoning {
                text: "I should run ls.".into(),
                signature: Some("EqQBCkYIBRgCKkBsig==".into()),
                redacted: None
            }
        );
        assert_eq!(
            request.messages[2].content[2],
            Block::ToolCall {
                id: "toolu_01A".into(),
                name: "Bash".into(),
                arguments: r#"{"command":"ls"}"#.into()
            }
        );
        assert_eq!(
            request.messages[5].content[0],
            Block::Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some("EmwKAhgBEgy3va3pzix".into())
            }
        );
        let Block::ToolResult {
            call_id,
            content,
            is_error,
        } = &request.messages[6].content[0]
        else {
            panic!("expected a tool result");
        };
        assert_eq!(
            (call_id.as_str(), *is_error, content.len()),
            ("toolu_01B", true, 2)
        );
        assert!(matches!(
            content[1],
            Block::Image {
                source: ImageSource::Base64 { .. }
            }
        ));
    }

    #[test]
    fn enabled_thinking_and_count_tokens_bodies_decode() {
        // count_tokens has no max_tokens; the older SDK sends a plain string system prompt.
        let request = decode_request(&json!({
            "model": "claude-3-7-sonnet-latest",
            "system": "Be brief.",
            "messages": [{"role": "user", "content": [
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
                {"type": "text", "text": "Hi"}
            ]}],
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "stop_sequences": ["END"],
            "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true},
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}
        }))
        .unwrap();
        assert_eq!(request.max_tokens, None);
        assert_eq!(
            request.messages[0].content,
            vec![Block::Text {
                text: "Be brief.".into()
            }]
        );
        assert_eq!(
            request.messages[1].content,
            vec![
                Block::Text {
                    text: "notes".into()
                },
                Block::Text { text: "Hi".into() }
            ],
            "a text document is text; a PDF has no ir form"
        );
        assert_eq!(request.reasoning.unwrap().budget_tokens, Some(2048));
        assert_eq!(request.stop, vec!["END".to_owned()]);
        assert_eq!(
            request.tool_choice,
            Some(ToolChoice::Tool("get_weather".into()))
        );
        assert_eq!(request.parallel_tool_calls, Some(false));
        assert!(matches!(
            request.response_format,
            Some(ResponseFormat::JsonSchema { .. })
        ));
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let cases = [
            (json!([]), "request body"),
            (json!({"model": "m"}), "messages: required"),
            (json!({"messages": {}}), "messages: expected an array"),
            (
                json!({"messages": [{"content": "x"}]}),
                "messages[0].role: required",
            ),
            (
                json!({"messages": [{"role": "bot", "content": "x"}]}),
                "messages[0].role",
            ),
            (
                json!({"messages": [{"role": "user", "content": 5}]}),
                "messages[0].content: expected a string or an array",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "text"}]}]}),
                "messages[0].content[0].text",
            ),
            (
                json!({"messages": [{"role": "user", "content": ["x"]}]}),
                "messages[0].content[0]: expected a content block",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]}),
                "messages[0].content[0].source.media_type",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 3}]}]}),
                "messages[0].content[0].content",
            ),
            (json!({"messages": [], "max_tokens": "big"}), "max_tokens"),
            (json!({"messages": [], "system": 3}), "system"),
            (
                json!({"messages": [], "tools": [{"input_schema": {}}]}),
                "tools[0].name",
            ),
            (
                json!({"messages": [], "tool_choice": {"type": "maybe"}}),
                "tool_choice.type",
            ),
            (
                json!({"messages": [], "thinking": {"type": "enabled"}}),
                "thinking.budget_tokens",
            ),
            (
                json!({"messages": [], "stop_sequences": [1]}),
                "stop_sequences[0]",
            ),
            (
                json!({"messages": [], "metadata": {"user_id": 7}}),
                "metadata.user_id",
            ),
        ];
        for (body, want) in cases {
            let err = decode_request(&body).expect_err(want);
            assert!(
                err.message.starts_with(want),
                "want {want:?}, got {:?}",
                err.message
            );
            assert_eq!(err.status, 400);
        }
    }

    #[test]
    fn decoder_never_panics_on_odd_json() {
        let odd = [
            json!(null),
            json!({"messages": [null, 1, "x"]}),
            json!({"messages": [{"role": "user", "content": [{"type": "image"}]}]}),
            json!({"messages": [{"role": "user", "content": [{"type": "tool_use"}]}]}),
            json!({"messages": [], "max_tokens": -1}),
            json!({"messages": [], "max_tokens": 1e300}),
            json!({"messages": [], "output_format": {"type": "json_schema"}}),
        ];
        for body in odd {
            let _ = decode_request(&body);
        }
    }
}
