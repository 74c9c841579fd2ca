//! The built-in demo backend: answers every dialect in-process, deterministically, so the
//! gateway serves real answers with no model and no network.
//!
//! It decodes the request with the client's own dialect, composes an answer as `ir` events (an
//! echo of the request, or a tool call when tools are offered and the user asks for one), and
//! encodes it back with the same dialect's encoders — the code paths real conversions use.

use std::io::{self, Read};
use std::time::Duration;

use serde_json::{json, Value};

use super::{Abort, Request, Response};
use crate::config::Backend;
use crate::dialect::StreamEncode;
use crate::error::GatewayError;
use crate::ir::{self, Block, Event, Role, StopReason, Usage};

/// The pause between two streamed tokens, unless the backend sets `tokenDelayMs`.
const DEFAULT_TOKEN_DELAY: Duration = Duration::from_millis(20);

pub struct Demo {
    pub backend: Backend,
    token_delay: Duration,
}

impl Demo {
    pub fn new(backend: Backend) -> Demo {
        let token_delay = backend
            .extra
            .get("tokenDelayMs")
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TOKEN_DELAY);
        Demo {
            backend,
            token_delay,
        }
    }

    pub fn send(&self, request: &Request<'_>) -> Result<Response, GatewayError> {
        let dialect = request.dialect;
        let parsed = serde_json::from_slice::<Value>(request.body)
            .map_err(|e| GatewayError::invalid(format!("request body is not valid JSON: {e}")))
            .and_then(|body| dialect.decode_request(&body));
        let ir_request = match parsed {
            Ok(r) => r,
            Err(err) => {
                return Ok(json_response(
                    dialect.error_status(&err),
                    dialect.error_body(&err),
                ))
            }
        };
        if request.path.starts_with("/v1/messages/count_tokens") {
            let count = json!({"input_tokens": ir_request.estimate_input_tokens()});
            return Ok(json_response(200, count.to_string().into_bytes()));
        }
        let answer = compose(&ir_request);
        if request.stream {
            let encoder = dialect.stream_encoder(&ir_request);
            let stream = DemoStream {
                events: answer.events().into_iter(),
                encoder,
                buffer: Vec::new(),
                pos: 0,
                delay: self.token_delay,
                started: false,
            };
            Ok(Response {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body: Box::new(stream),
                abort: Abort::default(),
            })
        } else {
            let body = serde_json::to_vec(&dialect.encode_response(&answer.response))
                .map_err(|e| GatewayError::internal(e.to_string()))?;
            Ok(json_response(200, body))
        }
    }
}

fn json_response(status: u16, body: Vec<u8>) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: Box::new(io::Cursor::new(body)),
        abort: Abort::default(),
    }
}

/// The demo's answer, whole and as stream pieces.
struct Answer {
    response: ir::Response,
    /// The text split into the tokens a stream sends one by one.
    tokens: Vec<String>,
}

impl Answer {
    /// The answer as a stream, one token per text delta.
    fn events(&self) -> Vec<Event> {
        let tokens = &self.tokens;
        self.response.to_events(|_| tokens.clone())
    }
}

/// Composes the deterministic answer to a request.
fn compose(request: &ir::Request) -> Answer {
    let input_tokens = request.estimate_input_tokens();
    let id = format!(
        "demo-{:016x}",
        fnv1a(request.last_user_text().as_bytes()) ^ input_tokens
    );
    let model = if request.model.is_empty() {
        "demo".to_owned()
    } else {
        request.model.clone()
    };
    let last = request.messages.last();
    let tool_result = last.and_then(|m| {
        m.content.iter().find_map(|b| match b {
            Block::ToolResult { content, .. } => Some(text_of(content)),
            _ => None,
        })
    });
    let user_text = request.last_user_text();

    if tool_result.is_none() && !request.tools.is_empty() && asks_for_tool(&user_text) {
        let lower = user_text.to_lowercase();
        let tool = request
            .tools
            .iter()
            .find(|t| lower.contains(&t.name.to_lowercase()))
            .unwrap_or(&request.tools[0]);
        let arguments = example_arguments(&tool.parameters).to_string();
        let response = ir::Response {
            id: id.clone(),
            model,
            content: vec![Block::ToolCall {
                id: format!("call_{}", &id[5..]),
                name: tool.name.clone(),
                arguments,
            }],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                input_tokens,
                output_tokens: 12,
                ..Usage::default()
            },
        };
        return Answer {
            response,
            tokens: Vec::new(),
        };
    }

    let text = match tool_result {
        Some(result) => format!(
            "The tool returned: \"{}\". That is all the demo backend can do with it.",
            clip(&result, 200)
        ),
        None => {
            let turns = request
                .messages
                .iter()
                .filter(|m| m.role != Role::System)
                .count();
            let mut text = format!(
                "Hello from the llm-gateway demo backend! You said: \"{}\". This conversation has {} message{}",
                clip(&user_text, 200),
                turns,
                if turns == 1 { "" } else { "s" }
            );
            if !request.tools.is_empty() {
                text.push_str(&format!(
                    " and offers {} tool{} (ask me to use one)",
                    request.tools.len(),
                    if request.tools.len() == 1 { "" } else { "s" }
                ));
            }
            text.push_str(". Configure a real backend in config.json for model answers.");
            text
        }
    };
    let mut tokens = tokenize(&text);
    let mut stop_reason = StopReason::EndTurn;
    if let Some(max) = request.max_tokens {
        if (tokens.len() as u64) > max {
            tokens.truncate(max as usize);
            stop_reason = StopReason::MaxTokens;
        }
    }
    let response = ir::Response {
        id,
        model,
        content: vec![Block::Text {
            text: tokens.concat(),
        }],
        stop_reason,
        usage: Usage {
            input_tokens,
            output_tokens: tokens.len() as u64,
            ..Usage::default()
        },
    };
    Answer { response, tokens }
}

/// Whether the user asks for a tool to be used ("use the weather tool", "call get_time", ...).
fn asks_for_tool(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "tool", "call ", "use ", "function", "look up", "lookup", "search", "run ",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Arguments that satisfy a JSON schema's required properties with placeholder values.
fn example_arguments(schema: &Value) -> Value {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return json!({});
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_else(|| props.keys().map(String::as_str).collect());
    let mut args = serde_json::Map::new();
    for name in required {
        let prop = props.get(name).cloned().unwrap_or(Value::Null);
        args.insert(name.to_owned(), example_value(&prop));
    }
    Value::Object(args)
}

fn example_value(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => example_arguments(schema),
        _ => json!("demo"),
    }
}

fn text_of(blocks: &[Block]) -> String {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn clip(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Splits text into word tokens, each carrying the space before it, so the tokens concatenate
/// back to the text.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch == ' ' && !current.trim().is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

/// A streamed demo answer: encodes one `ir` event per read, pausing between tokens as a model
/// would.
struct DemoStream {
    events: std::vec::IntoIter<Event>,
    encoder: Box<dyn StreamEncode>,
    buffer: Vec<u8>,
    pos: usize,
    delay: Duration,
    started: bool,
}

impl Read for DemoStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buffer.len() {
            let Some(event) = self.events.next() else {
                return Ok(0);
            };
            if self.started && matches!(event, Event::Delta { .. }) {
                std::thread::sleep(self.delay);
            }
            self.started = true;
            self.buffer.clear();
            self.pos = 0;
            self.encoder.encode(&event, &mut self.buffer);
        }
        let n = out.len().min(self.buffer.len() - self.pos);
        out[..n].copy_from_slice(&self.buffer[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Message, Tool};

    fn user(text: &str) -> Message {
        Message {
            role: Role::User,
            content: vec![Block::Text { text: text.into() }],
        }
    }

    #[test]
    fn echoes_the_user_and_honours_max_tokens() {
        let request = ir::Request {
            messages: vec![user("hi there")],
            ..Default::default()
        };
        let answer = compose(&request);
        let Block::Text { text } = &answer.response.content[0] else {
            panic!()
        };
        assert!(text.contains("You said: \"hi there\""), "{text}");
        assert_eq!(answer.tokens.concat(), *text);
        assert_eq!(answer.response.stop_reason, StopReason::EndTurn);

        let short = ir::Request {
            max_tokens: Some(3),
            ..request
        };
        let answer = compose(&short);
        assert_eq!(answer.tokens.len(), 3);
        assert_eq!(answer.response.usage.output_tokens, 3);
        assert_eq!(answer.response.stop_reason, StopReason::MaxTokens);
    }

    #[test]
    fn calls_a_tool_when_asked() {
        let request = ir::Request {
            messages: vec![user("Please use the get_weather tool for Paris")],
            tools: vec![Tool {
                name: "get_weather".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city", "unit"]}),
            }],
            ..Default::default()
        };
        let answer = compose(&request);
        assert_eq!(answer.response.stop_reason, StopReason::ToolUse);
        let Block::ToolCall {
            name, arguments, ..
        } = &answer.response.content[0]
        else {
            panic!()
        };
        assert_eq!(name, "get_weather");
        assert_eq!(
            serde_json::from_str::<Value>(arguments).unwrap(),
            json!({"city": "demo", "unit": "c"})
        );
        let events = answer.events();
        assert!(matches!(events[0], Event::Start { .. }));
        assert_eq!(events.last(), Some(&Event::Done));
    }
}
