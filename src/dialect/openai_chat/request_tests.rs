//! Request decode/encode tests. Shapes follow the API reference,
//! <https://platform.openai.com/docs/api-reference/chat/create>, and what the clients in
//! CLIENTS.md send.

use serde_json::{json, Value};

use super::{decode_request, encode_request};
use crate::error::ErrorKind;
use crate::ir;
use ir::{Block, ImageSource, Message, Role};

fn text(t: &str) -> Block {
    Block::Text { text: t.into() }
}

fn msg(role: Role, content: Vec<Block>) -> Message {
    Message { role, content }
}

fn call(id: &str, name: &str, arguments: &str) -> Block {
    Block::ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

fn result(call_id: &str, content: Vec<Block>, is_error: bool) -> Block {
    Block::ToolResult {
        call_id: call_id.into(),
        content,
        is_error,
    }
}

fn weather_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": false
            },
            "strict": true
        }
    })
}

/// What the openai Python SDK sends for the second turn of its function-calling guide.
fn sdk_tool_follow_up() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What's the weather in Paris and in Oslo?"},
            {
                "role": "assistant",
                "content": null,
                "refusal": null,
                "tool_calls": [
                    {"id": "call_abc", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_def", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
                ]
            },
            {"role": "tool", "tool_call_id": "call_abc", "content": "18°C, sunny"},
            {"role": "tool", "tool_call_id": "call_def", "content": [{"type": "text", "text": "4°C, snow"}]}
        ],
        "tools": [weather_tool()],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "stream": true,
        "stream_options": {"include_usage": true},
        "temperature": 0.2,
        "max_completion_tokens": 512,
        "user": "user-1234",
        "seed": 7
    })
}

#[test]
fn decodes_sdk_tool_follow_up() {
    let request = decode_request(&sdk_tool_follow_up()).unwrap();
    assert_eq!(request.model, "gpt-4o-mini");
    assert_eq!(
        request.messages,
        vec![
            msg(Role::System, vec![text("You are a helpful assistant.")]),
            msg(
                Role::User,
                vec![text("What's the weather in Paris and in Oslo?")]
            ),
            msg(
                Role::Assistant,
                vec![
                    call("call_abc", "get_weather", "{\"city\":\"Paris\"}"),
                    call("call_def", "get_weather", "{\"city\":\"Oslo\"}"),
                ]
            ),
            // Both results of the turn land in one user message, as the ir expects.
            msg(
                Role::User,
                vec![
                    result("call_abc", vec![text("18°C, sunny")], false),
                    result("call_def", vec![text("4°C, snow")], false),
                ]
            ),
        ]
    );
    assert_eq!(request.tools.len(), 1);
    assert_eq!(request.tools[0].name, "get_weather");
    assert_eq!(
        request.tools[0].description.as_deref(),
        Some("Get the current weather in a city.")
    );
    assert_eq!(request.tools[0].parameters["required"], json!(["city"]));
    assert_eq!(request.tool_choice, Some(ir::ToolChoice::Auto));
    assert_eq!(request.parallel_tool_calls, Some(true));
    assert!(request.stream && request.include_usage);
    assert_eq!(request.temperature, Some(0.2));
    assert_eq!(request.max_tokens, Some(512));
    assert_eq!(request.user.as_deref(), Some("user-1234"));
}

#[test]
fn decodes_every_option_form() {
    let body = json!({
        "model": "qwen3",
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ]},
            {"role": "assistant", "content": "A cat.", "reasoning_content": "Looks feline."},
            {"role": "user", "content": "Thanks"},
            // aider puts a system message after the last user message.
            {"role": "system", "content": "Reply in JSON."}
        ],
        "max_tokens": 100,
        "top_p": 0.9,
        "stop": "\n\n",
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}},
        "reasoning_effort": "low",
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "tools": [weather_tool(), {"type": "custom", "custom": {"name": "grammar"}}],
        "stream": false,
        "temperature": null
    });
    let request = decode_request(&body).unwrap();
    assert_eq!(
        request.messages,
        vec![
            msg(Role::System, vec![text("Be terse.")]),
            msg(
                Role::User,
                vec![
                    text("What is in these?"),
                    Block::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into()
                        }
                    },
                    Block::Image {
                        source: ImageSource::Url {
                            url: "https://example.com/cat.jpg".into()
                        }
                    },
                ]
            ),
            msg(
                Role::Assistant,
                vec![
                    Block::Reasoning {
                        text: "Looks feline.".into(),
                        signature: None,
                        redacted: None
                    },
                    text("A cat."),
                ]
            ),
            msg(Role::User, vec![text("Thanks")]),
            msg(Role::System, vec![text("Reply in JSON.")]),
        ]
    );
    assert_eq!(request.max_tokens, Some(100));
    assert_eq!(request.top_p, Some(0.9));
    assert_eq!(request.temperature, None);
    assert_eq!(request.stop, vec!["\n\n".to_string()]);
    assert_eq!(
        request.response_format,
        Some(ir::ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object"}),
            strict: Some(true)
        })
    );
    assert_eq!(request.reasoning.unwrap().effort.as_deref(), Some("low"));
    assert_eq!(
        request.tool_choice,
        Some(ir::ToolChoice::Tool("get_weather".into()))
    );
    assert_eq!(request.tools.len(), 1, "the custom tool is dropped");
    assert!(!request.stream && !request.include_usage);
}

#[test]
fn decodes_thinking_blocks_with_signatures_from_litellm() {
    let body = json!({
        "model": "claude-sonnet-4",
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet back.",
             "thinking_blocks": [
                {"type": "thinking", "thinking": "Greet back.", "signature": "EqQBCkYIBxgCKkB"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3"}
             ]}
        ]
    });
    let request = decode_request(&body).unwrap();
    assert_eq!(
        request.messages[1].content,
        vec![
            Block::Reasoning {
                text: "Greet back.".into(),
                signature: Some("EqQBCkYIBxgCKkB".into()),
                redacted: None
            },
            Block::Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some("EmwKAhgBEgy3".into())
            },
            text("Hello!"),
        ]
    );
    assert_eq!(request.reasoning.unwrap().budget_tokens, Some(2048));
}

#[test]
fn decodes_legacy_functions() {
    let body = json!({
        "model": "gpt-3.5-turbo",
        "functions": [{"name": "lookup", "parameters": {"type": "object"}}],
        "function_call": {"name": "lookup"},
        "messages": [
            {"role": "user", "content": "Find x"},
            {"role": "assistant", "content": null, "function_call": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}},
            {"role": "function", "name": "lookup", "content": "found"}
        ]
    });
    let request = decode_request(&body).unwrap();
    assert_eq!(request.tools[0].name, "lookup");
    assert_eq!(
        request.tool_choice,
        Some(ir::ToolChoice::Tool("lookup".into()))
    );
    assert_eq!(
        request.messages[1].content,
        vec![call("call_legacy_1", "lookup", "{\"q\":\"x\"}")]
    );
    assert_eq!(
        request.messages[2].content,
        vec![result("call_legacy_1", vec![text("found")], false)]
    );
}

#[test]
fn malformed_requests_name_the_field() {
    let cases = [
        (json!([]), "request body: expected a JSON object"),
        (json!({"model": "m"}), "messages: missing; expected an array"),
        (json!({"messages": "hi"}), "messages: expected an array of messages"),
        (json!({"messages": [{"content": "hi"}]}), "messages[0].role: missing"),
        (json!({"messages": [7]}), "messages[0]: expected an object"),
        (
            json!({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "user", "content": 5}]}),
            "messages[2].content: expected a string or an array of content parts",
        ),
        (
            json!({"messages": [{"role": "wizard", "content": "hi"}]}),
            "messages[0].role: unknown role \"wizard\" (expected system, developer, user, assistant or tool)",
        ),
        (
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].tool_call_id: expected a string",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            "messages[0].content[0].image_url.url: expected a string",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]}),
            "messages[0].content[0]: \"file\" parts are not supported by this gateway",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}]}),
            "messages[0].tool_calls[0].function.name: expected a string",
        ),
        (json!({"messages": [], "temperature": "hot"}), "temperature: expected a number"),
        (json!({"messages": [], "max_tokens": -5}), "max_tokens: expected a non-negative integer"),
        (json!({"messages": [], "stop": [1]}), "stop[0]: expected a string"),
        (json!({"messages": [], "tools": [{"type": "function", "function": {}}]}), "tools[0].function.name: expected a string"),
        (json!({"messages": [], "tool_choice": "sometimes"}), "tool_choice: expected \"auto\", \"none\", \"required\" or an object naming a function"),
        (json!({"messages": [], "stream": "yes"}), "stream: expected a boolean"),
        (json!({"messages": [], "stream_options": {"include_usage": 1}}), "stream_options.include_usage: expected a boolean"),
        (json!({"messages": [], "response_format": {"type": "yaml"}}), "response_format.type: unknown format \"yaml\" (expected text, json_object or json_schema)"),
    ];
    for (body, want) in cases {
        let err = decode_request(&body).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
        assert_eq!(err.message, want, "for {body}");
    }
}

#[test]
fn odd_json_never_panics() {
    let odd = [
        json!(null),
        json!("x"),
        json!({"messages": [{"role": "assistant", "content": [{"type": "refusal"}]}]}),
        json!({"messages": [{"role": "assistant", "tool_calls": [null, 3, {"function": 1}]}]}),
        json!({"messages": [{"role": "assistant", "thinking_blocks": [1, {"type": "thinking"}]}]}),
        json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "data:,"}]}]}),
        json!({"messages": [], "max_tokens": 1e300, "reasoning": 5, "thinking": [], "tool_choice": {}}),
        json!({"messages": [], "functions": [{}], "response_format": {"type": "json_schema"}}),
    ];
    for body in odd {
        let _ = decode_request(&body);
    }
}

/// A Claude Code style conversation as the Anthropic decoder hands it over: system blocks,
/// tools, thinking in history, parallel calls, a failed call, an image returned by a tool and
/// a text block after the results.
fn claude_code_ir() -> ir::Request {
    ir::Request {
        model: "qwen3-coder".into(),
        messages: vec![
            msg(
                Role::System,
                vec![
                    text("You are Claude Code, Anthropic's official CLI for Claude."),
                    text("<env>Working directory: /repo</env>"),
                ],
            ),
            msg(
                Role::User,
                vec![
                    text("<system-reminder>ctx</system-reminder>"),
                    text("Fix the test"),
                ],
            ),
            msg(
                Role::Assistant,
                vec![
                    Block::Reasoning {
                        text: "Run the tests first.".into(),
                        signature: Some("sig".into()),
                        redacted: None,
                    },
                    text("Let me look."),
                    call("toolu_1", "Bash", "{\"command\":\"cargo test\"}"),
                    call("toolu_2", "Read", ""),
                ],
            ),
            msg(
                Role::User,
                vec![
                    result("toolu_1", vec![text("exit 101")], true),
                    result(
                        "toolu_2",
                        vec![Block::Image {
                            source: ImageSource::Base64 {
                                media_type: "image/png".into(),
                                data: "AAAA".into(),
                            },
                        }],
                        false,
                    ),
                    text("Go on."),
                ],
            ),
            msg(Role::System, vec![text("Be brief.")]),
        ],
        max_tokens: Some(64000),
        temperature: Some(1.0),
        stream: true,
        include_usage: false,
        tools: vec![ir::Tool {
            name: "Bash".into(),
            description: Some("Run a command".into()),
            parameters: json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                               "properties": {"command": {"type": "string"}}, "required": ["command"]}),
        }],
        tool_choice: Some(ir::ToolChoice::Auto),
        user: Some("user_abc_session_1".into()),
        reasoning: Some(ir::ReasoningConfig {
            budget_tokens: Some(31999),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn encodes_claude_code_conversation_for_an_openai_backend() {
    let body = encode_request(&claude_code_ir());
    let want = json!({
        "model": "qwen3-coder",
        "messages": [
            {"role": "system", "content": "You are Claude Code, Anthropic's official CLI for Claude.\n\n<env>Working directory: /repo</env>"},
            {"role": "user", "content": "<system-reminder>ctx</system-reminder>\n\nFix the test"},
            {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"cargo test\"}"}},
                {"id": "toolu_2", "type": "function", "function": {"name": "Read", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "Error: exit 101"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "(the tool returned images; they follow in the next user message)"},
            {"role": "user", "content": [
                {"type": "text", "text": "Images returned by tool call toolu_2:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "Go on."}
            ]},
            {"role": "system", "content": "Be brief."}
        ],
        "max_tokens": 64000,
        "temperature": 1.0,
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {
            "name": "Bash", "description": "Run a command",
            "parameters": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                           "properties": {"command": {"type": "string"}}, "required": ["command"]}
        }}],
        "tool_choice": "auto",
        "user": "user_abc_session_1"
    });
    assert_eq!(body, want);
}

#[test]
fn sdk_request_round_trips() {
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": [
                {"type": "text", "text": "Describe"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "18°C"},
            {"role": "assistant", "content": "It is 18°C."},
            {"role": "user", "content": "Thanks"}
        ],
        "max_tokens": 256,
        "stop": ["END"],
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [weather_tool()],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": false,
        "response_format": {"type": "json_object"},
        "reasoning_effort": "medium",
        "user": "u1"
    });
    let encoded = encode_request(&decode_request(&body).unwrap());
    let mut want = body.clone();
    // `strict` has no place in the ir; everything else survives.
    want["tools"][0]["function"]
        .as_object_mut()
        .unwrap()
        .remove("strict");
    assert_eq!(encoded, want);
}

#[test]
fn split_assistant_items_merge_into_one_message() {
    // A Responses history: a message item and two function_call items, then both outputs.
    let request = ir::Request {
        model: "m".into(),
        messages: vec![
            msg(Role::User, vec![text("go")]),
            msg(Role::Assistant, vec![text("Checking.")]),
            msg(Role::Assistant, vec![call("c1", "a", "{}")]),
            msg(Role::Assistant, vec![call("c2", "b", "{}")]),
            msg(Role::User, vec![result("c1", vec![text("1")], false)]),
            msg(Role::User, vec![result("c2", vec![text("2")], false)]),
            msg(
                Role::Assistant,
                vec![Block::Reasoning {
                    text: "only thinking".into(),
                    signature: None,
                    redacted: None,
                }],
            ),
        ],
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "b", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "1"},
            {"role": "tool", "tool_call_id": "c2", "content": "2"}
        ])
    );
}

#[test]
fn tool_options_are_left_out_without_tools() {
    let request = ir::Request {
        model: "m".into(),
        messages: vec![msg(Role::User, vec![text("hi")])],
        tool_choice: Some(ir::ToolChoice::Required),
        parallel_tool_calls: Some(true),
        response_format: Some(ir::ResponseFormat::JsonSchema {
            name: "r".into(),
            schema: json!({"type": "object"}),
            strict: None,
        }),
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body,
        json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}
        })
    );
}

#[test]
fn tool_choice_maps_every_variant() {
    let mut request = ir::Request {
        tools: vec![ir::Tool {
            name: "t".into(),
            description: None,
            parameters: json!({"type": "object"}),
        }],
        ..Default::default()
    };
    let cases = [
        (ir::ToolChoice::Auto, json!("auto")),
        (ir::ToolChoice::None, json!("none")),
        (ir::ToolChoice::Required, json!("required")),
        (
            ir::ToolChoice::Tool("t".into()),
            json!({"type": "function", "function": {"name": "t"}}),
        ),
    ];
    for (choice, want) in cases {
        request.tool_choice = Some(choice.clone());
        let body = encode_request(&request);
        assert_eq!(body["tool_choice"], want);
        let decoded = decode_request(&json!({"messages": [], "tool_choice": want})).unwrap();
        assert_eq!(decoded.tool_choice, Some(choice));
    }
    let any = decode_request(&json!({"messages": [], "tool_choice": "any"})).unwrap();
    assert_eq!(any.tool_choice, Some(ir::ToolChoice::Required));
}
