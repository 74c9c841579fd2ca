//! The metrics server: its own tiny_http server on METRICS_PORT, one thread, serving the books
//! as Prometheus text.

use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Response};

use crate::state::State;

pub fn start(
    state: Arc<State>,
    bind: &str,
    port: u16,
) -> std::io::Result<(Arc<tiny_http::Server>, JoinHandle<()>)> {
    let server = Arc::new(
        tiny_http::Server::http((bind, port)).map_err(|e| std::io::Error::other(e.to_string()))?,
    );
    let thread_server = server.clone();
    let handle = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for request in thread_server.incoming_requests() {
                let path = request.url().split('?').next().unwrap_or("");
                let response = match path {
                    "/metrics" | "/" => {
                        let text = crate::observe::metrics::render(
                            &state.books.snapshot(),
                            &state.gauges(),
                        );
                        Response::from_string(text).with_header(
                            Header::from_bytes(
                                &b"Content-Type"[..],
                                &b"text/plain; version=0.0.4; charset=utf-8"[..],
                            )
                            .expect("static header"),
                        )
                    }
                    _ => Response::from_string("not found: try /metrics\n").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        })?;
    Ok((server, handle))
}
