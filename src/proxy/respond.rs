//! Answering the client: a backend's error, a complete answer, a relayed stream, or an answer
//! the gateway holds itself (proxy-cli, a fan-out), always in the client's dialect.

use serde_json::Value;

use crate::dialect::Dialect;
use crate::error::{ErrorKind, GatewayError};
use crate::ir;
use crate::server::sse_writer::SseWriter;
use crate::server::{Exchange, Reply};
use crate::state::State;
use crate::upstream;

use super::fallback::Attempt;
use super::incoming::Incoming;
use super::stream;
use super::Record;

/// The largest backend answer (non-streamed) the gateway will hold.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Answers with what the backend of `attempt` sent.
pub fn upstream_answer(
    state: &State,
    ex: &mut Exchange,
    incoming: &mut Incoming,
    attempt: Attempt,
    mut headers: Vec<(String, String)>,
    record: &mut Record,
) -> Result<(), GatewayError> {
    let Attempt {
        upstream,
        planned,
        response,
        ..
    } = attempt;
    let backend = upstream.backend();
    let dialect = incoming.dialect;
    let content_type = response
        .headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "application/json".into());
    headers.extend(
        response
            .headers
            .iter()
            .filter(|(name, _)| name != "content-type")
            .cloned(),
    );
    record.entry.status = response.status;

    // A backend error keeps its status; its body passes through or is re-expressed.
    if response.status >= 400 {
        let mut reader = response.body;
        let body = upstream::read_capped(&mut reader, 1024 * 1024).unwrap_or_default();
        let err = planned.backend_dialect.decode_error(response.status, &body);
        record.entry.error = Some(err.message.clone());
        record.error_kind = Some(err.kind.as_str());
        let reply = match planned.converted {
            None => Reply {
                status: response.status,
                headers,
                body,
            }
            .header("Content-Type", &content_type),
            Some(_) => {
                let mut reply = Reply::error(Some(dialect), &err.with_status(response.status));
                reply.headers.extend(headers);
                reply
            }
        };
        send(ex, reply);
        return Ok(());
    }

    if incoming.stream && content_type.starts_with("text/event-stream") {
        let mode = match &planned.converted {
            None => stream::Mode::Passthrough {
                tap: dialect.stream_decoder(),
                client: dialect,
            },
            Some(request) => stream::Mode::Convert {
                decoder: planned.backend_dialect.stream_decoder(),
                encoder: dialect.stream_encoder(request),
            },
        };
        let http = ex
            .request
            .take()
            .ok_or_else(|| GatewayError::internal("request already answered"))?;
        let writer = match SseWriter::start(http, response.status, &headers) {
            Ok(writer) => writer,
            Err(e) => {
                response.abort.abort();
                record.entry.error = Some(format!("client left before the stream started: {e}"));
                return Ok(());
            }
        };
        let settings = stream::Settings {
            request_started: record.started,
            heartbeat: state.config().server.heartbeat,
            idle_timeout: backend.idle_timeout,
            backend: backend.name.clone(),
        };
        let outcome = stream::relay(writer, response, mode, &settings);
        record.usage = outcome.usage;
        if record.usage == ir::Usage::default() && outcome.content_bytes > 0 {
            // The backend reported no usage (an OpenAI-style stream whose client did not ask
            // for it): estimate it for the books, after the client has its answer.
            record.usage.output_tokens = outcome.content_bytes.div_ceil(4) as u64;
            record.usage.input_tokens = incoming
                .ir()
                .map(|r| r.estimate_input_tokens())
                .unwrap_or(0);
            record.entry.tokens_estimated = true;
        }
        record.entry.first_token_ms = outcome.first_event.map(|d| d.as_secs_f64() * 1000.0);
        if let Some(err) = outcome.error {
            record.entry.error = Some(err.message);
            record.error_kind = Some(err.kind.as_str());
        } else if outcome.client_gone {
            record.entry.error = Some("client disconnected mid-stream".into());
        }
        return Ok(());
    }

    // A complete answer.
    let mut reader = response.body;
    let body = upstream::read_capped(&mut reader, MAX_RESPONSE_BYTES).map_err(|e| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("reading the answer of backend {} failed: {e}", backend.name),
        )
    })?;
    match (planned.converted, incoming.stream) {
        // Passthrough of a complete answer the client asked for as such: read for the books
        // only.
        (None, false) => {
            if let Some(usage) = planned.backend_dialect.response_usage(&body) {
                record.usage = usage;
            }
            let reply = Reply {
                status: response.status,
                headers,
                body,
            }
            .header("Content-Type", &content_type);
            send(ex, reply);
            Ok(())
        }
        // A converted answer, or a backend that ignored `stream`: re-encode for the client.
        (converted, _) => {
            let answer = decode_answer(planned.backend_dialect, &backend.name, &body)?;
            record.usage = answer.usage;
            let request = match converted {
                Some(request) => request,
                None => incoming.ir()?.clone(),
            };
            answer_ir(ex, dialect, &request, answer, headers, record)
        }
    }
}

/// A backend's complete answer, in its dialect, as `ir`.
pub fn decode_answer(
    dialect: Dialect,
    backend: &str,
    body: &[u8],
) -> Result<ir::Response, GatewayError> {
    let bad = |what: String| GatewayError::new(ErrorKind::BadGateway, what);
    let value = serde_json::from_slice::<Value>(body).map_err(|_| {
        bad(format!(
            "backend {backend} answered with something that is not JSON"
        ))
    })?;
    dialect.decode_response(&value).map_err(|e| {
        bad(format!(
            "backend {backend} answered in an unexpected shape: {}",
            e.message
        ))
    })
}

/// Answers with a response the gateway holds, in the client's dialect, as a stream if the
/// client asked for one.
pub fn answer_ir(
    ex: &mut Exchange,
    dialect: Dialect,
    request: &ir::Request,
    response: ir::Response,
    headers: Vec<(String, String)>,
    record: &mut Record,
) -> Result<(), GatewayError> {
    let http = ex
        .request
        .take()
        .ok_or_else(|| GatewayError::internal("request already answered"))?;
    record.entry.status = 200;
    if !request.stream {
        let body = serde_json::to_vec(&dialect.encode_response(&response))
            .map_err(|e| GatewayError::internal(e.to_string()))?;
        let mut reply = Reply::json(200, body);
        reply.headers.extend(headers);
        reply.send(http);
        return Ok(());
    }
    let Ok(mut writer) = SseWriter::start(http, 200, &headers) else {
        return Ok(());
    };
    let mut encoder = dialect.stream_encoder(request);
    let mut frames = Vec::new();
    // Line by line, so a long table appears as it is written.
    for event in response.to_events(|t| t.split_inclusive('\n').map(str::to_owned).collect()) {
        frames.clear();
        encoder.encode(&event, &mut frames);
        if writer.send(&frames).is_err() {
            record.entry.error = Some("client disconnected mid-stream".into());
            return Ok(());
        }
    }
    let _ = writer.finish();
    Ok(())
}

/// A gateway-made text answer as an `ir` response.
pub fn local_response(id: &str, request: &ir::Request, text: String) -> ir::Response {
    ir::Response {
        id: format!("gw-{id}"),
        model: if request.model.is_empty() {
            "llm-gateway".into()
        } else {
            request.model.clone()
        },
        content: vec![ir::Block::Text { text }],
        stop_reason: ir::StopReason::EndTurn,
        usage: ir::Usage::default(),
    }
}

fn send(ex: &mut Exchange, reply: Reply) {
    if let Some(request) = ex.request.take() {
        reply.send(request);
    }
}
