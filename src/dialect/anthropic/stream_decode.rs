//! An Anthropic backend's SSE stream into `ir` events.
//!
//! The stream is `message_start`, then per content block `content_block_start`, deltas and
//! `content_block_stop`, then `message_delta` (stop reason, usage) and `message_stop`, with `ping`s
//! anywhere and possibly an `error` event. Reference:
//! <https://platform.claude.com/docs/en/build-with-claude/streaming>.

use serde_json::Value;

use super::{kind_of_error_type, parse_stop_reason, WireUsage, REDACTED_PREFIX};
use crate::dialect::StreamDecode;
use crate::error::{ErrorKind, GatewayError};
use crate::ir::{self, BlockStart, Delta, Event, StopReason};
use crate::sse;

/// Decodes an Anthropic backend's stream.
///
/// State, and why: which blocks are open (so `finish` can close them when the stream breaks off,
/// and so deltas of blocks `ir` cannot carry — server-tool blocks — are dropped), the usage seen
/// so far (input tokens arrive in `message_start`, output tokens in `message_delta`, and `ir`
/// reports them together in `Finish`), the stop reason from `message_delta` (`Finish` is emitted at
/// `message_stop`, since the API may send several `message_delta`s), and whether the stream has
/// started and ended.
pub struct StreamDecoder {
    started: bool,
    /// `Done` or `Error` was emitted: nothing more may follow.
    ended: bool,
    open: Vec<usize>,
    skipped: Vec<usize>,
    usage: WireUsage,
    stop_reason: Option<StopReason>,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        StreamDecoder::new()
    }
}

fn bad_stream(what: impl std::fmt::Display) -> GatewayError {
    GatewayError::new(ErrorKind::BadGateway, format!("anthropic stream: {what}"))
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder {
            started: false,
            ended: false,
            open: Vec::new(),
            skipped: Vec::new(),
            usage: WireUsage::default(),
            stop_reason: None,
        }
    }

    /// A content event before `message_start` (a broken proxy): start the message anyway, so the
    /// `ir` order holds.
    fn ensure_started(&mut self, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: String::new(),
                model: String::new(),
                usage: ir::Usage::default(),
            });
        }
    }

    fn message_start(&mut self, data: &Value, out: &mut Vec<Event>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = data.get("message").unwrap_or(&Value::Null);
        if let Some(usage) = message.get("usage") {
            self.usage.update(usage);
        }
        let text = |key: &str| {
            message
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        out.push(Event::Start {
            id: text("id"),
            model: text("model"),
            usage: self.usage.to_ir(),
        });
    }

    fn block_start(
        &mut self,
        index: usize,
        data: &Value,
        out: &mut Vec<Event>,
    ) -> Result<(), GatewayError> {
        self.ensure_started(out);
        let block = data.get("content_block").unwrap_or(&Value::Null);
        let field = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or_default();
        // What the start event already holds: empty for the API's own blocks, but compatible
        // servers may send a block whole.
        let mut first = Vec::new();
        let start = match field("type") {
            "text" => {
                first.push(Delta::Text(field("text").to_owned()));
                BlockStart::Text
            }
            "tool_use" => {
                let id = block.get("id").and_then(Value::as_str);
                let id = id
                    .ok_or_else(|| bad_stream("tool_use block without an id"))?
                    .to_owned();
                if let Some(input) = block
                    .get("input")
                    .filter(|i| i.as_object().is_some_and(|o| !o.is_empty()))
                {
                    first.push(Delta::ToolArguments(input.to_string()));
                }
                BlockStart::ToolCall {
                    id,
                    name: field("name").to_owned(),
                }
            }
            "thinking" => {
                first.push(Delta::Reasoning(field("thinking").to_owned()));
                first.push(Delta::ReasoningSignature(field("signature").to_owned()));
                BlockStart::Reasoning
            }
            // Redacted thinking comes whole: carried as a marked signature (see REDACTED_PREFIX).
            "redacted_thinking" => {
                first.push(Delta::ReasoningSignature(format!(
                    "{REDACTED_PREFIX}{}",
                    field("data")
                )));
                BlockStart::Reasoning
            }
            other => {
                log::debug!("anthropic stream: skipped a {other} block");
                self.skipped.push(index);
                return Ok(());
            }
        };
        out.push(Event::BlockStart {
            index,
            block: start,
        });
        self.open.push(index);
        for delta in first.into_iter().filter(|d| !delta_is_empty(d)) {
            out.push(Event::Delta { index, delta });
        }
        Ok(())
    }

    fn block_delta(&mut self, index: usize, data: &Value, out: &mut Vec<Event>) {
        if self.skipped.contains(&index) || !self.open.contains(&index) {
            return;
        }
        let delta = data.get("delta").unwrap_or(&Value::Null);
        let field = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or_default();
        let delta = match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => Delta::Text(field("text").to_owned()),
            Some("input_json_delta") => Delta::ToolArguments(field("partial_json").to_owned()),
            Some("thinking_delta") => Delta::Reasoning(field("thinking").to_owned()),
            Some("signature_delta") => Delta::ReasoningSignature(field("signature").to_owned()),
            // citations_delta and future kinds carry nothing `ir` has.
            _ => return,
        };
        if !delta_is_empty(&delta) {
            out.push(Event::Delta { index, delta });
        }
    }

    fn block_stop(&mut self, index: usize, out: &mut Vec<Event>) {
        if let Some(pos) = self.open.iter().position(|&i| i == index) {
            self.open.remove(pos);
            out.push(Event::BlockStop { index });
        }
    }

    fn close_open_blocks(&mut self, out: &mut Vec<Event>) {
        for index in self.open.drain(..) {
            out.push(Event::BlockStop { index });
        }
    }

    fn message_stop(&mut self, out: &mut Vec<Event>) {
        self.ensure_started(out);
        self.close_open_blocks(out);
        out.push(Event::Finish {
            stop_reason: self.stop_reason.take().unwrap_or(StopReason::EndTurn),
            usage: self.usage.to_ir(),
        });
        out.push(Event::Done);
        self.ended = true;
    }

    fn error(&mut self, data: &Value, out: &mut Vec<Event>) {
        let error = data.get("error").unwrap_or(&Value::Null);
        let field = |key: &str| error.get(key).and_then(Value::as_str);
        out.push(Event::Error {
            kind: kind_of_error_type(field("type").unwrap_or_default())
                .as_str()
                .to_owned(),
            message: field("message")
                .unwrap_or("the backend reported an error")
                .to_owned(),
        });
        self.ended = true;
    }
}

fn delta_is_empty(delta: &Delta) -> bool {
    match delta {
        Delta::Text(s)
        | Delta::Reasoning(s)
        | Delta::ToolArguments(s)
        | Delta::ReasoningSignature(s) => s.is_empty(),
    }
}

/// The content block index of an event.
fn index_of(data: &Value, kind: &str) -> Result<usize, GatewayError> {
    data.get("index")
        .and_then(Value::as_u64)
        .map(|i| i as usize)
        .ok_or_else(|| bad_stream(format_args!("{kind} without an index")))
}

impl StreamDecode for StreamDecoder {
    fn decode(&mut self, event: &sse::Event, out: &mut Vec<Event>) -> Result<(), GatewayError> {
        if self.ended || event.is_empty() {
            return Ok(());
        }
        let data: Value = if event.data.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&event.data)
                .map_err(|e| bad_stream(format_args!("{} event is not JSON: {e}", event.event)))?
        };
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(&event.event);
        match kind {
            "message_start" => self.message_start(&data, out),
            "content_block_start" => self.block_start(index_of(&data, kind)?, &data, out)?,
            "content_block_delta" => self.block_delta(index_of(&data, kind)?, &data, out),
            "content_block_stop" => self.block_stop(index_of(&data, kind)?, out),
            "message_delta" => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                let text = |key: &str| delta.get(key).and_then(Value::as_str);
                if let Some(reason) = text("stop_reason") {
                    self.stop_reason = Some(parse_stop_reason(Some(reason), text("stop_sequence")));
                }
                if let Some(usage) = data.get("usage") {
                    self.usage.update(usage);
                }
            }
            "message_stop" => self.message_stop(out),
            "error" => self.error(&data, out),
            "ping" => {}
            other => log::debug!("anthropic stream: skipped a {other:?} event"),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) {
        if self.ended {
            return;
        }
        if !self.started {
            self.ended = true;
            out.push(Event::Error {
                kind: ErrorKind::BadGateway.as_str().to_owned(),
                message: "the backend's stream ended before the message started".to_owned(),
            });
            return;
        }
        self.message_stop(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Usage;
    use std::io::Cursor;

    fn decode_all(transcript: &str, finish: bool) -> Vec<Event> {
        let mut decoder = StreamDecoder::new();
        let mut out = Vec::new();
        for event in sse::EventReader::new(Cursor::new(transcript.as_bytes().to_vec())) {
            decoder.decode(&event.unwrap(), &mut out).unwrap();
        }
        if finish {
            decoder.finish(&mut out);
        }
        out
    }

    /// A recorded transcript in the shape of the streaming docs' "Streaming request with tool use"
    /// and "extended thinking" examples (<https://platform.claude.com/docs/en/build-with-claude/streaming>):
    /// thinking with a signature, text, a tool call whose arguments stream in pieces, pings,
    /// usage split between message_start and message_delta.
    const TRANSCRIPT: &str = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2000,\"output_tokens\":2},\"content\":[],\"stop_reason\":null}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Need the weather.\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3h\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay, let's check\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" the weather.\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San Francisco, CA\\\"}\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    #[test]
    fn recorded_transcript_decodes_in_ir_order() {
        let events = decode_all(TRANSCRIPT, true);
        let delta = |index, delta| Event::Delta { index, delta };
        let want = vec![
            Event::Start {
                id: "msg_014p7gG3wDgGV9EUtLvnow3U".into(),
                model: "claude-sonnet-4-5-20250929".into(),
                usage: Usage {
                    input_tokens: 2472,
                    output_tokens: 2,
                    cache_read_tokens: 2000,
                    ..Default::default()
                },
            },
            Event::BlockStart {
                index: 0,
                block: BlockStart::Reasoning,
            },
            delta(0, Delta::Reasoning("Need the weather.".into())),
            delta(
                0,
                Delta::ReasoningSignature("EqQBCgIYAhIM1gbcDa9GJwZA2b3h".into()),
            ),
            Event::BlockStop { index: 0 },
            Event::BlockStart {
                index: 1,
                block: BlockStart::Text,
            },
            delta(1, Delta::Text("Okay, let's check".into())),
            delta(1, Delta::Text(" the weather.".into())),
            Event::BlockStop { index: 1 },
            Event::BlockStart {
                index: 2,
                block: BlockStart::ToolCall {
                    id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                    name: "get_weather".into(),
                },
            },
            delta(2, Delta::ToolArguments("{\"location\":".into())),
            delta(2, Delta::ToolArguments(" \"San Francisco, CA\"}".into())),
            Event::BlockStop { index: 2 },
            Event::Finish {
                stop_reason: StopReason::ToolUse,
                usage: Usage {
                    input_tokens: 2472,
                    output_tokens: 89,
                    cache_read_tokens: 2000,
                    ..Default::default()
                },
            },
            Event::Done,
        ];
        assert_eq!(events, want);
    }

    #[test]
    fn early_ended_stream_is_closed_with_finish_and_done() {
        // Cut right after the second text delta.
        let cut = TRANSCRIPT
            .find("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}")
            .unwrap();
        let events = decode_all(&TRANSCRIPT[..cut], true);
        let tail = &events[events.len() - 3..];
        assert_eq!(tail[0], Event::BlockStop { index: 1 });
        assert!(
            matches!(&tail[1], Event::Finish { stop_reason: StopReason::EndTurn, usage } if usage.input_tokens == 2472)
        );
        assert_eq!(tail[2], Event::Done);
    }

    #[test]
    fn finish_adds_nothing_after_a_complete_stream() {
        assert_eq!(decode_all(TRANSCRIPT, true), decode_all(TRANSCRIPT, false));
    }

    #[test]
    fn stream_without_any_event_finishes_as_an_error() {
        let events = decode_all("", true);
        assert!(matches!(&events[..], [Event::Error { kind, .. }] if kind == "bad_gateway"));
    }

    #[test]
    fn mid_stream_error_event_becomes_ir_error_and_ends_the_stream() {
        let transcript = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}\n\n";
        let events = decode_all(transcript, true);
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[2],
            Event::Error {
                kind: "overloaded".into(),
                message: "Overloaded".into()
            }
        );
    }

    #[test]
    fn redacted_thinking_and_server_tool_blocks() {
        let transcript = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgB\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"###\"},\"usage\":{\"output_tokens\":9}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let events = decode_all(transcript, true);
        assert_eq!(
            events[1..4],
            [
                Event::BlockStart {
                    index: 0,
                    block: BlockStart::Reasoning
                },
                Event::Delta {
                    index: 0,
                    delta: Delta::ReasoningSignature("redacted_thinking:EmwKAhgB".into())
                },
                Event::BlockStop { index: 0 },
            ]
        );
        assert!(matches!(
            &events[4],
            Event::Finish { stop_reason: StopReason::StopSequence(Some(s)), .. } if s == "###"
        ));
        assert_eq!(events.len(), 6, "the server tool block leaves no trace");
    }

    #[test]
    fn invalid_json_is_a_bad_gateway_error() {
        let mut decoder = StreamDecoder::new();
        let event = sse::Event {
            event: "message_start".into(),
            data: "{not json".into(),
            raw: Vec::new(),
        };
        let err = decoder.decode(&event, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway);
    }
}
