//! The canonical request, response and stream-event types that every dialect converts through.
//!
//! Conversion is a hub: each dialect decodes into these types and encodes out of them, so N
//! dialects need N decoders and N encoders, never N×N converters. The shapes follow the richest
//! of the three wire formats (Anthropic's content blocks), so nothing a client sends is lost on the
//! way through; anything a dialect has no place for is dropped by that dialect's encoder alone.

use serde_json::Value;

/// Who wrote a message. System text may appear anywhere in a conversation (Claude Code and aider
/// both send it mid-conversation), so it is a role, not only a request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One piece of message content.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text {
        text: String,
    },
    Image {
        source: ImageSource,
    },
    /// A call the assistant makes. `arguments` is the JSON text of the arguments object, kept as
    /// text because streams deliver it in fragments and OpenAI carries it as a string.
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// The result of a call, sent back by the client.
    ToolResult {
        call_id: String,
        content: Vec<Block>,
        is_error: bool,
    },
    /// Model reasoning. `signature` is Anthropic's integrity token (or Responses'
    /// `encrypted_content`); `redacted` holds opaque redacted-thinking data.
    Reasoning {
        text: String,
        signature: Option<String>,
        redacted: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    Base64 { media_type: String, data: String },
    Url { url: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    /// The model must call some tool (OpenAI `required`, Anthropic `any`).
    Required,
    /// The model must call this tool.
    Tool(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
    },
}

/// Reasoning / extended-thinking settings, in whichever terms the client used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReasoningConfig {
    /// OpenAI `reasoning_effort` / Responses `reasoning.effort` ("low", "medium", "high", ...).
    pub effort: Option<String>,
    /// Anthropic `thinking.budget_tokens`.
    pub budget_tokens: Option<u64>,
    /// Responses `reasoning.summary`.
    pub summary: Option<String>,
}

/// A chat request, whatever dialect it arrived in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub model: String,
    pub messages: Vec<Message>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop: Vec<String>,
    pub stream: bool,
    /// The client asked for usage in the stream (OpenAI `stream_options.include_usage`).
    pub include_usage: bool,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    /// End-user id (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    pub reasoning: Option<ReasoningConfig>,
}

impl Request {
    /// The text of the last user message, joined across its text blocks.
    pub fn last_user_text(&self) -> String {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| {
                m.content
                    .iter()
                    .filter_map(|b| match b {
                        Block::Text { text } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// A rough count of the input tokens this request costs: about four bytes of text per token
    /// over system prompts, messages and tool definitions, plus a few tokens per message. Used
    /// where a backend reports no count (a stream's start, `count_tokens` for non-Anthropic
    /// backends, context-window checks); never a constant, never zero for a non-empty request.
    pub fn estimate_input_tokens(&self) -> u64 {
        fn block_bytes(block: &Block) -> usize {
            match block {
                Block::Text { text } => text.len(),
                // Vision models charge roughly a thousand tokens per image, whatever its bytes.
                Block::Image { .. } => 4000,
                Block::ToolCall {
                    name, arguments, ..
                } => name.len() + arguments.len(),
                Block::ToolResult { content, .. } => content.iter().map(block_bytes).sum(),
                Block::Reasoning { text, .. } => text.len(),
            }
        }
        let message_bytes: usize = self
            .messages
            .iter()
            .map(|m| 16 + m.content.iter().map(block_bytes).sum::<usize>())
            .sum();
        let tool_bytes: usize = self
            .tools
            .iter()
            .map(|t| {
                t.name.len()
                    + t.description.as_ref().map_or(0, String::len)
                    + t.parameters.to_string().len()
            })
            .sum();
        ((message_bytes + tool_bytes) as u64).div_ceil(4).max(1)
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    /// A stop sequence matched; which one, when the backend says.
    StopSequence(Option<String>),
    ToolUse,
    ContentFilter,
    /// The model refused (Anthropic `refusal`).
    Refusal,
}

/// Token counts. Zero means "not reported".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// All input tokens, cached ones included (OpenAI's `prompt_tokens` meaning). Anthropic
    /// reports cache reads and writes apart from `input_tokens`: its decoder adds them in and its
    /// encoder takes them out again.
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_creation_tokens: u64,
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Keep every count `other` reports, so partial usage reports (Anthropic sends input tokens
    /// at the start and output tokens at the end) add up to the whole.
    pub fn merge(&mut self, other: &Usage) {
        fn take(mine: &mut u64, theirs: u64) {
            if theirs != 0 {
                *mine = theirs;
            }
        }
        take(&mut self.input_tokens, other.input_tokens);
        take(&mut self.output_tokens, other.output_tokens);
        take(&mut self.cache_read_tokens, other.cache_read_tokens);
        take(&mut self.cache_creation_tokens, other.cache_creation_tokens);
        take(&mut self.reasoning_tokens, other.reasoning_tokens);
    }
}

/// A complete (non-streamed) assistant answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub id: String,
    pub model: String,
    pub content: Vec<Block>,
    pub stop_reason: StopReason,
    pub usage: Usage,
}

/// The kind of content block a stream opens.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockStart {
    Text,
    Reasoning,
    ToolCall { id: String, name: String },
}

/// A fragment of the open block at the same index.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    Reasoning(String),
    /// Anthropic's thinking signature (sent once, before the block stops).
    ReasoningSignature(String),
    /// A fragment of a tool call's JSON arguments.
    ToolArguments(String),
}

/// One step of a streamed answer. Every decoder emits, in order: `Start`, then for each content
/// block `BlockStart`, any `Delta`s and `BlockStop` (blocks may interleave only for parallel tool
/// calls, told apart by index), then `Finish` and finally `Done`. `Error` may come at any point
/// and is followed by nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Start {
        id: String,
        model: String,
        /// Known counts at the start (Anthropic reports input tokens here).
        usage: Usage,
    },
    BlockStart {
        index: usize,
        block: BlockStart,
    },
    Delta {
        index: usize,
        delta: Delta,
    },
    BlockStop {
        index: usize,
    },
    /// The message is complete: why it stopped and the final usage.
    Finish {
        stop_reason: StopReason,
        usage: Usage,
    },
    /// The stream is over.
    Done,
    Error {
        /// A stable kind, as in `error::ErrorKind::as_str` ("overloaded", "rate_limited", ...).
        kind: String,
        message: String,
    },
}

impl Response {
    /// The answer's text blocks, joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                Block::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("")
    }

    /// The response as a stream of events, each text block's text cut into deltas by `split`
    /// (whole words for the demo backend, lines for gateway answers).
    pub fn to_events(&self, split: impl Fn(&str) -> Vec<String>) -> Vec<Event> {
        let mut events = vec![Event::Start {
            id: self.id.clone(),
            model: self.model.clone(),
            usage: Usage {
                input_tokens: self.usage.input_tokens,
                ..Usage::default()
            },
        }];
        for (index, block) in self.content.iter().enumerate() {
            match block {
                Block::Text { text } => {
                    events.push(Event::BlockStart {
                        index,
                        block: BlockStart::Text,
                    });
                    for piece in split(text) {
                        events.push(Event::Delta {
                            index,
                            delta: Delta::Text(piece),
                        });
                    }
                }
                Block::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    events.push(Event::BlockStart {
                        index,
                        block: BlockStart::ToolCall {
                            id: id.clone(),
                            name: name.clone(),
                        },
                    });
                    events.push(Event::Delta {
                        index,
                        delta: Delta::ToolArguments(arguments.clone()),
                    });
                }
                Block::Reasoning {
                    text, signature, ..
                } => {
                    events.push(Event::BlockStart {
                        index,
                        block: BlockStart::Reasoning,
                    });
                    events.push(Event::Delta {
                        index,
                        delta: Delta::Reasoning(text.clone()),
                    });
                    if let Some(signature) = signature {
                        events.push(Event::Delta {
                            index,
                            delta: Delta::ReasoningSignature(signature.clone()),
                        });
                    }
                }
                // Assistant answers carry no images or tool results.
                Block::Image { .. } | Block::ToolResult { .. } => continue,
            }
            events.push(Event::BlockStop { index });
        }
        events.push(Event::Finish {
            stop_reason: self.stop_reason.clone(),
            usage: self.usage,
        });
        events.push(Event::Done);
        events
    }
}
