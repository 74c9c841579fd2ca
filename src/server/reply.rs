//! Complete (non-streamed) replies: plain data — status, headers, body — sent in one go.

use tiny_http::{Header, Request, Response};

use crate::dialect::Dialect;
use crate::error::GatewayError;

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }

    /// Pretty JSON, for endpoints people read with `curl`.
    pub fn pretty(status: u16, value: &serde_json::Value) -> Reply {
        let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
        body.push(b'\n');
        Reply::json(status, body)
    }

    /// An error in the client's dialect; plain OpenAI-style JSON when no dialect applies.
    pub fn error(dialect: Option<Dialect>, err: &GatewayError) -> Reply {
        let dialect = dialect.unwrap_or(Dialect::OpenAiChat);
        let mut reply = Reply::json(dialect.error_status(err), dialect.error_body(err));
        if let Some(secs) = err.retry_after {
            reply = reply.header("Retry-After", &secs.to_string());
        }
        reply
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends the reply. A client that already left is not an error worth reporting.
    pub fn send(self, request: Request) {
        let mut response = Response::from_data(self.body).with_status_code(self.status);
        for (name, value) in &self.headers {
            if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(header);
            }
        }
        if let Err(e) = request.respond(response) {
            log::debug!("reply not delivered: {e}");
        }
    }
}
