//! The built-in demo backend (issue 2, scope 8) in all three dialects, streaming and not: text and
//! usage present, deterministic, `max_tokens` honoured, a tool call when tools are offered and the
//! last user message asks for one (and not otherwise), and well-formed event streams.

mod common;

use common::client::without_comments;
use common::*;
use serde_json::{json, Value};

fn demo_gateway() -> Gateway {
    Gateway::start(config(json!({"demo": "demo://"}), "demo", json!({})))
}

const PROMPT: &str = "Tell me a short story about a lighthouse keeper who collects sea glass.";
const TOOL_PROMPT: &str = "Please call the get_weather tool to get the weather in Paris.";

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]})
}

/// A request body of dialect `d` with a user message, optional tools, max tokens and stream flag.
fn request(d: Dialect, text: &str, tools: bool, max_tokens: Option<u64>, stream: bool) -> Value {
    let mut v = match d {
        Dialect::OpenAi => {
            json!({"model": "demo", "messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": text}]})
        }
        Dialect::Anthropic => {
            json!({"model": "demo", "max_tokens": 1024, "system": "You are helpful.",
                                     "messages": [{"role": "user", "content": text}]})
        }
        Dialect::Responses => {
            json!({"model": "demo", "instructions": "You are helpful.", "input": text})
        }
    };
    if tools {
        v["tools"] = match d {
            Dialect::OpenAi => {
                json!([{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city", "parameters": weather_schema()}}])
            }
            Dialect::Anthropic => {
                json!([{"name": "get_weather", "description": "Current weather for a city", "input_schema": weather_schema()}])
            }
            Dialect::Responses => {
                json!([{"type": "function", "name": "get_weather", "description": "Current weather for a city", "parameters": weather_schema(), "strict": false}])
            }
        };
    }
    if let Some(n) = max_tokens {
        match d {
            Dialect::OpenAi | Dialect::Anthropic => v["max_tokens"] = json!(n),
            Dialect::Responses => v["max_output_tokens"] = json!(n),
        }
    }
    if stream {
        v["stream"] = json!(true);
        if d == Dialect::OpenAi {
            v["stream_options"] = json!({"include_usage": true});
        }
    }
    v
}

fn post(gw: &Gateway, d: Dialect, body: &Value) -> Value {
    let r = gw.post(
        d.path(),
        serde_json::to_vec(body).unwrap(),
        &d.client_headers(),
    );
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "{d:?} demo answer; response: {}",
        r.describe()
    );
    gw_assert_eq!(gw, Some("demo"), r.header("x-backend"), "X-Backend");
    r.json()
}

fn stream(gw: &Gateway, d: Dialect, body: &Value) -> Vec<Event> {
    let mut s = gw
        .open(Req::post(d.path(), serde_json::to_vec(body).unwrap()).headers(&d.client_headers()));
    gw_assert_eq!(gw, 200, s.status, "{d:?} demo stream status");
    gw_assert!(
        gw,
        s.header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")),
        "{d:?} content-type; headers {:?}",
        s.headers
    );
    without_comments(&gw.events(&mut s))
}

/// The text, the output token count and the stop reason of a non-streamed answer.
fn summary(d: Dialect, v: &Value) -> (String, u64, u64, String) {
    match d {
        Dialect::OpenAi => (
            v.pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            v.pointer("/usage/prompt_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            v.pointer("/usage/completion_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            v.pointer("/choices/0/finish_reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
        Dialect::Anthropic => (
            v["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect(),
            v.pointer("/usage/input_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            v.pointer("/usage/output_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            v["stop_reason"].as_str().unwrap_or("").to_string(),
        ),
        Dialect::Responses => (
            v["output"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|i| i["type"] == "message")
                .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
                .filter(|c| c["type"] == "output_text")
                .filter_map(|c| c["text"].as_str().map(String::from))
                .collect(),
            v.pointer("/usage/input_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            v.pointer("/usage/output_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            v["status"].as_str().unwrap_or("").to_string(),
        ),
    }
}

fn non_stream_text_and_usage(d: Dialect) {
    let gw = demo_gateway();
    let v = post(&gw, d, &request(d, PROMPT, false, None, false));
    let (text, input, output, stop) = summary(d, &v);
    gw_assert!(
        gw,
        !text.trim().is_empty(),
        "{d:?}: the answer has text; got {v}"
    );
    gw_assert!(
        gw,
        input > 0 && output > 0,
        "{d:?}: usage has input and output tokens; got {v}"
    );
    let want_stop = match d {
        Dialect::OpenAi => "stop",
        Dialect::Anthropic => "end_turn",
        Dialect::Responses => "completed",
    };
    gw_assert_eq!(gw, want_stop, stop, "{d:?}: stop reason / status; got {v}");
    match d {
        Dialect::OpenAi => gw_assert!(
            gw,
            v["object"] == "chat.completion" && v["choices"][0]["message"]["role"] == "assistant",
            "chat completion shape; got {v}"
        ),
        Dialect::Anthropic => gw_assert!(
            gw,
            v["type"] == "message" && v["role"] == "assistant" && v["id"].is_string(),
            "message shape; got {v}"
        ),
        Dialect::Responses => gw_assert!(
            gw,
            v["object"] == "response" && v["id"].is_string(),
            "response shape; got {v}"
        ),
    }
    let again = post(&gw, d, &request(d, PROMPT, false, None, false));
    gw_assert_eq!(
        gw,
        text,
        summary(d, &again).0,
        "{d:?}: the demo is deterministic"
    );
}

#[test]
fn demo_answers_openai_chat_with_text_and_usage() {
    non_stream_text_and_usage(Dialect::OpenAi);
}

#[test]
fn demo_answers_anthropic_messages_with_text_and_usage() {
    non_stream_text_and_usage(Dialect::Anthropic);
}

#[test]
fn demo_answers_responses_with_text_and_usage() {
    non_stream_text_and_usage(Dialect::Responses);
}

#[test]
fn demo_streams_openai_chat_tokens_with_usage() {
    let gw = demo_gateway();
    let d = Dialect::OpenAi;
    let events = stream(&gw, d, &request(d, PROMPT, false, None, true));
    gw_assert_eq!(
        gw,
        Some("[DONE]"),
        events.last().map(|e| e.data.as_str()),
        "the stream ends with [DONE]"
    );
    let chunks: Vec<Value> = events
        .iter()
        .filter(|e| e.data != "[DONE]")
        .map(|e| {
            e.json()
                .unwrap_or_else(|| panic!("chunk is not JSON: {:?}\n{}", e.data, gw.diag()))
        })
        .collect();
    gw_assert!(
        gw,
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk"),
        "every chunk is a chat.completion.chunk"
    );
    let pieces: Vec<&str> = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .filter(|s| !s.is_empty())
        .collect();
    gw_assert!(
        gw,
        pieces.len() >= 2,
        "tokens arrive in several chunks; got {pieces:?}"
    );
    gw_assert!(
        gw,
        chunks
            .iter()
            .any(|c| c.pointer("/choices/0/finish_reason") == Some(&json!("stop"))),
        "a chunk carries finish_reason stop"
    );
    let usage = chunks
        .iter()
        .find_map(|c| c.get("usage").filter(|u| u.is_object()));
    gw_assert!(
        gw,
        usage
            .is_some_and(|u| u["prompt_tokens"].as_u64() > Some(0)
                && u["completion_tokens"].as_u64() > Some(0)),
        "include_usage gives a usage chunk with tokens; got {usage:?}"
    );
    let full = post(&gw, d, &request(d, PROMPT, false, None, false));
    gw_assert_eq!(
        gw,
        summary(d, &full).0,
        pieces.concat(),
        "the streamed text equals the non-streamed text"
    );
}

#[test]
fn demo_streams_anthropic_messages_as_the_sdk_expects() {
    let gw = demo_gateway();
    let d = Dialect::Anthropic;
    let events = stream(&gw, d, &request(d, PROMPT, false, None, true));
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.event.as_deref().unwrap_or(""))
        .collect();
    for e in &events {
        let v = e.json();
        gw_assert!(
            gw,
            v.as_ref()
                .is_some_and(|v| v["type"].as_str() == e.event.as_deref()),
            "every event has an `event:` line equal to its data's type; got {:?}",
            e.raw_text()
        );
    }
    gw_assert_eq!(
        gw,
        Some(&"message_start"),
        names.first(),
        "first event; all: {names:?}"
    );
    gw_assert_eq!(
        gw,
        Some(&"message_stop"),
        names.last(),
        "last event; all: {names:?}"
    );
    for needed in [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
    ] {
        gw_assert!(
            gw,
            names.contains(&needed),
            "the stream has {needed}; all: {names:?}"
        );
    }
    let start = events[0].json().unwrap();
    gw_assert!(
        gw,
        start
            .pointer("/message/usage/input_tokens")
            .and_then(Value::as_u64)
            > Some(0),
        "message_start carries real input_tokens (CLIENTS.md); got {start}"
    );
    let text: String = events
        .iter()
        .filter_map(|e| e.json())
        .filter(|v| v["type"] == "content_block_delta" && v["delta"]["type"] == "text_delta")
        .filter_map(|v| v["delta"]["text"].as_str().map(String::from))
        .collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "content_block_delta")
        .count();
    gw_assert!(
        gw,
        deltas >= 2 && !text.is_empty(),
        "text arrives in several text_delta events; got {deltas} deltas, text {text:?}"
    );
    let delta = events
        .iter()
        .filter_map(|e| e.json())
        .find(|v| v["type"] == "message_delta")
        .unwrap();
    gw_assert_eq!(
        gw,
        Some("end_turn"),
        delta.pointer("/delta/stop_reason").and_then(Value::as_str),
        "message_delta stop_reason; got {delta}"
    );
    gw_assert!(
        gw,
        delta
            .pointer("/usage/output_tokens")
            .and_then(Value::as_u64)
            > Some(0),
        "message_delta usage.output_tokens; got {delta}"
    );
    let full = post(&gw, d, &request(d, PROMPT, false, None, false));
    gw_assert_eq!(
        gw,
        summary(d, &full).0,
        text,
        "the streamed text equals the non-streamed text"
    );
}

#[test]
fn demo_streams_responses_as_codex_expects() {
    let gw = demo_gateway();
    let d = Dialect::Responses;
    let events = stream(&gw, d, &request(d, PROMPT, false, None, true));
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.event.as_deref().unwrap_or(""))
        .collect();
    for e in &events {
        let v = e.json();
        gw_assert!(
            gw,
            v.as_ref()
                .is_some_and(|v| v["type"].as_str() == e.event.as_deref()),
            "every event's data carries its type; got {:?}",
            e.raw_text()
        );
    }
    gw_assert_eq!(
        gw,
        Some(&"response.created"),
        names.first(),
        "first event; all: {names:?}"
    );
    gw_assert_eq!(
        gw,
        Some(&"response.completed"),
        names.last(),
        "last event; all: {names:?}"
    );
    gw_assert!(
        gw,
        names.contains(&"response.output_item.done"),
        "response.output_item.done is sent; all: {names:?}"
    );
    let text: String = events
        .iter()
        .filter_map(|e| e.json())
        .filter(|v| v["type"] == "response.output_text.delta")
        .filter_map(|v| v["delta"].as_str().map(String::from))
        .collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "response.output_text.delta")
        .count();
    gw_assert!(
        gw,
        deltas >= 2 && !text.is_empty(),
        "text arrives in several deltas; got {deltas}, text {text:?}"
    );
    let done = events.last().unwrap().json().unwrap();
    gw_assert!(
        gw,
        done.pointer("/response/usage/output_tokens")
            .and_then(Value::as_u64)
            > Some(0)
            && done
                .pointer("/response/usage/input_tokens")
                .and_then(Value::as_u64)
                > Some(0),
        "response.completed carries usage; got {done}"
    );
    gw_assert_eq!(
        gw,
        text,
        summary(d, &done["response"]).0,
        "response.completed holds the streamed text"
    );
    let full = post(&gw, d, &request(d, PROMPT, false, None, false));
    gw_assert_eq!(
        gw,
        summary(d, &full).0,
        text,
        "the streamed text equals the non-streamed text"
    );
}

// ---------------------------------------------------------------------------------------------
// Tool calls
// ---------------------------------------------------------------------------------------------

/// (name, arguments as JSON) of every tool call in a non-streamed answer, and the stop reason.
fn tool_calls(d: Dialect, v: &Value) -> (Vec<(String, Value)>, String) {
    let parse = |s: &Value| -> Value {
        s.as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null)
    };
    match d {
        Dialect::OpenAi => (
            v.pointer("/choices/0/message/tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c["function"]["name"].as_str().unwrap_or("").to_string(),
                        parse(&c["function"]["arguments"]),
                    )
                })
                .collect(),
            v.pointer("/choices/0/finish_reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
        Dialect::Anthropic => (
            v["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b["type"] == "tool_use")
                .map(|b| {
                    (
                        b["name"].as_str().unwrap_or("").to_string(),
                        b["input"].clone(),
                    )
                })
                .collect(),
            v["stop_reason"].as_str().unwrap_or("").to_string(),
        ),
        Dialect::Responses => (
            v["output"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|i| i["type"] == "function_call")
                .map(|i| {
                    (
                        i["name"].as_str().unwrap_or("").to_string(),
                        parse(&i["arguments"]),
                    )
                })
                .collect(),
            v["status"].as_str().unwrap_or("").to_string(),
        ),
    }
}

fn tool_call_when_asked(d: Dialect) {
    let gw = demo_gateway();
    let v = post(&gw, d, &request(d, TOOL_PROMPT, true, None, false));
    let (calls, stop) = tool_calls(d, &v);
    gw_assert_eq!(gw, 1, calls.len(), "{d:?}: one tool call; got {v}");
    gw_assert_eq!(
        gw,
        "get_weather",
        calls[0].0,
        "{d:?}: the offered tool is called; got {v}"
    );
    gw_assert!(
        gw,
        calls[0].1.is_object(),
        "{d:?}: the arguments are a JSON object; got {v}"
    );
    let want_stop = match d {
        Dialect::OpenAi => "tool_calls",
        Dialect::Anthropic => "tool_use",
        Dialect::Responses => "completed",
    };
    gw_assert_eq!(
        gw,
        want_stop,
        stop,
        "{d:?}: stop reason of a tool call; got {v}"
    );
    match d {
        Dialect::OpenAi => gw_assert!(
            gw,
            v.pointer("/choices/0/message/tool_calls/0/id")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
                && v.pointer("/choices/0/message/tool_calls/0/type") == Some(&json!("function")),
            "tool call id and type; got {v}"
        ),
        Dialect::Anthropic => {
            gw_assert!(
                gw,
                v["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|b| b["type"] == "tool_use"
                        && b["id"].as_str().is_some_and(|s| !s.is_empty())),
                "tool_use id; got {v}"
            )
        }
        Dialect::Responses => gw_assert!(
            gw,
            v["output"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["type"] == "function_call"
                    && i["call_id"].as_str().is_some_and(|s| !s.is_empty())),
            "function_call call_id; got {v}"
        ),
    }
}

#[test]
fn demo_calls_the_offered_tool_when_asked_openai_chat() {
    tool_call_when_asked(Dialect::OpenAi);
}

#[test]
fn demo_calls_the_offered_tool_when_asked_anthropic() {
    tool_call_when_asked(Dialect::Anthropic);
}

#[test]
fn demo_calls_the_offered_tool_when_asked_responses() {
    tool_call_when_asked(Dialect::Responses);
}

#[test]
fn demo_does_not_call_tools_when_not_asked() {
    let gw = demo_gateway();
    for d in ALL_DIALECTS {
        let v = post(
            &gw,
            d,
            &request(d, "Say hello to my friend.", true, None, false),
        );
        let (calls, _) = tool_calls(d, &v);
        gw_assert!(
            gw,
            calls.is_empty(),
            "{d:?}: tools offered but not asked for ⇒ no tool call; got {v}"
        );
        gw_assert!(
            gw,
            !summary(d, &v).0.is_empty(),
            "{d:?}: a text answer instead; got {v}"
        );
    }
}

#[test]
fn demo_streams_a_tool_call_openai_chat() {
    // delta.tool_calls with the name, arguments in pieces, finish_reason tool_calls.
    let gw = demo_gateway();
    let d = Dialect::OpenAi;
    let events = stream(&gw, d, &request(d, TOOL_PROMPT, true, None, true));
    let chunks: Vec<Value> = events.iter().filter_map(|e| e.json()).collect();
    let name: String = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/tool_calls/0/function/name")
                .and_then(Value::as_str)
        })
        .collect();
    let args: String = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/tool_calls/0/function/arguments")
                .and_then(Value::as_str)
        })
        .collect();
    gw_assert_eq!(gw, "get_weather", name, "OpenAI stream: tool name");
    gw_assert!(
        gw,
        serde_json::from_str::<Value>(&args).is_ok_and(|a| a.is_object()),
        "OpenAI stream: arguments join into a JSON object; got {args:?}"
    );
    gw_assert!(
        gw,
        chunks
            .iter()
            .any(|c| c.pointer("/choices/0/finish_reason") == Some(&json!("tool_calls"))),
        "OpenAI stream: finish_reason tool_calls"
    );
}

#[test]
fn demo_streams_a_tool_call_anthropic() {
    // content_block_start tool_use, input_json_delta, stop_reason tool_use (CLIENTS.md).
    let gw = demo_gateway();
    let d = Dialect::Anthropic;
    let events = stream(&gw, d, &request(d, TOOL_PROMPT, true, None, true));
    let vals: Vec<Value> = events.iter().filter_map(|e| e.json()).collect();
    let start = vals
        .iter()
        .find(|v| v["type"] == "content_block_start" && v["content_block"]["type"] == "tool_use");
    gw_assert!(
        gw,
        start.is_some_and(|s| s["content_block"]["name"] == "get_weather"
            && s["content_block"]["id"]
                .as_str()
                .is_some_and(|i| !i.is_empty())),
        "Anthropic stream: a tool_use block start with name and id; got {vals:?}"
    );
    let json_args: String = vals
        .iter()
        .filter(|v| v["delta"]["type"] == "input_json_delta")
        .filter_map(|v| v["delta"]["partial_json"].as_str())
        .collect();
    gw_assert!(
        gw,
        serde_json::from_str::<Value>(&json_args).is_ok_and(|a| a.is_object()),
        "Anthropic stream: input_json_delta pieces join into an object; got {json_args:?}"
    );
    let delta = vals.iter().find(|v| v["type"] == "message_delta");
    gw_assert!(
        gw,
        delta.is_some_and(|d| d["delta"]["stop_reason"] == "tool_use"),
        "Anthropic stream: stop_reason tool_use; got {delta:?}"
    );
}

#[test]
fn demo_streams_a_tool_call_responses() {
    // A function_call item in response.output_item.done, then response.completed (Codex needs both).
    let gw = demo_gateway();
    let d = Dialect::Responses;
    let events = stream(&gw, d, &request(d, TOOL_PROMPT, true, None, true));
    let vals: Vec<Value> = events.iter().filter_map(|e| e.json()).collect();
    let item = vals
        .iter()
        .find(|v| v["type"] == "response.output_item.done" && v["item"]["type"] == "function_call");
    gw_assert!(
        gw,
        item.is_some_and(|i| i["item"]["name"] == "get_weather"
            && i["item"]["call_id"].as_str().is_some_and(|c| !c.is_empty())
            && i["item"]["arguments"]
                .as_str()
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
                .is_some_and(|a| a.is_object())),
        "Responses stream: output_item.done with the function_call; got {vals:?}"
    );
    gw_assert_eq!(
        gw,
        Some("response.completed"),
        vals.last().and_then(|v| v["type"].as_str()),
        "Responses stream ends with response.completed"
    );
}

// ---------------------------------------------------------------------------------------------
// max_tokens
// ---------------------------------------------------------------------------------------------

fn max_tokens_honoured(d: Dialect) {
    let gw = demo_gateway();
    let free = post(&gw, d, &request(d, PROMPT, false, None, false));
    let (_, _, free_out, _) = summary(d, &free);
    gw_assert!(
        gw,
        free_out > 3,
        "{d:?}: precondition: the unlimited answer is longer than 3 tokens; got {free}"
    );
    let capped = post(&gw, d, &request(d, PROMPT, false, Some(3), false));
    let (text, _, out, stop) = summary(d, &capped);
    gw_assert!(
        gw,
        out <= 3 && out > 0,
        "{d:?}: max tokens 3 ⇒ 1..=3 output tokens; got {capped}"
    );
    gw_assert!(
        gw,
        text.len() < summary(d, &free).0.len(),
        "{d:?}: the capped text is shorter; got {text:?}"
    );
    let want_stop = match d {
        Dialect::OpenAi => "length",
        Dialect::Anthropic => "max_tokens",
        Dialect::Responses => "incomplete",
    };
    gw_assert_eq!(
        gw,
        want_stop,
        stop,
        "{d:?}: the stop reason says the cap was hit; got {capped}"
    );
    if d == Dialect::Responses {
        gw_assert_eq!(
            gw,
            Some("max_output_tokens"),
            capped
                .pointer("/incomplete_details/reason")
                .and_then(Value::as_str),
            "incomplete_details.reason; got {capped}"
        );
    }
}

#[test]
fn demo_honours_max_tokens_openai_chat() {
    max_tokens_honoured(Dialect::OpenAi);
}

#[test]
fn demo_honours_max_tokens_anthropic() {
    max_tokens_honoured(Dialect::Anthropic);
}

#[test]
fn demo_honours_max_output_tokens_responses() {
    max_tokens_honoured(Dialect::Responses);
}

#[test]
fn demo_honours_max_tokens_while_streaming() {
    let gw = demo_gateway();
    let d = Dialect::Anthropic;
    let events = stream(&gw, d, &request(d, PROMPT, false, Some(3), true));
    let deltas = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_delta"))
        .count();
    let delta = events
        .iter()
        .filter_map(|e| e.json())
        .find(|v| v["type"] == "message_delta");
    gw_assert!(
        gw,
        deltas <= 3,
        "at most 3 token deltas with max_tokens 3; got {deltas}"
    );
    gw_assert!(
        gw,
        delta
            .as_ref()
            .is_some_and(|d| d["delta"]["stop_reason"] == "max_tokens"
                && d["usage"]["output_tokens"].as_u64() <= Some(3)),
        "message_delta says max_tokens with ≤ 3 output tokens; got {delta:?}"
    );
}

#[test]
fn demo_is_listed_in_models() {
    let gw = demo_gateway();
    let r = gw.get("/v1/models");
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "GET /v1/models; response: {}",
        r.describe()
    );
    let v = r.json();
    gw_assert!(
        gw,
        v["data"]
            .as_array()
            .is_some_and(|d| d.iter().any(|m| m.to_string().contains("demo"))),
        "a model tagged demo is listed; got {v}"
    );
}
