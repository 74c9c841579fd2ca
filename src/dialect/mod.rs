//! The three wire formats clients and backends speak, one module each.
//!
//! Every dialect module offers the same set of functions (decode and encode of requests and
//! responses, its error shape) and a stream decoder and encoder. The gateway never converts one
//! dialect straight into another: it decodes into `ir` and encodes out of it (DESIGN.md).

pub mod anthropic;
pub mod openai_chat;
pub mod responses;

use serde_json::Value;

use crate::error::GatewayError;
use crate::ir;
use crate::sse;

/// A wire format of chat requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAiChat,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI Responses (`/v1/responses`).
    Responses,
}

/// Turns one backend's SSE events into `ir` events. Keeps whatever state the format needs
/// (open blocks, tool-call ids, usage seen so far).
pub trait StreamDecode: Send {
    /// Decodes one SSE event, appending zero or more `ir` events to `out`.
    fn decode(&mut self, event: &sse::Event, out: &mut Vec<ir::Event>) -> Result<(), GatewayError>;
    /// The backend's stream has ended. Appends what a well-formed stream still lacks (closing
    /// blocks, `Finish`, `Done`); appends nothing if the stream already ended properly.
    fn finish(&mut self, out: &mut Vec<ir::Event>);
}

/// Turns `ir` events into SSE frames of one client dialect.
pub trait StreamEncode: Send {
    /// Appends the frames for one `ir` event to `out` (possibly none, possibly several).
    fn encode(&mut self, event: &ir::Event, out: &mut Vec<u8>);
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::OpenAiChat, Dialect::Anthropic, Dialect::Responses];

    /// The dialect a proxy path speaks: `/v1/chat/completions`, `/v1/messages`, `/v1/responses`
    /// (a query string and a trailing slash are ignored).
    pub fn from_path(path: &str) -> Option<Dialect> {
        let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
        match path {
            "/v1/chat/completions" | "/chat/completions" => Some(Dialect::OpenAiChat),
            "/v1/messages" | "/messages" => Some(Dialect::Anthropic),
            "/v1/responses" | "/responses" => Some(Dialect::Responses),
            _ => None,
        }
    }

    /// The config name (`"api"` field) and log label.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::OpenAiChat => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Responses => "responses",
        }
    }

    /// The path a backend of this dialect serves chat requests on.
    pub fn upstream_path(self) -> &'static str {
        match self {
            Dialect::OpenAiChat => "/v1/chat/completions",
            Dialect::Anthropic => "/v1/messages",
            Dialect::Responses => "/v1/responses",
        }
    }

    /// The JSON body of an error response in this dialect.
    pub fn error_body(self, err: &GatewayError) -> Vec<u8> {
        let value = match self {
            Dialect::OpenAiChat => openai_chat::error_body(err),
            Dialect::Anthropic => anthropic::error_body(err),
            Dialect::Responses => responses::error_body(err),
        };
        serde_json::to_vec(&value).expect("a JSON value always serializes")
    }

    /// The HTTP status an error has in this dialect (Anthropic reports overload as 529).
    pub fn error_status(self, err: &GatewayError) -> u16 {
        match (self, err.kind) {
            (Dialect::Anthropic, crate::error::ErrorKind::Overloaded) if err.status == 503 => 529,
            _ => err.status,
        }
    }

    pub fn decode_request(self, body: &Value) -> Result<ir::Request, GatewayError> {
        match self {
            Dialect::OpenAiChat => openai_chat::decode_request(body),
            Dialect::Anthropic => anthropic::decode_request(body),
            Dialect::Responses => responses::decode_request(body),
        }
    }

    pub fn encode_request(self, request: &ir::Request) -> Value {
        match self {
            Dialect::OpenAiChat => openai_chat::encode_request(request),
            Dialect::Anthropic => anthropic::encode_request(request),
            Dialect::Responses => responses::encode_request(request),
        }
    }

    pub fn decode_response(self, body: &Value) -> Result<ir::Response, GatewayError> {
        match self {
            Dialect::OpenAiChat => openai_chat::decode_response(body),
            Dialect::Anthropic => anthropic::decode_response(body),
            Dialect::Responses => responses::decode_response(body),
        }
    }

    /// The usage a complete answer in this dialect reports, read without building the rest
    /// (a passthrough answer is read only for the books). `None` if it is not a JSON object.
    pub fn response_usage(self, body: &[u8]) -> Option<ir::Usage> {
        #[derive(serde::Deserialize)]
        struct UsageOnly {
            #[serde(default)]
            usage: Value,
        }
        let usage = serde_json::from_slice::<UsageOnly>(body).ok()?.usage;
        Some(match self {
            Dialect::OpenAiChat => openai_chat::usage_from(&usage),
            Dialect::Anthropic => anthropic::WireUsage::from_json(Some(&usage)).to_ir(),
            Dialect::Responses => responses::decode_usage(&usage),
        })
    }

    pub fn encode_response(self, response: &ir::Response) -> Value {
        match self {
            Dialect::OpenAiChat => openai_chat::encode_response(response),
            Dialect::Anthropic => anthropic::encode_response(response),
            Dialect::Responses => responses::encode_response(response),
        }
    }

    /// Re-expresses a backend's error reply (status and body in this dialect) as a gateway error
    /// that keeps the status and the backend's message.
    pub fn decode_error(self, status: u16, body: &[u8]) -> GatewayError {
        match self {
            Dialect::OpenAiChat => openai_chat::decode_error(status, body),
            Dialect::Anthropic => anthropic::decode_error(status, body),
            Dialect::Responses => responses::decode_error(status, body),
        }
    }

    pub fn stream_decoder(self) -> Box<dyn StreamDecode> {
        match self {
            Dialect::OpenAiChat => Box::new(openai_chat::StreamDecoder::new()),
            Dialect::Anthropic => Box::new(anthropic::StreamDecoder::new()),
            Dialect::Responses => Box::new(responses::StreamDecoder::new()),
        }
    }

    /// An encoder for a client that sent `request` (it may shape the stream, e.g. by asking
    /// for usage).
    pub fn stream_encoder(self, request: &ir::Request) -> Box<dyn StreamEncode> {
        match self {
            Dialect::OpenAiChat => Box::new(openai_chat::StreamEncoder::new(request)),
            Dialect::Anthropic => Box::new(anthropic::StreamEncoder::new(request)),
            Dialect::Responses => Box::new(responses::StreamEncoder::new(request)),
        }
    }
}

/// A count nested in `value` by keys (`count_at(usage, &["details", "cached"])`), 0 if absent.
/// Unlike `Value::pointer` it allocates nothing, which matters per streamed usage chunk.
pub fn count_at(value: &Value, path: &[&str]) -> u64 {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Builds the `decode_error` result shared by the dialects: the status is kept, the message is
/// the backend's own when `message` found one, else a generic text naming the status.
pub fn upstream_error(status: u16, message: Option<String>) -> GatewayError {
    let kind = crate::error::ErrorKind::from_status(status);
    let message = message.unwrap_or_else(|| format!("the backend answered with HTTP {status}"));
    GatewayError::new(kind, message).with_status(status)
}

/// Appends `s` as a JSON string literal, for stream encoders that write their per-token events
/// by hand. Escapes what JSON requires (quote, backslash, control characters), so the result
/// never holds a raw newline and stays on one `data:` line.
pub fn push_json_str(buf: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push('"');
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            // The short forms serde_json writes too, so the output matches it byte for byte.
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `i` is a char boundary.
        buf.push_str(&s[start..i]);
        if escape.is_empty() {
            buf.push_str("\\u00");
            buf.push(HEX[(byte >> 4) as usize] as char);
            buf.push(HEX[(byte & 0xf) as usize] as char);
        } else {
            buf.push_str(escape);
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        let mut buf = String::new();
        let nasty = "a\"b\\c\nd\re\tf\u{1}g\u{1f}\u{8}é🦀";
        push_json_str(&mut buf, nasty);
        assert_eq!(buf, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f\\bé🦀\"");
        assert_eq!(serde_json::from_str::<String>(&buf).unwrap(), nasty);
        assert_eq!(buf, serde_json::to_string(nasty).unwrap());
    }

    #[test]
    fn paths_map_to_dialects() {
        assert_eq!(
            Dialect::from_path("/v1/chat/completions"),
            Some(Dialect::OpenAiChat)
        );
        assert_eq!(
            Dialect::from_path("/v1/messages?beta=true"),
            Some(Dialect::Anthropic)
        );
        assert_eq!(
            Dialect::from_path("/v1/responses/"),
            Some(Dialect::Responses)
        );
        assert_eq!(Dialect::from_path("/v1/messages/count_tokens"), None);
        assert_eq!(Dialect::from_path("/v1/models"), None);
    }
}
