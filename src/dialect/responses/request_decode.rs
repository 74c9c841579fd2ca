//! Decoding Responses request bodies (what the openai SDK and Codex send) into `ir::Request`.
//!
//! `input` is a string or a list of items. Items the model produced in one turn (reasoning,
//! assistant messages, function calls) are folded into one assistant message, and consecutive
//! `function_call_output` items into one user message of tool results, so the conversation has
//! the turn structure the other dialects need. Spec:
//! <https://platform.openai.com/docs/api-reference/responses/create>.

use serde_json::{json, Map, Value};

use super::split_encrypted_content;
use crate::error::GatewayError;
use crate::ir::{self, Block, ImageSource, Message, Role};

/// Fields the decoder reads or deliberately ignores; anything else is logged once per request.
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "input",
    "instructions",
    "stream",
    "max_output_tokens",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "text",
    "reasoning",
    "user",
    "safety_identifier",
    "previous_response_id",
    "conversation",
    // Accepted and ignored: server-side storage, caching hints and options with no ir field.
    "store",
    "include",
    "prompt_cache_key",
    "prompt_cache_retention",
    "metadata",
    "truncation",
    "service_tier",
    "background",
    "stream_options",
    "top_logprobs",
    "max_tool_calls",
    "client_metadata",
];

pub fn decode_request(body: &Value) -> Result<ir::Request, GatewayError> {
    let obj = body
        .as_object()
        .ok_or_else(|| GatewayError::invalid("request body: expected a JSON object"))?;
    log_unknown_fields(obj);
    reject_stored_state(obj)?;

    let mut input = InputDecoder::default();
    if let Some(instructions) = opt_str(obj, "instructions", "instructions")? {
        input.push_system(instructions);
    }
    match obj.get("input") {
        None | Some(Value::Null) => return Err(GatewayError::invalid("input: required")),
        Some(Value::String(text)) => input.push_user(vec![text_block(text)]),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                input.decode_item(item, i)?;
            }
        }
        Some(_) => {
            return Err(GatewayError::invalid(
                "input: expected a string or an array of input items",
            ))
        }
    }

    let stream = opt_bool(obj, "stream", "stream")?.unwrap_or(false);
    let user = match opt_str(obj, "user", "user")? {
        Some(user) => Some(user.to_owned()),
        None => opt_str(obj, "safety_identifier", "safety_identifier")?.map(str::to_owned),
    };
    Ok(ir::Request {
        model: opt_str(obj, "model", "model")?
            .unwrap_or_default()
            .to_owned(),
        messages: input.messages,
        max_tokens: opt_u64(obj, "max_output_tokens")?,
        temperature: opt_f64(obj, "temperature")?,
        top_p: opt_f64(obj, "top_p")?,
        stop: Vec::new(),
        stream,
        // A Responses stream always ends with usage in `response.completed`, so ask for it.
        include_usage: true,
        tools: decode_tools(obj.get("tools"))?,
        tool_choice: decode_tool_choice(obj.get("tool_choice"))?,
        parallel_tool_calls: opt_bool(obj, "parallel_tool_calls", "parallel_tool_calls")?,
        response_format: decode_text_format(obj.get("text"))?,
        user,
        reasoning: decode_reasoning(obj.get("reasoning"))?,
    })
}

fn log_unknown_fields(obj: &Map<String, Value>) {
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN_FIELDS.contains(k))
        .collect();
    if !unknown.is_empty() {
        log::debug!("responses request: ignoring unknown fields {unknown:?}");
    }
}

/// The gateway keeps no responses or conversations, so requests that point at stored state
/// cannot be served; the client must send the whole conversation (Codex always does).
fn reject_stored_state(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    if obj
        .get("previous_response_id")
        .is_some_and(|v| !v.is_null())
    {
        return Err(GatewayError::invalid(
            "previous_response_id: not supported by the gateway for non-Responses backends \
             (it stores no responses); send the full conversation in `input` instead",
        ));
    }
    if obj.get("conversation").is_some_and(|v| !v.is_null()) {
        return Err(GatewayError::invalid(
            "conversation: not supported by the gateway for non-Responses backends \
             (it stores no conversations); send the full conversation in `input` instead",
        ));
    }
    Ok(())
}

/// Builds the message list from input items, keeping turn structure (see the module doc).
#[derive(Default)]
struct InputDecoder {
    messages: Vec<Message>,
}

impl InputDecoder {
    fn push_system(&mut self, text: &str) {
        if !text.is_empty() {
            self.push(Role::System, vec![text_block(text)]);
        }
    }

    fn push_user(&mut self, content: Vec<Block>) {
        self.push(Role::User, content);
    }

    fn push(&mut self, role: Role, content: Vec<Block>) {
        if !content.is_empty() {
            self.messages.push(Message { role, content });
        }
    }

    /// Appends model output to the current assistant turn, opening one if needed.
    fn push_assistant(&mut self, blocks: Vec<Block>) {
        if blocks.is_empty() {
            return;
        }
        match self.messages.last_mut() {
            Some(last) if last.role == Role::Assistant => last.content.extend(blocks),
            _ => self.push(Role::Assistant, blocks),
        }
    }

    /// Appends a tool result to the user message of results that follows a turn's calls.
    fn push_tool_result(&mut self, block: Block) {
        if let Some(last) = self.messages.last_mut() {
            if last.role == Role::User
                && matches!(last.content.last(), Some(Block::ToolResult { .. }))
            {
                last.content.push(block);
                return;
            }
        }
        self.push(Role::User, vec![block]);
    }

    fn decode_item(&mut self, item: &Value, i: usize) -> Result<(), GatewayError> {
        let path = format!("input[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| GatewayError::invalid(format!("{path}: expected an object")))?;
        let kind = match obj.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            None | Some(Value::Null) if obj.contains_key("role") => "message",
            None | Some(Value::Null) => {
                return Err(GatewayError::invalid(format!(
                    "{path}.type: required (or a `role` for a message)"
                )))
            }
            Some(_) => {
                return Err(GatewayError::invalid(format!(
                    "{path}.type: expected a string"
                )))
            }
        };
        match kind {
            "message" => self.decode_message(obj, &path),
            "function_call" => {
                let block = decode_function_call(obj, &path)?;
                self.push_assistant(vec![block]);
                Ok(())
            }
            "function_call_output" => {
                let block = decode_function_call_output(obj, &path)?;
                self.push_tool_result(block);
                Ok(())
            }
            "reasoning" => {
                let block = decode_reasoning_item(obj, &path)?;
                self.push_assistant(block.into_iter().collect());
                Ok(())
            }
            "item_reference" => Err(GatewayError::invalid(format!(
                "{path}: item_reference is not supported by the gateway (it stores no items); \
                 send the referenced items themselves"
            ))),
            other => {
                log::debug!("responses request: skipping {path} of unsupported type {other:?}");
                Ok(())
            }
        }
    }

    fn decode_message(&mut self, obj: &Map<String, Value>, path: &str) -> Result<(), GatewayError> {
        let role = match obj.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            Some("system" | "developer") => Role::System,
            _ => {
                return Err(GatewayError::invalid(format!(
                "{path}.role: expected one of \"user\", \"assistant\", \"system\", \"developer\""
            )))
            }
        };
        let content = decode_content(obj.get("content"), &format!("{path}.content"))?;
        match role {
            Role::Assistant => self.push_assistant(content),
            role => self.push(role, content),
        }
        Ok(())
    }
}

fn text_block(text: &str) -> Block {
    Block::Text {
        text: text.to_owned(),
    }
}

/// Message content: a string, or a list of `input_text` / `input_image` / `output_text` /
/// `refusal` parts. Empty texts are dropped (Anthropic rejects empty text blocks).
fn decode_content(content: Option<&Value>, path: &str) -> Result<Vec<Block>, GatewayError> {
    match content {
        Some(Value::String(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![text_block(text)]),
        Some(Value::Array(parts)) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for (i, part) in parts.iter().enumerate() {
                if let Some(block) = decode_part(part, &format!("{path}[{i}]"))? {
                    blocks.push(block);
                }
            }
            Ok(blocks)
        }
        _ => Err(GatewayError::invalid(format!(
            "{path}: expected a string or an array of content parts"
        ))),
    }
}

fn decode_part(part: &Value, path: &str) -> Result<Option<Block>, GatewayError> {
    let obj = part
        .as_object()
        .ok_or_else(|| GatewayError::invalid(format!("{path}: expected a content part object")))?;
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let text_field = match kind {
        "input_text" | "output_text" | "text" => "text",
        "refusal" => "refusal",
        "input_image" => return decode_image(obj, path).map(Some),
        "input_file" => {
            return Err(GatewayError::invalid(format!(
                "{path}: input_file parts are not supported by the gateway; send the file's \
                 text as input_text"
            )))
        }
        other => {
            return Err(GatewayError::invalid(format!(
                "{path}.type: unsupported content part type {other:?} (expected input_text, \
                 input_image, output_text or refusal)"
            )))
        }
    };
    let text = obj
        .get(text_field)
        .and_then(Value::as_str)
        .ok_or_else(|| GatewayError::invalid(format!("{path}.{text_field}: expected a string")))?;
    Ok((!text.is_empty()).then(|| text_block(text)))
}

/// `input_image` with `image_url` as a data URL or an http(s) URL. Images by `file_id` live in
/// OpenAI's file store, which the gateway cannot read.
fn decode_image(obj: &Map<String, Value>, path: &str) -> Result<Block, GatewayError> {
    let url = match obj.get("image_url") {
        Some(Value::String(url)) => url.as_str(),
        // Chat Completions' `{url}` object form, which some clients reuse.
        Some(Value::Object(inner)) => inner.get("url").and_then(Value::as_str).unwrap_or(""),
        _ if obj.get("file_id").is_some_and(|v| !v.is_null()) => {
            return Err(GatewayError::invalid(format!(
                "{path}.file_id: images by file_id are not supported by the gateway (it has no \
                 file storage); send image_url as a data URL or an http(s) URL"
            )))
        }
        _ => "",
    };
    if url.is_empty() {
        return Err(GatewayError::invalid(format!(
            "{path}.image_url: expected a data URL or an http(s) URL"
        )));
    }
    let source = parse_image_url(url)
        .ok_or_else(|| GatewayError::invalid(format!("{path}.image_url: malformed data URL")))?;
    Ok(Block::Image { source })
}

/// `data:<media type>;base64,<data>` ⇒ base64 source; anything else is a URL.
fn parse_image_url(url: &str) -> Option<ImageSource> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Some(ImageSource::Url {
            url: url.to_owned(),
        });
    };
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some(ImageSource::Base64 {
        media_type: media_type.to_owned(),
        data: data.to_owned(),
    })
}

fn decode_function_call(obj: &Map<String, Value>, path: &str) -> Result<Block, GatewayError> {
    let call_id = req_str(obj, "call_id", path)?;
    let name = req_str(obj, "name", path)?;
    let arguments = match obj.get("arguments") {
        Some(Value::String(args)) if !args.trim().is_empty() => args.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) => "{}".to_owned(),
        Some(args @ Value::Object(_)) => args.to_string(),
        Some(_) => {
            return Err(GatewayError::invalid(format!(
                "{path}.arguments: expected a JSON string"
            )))
        }
    };
    Ok(Block::ToolCall {
        id: call_id.to_owned(),
        name: name.to_owned(),
        arguments,
    })
}

fn decode_function_call_output(
    obj: &Map<String, Value>,
    path: &str,
) -> Result<Block, GatewayError> {
    let call_id = req_str(obj, "call_id", path)?;
    let output_path = format!("{path}.output");
    let content = match obj.get("output") {
        Some(Value::String(text)) => vec![text_block(text)],
        Some(Value::Array(_)) => decode_content(obj.get("output"), &output_path)?,
        _ => {
            return Err(GatewayError::invalid(format!(
                "{output_path}: expected a string or an array of content parts"
            )))
        }
    };
    Ok(Block::ToolResult {
        call_id: call_id.to_owned(),
        content,
        is_error: false,
    })
}

/// A reasoning item from an earlier turn: its summary (or raw reasoning text) and the opaque
/// `encrypted_content`, which is what lets a backend resume its reasoning.
fn decode_reasoning_item(
    obj: &Map<String, Value>,
    path: &str,
) -> Result<Option<Block>, GatewayError> {
    let summary = joined_texts(obj.get("summary"), &format!("{path}.summary"))?;
    let text = if summary.is_empty() {
        joined_texts(obj.get("content"), &format!("{path}.content"))?
    } else {
        summary
    };
    let encrypted = opt_str(
        obj,
        "encrypted_content",
        &format!("{path}.encrypted_content"),
    )?;
    let (signature, redacted) = split_encrypted_content(encrypted);
    if text.is_empty() && signature.is_none() && redacted.is_none() {
        return Ok(None);
    }
    Ok(Some(Block::Reasoning {
        text,
        signature,
        redacted,
    }))
}

/// The `text` fields of a list of `{type, text}` parts, joined by blank lines.
fn joined_texts(parts: Option<&Value>, path: &str) -> Result<String, GatewayError> {
    let parts = match parts {
        None | Some(Value::Null) => return Ok(String::new()),
        Some(Value::Array(parts)) => parts,
        Some(_) => return Err(GatewayError::invalid(format!("{path}: expected an array"))),
    };
    let mut texts = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let text = part
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| GatewayError::invalid(format!("{path}[{i}].text: expected a string")))?;
        texts.push(text);
    }
    Ok(texts.join("\n\n"))
}

/// Function tools only. Hosted and grouping tools (`web_search`, `namespace`, `custom`,
/// `local_shell`...) have no meaning on another backend and are skipped.
fn decode_tools(tools: Option<&Value>) -> Result<Vec<ir::Tool>, GatewayError> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(GatewayError::invalid("tools: expected an array")),
    };
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let path = format!("tools[{i}]");
        let obj = tool
            .as_object()
            .ok_or_else(|| GatewayError::invalid(format!("{path}: expected an object")))?;
        match obj.get("type").and_then(Value::as_str) {
            Some("function") => out.push(decode_function_tool(obj, &path)?),
            other => log::debug!("responses request: skipping {path} of type {other:?}"),
        }
    }
    Ok(out)
}

fn decode_function_tool(obj: &Map<String, Value>, path: &str) -> Result<ir::Tool, GatewayError> {
    let parameters = match obj.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(_) => {
            return Err(GatewayError::invalid(format!(
                "{path}.parameters: expected a JSON Schema object"
            )))
        }
    };
    Ok(ir::Tool {
        name: req_str(obj, "name", path)?.to_owned(),
        description: opt_str(obj, "description", &format!("{path}.description"))?
            .map(str::to_owned),
        parameters,
    })
}

fn decode_tool_choice(choice: Option<&Value>) -> Result<Option<ir::ToolChoice>, GatewayError> {
    let choice = match choice {
        None | Some(Value::Null) => return Ok(None),
        Some(choice) => choice,
    };
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(Some(ir::ToolChoice::Auto)),
            "none" => Ok(Some(ir::ToolChoice::None)),
            "required" => Ok(Some(ir::ToolChoice::Required)),
            _ => Err(GatewayError::invalid(
                "tool_choice: expected \"auto\", \"none\", \"required\" or an object",
            )),
        },
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = req_str(obj, "name", "tool_choice")?;
                Ok(Some(ir::ToolChoice::Tool(name.to_owned())))
            }
            Some("allowed_tools") => match obj.get("mode").and_then(Value::as_str) {
                Some("required") => Ok(Some(ir::ToolChoice::Required)),
                _ => Ok(Some(ir::ToolChoice::Auto)),
            },
            other => {
                log::debug!("responses request: tool_choice of type {other:?} treated as auto");
                Ok(Some(ir::ToolChoice::Auto))
            }
        },
        _ => Err(GatewayError::invalid(
            "tool_choice: expected \"auto\", \"none\", \"required\" or an object",
        )),
    }
}

/// `text.format`: plain text, JSON mode, or a JSON schema (structured outputs).
fn decode_text_format(text: Option<&Value>) -> Result<Option<ir::ResponseFormat>, GatewayError> {
    let format = match text {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(text)) => match text.get("format") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(format)) => format,
            Some(_) => return Err(GatewayError::invalid("text.format: expected an object")),
        },
        Some(_) => return Err(GatewayError::invalid("text: expected an object")),
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(Some(ir::ResponseFormat::Text)),
        Some("json_object") => Ok(Some(ir::ResponseFormat::JsonObject)),
        Some("json_schema") => {
            let schema = match format.get("schema") {
                Some(schema @ Value::Object(_)) => schema.clone(),
                _ => {
                    return Err(GatewayError::invalid(
                        "text.format.schema: expected a JSON Schema object",
                    ))
                }
            };
            Ok(Some(ir::ResponseFormat::JsonSchema {
                name: opt_str(format, "name", "text.format.name")?
                    .unwrap_or("response")
                    .to_owned(),
                schema,
                strict: opt_bool(format, "strict", "text.format.strict")?,
            }))
        }
        _ => Err(GatewayError::invalid(
            "text.format.type: expected \"text\", \"json_object\" or \"json_schema\"",
        )),
    }
}

fn decode_reasoning(
    reasoning: Option<&Value>,
) -> Result<Option<ir::ReasoningConfig>, GatewayError> {
    let obj = match reasoning {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(GatewayError::invalid("reasoning: expected an object")),
    };
    let effort = opt_str(obj, "effort", "reasoning.effort")?.map(str::to_owned);
    let summary = match opt_str(obj, "summary", "reasoning.summary")? {
        Some(summary) => Some(summary.to_owned()),
        // The deprecated spelling of `summary`.
        None => opt_str(obj, "generate_summary", "reasoning.generate_summary")?.map(str::to_owned),
    };
    if effort.is_none() && summary.is_none() {
        return Ok(None);
    }
    Ok(Some(ir::ReasoningConfig {
        effort,
        budget_tokens: None,
        summary,
    }))
}

fn req_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, GatewayError> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| GatewayError::invalid(format!("{path}.{key}: required string")))
}

/// A string field that may be absent or null; `path` names it in the error.
fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(GatewayError::invalid(format!("{path}: expected a string"))),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(GatewayError::invalid(format!("{path}: expected a boolean"))),
    }
}

fn opt_u64(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| GatewayError::invalid(format!("{key}: expected a positive integer"))),
    }
}

fn opt_f64(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>, GatewayError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| GatewayError::invalid(format!("{key}: expected a number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::encode_request;
    use super::*;
    use crate::ir::ToolChoice;

    fn text(t: &str) -> Block {
        text_block(t)
    }

    fn err_of(body: Value) -> String {
        decode_request(&body).unwrap_err().message
    }

    /// A Codex CLI request as observed (CLIENTS.md): empty `instructions`, the system prompt as a
    /// `developer` message, items with ids, reasoning carried back with `encrypted_content`, and
    /// non-function tools. Shapes per <https://platform.openai.com/docs/api-reference/responses/create>.
    fn codex_request() -> Value {
        json!({
            "model": "gpt-5-codex",
            "instructions": "",
            "input": [
                {"type": "message", "role": "developer", "content": [
                    {"type": "input_text", "text": "You are Codex, a coding agent."}]},
                {"type": "message", "role": "user", "id": "msg_u1", "content": [
                    {"type": "input_text", "text": "<environment_context>cwd=/repo</environment_context>"},
                    {"type": "input_text", "text": "List the files."}]},
                {"type": "reasoning", "id": "rs_1", "summary": [
                    {"type": "summary_text", "text": "**Listing**"},
                    {"type": "summary_text", "text": "Use ls."}],
                 "content": null, "encrypted_content": "gAAAAenc"},
                {"type": "function_call", "id": "fc_1", "call_id": "call_A", "name": "shell",
                 "arguments": "{\"command\":[\"ls\"]}", "status": "completed"},
                {"type": "function_call", "id": "fc_2", "call_id": "call_B", "name": "shell",
                 "arguments": "{\"command\":[\"pwd\"]}", "status": "completed"},
                {"type": "function_call_output", "call_id": "call_A", "output": "Cargo.toml\nsrc"},
                {"type": "function_call_output", "call_id": "call_B", "output": "/repo"},
                {"type": "message", "role": "assistant", "id": "msg_a1", "content": [
                    {"type": "output_text", "text": "Two files.", "annotations": []}]},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Thanks"}]}
            ],
            "tools": [
                {"type": "function", "name": "shell", "description": "Runs a command",
                 "strict": false, "parameters": {"type": "object", "properties": {
                     "command": {"type": "array", "items": {"type": "string"}}},
                     "required": ["command"], "additionalProperties": false}},
                {"type": "namespace", "name": "mcp", "tools": [{"type": "function", "name": "x"}]},
                {"type": "web_search"}
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": true,
            "reasoning": {"effort": "medium", "summary": "auto"},
            "store": false,
            "stream": true,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "0198-abcd"
        })
    }

    #[test]
    fn codex_request_decodes_turns_and_skips_hosted_tools() {
        let req = decode_request(&codex_request()).unwrap();
        assert_eq!(req.model, "gpt-5-codex");
        assert!(req.stream);
        assert!(req.include_usage);
        assert_eq!(req.parallel_tool_calls, Some(true));
        assert_eq!(req.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(
            req.reasoning,
            Some(ir::ReasoningConfig {
                effort: Some("medium".into()),
                budget_tokens: None,
                summary: Some("auto".into()),
            })
        );
        assert_eq!(req.tools.len(), 1, "namespace and web_search are skipped");
        assert_eq!(req.tools[0].name, "shell");
        assert_eq!(req.tools[0].description.as_deref(), Some("Runs a command"));

        let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                Role::System,
                Role::User,
                Role::Assistant,
                Role::User,
                Role::Assistant,
                Role::User
            ]
        );
        assert_eq!(
            req.messages[0].content,
            [text("You are Codex, a coding agent.")]
        );
        assert_eq!(req.messages[1].content.len(), 2);
        assert_eq!(
            req.messages[2].content,
            [
                Block::Reasoning {
                    text: "**Listing**\n\nUse ls.".into(),
                    signature: Some("gAAAAenc".into()),
                    redacted: None,
                },
                Block::ToolCall {
                    id: "call_A".into(),
                    name: "shell".into(),
                    arguments: "{\"command\":[\"ls\"]}".into(),
                },
                Block::ToolCall {
                    id: "call_B".into(),
                    name: "shell".into(),
                    arguments: "{\"command\":[\"pwd\"]}".into(),
                },
            ]
        );
        assert_eq!(
            req.messages[3].content,
            [
                Block::ToolResult {
                    call_id: "call_A".into(),
                    content: vec![text("Cargo.toml\nsrc")],
                    is_error: false,
                },
                Block::ToolResult {
                    call_id: "call_B".into(),
                    content: vec![text("/repo")],
                    is_error: false,
                },
            ]
        );
        assert_eq!(req.messages[4].content, [text("Two files.")]);
        assert_eq!(req.last_user_text(), "Thanks");
    }

    /// The openai SDK's function-calling follow-up (`client.responses.create(input=[...])`):
    /// short-form messages, the model's `function_call` item echoed back, then its output.
    #[test]
    fn openai_sdk_tool_follow_up_decodes() {
        let body = json!({
            "model": "gpt-4.1",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": "Weather in Paris?"},
                {"type": "function_call", "id": "fc_67", "call_id": "call_12", "name": "get_weather",
                 "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
                {"type": "function_call_output", "call_id": "call_12", "output": [
                    {"type": "input_text", "text": "18C"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "low"}]}
            ],
            "tools": [{"type": "function", "name": "get_weather", "strict": true,
                       "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "max_output_tokens": 500,
            "temperature": 0.2,
            "top_p": 0.9,
            "user": "user-42",
            "text": {"format": {"type": "json_schema", "name": "weather", "strict": true,
                                "schema": {"type": "object"}}}
        });
        let req = decode_request(&body).unwrap();
        assert!(!req.stream);
        assert_eq!(req.max_tokens, Some(500));
        assert_eq!(req.temperature, Some(0.2));
        assert_eq!(req.top_p, Some(0.9));
        assert_eq!(req.user.as_deref(), Some("user-42"));
        assert_eq!(
            req.tool_choice,
            Some(ToolChoice::Tool("get_weather".into()))
        );
        assert_eq!(
            req.response_format,
            Some(ir::ResponseFormat::JsonSchema {
                name: "weather".into(),
                schema: json!({"type": "object"}),
                strict: Some(true),
            })
        );
        assert_eq!(
            req.messages[0],
            Message {
                role: Role::System,
                content: vec![text("Be brief.")]
            }
        );
        assert_eq!(req.messages[1].content, [text("Weather in Paris?")]);
        assert_eq!(req.messages[2].role, Role::Assistant);
        assert_eq!(
            req.messages[3].content,
            [Block::ToolResult {
                call_id: "call_12".into(),
                content: vec![
                    text("18C"),
                    Block::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBOR".into(),
                        }
                    },
                ],
                is_error: false,
            }]
        );
    }

    #[test]
    fn string_input_and_mid_conversation_system_messages() {
        let req = decode_request(&json!({"model": "m", "input": "hi"})).unwrap();
        assert_eq!(
            req.messages,
            [Message {
                role: Role::User,
                content: vec![text("hi")]
            }]
        );

        let req = decode_request(&json!({"model": "m", "input": [
            {"role": "user", "content": "a"},
            {"role": "system", "content": "late rule"},
            {"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]},
        ]}))
        .unwrap();
        assert_eq!(
            req.messages[1],
            Message {
                role: Role::System,
                content: vec![text("late rule")]
            }
        );
        assert_eq!(
            req.messages[2].content,
            [Block::Image {
                source: ImageSource::Url {
                    url: "https://x/y.png".into()
                }
            }]
        );
    }

    #[test]
    fn stateful_requests_are_refused_clearly() {
        let msg = err_of(json!({"model": "m", "input": "hi", "previous_response_id": "resp_1"}));
        assert!(msg.contains("previous_response_id"), "{msg}");
        assert!(msg.contains("send the full conversation"), "{msg}");
        let msg = err_of(json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}));
        assert!(msg.starts_with("input[0]"), "{msg}");
        // An explicit null is what some SDK versions send when the field is unset.
        assert!(
            decode_request(&json!({"model": "m", "input": "x", "previous_response_id": null}))
                .is_ok()
        );
    }

    #[test]
    fn image_by_file_id_is_a_clear_400() {
        let msg = err_of(json!({"model": "m", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "see"},
            {"type": "input_image", "file_id": "file-123"}]}]}));
        assert!(msg.starts_with("input[0].content[1].file_id:"), "{msg}");
        assert!(msg.contains("not supported"), "{msg}");
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let cases = [
            (json!([1]), "request body"),
            (json!({"model": "m"}), "input: required"),
            (json!({"model": "m", "input": 5}), "input: expected"),
            (
                json!({"model": "m", "input": [{"content": "x"}]}),
                "input[0].type",
            ),
            (
                json!({"model": "m", "input": [{"type": "message", "content": "x"}]}),
                "input[0].role",
            ),
            (
                json!({"model": "m", "input": [{"role": "user", "content": 3}]}),
                "input[0].content: expected a string or an array of content parts",
            ),
            (
                json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
                "input[0].content[0].type",
            ),
            (
                json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}),
                "input[0].call_id",
            ),
            (
                json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}),
                "input[0].output",
            ),
            (json!({"model": 7, "input": "x"}), "model"),
            (json!({"model": "m", "input": "x", "tools": {}}), "tools"),
            (
                json!({"model": "m", "input": "x", "tools": [{"type": "function"}]}),
                "tools[0].name",
            ),
            (
                json!({"model": "m", "input": "x", "tool_choice": "sometimes"}),
                "tool_choice",
            ),
            (
                json!({"model": "m", "input": "x", "max_output_tokens": -1}),
                "max_output_tokens",
            ),
            (
                json!({"model": "m", "input": "x", "temperature": "hot"}),
                "temperature",
            ),
            (
                json!({"model": "m", "input": "x", "stream": "yes"}),
                "stream",
            ),
            (
                json!({"model": "m", "input": "x", "text": {"format": {"type": "xml"}}}),
                "text.format.type",
            ),
            (
                json!({"model": "m", "input": "x", "reasoning": "high"}),
                "reasoning",
            ),
        ];
        for (body, field) in cases {
            let err = decode_request(&body).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(err.message.starts_with(field), "{body}: {}", err.message);
        }
    }

    #[test]
    fn odd_json_never_panics() {
        let junk = [
            json!(null),
            json!("s"),
            json!({}),
            json!({"input": [null, 1, "x", [], {}]}),
            json!({"input": [{"type": "reasoning", "summary": [1]}]}),
            json!({"input": [{"type": "reasoning", "summary": "x"}]}),
            json!({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:xx"}]}]}),
            json!({"input": [{"role": "user", "content": [{}]}]}),
            json!({"input": "x", "tool_choice": {"type": "function"}}),
            json!({"input": "x", "text": {"format": {"type": "json_schema"}}}),
            json!({"input": "x", "tools": [null]}),
        ];
        for body in junk {
            let _ = decode_request(&body);
        }
    }

    #[test]
    fn tool_choice_and_text_format_variants() {
        let choice = |v: Value| decode_tool_choice(Some(&v)).unwrap();
        assert_eq!(choice(json!("none")), Some(ToolChoice::None));
        assert_eq!(choice(json!("required")), Some(ToolChoice::Required));
        assert_eq!(
            choice(json!({"type": "allowed_tools", "mode": "required", "tools": []})),
            Some(ToolChoice::Required)
        );
        assert_eq!(
            choice(json!({"type": "web_search_preview"})),
            Some(ToolChoice::Auto)
        );
        let format = |v: Value| decode_text_format(Some(&v)).unwrap();
        assert_eq!(
            format(json!({"format": {"type": "json_object"}})),
            Some(ir::ResponseFormat::JsonObject)
        );
        assert_eq!(format(json!({"verbosity": "low"})), None);
    }

    #[test]
    fn decode_encode_round_trip_keeps_the_conversation() {
        let first = decode_request(&codex_request()).unwrap();
        let second = decode_request(&encode_request(&first)).unwrap();
        assert_eq!(first.messages, second.messages);
        assert_eq!(first.tools, second.tools);
        assert_eq!(first.tool_choice, second.tool_choice);
        assert_eq!(first.reasoning, second.reasoning);
        assert_eq!(first.stream, second.stream);
    }
}
