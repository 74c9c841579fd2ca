//! Complete (non-streamed) replies: plain data — status, headers, body — sent in one go.

use std::io::Write;

use tiny_http::{Method, Request};

use super::head;
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

    /// Sends the reply, head and body in one write. A client that already left is not an
    /// error worth reporting.
    pub fn send(self, request: Request) {
        let http10 = request.http_version() == &tiny_http::HTTPVersion(1, 0);
        // HEAD gets the head a GET would; 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1).
        let no_body =
            request.method() == &Method::Head || matches!(self.status, 100..=199 | 204 | 304);
        let mut out = Vec::with_capacity(256 + self.body.len());
        head::start(&mut out, http10, self.status);
        for (name, value) in &self.headers {
            head::header(&mut out, name, value);
        }
        head::end_with_length(&mut out, self.body.len());
        if !no_body {
            out.extend_from_slice(&self.body);
        }
        let mut writer = request.into_writer();
        if let Err(e) = writer.write_all(&out).and_then(|()| writer.flush()) {
            log::debug!("reply not delivered: {e}");
        }
    }
}
