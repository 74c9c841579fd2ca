//! The client's request as the pipeline holds it: the body bytes, the few fields the gateway
//! reads without a full parse, and the `ir` form, decoded at most once and only when needed.

use serde::Deserialize;
use serde_json::Value;
use tiny_http::Request;

use crate::dialect::Dialect;
use crate::error::GatewayError;
use crate::ir;
use crate::upstream::ClientHeaders;

pub struct Incoming {
    pub dialect: Dialect,
    pub body: Vec<u8>,
    pub model: Option<String>,
    pub stream: bool,
    /// The API path with its query (`/v1/messages?beta=true`), pinned prefix removed.
    pub api_path: String,
    decoded: Option<ir::Request>,
}

/// The fields the gateway itself needs from any chat request; the rest is left unparsed.
#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    stream: Option<Value>,
}

impl Incoming {
    /// Checks the body is JSON and reads `model` and `stream`.
    pub fn new(
        dialect: Dialect,
        body: Vec<u8>,
        api_path: String,
    ) -> Result<Incoming, GatewayError> {
        let (model, stream) = peek(&body)?;
        Ok(Incoming {
            dialect,
            body,
            model,
            stream,
            api_path,
            decoded: None,
        })
    }

    /// The request as `ir` (decoded on first use).
    pub fn ir(&mut self) -> Result<&ir::Request, GatewayError> {
        if self.decoded.is_none() {
            let value: Value = serde_json::from_slice(&self.body).map_err(not_json)?;
            self.decoded = Some(self.dialect.decode_request(&value)?);
        }
        Ok(self.decoded.as_ref().expect("decoded above"))
    }

    /// Whether the raw body contains `needle` (a cheap test before a full decode).
    pub fn mentions(&self, needle: &[u8]) -> bool {
        self.body.windows(needle.len()).any(|w| w == needle)
    }
}

fn not_json(e: serde_json::Error) -> GatewayError {
    GatewayError::invalid(format!("request body is not valid JSON: {e}"))
}

/// How deep a request's JSON may nest: serde_json's own limit, which every later decode of the
/// body (conversion, proxy-cli, smart routing) would hit anyway.
const MAX_DEPTH: usize = 128;

/// Reads `model` and `stream`, and checks the body is JSON a backend can take: serde skips
/// the fields it does not need without checking their UTF-8 or their depth, so both are checked
/// here (RFC 8259 §8.1 requires UTF-8).
pub fn peek(body: &[u8]) -> Result<(Option<String>, bool), GatewayError> {
    if let Err(e) = std::str::from_utf8(body) {
        return Err(GatewayError::invalid(format!(
            "request body is not valid JSON: invalid UTF-8 at byte {}",
            e.valid_up_to()
        )));
    }
    if nests_deeper_than(body, MAX_DEPTH) {
        return Err(GatewayError::invalid(format!(
            "request body is not valid JSON: nested more than {MAX_DEPTH} levels deep"
        )));
    }
    let peek: Peek = serde_json::from_slice(body).map_err(not_json)?;

    let model = match peek.model {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) => Some(m),
        Some(_) => return Err(GatewayError::invalid("model: expected a string")),
    };
    let stream = match peek.stream {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(GatewayError::invalid("stream: expected true or false")),
    };
    Ok((model, stream))
}

/// Whether JSON text nests arrays and objects deeper than `limit` (strings skipped).
fn nests_deeper_than(json: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The body with `model` replaced.
pub fn rewrite_model(body: &[u8], model: &str) -> Result<Vec<u8>, GatewayError> {
    let mut value: Value = serde_json::from_slice(body).map_err(not_json)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("model".into(), Value::String(model.to_owned()));
    }
    serde_json::to_vec(&value).map_err(|e| GatewayError::internal(e.to_string()))
}

/// The client's headers to pass on. `keep_credentials` is false when the gateway's own API
/// keys are in use: then the client's credential is the gateway's key, not a backend's.
pub fn client_headers(request: &Request, keep_credentials: bool) -> ClientHeaders {
    let mut headers = ClientHeaders::default();
    for h in request.headers() {
        let value = || Some(h.value.as_str().to_owned());
        let field = h.field.as_str().as_str();
        if field.eq_ignore_ascii_case("authorization") {
            headers.authorization = value();
        } else if field.eq_ignore_ascii_case("x-api-key") {
            headers.x_api_key = value();
        } else if field.eq_ignore_ascii_case("anthropic-version") {
            headers.anthropic_version = value();
        } else if field.eq_ignore_ascii_case("anthropic-beta") {
            headers.anthropic_beta = value();
        }
    }
    if !keep_credentials {
        headers.authorization = None;
        headers.x_api_key = None;
    }
    headers
}

/// A header's value, by case-insensitive name.
pub fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_owned())
}

/// Text made safe for a header value: printable ASCII only, bounded length.
pub fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_model_and_stream_and_rejects_bad_json() {
        assert_eq!(
            peek(br#"{"model":"m","stream":true,"messages":[]}"#).unwrap(),
            (Some("m".into()), true)
        );
        assert_eq!(peek(br#"{"messages":[]}"#).unwrap(), (None, false));
        assert!(peek(b"{nope")
            .unwrap_err()
            .message
            .contains("not valid JSON"));
        assert!(peek(br#"{"stream":"yes"}"#).is_err());
        assert!(peek(br#"[1,2]"#).is_err());
        assert!(peek(b"{\"model\":\"m\",\"x\":\"\xff\"}")
            .unwrap_err()
            .message
            .contains("UTF-8"));
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(peek(deep.as_bytes())
            .unwrap_err()
            .message
            .contains("nested"));
        let fine = format!(
            "{{\"x\":{}{}, \"s\":\"[[[[{{\"}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(peek(fine.as_bytes()).unwrap(), (None, false));
    }

    #[test]
    fn decodes_once_on_demand() {
        let body =
            br#"{"model":"m","messages":[{"role":"user","content":"hi proxy-cli"}]}"#.to_vec();
        let mut incoming =
            Incoming::new(Dialect::OpenAiChat, body, "/v1/chat/completions".into()).unwrap();
        assert!(incoming.mentions(b"proxy-cli"));
        assert_eq!(incoming.ir().unwrap().last_user_text(), "hi proxy-cli");
        assert_eq!(header_safe("a\u{e9}\nb"), "a??b");
    }
}
