//! Encoding a request: an `ir::Request` into the body api.anthropic.com accepts — strict
//! user/assistant alternation, tool results first in their user turn, a `max_tokens` always,
//! thinking only where the API allows it, tool definitions for every tool the history calls.
//!
//! Reference: <https://platform.claude.com/docs/en/api/messages>; thinking rules:
//! <https://platform.claude.com/docs/en/build-with-claude/extended-thinking>.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::REDACTED_PREFIX;
use crate::ir::{self, Block, ImageSource, Message, ResponseFormat, Role, ToolChoice};

/// The `max_tokens` sent when the client gave none. The API requires the field; 4096 fits every
/// Claude model's output limit and a typical answer.
const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The smallest `budget_tokens` the API accepts.
const MIN_THINKING_BUDGET: u64 = 1024;

/// How a request asks a Claude model to think.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Thinking {
    Off,
    /// `{type:"enabled", budget_tokens}`: every Claude model with extended thinking up to 4.5.
    Budget(u64),
    /// `{type:"adaptive"}` plus `output_config.effort`: Claude 4.6 and later (4.7 and the 5
    /// family reject `enabled` with a 400). `None` leaves the API's default effort.
    Adaptive(Option<&'static str>),
}

/// The thinking budget for an OpenAI-style effort. Powers of two from the API minimum (1024) up
/// to 24576, so that budget + the default answer room (4096) stays under the smallest output
/// limit of a thinking model (32000 for Claude Opus 4). Unknown efforts count as medium, which is
/// OpenAI's default.
fn effort_budget(effort: &str) -> Option<u64> {
    match effort {
        "none" => None,
        "minimal" => Some(1024),
        "low" => Some(2048),
        "high" => Some(16384),
        "xhigh" | "max" => Some(24576),
        _ => Some(8192),
    }
}

/// The `output_config.effort` of adaptive thinking for an OpenAI-style effort.
fn adaptive_effort(effort: &str) -> &'static str {
    match effort {
        "minimal" | "low" => "low",
        "high" => "high",
        "xhigh" | "max" => "max",
        _ => "medium",
    }
}

/// The adaptive effort closest to an explicit budget.
fn effort_of_budget(budget: u64) -> &'static str {
    match budget {
        0..=2048 => "low",
        2049..=8192 => "medium",
        _ => "high",
    }
}

/// The (major, minor) version in a Claude model name: `claude-opus-4-5-20251101` ⇒ (4, 5),
/// `claude-3-7-sonnet-latest` ⇒ (3, 7), `claude-sonnet-5` ⇒ (5, 0). A date stops the scan.
fn claude_version(model: &str) -> Option<(u32, u32)> {
    let lower = model.to_ascii_lowercase();
    let rest = &lower[lower.find("claude")? + "claude".len()..];
    let mut numbers = rest
        .split(['-', '.', '_', '/', ':', '@'])
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .take_while(|t| t.len() <= 2)
        .filter_map(|t| t.parse::<u32>().ok());
    let major = numbers.next()?;
    Some((major, numbers.next().unwrap_or(0)))
}

/// Whether a model takes adaptive thinking rather than a fixed budget. Names without a Claude
/// version (aliases, other servers speaking this API) keep the budget form every model knew.
fn uses_adaptive_thinking(model: &str) -> bool {
    let lower = model.to_ascii_lowercase();
    lower.contains("mythos")
        || lower.contains("fable")
        || claude_version(model).is_some_and(|v| v >= (4, 6))
}

/// Whether the conversation lets thinking be switched on. The API demands that the final
/// assistant message start with a (signed) thinking block when it holds tool calls; histories
/// from other dialects have no such block, so for them thinking stays off.
fn history_allows_thinking(messages: &[Message]) -> bool {
    // A turn of nothing but thinking is dropped when the body is built (`Turns::into_json`),
    // so the final assistant message the API sees is the last one with something else in it.
    let only_thinking = |m: &&Message| {
        m.content
            .iter()
            .all(|b| matches!(b, Block::Reasoning { .. }))
    };
    let Some(last) = messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::Assistant)
        .find(|m| !only_thinking(m))
    else {
        return true;
    };
    if !last
        .content
        .iter()
        .any(|b| matches!(b, Block::ToolCall { .. }))
    {
        return true;
    }
    matches!(
        last.content.first(),
        Some(
            Block::Reasoning {
                signature: Some(_),
                ..
            } | Block::Reasoning {
                redacted: Some(_),
                ..
            }
        )
    )
}

fn plan_thinking(request: &ir::Request) -> Thinking {
    let Some(config) = &request.reasoning else {
        return Thinking::Off;
    };
    if config.effort.as_deref() == Some("none") {
        return Thinking::Off;
    }
    // "Thinking isn't compatible with ... forced tool use": the forced call is what the client
    // cannot do without, so thinking gives way.
    if matches!(
        request.tool_choice,
        Some(ToolChoice::Required | ToolChoice::Tool(_))
    ) {
        log::debug!("anthropic request: thinking left off because tool_choice forces a tool");
        return Thinking::Off;
    }
    if !history_allows_thinking(&request.messages) {
        log::debug!("anthropic request: thinking left off, the last tool-calling turn has no signed thinking");
        return Thinking::Off;
    }
    if uses_adaptive_thinking(&request.model) {
        let effort = match (&config.effort, config.budget_tokens) {
            (Some(effort), _) => Some(adaptive_effort(effort)),
            (None, Some(budget)) => Some(effort_of_budget(budget)),
            (None, None) => None,
        };
        return Thinking::Adaptive(effort);
    }
    let budget = config
        .budget_tokens
        .or_else(|| config.effort.as_deref().and_then(effort_budget))
        .unwrap_or(8192);
    Thinking::Budget(budget.max(MIN_THINKING_BUDGET))
}

/// Fits the thinking budget and `max_tokens` together: the API wants `max_tokens` above
/// `budget_tokens`. A client's explicit `max_tokens` is a cap it chose (OpenAI's counts reasoning
/// too), so the budget shrinks to fit it — to half of it, leaving room for the answer — and
/// thinking is dropped when not even the minimum budget fits. Without a cap, the answer gets the
/// default room on top of the budget.
fn fit_max_tokens(thinking: Thinking, max_tokens: Option<u64>) -> (Thinking, u64) {
    let budget = match thinking {
        Thinking::Off => return (thinking, max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        Thinking::Budget(budget) => budget,
        Thinking::Adaptive(effort) => {
            // Adaptive thinking spends from `max_tokens` too; give it the equivalent budget's room.
            let room = effort_budget(effort.unwrap_or("high")).unwrap_or(8192);
            return (thinking, max_tokens.unwrap_or(room + DEFAULT_MAX_TOKENS));
        }
    };
    let Some(max) = max_tokens else {
        return (thinking, budget + DEFAULT_MAX_TOKENS);
    };
    if budget < max {
        return (thinking, max);
    }
    let fitted = (max / 2).max(MIN_THINKING_BUDGET);
    if fitted < max {
        (Thinking::Budget(fitted), max)
    } else {
        log::debug!(
            "anthropic request: max_tokens {max} leaves no room for thinking; thinking left off"
        );
        (Thinking::Off, max)
    }
}

/// The tool id as the API accepts it (`^[a-zA-Z0-9_-]+$`); other servers' ids may hold other
/// characters. Applied alike to `tool_use` and `tool_result`, so pairs still match.
fn tool_id(id: &str) -> Cow<'_, str> {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.chars().all(valid) {
        Cow::Borrowed(id)
    } else if id.is_empty() {
        Cow::Borrowed("toolu_unnamed")
    } else {
        Cow::Owned(id.chars().map(|c| if valid(c) { c } else { '_' }).collect())
    }
}

/// The `input` object of a call from its JSON text. Anything but an object (bad JSON from a
/// weak model, an array) becomes `{}`: the API accepts only objects.
fn tool_input(id: &str, arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => {
            log::debug!(
                "anthropic: tool call {id} has arguments that are not a JSON object; sent as {{}}"
            );
            Value::Object(Map::new())
        }
    }
}

fn image_json(source: &ImageSource) -> Value {
    match source {
        ImageSource::Base64 { media_type, data } => {
            json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
        }
        ImageSource::Url { url } => match parse_data_url(url) {
            Some((media_type, data)) => {
                json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
            }
            None => json!({"type": "image", "source": {"type": "url", "url": url}}),
        },
    }
}

/// `data:image/png;base64,AAAA` ⇒ (`image/png`, `AAAA`).
fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// A thinking block to send back, if the API can take it: it verifies signatures, so reasoning
/// without one (from an OpenAI-compatible backend) cannot go back and is dropped.
fn reasoning_json(text: &str, signature: Option<&str>, redacted: Option<&str>) -> Option<Value> {
    if let Some(data) = redacted.or_else(|| signature.and_then(|s| s.strip_prefix(REDACTED_PREFIX)))
    {
        return Some(json!({"type": "redacted_thinking", "data": data}));
    }
    let signature = signature.filter(|s| !s.is_empty())?;
    Some(json!({"type": "thinking", "thinking": text, "signature": signature}))
}

fn tool_result_json(call_id: &str, content: &[Block], is_error: bool) -> Value {
    let mut parts: Vec<Value> = Vec::with_capacity(content.len());
    for block in content {
        match block {
            Block::Text { text } if !text.is_empty() => {
                parts.push(json!({"type": "text", "text": text}))
            }
            Block::Image { source } => parts.push(image_json(source)),
            _ => {}
        }
    }
    let mut result = Map::new();
    result.insert("type".into(), "tool_result".into());
    result.insert("tool_use_id".into(), tool_id(call_id).into());
    match parts.len() {
        0 => {}
        1 if parts[0]["type"] == "text" => {
            result.insert("content".into(), parts[0]["text"].clone());
        }
        _ => {
            result.insert("content".into(), Value::Array(parts));
        }
    }
    if is_error {
        result.insert("is_error".into(), true.into());
    }
    Value::Object(result)
}

/// One wire message being assembled. Tool results are kept apart because the API wants them
/// first in their user message.
struct Turn {
    role: Role,
    results: Vec<Value>,
    others: Vec<Value>,
}

/// Builds the strictly alternating user/assistant list the API requires, merging consecutive
/// same-role content.
#[derive(Default)]
struct Turns(Vec<Turn>);

impl Turns {
    fn push(&mut self, role: Role, block: Value, is_result: bool) {
        let turn = match self.0.last_mut() {
            Some(turn) if turn.role == role => turn,
            _ => {
                self.0.push(Turn {
                    role,
                    results: Vec::new(),
                    others: Vec::new(),
                });
                self.0.last_mut().expect("a turn was just pushed")
            }
        };
        if is_result {
            turn.results.push(block);
        } else {
            turn.others.push(block);
        }
    }

    fn into_json(self) -> Vec<Value> {
        let mut merged: Vec<Turn> = Vec::with_capacity(self.0.len());
        for mut turn in self.0 {
            // "The final block in an assistant message cannot be `thinking`."
            while turn.others.last().is_some_and(is_thinking) {
                turn.others.pop();
            }
            if turn.results.is_empty() && turn.others.is_empty() {
                continue;
            }
            match merged.last_mut() {
                // Dropping an empty turn can leave two of one role side by side: join them.
                Some(prev) if prev.role == turn.role => {
                    prev.results.append(&mut turn.results);
                    prev.others.append(&mut turn.others);
                }
                _ => merged.push(turn),
            }
        }
        // "messages: first message must use the \"user\" role": an OpenAI history may open with
        // the assistant's greeting, or its first user turn may have held only dropped blocks.
        if merged.first().is_some_and(|t| t.role == Role::Assistant) {
            merged.insert(
                0,
                Turn {
                    role: Role::User,
                    results: Vec::new(),
                    others: vec![json!({"type": "text", "text": "(continued)"})],
                },
            );
        }
        merged
            .into_iter()
            .map(|mut turn| {
                let role = if turn.role == Role::Assistant {
                    "assistant"
                } else {
                    "user"
                };
                let mut content = turn.results;
                content.append(&mut turn.others);
                json!({"role": role, "content": content})
            })
            .collect()
    }
}

fn is_thinking(block: &Value) -> bool {
    matches!(
        block["type"].as_str(),
        Some("thinking" | "redacted_thinking")
    )
}

/// The wrapper of a system message that comes after the conversation began. The API has no
/// system role inside `messages`, and moving the text into `system` would both change its place
/// in the conversation and break the cached prompt prefix; so it goes into the user turn where
/// it stood, tagged the way Claude Code tags its own mid-conversation system notes, so the model
/// reads it as a system instruction rather than as the user's words.
fn system_note(message: &Message) -> Option<Value> {
    let text = joined_text(&message.content);
    (!text.is_empty()).then(|| json!({"type": "text", "text": format!("<system-reminder>\n{text}\n</system-reminder>")}))
}

fn joined_text(content: &[Block]) -> String {
    let mut text = String::new();
    for block in content {
        if let Block::Text { text: t } = block {
            if !t.is_empty() {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(t);
            }
        }
    }
    text
}

fn encode_messages(messages: &[Message], thinking_on: bool) -> Vec<Value> {
    let mut turns = Turns::default();
    for message in messages {
        if message.role == Role::System {
            if let Some(note) = system_note(message) {
                turns.push(Role::User, note, false);
            }
            continue;
        }
        let role = message.role;
        for block in &message.content {
            match block {
                Block::Text { text } if text.is_empty() => {}
                Block::Text { text } => turns.push(role, json!({"type": "text", "text": text}), false),
                Block::Image { source } if role == Role::User => turns.push(role, image_json(source), false),
                Block::ToolCall { id, name, arguments } if role == Role::Assistant => turns.push(
                    role,
                    json!({"type": "tool_use", "id": tool_id(id), "name": name, "input": tool_input(id, arguments)}),
                    false,
                ),
                Block::ToolResult {
                    call_id,
                    content,
                    is_error,
                } => turns.push(Role::User, tool_result_json(call_id, content, *is_error), true),
                Block::Reasoning {
                    text,
                    signature,
                    redacted,
                } if role == Role::Assistant && thinking_on => {
                    if let Some(block) = reasoning_json(text, signature.as_deref(), redacted.as_deref()) {
                        turns.push(role, block, false);
                    }
                }
                // With thinking off the API ignores earlier thinking blocks and rejects them in
                // a final assistant message, so they are left out.
                Block::Reasoning { .. } => {}
                _ => log::debug!("anthropic request: a block the {role:?} role cannot carry was dropped"),
            }
        }
    }
    turns.into_json()
}

/// The instruction that stands in for OpenAI's `response_format`. Anthropic's structured outputs
/// (`output_config.format`) exist only on some models and reject schema features OpenAI allows,
/// so a plain instruction in the system prompt is the form every model honours.
fn response_format_instruction(format: &ResponseFormat) -> Option<String> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => {
            Some("Respond with a single valid JSON object and nothing else: no prose, no code fences.".to_owned())
        }
        ResponseFormat::JsonSchema { name, schema, .. } => Some(format!(
            "Respond with a single JSON value that conforms to the JSON Schema named \"{name}\" below, and nothing \
             else: no prose, no code fences.\n{schema}"
        )),
    }
}

/// `system` from the leading System messages (and the JSON instruction): a string when there is
/// one text, else a list of text blocks.
fn encode_system(leading: &[Message], format: Option<&ResponseFormat>) -> Option<Value> {
    let mut texts: Vec<&str> = Vec::new();
    for message in leading {
        for block in &message.content {
            match block {
                Block::Text { text } if !text.is_empty() => texts.push(text),
                Block::Text { .. } => {}
                _ => log::debug!("anthropic request: a non-text system block was dropped"),
            }
        }
    }
    let instruction = format.and_then(response_format_instruction);
    if let Some(instruction) = &instruction {
        texts.push(instruction);
    }
    match texts.as_slice() {
        [] => None,
        [one] => Some(Value::String((*one).to_owned())),
        many => Some(Value::Array(
            many.iter()
                .map(|t| json!({"type": "text", "text": t}))
                .collect(),
        )),
    }
}

/// The schema as the API takes it: an object schema (`type: "object"` is required).
fn input_schema(parameters: &Value) -> Value {
    match parameters {
        Value::Object(schema) if schema.contains_key("type") => parameters.clone(),
        Value::Object(schema) => {
            let mut schema = schema.clone();
            schema.insert("type".into(), "object".into());
            Value::Object(schema)
        }
        _ => json!({"type": "object"}),
    }
}

fn encode_tools(tools: &[ir::Tool]) -> Vec<Value> {
    tools
        .iter()
        .map(|tool| {
            let mut def = Map::new();
            def.insert("name".into(), tool.name.clone().into());
            if let Some(description) = tool.description.as_ref().filter(|d| !d.is_empty()) {
                def.insert("description".into(), description.clone().into());
            }
            def.insert("input_schema".into(), input_schema(&tool.parameters));
            Value::Object(def)
        })
        .collect()
}

/// Definitions for the tools the history calls but the request does not list (the `llm` CLI's
/// follow-ups send no `tools` at all). The API rejects `tool_use` blocks whose tool is not
/// defined; the real schemas are unknown, and an open object schema is all the model needs to
/// read the history.
fn synthesize_tools(messages: &[Message], listed: &[ir::Tool]) -> Vec<Value> {
    let mut names: Vec<&str> = Vec::new();
    for message in messages {
        for block in &message.content {
            if let Block::ToolCall { name, .. } = block {
                if !names.contains(&name.as_str()) && !listed.iter().any(|t| t.name == *name) {
                    names.push(name);
                }
            }
        }
    }
    names
        .into_iter()
        .map(|name| json!({"name": name, "input_schema": {"type": "object"}}))
        .collect()
}

fn tool_choice_json(choice: Option<&ToolChoice>, parallel: Option<bool>) -> Option<Value> {
    let mut value = match choice {
        None if parallel != Some(false) => return None,
        None | Some(ToolChoice::Auto) => json!({"type": "auto"}),
        // `none` takes no other field.
        Some(ToolChoice::None) => return Some(json!({"type": "none"})),
        Some(ToolChoice::Required) => json!({"type": "any"}),
        Some(ToolChoice::Tool(name)) => json!({"type": "tool", "name": name}),
    };
    if parallel == Some(false) {
        value["disable_parallel_tool_use"] = true.into();
    }
    Some(value)
}

pub fn encode_request(request: &ir::Request) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), request.model.clone().into());

    let split = request
        .messages
        .iter()
        .position(|m| m.role != Role::System)
        .unwrap_or(request.messages.len());
    let (leading, conversation) = request.messages.split_at(split);
    if let Some(system) = encode_system(leading, request.response_format.as_ref()) {
        body.insert("system".into(), system);
    }

    let (thinking, max_tokens) = fit_max_tokens(plan_thinking(request), request.max_tokens);
    let thinking_on = thinking != Thinking::Off;
    body.insert(
        "messages".into(),
        Value::Array(encode_messages(conversation, thinking_on)),
    );
    body.insert("max_tokens".into(), max_tokens.into());
    match thinking {
        Thinking::Off => {}
        Thinking::Budget(budget) => {
            body.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": budget}),
            );
        }
        Thinking::Adaptive(effort) => {
            body.insert("thinking".into(), json!({"type": "adaptive"}));
            if let Some(effort) = effort {
                body.insert("output_config".into(), json!({"effort": effort}));
            }
        }
    }
    insert_sampling(&mut body, request, thinking_on);

    if !request.stop.is_empty() {
        // The API rejects stop sequences made only of whitespace (OpenAI clients send "\n").
        let stops: Vec<&str> = request
            .stop
            .iter()
            .map(String::as_str)
            .filter(|s| !s.trim().is_empty())
            .collect();
        if !stops.is_empty() {
            body.insert("stop_sequences".into(), json!(stops));
        }
    }
    insert_tools(&mut body, request);
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    if request.stream {
        body.insert("stream".into(), true.into());
    }
    Value::Object(body)
}

/// `temperature` and `top_p`. With thinking on the API takes no temperature and a `top_p` only
/// from 0.95 to 1; recent models reject both together, so `temperature` wins. OpenAI's
/// temperature runs to 2, Anthropic's to 1.
fn insert_sampling(body: &mut Map<String, Value>, request: &ir::Request, thinking_on: bool) {
    let temperature = request.temperature.filter(|_| !thinking_on);
    if let Some(t) = temperature {
        body.insert("temperature".into(), t.clamp(0.0, 1.0).into());
    }
    let top_p = request
        .top_p
        .filter(|_| temperature.is_none())
        .filter(|p| !thinking_on || *p >= 0.95);
    if let Some(p) = top_p {
        body.insert("top_p".into(), p.clamp(0.0, 1.0).into());
    }
}

fn insert_tools(body: &mut Map<String, Value>, request: &ir::Request) {
    let mut tools = encode_tools(&request.tools);
    tools.extend(synthesize_tools(&request.messages, &request.tools));
    if tools.is_empty() {
        return;
    }
    body.insert("tools".into(), Value::Array(tools));
    // Tools made up for the history are there to be read, not called: the client offered none.
    let choice = if request.tools.is_empty() {
        Some(json!({"type": "none"}))
    } else {
        tool_choice_json(request.tool_choice.as_ref(), request.parallel_tool_calls)
    };
    if let Some(choice) = choice {
        body.insert("tool_choice".into(), choice);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::anthropic::decode_request;
    use crate::dialect::anthropic::request_decode::tests::claude_code_request;
    use crate::ir::ReasoningConfig;

    fn user(text: &str) -> Message {
        Message {
            role: Role::User,
            content: vec![Block::Text { text: text.into() }],
        }
    }

    fn system(text: &str) -> Message {
        Message {
            role: Role::System,
            content: vec![Block::Text { text: text.into() }],
        }
    }

    fn call(id: &str, name: &str, args: &str) -> Block {
        Block::ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: args.into(),
        }
    }

    fn result(id: &str, text: &str) -> Block {
        Block::ToolResult {
            call_id: id.into(),
            content: vec![Block::Text { text: text.into() }],
            is_error: false,
        }
    }

    /// The openai SDK's tool follow-up, as the chat decoder hands it over: system, user,
    /// assistant with empty text and two parallel calls, two `role: tool` results (user role
    /// in ir), then an aider-style system message after the last user message.
    #[test]
    fn openai_tool_follow_up_encodes_for_the_messages_api() {
        let request = ir::Request {
            model: "claude-sonnet-4-20250514".into(),
            messages: vec![
                system("You are helpful."),
                user("Weather in Paris and Rome?"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Block::Text {
                            text: String::new(),
                        },
                        call("call_1", "get_weather", r#"{"city":"Paris"}"#),
                        call("call:2", "get_weather", "{not json"),
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![result("call_1", "18C")],
                },
                Message {
                    role: Role::User,
                    content: vec![result("call:2", "21C")],
                },
                system("Answer in French."),
            ],
            temperature: Some(1.5),
            top_p: Some(1.0),
            stop: vec!["\n".into(), "END".into()],
            tools: vec![ir::Tool {
                name: "get_weather".into(),
                description: Some("Current weather".into()),
                parameters: json!({"properties": {"city": {"type": "string"}}}),
            }],
            parallel_tool_calls: Some(false),
            user: Some("u-42".into()),
            response_format: Some(ResponseFormat::JsonObject),
            ..Default::default()
        };
        let body = encode_request(&request);
        let want = json!({
            "model": "claude-sonnet-4-20250514",
            "system": [
                {"type": "text", "text": "You are helpful."},
                {"type": "text", "text": "Respond with a single valid JSON object and nothing else: no prose, no code fences."}
            ],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": "21C"},
                    {"type": "text", "text": "<system-reminder>\nAnswer in French.\n</system-reminder>"}
                ]}
            ],
            "max_tokens": 4096,
            "temperature": 1.0,
            "stop_sequences": ["END"],
            "tools": [{"name": "get_weather", "description": "Current weather",
                       "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
            "metadata": {"user_id": "u-42"}
        });
        assert_eq!(body, want, "\n got: {body:#}\nwant: {want:#}");
    }

    #[test]
    fn mid_conversation_system_message_joins_the_next_user_turn_after_tool_results() {
        let request = ir::Request {
            model: "m".into(),
            messages: vec![
                user("go"),
                Message {
                    role: Role::Assistant,
                    content: vec![call("t1", "ls", "{}")],
                },
                system("note"),
                Message {
                    role: Role::User,
                    content: vec![
                        result("t1", "ok"),
                        Block::Text {
                            text: "thanks".into(),
                        },
                    ],
                },
            ],
            ..Default::default()
        };
        let body = encode_request(&request);
        let last = &body["messages"][2]["content"];
        assert_eq!(last[0]["type"], "tool_result");
        assert_eq!(
            last[1]["text"],
            "<system-reminder>\nnote\n</system-reminder>"
        );
        assert_eq!(last[2]["text"], "thanks");
        assert_eq!(body["messages"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn an_opening_assistant_turn_gets_a_user_turn_before_it() {
        let request = ir::Request {
            model: "m".into(),
            messages: vec![
                Message {
                    role: Role::Assistant,
                    content: vec![Block::Text {
                        text: "Hello! How can I help?".into(),
                    }],
                },
                user("Hi"),
            ],
            ..Default::default()
        };
        let messages = encode_request(&request)["messages"].clone();
        assert_eq!(messages[0]["role"], "user");
        assert_eq!(messages[1]["role"], "assistant");
        assert_eq!(messages[2]["content"][0]["text"], "Hi");
    }

    #[test]
    fn history_tools_are_synthesized_when_the_request_has_none() {
        // The `llm` CLI's follow-up: tool calls in history, no `tools`.
        let request = ir::Request {
            model: "claude-3-5-haiku-latest".into(),
            messages: vec![
                user("time?"),
                Message {
                    role: Role::Assistant,
                    content: vec![call("c1", "clock", "{}"), call("c2", "clock", "{}")],
                },
                Message {
                    role: Role::User,
                    content: vec![result("c1", "12:00"), result("c2", "12:00")],
                },
            ],
            ..Default::default()
        };
        let body = encode_request(&request);
        assert_eq!(
            body["tools"],
            json!([{"name": "clock", "input_schema": {"type": "object"}}])
        );
        assert_eq!(body["tool_choice"], json!({"type": "none"}));

        // A listed tool keeps its definition; only the missing one is made up.
        let request = ir::Request {
            tools: vec![ir::Tool {
                name: "search".into(),
                description: None,
                parameters: json!({"type": "object"}),
            }],
            tool_choice: Some(ToolChoice::Auto),
            ..request
        };
        let body = encode_request(&request);
        let names: Vec<&str> = body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["search", "clock"]);
        assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    }

    #[test]
    fn reasoning_effort_becomes_a_budget_and_drops_temperature() {
        let mut request = ir::Request {
            model: "claude-sonnet-4-20250514".into(),
            messages: vec![user("think")],
            temperature: Some(0.2),
            top_p: Some(0.5),
            reasoning: Some(ReasoningConfig {
                effort: Some("high".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = encode_request(&request);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 16384})
        );
        assert_eq!(body["max_tokens"], 16384 + 4096);
        assert!(body.get("temperature").is_none() && body.get("top_p").is_none());

        // An explicit cap below the budget: the budget shrinks to half of it.
        request.max_tokens = Some(10000);
        let body = encode_request(&request);
        assert_eq!(body["thinking"]["budget_tokens"], 5000);
        assert_eq!(body["max_tokens"], 10000);

        // No room for even the minimum budget: thinking is left off, temperature returns.
        request.max_tokens = Some(1000);
        let body = encode_request(&request);
        assert!(body.get("thinking").is_none());
        assert_eq!(body["temperature"], 0.2);
        assert!(
            body.get("top_p").is_none(),
            "temperature and top_p are never sent together"
        );
    }

    #[test]
    fn newer_models_get_adaptive_thinking() {
        let mut request = ir::Request {
            model: "claude-opus-4-7".into(),
            messages: vec![user("think")],
            reasoning: Some(ReasoningConfig {
                effort: Some("low".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = encode_request(&request);
        assert_eq!(body["thinking"], json!({"type": "adaptive"}));
        assert_eq!(body["output_config"], json!({"effort": "low"}));
        request.model = "claude-haiku-4-5-20251001".into();
        assert_eq!(encode_request(&request)["thinking"]["type"], "enabled");

        assert_eq!(claude_version("claude-3-7-sonnet-20250219"), Some((3, 7)));
        assert_eq!(claude_version("claude-sonnet-4-20250514"), Some((4, 0)));
        assert_eq!(
            claude_version("us.anthropic.claude-sonnet-4-6-v1:0"),
            Some((4, 6))
        );
        assert_eq!(claude_version("claude-sonnet-5"), Some((5, 0)));
        assert_eq!(claude_version("gpt-4o"), None);
    }

    #[test]
    fn thinking_stays_off_when_history_or_tool_choice_forbid_it() {
        let thinking = Some(ReasoningConfig {
            effort: Some("medium".into()),
            ..Default::default()
        });
        // An unsigned tool-calling turn (from an OpenAI client) would be rejected with thinking on.
        let request = ir::Request {
            model: "claude-sonnet-4-20250514".into(),
            messages: vec![
                user("go"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Block::Reasoning {
                            text: "unsigned".into(),
                            signature: None,
                            redacted: None,
                        },
                        call("t", "ls", "{}"),
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![result("t", "ok")],
                },
            ],
            reasoning: thinking.clone(),
            ..Default::default()
        };
        let body = encode_request(&request);
        assert!(body.get("thinking").is_none());
        assert_eq!(body["messages"][1]["content"][0]["type"], "tool_use");

        let forced = ir::Request {
            model: "claude-sonnet-4-20250514".into(),
            messages: vec![user("go")],
            tools: vec![ir::Tool {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object"}),
            }],
            tool_choice: Some(ToolChoice::Required),
            reasoning: thinking,
            ..Default::default()
        };
        let body = encode_request(&forced);
        assert!(body.get("thinking").is_none());
        assert_eq!(body["tool_choice"], json!({"type": "any"}));
    }

    #[test]
    fn images_encode_as_base64_or_url_sources() {
        let request = ir::Request {
            model: "m".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![
                    Block::Image {
                        source: ImageSource::Url {
                            url: "data:image/jpeg;base64,/9j/4AAQ".into(),
                        },
                    },
                    Block::Image {
                        source: ImageSource::Url {
                            url: "https://example.com/cat.png".into(),
                        },
                    },
                ],
            }],
            ..Default::default()
        };
        let content = &encode_request(&request)["messages"][0]["content"];
        assert_eq!(
            content[0]["source"],
            json!({"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"})
        );
        assert_eq!(
            content[1]["source"],
            json!({"type": "url", "url": "https://example.com/cat.png"})
        );
    }

    #[test]
    fn claude_code_request_round_trips_through_ir() {
        let request = decode_request(&claude_code_request()).unwrap();
        let body = encode_request(&request);
        // claude-sonnet-4-5 takes budget thinking; effort "high" maps to its budget.
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 16384})
        );
        assert_eq!(body["max_tokens"], 64000);
        assert!(body.get("temperature").is_none());
        assert_eq!(body["system"].as_array().unwrap().len(), 2);
        let messages = body["messages"].as_array().unwrap();
        // user, assistant, user (result + system note), assistant, user.
        assert_eq!(messages.len(), 5);
        assert_eq!(
            messages[1]["content"][0]["signature"],
            "EqQBCkYIBRgCKkBsig=="
        );
        assert_eq!(
            messages[2]["content"][1]["text"],
            "<system-reminder>\nThe user switched to plan mode.\n</system-reminder>"
        );
        assert_eq!(
            messages[3]["content"][0],
            json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"})
        );
        assert_eq!(messages[4]["content"][0]["is_error"], true);
        assert_eq!(messages[4]["content"][0]["content"][1]["type"], "image");
        assert_eq!(body["tool_choice"], json!({"type": "auto"}));
        // And the re-encoded body decodes to the same conversation.
        let again = decode_request(&body).unwrap();
        assert_eq!(again.tools, request.tools);
        assert_eq!(again.messages[1..3], request.messages[1..3]);
    }
}
