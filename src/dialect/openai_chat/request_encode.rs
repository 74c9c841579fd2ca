//! Encoding an `ir::Request` as the Chat Completions body an OpenAI-compatible backend accepts:
//! the common subset of OpenAI, llama.cpp, vLLM and Ollama.
//! Reference: <https://platform.openai.com/docs/api-reference/chat/create>.

use serde_json::{json, Map, Value};

use crate::ir;

pub fn encode_request(request: &ir::Request) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), request.model.clone().into());
    body.insert(
        "messages".into(),
        Value::Array(encode_messages(&request.messages)),
    );
    if let Some(max) = request.max_tokens {
        // `max_tokens`, not `max_completion_tokens`: llama.cpp, older vLLM and Ollama only know
        // the older name. OpenAI's o-series reject it, and are best reached via Responses.
        body.insert("max_tokens".into(), max.into());
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = request.top_p {
        body.insert("top_p".into(), p.into());
    }
    if !request.stop.is_empty() {
        body.insert("stop".into(), request.stop.clone().into());
    }
    if request.stream {
        // Always ask for usage: the gateway accounts tokens whatever the client asked for.
        body.insert("stream".into(), true.into());
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    encode_tools(request, &mut body);
    if let Some(format) = &request.response_format {
        body.insert("response_format".into(), encode_response_format(format));
    }
    if let Some(user) = &request.user {
        body.insert("user".into(), user.clone().into());
    }
    // Only an explicit effort is sent. An Anthropic `budget_tokens` is not turned into one: Claude
    // Code asks for thinking on every request, and OpenAI rejects `reasoning_effort` for models
    // that do not reason.
    if let Some(effort) = request.reasoning.as_ref().and_then(|r| r.effort.as_ref()) {
        body.insert("reasoning_effort".into(), effort.clone().into());
    }
    Value::Object(body)
}

/// Tools, and the options that only make sense with them: OpenAI rejects `tool_choice` and
/// `parallel_tool_calls` when no tools are given.
fn encode_tools(request: &ir::Request, body: &mut Map<String, Value>) {
    if request.tools.is_empty() {
        return;
    }
    let tools = request
        .tools
        .iter()
        .map(|tool| {
            let mut function = Map::new();
            function.insert("name".into(), tool.name.clone().into());
            if let Some(description) = &tool.description {
                function.insert("description".into(), description.clone().into());
            }
            function.insert("parameters".into(), tool.parameters.clone());
            json!({"type": "function", "function": function})
        })
        .collect();
    body.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ir::ToolChoice::Auto => json!("auto"),
            ir::ToolChoice::None => json!("none"),
            ir::ToolChoice::Required => json!("required"),
            ir::ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        body.insert("tool_choice".into(), choice);
    }
    if let Some(parallel) = request.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), parallel.into());
    }
}

fn encode_response_format(format: &ir::ResponseFormat) -> Value {
    match format {
        ir::ResponseFormat::Text => json!({"type": "text"}),
        ir::ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ir::ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            let mut spec = Map::new();
            spec.insert("name".into(), name.clone().into());
            spec.insert("schema".into(), schema.clone());
            if let Some(strict) = strict {
                spec.insert("strict".into(), (*strict).into());
            }
            json!({"type": "json_schema", "json_schema": spec})
        }
    }
}

/// The `messages` array. Consecutive assistant messages are merged: a Responses history keeps
/// text and each call as separate items, but Chat Completions needs every call answered by the
/// `tool` messages that follow to sit in the one assistant message before them.
fn encode_messages(messages: &[ir::Message]) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len() + 4);
    let mut assistant = AssistantDraft::default();
    for message in messages {
        if message.role != ir::Role::Assistant {
            assistant.flush(&mut out);
        }
        match message.role {
            ir::Role::System => {
                let text = joined_text(&message.content);
                out.push(json!({"role": "system", "content": text}));
            }
            ir::Role::User => encode_user(&message.content, &mut out),
            ir::Role::Assistant => assistant.add(&message.content),
        }
    }
    assistant.flush(&mut out);
    out
}

/// Text blocks joined by blank lines (system prompts arrive as several blocks from Anthropic
/// clients; every backend of this dialect accepts a string).
fn joined_text(blocks: &[ir::Block]) -> String {
    let mut text = String::new();
    for block in blocks {
        if let ir::Block::Text { text: t } = block {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(t);
        }
    }
    text
}

/// A user message: its tool results become `tool` messages (which must come straight after the
/// assistant's calls), the rest one user message after them.
fn encode_user(blocks: &[ir::Block], out: &mut Vec<Value>) {
    let mut parts: Vec<Value> = Vec::new();
    for block in blocks {
        if let ir::Block::ToolResult {
            call_id,
            content,
            is_error,
        } = block
        {
            out.push(encode_tool_result(call_id, content, *is_error, &mut parts));
        }
    }
    for block in blocks {
        match block {
            ir::Block::Text { text } => parts.push(json!({"type": "text", "text": text})),
            ir::Block::Image { source } => parts.push(image_part(source)),
            _ => {}
        }
    }
    if parts.is_empty() {
        return;
    }
    let all_text = parts.iter().all(|p| p["type"] == "text");
    let content = if all_text {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        Value::String(texts.join("\n\n"))
    } else {
        Value::Array(parts)
    };
    out.push(json!({"role": "user", "content": content}));
}

/// One `tool` message. A tool message holds text only, so images a tool returned are moved to
/// `image_parts`, which go into the user message that follows the tool messages.
fn encode_tool_result(
    call_id: &str,
    content: &[ir::Block],
    is_error: bool,
    image_parts: &mut Vec<Value>,
) -> Value {
    let mut text = joined_text(content);
    let mut images = content.iter().filter_map(|b| match b {
        ir::Block::Image { source } => Some(image_part(source)),
        _ => None,
    });
    if let Some(first) = images.next() {
        let note = format!("Images returned by tool call {call_id}:");
        image_parts.push(json!({"type": "text", "text": note}));
        image_parts.push(first);
        image_parts.extend(images);
        if text.is_empty() {
            text = "(the tool returned images; they follow in the next user message)".into();
        }
    }
    if is_error {
        // Chat Completions has no error flag on tool messages; without this the model would
        // take a failure's text for a result.
        text.insert_str(0, "Error: ");
    }
    json!({"role": "tool", "tool_call_id": call_id, "content": text})
}

fn image_part(source: &ir::ImageSource) -> Value {
    let url = match source {
        ir::ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ir::ImageSource::Url { url } => url.clone(),
    };
    json!({"type": "image_url", "image_url": {"url": url}})
}

/// An assistant message being built from one or more consecutive `ir` assistant messages.
#[derive(Default)]
struct AssistantDraft {
    text: String,
    tool_calls: Vec<Value>,
    open: bool,
}

impl AssistantDraft {
    fn add(&mut self, blocks: &[ir::Block]) {
        self.open = true;
        for block in blocks {
            match block {
                ir::Block::Text { text } if !text.is_empty() => {
                    if !self.text.is_empty() {
                        self.text.push_str("\n\n");
                    }
                    self.text.push_str(text);
                }
                ir::Block::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    // llama.cpp and vLLM parse the arguments to render their chat templates;
                    // an empty string fails there.
                    let arguments = if arguments.trim().is_empty() {
                        "{}"
                    } else {
                        arguments
                    };
                    self.tool_calls.push(json!({
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    }));
                }
                // Thinking blocks are dropped: Chat Completions has no input field for them,
                // their signatures only mean something to Anthropic, and DeepSeek rejects
                // `reasoning_content` sent back in history.
                _ => {}
            }
        }
    }

    /// Emits the message, unless nothing is left (an assistant turn of thinking only).
    fn flush(&mut self, out: &mut Vec<Value>) {
        if !std::mem::take(&mut self.open) {
            return;
        }
        let text = std::mem::take(&mut self.text);
        let calls = std::mem::take(&mut self.tool_calls);
        if calls.is_empty() {
            if !text.is_empty() {
                out.push(json!({"role": "assistant", "content": text}));
            }
            return;
        }
        let content = if text.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        };
        out.push(json!({"role": "assistant", "content": content, "tool_calls": calls}));
    }
}
